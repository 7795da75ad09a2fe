"""The public API: ``@hot`` and the functions that inspect and steer the runtime."""

from __future__ import annotations

import atexit
import dis
import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any, TypeVar, overload

from autotier import compat
from autotier.backends import check_name, compile_with, prepare
from autotier.backends.base import CompiledCode, CompileRequest
from autotier.broker import Broker
from autotier.broker import broker as broker_module
from autotier.deopt import DeoptPolicy, ThresholdDeoptPolicy
from autotier.dispatch import build
from autotier.dispatch.hotobject import HotFunction
from autotier.jit import lifecycle
from autotier.native import NativeFunction
from autotier.native import make as make_native
from autotier.runtime import registry
from autotier.runtime.bead import Bead
from autotier.runtime.checks import require_int
from autotier.runtime.policy import HotnessPolicy, ThresholdPolicy
from autotier.runtime.stats import FunctionStats, Stats

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("autotier")

# atexit runs its handlers last-registered first: every broker (this one and any made
# later) closes before LLVM's exit hook runs.
atexit.register(lifecycle.at_exit)
BROKER = Broker()


LAZY_PACKAGES = ("autotier", "numba")  # imported on the broker thread when first used


def _finish_lazy_imports() -> None:
    """Wait for an import another thread is running of a module the broker imports
    lazily (the backends, the frontend, numba): a child forked in the middle has it
    half-initialised for good (measured: 1 fork in 12 during a first compile; every
    compile in that child failed with ImportError)."""
    for package in LAZY_PACKAGES:
        compat.finish_imports(package)


def _before_fork() -> None:
    """Hold everything another thread could hold at ``os.fork()``: LLVM first (the long
    wait), then the registry and the beads, then the brokers (a bead submits while
    holding its lock).  Imports in progress finish first."""
    _finish_lazy_imports()
    lifecycle.before_fork()
    registry.before_fork()
    broker_module.before_fork()


def _after_fork_parent() -> None:
    broker_module.after_fork_parent()
    registry.after_fork_parent()
    lifecycle.after_fork_parent()


def _after_fork_child() -> None:
    """A working runtime in the child: fresh locks, the beads whose compile was
    queued or running compile again at their next call, empty brokers."""
    lifecycle.after_fork_child()
    registry.after_fork_child()
    broker_module.after_fork_child()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                    after_in_child=_after_fork_child)
DUMP_STAGES = frozenset(s.strip() for s in os.environ.get("AUTOTIER_DUMP", "").split(",")
                        if s.strip())


#: the values AUTOTIER_LOG takes (any case): logging's level names
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _setup_logging(value: str | None = None) -> logging.Handler | None:
    """Log on stderr at the level AUTOTIER_LOG names (``value`` overrides it); the
    handler added, or None.  A value that is not a level name is refused with a
    warning: nothing is logged (a misspelt ``debgu`` used to act like ``debug``)."""
    raw = os.environ.get("AUTOTIER_LOG", "") if value is None else value
    name = raw.strip().lower()
    if not name:
        return None
    if name not in LOG_LEVELS:
        warnings.warn(f"AUTOTIER_LOG={raw!r} is not a logging level (use one of "
                      f"{', '.join(LOG_LEVELS)}, in any case): autotier logs nothing",
                      RuntimeWarning, stacklevel=2)
        return None
    handler = logging.StreamHandler(sys.stderr)
    # the messages name autotier themselves ("autotier: f interpreted -> queued")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(getattr(logging, name.upper()))
    return handler


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
    ``threshold=N`` (an int >= 1) is shorthand for ``policy=ThresholdPolicy(N)``;
    ``backend`` is "auto" (llvm, then numba), "llvm" or "numba".  Every argument is
    checked here: TypeError for a wrong type, ValueError for a bad value.  With
    AUTOTIER_DISABLE=1 the function is returned untouched.
    """
    if threshold is not None and policy is not None:
        raise TypeError("pass threshold= or policy=, not both")
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, not {type(backend).__name__} ({backend!r})")
    check_name(backend)
    if policy is not None and not isinstance(policy, HotnessPolicy):
        raise TypeError("policy must be a hotness policy (an object with max_tier and "
                        f"promote_at(tier)), not {type(policy).__name__}")
    if deopt is not None and not isinstance(deopt, DeoptPolicy):
        raise TypeError("deopt must be a deopt policy (an object with decide(event)), not "
                        f"{type(deopt).__name__}")
    hotness = policy if policy is not None else ThresholdPolicy(
        require_int("threshold", threshold, 1) if threshold is not None else 1000)
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
    hf._run = func  # the bead swaps in the copy with loop probes (autotier.osr)

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
    loops = getattr(hotness, "loop_threshold", None)
    if loops is not None and bead.start_osr(loops):
        prepare()  # the compiler's modules, ahead of the first OSR compile
    registry.add(bead)
    return hf


def _emit_dumps(func: FunctionType, code: CompiledCode) -> None:
    for stage in ("bytecode", "ir", "llvm", "asm"):
        if stage in DUMP_STAGES and stage in code.dumps:
            print(f"--- autotier {stage}: {func.__qualname__} ---\n{code.dumps[stage]}",
                  file=sys.stderr)


def _target(f: Any) -> Any:
    """What ``f`` decorates: itself, or the function of a static, class or bound method."""
    target = f.__func__ if isinstance(f, staticmethod | classmethod) else f
    return getattr(target, "__func__", target)  # bound methods


def _bead_of(f: Any) -> Bead:
    """``f``'s bead: of a hot function, or of the plain function a bead that gave up
    put back in the decorator's place (``mod.f`` once ``f`` was declined for good)."""
    target = _target(f)
    if not isinstance(target, HotFunction):
        found = registry.unwrapped_bead(target) if isinstance(target, FunctionType) else None
        if found is None:
            raise TypeError(f"{f!r} is not an @autotier.hot function")
        return found
    bead = target._bead
    assert isinstance(bead, Bead)
    return bead


#: why a function is not compiled while AUTOTIER_DISABLE is set
DISABLED_REASON = "AUTOTIER_DISABLE is set: @autotier.hot returned the function untouched"


def _disabled_function(f: Any) -> FunctionType | None:
    """``f``'s plain function when AUTOTIER_DISABLE is set and ``f`` is not hot (as
    ``@hot`` left it), else None: the inspecting functions answer for it instead of
    refusing a function the switch left undecorated."""
    target = _target(f)
    if _disabled() and isinstance(target, FunctionType):
        return target
    return None


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
            exceptions=bead.exceptions,
            signatures=tuple(tuple(k.pytype.__name__ for k in sig) for sig in bead.signatures),
            int_bits=code.int_bits if code is not None else bead.int_bits,
            reason=bead.reason,
            deep_calls=bead.deep_calls,
            last_bailout=bead.last_bailout,
            last_bailout_line=site.line if (site := bead.last_bailout_site) else None,
            last_bailout_offset=site.offset if site is not None else None,
            resumes=bead.resumes,
            unwrapped=bead.rebound.where if bead.rebound is not None else None,
            callees=code.callees if code is not None else (),
            osr_entries=bead.osr.entries if bead.osr is not None else 0,
            osr_lines=tuple(sorted(bead.osr.lines)) if bead.osr is not None else (),
        )


@overload
def stats() -> Stats: ...
@overload
def stats(f: Any) -> FunctionStats: ...
def stats(f: Any = None) -> Stats | FunctionStats:
    """All hot functions' stats (a table when printed), or one function's.

    With AUTOTIER_DISABLE set, an undecorated function's row has state "disabled"
    (and, since nothing counts its calls, calls 0).
    """
    if f is not None:
        plain = _disabled_function(f)
        if plain is not None:
            return FunctionStats(name=plain.__name__, qualname=plain.__qualname__,
                                 state="disabled", tier=0, backend=None, calls=0,
                                 compile_ms=0.0, bailouts=0, signatures=(), int_bits=64,
                                 reason=DISABLED_REASON)
        return _row(_bead_of(f))
    return Stats([_row(b) for b in registry.snapshot()])


def wait_idle(timeout: float | None = None) -> bool:
    """Wait until no compile is queued or running; False if ``timeout`` (seconds, or
    None: no limit; zero or less: just look) ran out."""
    if timeout is not None and not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, "
                        f"not {type(timeout).__name__}")
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
    no native body for them (not compiled yet, compiled by numba, other types, or
    AUTOTIER_DISABLE is set).
    """
    plain = _disabled_function(f)
    if plain is not None:
        raise LookupError(f"{plain.__qualname__} has no native body: {DISABLED_REASON}")
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


#: the stages explain() returns, as AUTOTIER_DUMP names them
STAGES = ("bytecode", "ir", "llvm", "asm", "sites", "osr")


def explain(f: Any) -> dict[str, str]:
    """What autotier made of ``f``: the stages ``bytecode``, ``ir``, ``llvm`` and
    ``asm`` of its installed compile, ``osr`` (a line per loop header: back edges
    counted, its OSR entry's state, why it is not entered; then each entry's block,
    the bytecode that rebuilds the frame at the header), its deopt ``sites`` (a line
    per place native code may hand the frame to the interpreter: source line, bytecode offset and
    instruction), and its ``state`` and ``reason`` ("" when none).

    Every key is always there.  ``bytecode`` is always the function's; a stage the
    installed code has no text for (nothing is compiled, or numba compiled it: numba
    has no autotier IR) is "".  The llvm backend's assembly is generated now if the
    compile did not keep it.
    """
    plain = _disabled_function(f)
    if plain is not None:
        return _stages(plain.__code__, {}, "disabled", DISABLED_REASON)
    bead = _bead_of(f)
    with bead._lock:
        code, state, reason = bead.code, bead.state.value, bead.reason or ""
    osr = {"osr": bead.osr.explain()} if bead.osr is not None else {}
    if code is None:
        return _stages(bead.func.__code__, osr, state, reason)
    stages = {**code.dumps, **osr}
    if "asm" not in stages and code.asm_source is not None:
        from autotier.jit import engine

        texts, opt = code.asm_source
        stages["asm"] = engine.assembly(list(texts), opt=opt)
    return _stages(bead.func.__code__, stages, state, reason)


def _stages(code: CodeType, made: dict[str, str], state: str, reason: str
            ) -> dict[str, str]:
    out = {stage: made.get(stage, "") for stage in STAGES}
    if not out["bytecode"]:
        out["bytecode"] = dis.Bytecode(code).dis()
    out["state"], out["reason"] = state, reason
    return out
