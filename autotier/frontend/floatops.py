"""Float operators, float -> int conversions and exact int/float comparisons.

Helpers for :mod:`autotier.frontend.numerics` (same convention: ``i32 @name(inputs...,
T* out)`` returning a Status, OK only with exactly CPython's result).  The float
operators follow Objects/floatobject.c (float_div, float_rem, _float_div_mod,
float_pow); the conversions PyLong_FromDouble after trunc, floor, ceil or
float_round; the comparisons float_richcompare's exact int/float comparison.
Arithmetic whose result may be a NaN goes through ``Emitter.fadd`` ... (x86's NaN
bits, :mod:`autotier.frontend.floatarith`) and C's fmod.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from autotier.abi import Status
from autotier.frontend.helperdefs import F64, I1, I64, f64, helper, i32
from autotier.frontend.mathlib import ERANGE, call_libm

if TYPE_CHECKING:
    from autotier.frontend.numerics import Emitter

INF = float("inf")
TWO_63 = 9223372036854775808.0  # 2.0**63, the first double above int64's range

# ---------------------------------------------------------------- float operators


@helper("float_div", (F64, F64), F64)
def _float_div(e: Emitter) -> None:
    """x / y; ZERO_DIVISION when y is 0.0 or -0.0 (a nan divisor divides)."""
    x, y = e.args
    e.bail_if(e.b.fcmp_ordered("==", y, f64(0.0)), Status.ZERO_DIVISION)
    e.ok(e.fdiv(x, y))


def _remainder(e: Emitter, x: ir.Value, y: ir.Value) -> tuple[ir.Value, ir.Value, ir.Value]:
    """CPython's remainder step: (fmod(x, y), Python's x % y, whether y was added).

    A nonzero fmod (nan included: C's ``if (mod)``) whose sign differs from y's
    gets y added; a zero one takes y's sign.
    """
    b = e.b
    raw = e.fmod(x, y)
    differs = b.icmp_unsigned("!=", b.fcmp_ordered("<", y, f64(0.0)),
                              b.fcmp_ordered("<", raw, f64(0.0)))
    moved = b.and_(e.truthy(raw), differs)
    mod = b.select(moved, e.fadd(raw, y), raw)
    return raw, b.select(e.truthy(raw), mod, e.copysign(f64(0.0), y)), moved


@helper("float_mod", (F64, F64), F64)
def _float_mod(e: Emitter) -> None:
    """x % y (float_rem): the result has y's sign; ZERO_DIVISION for y == +-0.0.

    E.g. -1.0 % inf == inf, inf % 2.0 is nan, 0.0 % -1.0 == -0.0.
    """
    x, y = e.args
    e.bail_if(e.b.fcmp_ordered("==", y, f64(0.0)), Status.ZERO_DIVISION)
    e.ok(_remainder(e, x, y)[1])


@helper("float_floordiv", (F64, F64), F64)
def _float_floordiv(e: Emitter) -> None:
    """x // y as _float_div_mod computes it; ZERO_DIVISION for y == +-0.0.

    div = (x - fmod(x, y)) / y, less 1 when the remainder was moved; a nonzero
    div is snapped to an integer (floor, plus 1 when the floor is more than 0.5
    below); a zero div becomes 0.0 with the sign of x / y.
    """
    x, y = e.args
    b = e.b
    e.bail_if(b.fcmp_ordered("==", y, f64(0.0)), Status.ZERO_DIVISION)
    raw, _, moved = _remainder(e, x, y)
    div = e.fdiv(e.fsub(x, raw), y)
    div = b.select(moved, e.fsub(div, f64(1.0)), div)
    low = e.floor(div)
    snapped = b.select(b.fcmp_ordered(">", b.fsub(div, low), f64(0.5)),
                       b.fadd(low, f64(1.0)), low)
    e.ok(b.select(e.truthy(div), snapped, e.copysign(f64(0.0), e.fdiv(x, y))))


@helper("float_pow", (F64, F64), F64)
def _float_pow(e: Emitter) -> None:
    """x ** y for floats, case by case as float_pow.

    x**0 == 1 (nan too); nan**y == nan; x**nan is nan except 1**nan == 1;
    x**+-inf and +-inf**y by magnitude, keeping the sign for an odd integer y;
    0**y is +-0 for y > 0 and ZERO_DIVISION for y < 0; a negative x with a
    non-integer y is COMPLEX (Python returns a complex); (-1)**n is exact.
    The rest is libm pow(|x|, y), negated for a negative x and an odd y:
    FLOAT_OVERFLOW when infinite, or when errno is set other than by an underflow to 0.
    """
    x, y = e.args
    b = e.b
    with e.when(b.fcmp_ordered("==", y, f64(0.0))):
        e.ok(f64(1.0))
    with e.when(e.isnan(x)):
        e.ok(x)
    with e.when(e.isnan(y)):
        e.ok(b.select(b.fcmp_ordered("==", x, f64(1.0)), f64(1.0), y))
    with e.when(e.isinf(y)):
        ax = e.fabs(x)
        grows = b.icmp_unsigned("==", b.fcmp_ordered(">", y, f64(0.0)),
                                b.fcmp_ordered(">", ax, f64(1.0)))
        e.ok(b.select(b.fcmp_ordered("==", ax, f64(1.0)), f64(1.0),
                      b.select(grows, f64(INF), f64(0.0))))
    odd = e.is_odd_integer(y)
    with e.when(e.isinf(x)):
        e.ok(b.select(b.fcmp_ordered(">", y, f64(0.0)),
                      b.select(odd, x, e.fabs(x)),
                      b.select(odd, e.copysign(f64(0.0), x), f64(0.0))))
    with e.when(b.fcmp_ordered("==", x, f64(0.0))):
        e.bail_if(b.fcmp_ordered("<", y, f64(0.0)), Status.ZERO_DIVISION)
        e.ok(b.select(odd, x, f64(0.0)))
    negative = b.fcmp_ordered("<", x, f64(0.0))
    e.bail_if(b.and_(negative, b.fcmp_ordered("!=", y, e.floor(y))), Status.COMPLEX)
    negate = b.and_(negative, odd)
    ax = e.fabs(x)
    with e.when(b.fcmp_ordered("==", ax, f64(1.0))):
        e.ok(b.select(negate, f64(-1.0), f64(1.0)))
    r, err = call_libm(e, "pow", ax, y)
    e.bail_if(e.isinf(r), Status.FLOAT_OVERFLOW)  # Py_ADJUST_ERANGE1: +-HUGE_VAL is ERANGE
    to_zero = b.and_(b.icmp_signed("==", err, i32(ERANGE)), b.fcmp_ordered("==", r, f64(0.0)))
    e.bail_if(b.and_(b.icmp_signed("!=", err, i32(0)), b.not_(to_zero)), Status.FLOAT_OVERFLOW)
    e.ok(b.select(negate, b.fneg(r), r))



# ---------------------------------------------------------------- float -> int


def _integral_to_int(e: Emitter, whole: ir.Value) -> None:
    """Store int(whole) for an integral-valued double, as PyLong_FromDouble would.

    VALUE for nan (ValueError), FLOAT_OVERFLOW for infinities (OverflowError),
    OVERFLOW for finite values outside int64 (a big int native code cannot hold).
    """
    b = e.b
    e.bail_if(e.isnan(whole), Status.VALUE)
    e.bail_if(e.isinf(whole), Status.FLOAT_OVERFLOW)
    in_range = b.and_(b.fcmp_ordered(">=", whole, f64(-TWO_63)),
                      b.fcmp_ordered("<", whole, f64(TWO_63)))
    e.bail_if(b.not_(in_range), Status.OVERFLOW)
    e.ok(b.fptosi(whole, I64))


@helper("float_to_int", (F64,), I64)
def _float_to_int(e: Emitter) -> None:
    """int(x) (and math.trunc): x truncated toward zero."""
    _integral_to_int(e, e.call_intrinsic("llvm.trunc", e.args[0]))


@helper("float_floor_to_int", (F64,), I64)
def _float_floor_to_int(e: Emitter) -> None:
    """math.floor(x) for a float: int(floor(x))."""
    _integral_to_int(e, e.floor(e.args[0]))


@helper("float_ceil_to_int", (F64,), I64)
def _float_ceil_to_int(e: Emitter) -> None:
    """math.ceil(x) for a float: int(ceil(x))."""
    _integral_to_int(e, e.call_intrinsic("llvm.ceil", e.args[0]))


@helper("float_round_to_int", (F64,), I64)
def _float_round_to_int(e: Emitter) -> None:
    """round(x) with one argument: ties to even, as CPython's float_round does it.

    rounded = round(x) (ties away from zero); when |x - rounded| == 0.5 it is a
    tie and 2.0 * round(x / 2.0) is taken instead.
    """
    (x,) = e.args
    b = e.b
    rounded = e.call_intrinsic("llvm.round", x)
    tie = b.fcmp_ordered("==", e.fabs(b.fsub(x, rounded)), f64(0.5))
    even = b.fmul(f64(2.0), e.call_intrinsic("llvm.round", b.fdiv(x, f64(2.0))))
    _integral_to_int(e, b.select(tie, even, rounded))


# ---------------------------------------------------------------- int <-> float comparisons

_OPS = {"lt": "<", "le": "<=", "eq": "==", "ne": "!=", "gt": ">", "ge": ">="}
_SWAPPED = {"lt": "gt", "le": "ge", "eq": "eq", "ne": "ne", "gt": "lt", "ge": "le"}
_TRUE_WHEN_LESS = frozenset({"lt", "le", "ne"})
_TRUE_WHEN_GREATER = frozenset({"gt", "ge", "ne"})


def _compare_int_float(e: Emitter, i: ir.Value, f: ir.Value, op: str) -> None:
    """Store ``i <op> f`` compared exactly, as CPython's float_richcompare does.

    nan compares unequal to everything (only ``ne`` is true).  A float at or
    beyond +-2**63 (infinities included) lies beyond every int64.  Otherwise
    t = trunc(f) is an int64 and an exact double: when i != t the integers
    decide (f lies strictly between t - 1 and t + 1, on i's far side), and when
    i == t the exact doubles trunc(f) and f decide.
    """
    b = e.b
    with e.when(e.isnan(f)):
        e.ok(ir.Constant(I1, op == "ne"))
    with e.when(b.fcmp_ordered(">=", f, f64(TWO_63))):
        e.ok(ir.Constant(I1, op in _TRUE_WHEN_LESS))
    with e.when(b.fcmp_ordered("<", f, f64(-TWO_63))):
        e.ok(ir.Constant(I1, op in _TRUE_WHEN_GREATER))
    t = b.fptosi(f, I64)
    whole = b.sitofp(t, F64)
    pyop = _OPS[op]
    by_fraction = b.fcmp_ordered(pyop, whole, f)
    e.ok(b.select(b.icmp_signed("==", i, t), by_fraction, b.icmp_signed(pyop, i, t)))


def _register_comparisons() -> None:
    for op in _OPS:
        def int_float(e: Emitter, op: str = op) -> None:
            _compare_int_float(e, e.args[0], e.args[1], op)

        def float_int(e: Emitter, op: str = op) -> None:
            _compare_int_float(e, e.args[1], e.args[0], _SWAPPED[op])

        helper(f"cmp_int_float_{op}", (I64, F64), I1)(int_float)
        helper(f"cmp_float_int_{op}", (F64, I64), I1)(float_int)


_register_comparisons()
