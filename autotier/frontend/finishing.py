"""A native caller finishes its deoptimised callee in the interpreter and goes on.

When a native callee fails and leaves its frames in the deopt record, its caller
does not deoptimise with it.  It asks the record's *keeper* (header word
``abi.RECORD_KEEPER``: the bead's bookkeeping, which tells the deopt policy) for the
call that finishes the callee's frames (their resume functions), makes that call with
the thread's recursion budget lowered by the callee's native depth (so the resumed
frames stand exactly as deep as the interpreted ones would), and:

- the outcome is a value of a kind the caller takes: unbox it and go on natively;
- it is another value (a big int, another type) or an exception: write a *result
  frame* holding it (``abi``, "Deopt records") and fail with ``Status.RESULT``
  through the call exit, so this frame resumes after its call with that outcome, and
  its own caller sees a deoptimised callee in turn (callers deoptimise one by one);
- there is no keeper: the caller appends its frame after the callee's and the whole
  chain resumes in the interpreter (the record's owner decides);
- the bookkeeping raised (a MemoryError, a KeyboardInterrupt while it ran):
  ``Status.SIGNAL``, the exception propagates.

The bookkeeping is autotier's, not the user's: it runs with
``irutil.BOOKKEEPING_HEADROOM`` frames beyond the recursion limit, so a deopt near the
limit decides as it would anywhere else.

Two functions per module do the work, so each call site adds a call and the unboxing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import RECORD_BUDGET, RECORD_HEADER, RECORD_KEEPER, RESULT_FRAME_WORDS, Status
from autotier.dispatch import unboxing
from autotier.dispatch.entry import Bail
from autotier.dispatch.irutil import (
    BOOKKEEPING_HEADROOM,
    call_vector,
    const_ptr,
    declare,
)
from autotier.frontend import boxes
from autotier.frontend.ir import Kinds
from autotier.frontend.values import I32, I64, LV, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering, ModuleLowering
    from autotier.frontend.program import Spec

PTR = ll.IntType(8).as_pointer()
PPTR = PTR.as_pointer()
RECORD = I64.as_pointer()

#: what the finishing function answers
VALUE, CHAIN, RAISED, RESULT_FRAME = 0, 1, 2, 3



def _word(b: ll.IRBuilder, record: ll.Value, index: int) -> ll.Value:
    return b.gep(record, [i64(index)], inbounds=True)


def result_frame(ml: ModuleLowering) -> ll.Function:
    """``void result_frame(i64 *record, i64 flag, PyObject *owned)``."""
    name = f"{ml.body_name}.result_frame"
    fn = ml.module.globals.get(name)
    if isinstance(fn, ll.Function):
        return fn
    fn = ll.Function(ml.module, ll.FunctionType(ll.VoidType(), [RECORD, I64, PTR]), name)
    fn.linkage = "internal"
    record, flag, obj = fn.args
    b = ll.IRBuilder(fn.append_basic_block("entry"))
    b.store(i64(Status.RESULT), _word(b, record, 0))
    b.store(i64(1), _word(b, record, 1))
    b.store(i64(RECORD_HEADER + RESULT_FRAME_WORDS), _word(b, record, 2))
    b.store(i64(0), _word(b, record, RECORD_HEADER))  # site id 0: a result frame
    b.store(flag, _word(b, record, RECORD_HEADER + 1))
    b.store(b.ptrtoint(obj, I64), _word(b, record, RECORD_HEADER + 2))
    b.ret_void()
    return fn


def take_exception(b: ll.IRBuilder, module: ll.Module) -> ll.Value:
    """The exception in flight, normalised with its traceback, as a new reference;
    clears it.  Its slots are static (in the function's entry block)."""
    with b.goto_entry_block():
        b.position_at_start(b.function.entry_basic_block)
        slots = [b.alloca(PTR, name=n) for n in ("type", "value", "tb")]
    decref = declare(module, "Py_DecRef", ll.VoidType(), [PTR])
    b.call(declare(module, "PyErr_Fetch", ll.VoidType(), [PPTR] * 3), slots)
    b.call(declare(module, "PyErr_NormalizeException", ll.VoidType(), [PPTR] * 3), slots)
    typ, value, tb = (b.load(s) for s in slots)
    with b.if_then(b.icmp_unsigned("!=", tb, ll.Constant(PTR, None))):
        b.call(declare(module, "PyException_SetTraceback", I32, [PTR, PTR]), [value, tb])
        b.call(decref, [tb])
    b.call(decref, [typ])
    return value


def _finisher(ml: ModuleLowering) -> ll.Function:
    """``i32 finish(i64 *record, i64 depth, PyObject **out)``: one of VALUE (the
    outcome, a new reference, in ``*out``), CHAIN, RAISED, RESULT_FRAME."""
    name = f"{ml.body_name}.finish_callee"
    fn = ml.module.globals.get(name)
    if isinstance(fn, ll.Function):
        return fn
    module = ml.module
    fn = ll.Function(module, ll.FunctionType(I32, [RECORD, I64, PPTR]), name)
    fn.linkage = "internal"
    record, depth, out = fn.args
    b = ll.IRBuilder(fn.append_basic_block("entry"))

    def answer(value: int) -> None:
        b.ret(ll.Constant(I32, value))

    decref = declare(module, "Py_DecRef", ll.VoidType(), [PTR])
    null = ll.Constant(PTR, None)
    keeper = b.inttoptr(b.load(_word(b, record, RECORD_KEEPER)), PTR, name="keeper")
    with b.if_then(b.icmp_unsigned("==", keeper, null), likely=False):
        answer(CHAIN)
    address = b.call(declare(module, "PyLong_FromVoidPtr", PTR, [PTR]),
                     [b.bitcast(record, PTR)])
    with b.if_then(b.icmp_unsigned("==", address, null), likely=False):
        answer(RAISED)
    finish = call_vector(b, module, keeper, [const_ptr(id(int(Bail.CALLEE))), address],
                         depth=-BOOKKEEPING_HEADROOM)
    b.call(decref, [address])
    with b.if_then(b.icmp_unsigned("==", finish, null), likely=False):
        answer(RAISED)  # the bookkeeping failed (MemoryError, a KeyboardInterrupt)
    # the resumed frames stand as deep as the interpreted ones: the native frames
    # above them (the callee's depth below the root, the root's own) are not counted
    result = call_vector(b, module, finish, [], depth=b.trunc(depth, I32))
    b.call(decref, [finish])
    with b.if_then(b.icmp_unsigned("==", result, null), likely=False):
        # the callee raised: the exception is its outcome, for the caller's frame
        b.call(result_frame(ml), [record, i64(1), take_exception(b, module)])
        answer(RESULT_FRAME)
    b.store(result, out)
    answer(VALUE)
    return fn


def native_depth(fl: FunctionLowering) -> ll.Value:
    """The native frames from the root body to this one, this one included (i64): how
    many Python frames an interpreted run would have above a call made here."""
    b = fl.b
    record = fl.exits.record
    assert record is not None, "declined in programs whose bailouts unwind"
    root_budget = b.load(_word(b, record, RECORD_BUDGET), name="root_budget")
    return b.add(b.sub(root_budget, fl.budget), i64(1), name="depth")


def finish_outcome(fl: FunctionLowering, status: ll.Value, spec: Spec,
                   release: Callable[[], None] | None = None) -> ll.Value:
    """In the block where native callee ``spec`` returned the non-OK ``status``: its
    frames finished in the interpreter, their outcome (a new reference) where they
    returned; every other way out leaves through the current frame state's exits, after
    ``release()`` (what the caller holds beside its frame state: a constructor's
    instance, :mod:`.construct`)."""
    b = fl.b
    record = fl.exits.record
    assert record is not None

    def bail_if(cond: ll.Value, why: Status | ll.Value, name: str,
                callee: Spec | None = None) -> None:
        if release is not None:
            with b.if_then(cond, likely=False):
                release()
        fl.bail_if(cond, why, name=name, callee=callee)

    frames = b.load(_word(b, record, 1), name="frames")
    chain = b.or_(b.icmp_signed("==", frames, i64(0)),
                  b.icmp_signed("==", status, ll.Constant(I32, Status.SIGNAL)))
    bail_if(chain, status, "finishable", spec)
    depth = native_depth(fl)
    out = fl.out_slot(PTR)
    how = b.call(_finisher(fl.ml), [record, depth, out], name="finished")

    def is_(value: int) -> ll.Value:
        return b.icmp_signed("==", how, ll.Constant(I32, value))

    bail_if(is_(CHAIN), status, "kept", spec)
    bail_if(is_(RAISED), Status.SIGNAL, "no_error")
    bail_if(is_(RESULT_FRAME), Status.RESULT, "no_exception", spec)
    return b.load(out, name="outcome")


def c_string(module: ll.Module, name: str, text: str) -> ll.Value:
    """A pointer to the NUL-terminated ``text``, a constant of ``module``."""
    data = text.encode() + b"\0"
    var = module.globals.get(name)
    if var is None:
        var = ll.GlobalVariable(module, ll.ArrayType(ll.IntType(8), len(data)), name=name)
        var.global_constant = True
        var.linkage = "internal"
        var.initializer = ll.Constant(var.value_type, bytearray(data))
    assert isinstance(var, ll.GlobalVariable)
    return var.bitcast(PTR)


def finish_callee(fl: FunctionLowering, status: ll.Value, spec: Spec, returns: Kinds) -> LV:
    """In the block where native callee ``spec`` returned the non-OK ``status``: the
    callee's outcome as ``returns`` values, the frame going on natively; every other
    way out leaves through the current frame state's exits."""
    b = fl.b
    record = fl.exits.record
    assert record is not None
    obj = finish_outcome(fl, status, spec)
    returned = fl.ml.program.typed[spec].returned_class
    if returned is not None:  # an instance of the callee's class: its reference taken
        took, lv = unboxing.type_is(b, obj, returned), (obj,)
    else:
        took, lv = boxes.unbox(fl, obj, returns)
    with b.if_then(b.not_(took), likely=False):
        b.call(result_frame(fl.ml), [record, i64(0), obj])  # the record owns it now
    fl.bail_if(b.not_(took), Status.RESULT, name="unboxed", callee=spec)
    if returned is None:
        b.call(declare(fl.ml.module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])
    return lv
