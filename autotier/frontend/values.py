"""How a value with a set of kinds is held in LLVM: a tuple of scalar SSA values.

============  =========================================  ===========================
kinds         LLVM values                                 meaning
============  =========================================  ===========================
{int}         (i64,)                                      the int
{float}       (double,)                                   the float
{bool}        (i1,)                                       the bool
{range}       (i64 start, i64 stop, i64 step)             a range object
{iter}        (i64 next, i64 left, i64 step)              a range iterator
anything      (i64 tag, i64 ival, double fval)            tagged: ``tag`` is a VKind
else                                                      (0 = unbound); bool and int
                                                          in ``ival``, float in ``fval``
============  =========================================  ===========================

Scalars rather than LLVM structs, so every component gets its own phi and the
optimiser sees plain i64/double values.
"""

from __future__ import annotations

from llvmlite import ir as ll

from autotier.frontend.ir import Kinds, VKind

I1 = ll.IntType(1)
I32 = ll.IntType(32)
I64 = ll.IntType(64)
F64 = ll.DoubleType()
LV = tuple[ll.Value, ...]

_SCALAR_TYPES = {VKind.INT: I64, VKind.FLOAT: F64, VKind.BOOL: I1}
TAGGED_TYPES = (I64, I64, F64)
_TRIPLE = (I64, I64, I64)


def is_tagged(kinds: Kinds) -> bool:
    return len(kinds) > 1 or kinds == {VKind.UNDEF}


def llvm_types(kinds: Kinds) -> tuple[ll.Type, ...]:
    if not kinds:
        return ()
    if is_tagged(kinds):
        return TAGGED_TYPES
    (kind,) = kinds
    if kind in (VKind.RANGE, VKind.ITER):
        return _TRIPLE
    return (_SCALAR_TYPES[kind],)


def scalar_type(kind: VKind) -> ll.Type:
    return _SCALAR_TYPES[kind]


def i64(value: int) -> ll.Constant:
    return ll.Constant(I64, value)


def f64(value: float) -> ll.Constant:
    return ll.Constant(F64, value)


def tag(b: ll.IRBuilder, lv: LV, kind: VKind) -> LV:
    """The tagged form of ``lv``, a value of the single kind ``kind``."""
    if kind is VKind.UNDEF:
        return (i64(0), i64(0), f64(0.0))
    (value,) = lv
    if kind is VKind.FLOAT:
        return (i64(kind), i64(0), value)
    ival = b.zext(value, I64) if kind is VKind.BOOL else value
    return (i64(kind), ival, f64(0.0))


def untag(b: ll.IRBuilder, lv: LV, kind: VKind) -> LV:
    """The unboxed value of kind ``kind`` inside tagged ``lv`` (whose tag is ``kind``)."""
    _, ival, fval = lv
    if kind is VKind.FLOAT:
        return (fval,)
    if kind is VKind.BOOL:
        return (b.trunc(ival, I1),)
    if kind is VKind.INT:
        return (ival,)
    raise ValueError(f"cannot untag {kind.name}")


def coerce(b: ll.IRBuilder, lv: LV, src: Kinds, dst: Kinds) -> LV:
    """``lv`` (held as ``src`` kinds) held as ``dst`` kinds; ``src`` must be within ``dst``."""
    if not src <= dst:
        raise ValueError(f"cannot hold {set(src)} as {set(dst)}")
    if is_tagged(dst) and not is_tagged(src):
        (kind,) = src
        return tag(b, lv, kind)
    return lv
