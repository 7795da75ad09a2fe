"""Calls native code makes through the C API: CPython computes, native code goes on.

``sum(xs)``, ``min(xs)`` and ``max(xs)`` of a list or tuple are CPython's own
builtins, called with the sequence (borrowed) by vectorcall: their algorithm, their
rounding, their errors are CPython's because they are CPython's.  The result is
unboxed when it is of the kinds the code expects (from the speculated element kinds)
and native code goes on; otherwise the frame deoptimises *after* the call with the
outcome (the record's result frame, as for a finished native callee:
:mod:`.finishing`): an exception (``Status.RAISED``, an answer: counted in
``exceptions``), a result of another kind (``Status.ELEMENT``: the speculation failed,
the bead widens it).  Such a call may run Python code (an element's ``__lt__``), so the
bindings the code relies on are checked again after it (``Status.STALE``, also
resuming after the call: it never runs twice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import Status
from autotier.dispatch.irutil import PTR, call_vector, const_ptr, declare
from autotier.frontend import boxes, periodic
from autotier.frontend.builtins_table import builtin_object
from autotier.frontend.exits import RESULT_ONLY
from autotier.frontend.finishing import result_frame, take_exception
from autotier.frontend.ir import CallBuiltin, Kinds, VKind
from autotier.frontend.values import LV, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

Leaf = tuple[LV, Kinds] | None


def lower_call_builtin(fl: FunctionLowering, instr: CallBuiltin, args: list[ll.Value],
                       combo: tuple[VKind, ...], kinds: Kinds) -> Leaf:
    b = fl.b
    module = fl.ml.module
    record = fl.exits.record
    assert record is not None, "declined in programs whose bailouts unwind"
    stale = periodic.watch_namespaces(fl)
    boxed = [boxes.box(fl, (a,), k) for a, k in zip(args[1:], combo[1:], strict=True)]
    result = call_vector(b, module, const_ptr(id(builtin_object(instr.builtin))),
                         [args[0], *boxed])  # the sequence borrowed, numbers boxed
    for obj in boxed:
        b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])
    raised = b.icmp_unsigned("==", result, ll.Constant(PTR, None))
    with b.if_then(raised, likely=False):
        b.call(result_frame(fl.ml), [record, i64(1), take_exception(b, module)])
    fl.bail_if(raised, Status.RAISED, name="returned", callee=RESULT_ONLY)
    took, lv = boxes.unbox(fl, result, kinds)
    changed = stale()
    leave = b.or_(b.not_(took), changed)
    with b.if_then(leave, likely=False):
        b.call(result_frame(fl.ml), [record, i64(0), result])  # the record owns it
    fl.bail_if(b.not_(took), Status.ELEMENT, name="took", callee=RESULT_ONLY)
    fl.bail_if(changed, Status.STALE, name="same_globals", callee=RESULT_ONLY)
    b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [result])
    return lv, kinds


def lower_contains(fl: FunctionLowering, value: LV, kind: VKind, seq: ll.Value,
                   negate: bool) -> Leaf:
    """``value in seq`` by ``PySequence_Contains`` (the boxed number against each
    element, CPython's comparisons); an exception or changed bindings resume after the
    test, as after a call."""
    b = fl.b
    module = fl.ml.module
    record = fl.exits.record
    assert record is not None, "declined in programs whose bailouts unwind"
    stale = periodic.watch_namespaces(fl)
    obj = boxes.box(fl, value, kind)
    contains = declare(module, "PySequence_Contains", ll.IntType(32), [PTR, PTR])
    found = b.call(contains, [seq, obj], name="contains")
    b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])
    raised = b.icmp_signed("<", found, ll.Constant(ll.IntType(32), 0))
    with b.if_then(raised, likely=False):
        b.call(result_frame(fl.ml), [record, i64(1), take_exception(b, module)])
    fl.bail_if(raised, Status.RAISED, name="tested", callee=RESULT_ONLY)
    answer = b.icmp_signed("!=" if not negate else "==", found, ll.Constant(ll.IntType(32), 0))
    changed = stale()
    with b.if_then(changed, likely=False):
        outcome = b.select(answer, const_ptr(id(True)), const_ptr(id(False)))
        b.call(declare(module, "Py_IncRef", ll.VoidType(), [PTR]), [outcome])
        b.call(result_frame(fl.ml), [record, i64(0), outcome])
    fl.bail_if(changed, Status.STALE, name="same_globals", callee=RESULT_ONLY)
    return (answer,), frozenset({VKind.BOOL})
