"""Attribute reads and writes of instances, through the C API (issue 11).

``p.x`` is ``PyObject_GetAttr(p, "x")`` and ``p.x = v`` is ``PyObject_SetAttr(p, "x",
v)`` with ``v`` boxed: the class's own lookup runs (its instance dict, slots, class
attributes, properties, ``__getattr__``, ``__setattr__``), so every answer, every
exception and every effect is CPython's.  Native code goes on after either:

- an exception (an AttributeError, a property's own) resumes *after* the instruction
  with it (``Status.RAISED``: the interpreter raises it there, with the instruction's
  line; nothing runs twice);
- a read whose value is not of the kinds speculated (:mod:`.instances`) resumes after
  the read with that value (``Status.ELEMENT``: a failed speculation, the bead widens);
- either may have run Python code (a property, a ``__del__`` of the value a write
  replaced), so the bindings the code relies on are checked again after it
  (``Status.STALE``, resuming after it too), and the arrays it holds fields of
  (:mod:`.arrayfields`).

The attribute's name is the interned ``str`` the code object's names hold (kept alive
for the process here too: the compiled code embeds its address).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch import unboxing
from autotier.dispatch.irutil import PTR, const_ptr, declare, field
from autotier.frontend import attrfast, boxes, ir, owned, periodic, results
from autotier.frontend.capi import raised_if_null, resume_after
from autotier.frontend.finishing import take_exception
from autotier.frontend.ir import VKind
from autotier.frontend.values import F64, I32, I64, LV, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

#: attribute names compiled code embeds, kept for the process
_NAMES: dict[str, str] = {}


def name_object(name: str) -> ll.Value:
    """The interned ``str`` of an attribute's name (kept alive for the process)."""
    return const_ptr(id(_NAMES.setdefault(name, sys.intern(name))))


def get_attr(fl: FunctionLowering, instr: ir.GetAttr) -> LV:
    """``instr.obj.name``, unboxed to the kinds typed for it: read directly where the
    class allows (:mod:`.attrfast`) and its guards hold, else by the C API.  Each path
    takes its value itself and they join with it (the fast path tests nothing the C
    API's needs: no flags carried to a shared check)."""
    b = fl.b
    module = fl.ml.module
    kinds = fl.types[instr.dest]
    (obj,) = fl.values[instr.obj]
    fast = attrfast.plan(fl.typed.classes[instr.obj], instr.name)
    slow = fl.block(f"{instr.name}_capi")
    arrived: list[tuple[LV, ll.Block]] = []
    if fast is not None:
        value = _fast_read(fl, instr.obj, obj, fast, slow)  # borrowed, not NULL

        def new_reference() -> ll.Value:  # for the record (borrowed: one more)
            owned.incref_inline(fl, value)
            return value

        took, lv = results.take(fl, value, kinds)  # a number, or an instance of its class
        resume_after(fl, b.not_(took), Status.ELEMENT, "took", new_reference)
        if results.takes_object(kinds):  # the value owns a reference of its own
            owned.incref_inline(fl, value)
        arrived.append((lv, b.block))
    else:
        b.branch(slow)
    join = fl.block(f"{instr.name}_read")
    if fast is not None:
        b.branch(join)
    b.position_at_end(slow)
    fl.attr_proofs.forget_all()  # the C API may run anything
    stale = periodic.watch_namespaces(fl)
    getattr_ = declare(module, "PyObject_GetAttr", PTR, [PTR, PTR])
    result = b.call(getattr_, [obj, name_object(instr.name)], name=f"{instr.name}_obj")
    reshaped = fl.array_fields.changed()  # a property or __getattr__ may have run
    raised_if_null(fl, result)
    changed = b.or_(stale(), reshaped)
    took, lv = results.take(fl, result, kinds)
    resume_after(fl, b.not_(took), Status.ELEMENT, "took", lambda: result)  # (the C API's)
    resume_after(fl, changed, Status.STALE, "same_globals", lambda: result)
    if not results.takes_object(kinds):  # (an object keeps the C API's reference)
        b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [result])
    arrived.append((lv, b.block))
    b.branch(join)
    b.position_at_end(join)
    if len(arrived) == 1:
        return arrived[0][0]
    phis = tuple(b.phi(v.type) for v in arrived[0][0])
    for values, block in arrived:
        for phi, v in zip(phis, values, strict=True):
            phi.add_incoming(v, block)
    return phis


def _fast_read(fl: FunctionLowering, var: ir.Var, obj: ll.Value,
               fast: attrfast.FastRead, slow: ll.Block) -> ll.Value:
    """The attribute's object, read from its slot or the instance's values; jumps to
    ``slow`` where a guard fails or the pointer is NULL."""
    b = fl.b
    value = b.load(_fast_address(fl, var, obj, fast, slow), name="value")
    hit = fl.block("attr_hit")
    b.cbranch(b.icmp_unsigned("!=", value, ll.Constant(PTR, None)), hit, slow)
    b.position_at_end(hit)
    return value


def _fast_address(fl: FunctionLowering, var: ir.Var, obj: ll.Value,
                  fast: attrfast.FastRead, slow: ll.Block) -> ll.Value:
    """Where the attribute's object pointer is (the slot, or the entry of the instance's
    values); jumps to ``slow`` where a guard fails or the instance has no values.  An
    earlier access of the same instance in the stretch may have proven the guards
    already (:mod:`.attrguards`): then only its slot is tested."""
    b = fl.b
    key = (var, fast.slot is None, fast.version)
    proven = fl.attr_proofs.proven(key)
    null = ll.Constant(PTR, None)
    if proven is not None:
        earlier = b.load(proven, name="proven")
        known, check = fl.block("attr_proven"), fl.block("attr_check")
        b.cbranch(b.icmp_unsigned("!=", earlier, null), known, check)
        b.position_at_end(check)
    cls = const_ptr(id(fast.cls))
    same_type = b.icmp_unsigned("==", b.load(field(b, obj, compat.OB_TYPE, PTR)), cls)
    tag = b.load(field(b, cls, compat.TYPE_VERSION_TAG, I32), name="version_tag")
    same_version = b.icmp_unsigned("==", tag, ll.Constant(I32, fast.version))
    guarded = fl.block("attr_guarded")
    b.cbranch(b.and_(same_type, same_version), guarded, slow)
    b.position_at_end(guarded)
    if fast.slot is None:
        values = b.load(field(b, obj, compat.OBJECT_VALUES, PTR), name="values")
        has_values = fl.block("attr_values")
        b.cbranch(b.icmp_unsigned("!=", values, null), has_values, slow)
        b.position_at_end(has_values)
    base = obj if fast.slot is not None else values
    fl.attr_proofs.store(key, base)
    if proven is not None:
        checked = b.block
        got = fl.block("attr_base")
        b.branch(got)
        with b.goto_block(known):
            b.branch(got)
        b.position_at_end(got)
        phi = b.phi(PTR, name="base")
        phi.add_incoming(earlier, known)
        phi.add_incoming(base, checked)
        base = phi
    if fast.slot is not None:
        return field(b, base, fast.slot, PTR)
    assert fast.index is not None
    return field(b, base, 8 * fast.index, PTR)


def set_attr(fl: FunctionLowering, instr: ir.SetAttr, combo: tuple[VKind, ...],
             args: list[ll.Value]) -> tuple[LV, frozenset[VKind]]:
    """``instr.obj.name = value`` (the value of kind ``combo[1]``, boxed)."""
    b = fl.b
    module = fl.ml.module
    obj, value = args
    kind = combo[1]
    fast = attrfast.plan(fl.typed.classes[instr.obj], instr.name, write=True)
    done = fl.block(f"{instr.name}_stored")
    slow = fl.block(f"{instr.name}_capi_store")
    if fast is not None:  # a number replaced in place (the module doc of attrfast)
        address = _fast_address(fl, instr.obj, obj, fast, slow)
        old = b.load(address, name="replaced")
        present = fl.block("attr_present")
        # an empty slot (a fresh instance's): stored as the member setter stores it,
        # nothing released; an empty entry of the values changes their insertion order
        empty = fl.block("slot_empty") if fast.slot is not None else slow
        b.cbranch(b.icmp_unsigned("!=", old, ll.Constant(PTR, None)), present, empty)
        if fast.slot is not None:
            b.position_at_end(empty)
            # the instance takes the boxed value's reference
            b.store(boxes.stored(fl, (value,), kind), address)
            b.branch(done)
        b.position_at_end(present)
        if kind is VKind.FLOAT:
            _overwrite_sole_float(fl, old, value, done)
        replace = fl.block("attr_replace")
        b.cbranch(boxes.is_number(b, old), replace, slow)
        b.position_at_end(replace)
        b.store(boxes.stored(fl, (value,), kind), address)  # the instance takes it
        owned.decref_inline(fl, old)
        b.branch(done)
    else:
        b.branch(slow)
    b.position_at_end(slow)
    fl.attr_proofs.forget_all()  # the C API may run anything
    boxed = boxes.stored(fl, (value,), kind)  # (an instance: one more reference)
    stale = periodic.watch_namespaces(fl)
    setattr_ = declare(module, "PyObject_SetAttr", I32, [PTR, PTR, PTR])
    status = b.call(setattr_, [obj, name_object(instr.name), boxed], name="stored")
    b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [boxed])
    reshaped = fl.array_fields.changed()  # a __setattr__ or __del__ may have run
    failed = b.icmp_signed("<", status, ll.Constant(I32, 0))
    none = const_ptr(id(None))

    def new_none() -> ll.Value:
        b.call(declare(module, "Py_IncRef", ll.VoidType(), [PTR]), [none])
        return none

    resume_after(fl, failed, Status.RAISED, "stored_ok",
                 lambda: take_exception(b, module), raised=True)
    resume_after(fl, b.or_(stale(), reshaped), Status.STALE, "same_globals", new_none)
    b.branch(done)
    b.position_at_end(done)
    return (ll.Constant(ll.IntType(1), 0),), frozenset({VKind.NONE})


def _overwrite_sole_float(fl: FunctionLowering, old: ll.Value, value: ll.Value,
                          done: ll.Block) -> None:
    """Where the attribute's object ``old`` is an exact float only the instance holds
    (its count is 1), store the new double into it and go to ``done``: no float is
    made and none freed.  Nothing can tell: every other holder of a reference (a
    local, another attribute, a list, a code object's constants, a frame) counts in
    ``ob_refcnt``, native code holds floats unboxed (copies, not references), and a
    float runs no code and has no weak references; only the ``id()`` of the value
    CPython would have freed is the new value's here, as two objects whose lifetimes
    do not overlap may share one (docs "Exactness").  Otherwise it goes on in the
    current block."""
    b = fl.b
    sole = fl.block("attr_sole_float")
    shared = fl.block("attr_shared")
    count = b.load(field(b, old, compat.OB_REFCNT, I64), name="replaced_count")
    only = b.and_(unboxing.type_is(b, old, float), b.icmp_unsigned("==", count, i64(1)))
    b.cbranch(only, sole, shared)
    b.position_at_end(sole)
    b.store(value, field(b, old, compat.FLOAT_OB_FVAL, F64))
    b.branch(done)
    b.position_at_end(shared)


def del_attr(fl: FunctionLowering, instr: ir.DelAttr, obj: ll.Value
             ) -> tuple[LV, frozenset[VKind]]:
    """``del instr.obj.name`` (``PyObject_SetAttr`` of NULL: the class's own deletion,
    a ``__delattr__`` or a property's deleter included)."""
    b = fl.b
    module = fl.ml.module
    stale = periodic.watch_namespaces(fl)
    setattr_ = declare(module, "PyObject_SetAttr", I32, [PTR, PTR, PTR])
    status = b.call(setattr_, [obj, name_object(instr.name), ll.Constant(PTR, None)],
                    name="deleted")
    reshaped = fl.array_fields.changed()  # a __delattr__ or __del__ may have run
    none = const_ptr(id(None))

    def new_none() -> ll.Value:
        b.call(declare(module, "Py_IncRef", ll.VoidType(), [PTR]), [none])
        return none

    resume_after(fl, b.icmp_signed("<", status, ll.Constant(I32, 0)), Status.RAISED,
                 "deleted_ok", lambda: take_exception(b, module), raised=True)
    resume_after(fl, b.or_(stale(), reshaped), Status.STALE, "same_globals", new_none)
    return (ll.Constant(ll.IntType(1), 0),), frozenset({VKind.NONE})
