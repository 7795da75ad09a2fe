"""numpy's object layouts native code reads, probed from real objects, and the O(1)
checks and field loads built on them.

Nothing here is assumed: :func:`layout` finds each field of ``PyArrayObject`` (data,
nd, dimensions, strides, descr, flags), of ``PyArray_Descr`` (type_num, byteorder) and
each scalar type's value offset by looking for known values in real objects, then
validates every finding on other objects (views, other dtypes, a byte-swapped array).
A mismatch raises ImportError (numpy's layout is not the one native code can read).
It runs once, when the first ndarray is classified (so numpy is imported by then).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import cache
from typing import Any

from llvmlite import ir

from autotier import compat
from autotier.abi import ARRAY_DTYPES, ArrayKind
from autotier.dispatch.irutil import I8, I32, I64, PTR, const_ptr, field

NPY_ARRAY_WRITEABLE = 0x0400  # numpy's flag bit (ndarraytypes.h), checked by the probe


@dataclass(frozen=True)
class Layout:
    data: int  # char *data
    nd: int  # int nd
    dims: int  # npy_intp *dimensions
    strides: int  # npy_intp *strides
    descr: int  # PyArray_Descr *descr
    flags: int  # int flags
    type_num: int  # PyArray_Descr: int type_num
    byteorder: int  # PyArray_Descr: char byteorder
    value: int  # a numpy scalar object's value (obval), for every scalar type
    type_nums: tuple[tuple[str, int], ...]  # dtype name -> type_num
    native_orders: tuple[int, ...]  # the byteorder chars of a native descr ('=', '|')

    def type_num_of(self, dtype: str) -> int:
        return dict(self.type_nums)[dtype]


def _word(obj: object, offset: int, ctype: Any = ctypes.c_int64) -> int:
    value: int = ctype.from_address(id(obj) + offset).value
    return value


def _find(obj: object, expected: int, ctype: Any = ctypes.c_int64, limit: int = 128,
          step: int = 8) -> int:
    for offset in range(compat.OB_TYPE + 8, limit, step):
        if _word(obj, offset, ctype) == expected:
            return offset
    raise ImportError("autotier: cannot find a numpy object field (an unknown layout)")


@cache
def layout() -> Layout:
    import numpy as np

    probe = np.arange(24.0).reshape(2, 3, 4)[:, ::-1, ::2]
    data = _find(probe, probe.ctypes.data)
    nd = _find(probe, 3, ctypes.c_int32, step=4)
    descr = _find(probe, id(probe.dtype))
    # numpy allocates the strides right after the dimensions (one block of 2 * nd):
    # only a pair of words that far apart is read as pointers, and only inside the
    # object (the words past it are another allocation's: two of them that far apart,
    # a C++ vector's begin and end, say, pointing at freed memory crashed the probe)
    size = type(probe).__basicsize__
    pairs = [off for off in range(compat.OB_TYPE + 8, size - 8, 8)
             if _word(probe, off) > 4096 and _word(probe, off) % 8 == 0
             and _word(probe, off + 8) == _word(probe, off) + 8 * probe.ndim]
    dims_at = [off for off in pairs if _pointed(probe, off, probe.shape)]
    strides_at = [off + 8 for off in pairs if _pointed(probe, off + 8, probe.strides)]
    flags = _find(probe, probe.flags.num, ctypes.c_int32, step=4)
    if len(dims_at) != 1 or len(strides_at) != 1:
        raise ImportError("autotier: cannot find ndarray's dimensions and strides")
    d = np.dtype(np.float64)
    type_num = _find(d, d.num, ctypes.c_int32, limit=64, step=4)
    byteorder = _byteorder_offset(d, np.dtype(">f8"), np.dtype("<f8"))
    value = _find(np.float64(1.5), _bits(1.5))
    found = Layout(data, nd, dims_at[0], strides_at[0], descr, flags, type_num, byteorder,
                   value, tuple((n, np.dtype(n).num) for n in ARRAY_DTYPES),
                   (ord("="), ord("|")))
    _validate(found)
    return found


def _byteorder_offset(native: object, big: object, little: object) -> int:
    """The offset of the descr's byteorder char: the one byte that is ``=`` in a native
    descr, ``>`` in a big-endian one and ``<`` in a little-endian one (a byte compared
    alone matches a byte of a pointer before it one time in 256: the type object's
    address, placed by ASLR, failed the validation now and then)."""
    for offset in range(compat.OB_TYPE + 8, 64):
        if (_word(native, offset, ctypes.c_int8) == ord("=")
                and _word(big, offset, ctypes.c_int8) == ord(">")
                and _word(little, offset, ctypes.c_int8) in (ord("<"), ord("="))):
            return offset
    raise ImportError("autotier: cannot find a numpy object field (an unknown layout)")


def _bits(x: float) -> int:
    return int.from_bytes(ctypes.c_double(x), "little", signed=True)


def _pointed(obj: object, offset: int, values: tuple[int, ...]) -> bool:
    """Whether the word at ``offset`` points at ``values`` (read only where it is known
    to be a pointer numpy allocated)."""
    address = _word(obj, offset)
    got = [ctypes.c_int64.from_address(address + 8 * i).value for i in range(len(values))]
    return tuple(got) == values


def _validate(lay: Layout) -> None:
    import numpy as np

    arrays = [np.zeros((0, 3), np.int8), np.asfortranarray(np.ones((2, 5), np.float32)),
              np.arange(10, dtype=np.uint16)[::-3], np.array(7, np.int64),
              np.arange(6.0).reshape(2, 3).T]
    ro = np.arange(3)
    ro.flags.writeable = False
    arrays.append(ro)
    for a in arrays:
        assert isinstance(a, np.ndarray)
        ok = (_word(a, lay.data) == a.ctypes.data and _word(a, lay.nd, ctypes.c_int32) == a.ndim
              and _word(a, lay.descr) == id(a.dtype)
              and (a.ndim == 0 or (_pointed(a, lay.dims, a.shape)
                                   and _pointed(a, lay.strides, a.strides)))
              and _word(a, lay.flags, ctypes.c_int32) == a.flags.num
              and bool(a.flags.num & NPY_ARRAY_WRITEABLE) == a.flags.writeable)
        if not ok:
            raise ImportError("autotier: numpy's ndarray layout is not the one probed")
    for name in ARRAY_DTYPES:
        dt = np.dtype(name)
        if (_word(dt, lay.type_num, ctypes.c_int32) != dt.num
                or _word(dt, lay.byteorder, ctypes.c_int8) not in lay.native_orders):
            raise ImportError(f"autotier: numpy's descr layout differs for {name}")
        scalar = dt.type(1)
        raw = ctypes.string_at(id(scalar) + lay.value, dt.itemsize)
        if raw != scalar.tobytes():
            raise ImportError(f"autotier: numpy's {name} scalar layout is not the one probed")
    swapped = np.dtype(">f8")
    if _word(swapped, lay.byteorder, ctypes.c_int8) in lay.native_orders:
        raise ImportError("autotier: numpy's byteorder field is not the one probed")


# ------------------------------------------------------------------ native code


def is_ndarray(b: ir.IRBuilder, obj: ir.Value) -> ir.Value:
    import numpy as np

    typ = b.load(field(b, obj, compat.OB_TYPE, PTR))
    return b.icmp_unsigned("==", typ, const_ptr(id(np.ndarray)))


def _descr_ok(b: ir.IRBuilder, obj: ir.Value, type_nums: list[int]) -> ir.Value:
    lay = layout()
    descr = b.load(field(b, obj, lay.descr, PTR), name="descr")
    num = b.load(field(b, descr, lay.type_num, I32), name="type_num")
    order = b.load(field(b, descr, lay.byteorder, I8), name="byteorder")
    native = b.or_(*(b.icmp_unsigned("==", order, ir.Constant(I8, c))
                     for c in lay.native_orders))
    known: ir.Value = ir.Constant(ir.IntType(1), 0)
    for n in type_nums:
        known = b.or_(known, b.icmp_signed("==", num, ir.Constant(I32, n)))
    return b.and_(native, known)


def matches(b: ir.IRBuilder, obj: ir.Value, kind: ArrayKind) -> ir.Value:
    """i1: ``obj`` (known to be an exact ndarray) has ``kind``'s dtype and ndim.

    Only an ndarray is read: the caller branches on :func:`is_ndarray` first."""
    lay = layout()
    nd = b.load(field(b, obj, lay.nd, I32), name="nd")
    dims = b.icmp_signed("==", nd, ir.Constant(I32, kind.ndim))
    return b.and_(dims, _descr_ok(b, obj, [lay.type_num_of(kind.dtype)]))


def native_dtype(b: ir.IRBuilder, obj: ir.Value) -> ir.Value:
    """i1: an exact ndarray's dtype is one native code takes (the entry asks for a
    specialisation; any other dtype is foreign)."""
    return _descr_ok(b, obj, [n for _, n in layout().type_nums])


def data(b: ir.IRBuilder, obj: ir.Value) -> ir.Value:
    return b.load(field(b, obj, layout().data, PTR), name="data")


def dim(b: ir.IRBuilder, obj: ir.Value, axis: int | ir.Value) -> ir.Value:
    """``obj.shape[axis]`` (i64), ``axis`` within ndim."""
    dims = b.load(field(b, obj, layout().dims, I64.as_pointer()), name="dims")
    at = ir.Constant(I64, axis) if isinstance(axis, int) else axis
    return b.load(b.gep(dims, [at], inbounds=True), name="dim")


def stride(b: ir.IRBuilder, obj: ir.Value, axis: int) -> ir.Value:
    strides = b.load(field(b, obj, layout().strides, I64.as_pointer()), name="strides")
    return b.load(b.gep(strides, [ir.Constant(I64, axis)], inbounds=True), name="stride")


def writeable(b: ir.IRBuilder, obj: ir.Value) -> ir.Value:
    flags = b.load(field(b, obj, layout().flags, I32), name="flags")
    bit = b.and_(flags, ir.Constant(I32, NPY_ARRAY_WRITEABLE))
    return b.icmp_unsigned("!=", bit, ir.Constant(I32, 0))


# ------------------------------------------------------------------ numpy scalars


def machine_type(dtype: str) -> ir.Type:
    """How a numpy scalar of ``dtype`` is passed to a body: double, float, iN or i1."""
    if dtype == "float64":
        return ir.DoubleType()
    if dtype == "float32":
        return ir.FloatType()
    if dtype == "bool":
        return ir.IntType(1)
    return ir.IntType(int(dtype.removeprefix("u").removeprefix("int")))


def scalar_value(b: ir.IRBuilder, obj: ir.Value, dtype: str) -> ir.Value:
    """An exact numpy scalar's value (the caller checked its type)."""
    t = machine_type(dtype)
    slot = b.gep(obj, [ir.Constant(I64, layout().value)], inbounds=True)
    if t == ir.IntType(1):
        return b.icmp_unsigned("!=", b.load(slot), ir.Constant(I8, 0))
    return b.load(b.bitcast(slot, t.as_pointer()))


def is_numpy_scalar(b: ir.IRBuilder, obj: ir.Value) -> ir.Value:
    """i1: ``obj`` is an exact numpy scalar of a dtype native code takes."""
    import numpy as np

    typ = b.load(field(b, obj, compat.OB_TYPE, PTR))
    out: ir.Value = ir.Constant(ir.IntType(1), 0)
    for name in ARRAY_DTYPES:
        out = b.or_(out, b.icmp_unsigned("==", typ, const_ptr(id(np.dtype(name).type))))
    return out
