"""Differential tests of the numerics helpers against CPython.

Every helper is compiled once (module-scoped fixtures), wrapped in an exported
function and called through ctypes on edge inputs and on hypothesis' inputs.
The rule checked for each call: when CPython raises, or returns something the
helper's out type cannot hold (a float from ``int ** -1``, an int beyond int64),
the helper must return a non-OK status; when CPython returns a value, the helper
must return OK with the identical value (floats bit for bit, any nan equal to
any nan).  A bailout on such an input is a failure too, except where the helper
documents one (``int_truediv`` on operands that are not exact doubles).
"""

from __future__ import annotations

import ctypes
import math
import operator
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from llvmlite import ir

from autotier.abi import Status
from autotier.frontend.numerics import NAMES, Numerics
from autotier.jit import engine

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INF, NAN = math.inf, math.nan
BIG = 2**64  # stands for an int CPython computes that is beyond int64

_CTYPES: dict[str, Any] = {"i64": ctypes.c_int64, "double": ctypes.c_double,
                           "i1": ctypes.c_bool}
_PYTYPES = {"i64": int, "double": float, "i1": bool}


# ---------------------------------------------------------------- CPython, the oracle


def _pow_int(a: int, n: int) -> Any:
    if n >= 64 and abs(a) >= 2:
        return BIG  # too large to compute quickly; certainly beyond int64
    return a**n


def _lshift(a: int, n: int) -> int:
    if n >= 64 and a != 0:
        return BIG
    return a << n


_CMP_OPS = {"lt": operator.lt, "le": operator.le, "eq": operator.eq, "ne": operator.ne,
            "gt": operator.gt, "ge": operator.ge}

ORACLE: dict[str, Callable[..., Any]] = {
    "int_add": operator.add, "int_sub": operator.sub, "int_mul": operator.mul,
    "int_neg": operator.neg, "int_abs": abs, "int_floordiv": operator.floordiv,
    "int_mod": operator.mod, "int_pow": _pow_int, "int_lshift": _lshift,
    "int_rshift": operator.rshift, "int_truediv": operator.truediv, "int_to_float": float,
    "float_div": operator.truediv, "float_floordiv": operator.floordiv,
    "float_mod": operator.mod, "float_pow": operator.pow,
    "float_to_int": int, "float_floor_to_int": math.floor, "float_ceil_to_int": math.ceil,
    "float_round_to_int": round,
    **{f"cmp_int_float_{n}": op for n, op in _CMP_OPS.items()},
    **{f"cmp_float_int_{n}": op for n, op in _CMP_OPS.items()},
    "math_log_base": math.log,
    **{f"math_{n}": getattr(math, n) for n in (
        "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
        "exp", "expm1", "log", "log1p", "log2", "log10", "pow", "fabs", "hypot", "copysign",
        "fmod", "isnan", "isinf", "isfinite")},
}


def _exact_double(a: int) -> bool:
    return abs(a) <= 2**63 and int(float(a)) == a


# inputs on which a bailout is allowed although CPython returns a value
MAY_BAIL: dict[str, Callable[..., bool]] = {
    "int_truediv": lambda a, b: not (_exact_double(a) and _exact_double(b)),
}


# ---------------------------------------------------------------- compiled helpers


@dataclass
class Helper:
    name: str
    cfunc: Any
    arg_types: tuple[str, ...]
    out_ctype: Any
    out_type: str

    def __call__(self, *args: Any) -> tuple[int, Any]:
        out = self.out_ctype()
        status = self.cfunc(*args, ctypes.byref(out))
        return status, out.value


def compile_helpers(names: Iterable[str], opt: int = 2) -> dict[str, Helper]:
    """One module with an exported wrapper per helper, compiled once."""
    module = ir.Module(name=engine.unique_name("numerics_test"))
    numerics = Numerics(module)
    wrappers: dict[str, ir.Function] = {}
    for name in names:
        helper = numerics.get(name)
        wrapper = ir.Function(module, helper.function_type, engine.unique_name(f"t_{name}"))
        builder = ir.IRBuilder(wrapper.append_basic_block())
        builder.ret(builder.call(helper, list(wrapper.args)))
        wrappers[name] = wrapper
    compiled = engine.compile_ir(str(module), [w.name for w in wrappers.values()], opt=opt)
    helpers = {}
    for name, wrapper in wrappers.items():
        params = wrapper.function_type.args
        out_type = str(params[-1].pointee)
        argtypes = [_CTYPES[str(t)] for t in params[:-1]]
        proto = ctypes.CFUNCTYPE(ctypes.c_int32, *argtypes, ctypes.POINTER(_CTYPES[out_type]))
        helpers[name] = Helper(name, proto(compiled.addresses[wrapper.name]),
                               tuple(str(t) for t in params[:-1]), _CTYPES[out_type], out_type)
    return helpers


@pytest.fixture(scope="module")
def helpers() -> dict[str, Helper]:
    return compile_helpers(sorted(NAMES))


@pytest.fixture(scope="module")
def helpers_o0() -> dict[str, Helper]:
    return compile_helpers(sorted(NAMES), opt=0)


def same(got: Any, expected: Any) -> bool:
    if type(got) is not type(expected):
        return False
    if isinstance(expected, float):
        if math.isnan(expected):
            return math.isnan(got)
        return struct.pack("<d", got) == struct.pack("<d", expected)
    return bool(got == expected)


def representable(value: Any, out_type: str) -> bool:
    if type(value) is not _PYTYPES[out_type]:
        return False
    return out_type != "i64" or INT64_MIN <= value <= INT64_MAX


@dataclass
class Outcome:
    bailed: int = 0
    checked: int = 0


def check(helper: Helper, *args: Any, outcome: Outcome | None = None) -> None:
    """Assert the helper agrees with CPython on ``args`` (see the module docstring)."""
    status, got = helper(*args)
    assert status in set(Status), f"{helper.name}{args}: unknown status {status}"
    try:
        expected = ORACLE[helper.name](*args)
    except (ArithmeticError, ValueError) as exc:
        assert status != Status.OK, (
            f"{helper.name}{args} returned OK {got!r}; CPython raises {exc!r}")
        return
    if outcome is not None:
        outcome.checked += 1
    if not representable(expected, helper.out_type):
        assert status != Status.OK, (
            f"{helper.name}{args} returned OK {got!r}; CPython gives {expected!r}")
        return
    if status != Status.OK:
        may_bail = MAY_BAIL.get(helper.name)
        assert may_bail is not None and may_bail(*args), (
            f"{helper.name}{args} bailed with {Status(status)!r}; CPython gives {expected!r}")
        if outcome is not None:
            outcome.bailed += 1
        return
    assert same(got, expected), f"{helper.name}{args} gave {got!r}; CPython gives {expected!r}"


# ---------------------------------------------------------------- inputs

EDGE_INTS = sorted({
    0, 1, -1, 2, -2, 3, -3, 5, 7, -7, 10, 31, 62, 63, 64, 65, 100, -100, 1000,
    2**31, -(2**31), 2**32 - 1, 2**32, 3037000499, 3037000500, -3037000500,
    2**52, 2**53 - 1, 2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 2**54 + 2, 2**62, -(2**62),
    2**63 - 1, 2**63 - 1024, 2**63 - 512, -(2**63), -(2**63) + 1, 12345678901234567,
})
EDGE_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, 2.0, -2.0, 3.0, -3.0, 0.1,
    1 / 3, 10.0, 100.0, 0.49999999999999994, 4503599627370495.5, 4503599627370497.0,
    2.0**52, 2.0**53, 2.0**53 + 2, -(2.0**53), 2.0**62, 2.0**63, -(2.0**63), 2.0**63 - 1024,
    -(2.0**63) - 2048, 2.0**64, 1e16, 1e300, 1e308, -1e308, 1.7976931348623157e308,
    2.2250738585072014e-308, 1e-310, 5e-324, -5e-324, 709.78, 710.0, -745.2, -746.0,
    math.pi, -math.pi / 2, math.e, 0.7, -0.9, 1.0000000000000002, 0.9999999999999999,
    INF, -INF, NAN,
]


def helpers_of(*arg_types: str) -> list[str]:
    """Names of the helpers whose inputs have these LLVM types."""
    return [n for n in sorted(NAMES) if _signature(n) == arg_types]


def _signature(name: str) -> tuple[str, ...]:
    fn = Numerics(ir.Module()).get(name)
    return tuple(str(t) for t in fn.function_type.args[:-1])


_VALUES = {"i64": EDGE_INTS, "double": EDGE_FLOATS}
_SIGNATURES = [("i64",), ("double",), ("i64", "i64"), ("double", "double"), ("i64", "double"),
               ("double", "i64")]


def test_every_helper_has_a_tested_signature() -> None:
    tested = {n for sig in _SIGNATURES for n in helpers_of(*sig)}
    assert tested == NAMES
    assert set(ORACLE) == NAMES


@pytest.mark.parametrize("signature", _SIGNATURES, ids="-".join)
@pytest.mark.parametrize("opt", [2, 0])
def test_edge_inputs(signature: tuple[str, ...], opt: int, helpers: dict[str, Helper],
                     helpers_o0: dict[str, Helper]) -> None:
    compiled = helpers if opt else helpers_o0
    grids: list[tuple[Any, ...]] = [()]
    for t in signature:
        grids = [(*g, v) for g in grids for v in _VALUES[t]]
    for name in helpers_of(*signature):
        for args in grids:
            check(compiled[name], *args)
