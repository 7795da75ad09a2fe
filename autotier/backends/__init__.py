"""Compiling backends behind one protocol (autotier.backends.base.Backend).

``llvm``: autotier's own frontend (bytecode -> typed IR -> LLVM).  ``numba``: numba's
``njit``, for what the frontend declines.  ``auto`` tries llvm, then numba, and
remembers why llvm declined (or crashed: a frontend bug is logged with its traceback
and still falls back to numba).  Backends are imported lazily, on the broker thread.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from autotier import compat
from autotier.backends.base import (
    Abandoned,
    Backend,
    CompiledCode,
    CompileError,
    CompileRequest,
    Unsupported,
)

NAMES = ("auto", "llvm", "numba")
log = logging.getLogger("autotier")


def _backend(name: str) -> Backend:
    if name == "llvm":
        from autotier.backends.llvm_backend import LLVMBackend

        return LLVMBackend()
    if name == "numba":
        compat.finish_imports("numba")  # numba's import cycles: compat.finish_imports
        from autotier.backends.numba_backend import NumbaBackend

        return NumbaBackend()
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(NAMES)}")


def _compile(name: str, request: CompileRequest) -> CompiledCode:
    try:
        return _backend(name).compile(request)
    except ImportError as exc:  # numba wants an optional package (scipy, for np.dot)
        raise Unsupported(f"{name} needs a package that is not installed: {exc}") from None


def compile_with(name: str, request: CompileRequest) -> CompiledCode:
    """Compile ``request`` with backend ``name`` ("auto" falls back llvm -> numba).

    A backend that needs a package that is not installed declines (Unsupported), so
    the reason says so and keeps why llvm declined.  A function past the size limit
    is declined first, by every backend: its compile would hold the broker, and every
    function queued behind it, for too long.
    """
    from autotier import compat
    from autotier.frontend.decode import too_large

    reason = too_large(compat.instruction_count(request.code))
    if reason is not None:
        raise Unsupported(reason)
    if name != "auto":
        return _compile(name, request)
    try:
        return _backend("llvm").compile(request)
    except Unsupported as exc:
        why = f"llvm declined: {exc.reason}"
    except Abandoned:  # a race, an exit, no LLVM: numba would stop the same way
        raise
    except Exception as exc:  # a frontend bug: logged, numba still gets its chance
        log.exception("autotier: the llvm backend crashed on %s", request.func.__qualname__)
        why = f"llvm internal error: {type(exc).__name__}: {exc}"
    try:
        code = _compile("numba", request)
    except Unsupported as also:
        raise Unsupported(f"{why}; numba: {also.reason}") from None
    return replace(code, note=why)


def prepare() -> None:
    """Import the llvm backend's modules ahead of the first compile, once per process
    (:mod:`autotier.backends.ahead`: a function with loop probes, whose OSR compile's
    latency is the long call's)."""
    from autotier.backends import ahead

    ahead.import_compiler()


def check_name(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(NAMES)}")
    return name


__all__ = ["NAMES", "Backend", "CompileError", "CompiledCode", "Unsupported", "compile_with",
           "prepare"]
