"""Differential harness: compile with the frontend, call the native body, compare with CPython.

Reusable by any test::

    from tests.frontend.harness import check, hot
    check(func, 3, 4.5)            # compiled result == CPython's, same type, or fail

``check`` is strict by default: when CPython returns a value that native code can
hold (bool, float, int in int64 range) the body must return OK with exactly that
value and type (floats compared bit for bit, any nan equal to any nan); when CPython
raises, or returns an int beyond 64 bits, the body must bail out (a non-OK status).
``may_bail=True`` relaxes the first rule for inputs where a bailout is legitimate
although CPython returns (an intermediate int64 overflow, for instance).
"""

from __future__ import annotations

import ctypes
import math
import struct
from dataclasses import dataclass
from types import FunctionType
from typing import Any

from autotier.abi import Kind, Status, hot_target
from autotier.frontend import LoweredModule, lower
from autotier.jit import engine

_CTYPES = {Kind.INT: ctypes.c_int64, Kind.FLOAT: ctypes.c_double, Kind.BOOL: ctypes.c_bool}
DEFAULT_BUDGET = 500


class Result(ctypes.Structure):
    _fields_ = (("kind", ctypes.c_int64), ("ival", ctypes.c_int64), ("fval", ctypes.c_double))


class FakeHot:
    """Stands in for an ``@autotier.hot`` object: marked, callable, wraps ``_func``."""

    _autotier_hot_ = True

    def __init__(self, func: FunctionType) -> None:
        self._func = func
        self.__name__ = func.__name__

    def __call__(self, *args: Any) -> Any:
        return self._func(*args)


def hot(func: FunctionType) -> FakeHot:
    return FakeHot(func)


@dataclass(frozen=True)
class Compiled:
    lowered: LoweredModule
    cfunc: Any

    def call(self, *args: Any, budget: int = DEFAULT_BUDGET) -> tuple[Status, Any]:
        out = Result()
        status = Status(self.cfunc(*args, ctypes.byref(out), budget))
        if status is not Status.OK:
            return status, None
        kind = Kind(out.kind)
        if kind is Kind.FLOAT:
            return status, out.fval
        if kind is Kind.BOOL:
            if out.ival not in (0, 1):
                raise AssertionError(f"bool result with ival {out.ival}")
            return status, bool(out.ival)
        return status, int(out.ival)


_CACHE: dict[tuple[Any, tuple[Kind, ...]], Compiled] = {}


def kinds_of(args: tuple[Any, ...]) -> tuple[Kind, ...]:
    kinds = tuple(Kind.of(a) for a in args)
    if None in kinds:
        raise ValueError(f"native code cannot take {args!r}")
    return kinds  # type: ignore[return-value]


def python_function(func: Any) -> FunctionType:
    target = hot_target(func)
    return target if target is not None else func


def compile_function(func: Any, kinds: tuple[Kind, ...], *, opt: int = 2) -> Compiled:
    """Lower and compile once per (function, kinds); cached for the whole session."""
    func = python_function(func)
    key = (func, kinds, opt)
    if key not in _CACHE:
        lowered = lower(func, kinds)
        address = engine.compile_ir(lowered.ir, [lowered.body], opt=opt).addresses[lowered.body]
        # PYFUNCTYPE: called with the GIL held, as bodies check for signals.
        proto = ctypes.PYFUNCTYPE(ctypes.c_int32, *(_CTYPES[k] for k in kinds),
                                  ctypes.POINTER(Result), ctypes.c_int64)
        _CACHE[key] = Compiled(lowered, proto(address))  # type: ignore[index]
    return _CACHE[key]  # type: ignore[index]


def same(a: Any, b: Any) -> bool:
    """Exactly equal: same type; floats bit for bit (-0.0 != 0.0), nan equals nan."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a) and math.isnan(b):
            return True
        return struct.pack("<d", a) == struct.pack("<d", b)
    return bool(a == b)


def _representable(value: Any) -> bool:
    return Kind.of(value) is not None


def check(func: Any, *args: Any, may_bail: bool = False, budget: int = DEFAULT_BUDGET,
          opt: int = 2) -> Status:
    """Run ``func(*args)`` natively and in CPython; fail unless they agree (module doc)."""
    py = python_function(func)
    compiled = compile_function(py, kinds_of(args), opt=opt)
    status, value = compiled.call(*args, budget=budget)
    try:
        expected = py(*args)
    except Exception as exc:  # CPython raised: native code must not claim a result
        assert status is not Status.OK, (
            f"{py.__name__}{args}: CPython raised {exc!r}, native returned {value!r}")
        return status
    if not _representable(expected):
        assert status is not Status.OK, (
            f"{py.__name__}{args}: CPython returned {expected!r}, native returned {value!r}")
        return status
    if status is not Status.OK:
        assert may_bail, f"{py.__name__}{args}: bailed with {status.name}, CPython {expected!r}"
        return status
    assert same(value, expected), (
        f"{py.__name__}{args}: native {value!r} ({type(value).__name__}), "
        f"CPython {expected!r} ({type(expected).__name__})")
    return status
