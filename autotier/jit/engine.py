"""Native code generation, and the lifetime of the machine code it makes.

One TargetMachine (host CPU, the JIT code model) optimises and emits every module as
an object file; MCJIT only loads and links objects.  Where the object goes depends on
who owns it:

- pinned (the default): one shared engine that lives as long as the process (the
  trampoline, tests' helpers).  Nothing in it is ever freed.
- reclaimable (``reclaimable=True``, one per compile of a hot function): its own small
  engine (about 40 KB besides the code: a TargetMachine that generated code weighs
  800 KB, which is why no engine generates any), owned by the :class:`NativeCode`
  returned.  When that object becomes unreachable it is *retired*, with the Python
  objects the code points at; a retired engine is freed by :func:`reclaim` (run at
  the start of every compile) once its count of running calls is 0.

"Can a thread still be running it": a reclaimable module may carry an i64 global
(``running=``) that its entry increments on entry and decrements before it returns,
under the GIL (see ``dispatch.build``).  It counts the calls in progress, including
those waiting in the slow path or with the GIL released at a periodic check, on any
thread, at any depth.  Once nothing refers to the code from Python (no hot function's
vectorcall slot holds its entry: the bead stores a new entry before it drops the old
code) no call can start, so a count read as 0 under the GIL stays 0.

Thread safety: ``_LOCK`` (an RLock) guards the engines, the symbol table and every
use of LLVM (:func:`compile_lock`): one compile at a time; freeing an engine is a use
of LLVM too.  ``_RETIRED`` is appended to by finalizers on any thread (a list append,
atomic under the GIL) and swept only with ``_LOCK`` held.  llvmlite releases the GIL
inside optimisation and code generation, so a compile on the broker thread runs
beside the interpreter.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import llvmlite.binding as llvm

from autotier import compat
from autotier.backends.base import Cancelled, LLVMUnavailable
from autotier.broker import pacing
from autotier.jit import passes

_LOCK = threading.RLock()
_ENGINE: llvm.ExecutionEngine | None = None  # pinned modules: never freed
_TM: llvm.TargetMachine | None = None  # optimises and emits every module; owned by no engine
# emits the modules compiled ``apart`` (code generation level 0: fast instruction
# selection and register allocation), owned by no engine either
_TM_QUICK: llvm.TargetMachine | None = None
_NAMES = itertools.count()
_OWNERS = itertools.count(1)
# engines of reclaimable modules, by NativeCode key: held here, not by the NativeCode, so
# that no finalizer of llvmlite's can free one while it is in use
_LIVE: dict[int, llvm.ExecutionEngine] = {}
# Set by autotier.jit.lifecycle: the thread running interpreter exit (every other
# thread is refused LLVM from then on), and why LLVM cannot be used in this process.
_EXITING_THREAD: int | None = None
_UNAVAILABLE: str | None = None
# A native exit handler for on_exit(3): flush the C streams, _exit(status).  Built
# with the engine, as LLVM may be busy when it is needed (autotier.jit.lifecycle).
EXIT_HANDLER = "__autotier_exit_now"
exit_handler_address = 0
_EXIT_HANDLER_IR = f"""
declare i32 @__autotier_fflush(i8*)
declare void @__autotier__exit(i32) noreturn
define void @{EXIT_HANDLER}(i32 %status, i8* %arg) {{
entry:
  %flushed = call i32 @__autotier_fflush(i8* null)
  call void @__autotier__exit(i32 %status)
  unreachable
}}
"""

# C-API functions native code may call; registered with LLVM by address.
CLOCK_GETTIME = "__autotier_clock_gettime"  # the C library's, for native loops
SETJMP = "__autotier_setjmp"  # the C library's _setjmp and longjmp: bailouts unwind
LONGJMP = "__autotier_longjmp"
CLOCK_MONOTONIC = 1  # Linux

# A function of more LLVM instructions than this is optimised by LIGHT_PASSES instead
# of the O1/O2 pipelines, whose InstCombine costs time quadratic in a function's length
# (each known-bits query on a select walks the whole dominator chain of guard blocks:
# 1,000 straight-line statements, ~10,000 instructions, took 4.3 s at O2 against 0.1 s
# for 100).  The light pipeline is linear (0.16 s at 1,000 statements, 0.32 s at
# 2,000); below the limit (about 300 generated statements) O2 costs at most ~0.7 s.
LARGE_FUNCTION = 3_000
LIGHT_PASSES = ("always_inliner", "sroa", "simplify_cfg", "sccp", "aggressive_dce")

_CAPI_SYMBOLS = (
    "PyLong_FromLongLong",
    "PyLong_AsLongLongAndOverflow",
    "PyFloat_FromDouble",
    "PyObject_Vectorcall",
    "PyThreadState_Get",
    "PyDict_GetItem",
    "PyErr_Occurred",
    "PyErr_SetString",
    "PyErr_ExceptionMatches",
    "PyErr_Clear",
    "PyErr_CheckSignals",
    "PyEval_SaveThread",
    "PyEval_RestoreThread",
    "Py_DecRef",
    compat.LONG_FROM_BYTES,
)


@dataclass(frozen=True)
class CompiledModule:
    """Addresses of a module's functions after native code generation.

    ``native`` owns the machine code of a reclaimable module (None: pinned): keep it
    alive as long as any of these addresses can be called.
    """

    addresses: dict[str, int]
    asm: str | None
    globals: dict[str, int]
    native: NativeCode | None = None


@dataclass(frozen=True, eq=False)
class _Retired:
    """Machine code nothing refers to any more, and the objects it points at."""

    key: int
    running: int  # address of its count of running calls, 0 if it has none
    refs: tuple[object, ...]

    def idle(self) -> bool:
        return self.running == 0 or ctypes.c_int64.from_address(self.running).value == 0


_RETIRED: list[_Retired] = []


class NativeCode:
    """Owns the machine code of one reclaimable module.

    Whoever can call into the code holds this object (the bead's CompiledCode, a
    ``native()`` function).  ``retain`` adds Python objects the code points at: they
    stay alive as long as the code, which may still be running after this object
    died.  When it dies, the code is retired and freed by :func:`reclaim` once no
    call is running it.
    """

    __slots__ = ("__weakref__", "_key", "_refs", "running")

    def __init__(self, key: int, running: int) -> None:
        self._key = key
        self.running = running  # address of the i64 count of running calls, or 0
        self._refs: list[object] = []

    def retain(self, *objects: object) -> None:
        """Keep ``objects`` alive until the code itself is freed."""
        self._refs.extend(objects)

    def running_calls(self) -> int:
        """Calls of the entry in progress now (on any thread); read under the GIL."""
        return ctypes.c_int64.from_address(self.running).value if self.running else 0

    def __del__(self, _retired: list[_Retired] = _RETIRED) -> None:
        # Unreachable: no new call can start.  Freed later, with _LOCK held.
        _retired.append(_Retired(self._key, self.running, tuple(self._refs)))


def reclaim() -> int:
    """Free the retired machine code no call is running; how many modules were freed.

    Takes the compile lock (engines are LLVM objects).  A retired module whose entry
    is running somewhere (a thread in its slow path, or with the GIL released in a
    loop) waits for a later call.
    """
    with compile_lock():
        return _reclaim_locked()


def _reclaim_locked() -> int:
    # Decide with the GIL held (a plain Python loop): a count read as 0 stays 0.
    idle = [r for r in list(_RETIRED) if r.idle()]
    for record in idle:
        _RETIRED.remove(record)
    for record in idle:
        _LIVE.pop(record.key).close()  # frees its code and data (the GIL is released)
    return len(idle)  # the objects the code pointed at go with ``idle``


def retired() -> int:
    """Modules retired and not yet freed (some call may still be running them)."""
    return len(_RETIRED)


def live() -> int:
    """Reclaimable modules not freed yet (in use, or retired)."""
    return len(_LIVE)


def unique_name(stem: str) -> str:
    """A symbol name no other module in this process uses (LLVM requires it)."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in stem)
    return f"{safe}__at{next(_NAMES)}"


def _engine() -> tuple[llvm.ExecutionEngine, llvm.TargetMachine]:
    """(the pinned engine, the TargetMachine every module is optimised and emitted with)."""
    global _ENGINE, _TM, _TM_QUICK
    if _ENGINE is None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_native_asmparser()  # float arithmetic is inline asm (frontend.floatarith)
        for name in _CAPI_SYMBOLS:
            addr = ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value
            assert addr is not None
            llvm.add_symbol(name, addr)
        libc = ctypes.CDLL(None)
        for symbol, c_name in ((CLOCK_GETTIME, "clock_gettime"), (SETJMP, "_setjmp"),
                               (LONGJMP, "longjmp"), ("__autotier_fflush", "fflush"),
                               ("__autotier__exit", "_exit")):
            addr = ctypes.cast(getattr(libc, c_name), ctypes.c_void_p).value
            assert addr is not None
            llvm.add_symbol(symbol, addr)
        # Code for this very CPU (its vector width, its fast division paths), as the
        # code never leaves the process; the JIT code model (64-bit addresses: code
        # lands anywhere, far from the C API it calls).  No engine owns this
        # TargetMachine (an engine deletes its own, FINDINGS.md), and none generates
        # code: each gets a bare TargetMachine of its own and loads objects.
        host = {"cpu": llvm.get_host_cpu_name(),
                "features": llvm.get_host_cpu_features().flatten()}
        _TM = llvm.Target.from_default_triple().create_target_machine(
            opt=3, codemodel="jitdefault", **host)
        _TM_QUICK = llvm.Target.from_default_triple().create_target_machine(
            opt=0, codemodel="jitdefault", **host)
        _ENGINE = _new_engine()
        global exit_handler_address
        exit_handler_address = _compile_locked([_EXIT_HANDLER_IR], [EXIT_HANDLER], (), 0,
                                               False, False, None, (), ()
                                               ).addresses[EXIT_HANDLER]
    assert _TM is not None
    return _ENGINE, _TM


def _new_engine() -> llvm.ExecutionEngine:
    """An MCJIT engine that only loads object files (0.3 ms, 40 KB)."""
    tm = llvm.Target.from_default_triple().create_target_machine(codemodel="jitdefault")
    return llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)


def register_symbol(name: str, address: int) -> None:
    """Make ``name`` resolve to ``address`` in code compiled from now on."""
    with _LOCK:
        _engine()
        llvm.add_symbol(name, address)


def target_data_layout() -> tuple[str, str]:
    """(triple, data layout) for modules that will be compiled here."""
    with _LOCK:
        _, tm = _engine()
        return tm.triple, str(tm.target_data)


def compile_ir(
    ir_text: str, symbols: list[str], *, opt: int = 2, want_asm: bool = False
) -> CompiledModule:
    """Compile one pinned module of textual IR; see :func:`compile_ir_modules`."""
    return compile_ir_modules([ir_text], symbols, opt=opt, want_asm=want_asm)


def compile_ir_modules(
    ir_texts: list[str],
    symbols: list[str],
    *,
    globals_: list[str] | tuple[str, ...] = (),
    opt: int = 2,
    want_asm: bool = False,
    reclaimable: bool = False,
    running: str | None = None,
    inline: Sequence[str] = (),
    apart: Sequence[str] = (),
) -> CompiledModule:
    """Parse and link ``ir_texts`` into one module, optimise, generate native code.

    Linking first lets the optimiser inline a body into its entry.  Returns the
    address of every function in ``symbols`` and every global in ``globals_``.
    ``apart``: IR texts linked into a second module, compiled quickly (:data:`LIGHT_PASSES`,
    code generation level 0) and loaded beside the first, each resolving the other's
    functions: code that runs once per call of code that loops (an OSR entry's guards
    and unboxing, around the body that runs the rest of the call), where O2 over both
    cost twice as much LLVM time as O2 over the body alone.
    Raises RuntimeError (from llvmlite) when the IR does not parse or verify: a
    compile error, never a crash.

    ``reclaimable``: the module gets its own engine, owned by the returned
    ``native``; ``running`` names its i64 global counting calls in progress (the code
    is freed only while it reads 0).  ``inline``: functions given internal linkage
    and ``alwaysinline`` after linking (in whichever module defines them): the
    optimiser inlines them into their callers.
    Every compile first frees the retired code no call is running (:func:`reclaim`).
    """
    with pacing.PACER.released(), compile_lock():  # LLVM runs with the GIL released
        _reclaim_locked()
        return _compile_locked(ir_texts, symbols, globals_, opt, want_asm,
                               reclaimable, running, inline, apart)


def assembly(ir_texts: list[str], *, opt: int = 2, inline: Sequence[str] = ()) -> str:
    """The machine code ``ir_texts`` compile to (linked and optimised as
    :func:`compile_ir_modules` does), as assembly text; nothing is added to the engine."""
    with compile_lock():
        _, tm = _engine()
        with _optimised(ir_texts, tm, opt, inline) as mod:
            return str(tm.emit_assembly(mod))


def largest_function(ir_texts: list[str]) -> int:
    """The number of instructions of the longest function defined in ``ir_texts``.

    Counted on the text llvmlite prints (one instruction per line, indented by two
    spaces, between ``define`` and ``}``): a few ms for 15,000 instructions, where
    walking a parsed module costs 20 times more.  The cold deopt exits (blocks whose
    label starts with ``deopt``: straight stores of a frame into the deopt record) are
    not counted: O2's cost did not grow with them (a 300-statement function, 2,346
    instructions and 13,575 with its exits: 0.69-0.87 s and 0.85 s at O2).
    """
    largest = 0
    for text in ir_texts:
        count = -1  # -1: outside a function
        cold = False
        for line in text.splitlines():
            if line.startswith("define "):
                count, cold = 0, False
            elif count >= 0:
                if line.startswith("}"):
                    largest = max(largest, count)
                    count = -1
                elif line.startswith("  ") and not line[2:3].isspace():
                    count += not cold
                elif line and not line[0].isspace():  # a block's label
                    cold = line.startswith(("deopt", '"deopt'))
    return largest


def pipeline(ir_texts: list[str], opt: int) -> str:
    """Which optimisation ``ir_texts`` get at level ``opt``: "none" (0), "O1"/"O2", or
    "light" when a function is longer than :data:`LARGE_FUNCTION` or ``opt`` is -1
    (the modules compiled apart)."""
    if opt < 0:
        return "light"
    if opt == 0:
        return "none"
    return "light" if largest_function(ir_texts) > LARGE_FUNCTION else f"O{opt}"


@contextlib.contextmanager
def _optimised(ir_texts: list[str], tm: llvm.TargetMachine, opt: int,
               inline: Sequence[str] = ()) -> Iterator[llvm.ModuleRef]:
    """The linked, optimised module, in an LLVM context of its own that is disposed of
    afterwards: the global context keeps every type and constant any module used
    (each compile's object addresses are new constants) for the life of the process."""
    context = llvm.create_context()
    mods: list[llvm.ModuleRef] = []
    try:
        mods = [llvm.parse_assembly(text, context=context) for text in ir_texts]
        mod = mods[0]
        for other in mods[1:]:
            mod.link_in(other)  # consumes ``other``
        del mods[1:]
        for name in inline:
            try:
                fn = mod.get_function(name)
            except NameError:  # defined in the other module (``apart``)
                continue
            if fn.is_declaration:
                continue
            fn.linkage = llvm.Linkage.internal
            fn.add_function_attribute("alwaysinline")
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        mod.verify()
        chosen = pipeline(ir_texts, opt)
        if chosen == "light":
            passes.run(mod, tm, 0, LIGHT_PASSES)
        elif chosen != "none":
            passes.run(mod, tm, opt)
        yield mod
    finally:
        for mod in mods:
            mod.close()
        context.close()


@contextlib.contextmanager
def compile_lock() -> Iterator[None]:
    """Hold while using LLVM: one compile at a time in this process.

    Parsing, optimising and code generation use LLVM's global context (shared with
    numba, which is built on the same llvmlite) and the shared target machine, none
    of which is thread-safe.  The broker compiles, and so may any thread that builds
    the trampoline.  Order: ``_LOCK`` first, then numba's global compiler lock when
    numba is loaded (numba takes only its own, so the two never deadlock).

    Raises ``Cancelled`` on any thread but the exiting one once interpreter exit has
    begun, and ``LLVMUnavailable`` where LLVM cannot be used (a child forked while
    another thread was inside LLVM): see :mod:`autotier.jit.lifecycle`.
    """
    _check_usable()
    with _LOCK, _numba_lock():
        _check_usable()
        yield


def _check_usable() -> None:
    if _UNAVAILABLE is not None:
        raise LLVMUnavailable(_UNAVAILABLE)
    if _EXITING_THREAD is not None and threading.get_ident() != _EXITING_THREAD:
        raise Cancelled("the interpreter is exiting")


def _numba_lock() -> contextlib.AbstractContextManager[object]:
    """numba's global compiler lock, where numba is imported (it compiles with the same
    LLVM); its module is imported once no other thread is inside numba's imports."""
    if "numba" not in sys.modules:
        return contextlib.nullcontext()
    module = sys.modules.get("numba.core.compiler_lock")
    if module is None or compat.module_initializing(module):
        compat.finish_imports("numba")
        from numba.core import compiler_lock

        module = compiler_lock
    lock: contextlib.AbstractContextManager[object] = module.global_compiler_lock
    return lock


def _compile_locked(  # noqa: PLR0917 - compile_ir_modules' arguments
    ir_texts: list[str],
    symbols: list[str],
    globals_: list[str] | tuple[str, ...],
    opt: int,
    want_asm: bool,
    reclaimable: bool,
    running: str | None,
    inline: Sequence[str],
    apart: Sequence[str],
) -> CompiledModule:
    pinned, tm = _engine()
    objects, listings = [], []
    for texts, machine, level in ((ir_texts, tm, opt), (apart, _TM_QUICK, -1)):
        if not texts:
            continue
        assert machine is not None
        with _optimised(list(texts), machine, level, inline) as mod:
            if want_asm:
                listings.append(str(machine.emit_assembly(mod)))
            objects.append(llvm.ObjectFileRef.from_data(machine.emit_object(mod)))
    asm = "\n".join(listings) if want_asm else None
    engine = _new_engine() if reclaimable else pinned
    try:
        for obj in objects:
            engine.add_object_file(obj)
        engine.finalize_object()
        addresses = {name: engine.get_function_address(name) for name in symbols}
        wanted = [*globals_, *([running] if running else [])]
        global_addresses = {name: engine.get_global_value_address(name) for name in wanted}
        missing = [n for n, a in {**addresses, **global_addresses}.items() if not a]
        if missing:
            raise RuntimeError(f"no native code for {missing}")
    except BaseException:
        if engine is not pinned:
            engine.close()  # nothing can have called into it yet
        raise
    if engine is pinned:
        return CompiledModule(addresses, asm, global_addresses)
    key = next(_OWNERS)
    _LIVE[key] = engine
    native = NativeCode(key, global_addresses.pop(running) if running else 0)
    return CompiledModule(addresses, asm, global_addresses, native)
