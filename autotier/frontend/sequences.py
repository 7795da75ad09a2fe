"""Leaves of the lowering for lists and tuples: length, element loads, iteration.

A list or tuple is its borrowed ``PyObject *`` (an argument: the caller holds it for
the whole call).  Every access reads the length, and for a list its item array, from
the object again, so a list another thread resized while native code let it run (at
the periodic check) is seen as it is now, never as it was; an element is unboxed as
soon as it is loaded, so native code never holds a borrowed element across a release.

An index out of range deoptimises with ``Status.INDEX`` before the element is
touched (the interpreter raises IndexError with CPython's message); an element of a
kind the code did not speculate deoptimises with ``Status.ELEMENT`` (the bead widens
the speculation).  An iterator is the sequence and its next index, and reads the
length at each step, as CPython's list and tuple iterators do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch import unboxing
from autotier.dispatch.irutil import declare, field
from autotier.frontend import boxes, owned
from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.kinds import ITER_OF, ITERATED, REVERSED_ITERS, RITER_OF
from autotier.frontend.values import I64, LV, PTR, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

Leaf = tuple[LV, Kinds] | None


def length(fl: FunctionLowering, seq: ll.Value, kind: VKind) -> ll.Value:
    """``len(seq)`` as i64."""
    offset = compat.LIST_SIZE if kind is VKind.LIST else compat.TUPLE_SIZE
    return fl.b.load(field(fl.b, seq, offset, I64), name="len")


def _item_address(fl: FunctionLowering, seq: ll.Value, kind: VKind, index: ll.Value
                  ) -> ll.Value:
    b = fl.b
    if kind is VKind.LIST:
        items = b.load(field(b, seq, compat.LIST_ITEMS, PTR.as_pointer()), name="ob_item")
    else:
        items = b.bitcast(b.gep(seq, [i64(compat.TUPLE_ITEMS)], inbounds=True),
                          PTR.as_pointer())
    return b.gep(items, [index], inbounds=True)


def element(fl: FunctionLowering, seq: ll.Value, kind: VKind, index: ll.Value,
            elements: Kinds) -> LV:
    """The element at ``index`` (within range), unboxed as ``elements``; deoptimises
    (ELEMENT) when it is of another kind."""
    b = fl.b
    item = b.load(_item_address(fl, seq, kind, index), name="element")
    if elements in ({VKind.TUPLE}, {VKind.LIST}, {VKind.INSTANCE}):  # held: the list may
        # drop it at the periodic check; an instance of exactly its class
        dest = fl.cur_dest
        assert dest is not None
        inner = (tuple if elements == {VKind.TUPLE} else list if elements == {VKind.LIST}
                 else fl.typed.classes[dest])
        fl.bail_if(b.not_(unboxing.type_is(b, item, inner)), Status.ELEMENT,
                   name="element_ok")
        owned.incref_inline(fl, item)
        return (item,)
    took, lv = boxes.unbox(fl, item, elements)
    fl.bail_if(b.not_(took), Status.ELEMENT, name="element_ok")
    return lv


def lower_len(fl: FunctionLowering, seq: ll.Value, kind: VKind) -> Leaf:
    return (fl.widen(length(fl, seq, kind)),), frozenset({VKind.INT})


def _position(fl: FunctionLowering, seq: ll.Value, kind: VKind, index: ll.Value
              ) -> ll.Value:
    """The item position of ``seq[index]`` (an int or bool index, negative from the
    end); deoptimises with INDEX (CPython's IndexError) when out of range."""
    b = fl.b
    n = length(fl, seq, kind)
    i = fl.narrow(index) if index.type != ll.IntType(1) else b.zext(index, I64)
    at = b.select(b.icmp_signed("<", i, i64(0)), b.add(i, n), i, name="at")
    fl.bail_if(b.icmp_unsigned(">=", at, n), Status.INDEX, name="in_range")
    return at


def lower_getitem(fl: FunctionLowering, seq: ll.Value, kind: VKind, index: ll.Value,
                  elements: Kinds) -> Leaf:
    """``seq[index]``."""
    return element(fl, seq, kind, _position(fl, seq, kind, index), elements), elements


def lower_iter(fl: FunctionLowering, seq: ll.Value, kind: VKind, reverse: bool = False,
               start: ll.Value | None = None) -> Leaf:
    """``iter(seq)`` (from index 0), or ``reversed(seq)``: from its last index then, read
    now, counting down (CPython's listreverseiterator and reversed object); from
    ``start`` instead, an OSR entry's iterator part-way."""
    if reverse:
        last = (fl.b.sub(length(fl, seq, kind), i64(1), name="last") if start is None
                else start)
        return (seq, last), frozenset({RITER_OF[kind]})
    return (seq, i64(0) if start is None else start), frozenset({ITER_OF[kind]})


def _inside(fl: FunctionLowering, it: Any, kind: VKind) -> ll.Value:
    """Whether the iterator has an item: its index below the length read now; a
    reversed one's also not below 0 (one unsigned compare): a list shortened under a
    reversed iterator ends it, as CPython's does."""
    seq, index = it
    size = length(fl, seq, ITERATED[kind])
    if kind in REVERSED_ITERS:
        return fl.b.icmp_unsigned("<", index, size)
    return fl.b.icmp_signed("<", index, size)


def lower_has_next(fl: FunctionLowering, it: Any, kind: VKind) -> Leaf:
    return (_inside(fl, it, kind),), frozenset({VKind.BOOL})


def lower_next_value(fl: FunctionLowering, it: Any, kind: VKind, elements: Kinds) -> Leaf:
    """The item the iterator yields next.  FOR_ITER computes it before testing whether
    there is one (IterHasNext): past the end nothing is loaded, and the value (never
    used there) is zero."""
    b = fl.b
    seq, index = it
    inside = _inside(fl, it, kind)
    load, join = fl.block("next_item"), fl.block("got_item")
    came = b.block
    b.cbranch(inside, load, join)
    b.position_at_end(load)
    lv = element(fl, seq, ITERATED[kind], index, elements)
    loaded = b.block
    b.branch(join)
    b.position_at_end(join)
    out = []
    for value in lv:
        phi = b.phi(value.type)
        phi.add_incoming(value, loaded)
        zero = (0 if isinstance(value.type, ll.IntType) else
                None if isinstance(value.type, ll.PointerType) else 0.0)  # NULL: no tuple
        phi.add_incoming(ll.Constant(value.type, zero), came)
        out.append(phi)
    return tuple(out), elements


def lower_advance(fl: FunctionLowering, it: Any, kind: VKind) -> Leaf:
    seq, index = it
    step = i64(-1 if kind in REVERSED_ITERS else 1)
    return (seq, fl.b.add(index, step)), frozenset({kind})


def lower_setitem(fl: FunctionLowering, seq: ll.Value, index: ll.Value, value: LV,
                  kind: VKind) -> Leaf:
    """``seq[index] = value`` into a list: IndexError out of range; the element replaced
    must be a number (freeing anything else could run a finaliser, Python code: the
    interpreter does that store, ELEMENT), and is released after the new one is in."""
    b = fl.b
    slot = _item_address(fl, seq, VKind.LIST, _position(fl, seq, VKind.LIST, index))
    old = b.load(slot, name="replaced")
    fl.bail_if(b.not_(boxes.is_number(b, old)), Status.ELEMENT, name="replaceable")
    new = boxes.stored(fl, value, kind)  # runs no Python code: the list stays as it is
    b.store(new, slot)
    owned.decref_inline(fl, old)  # a number: its dealloc runs no Python code
    return (ll.Constant(ll.IntType(1), 0),), frozenset({VKind.NONE})


def lower_append(fl: FunctionLowering, seq: ll.Value, value: LV, kind: VKind) -> Leaf:
    """``seq.append(value)``: the list takes its own reference to the boxed number or
    to the list appended (it may move its item array: every access reads it again); a
    MemoryError leaves with ``Status.SIGNAL``."""
    b = fl.b
    module = fl.ml.module
    append = declare(module, "PyList_Append", ll.IntType(32), [PTR, PTR])
    if kind is VKind.LIST:  # a row: the list takes a reference of its own
        failed = b.call(append, [seq, value[0]])
    else:
        obj = boxes.stored(fl, value, kind)
        failed = b.call(append, [seq, obj])  # (takes a reference of its own)
        b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])
    fl.bail_if(b.icmp_signed("!=", failed, ll.Constant(ll.IntType(32), 0)), Status.SIGNAL,
               name="appended")
    return (ll.Constant(ll.IntType(1), 0),), frozenset({VKind.NONE})
