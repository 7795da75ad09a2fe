"""The public API: ``@hot`` and the functions that inspect and steer the runtime."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from types import FunctionType
from typing import Any, TypeVar, overload

from autotier.backends import check_name, compile_with
from autotier.backends.base import CompiledCode, CompileRequest
from autotier.broker import Broker
from autotier.deopt import DeoptPolicy, ThresholdDeoptPolicy
from autotier.dispatch import build
from autotier.dispatch.hotobject import HotFunction
from autotier.native import NativeFunction
from autotier.native import make as make_native
from autotier.runtime import registry
from autotier.runtime.bead import Bead
from autotier.runtime.policy import HotnessPolicy, ThresholdPolicy
from autotier.runtime.stats import FunctionStats, Stats

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("autotier")

BROKER = Broker()
DUMP_STAGES = frozenset(s.strip() for s in os.environ.get("AUTOTIER_DUMP", "").split(",")
                        if s.strip())


def _setup_logging() -> None:
    level = os.environ.get("AUTOTIER_LOG", "").strip().upper()
    if level:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(getattr(logging, level, logging.DEBUG))


_setup_logging()


def _disabled() -> bool:
    return os.environ.get("AUTOTIER_DISABLE", "").strip() not in ("", "0")


@overload
def hot(func: F) -> F: ...
@overload
def hot(
    func: None = None,
    *,
    threshold: int | None = None,
    policy: HotnessPolicy | None = None,
    deopt: DeoptPolicy | None = None,
    backend: str = "auto",
) -> Callable[[F], F]: ...
def hot(
    func: Any = None,
    *,
    threshold: int | None = None,
    policy: HotnessPolicy | None = None,
    deopt: DeoptPolicy | None = None,
    backend: str = "auto",
) -> Any:
    """Make ``func`` a hot function: counted, compiled in the background when hot.

    ``@hot`` uses ThresholdPolicy(1000) and ThresholdDeoptPolicy(3);
    ``threshold=N`` is shorthand for ``policy=ThresholdPolicy(N)``; ``backend`` is
    "auto" (llvm, then numba), "llvm" or "numba".  With AUTOTIER_DISABLE=1 the
    function is returned untouched.
    """
    if threshold is not None and policy is not None:
        raise TypeError("pass threshold= or policy=, not both")
    check_name(backend)
    hotness = policy if policy is not None else ThresholdPolicy(threshold or 1000)
    deopt_policy = deopt if deopt is not None else ThresholdDeoptPolicy()

    def decorate(f: Any) -> Any:
        if _disabled():
            return f
        if isinstance(f, staticmethod):
            return staticmethod(decorate(f.__func__))
        if isinstance(f, classmethod):
            return classmethod(decorate(f.__func__))
        if isinstance(f, HotFunction):
            return f
        if not isinstance(f, FunctionType):
            raise TypeError(f"@autotier.hot needs a Python function, not {type(f).__name__}")
        return _make(f, hotness, deopt_policy, backend)

    return decorate if func is None else decorate(func)


def _make(
    func: FunctionType,
    hotness: HotnessPolicy,
    deopt: DeoptPolicy,
    backend: str,
    *,
    broker: Broker | None = None,
    before_compile: Callable[[CompileRequest], None] | None = None,
) -> HotFunction:
    """Build the hot function and its bead.

    ``broker`` (default: the process's) runs its compiles; ``before_compile`` runs on
    the broker thread before each compile (tests use it to hold or fail a compile at
    a chosen moment).
    """
    hf: HotFunction = object.__new__(HotFunction)
    functools.update_wrapper(hf, func)
    hf._func = func

    def compiler(request: CompileRequest) -> CompiledCode:
        if before_compile is not None:
            before_compile(request)
        code = compile_with(backend, request)
        _emit_dumps(func, code)
        return code

    submit = (broker or BROKER).submit
    bead = Bead(hf, func, hotness, deopt, compiler, submit, DUMP_STAGES)
    hf._bead = bead
    hf._slow = bead.on_bail
    hf._vectorcall = build.trampoline_address()
    registry.add(bead)
    return hf


def _emit_dumps(func: FunctionType, code: CompiledCode) -> None:
    for stage in ("bytecode", "ir", "llvm", "asm"):
        if stage in DUMP_STAGES and stage in code.dumps:
            print(f"--- autotier {stage}: {func.__qualname__} ---\n{code.dumps[stage]}",
                  file=sys.stderr)


def _bead_of(f: Any) -> Bead:
    target = f.__func__ if isinstance(f, staticmethod | classmethod) else f
    target = getattr(target, "__func__", target)  # bound methods
    if not isinstance(target, HotFunction):
        raise TypeError(f"{f!r} is not an @autotier.hot function")
    bead = target._bead
    assert isinstance(bead, Bead)
    return bead


def _row(bead: Bead) -> FunctionStats:
    with bead._lock:
        code = bead.code
        return FunctionStats(
            name=bead.name,
            qualname=bead.qualname,
            state=bead.state.value,
            tier=bead.tier if code is not None else 0,
            backend=code.backend if code is not None else None,
            calls=bead.calls,
            compile_ms=round(bead.compile_ms, 3),
            bailouts=bead.bailouts,
            signatures=tuple(tuple(k.pytype.__name__ for k in sig) for sig in bead.signatures),
            int_bits=code.int_bits if code is not None else bead.int_bits,
            reason=bead.reason,
        )


@overload
def stats() -> Stats: ...
@overload
def stats(f: Any) -> FunctionStats: ...
def stats(f: Any = None) -> Stats | FunctionStats:
    """All hot functions' stats (a table when printed), or one function's."""
    if f is not None:
        return _row(_bead_of(f))
    return Stats([_row(b) for b in registry.snapshot()])


def wait_idle(timeout: float | None = None) -> bool:
    """Wait until no compile is queued or running; False if ``timeout`` ran out."""
    return BROKER.wait_idle(timeout)


def reload_all() -> int:
    """Recompile every hot function from its current code; how many were queued."""
    return sum(1 for bead in registry.snapshot() if bead.reload())


def invalidate(f: Any) -> None:
    """Drop ``f``'s native code; it interprets from now on (state ``invalid``)."""
    _bead_of(f).invalidate()


def prune() -> int:
    """Forget dropped or invalidated functions; returns how many."""
    return registry.prune()


def native(f: Any, *types: type) -> NativeFunction:
    """The ctypes-callable native body of ``f`` for argument ``types``.

    With no ``types``, the first specialisation.  Raises LookupError when ``f`` has
    no native body for them (not compiled yet, compiled by numba, or other types).
    """
    bead = _bead_of(f)
    code = bead.code
    specs = code.natives if code is not None else ()
    for spec in specs:
        if not types or tuple(k.pytype for k in spec.kinds) == types:
            return make_native(spec, bead.func)
    wanted = ", ".join(t.__name__ for t in types) or "any types"
    raise LookupError(f"{bead.qualname} has no native body for ({wanted}); "
                      f"state {bead.state.value}, backend "
                      f"{code.backend if code is not None else None}")


def explain(f: Any) -> dict[str, str]:
    """The stages of ``f``'s installed compile: bytecode, ir, llvm and asm (the llvm
    backend's assembly is generated now if the compile did not keep it)."""
    bead = _bead_of(f)
    code = bead.code
    if code is None:
        return {"state": bead.state.value, "reason": bead.reason or ""}
    stages = dict(code.dumps)
    if "asm" not in stages and code.asm_source is not None:
        from autotier.jit import engine

        texts, opt = code.asm_source
        stages["asm"] = engine.assembly(list(texts), opt=opt)
    return stages
