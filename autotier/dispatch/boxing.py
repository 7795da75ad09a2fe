"""Unboxing a guarded entry's arguments for a specialisation (exact type checks
first) and boxing a body's tagged result; see :mod:`autotier.dispatch.entry`."""

from __future__ import annotations

from llvmlite import ir

from autotier import compat
from autotier.abi import (
    ArgKind,
    ArrayKind,
    Kind,
    NumpyKind,
)
from autotier.dispatch import arrays, unboxing
from autotier.dispatch.builder import _Builder
from autotier.dispatch.irutil import (
    F64,
    I32,
    I64,
    PTR,
    const_ptr,
    field,
)


def _unbox(t: _Builder, arg: ir.Value, kind: ArgKind, mismatch: ir.Block) -> ir.Value:
    """Check ``arg``'s exact type for ``kind`` and unbox it; jump to ``mismatch`` if not."""
    b = t.b
    good = t.fn.append_basic_block(f"is_{kind.name.lower()}")
    b.cbranch(unboxing.type_is(b, arg, kind.pytype), good, mismatch)
    b.position_at_end(good)
    if isinstance(kind, ArrayKind):  # its dtype and ndim too: the body takes the object
        same = t.fn.append_basic_block(f"is_{kind.name.lower()}_array")
        b.cbranch(arrays.matches(b, arg, kind), same, mismatch)
        b.position_at_end(same)
        return arg
    if isinstance(kind, NumpyKind):  # the machine value
        return arrays.scalar_value(b, arg, kind.dtype)
    if not kind.scalar:  # a list or tuple: the body takes the object (borrowed)
        return arg
    if kind is Kind.FLOAT:
        return unboxing.float_value(b, arg)
    if kind is Kind.BOOL:
        return unboxing.bool_value(b, arg)
    unboxed = b.call(_int_unboxer(t), [arg, t.slot("overflow", I32)])
    fits = t.fn.append_basic_block("int_fits")
    b.cbranch(b.extract_value(unboxed, 1), fits, mismatch)
    b.position_at_end(fits)
    return b.extract_value(unboxed, 0)


_UNBOXED = ir.LiteralStructType([I64, ir.IntType(1)])


def _int_unboxer(t: _Builder) -> ir.Function:
    """``{i64, i1} unbox(obj, overflow*)``: an exact int's int64 value and whether it
    fits (:func:`.unboxing.unbox_int`), one internal ``alwaysinline`` function per
    entry module instead of a copy per int argument (an OSR entry's parameters are a
    frame's locals and iterators, mostly ints: the copies were a quarter of its IR;
    LLVM inlines it back before any other pass)."""
    name = f"{t.fn.name}__unbox_int"
    found = t.module.globals.get(name)
    if isinstance(found, ir.Function):
        return found
    fn = ir.Function(t.module, ir.FunctionType(_UNBOXED, [PTR, I32.as_pointer()]), name)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    obj, overflow = fn.args
    obj.name, overflow.name = "obj", "overflow"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    mismatch = fn.append_basic_block("no_int64")
    value = unboxing.unbox_int(b, obj, mismatch, overflow)
    b.ret(b.insert_value(b.insert_value(ir.Constant(_UNBOXED, ir.Undefined), value, 0),
                         ir.Constant(ir.IntType(1), 1), 1))
    b.position_at_end(mismatch)
    b.ret(ir.Constant(_UNBOXED, [ir.Constant(I64, 0), ir.Constant(ir.IntType(1), 0)]))
    return fn


def _heap_instance(b: ir.IRBuilder, typ: ir.Value) -> ir.Value:
    """i1: ``typ`` (an argument's type) is a heap type (a class statement's, or another
    such: the bead's ``Kind.of`` decides which it takes) whose metaclass is ``type`` and
    whose base is ``object`` or a heap type too (an int or list subclass is foreign)."""
    def heap(t: ir.Value) -> ir.Value:
        flags = b.load(field(b, t, compat.TYPE_TP_FLAGS, I64), name="tp_flags")
        return b.icmp_unsigned("!=", b.and_(flags, ir.Constant(I64, compat.TPFLAGS_HEAPTYPE)),
                               ir.Constant(I64, 0))

    meta = b.load(field(b, typ, compat.OB_TYPE, PTR), name="metatype")
    base = b.load(field(b, typ, compat.TYPE_TP_BASE, PTR), name="tp_base")
    # (object's own base is NULL: read object's flags instead, loading nothing at NULL)
    base = b.select(b.icmp_unsigned("==", base, ir.Constant(PTR, None)),
                    const_ptr(id(object)), base)
    plain_base = b.or_(b.icmp_unsigned("==", base, const_ptr(id(object))), heap(base))
    return b.and_(b.and_(heap(typ), b.icmp_unsigned("==", meta, const_ptr(id(type)))),
                  plain_base)


def _box(t: _Builder, result: ir.Value) -> None:
    """Return the Python object for the body's tagged result."""
    b = t.b
    kind = b.extract_value(b.load(result), 0)
    ival = b.extract_value(b.load(result), 1)
    fval = b.extract_value(b.load(result), 2)
    as_float = t.fn.append_basic_block("box_float")
    as_bool = t.fn.append_basic_block("box_bool")
    as_int = t.fn.append_basic_block("box_int")
    as_wide = t.fn.append_basic_block("box_wide_int")
    as_none = t.fn.append_basic_block("box_none")
    as_object = t.fn.append_basic_block("box_object")
    switch = b.switch(kind, as_int)
    switch.add_case(ir.Constant(I64, Kind.NONE), as_none)
    switch.add_case(ir.Constant(I64, Kind.OBJECT), as_object)
    switch.add_case(ir.Constant(I64, Kind.FLOAT), as_float)
    switch.add_case(ir.Constant(I64, Kind.BOOL), as_bool)
    switch.add_case(ir.Constant(I64, Kind.WIDE_INT), as_wide)
    b.position_at_end(as_object)  # the body's new reference (a tuple it built)
    b.ret(b.inttoptr(ival, PTR))
    b.position_at_end(as_none)
    _incref(b, const_ptr(id(None)))
    b.ret(const_ptr(id(None)))
    b.position_at_end(as_wide)
    # 16 little-endian two's-complement bytes: the low half (ival), then the high one.
    halves = t.slot("wide_int", ir.ArrayType(I64, 2))
    b.store(ival, b.gep(halves, [ir.Constant(I32, 0), ir.Constant(I32, 0)]))
    b.store(b.extract_value(b.load(result), 3),
            b.gep(halves, [ir.Constant(I32, 0), ir.Constant(I32, 1)]))
    from_bytes = t.declare(compat.LONG_FROM_BYTES, PTR, [PTR, I64, I32, I32])
    b.ret(b.call(from_bytes, [b.bitcast(halves, PTR), ir.Constant(I64, 16),
                              ir.Constant(I32, 1), ir.Constant(I32, 1)]))
    b.position_at_end(as_int)
    if compat.SMALL_INTS_CONTIGUOUS:
        offset = b.sub(ival, ir.Constant(I64, compat.SMALL_INT_MIN))
        cached = b.icmp_unsigned("<=", offset,
                                 ir.Constant(I64, compat.SMALL_INT_MAX - compat.SMALL_INT_MIN))
        with b.if_then(cached, likely=True):
            base = ir.Constant(I64, id(compat.SMALL_INT_MIN))
            obj = b.inttoptr(b.add(base, b.mul(offset, ir.Constant(I64, compat.SMALL_INT_STRIDE))),
                             PTR)
            _incref(b, obj)
            b.ret(obj)
    from_ll = t.declare("PyLong_FromLongLong", PTR, [I64])
    b.ret(b.call(from_ll, [ival]))
    b.position_at_end(as_float)
    from_double = t.declare("PyFloat_FromDouble", PTR, [F64])
    b.ret(b.call(from_double, [fval]))
    b.position_at_end(as_bool)
    obj = b.select(b.icmp_signed("!=", ival, ir.Constant(I64, 0)),
                   const_ptr(id(True)), const_ptr(id(False)))
    _incref(b, obj)
    b.ret(obj)


def _incref(b: ir.IRBuilder, obj: ir.Value) -> None:
    refcnt = field(b, obj, compat.OB_REFCNT, I64)
    b.store(b.add(b.load(refcnt), ir.Constant(I64, 1)), refcnt)
