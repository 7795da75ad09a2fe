"""numpy's scalar rules for the frontend: the kind, conversions and traps of each operation.

Part of :mod:`.npscalars` (which re-exports every name here): :func:`binary` and
:func:`result_kind` (NEP 50) for binary operators and comparisons, :func:`unary_kind`,
:func:`builtin_result` and :func:`math_result`; :class:`NumpyRefuses` where numpy raises
TypeError; :class:`Trap` and :class:`Conv`, the vocabulary the rules and the reference
values (:mod:`.npreference`) share.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

from autotier.frontend.errors import Unsupported
from autotier.frontend.kinds import BinOp, CmpOp
from autotier.frontend.npkinds import (
    BOOL,
    FLOAT32,
    FLOAT64,
    INT8,
    INT64,
    NpKind,
    Operand,
    Sort,
    holds,
    promote,
)

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


# ------------------------------------------------------------------ int(), float(), bool(), math


class Builtin(Enum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"


def builtin_result(fn: Builtin, kind: NpKind) -> type:
    """``int(x)``, ``float(x)``, ``bool(x)`` of a numpy scalar answer Python's int, float, bool."""
    return {Builtin.INT: int, Builtin.FLOAT: float, Builtin.BOOL: bool}[fn]


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
