"""numpy's scalar values for the frontend: what native code computes, and where it traps.

Part of :mod:`.npscalars` (which re-exports every name here): each reference function
returns an :class:`Outcome`, the value native code computes (numpy's answer where it
only warns) and the trap numpy would warn or raise at: :func:`evaluate` under a
:class:`~.nprules.BinaryRule`, :func:`int_binary`, :func:`float_binary` (with
:func:`ieee_trap`, :func:`float_divmod`, :func:`c_pow`), :func:`unary` and
:func:`builtin`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import struct
from dataclasses import dataclass
from functools import cache

from autotier.frontend.errors import Unsupported
from autotier.frontend.kinds import BinOp, CmpOp
from autotier.frontend.npkinds import FLOAT32, NpKind, Number, Sort
from autotier.frontend.nprules import BinaryRule, Builtin, Conv, Trap, Unary, unary_kind


@dataclass(frozen=True)
class Outcome:
    """What native code computes: the value (numpy's answer when it only warns) and the trap."""

    value: Number
    trap: Trap | None


# ------------------------------------------------------------------ reference values


F32_MAX = float.fromhex("0x1.fffffep127")
_QUIET = 1 << 51


def round_f32(x: float) -> float:
    """The float32 nearest ``x`` (ties to even; past float32's range an infinity)."""
    try:
        r: float = struct.unpack("<f", struct.pack("<f", x))[0]
        return r
    except OverflowError:
        return math.copysign(math.inf, x)


def is_snan(x: float) -> bool:
    """Whether the double ``x`` is a signalling nan."""
    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    return math.isnan(x) and not bits & _QUIET


def is_snan_bits(kind: NpKind, bits: int) -> bool:
    """Whether the float ``kind``'s bit pattern ``bits`` is a signalling nan: the test
    native code makes on the machine value (a float32 one included, which no double
    holds); such an operand makes ``+ - * /`` trap INVALID."""
    mant = 23 if kind is FLOAT32 else 52
    exp_all = ((1 << (kind.bits - 1 - mant)) - 1) << mant
    frac = bits & ((1 << mant) - 1)
    return bits & exp_all == exp_all and frac != 0 and not frac >> (mant - 1)


def _round(kind: NpKind, x: float) -> float:
    return round_f32(x) if kind is FLOAT32 else x


def wrap(kind: NpKind, v: int) -> int:
    """``v`` reduced modulo 2**bits into the integer kind's range."""
    v &= (1 << kind.bits) - 1
    if kind.sort is Sort.SIGNED and v > kind.max:
        v -= 1 << kind.bits
    return v


def convert(x: Number, conv: Conv, kind: NpKind | None) -> Outcome:
    """Operand ``x`` as a value of ``kind`` by ``conv``, with the trap the conversion has."""
    if conv is Conv.PY_INT_COMPARED or kind is None:
        return Outcome(int(x), None)
    if conv is Conv.PY_INT:
        v = int(x)
        trap = None if kind.min <= v <= kind.max else Trap.PY_INT_RANGE
        return Outcome(v if trap is None else wrap(kind, v), trap)
    if conv is Conv.PY_INT_FLOAT:
        try:
            d = float(x)
        except OverflowError:
            return Outcome(math.inf if x > 0 else -math.inf, Trap.PY_INT_FLOAT)
        return _to_float(kind, d)
    if conv is Conv.PY_FLOAT:
        return _to_float(kind, float(x))
    if kind.is_float:
        return Outcome(_round(kind, float(x)), None)  # ROUND and EXACT: to nearest
    if kind.is_bool:
        return Outcome(bool(x), None)
    return Outcome(int(x), None)


def _to_float(kind: NpKind, d: float) -> Outcome:
    r = _round(kind, d)
    trap = Trap.CAST_OVERFLOW if math.isinf(r) and math.isfinite(d) else None
    return Outcome(r, trap)


def evaluate(rule: BinaryRule, a: Number, b: Number) -> Outcome:
    """``a op b`` as native code computes it under ``rule``: operands converted, then the op."""
    ca, cb = convert(a, rule.left, rule.compute), convert(b, rule.right, rule.compute)
    conv_trap = ca.trap or cb.trap
    if isinstance(rule.op, CmpOp):
        r = _compare(rule.op, ca.value, cb.value)
        return Outcome(r, conv_trap)
    assert rule.compute is not None
    if rule.compute.is_float:
        out = float_binary(rule.op, rule.compute, float(ca.value), float(cb.value))
    elif rule.compute.is_bool:
        out = bool_binary(rule.op, bool(ca.value), bool(cb.value))
    else:
        out = int_binary(rule.op, rule.compute, int(ca.value), int(cb.value))
        if out.trap is not None and out.trap not in rule.traps:
            out = Outcome(out.value, None)  # the ufunc loop wraps + - * quietly
    return Outcome(out.value, conv_trap or out.trap)


def _compare(op: CmpOp, a: Number, b: Number) -> bool:
    """IEEE comparison (a nan compares unequal to everything, quietly) or exact integers."""
    if op is CmpOp.LT:
        return a < b
    if op is CmpOp.LE:
        return a <= b
    if op is CmpOp.EQ:
        return a == b
    if op is CmpOp.NE:
        return a != b
    if op is CmpOp.GT:
        return a > b
    return a >= b


def bool_binary(op: BinOp, a: bool, b: bool) -> Outcome:
    """Two bools in bool: ``+`` is or, ``*`` is and, ``& | ^`` logical; never a trap."""
    if op in (BinOp.ADD, BinOp.OR):
        return Outcome(a or b, None)
    if op in (BinOp.MUL, BinOp.AND):
        return Outcome(a and b, None)
    if op is BinOp.XOR:
        return Outcome(a != b, None)
    raise Unsupported(f"numpy computes '{op.value}' of bools in another kind")


def int_binary(op: BinOp, kind: NpKind, a: int, b: int) -> Outcome:
    """``a op b`` in the integer ``kind`` (operands in range): the wrapped value, the trap.

    ``+ - *`` trap OVERFLOW when the exact result leaves the kind; ``//`` and ``%`` by
    zero trap DIVIDE (numpy answers 0), ``min // -1`` OVERFLOW (numpy answers min, while
    ``min % -1`` is a quiet 0); a negative power traps NEGATIVE_POWER; the wrapped power,
    shifts (a count outside ``0 <= b < bits`` shifts everything out: 0, or -1 for a
    negative ``a >>``) and ``& | ^`` never trap.
    """
    if op in (BinOp.ADD, BinOp.SUB, BinOp.MUL):
        exact = a + b if op is BinOp.ADD else a - b if op is BinOp.SUB else a * b
        v = wrap(kind, exact)
        return Outcome(v, None if v == exact else Trap.OVERFLOW)
    if op in (BinOp.FLOORDIV, BinOp.MOD):
        if b == 0:
            return Outcome(0, Trap.DIVIDE)
        exact = a // b if op is BinOp.FLOORDIV else a % b
        v = wrap(kind, exact)
        return Outcome(v, None if v == exact else Trap.OVERFLOW)
    if op is BinOp.POW:
        if b < 0:
            return Outcome(0, Trap.NEGATIVE_POWER)
        return Outcome(wrap(kind, pow(a, b, 1 << kind.bits)), None)
    if op is BinOp.LSHIFT:
        return Outcome(wrap(kind, a << b) if 0 <= b < kind.bits else 0, None)
    if op is BinOp.RSHIFT:
        return Outcome(a >> b if 0 <= b < kind.bits else (-1 if a < 0 else 0), None)
    if op is BinOp.AND:
        return Outcome(wrap(kind, a & b), None)
    if op is BinOp.OR:
        return Outcome(wrap(kind, a | b), None)
    if op is BinOp.XOR:
        return Outcome(wrap(kind, a ^ b), None)
    raise Unsupported(f"no integer '{op.value}'")


def ieee_trap(op: BinOp, a: float, b: float, r: float) -> Trap | None:
    """numpy's warning for ``r = a op b``, one IEEE operation (``+ - * /``), exactly.

    A signalling nan operand or a nan from non-nan operands (``inf - inf``, ``0 * inf``,
    ``0 / 0``) is INVALID; an infinity from finite operands is DIVIDE for ``x / 0`` and
    OVERFLOW otherwise.  Underflow is not a trap (numpy's default ignores it).
    """
    if is_snan(a) or is_snan(b):
        return Trap.INVALID
    if math.isnan(r):
        return None if math.isnan(a) or math.isnan(b) else Trap.INVALID
    if math.isinf(r) and math.isfinite(a) and math.isfinite(b):
        return Trap.DIVIDE if op is BinOp.TRUEDIV and b == 0 else Trap.OVERFLOW
    return None


def float_binary(op: BinOp, kind: NpKind, a: float, b: float) -> Outcome:
    """``a op b`` in the float ``kind`` (operands already of it): value and trap.

    ``+ - * /`` are one IEEE operation in the kind's precision, trapped by
    :func:`ieee_trap` (exact).  ``//`` and ``%`` follow numpy's ``npy_divmod``
    (:func:`float_divmod`), ``**`` is C's ``pow`` (``powf`` for float32); these three trap
    NONFINITE (conservatively) unless both operands are finite, the divisor nonzero and
    the result (for ``//`` and ``%``: the quotient too) finite.
    """
    if op in (BinOp.ADD, BinOp.SUB, BinOp.MUL, BinOp.TRUEDIV):
        r = _ieee(op, a, b)
        return Outcome(_round(kind, r), ieee_trap(op, a, b, _round(kind, r)))
    if op in (BinOp.FLOORDIV, BinOp.MOD):
        if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
            return Outcome(math.nan, Trap.NONFINITE)
        div, mod = float_divmod(kind, a, b)
        if not math.isfinite(div):
            return Outcome(div if op is BinOp.FLOORDIV else mod, Trap.OVERFLOW)
        return Outcome(div if op is BinOp.FLOORDIV else mod, None)
    if op is BinOp.POW:
        r = c_pow(kind, a, b)
        ok = math.isfinite(a) and math.isfinite(b) and math.isfinite(r)
        return Outcome(r, None if ok else Trap.NONFINITE)
    raise Unsupported(f"no float '{op.value}'")


def _ieee(op: BinOp, a: float, b: float) -> float:
    """One IEEE double operation (its result rounds correctly to float32 for float32 operands)."""
    if op is BinOp.ADD:
        return a + b
    if op is BinOp.SUB:
        return a - b
    if op is BinOp.MUL:
        return a * b
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def float_divmod(kind: NpKind, a: float, b: float) -> tuple[float, float]:
    """numpy's ``npy_divmod`` for finite ``a`` and finite nonzero ``b``: (a // b, a % b).

    In the kind's precision: ``mod = fmod(a, b)``, ``div = (a - mod) / b``; a nonzero
    ``mod`` of the divisor's other sign gets ``b`` added and ``div`` one taken off, a
    zero ``mod`` takes the divisor's sign; a nonzero ``div`` is floored and rounded up
    when more than 0.5 above its floor, a zero one takes the sign of ``a / b``.  For these
    operands it is Python's float ``//`` and ``%`` (in float32 for float32).
    """
    r = kind
    mod = math.fmod(a, b)
    div = _round(r, _round(r, a - mod) / b)
    if mod:
        if (b < 0) != (mod < 0):
            mod = _round(r, mod + b)
            div = _round(r, div - 1.0)
    else:
        mod = math.copysign(0.0, b)
    if div:
        floordiv = float(math.floor(div)) if math.isfinite(div) else div
        if _round(r, div - floordiv) > 0.5:
            floordiv = _round(r, floordiv + 1.0)
    else:
        floordiv = math.copysign(0.0, a / b)
    return floordiv, mod


@cache
def _libm() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    lib.pow.restype = ctypes.c_double
    lib.pow.argtypes = (ctypes.c_double, ctypes.c_double)
    lib.powf.restype = ctypes.c_float
    lib.powf.argtypes = (ctypes.c_float, ctypes.c_float)
    return lib


def c_pow(kind: NpKind, a: float, b: float) -> float:
    """C's ``pow`` (float64) or ``powf`` (float32) of ``a`` and ``b``: numpy's ``**``."""
    lib = _libm()
    return float(lib.powf(a, b) if kind is FLOAT32 else lib.pow(a, b))


# ------------------------------------------------------------------ unary operations


def unary(op: Unary, kind: NpKind, a: Number) -> Outcome:
    """``op a``: floats flip or clear the sign bit (never a trap, a nan's payload kept);
    ``-`` of an integer traps OVERFLOW unless the exact result is in range (``-int8(-128)``,
    ``-uint8(1)``: numpy answers the wrapped value), ``abs`` of a signed minimum too;
    ``~`` of a bool is ``not``."""
    unary_kind(op, kind)
    if kind.is_float:
        x = float(a)
        if op is Unary.NEG:
            return Outcome(-x, None)
        if op is Unary.ABS:
            return Outcome(math.copysign(x, 1.0), None)
        return Outcome(x, None)
    if kind.is_bool:
        return Outcome(not a if op is Unary.INVERT else bool(a), None)
    v = int(a)
    exact = {Unary.NEG: -v, Unary.ABS: abs(v), Unary.INVERT: ~v, Unary.POS: v}[op]
    w = wrap(kind, exact)
    return Outcome(w, None if w == exact or op is Unary.INVERT else Trap.OVERFLOW)


# ------------------------------------------------------------------ int(), float(), bool(), math


def builtin(fn: Builtin, kind: NpKind, a: Number) -> Outcome:
    """The Python value of ``fn(a)``: ints exact, floats rounded to nearest (``float`` of an
    int64 or uint64), ``int`` of a float truncated; ``int`` of a nan raises ValueError and
    of an infinity OverflowError (traps NAN_TO_INT, INF_TO_INT); ``bool`` is ``x != 0`` (a
    nan is true).  ``int`` of a float past int64 is a Python int past it: the frontend's
    own int overflow guard (or its wide ints) applies, as for ``int`` of a Python float."""
    if fn is Builtin.BOOL:
        return Outcome(bool(a), None)
    if fn is Builtin.FLOAT:
        return Outcome(float(a), None)
    if kind.is_float:
        x = float(a)
        if math.isnan(x):
            return Outcome(0, Trap.NAN_TO_INT)
        if math.isinf(x):
            return Outcome(0, Trap.INF_TO_INT)
        return Outcome(int(x), None)
    return Outcome(int(a), None)
