"""numpy's scalar kinds for the frontend: the eleven types and their promotion.

Part of :mod:`.npscalars` (the one description of numpy 2's scalar semantics, which
re-exports every name here): :class:`NpKind` (a dtype name, a width, a sort), the kinds
``BOOL`` ... ``FLOAT64``, :func:`kind_of` (an exact numpy scalar type's kind), and
:func:`promote` (``numpy.result_type`` of two kinds) and :func:`holds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

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
