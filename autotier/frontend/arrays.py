"""Leaves of the lowering for numpy arrays: shape, element loads and stores, iteration.

An ndarray is its borrowed ``PyObject *`` (an argument: the caller holds it for the
whole call); its dtype and ndim are the signature's (:class:`autotier.abi.ArrayKind`,
``Typed.arrays``), checked by the entry.  Every access reads the data pointer, the
dimensions and the strides from the array again, so views of any order (reversed,
Fortran, sliced) are read where their elements are.  Loads and stores are unaligned
(an array may be).  An element is a numpy scalar of the dtype, held unboxed
(:mod:`.npvalues`).

An index out of range deoptimises with ``Status.INDEX`` before memory is touched
(numpy raises its own IndexError); a store into an array that is not writeable
deoptimises first (``Status.VALUE``: numpy's ValueError), and so does a value numpy would
convert in a way native code does not (a float into an integer array, a Python int
outside the dtype, a float past float32: ``Status.NUMPY``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llvmlite import ir as ll

from autotier.abi import ArrayKind, Status
from autotier.dispatch.irutil import PTR, declare
from autotier.frontend import arrayfields as fields
from autotier.frontend import ir, npvalues
from autotier.frontend import npscalars as nps
from autotier.frontend.errors import Unsupported, at_line
from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.kinds import NP_OF_DTYPE, NP_SCALARS
from autotier.frontend.values import F64, I1, I64, LV, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

Leaf = tuple[LV, Kinds] | None
_INT = frozenset({VKind.INT})
_NONE = (ll.Constant(I1, 0),), frozenset({VKind.NONE})


def element_kind(kind: ArrayKind) -> VKind:
    return NP_OF_DTYPE[kind.dtype]


def _always(fl: FunctionLowering, status: Status) -> None:
    """Leave here whatever the values (numpy or CPython raises); the code after it,
    never run, keeps the lowering's shape."""
    fl.bail_if(ll.Constant(I1, 1), status, name="never")


def length(fl: FunctionLowering, var: ir.Var, arr: ll.Value, kind: ArrayKind) -> ll.Value:
    """``len(arr)`` (i64); a 0-d array has none (CPython's TypeError: the interpreter)."""
    if kind.ndim == 0:
        _always(fl, Status.NUMPY)
        return i64(0)
    return fields.dim(fl, var, arr, 0)


def lower_len(fl: FunctionLowering, var: ir.Var, arr: ll.Value, kind: ArrayKind) -> Leaf:
    return (fl.widen(length(fl, var, arr, kind)),), _INT


def lower_attr(fl: FunctionLowering, var: ir.Var, arr: ll.Value, kind: ArrayKind, name: str
               ) -> Leaf:
    if name == "ndim":
        return (ll.Constant(fl.ints, kind.ndim),), _INT
    size: ll.Value = i64(1)  # the product of the dimensions (numpy's own never overflows)
    for axis in range(kind.ndim):
        size = fl.b.mul(size, fields.dim(fl, var, arr, axis))
    return (fl.widen(size),), _INT


def _index(fl: FunctionLowering, index: ll.Value, n: ll.Value) -> ll.Value:
    """An int index (negative from the end) within ``0 <= i < n``; deoptimises with
    INDEX (numpy's or the shape tuple's IndexError) when out of range."""
    b = fl.b
    i = fl.narrow(index)
    at = b.select(b.icmp_signed("<", i, i64(0)), b.add(i, n), i, name="at")
    fl.bail_if(b.icmp_unsigned(">=", at, n), Status.INDEX, name="in_range")
    return at


def lower_dim(fl: FunctionLowering, var: ir.Var, arr: ll.Value, kind: ArrayKind,
              index: ll.Value, *, index_kind: VKind) -> Leaf:
    """``arr.shape[index]``: the axis read from the signature's ndim."""
    if index_kind is not VKind.INT:
        _always(fl, Status.NUMPY)  # a bool index of a tuple: the interpreter (it works)
        return (ll.Constant(fl.ints, 0),), _INT
    axis = _index(fl, index, i64(kind.ndim))
    if kind.ndim == 0:
        return (ll.Constant(fl.ints, 0),), _INT  # never reached: the check always fails
    return (fl.widen(fields.dim(fl, var, arr, axis)),), _INT


def lower_shape_check(fl: FunctionLowering, kind: ArrayKind, n: int) -> Leaf:
    if kind.ndim != n:  # CPython's ValueError (too many / not enough values)
        _always(fl, Status.VALUE)
    return _NONE


def _address(fl: FunctionLowering, var: ir.Var, arr: ll.Value, kind: ArrayKind,
             indices: list[Any], *,
             index_kinds: tuple[VKind, ...], line: int) -> ll.Value:
    """The address of ``arr[indices]`` (one int per dimension)."""
    b = fl.b
    if len(indices) != kind.ndim:
        if kind.ndim == 0 or len(indices) > kind.ndim:  # numpy's IndexError (too many)
            _always(fl, Status.NUMPY)
            return fields.data(fl, var, arr)
        raise Unsupported(at_line(f"indexing a {kind.ndim}-d array with {len(indices)} "
                                  "indices (a view) is not supported", line))
    if any(k is not VKind.INT for k in index_kinds):
        _always(fl, Status.NUMPY)  # a bool index is a mask, not 0 or 1: numpy's
        return fields.data(fl, var, arr)
    offset: ll.Value = i64(0)
    for axis, index in enumerate(indices):
        at = _index(fl, index, fields.dim(fl, var, arr, axis))
        offset = b.add(offset, b.mul(at, fields.stride(fl, var, arr, axis)))
    return b.gep(fields.data(fl, var, arr), [offset])


def _load(fl: FunctionLowering, address: ll.Value, kind: ArrayKind) -> LV:
    t = npvalues.machine_type(element_kind(kind))
    b = fl.b
    if t == I1:  # numpy.bool_ is a byte, 0 or 1
        byte = b.load(address, align=1)
        return (b.icmp_unsigned("!=", byte, ll.Constant(byte.type, 0)),)
    return (b.load(b.bitcast(address, t.as_pointer()), align=1),)


def _row(fl: FunctionLowering, arr: ll.Value, at: ll.Value) -> ll.Value:
    """Row ``at`` (within range) of ``arr``: numpy's view (``PySequence_GetItem``, what
    ``arr[at]`` gives), a new reference; a MemoryError resumes after the instruction."""
    from autotier.frontend import capi

    row = fl.b.call(declare(fl.ml.module, "PySequence_GetItem", PTR, [PTR, I64]), [arr, at],
                    name="row")
    capi.raised_if_null(fl, row)
    return row


def lower_getitem(fl: FunctionLowering, var: ir.Var, arr: ll.Value, kind: ArrayKind,
                  indices: list[Any], *,
                  index_kinds: tuple[VKind, ...], line: int) -> Leaf:
    if kind.ndim >= 2 and len(indices) == 1:  # a row: a view
        at = _index(fl, indices[0], fields.dim(fl, var, arr, 0))
        return (_row(fl, arr, at),), frozenset({VKind.ARRAY})
    address = _address(fl, var, arr, kind, indices, index_kinds=index_kinds, line=line)
    return _load(fl, address, kind), frozenset({element_kind(kind)})


def _stored(fl: FunctionLowering, value: ll.Value, vkind: VKind, dst: nps.NpKind
            ) -> ll.Value:
    """``value`` as the array's machine type, converted as numpy converts it; where
    numpy would do otherwise, a bailout (module doc)."""
    b = fl.b
    t = npvalues.machine_type(npvalues.VK[dst])
    undefined = ll.Constant(t, ll.Undefined)
    if vkind is VKind.BOOL or vkind is VKind.NP_BOOL:
        if dst.is_bool:
            return value
        return b.uitofp(value, t) if dst.is_float else b.zext(value, t)
    if vkind in NP_SCALARS:
        src = npvalues.NP[vkind]
        if src == dst:
            return value
        if (src.is_float and not dst.is_float) or dst.is_bool or not nps.holds(dst, src):
            # a cast numpy makes its own way (truncating, warning for a nan)
            _always(fl, Status.NUMPY)
            return undefined
        converted, _ = npvalues.to_compute(fl, value, vkind, nps.Conv.EXACT, dst)
        return converted
    if vkind is VKind.INT:
        if dst.is_bool:
            _always(fl, Status.NUMPY)
            return undefined
        if dst.is_float:  # exactly representable only: numpy's own rounding otherwise
            limit = ll.Constant(value.type, 2 ** (24 if dst.bits == 32 else 53))
            big = b.or_(b.icmp_signed(">", value, limit),
                        b.icmp_signed("<", value, b.neg(limit)))
            fl.bail_if(big, Status.NUMPY, name="exact_int")
            d = b.sitofp(value, F64)
            return d if t == F64 else b.fptrunc(d, t)
        converted, out = npvalues.to_compute(fl, value, vkind, nps.Conv.PY_INT, dst)
        fl.bail_if(out, Status.NUMPY, name="int_fits")  # numpy's OverflowError
        return converted
    assert vkind is VKind.FLOAT
    if not dst.is_float:
        _always(fl, Status.NUMPY)  # numpy truncates (and warns for a nan or infinity)
        return undefined
    converted, out = npvalues.to_compute(fl, value, vkind, nps.Conv.PY_FLOAT, dst)
    fl.bail_if(out, Status.NUMPY, name="float_fits")
    return converted


def lower_setitem(fl: FunctionLowering, var: ir.Var, arr: ll.Value, kind: ArrayKind,
                  indices: list[Any], *,
                  index_kinds: tuple[VKind, ...], value: ll.Value, vkind: VKind,
                  line: int) -> Leaf:
    """``arr[indices] = value``: the array writeable, then the index checked (numpy's
    order: the read-only ValueError before an IndexError), then the value converted."""
    fl.bail_if(fl.b.not_(fields.writeable(fl, var, arr)), Status.VALUE, name="writeable")
    address = _address(fl, var, arr, kind, indices, index_kinds=index_kinds, line=line)
    stored = _stored(fl, value, vkind, npvalues.NP[element_kind(kind)])
    b = fl.b
    if stored.type == I1:
        b.store(b.zext(stored, ll.IntType(8)), address, align=1)
    else:
        b.store(stored, b.bitcast(address, stored.type.as_pointer()), align=1)
    return _NONE


# ------------------------------------------------------------------ iteration


def lower_iter(fl: FunctionLowering, arr: ll.Value, kind: ArrayKind, line: int,
               start: ll.Value | None = None) -> Leaf:
    """``iter(arr)``: from index 0, or ``start`` (an OSR entry's iterator part-way)."""
    if kind.ndim == 0:
        _always(fl, Status.NUMPY)  # iteration over a 0-d array: TypeError
    return (arr, i64(0) if start is None else start), frozenset({VKind.ARRAY_ITER})


def lower_has_next(fl: FunctionLowering, var: ir.Var, it: Any) -> Leaf:
    arr, index = it
    more = fl.b.icmp_signed("<", index, fields.dim(fl, var, arr, 0))
    return (more,), frozenset({VKind.BOOL})


def lower_next_value(fl: FunctionLowering, var: ir.Var, it: Any, kind: ArrayKind) -> Leaf:
    """The element the iterator yields next; past the end nothing is loaded (the value,
    never used there, is zero)."""
    b = fl.b
    arr, index = it
    inside = b.icmp_signed("<", index, fields.dim(fl, var, arr, 0))
    load, join = fl.block("next_element"), fl.block("got_element")
    came = b.block
    b.cbranch(inside, load, join)
    b.position_at_end(load)
    if kind.ndim >= 2:  # a row (a view); past the end, NULL
        value = _row(fl, arr, index)
    else:
        address = b.gep(fields.data(fl, var, arr),
                        [b.mul(index, fields.stride(fl, var, arr, 0))])
        (value,) = _load(fl, address, kind)
    loaded = b.block
    b.branch(join)
    b.position_at_end(join)
    phi = b.phi(value.type)
    phi.add_incoming(value, loaded)
    if kind.ndim >= 2:
        phi.add_incoming(ll.Constant(value.type, None), came)
        return (phi,), frozenset({VKind.ARRAY})
    zero = 0 if isinstance(value.type, ll.IntType) else 0.0
    phi.add_incoming(ll.Constant(value.type, zero), came)
    return (phi,), frozenset({element_kind(kind)})


def lower_advance(fl: FunctionLowering, it: Any) -> Leaf:
    arr, index = it
    return (arr, fl.b.add(index, i64(1))), frozenset({VKind.ARRAY_ITER})
