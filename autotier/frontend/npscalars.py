"""numpy scalar semantics for the frontend: kinds, NEP 50 promotion, values and traps.

The frontend holds numpy scalars (``numpy.float64`` ... ``numpy.bool_``) unboxed, as the
machine type, with numpy 2's semantics.  This module is the one description of those
semantics it types and lowers by; it is pure Python (no llvmlite) and decides three things
for each operation:

- its *kinds*: :func:`binary` and :func:`result_kind` (NEP 50: a Python ``int`` or
  ``float`` operand is *weak* and takes the numpy operand's kind, ``float32 + 1.0`` is
  float32, ``int64 + 1`` is int64, ``int32 + 1.5`` is float64; a Python ``bool`` is a
  ``numpy.bool_``), :func:`unary_kind`, :func:`builtin_result`, :func:`math_result`;
  what numpy refuses (``bool - bool``, ``float & float``, ``-bool``) raises
  :class:`~autotier.frontend.errors.Unsupported`;
- the *value* native code computes (:func:`evaluate`, :func:`unary`, :func:`builtin`):
  integers wrap in their width, floats are IEEE operations in the kind's precision
  (float32 in single precision), numpy's own floor division and modulo;
- its *traps*: where numpy warns (``RuntimeWarning: overflow encountered in scalar
  add``, ``divide by zero ...``, ``invalid value ...``, ``overflow encountered in cast``)
  or raises (``ValueError: Integers to negative integer powers are not allowed.``,
  ``OverflowError: Python integer 1000 out of bounds for int8``).  Each reference
  function returns the wrapped value *and* the trap; the lowering computes the same
  predicate beside the value and deoptimises when it holds, so numpy runs the operation
  itself and warns or raises under the user's ``numpy.errstate``.  A rule's
  ``exact_guard`` says whether its predicate is exactly numpy's (it warns iff the trap is
  set) or conservative (set also where numpy would answer quietly: only slower).

The predicates assume numpy's error state ignores underflow (its default): numpy never
warns for an underflow then.  A lowering must guard that state (or deoptimise for tiny
results) before relying on them; every other error state is handled by deoptimising.

Values are Python numbers: ints in their kind's range, floats as doubles (a float32 value
is a double holding that float32; a float32 signalling nan cannot be held, so the
float32 references never see one), bools as ``bool``.  Measured with numpy
:data:`NUMPY_MEASURED` by ``tools/npscalar_survey.py``; ``tests/frontend/test_npscalars.py``
checks every rule against numpy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import struct
from dataclasses import dataclass
from enum import Enum
from functools import cache

from autotier.frontend.errors import Unsupported
from autotier.frontend.kinds import BinOp, CmpOp

NUMPY_MEASURED = "2.4.6"

Number = int | float | bool


class Sort(Enum):
    BOOL = "bool"
    SIGNED = "signed"
    UNSIGNED = "unsigned"
    FLOAT = "float"


@dataclass(frozen=True)
class NpKind:
    """One numpy scalar type: its dtype name, width in bits (bool: 8, its storage) and sort."""

    name: str
    bits: int
    sort: Sort

    @property
    def type(self) -> type:
        """The numpy scalar type object (numpy is imported on first use)."""
        import numpy

        t: type = getattr(numpy, "bool_" if self.sort is Sort.BOOL else self.name)
        return t

    @property
    def is_int(self) -> bool:
        return self.sort in (Sort.SIGNED, Sort.UNSIGNED)

    @property
    def is_float(self) -> bool:
        return self.sort is Sort.FLOAT

    @property
    def is_bool(self) -> bool:
        return self.sort is Sort.BOOL

    @property
    def min(self) -> int:
        """The least value of an integer kind (bool: 0)."""
        if self.sort is Sort.SIGNED:
            return -(1 << (self.bits - 1))
        return 0

    @property
    def max(self) -> int:
        """The greatest value of an integer kind (bool: 1)."""
        if self.sort is Sort.SIGNED:
            return (1 << (self.bits - 1)) - 1
        if self.sort is Sort.UNSIGNED:
            return (1 << self.bits) - 1
        return 1

    def __repr__(self) -> str:
        return f"np.{self.name}"


BOOL = NpKind("bool", 8, Sort.BOOL)
INT8 = NpKind("int8", 8, Sort.SIGNED)
INT16 = NpKind("int16", 16, Sort.SIGNED)
INT32 = NpKind("int32", 32, Sort.SIGNED)
INT64 = NpKind("int64", 64, Sort.SIGNED)
UINT8 = NpKind("uint8", 8, Sort.UNSIGNED)
UINT16 = NpKind("uint16", 16, Sort.UNSIGNED)
UINT32 = NpKind("uint32", 32, Sort.UNSIGNED)
UINT64 = NpKind("uint64", 64, Sort.UNSIGNED)
FLOAT32 = NpKind("float32", 32, Sort.FLOAT)
FLOAT64 = NpKind("float64", 64, Sort.FLOAT)

KINDS: tuple[NpKind, ...] = (
    BOOL, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT32, FLOAT64,
)  # fmt: skip
INT_KINDS = tuple(k for k in KINDS if k.is_int)
_SIGNED = {8: INT8, 16: INT16, 32: INT32, 64: INT64}

# An operand is a numpy kind or one of the Python number types int, float, bool.
Operand = NpKind | type


def kind_of(t: type) -> NpKind | None:
    """The kind of an exact numpy scalar type, None for any other type."""
    for k in KINDS:
        if k.type is t:
            return k
    return None


# ------------------------------------------------------------------ traps and conversions


class Trap(Enum):
    """Why native code leaves a numpy operation to numpy (the message numpy then gives)."""

    OVERFLOW = "overflow"  # RuntimeWarning: overflow encountered in scalar <op>
    DIVIDE = "divide by zero"  # RuntimeWarning: divide by zero encountered in scalar <op>
    INVALID = "invalid value"  # RuntimeWarning: invalid value encountered in scalar <op>
    NEGATIVE_POWER = "negative power"  # ValueError: Integers to negative integer powers ...
    PY_INT_RANGE = "python int range"  # OverflowError: Python integer 1000 out of bounds for int8
    PY_INT_FLOAT = "int too large"  # OverflowError: int too large to convert to float
    CAST_OVERFLOW = "cast overflow"  # RuntimeWarning: overflow encountered in cast
    NAN_TO_INT = "nan to int"  # ValueError: cannot convert float NaN to integer
    INF_TO_INT = "inf to int"  # OverflowError: cannot convert float infinity to integer
    NONFINITE = "not finite"  # a conservative guard: an operand or result is inf or nan


class Conv(Enum):
    """How one operand becomes a value of the rule's compute kind."""

    EXACT = "exact"  # a numpy value (or Python bool) whose value the compute kind holds
    ROUND = "round"  # a numpy int to a float kind, rounded to nearest (int64 -> float64)
    PY_INT = "py int"  # a Python int that must lie in the compute kind (else PY_INT_RANGE)
    PY_INT_FLOAT = "py int to float"  # to double (else PY_INT_FLOAT), float32 (CAST_OVERFLOW)
    PY_FLOAT = "py float"  # a Python float, rounded to float32 (CAST_OVERFLOW) or as is
    PY_INT_COMPARED = "py int compared"  # a Python int compared exactly with an integer kind


@dataclass(frozen=True)
class Outcome:
    """What native code computes: the value (numpy's answer when it only warns) and the trap."""

    value: Number
    trap: Trap | None


# ------------------------------------------------------------------ promotion


def promote(a: NpKind, b: NpKind) -> NpKind:
    """numpy's result type of two scalar kinds (``numpy.result_type``)."""
    if a == b:
        return a
    if a.is_bool:
        return b
    if b.is_bool:
        return a
    if a.is_float and b.is_float:
        return a if a.bits >= b.bits else b
    if a.is_float or b.is_float:
        f, i = (a, b) if a.is_float else (b, a)
        if f is FLOAT32 and i.bits <= 16:
            return FLOAT32
        return FLOAT64
    if a.sort is b.sort:
        return a if a.bits >= b.bits else b
    s, u = (a, b) if a.sort is Sort.SIGNED else (b, a)
    if s.bits > u.bits:
        return s
    if u.bits < 64:
        return _SIGNED[2 * u.bits]
    return FLOAT64


def holds(compute: NpKind, k: NpKind) -> bool:
    """Whether every value of ``k`` is a value of ``compute``."""
    if k == compute or k.is_bool:
        return True
    if compute.is_float:
        if k.is_float:
            return compute.bits >= k.bits
        mantissa = 24 if compute is FLOAT32 else 53
        return k.bits - (k.sort is Sort.SIGNED) <= mantissa
    return compute.is_int and compute.min <= k.min and k.max <= compute.max


# ------------------------------------------------------------------ binary rules

ARITH = (BinOp.ADD, BinOp.SUB, BinOp.MUL, BinOp.TRUEDIV, BinOp.FLOORDIV, BinOp.MOD, BinOp.POW)
BITWISE = (BinOp.AND, BinOp.OR, BinOp.XOR, BinOp.LSHIFT, BinOp.RSHIFT)
BINOPS = ARITH + BITWISE
CMPOPS = tuple(CmpOp)

# Operations numpy computes on bools in int8 (the others stay bool, ``-`` is refused).
_BOOL_AS_INT8 = (BinOp.FLOORDIV, BinOp.MOD, BinOp.POW, BinOp.LSHIFT, BinOp.RSHIFT)


class NumpyRefuses(Unsupported):
    """numpy itself refuses the operation (a TypeError): no kind exists for it."""


@dataclass(frozen=True)
class BinaryRule:
    """How native code computes ``left op right``.

    ``compute`` is the kind both operands are converted to (``left``/``right`` say how)
    and the operation runs in; None for a comparison of integers numpy makes exactly
    (mixed signedness, a Python int).  ``scalar_path`` says whether numpy's scalar math
    computes it (its integer ``+ - *`` warn on overflow) or its ufunc loop (which wraps
    quietly): the ufunc is used where a ``numpy.bool_`` is the left operand or the
    result kind is neither operand's (``int8 + 1.5``, ``int64 * float32``, ``bool_ + 1``).
    ``traps`` lists every trap the lowering must guard; ``exact_guard`` is False where the
    guard is conservative (float ``//``, ``%``, ``**``).
    """

    op: BinOp | CmpOp
    result: NpKind
    compute: NpKind | None
    left: Conv
    right: Conv
    traps: frozenset[Trap]
    exact_guard: bool
    scalar_path: bool


def _operand_kind(x: Operand) -> NpKind | type:
    if isinstance(x, NpKind):
        return x
    if x is bool:
        return BOOL
    if x is int or x is float:
        return x
    raise Unsupported(f"{getattr(x, '__name__', x)} is not a number numpy scalars mix with")


def _name(x: NpKind | type) -> str:
    return x.name if isinstance(x, NpKind) else f"Python {x.__name__}"


def result_kind(op: BinOp | CmpOp, left: Operand, right: Operand) -> NpKind:
    """The kind of ``left op right`` where one operand at least is a numpy kind.

    Raises :class:`NumpyRefuses` where numpy refuses the operation (a TypeError) and
    :class:`Unsupported` where native code cannot compute numpy's answer.
    """
    return binary(op, left, right).result


def _scalar_path(left: Operand, right: Operand, result: NpKind) -> bool:
    """Whether numpy's scalar math (not its ufunc loop) computes ``left op right``."""
    if left == BOOL:
        return False  # numpy.bool_'s operators are the generic ones: the ufunc
    kinds = [x for x in (left, right) if isinstance(x, NpKind)]
    if len(kinds) == 1 and right is bool:
        return True  # a Python bool casts to any kind but bool_ itself
    return result in kinds and (len(kinds) == 2 or result != BOOL)


@cache
def binary(op: BinOp | CmpOp, left: Operand, right: Operand) -> BinaryRule:
    """The rule for ``left op right``: kinds, conversions and traps (see :class:`BinaryRule`)."""
    lk, rk = _operand_kind(left), _operand_kind(right)
    if not isinstance(left, NpKind) and not isinstance(right, NpKind):
        raise Unsupported("no numpy scalar operand")
    if op is BinOp.MATMUL:
        raise NumpyRefuses("numpy scalars have no '@'")
    if isinstance(op, CmpOp):
        return _comparison(op, lk, rk)
    # The kind a weak Python operand takes: the numpy operand's (int with bool: int64;
    # float with an integer or bool kind: float64).
    k = lk if isinstance(left, NpKind) else rk
    assert isinstance(k, NpKind)
    other = rk if isinstance(left, NpKind) else lk
    if isinstance(other, NpKind):
        compute = promote(k, other)
    elif other is int:
        compute = INT64 if k.is_bool else k
    else:
        compute = k if k.is_float else FLOAT64
    scalar = _scalar_path(left, right, compute)
    if op in BITWISE and compute.is_float:
        raise NumpyRefuses(f"numpy has no '{op.value}' of {_name(lk)} and {_name(rk)}")
    if compute.is_bool:
        if op is BinOp.SUB:
            raise NumpyRefuses("numpy refuses '-' of two bools")
        if op in _BOOL_AS_INT8:
            compute = INT8
    result = compute
    if op is BinOp.TRUEDIV and not compute.is_float:
        compute = result = FLOAT64
    if op is BinOp.POW and compute.is_float and not scalar:
        raise Unsupported(
            f"numpy computes '**' of {_name(lk)} and {_name(rk)} in its ufunc loop, "
            "whose pow is numpy's own, not C's"
        )
    traps: set[Trap] = set()
    lc, rc = _conv(lk, compute, traps), _conv(rk, compute, traps)
    exact = True
    if compute.is_float:
        if op in (BinOp.FLOORDIV, BinOp.MOD, BinOp.POW):
            traps |= {Trap.OVERFLOW, Trap.NONFINITE}
            exact = False
        else:
            traps |= {Trap.OVERFLOW, Trap.INVALID}
            if op is BinOp.TRUEDIV:
                traps.add(Trap.DIVIDE)
    elif compute.is_int:
        if op in (BinOp.ADD, BinOp.SUB, BinOp.MUL) and scalar:
            traps.add(Trap.OVERFLOW)
        elif op in (BinOp.FLOORDIV, BinOp.MOD):
            traps.add(Trap.DIVIDE)
            if op is BinOp.FLOORDIV and compute.sort is Sort.SIGNED:
                traps.add(Trap.OVERFLOW)
        elif op is BinOp.POW and compute.sort is Sort.SIGNED:
            traps.add(Trap.NEGATIVE_POWER)
    return BinaryRule(op, result, compute, lc, rc, frozenset(traps), exact, scalar)


def _conv(x: NpKind | type, compute: NpKind, traps: set[Trap]) -> Conv:
    if isinstance(x, NpKind):
        return Conv.EXACT if holds(compute, x) else Conv.ROUND
    if x is int:
        if compute.is_float:
            traps.add(Trap.PY_INT_FLOAT)
            if compute is FLOAT32:
                traps.add(Trap.CAST_OVERFLOW)
            return Conv.PY_INT_FLOAT
        traps.add(Trap.PY_INT_RANGE)
        return Conv.PY_INT
    if compute is FLOAT32:
        traps.add(Trap.CAST_OVERFLOW)
    return Conv.PY_FLOAT


def _comparison(op: CmpOp, lk: NpKind | type, rk: NpKind | type) -> BinaryRule:
    """Comparisons answer np.bool_; integers compare exactly, everything else promoted."""
    k = lk if isinstance(lk, NpKind) else rk
    assert isinstance(k, NpKind)
    other = rk if k is lk else lk
    traps: set[Trap] = set()
    if isinstance(other, NpKind):
        compute: NpKind | None = promote(k, other)
        if not k.is_float and not other.is_float:
            compute = None  # integers and bools: numpy compares their values exactly
    elif other is int:
        # a bool compared with a Python int: both as int64 (a Python int past it raises)
        compute = k if k.is_float else INT64 if k.is_bool else None
    else:
        compute = k if k.is_float else FLOAT64

    def conv(x: NpKind | type) -> Conv:
        if compute is None:
            return Conv.EXACT if isinstance(x, NpKind) else Conv.PY_INT_COMPARED
        return _conv(x, compute, traps)

    return BinaryRule(op, BOOL, compute, conv(lk), conv(rk), frozenset(traps), True, True)


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


class Unary(Enum):
    NEG = "-"
    POS = "+"
    ABS = "abs"
    INVERT = "~"


def unary_kind(op: Unary, kind: NpKind) -> NpKind:
    """The kind of ``op x`` (always ``kind``); numpy refuses ``-`` and ``+`` of a bool
    and ``~`` of a float (:class:`NumpyRefuses`)."""
    if kind.is_bool and op in (Unary.NEG, Unary.POS):
        raise NumpyRefuses(f"numpy refuses '{op.value}' of a bool")
    if kind.is_float and op is Unary.INVERT:
        raise NumpyRefuses("numpy has no '~' of a float")
    return kind


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


class Builtin(Enum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"


def builtin_result(fn: Builtin, kind: NpKind) -> type:
    """``int(x)``, ``float(x)``, ``bool(x)`` of a numpy scalar answer Python's int, float, bool."""
    return {Builtin.INT: int, Builtin.FLOAT: float, Builtin.BOOL: bool}[fn]


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


# math functions of one number answering a Python float of ``float(x)``.
MATH_FLOAT = (
    "sqrt", "exp", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "asin",
    "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "fabs", "erf",
    "erfc", "gamma", "lgamma", "degrees", "radians",
)  # fmt: skip
MATH_BOOL = ("isnan", "isinf", "isfinite")
MATH_INT = ("floor", "ceil")


def math_result(name: str, kind: NpKind) -> type:
    """What ``math.<name>(x)`` answers for a numpy scalar of ``kind``.

    Every function takes ``float(x)`` (an int64 or uint64 rounded to nearest, a float32
    widened; numpy scalars have no ``__floor__`` or ``__ceil__``) and answers exactly what
    it answers for that Python float (a domain error is CPython's ValueError): those of
    :data:`MATH_FLOAT` a float, :data:`MATH_BOOL` a bool, ``floor`` and ``ceil`` an int
    (so ``math.floor(int64(2**63 - 1))`` is ``2**63``; ValueError for a nan,
    OverflowError for an infinity).  ``math.trunc``
    works for float64 only (the others raise TypeError: no ``__trunc__``): NumpyRefuses.
    """
    if name in MATH_FLOAT:
        return float
    if name in MATH_BOOL:
        return bool
    if name in MATH_INT:
        return int
    if name == "trunc":
        if kind is FLOAT64:
            return int
        raise NumpyRefuses(f"numpy.{kind.name} has no __trunc__ (math.trunc raises TypeError)")
    raise Unsupported(f"math.{name} of a numpy {kind.name}")
