"""Turn backend output into an installed-ready guarded entry (shared by backends).

Each compile's bodies and entry are linked into one module with its own engine, freed
once nothing refers to it and no call is running it (:mod:`autotier.jit.engine`).
What a call is running is counted by a wrapper around the guarded entry
(:func:`counting_wrapper_ir`): ``running += 1``, the entry (inlined: it is made
internal and ``alwaysinline``), ``running -= 1``, return.  Native calls between hot functions never
leave the module (a compile includes the bodies of the hot functions it calls), so
the count covers every frame of this code on every thread's stack.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from autotier import compat
from autotier.backends.base import Stale
from autotier.broker import pacing
from autotier.dispatch import entry as entry_ir
from autotier.dispatch import hotobject as ho
from autotier.dispatch.binding import BindingPlan
from autotier.dispatch.guards import NamespaceGuard, binding_addresses
from autotier.jit import engine

_TRAMPOLINE: int | None = None
_TRAMPOLINE_LOCK = threading.Lock()


def _fresh_lock_in_child() -> None:  # a thread holding it at os.fork() is not there
    global _TRAMPOLINE_LOCK
    _TRAMPOLINE_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_in_child)


def trampoline_address() -> int:
    """The shared interpreted-state trampoline (compiled once per process)."""
    global _TRAMPOLINE
    if _TRAMPOLINE is None:
        with _TRAMPOLINE_LOCK:
            if _TRAMPOLINE is None:
                name = engine.unique_name("autotier_trampoline")
                text = entry_ir.trampoline_ir(name)
                _TRAMPOLINE = engine.compile_ir(text, [name]).addresses[name]
    return _TRAMPOLINE


@dataclass(frozen=True, eq=False)
class BuiltEntry:
    """A compiled guarded entry and what it relies on."""

    entry: int  # address of the vectorcall-shaped entry
    guards: tuple[NamespaceGuard, ...]
    extras: dict[str, int]  # addresses of the extra symbols asked for
    asm: str | None
    native: engine.NativeCode  # owns the machine code; keep it while it can be called


def running_global_name(entry: str) -> str:
    """The i64 global counting the calls of ``entry`` in progress."""
    return f"{entry}__running"


def counting_wrapper_ir(name: str, inner: str) -> str:
    """``name``: call the guarded entry ``inner``, counting the call while it runs.

    Native code runs with the GIL held (it releases it only inside periodic checks,
    which do not touch the count), so plain loads and stores count exactly.

    The slow path's last step, running the function in the interpreter, is the
    wrapper's own tail call: ``inner`` (built with ``finish_bail(hand_off=True)``)
    returns ``entry_ir.HANDOFF`` instead of making it, and the wrapper stops counting,
    then jumps to ``PyObject_Vectorcall(_func, the call's own arguments)``.  So no
    native frame stays on the C stack under an interpreted level (a compiled
    function's interpreted recursion reaches an interpreted one's depth), and no
    call is counted while only the interpreter runs.  Counting nothing from there
    on is exact: no code of this module runs or is returned into after the jump
    (the interpreter returns straight to the entry's caller), and what the call
    uses stays alive without it (``_func`` is held by the hot function, which the
    caller holds, and by the interpreter's frame; the arguments are the caller's).
    The decrement and the jump happen with the GIL held, so a thread freeing the
    code sees the call counted or already gone.
    """
    counter = running_global_name(name)
    return f"""
@"{counter}" = global i64 0
declare ptr @"{inner}"(ptr, ptr, i64, ptr)
declare ptr @PyObject_Vectorcall(ptr, ptr, i64, ptr)
define ptr @"{name}"(ptr %self, ptr %args, i64 %nargsf, ptr %kwnames) {{
  %before = load i64, ptr @"{counter}"
  %started = add i64 %before, 1
  store i64 %started, ptr @"{counter}"
  %result = call ptr @"{inner}"(ptr %self, ptr %args, i64 %nargsf, ptr %kwnames)
  %after = load i64, ptr @"{counter}"
  %ended = sub i64 %after, 1
  store i64 %ended, ptr @"{counter}"
  %handoff = icmp eq ptr %result, inttoptr (i64 {entry_ir.HANDOFF} to ptr)
  br i1 %handoff, label %interpret, label %done, !prof !0
interpret:
  %func_p = getelementptr i8, ptr %self, i64 {ho.FUNC_OFFSET}
  %func = load ptr, ptr %func_p
  %answer = musttail call ptr @PyObject_Vectorcall(ptr %func, ptr %args, i64 %nargsf, ptr %kwnames)
  ret ptr %answer
done:
  ret ptr %result
}}
!0 = !{{!"branch_weights", i32 1, i32 2000}}
"""


def _keywords(code: object) -> bool:
    """Whether a parameter of ``code`` can be passed by keyword."""
    posonly: int = code.co_posonlyargcount  # type: ignore[attr-defined]
    argcount: int = code.co_argcount  # type: ignore[attr-defined]
    return posonly < argcount


def build_entry(
    stem: str,
    nargs: int,
    specs: Sequence[entry_ir.Specialisation],
    bindings: Sequence[tuple[dict[str, object], Mapping[str, object]]],
    body_ir: Sequence[str] = (),
    *,
    opt: int = 2,
    want_asm: bool = False,
    extra_symbols: Sequence[str] = (),
    code: object | None = None,
    defaults: tuple[object, ...] | None = None,
    callee_defaults: Sequence[tuple[object, tuple[object, ...]]] = (),
    callee_codes: Sequence[tuple[object, object]] = (),
    once: bool = False,
) -> BuiltEntry:
    """Compile an entry (linked with ``body_ir``) and return its address and guards.

    ``bindings``: per namespace dict, the names the code assumed and their values.
    The guards come back refreshed: they expect each namespace's current version.
    ``code``: the code object compiled; the entry bails (``Bail.CODE``) once the
    function's ``__code__`` is another (the caller keeps ``code`` alive, so its address
    is never reused).  With ``code``, the entry binds keyword arguments and the
    ``defaults`` (the function's ``__defaults__``, kept alive by the caller too) itself.
    ``callee_defaults``: (function, its ``__defaults__``) native calls took defaults
    from; ``callee_codes``: (function, its ``__code__``) native calls run the code of.
    The entry bails (``Bail.CODE``) once one has other defaults or another code object
    (a callee redefined as IPython's autoreload does).
    ``once``: the entry is called once for a long run of its body (an OSR entry, which
    runs the rest of a call): it is compiled apart from the bodies, quickly (no
    inlining of a body into it; ``engine.compile_ir_modules``' ``apart``), and only the
    bodies get ``opt``.
    The machine code is reclaimable: the result's ``native`` owns it, and retains the
    guards (their names and values are embedded) and the callees' defaults and code
    objects; the caller retains the rest.
    Raises ``Stale`` when an assumed binding changed while this compiled (the bead
    compiles again later).
    """
    name = engine.unique_name(f"entry_{stem}")
    guarded = f"{name}__guarded"
    checks = tuple(entry_ir.NamespaceCheck(id(ns), binding_addresses(names))
                   for ns, names in bindings)
    # nothing to bind in a function whose parameters are all positional-only and have
    # no defaults (an OSR entry's): a call with keywords or of another arity goes to
    # the interpreter, which raises as undecorated; the binder's IR is a quarter of
    # an entry's (cProfile of entry_ir on OSR entries)
    binding = (BindingPlan.of(code, defaults)
               if code is not None and (defaults or _keywords(code)) else None)
    plan = entry_ir.EntryPlan(guarded, nargs, tuple(specs), checks,
                              id(code) if code is not None else 0, binding,
                              (*((id(f), compat.FUNC_DEFAULTS, id(d)) for f, d in callee_defaults),
                               *((id(f), compat.FUNC_CODE, id(c)) for f, c in callee_codes)))
    cells = [entry_ir.version_global_name(guarded, i) for i in range(len(bindings))]
    entry_text = entry_ir.entry_ir(plan)
    pacing.checkpoint()  # an OSR compile gives the loop it is for its share of the GIL
    wrapper = [entry_text, counting_wrapper_ir(name, guarded)]
    compiled = engine.compile_ir_modules(
        [*body_ir, *([] if once else wrapper)],
        [name, *extra_symbols],
        globals_=cells,
        opt=opt,
        want_asm=want_asm,
        reclaimable=True,
        running=running_global_name(name),
        inline=[guarded],
        apart=wrapper if once else (),
    )
    native = compiled.native
    assert native is not None
    guards = tuple(  # the same name and value objects the entry points at: kept alive
        NamespaceGuard(ns, dict(names), compiled.globals[cell])
        for (ns, names), cell in zip(bindings, cells, strict=True)
    )
    native.retain(guards, tuple(callee_defaults), tuple(callee_codes))
    for guard in guards:
        stale = guard.revalidate()
        if stale:
            raise Stale(f"globals changed during the compile: {', '.join(stale)}")
    extras = {s: compiled.addresses[s] for s in extra_symbols}
    return BuiltEntry(compiled.addresses[name], guards, extras, compiled.asm, native)
