"""One shared MCJIT engine per process.

Every llvmlite module autotier compiles is added to this engine and stays alive for
the rest of the process: native code may be running (or be on some thread's stack,
waiting for a Python call it made to return) at any moment, so code is never freed.
Recompiles are bounded by the deopt policies, so this memory is bounded too.

Thread safety: ``_LOCK`` (an RLock) guards the engine, the symbol table and every
use of LLVM (:func:`compile_lock`): one compile at a time.  llvmlite releases the GIL
inside optimisation and code generation, so a compile on the broker thread runs
beside the interpreter.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import llvmlite.binding as llvm

from autotier import compat
from autotier.backends.base import Cancelled, LLVMUnavailable

_LOCK = threading.RLock()
_ENGINE: llvm.ExecutionEngine | None = None
_TM: llvm.TargetMachine | None = None
_NAMES = itertools.count()
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
    """Addresses of a module's functions after native code generation."""

    addresses: dict[str, int]
    asm: str | None
    globals: dict[str, int]


def unique_name(stem: str) -> str:
    """A symbol name no other module in this process uses (LLVM requires it)."""
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in stem)
    return f"{safe}__at{next(_NAMES)}"


def _engine() -> tuple[llvm.ExecutionEngine, llvm.TargetMachine]:
    global _ENGINE, _TM
    if _ENGINE is None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
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
        target = llvm.Target.from_default_triple()
        # Code for this very CPU (its vector width, its fast division paths), as the
        # code never leaves the process.  The engine owns its TargetMachine; the
        # optimiser gets one of its own (sharing one between two owners segfaults,
        # FINDINGS.md).
        host = {"cpu": llvm.get_host_cpu_name(),
                "features": llvm.get_host_cpu_features().flatten()}
        engine_tm = target.create_target_machine(opt=3, codemodel="jitdefault", **host)
        backing = llvm.parse_assembly("")
        _ENGINE = llvm.create_mcjit_compiler(backing, engine_tm)
        _TM = target.create_target_machine(opt=3, **host)
        global exit_handler_address
        exit_handler_address = _compile_locked([_EXIT_HANDLER_IR], [EXIT_HANDLER], (), 0,
                                               False).addresses[EXIT_HANDLER]
    assert _TM is not None
    return _ENGINE, _TM


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
    """Compile one module of textual IR; see :func:`compile_ir_modules`."""
    return compile_ir_modules([ir_text], symbols, opt=opt, want_asm=want_asm)


def compile_ir_modules(
    ir_texts: list[str],
    symbols: list[str],
    *,
    globals_: list[str] | tuple[str, ...] = (),
    opt: int = 2,
    want_asm: bool = False,
) -> CompiledModule:
    """Parse and link ``ir_texts`` into one module, optimise, generate native code.

    Linking first lets the optimiser inline a body into its entry.  Returns the
    address of every function in ``symbols`` and every global in ``globals_``.
    Raises RuntimeError (from llvmlite) when the IR does not parse or verify: a
    compile error, never a crash.
    """
    with compile_lock():
        return _compile_locked(ir_texts, symbols, globals_, opt, want_asm)


def assembly(ir_texts: list[str], *, opt: int = 2) -> str:
    """The machine code ``ir_texts`` compile to (linked and optimised as
    :func:`compile_ir_modules` does), as assembly text; nothing is added to the engine."""
    with compile_lock():
        _, tm = _engine()
        mod = _optimised(ir_texts, tm, opt)
        return str(tm.emit_assembly(mod))


def _optimised(ir_texts: list[str], tm: llvm.TargetMachine, opt: int) -> llvm.ModuleRef:
    mods = [llvm.parse_assembly(text) for text in ir_texts]
    mod = mods[0]
    for other in mods[1:]:
        mod.link_in(other)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    if opt > 0:
        pto = llvm.create_pipeline_tuning_options(speed_level=opt)
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
    return mod


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
    if "numba" not in sys.modules:
        return contextlib.nullcontext()
    from numba.core.compiler_lock import global_compiler_lock

    return global_compiler_lock


def _compile_locked(
    ir_texts: list[str],
    symbols: list[str],
    globals_: list[str] | tuple[str, ...],
    opt: int,
    want_asm: bool,
) -> CompiledModule:
    engine, tm = _engine()
    mod = _optimised(ir_texts, tm, opt)
    asm = tm.emit_assembly(mod) if want_asm else None
    engine.add_module(mod)
    engine.finalize_object()
    addresses = {name: engine.get_function_address(name) for name in symbols}
    global_addresses = {name: engine.get_global_value_address(name) for name in globals_}
    missing = [n for n, a in {**addresses, **global_addresses}.items() if not a]
    if missing:
        raise RuntimeError(f"no native code for {missing}")
    return CompiledModule(addresses, asm, global_addresses)
