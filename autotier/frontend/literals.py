"""Lists native code makes: ``[a, b, c]`` of numbers, ``xs * n`` / ``n * xs``, and
slices ``xs[a:b:c]`` of lists and tuples (tuples too).

Each returns a new reference, which the result value owns (:mod:`.owned` releases it
after its last use, hands it to the caller on a return, to the deopt record on a
deopt).  ``xs * n`` is CPython's own ``PySequence_Repeat`` (list_repeat: a negative
count gives ``[]``, the items are the same objects, increfed), which runs no Python
code; when it fails (a MemoryError for a huge count) the error is cleared and the
frame deoptimises *before* the operation, so the interpreter makes it and raises its
own exception: nothing ran, so nothing runs twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch.irutil import const_ptr, declare, field
from autotier.frontend import boxes, owned
from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.values import I1, I64, LV, PTR, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

Leaf = tuple[LV, Kinds] | None

_NULL = ll.Constant(PTR, None)


def make_list(fl: FunctionLowering, items: list[tuple[LV, VKind]]) -> ll.Value:
    """A new list of the boxed ``items``; a MemoryError leaves with SIGNAL (the
    partly filled list released: its dealloc skips the NULL items)."""
    b = fl.b
    module = fl.ml.module
    made = b.call(declare(module, "PyList_New", PTR, [I64]), [i64(len(items))], name="list")
    fl.bail_if(b.icmp_unsigned("==", made, _NULL), Status.SIGNAL, name="allocated")
    if not items:
        return made
    slots = b.load(field(b, made, compat.LIST_ITEMS, PTR.as_pointer()), name="ob_item")
    failed: ll.Value = ll.Constant(I1, 0)
    for i, (lv, kind) in enumerate(items):
        if kind is VKind.INSTANCE:  # the list takes a reference of its own
            (obj,) = lv
            owned.incref_inline(fl, obj)
        else:
            obj = boxes.box_or_null(fl, lv, kind)
        b.store(obj, b.gep(slots, [i64(i)], inbounds=True))  # the list takes it
        failed = b.or_(failed, b.icmp_unsigned("==", obj, _NULL))
    with b.if_then(failed, likely=False):
        b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [made])
    fl.bail_if(failed, Status.SIGNAL, name="filled")
    return made


def repeat(fl: FunctionLowering, seq: ll.Value, count: ll.Value, kind: VKind) -> ll.Value:
    """``seq * count`` of a list and an int or bool: a new list (CPython's repeat)."""
    b = fl.b
    module = fl.ml.module
    n = b.zext(count, I64) if kind is VKind.BOOL else fl.narrow(count)
    made = b.call(declare(module, "PySequence_Repeat", PTR, [PTR, I64]), [seq, n],
                  name="repeated")
    failed = b.icmp_unsigned("==", made, _NULL)
    with b.if_then(failed, likely=False):
        b.call(declare(module, "PyErr_Clear", ll.VoidType(), []), [])
    # nothing was made: the interpreter makes it again and raises (MemoryError)
    fl.bail_if(failed, Status.VALUE, name="repeated_ok")
    return made


def sliced(fl: FunctionLowering, seq: ll.Value, bounds: list[tuple[ll.Value, VKind]]
           ) -> ll.Value:
    """``seq[start:stop:step]`` of a list or tuple (each bound an int, a bool or None):
    CPython's own slicing (``PyObject_GetItem`` with a slice object), which runs no
    Python code for them; a new reference.  When it fails (a MemoryError, or a step of
    0: CPython's ValueError) the error is cleared and the frame deoptimises *before* the
    subscript, so the interpreter slices again and raises its own exception."""
    b = fl.b
    module = fl.ml.module
    none = const_ptr(id(None))
    decref = declare(module, "Py_DecRef", ll.VoidType(), [PTR])
    boxed = [none if k is VKind.NONE else boxes.box(fl, (v,), k) for v, k in bounds]
    made = b.call(declare(module, "PySlice_New", PTR, [PTR, PTR, PTR]),
                  [*boxed, *[none] * (3 - len(boxed))], name="slice")
    for obj, (_, k) in zip(boxed, bounds, strict=True):
        if k is not VKind.NONE:
            b.call(decref, [obj])
    fl.bail_if(b.icmp_unsigned("==", made, _NULL), Status.SIGNAL, name="slice_made")
    got = b.call(declare(module, "PyObject_GetItem", PTR, [PTR, PTR]), [seq, made],
                 name="sliced")
    b.call(decref, [made])
    failed = b.icmp_unsigned("==", got, _NULL)
    with b.if_then(failed, likely=False):
        b.call(declare(module, "PyErr_Clear", ll.VoidType(), []), [])
    fl.bail_if(failed, Status.VALUE, name="sliced_ok")
    return got
