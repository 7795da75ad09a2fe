"""Reading a Python int, float or bool object's value in native code.

Shared by the entry (arguments) and the bodies (list and tuple elements, a finished
callee's result): an exact type check, then the value, inline where the object layout
allows (``compat``: an int of up to two 30-bit digits on 3.11), else the C API.
"""

from __future__ import annotations

from llvmlite import ir

from autotier import compat
from autotier.dispatch.irutil import F64, I32, I64, PTR, const_ptr, declare, field


def unbox_int(b: ir.IRBuilder, obj: ir.Value, mismatch: ir.Block,
              overflow: ir.Value) -> ir.Value:
    """An exact int's int64 value; jumps to ``mismatch`` when it does not fit.
    ``overflow``: an i32 stack slot for the C API's overflow flag."""
    fn = b.function
    done = fn.append_basic_block("int_done")
    slow = fn.append_basic_block("int_slow")
    incoming: list[tuple[ir.Value, ir.Block]] = []
    if compat.LONG_INLINE_UNBOX:
        size = b.load(field(b, obj, compat.LONG_OB_SIZE, I64), name="ob_size")
        small = b.icmp_unsigned("<=", b.add(size, ir.Constant(I64, 2)), ir.Constant(I64, 4))
        inline = fn.append_basic_block("int_inline")
        b.cbranch(small, inline, slow)
        b.position_at_end(inline)
        digits = b.bitcast(b.gep(obj, [ir.Constant(I64, compat.LONG_DIGITS)]), I32.as_pointer())
        d0 = b.zext(b.load(digits), I64)
        d1 = b.zext(b.load(b.gep(digits, [ir.Constant(I64, 1)])), I64)
        negative = b.icmp_signed("<", size, ir.Constant(I64, 0))
        ndigits = b.select(negative, b.neg(size), size)
        two = b.icmp_signed("==", ndigits, ir.Constant(I64, 2))
        high = b.select(two, b.shl(d1, ir.Constant(I64, compat.LONG_SHIFT)), ir.Constant(I64, 0))
        low = b.select(b.icmp_signed("==", ndigits, ir.Constant(I64, 0)), ir.Constant(I64, 0), d0)
        magnitude = b.or_(high, low)
        incoming.append((b.select(negative, b.neg(magnitude), magnitude), b.block))
        b.branch(done)
    else:
        b.branch(slow)
    b.position_at_end(slow)
    as_ll = declare(b.module, "PyLong_AsLongLongAndOverflow", I64, [PTR, I32.as_pointer()])
    value = b.call(as_ll, [obj, overflow])
    fits = b.icmp_signed("==", b.load(overflow), ir.Constant(I32, 0))
    b.cbranch(fits, done, mismatch)
    incoming.append((value, b.block))
    b.position_at_end(done)
    result = b.phi(I64)
    for v, blk in incoming:
        result.add_incoming(v, blk)
    return result


def type_is(b: ir.IRBuilder, obj: ir.Value, t: type) -> ir.Value:
    """i1: ``type(obj) is t``."""
    typ = b.load(field(b, obj, compat.OB_TYPE, PTR))
    return b.icmp_unsigned("==", typ, const_ptr(id(t)))


def float_value(b: ir.IRBuilder, obj: ir.Value) -> ir.Value:
    """An exact float's value."""
    return b.load(field(b, obj, compat.FLOAT_OB_FVAL, F64))


def bool_value(b: ir.IRBuilder, obj: ir.Value) -> ir.Value:
    """An exact bool's value (i1)."""
    return b.icmp_unsigned("==", obj, const_ptr(id(True)))
