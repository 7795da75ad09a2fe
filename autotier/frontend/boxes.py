"""Python objects native code reads: an object's value as one of the kinds it holds.

A list or tuple element, or a finished callee's result, is a ``PyObject *``; native
code takes it only when its exact type is one of the speculated kinds (an int within
int64, a float, a bool) and holds it unboxed.  Anything else (a subclass, a str, an
int past int64) is not taken: the caller deoptimises, and the interpreter deals with
the object itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch import unboxing
from autotier.dispatch.irutil import PTR, const_ptr, declare
from autotier.frontend import cvalues, owned
from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.kinds import NP_SCALARS
from autotier.frontend.values import F64, I1, I32, I64, LV, i64, is_tagged, tag, untag

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

_TYPES = {VKind.INT: int, VKind.FLOAT: float, VKind.BOOL: bool}


def unbox(fl: FunctionLowering, obj: ll.Value, kinds: Kinds) -> tuple[ll.Value, LV]:
    """(i1: ``obj`` holds a value of one of ``kinds``, its values held as ``kinds``).

    The values are meaningful only where the flag is true."""
    b = fl.b
    if not kinds:
        return ll.Constant(I1, 0), ()
    if kinds & NP_SCALARS:
        from autotier.frontend import npvalues

        return npvalues.unbox(fl, obj, kinds)
    ints = fl.ints
    done, fail = fl.block("unboxed"), fl.block("not_unboxed")
    arrived: list[tuple[ll.Block, ll.Value, ll.Value, ll.Value, ll.Value]] = []
    zero_i, zero_f = ll.Constant(ints, 0), ll.Constant(F64, 0.0)
    for kind in sorted(kinds):
        yes, no = fl.block(f"is_{kind.name.lower()}"), fl.block(f"not_{kind.name.lower()}")
        if kind is VKind.NONE:
            b.cbranch(b.icmp_unsigned("==", obj, const_ptr(id(None))), yes, no)
        elif kind is VKind.COMPLEX:
            b.cbranch(unboxing.type_is(b, obj, complex), yes, no)
        else:
            b.cbranch(unboxing.type_is(b, obj, _TYPES[kind]), yes, no)
        b.position_at_end(yes)
        if kind is VKind.NONE:
            ival, fval = zero_i, zero_f
        elif kind is VKind.INT:
            value = unboxing.unbox_int(b, obj, fail, fl.out_slot(I32))
            ival, fval = (value if ints == I64 else b.sext(value, ints)), zero_f
        elif kind is VKind.FLOAT:
            ival, fval = zero_i, unboxing.float_value(b, obj)
        elif kind is VKind.COMPLEX:  # as tagged: the real part in fval, the imaginary's bits
            (_, ival, fval) = tag(b, (cvalues.load(b, obj),), kind, ints)
        else:
            ival, fval = b.zext(unboxing.bool_value(b, obj), ints), zero_f
        arrived.append((b.block, ll.Constant(I1, 1), i64(kind), ival, fval))
        b.branch(done)
        b.position_at_end(no)
    b.branch(fail)
    b.position_at_end(fail)
    arrived.append((fail, ll.Constant(I1, 0), i64(0), zero_i, zero_f))
    b.branch(done)
    b.position_at_end(done)
    phis = [b.phi(t) for t in (I1, I64, ints, F64)]
    for block, *values in arrived:
        for phi, value in zip(phis, values, strict=True):
            phi.add_incoming(value, block)
    took, tag_word, ival, fval = phis
    if is_tagged(kinds):
        return took, (tag_word, ival, fval)
    (kind,) = kinds
    if kind is VKind.COMPLEX:
        return took, untag(b, (tag_word, ival, fval), kind)
    if kind is VKind.FLOAT:
        return took, (fval,)
    if kind in (VKind.BOOL, VKind.NONE):  # None is held as an i1 0
        return took, (b.trunc(ival, I1),)
    return took, (ival,)


def box_or_null(fl: FunctionLowering, lv: LV, kind: VKind) -> ll.Value:
    """A new reference to the Python object for ``lv`` (an int, float, bool, None, a
    complex or a numpy scalar), or NULL with a MemoryError set."""
    b = fl.b
    module = fl.ml.module
    (value,) = lv
    if kind in (VKind.BOOL, VKind.NONE):
        obj = (const_ptr(id(None)) if kind is VKind.NONE
               else b.select(value, const_ptr(id(True)), const_ptr(id(False))))
        owned.incref_inline(fl, obj)
        return obj
    if kind is VKind.FLOAT:
        return b.call(declare(module, "PyFloat_FromDouble", PTR, [F64]), [value])
    if kind is VKind.COMPLEX:
        return cvalues.box_or_null(fl, value)
    if kind in NP_SCALARS:
        from autotier.frontend import npvalues

        return npvalues.box_or_null(fl, lv, kind)
    return b.call(declare(module, "PyLong_FromLongLong", PTR, [I64]), [fl.narrow(value)])


def box(fl: FunctionLowering, lv: LV, kind: VKind) -> ll.Value:
    """A new reference to the Python object for ``lv`` (an int, float or bool); a
    MemoryError leaves with ``Status.SIGNAL`` (the exception set, propagated)."""
    obj = box_or_null(fl, lv, kind)
    fl.bail_if(fl.b.icmp_unsigned("==", obj, ll.Constant(PTR, None)), Status.SIGNAL,
               name="boxed")
    return obj


def stored(fl: FunctionLowering, value: LV, kind: VKind) -> ll.Value:
    """A new reference to what a store puts into a list or an attribute: the number
    boxed (a MemoryError leaves with SIGNAL), or the instance (the value keeps its own
    reference)."""
    if kind is VKind.INSTANCE:
        (obj,) = value
        owned.incref_inline(fl, obj)
        return obj
    return box(fl, value, kind)


def make_tuple(fl: FunctionLowering, items: list[tuple[LV, VKind]]) -> ll.Value:
    """A new tuple of the boxed ``items``; a MemoryError leaves with SIGNAL (the
    partly filled tuple released: its dealloc skips the NULL items)."""
    b = fl.b
    module = fl.ml.module
    null = ll.Constant(PTR, None)
    tup = b.call(declare(module, "PyTuple_New", PTR, [I64]), [i64(len(items))], name="tuple")
    fl.bail_if(b.icmp_unsigned("==", tup, null), Status.SIGNAL, name="allocated")
    failed: ll.Value = ll.Constant(I1, 0)
    for i, (lv, kind) in enumerate(items):
        obj = box_or_null(fl, lv, kind)
        slot = b.bitcast(b.gep(tup, [i64(compat.TUPLE_ITEMS + 8 * i)], inbounds=True),
                         PTR.as_pointer())
        b.store(obj, slot)  # the tuple takes the reference
        failed = b.or_(failed, b.icmp_unsigned("==", obj, null))
    with b.if_then(failed, likely=False):
        b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [tup])
    fl.bail_if(failed, Status.SIGNAL, name="filled")
    return tup


def is_number(b: ll.IRBuilder, obj: ll.Value) -> ll.Value:
    """i1: ``obj`` is an exact int, float or bool (freeing one runs no Python code)."""
    checks = [unboxing.type_is(b, obj, t) for t in (int, float, bool)]
    return b.or_(b.or_(checks[0], checks[1]), checks[2])
