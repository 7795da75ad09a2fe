"""LLVM IR for the native code CPython calls through a ``HotFunction``'s vectorcall slot.

Two shapes, both ``PyObject *f(HotFunction *self, PyObject *const *args,
size_t nargsf, PyObject *kwnames)``:

- the *trampoline* (one per process, shared by every interpreted function): count
  the call; below the trigger, forward the call to the original Python function;
  at the trigger, go to the slow path (unless a tool traces the thread).
- a *guarded entry* (one per compile): while a trace or profile function watches the
  thread, or (3.12) a sys.monitoring tool listens everywhere or on code the call would
  run natively, run the function in the interpreter (``Bail.TRACED``: the tool sees
  every call and line); count the call; check the trigger; bind the
  arguments to the parameters (keywords and defaults too, :mod:`.binding`); check the
  version tags of every namespace the compiled code read, then try each
  specialisation in order: exact argument types, unbox, run the native body (or
  vectorcall a backend's callable with the bound arguments, re-running the call in
  the interpreter if it raises an Exception), box the result.

Both first check that the thread's C stack has room for the call (:mod:`.cstack`):
a call of a hot function nests C frames, so a deep recursion through one raises
RecursionError there instead of crashing.

Whatever the fast path cannot answer goes to the *slow path*: the bead's bookkeeping
(the Python callable in the ``_slow`` slot, called as ``_slow(code, *args, **kwargs)``
with a :class:`Bail` code saying why), then the original function in ``_func`` with the
call's own arguments: the interpreter's own result.

Modules: the plan an entry is built from and the ``Bail`` codes are
:mod:`.entryplan`; the pieces both shapes share (``_Builder``: stack, trace and
monitoring checks, counting, the slow path), :mod:`.builder`; the trampoline,
:mod:`.trampoline`; unboxing the arguments and boxing the result, :mod:`.boxing`.
This module builds the guarded entry and re-exports those names.
"""

from __future__ import annotations

from llvmlite import ir

from autotier import compat
from autotier.abi import (
    RECORD_BUDGET,
    RECORD_KEEPER,
    ArrayKind,
    InstanceKind,
    Kind,
    NumpyKind,
    Status,
)
from autotier.backends.base import Abandoned
from autotier.dispatch import arrays, cstack
from autotier.dispatch import hotobject as ho
from autotier.dispatch.binding import bind
from autotier.dispatch.boxing import _box, _heap_instance, _unbox
from autotier.dispatch.builder import ARGS_MASK, HANDOFF, VECTORCALL, _Builder
from autotier.dispatch.entryplan import (
    Bail,
    EntryPlan,
    NamespaceCheck,
    Specialisation,
    version_global_name,
)
from autotier.dispatch.guards import emit_bindings_hold
from autotier.dispatch.irutil import (
    BOOKKEEPING_HEADROOM,
    F64,
    I1,
    I32,
    I64,
    PPTR,
    PTR,
    call_vector,
    const_ptr,
    field,
)
from autotier.dispatch.trampoline import trampoline_ir

RESULT = ir.LiteralStructType([I64, I64, F64, I64])
# Native frames one entry may start; the interpreter's own limit is usually lower.
NATIVE_FRAME_CAP = 10_000


def _budget(t: _Builder, tstate: ir.Value) -> ir.Value:
    """Native frames this call may use: the interpreter's remaining depth, capped, and
    no more than fit in the C stack left above this thread's floor."""
    b = t.b
    remaining = b.sext(b.load(field(b, tstate, compat.TSTATE_RECURSION_REMAINING, I32)), I64)
    cap = ir.Constant(I64, NATIVE_FRAME_CAP)
    budget = b.select(b.icmp_signed("<", remaining, cap), remaining, cap)
    assert t.sp is not None and t.floor is not None
    # sp >= floor here (check_stack); the floor is 1 where the bounds are unknown or the
    # call runs on a stack not the thread's: the cap alone bounds the budget there
    room = b.udiv(b.sub(t.sp, t.floor), ir.Constant(I64, cstack.NATIVE_FRAME_BYTES))
    return b.select(b.icmp_signed("<", room, budget), room, budget, name="budget")


def _native_bail(t: _Builder, status: ir.Value) -> None:
    """Leave for a body's non-OK status: SIGNAL propagates the exception a signal
    handler raised; STALE (a namespace changed while a native loop ran) is the
    GLOBALS guard failing late; anything else is NATIVE + status."""
    b = t.b
    with b.if_then(b.icmp_signed("==", status, ir.Constant(I32, Status.SIGNAL))):
        b.ret(ir.Constant(PTR, None))
    code = b.select(b.icmp_signed("==", status, ir.Constant(I32, Status.STALE)),
                    ir.Constant(I64, Bail.GLOBALS),
                    b.add(b.zext(status, I64), ir.Constant(I64, Bail.NATIVE)))
    t.bail(code)


def _deopt(t: _Builder, record: ir.Value) -> None:
    """Finish a precisely deoptimised call: the bead's bookkeeping turns the record
    into a call of no arguments (the resume functions of the deoptimised frames), which
    the entry makes; its result or exception is the call's.  The bookkeeping is
    autotier's: it runs with ``BOOKKEEPING_HEADROOM`` frames beyond the recursion limit,
    so a deopt near the limit decides as anywhere else; if it fails all the same (a
    MemoryError, a KeyboardInterrupt while it ran), its exception propagates."""
    b = t.b
    decref = t.declare("Py_DecRef", ir.VoidType(), [PTR])
    address = b.call(t.declare("PyLong_FromVoidPtr", PTR, [PTR]), [b.bitcast(record, PTR)])
    with b.if_then(b.icmp_unsigned("==", address, ir.Constant(PTR, None)), likely=False):
        b.ret(ir.Constant(PTR, None))
    slow = b.load(field(b, t.self_, ho.SLOW_OFFSET, PTR), name="slow")
    finish = call_vector(b, t.module, slow, [const_ptr(id(int(Bail.DEOPT))), address],
                         depth=-BOOKKEEPING_HEADROOM)
    b.call(decref, [address])
    with b.if_then(b.icmp_unsigned("==", finish, ir.Constant(PTR, None)), likely=False):
        b.ret(ir.Constant(PTR, None))
    result = call_vector(b, t.module, finish, [])
    b.call(decref, [finish])
    b.ret(result)


def _no_function() -> None:
    """Never called: stands for the function of a hot object that has none."""


def _codes_run(t: _Builder, plan: EntryPlan) -> list[ir.Value]:
    """The code objects a native call runs instead of the interpreter (the function's
    and its native callees'), whose local sys.monitoring events the entry checks."""
    if not compat.HAS_MONITORING:
        return []
    b = t.b
    if plan.code:
        own = const_ptr(plan.code)
    else:  # the function's current code (a function that never runs stands for none)
        func = b.load(field(b, t.self_, ho.FUNC_OFFSET, PTR), name="func")
        func = b.select(b.icmp_unsigned("==", func, ir.Constant(PTR, None)),
                        const_ptr(id(_no_function)), func)
        own = b.load(field(b, func, compat.FUNC_CODE, PTR), name="own_code")
    return [own, *(const_ptr(expected) for _, offset, expected in plan.callee_fields
                   if offset == compat.FUNC_CODE)]


def entry_ir(plan: EntryPlan) -> str:
    """A guarded entry for ``plan``; bodies it calls are declared, defined elsewhere.

    Its slow path ends by handing the call of ``_func`` to its caller, so it is only
    ever called from ``dispatch.build``'s counting wrapper (which makes that call)."""
    if compat.MONITORING_UNLOCATED is not None:
        # native code could hide calls from a sys.monitoring tool: none is built
        raise Abandoned(f"no native code on this CPython: {compat.MONITORING_UNLOCATED}")
    module = ir.Module(name=plan.name)
    t = _Builder(module, plan.name)
    b = t.b
    t.check_stack()
    tstate = t.thread_state()
    with b.if_then(t.traced(tstate, _codes_run(t, plan)), likely=False):
        t.bail(Bail.TRACED)
    t.count_call(tstate)
    nargs = t.nargs
    if plan.binding is not None:  # keywords and defaults bound natively
        argv = bind(t, plan.binding, nargs, Bail.ARGS, Bail.CODE)
    else:
        shape_ok = b.and_(b.icmp_unsigned("==", t.kwnames, ir.Constant(PTR, None)),
                          b.icmp_unsigned("==", nargs, ir.Constant(I64, plan.nargs)))
        with b.if_then(b.not_(shape_ok), likely=False):
            t.bail(Bail.ARGS)
        argv = t.args
    if plan.code:
        func = b.load(field(b, t.self_, ho.FUNC_OFFSET, PTR), name="func")
        code = b.load(field(b, func, compat.FUNC_CODE, PTR), name="code")
        with b.if_then(b.icmp_unsigned("!=", code, const_ptr(plan.code)), likely=False):
            t.bail(Bail.CODE)
    for callee, offset, expected in plan.callee_fields:  # a callee's code or defaults
        current = b.load(field(b, const_ptr(callee), offset, PTR))  # were replaced
        with b.if_then(b.icmp_unsigned("!=", current, const_ptr(expected)), likely=False):
            t.bail(Bail.CODE)
    for index, ns in enumerate(plan.namespaces):
        expected = ir.GlobalVariable(module, I64, name=version_global_name(plan.name, index))
        expected.initializer = ir.Constant(I64, 0)
        current = b.load(field(b, const_ptr(ns.namespace), compat.DICT_VERSION_TAG, I64))
        changed = b.icmp_unsigned("!=", current, b.load(expected))
        with b.if_then(changed, likely=False):
            # another global changed (a module-level loop's variable), or one the code
            # relies on: recheck those; if they hold, expect the new tag and go on
            holds = emit_bindings_hold(b, ns.namespace, ns.bindings)
            with b.if_then(b.not_(holds), likely=False):
                t.bail(Bail.GLOBALS)
            b.store(current, expected)
    args = [b.load(b.gep(argv, [ir.Constant(I64, i)]), name=f"arg{i}") for i in range(plan.nargs)]
    for number, spec in enumerate(plan.specs):
        mismatch = t.fn.append_basic_block(f"not_spec{number}")
        values = [_unbox(t, arg, kind, mismatch)
                  for arg, kind in zip(args, spec.kinds, strict=True)]
        if spec.target is not None:
            vectorcall = t.declare("PyObject_Vectorcall", PTR, [PTR, PPTR, I64, PTR])
            result = b.call(vectorcall, [const_ptr(spec.target), argv,
                                         ir.Constant(I64, plan.nargs), ir.Constant(PTR, None)])
            with b.if_then(b.icmp_unsigned("==", result, ir.Constant(PTR, None)),
                           likely=False):
                # The target raised.  Its exceptions are its own (numba's messages are
                # not CPython's): forget an Exception and re-run the call in the
                # interpreter, which raises CPython's (the target has no effects, see
                # backends/numba_semantics.py).  A BaseException propagates.
                matches = t.declare("PyErr_ExceptionMatches", I32, [PTR])
                ordinary = b.call(matches, [const_ptr(id(Exception))])
                with b.if_then(b.icmp_signed("==", ordinary, ir.Constant(I32, 0))):
                    b.ret(ir.Constant(PTR, None))
                b.call(t.declare("PyErr_Clear", ir.VoidType(), []), [])
                t.bail(Bail.NATIVE + Status.VALUE)
            b.ret(result)
        else:
            assert spec.body is not None
            params = [PTR if isinstance(k, ArrayKind | InstanceKind) else
                      arrays.machine_type(k.dtype) if isinstance(k, NumpyKind) else
                      {Kind.INT: I64, Kind.FLOAT: F64, Kind.BOOL: I1}.get(k, PTR)
                      for k in spec.kinds]
            body = t.declare(spec.body, I32,
                             [*params, RESULT.as_pointer(), I64, I64.as_pointer()])
            result = t.slot("result", RESULT)
            words = max(s.record_words for s in plan.specs)
            record = b.bitcast(t.slot("record", ir.ArrayType(I64, words)), I64.as_pointer())
            budget = _budget(t, tstate)
            if spec.finishes_callees:
                slow = b.load(field(b, t.self_, ho.SLOW_OFFSET, PTR), name="keeper")
                b.store(b.ptrtoint(slow, I64), b.gep(record, [ir.Constant(I64, RECORD_KEEPER)]))
                b.store(budget, b.gep(record, [ir.Constant(I64, RECORD_BUDGET)]))
            status = b.call(body, [*values, result, budget, record], name="status")
            failed = b.icmp_signed("!=", status, ir.Constant(I32, Status.OK))
            with b.if_then(failed, likely=False):
                with b.if_then(b.icmp_signed("==", status, ir.Constant(I32, Status.SIGNAL))):
                    b.ret(ir.Constant(PTR, None))
                frames = b.load(b.gep(record, [ir.Constant(I64, 1)]), name="frames")
                with b.if_then(b.icmp_signed("!=", frames, ir.Constant(I64, 0))):
                    _deopt(t, record)
                _native_bail(t, status)
            _box(t, result)
        b.position_at_end(mismatch)
    # No specialisation matched.  Arguments that are all ints, floats, bools, lists or
    # tuples ask for a
    # new specialisation (TYPES: the bead's bookkeeping); any other type native code
    # never takes, so that call goes straight to the function, as a keyword call does.
    # (An int past 64 bits counts as such a type.)
    # The checks are one loop over the arguments (the same checks in the same order as
    # one copy per argument: the copies were a third of an OSR entry's IR, whose
    # parameters are all of a frame's locals and iterators).
    if plan.nargs:
        _classify_arguments(t, plan, argv)
    # the bead specialises for the bound arguments (a keyword's kind, not its default's)
    t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
    t.finish_bail(hand_off=True)
    return str(module)


def _classify_arguments(t: _Builder, plan: EntryPlan, argv: ir.Value) -> None:
    """For each argument in order (a loop): an ndarray or numpy scalar native code takes,
    or an instance of a class statement's class, bails TYPES; any other type native
    code never takes, or an int past 64 bits, bails FOREIGN.  Falls through when every
    argument passed."""
    b = t.b
    as_ll = t.declare("PyLong_AsLongLongAndOverflow", I64, [PTR, I32.as_pointer()])
    overflow = t.slot("overflow", I32)
    before = b.block
    head = t.fn.append_basic_block("classify")
    b.branch(head)
    b.position_at_end(head)
    index = b.phi(I64, name="arg_index")
    index.add_incoming(ir.Constant(I64, 0), before)
    arg = b.load(b.gep(argv, [index]), name="arg")
    typ = b.load(field(b, arg, compat.OB_TYPE, PTR))
    is_int, is_float, is_bool, is_list, is_tuple, is_complex, is_none = (
        b.icmp_unsigned("==", typ, const_ptr(id(k)))
        for k in (int, float, bool, list, tuple, complex, type(None)))
    takes = b.or_(b.or_(b.or_(is_int, is_float), b.or_(is_bool, is_none)),
                  b.or_(b.or_(is_list, is_tuple), is_complex))
    if plan.arrays:  # an ndarray of a dtype native code takes (numpy is imported)
        with b.if_then(arrays.is_ndarray(b, arg)), b.if_then(arrays.native_dtype(b, arg)):
            t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
        with b.if_then(arrays.is_numpy_scalar(b, arg)):
            t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
    with b.if_then(_heap_instance(b, typ)):  # an instance of a class statement's
        # class: the bead decides (runtime.signature: abi.InstanceKind.takes)
        t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
    with b.if_then(b.not_(takes)):
        t.bail(Bail.FOREIGN)
    with b.if_then(is_int):
        b.store(ir.Constant(I32, 0), overflow)
        b.call(as_ll, [arg, overflow])
        with b.if_then(b.icmp_signed("!=", b.load(overflow), ir.Constant(I32, 0))):
            t.bail(Bail.FOREIGN)
    following = b.add(index, ir.Constant(I64, 1), name="next_index")
    index.add_incoming(following, b.block)
    done = t.fn.append_basic_block("classified")
    b.cbranch(b.icmp_unsigned("<", following, ir.Constant(I64, plan.nargs)), head, done)
    b.position_at_end(done)


__all__ = ["ARGS_MASK", "HANDOFF", "NATIVE_FRAME_CAP", "RESULT", "VECTORCALL", "Bail",
           "EntryPlan", "NamespaceCheck", "Specialisation", "entry_ir", "trampoline_ir",
           "version_global_name"]
