"""How a value with a set of kinds is held in LLVM: a tuple of scalar SSA values.

============  =========================================  ===========================
kinds         LLVM values                                 meaning
============  =========================================  ===========================
{int}         (iN,)                                       the int
{float}       (double,)                                   the float
{bool}        (i1,)                                       the bool
{range}       (i64 start, i64 stop, i64 step)             a range object
{iter}        (i64 next, i64 left, i64 step)              a range iterator
{list}        (i8* list,)                                 a borrowed list object
{tuple}       (i8* tuple,)                                a borrowed tuple object
{list_iter}   (i8* list, i64 next index)                  an iterator over a list
{tuple_iter}  (i8* tuple, i64 next index)                 an iterator over a tuple
{none}        (i1 0,)                                     None
{object}      (i8* new reference,)                        a tuple the root returns
{array}       (i8* array,)                                a borrowed numpy.ndarray
{array_iter}  (i8* array, i64 next index)                 an iterator over a 1-d array
{complex}     (<2 x double> real, imag,)                  a complex; tagged: the real
                                                          part in fval, the imaginary
                                                          part's bits in ival
{np_<dtype>}  (the machine type,)                         a numpy scalar (double, float,
                                                          iN, i1); tagged: float64 in
                                                          fval, the others' bits in ival
{list|undef}  (i8* list or NULL,)                         a list local maybe unbound
{tuple|undef} (i8* tuple or NULL,)                        likewise
anything      (i64 tag, iN ival, double fval)             tagged: ``tag`` is a VKind
else                                                      (0 = unbound); bool and int
                                                          in ``ival``, float in ``fval``
============  =========================================  ===========================

``iN``, the type ints are held in, is the lowering's choice (``ints``): i64, or i128
for a function recompiled after an int64 overflow (:mod:`autotier.frontend.wideints`).
Ranges keep i64 bounds either way.

Scalars rather than LLVM structs, so every component gets its own phi and the
optimiser sees plain integer/double values.
"""

from __future__ import annotations

from llvmlite import ir as ll

from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.kinds import NP_SCALARS

I1 = ll.IntType(1)
I32 = ll.IntType(32)
I64 = ll.IntType(64)
I128 = ll.IntType(128)
F64 = ll.DoubleType()
LV = tuple[ll.Value, ...]

PTR = ll.IntType(8).as_pointer()
CPLX = ll.VectorType(F64, 2)  # a complex: element 0 the real part, 1 the imaginary
_TRIPLE = (I64, I64, I64)


_NULLABLE = frozenset({VKind.LIST, VKind.TUPLE, VKind.ARRAY, VKind.INSTANCE})


def is_nullable(kinds: Kinds) -> bool:
    """A list, tuple, array or instance local that may be unbound (first bound in a
    loop): one pointer, NULL while unbound."""
    return len(kinds) == 2 and VKind.UNDEF in kinds and bool(kinds & _NULLABLE)


def is_tagged(kinds: Kinds) -> bool:
    if is_nullable(kinds):
        return False
    return len(kinds) > 1 or kinds == {VKind.UNDEF}


def llvm_types(kinds: Kinds, ints: ll.IntType) -> tuple[ll.Type, ...]:
    """The LLVM scalars holding a value of ``kinds``, ints held as ``ints``."""
    if not kinds:
        return ()
    if is_tagged(kinds):
        return (I64, ints, F64)
    if is_nullable(kinds):
        return (PTR,)
    (kind,) = kinds
    if kind in (VKind.RANGE, VKind.ITER):
        return _TRIPLE
    if kind in (VKind.LIST_ITER, VKind.TUPLE_ITER, VKind.ARRAY_ITER, VKind.LIST_RITER,
                VKind.TUPLE_RITER):
        return (PTR, I64)
    return (scalar_type(kind, ints),)


def scalar_type(kind: VKind, ints: ll.IntType) -> ll.Type:
    """The one LLVM value a parameter of ``kind`` is passed as."""
    if kind is VKind.INT:
        return ints
    if kind in NP_SCALARS:
        from autotier.frontend.npvalues import machine_type

        return machine_type(kind)
    if kind is VKind.COMPLEX:
        return CPLX
    return {VKind.FLOAT: F64, VKind.BOOL: I1, VKind.LIST: PTR, VKind.TUPLE: PTR,
            VKind.NONE: I1, VKind.OBJECT: PTR, VKind.ARRAY: PTR, VKind.INSTANCE: PTR}[kind]


def complex_value(b: ll.IRBuilder, real: ll.Value, imag: ll.Value) -> ll.Value:
    """The complex of parts ``real`` and ``imag`` (doubles)."""
    if isinstance(real, ll.Constant) and isinstance(imag, ll.Constant):
        return ll.Constant(CPLX, [real, imag])
    undef = ll.Constant(CPLX, ll.Undefined)
    return b.insert_element(b.insert_element(undef, real, i64(0)), imag, i64(1))


def i64(value: int) -> ll.Constant:
    return ll.Constant(I64, value)


def f64(value: float) -> ll.Constant:
    return ll.Constant(F64, value)


def tag(b: ll.IRBuilder, lv: LV, kind: VKind, ints: ll.IntType) -> LV:
    """The tagged form of ``lv``, a value of the single kind ``kind``."""
    zero = ll.Constant(ints, 0)
    if kind is VKind.UNDEF:
        return (i64(0), zero, f64(0.0))
    if kind is VKind.NONE:
        return (i64(kind), zero, f64(0.0))
    (value,) = lv
    if kind is VKind.FLOAT or kind is VKind.NP_FLOAT64:
        return (i64(kind), zero, value)
    if kind is VKind.NP_FLOAT32:
        return (i64(kind), b.zext(b.bitcast(value, I32), ints), f64(0.0))
    if kind in NP_SCALARS:  # integers as their bits (unsigned: zero-extended)
        if value.type.width >= ints.width:
            return (i64(kind), value, f64(0.0))
        signed = kind.name.startswith("NP_INT")
        return (i64(kind), (b.sext if signed else b.zext)(value, ints), f64(0.0))
    if kind is VKind.OBJECT:
        return (i64(kind), b.ptrtoint(value, ints), f64(0.0))
    if kind is VKind.COMPLEX:
        imag = b.bitcast(b.extract_element(value, i64(1)), I64)
        return (i64(kind), imag if ints == I64 else b.zext(imag, ints),
                b.extract_element(value, i64(0)))
    ival = b.zext(value, ints) if kind is VKind.BOOL else value
    return (i64(kind), ival, f64(0.0))


def untag(b: ll.IRBuilder, lv: LV, kind: VKind) -> LV:
    """The unboxed value of kind ``kind`` inside tagged ``lv`` (whose tag is ``kind``)."""
    _, ival, fval = lv
    if kind is VKind.FLOAT or kind is VKind.NP_FLOAT64:
        return (fval,)
    if kind is VKind.NP_FLOAT32:
        return (b.bitcast(b.trunc(ival, I32), ll.FloatType()),)
    if kind in NP_SCALARS:
        t = scalar_type(kind, ival.type)
        return (ival if t == ival.type else b.trunc(ival, t),)
    if kind is VKind.BOOL:
        return (b.trunc(ival, I1),)
    if kind is VKind.INT:
        return (ival,)
    if kind is VKind.NONE:
        return (ll.Constant(I1, 0),)
    if kind is VKind.OBJECT:
        return (b.inttoptr(ival, PTR),)
    if kind is VKind.COMPLEX:
        imag = b.bitcast(ival if ival.type == I64 else b.trunc(ival, I64), F64)
        return (complex_value(b, fval, imag),)
    raise ValueError(f"cannot untag {kind.name}")


def coerce(b: ll.IRBuilder, lv: LV, src: Kinds, dst: Kinds, ints: ll.IntType) -> LV:
    """``lv`` (held as ``src`` kinds) held as ``dst`` kinds; ``src`` must be within ``dst``."""
    if not src <= dst:
        raise ValueError(f"cannot hold {set(src)} as {set(dst)}")
    if is_nullable(dst) and src == {VKind.UNDEF}:
        return (ll.Constant(PTR, None),)  # unbound: NULL
    if is_tagged(dst) and not is_tagged(src):
        (kind,) = src
        return tag(b, lv, kind, ints)
    return lv
