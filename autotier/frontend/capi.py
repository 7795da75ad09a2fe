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

A call of a Python function the frontend cannot compile (a closure, a generator, a
``try``, a list argument: :attr:`Program.opaque`) is made the same way
(:func:`lower_call_object`): the function itself vectorcalled with the numbers boxed
and the sequences borrowed, with the thread's recursion depth lowered by the native
frames above it, so it stands as deep as when called from interpreted frames.  What
it returns is taken when it is an int within int64, a float, a bool or None, and
anything else resumes after the call with it (``ELEMENT``: a failed speculation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from llvmlite import ir as ll

from autotier.abi import ArrayKind, CalleeKind, Kind, Status
from autotier.dispatch.irutil import PTR, call_vector, const_ptr, declare
from autotier.frontend import boxes, newarrays, npvalues, periodic, results
from autotier.frontend.builtins_table import builtin_object
from autotier.frontend.exits import RESULT_ONLY
from autotier.frontend.finishing import native_depth, result_frame, take_exception
from autotier.frontend.ir import CallBuiltin, Kinds, VKind
from autotier.frontend.kinds import NP_SCALARS
from autotier.frontend.values import I1, I32, LV, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

Leaf = tuple[LV, Kinds] | None


def resume_after(fl: FunctionLowering, cond: ll.Value, status: Status, name: str,
                  outcome: Callable[[], ll.Value], *, raised: bool = False) -> None:
    """Where ``cond`` holds, leave for the interpreter *after* the instruction, with
    ``outcome()`` (a new reference, the record takes it: a value, or the exception
    taken from the thread when ``raised``) as its result, through the call exit."""
    b = fl.b
    record = fl.exits.record
    assert record is not None, "declined in programs whose bailouts unwind"
    with b.if_then(cond, likely=False):
        b.call(result_frame(fl.ml), [record, i64(int(raised)), outcome()])
        # the innermost failure is this one's (a native callee's result frame says
        # RESULT: decided already), so the bead counts and decides it
        b.store(i64(status), b.gep(record, [i64(0)], inbounds=True))
    fl.bail_if(cond, status, name=name, callee=RESULT_ONLY)


def _exception(fl: FunctionLowering) -> Callable[[], ll.Value]:
    return lambda: take_exception(fl.b, fl.ml.module)


def raised_if_null(fl: FunctionLowering, obj: ll.Value) -> None:
    """A C-API call returned ``obj``: where it is NULL (an exception set), leave for the
    interpreter after the instruction with that exception (``RAISED``)."""
    raised = fl.b.icmp_unsigned("==", obj, ll.Constant(PTR, None))
    resume_after(fl, raised, Status.RAISED, "made", _exception(fl), raised=True)


def lower_call_builtin(fl: FunctionLowering, instr: CallBuiltin, args: list[ll.Value],
                       combo: tuple[VKind, ...], kinds: Kinds) -> Leaf:
    b = fl.b
    module = fl.ml.module
    stale = periodic.watch_namespaces(fl)
    seq = _range_object(fl, args[0]) if combo[0] is VKind.RANGE else args[0]
    boxed = [boxes.box(fl, (a,), k) for a, k in zip(args[1:], combo[1:], strict=True)]
    result = call_vector(b, module, const_ptr(id(builtin_object(instr.builtin))),
                         [seq, *boxed])  # the sequence borrowed, numbers boxed
    reshaped = fl.array_fields.changed()  # the call may have run Python code
    for obj in [*boxed, *([seq] if combo[0] is VKind.RANGE else [])]:
        b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])
    return take_result(fl, result, kinds, stale, reshaped), kinds


def _range_object(fl: FunctionLowering, triple: tuple[ll.Value, ...]) -> ll.Value:
    """CPython's ``range(start, stop, step)`` of a native range (a new reference, for
    ``list(range(...))``); a MemoryError leaves with ``Status.SIGNAL`` as a box does."""
    b = fl.b
    module = fl.ml.module
    boxed = [boxes.box(fl, (fl.widen(v),), VKind.INT) for v in triple]
    made = call_vector(b, module, const_ptr(id(range)), boxed)
    for obj in boxed:
        b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])
    fl.bail_if(b.icmp_unsigned("==", made, ll.Constant(PTR, None)), Status.SIGNAL,
               name="range_made")
    return made


def lower_contains(fl: FunctionLowering, value: LV, kind: VKind, seq: ll.Value,
                   negate: bool) -> Leaf:
    """``value in seq`` by ``PySequence_Contains`` (the boxed number against each
    element, CPython's comparisons); an exception or changed bindings resume after the
    test, as after a call."""
    b = fl.b
    module = fl.ml.module
    stale = periodic.watch_namespaces(fl)
    obj = npvalues.box(fl, value, kind) if kind in NP_SCALARS else boxes.box(fl, value, kind)
    contains = declare(module, "PySequence_Contains", ll.IntType(32), [PTR, PTR])
    found = b.call(contains, [seq, obj], name="contains")
    reshaped = fl.array_fields.changed()
    b.call(declare(module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])
    raised = b.icmp_signed("<", found, ll.Constant(ll.IntType(32), 0))
    resume_after(fl, raised, Status.RAISED, "tested", _exception(fl), raised=True)
    answer = b.icmp_signed("!=" if not negate else "==", found, ll.Constant(ll.IntType(32), 0))
    resume_after(fl, b.or_(stale(), reshaped), Status.STALE, "same_globals",
                  lambda: boxes.box_or_null(fl, (answer,), VKind.BOOL))  # never NULL
    return (answer,), frozenset({VKind.BOOL})


#: keyword-name tuples of calls through the C API, kept for the process (the
#: vectorcall's ``kwnames``; one per distinct set of names)
_KWNAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


def kwnames_tuple(names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The process's one tuple of these keyword names (native code holds its address),
    or None for a call without keywords."""
    return _KWNAMES.setdefault(names, names) if names else None


def boxed_arguments(fl: FunctionLowering, args: Sequence[tuple[ll.Value, VKind | None]]
                    ) -> tuple[list[ll.Value], Callable[[], None]]:
    """The vectorcall arguments of ``args``: a value of kind None is an object passed
    borrowed (a sequence, an array, an instance), any other is boxed (a new
    reference).  A box that failed (a MemoryError) releases the others and leaves,
    propagating it (``SIGNAL``).  Returns the arguments and what releases the boxes
    (after the call)."""
    b = fl.b
    decref = declare(fl.ml.module, "Py_DecRef", ll.VoidType(), [PTR])
    null = ll.Constant(PTR, None)
    argv: list[ll.Value] = []
    made: list[ll.Value] = []
    failed: ll.Value = ll.Constant(I1, 0)
    for value, kind in args:
        if kind is None:
            argv.append(value)
            continue
        obj = boxes.box_or_null(fl, (value,), kind)
        failed = b.or_(failed, b.icmp_unsigned("==", obj, null))
        argv.append(obj)
        made.append(obj)

    def release() -> None:
        for obj in made:
            with b.if_then(b.icmp_unsigned("!=", obj, null)):
                b.call(decref, [obj])

    with b.if_then(failed, likely=False):
        release()
    fl.bail_if(failed, Status.SIGNAL, name="boxed")  # a MemoryError, propagated
    return argv, release


def lower_call_object(fl: FunctionLowering, func: object, args: list[Any],
                      kinds: tuple[CalleeKind, ...], returns: Kinds, *,
                      kw_names: tuple[str, ...] = (),
                      makes: ArrayKind | None = None) -> tuple[LV, Kinds]:
    """``func(*args)`` by vectorcall, the last ``len(kw_names)`` arguments by those
    keywords: CPython binds and runs the function (module doc).  ``makes``: the call is
    ``numpy.zeros(*args, dtype=...)`` of that kind (:mod:`.newarrays`), and its result
    is the array, a new reference the value owns."""
    b = fl.b
    module = fl.ml.module
    stale = periodic.watch_namespaces(fl)
    # a list, a tuple, an array: borrowed (a complex is boxed)
    argv, release = boxed_arguments(fl, [
        (value, VKind(kind) if isinstance(kind, Kind) and (
            kind.scalar or kind in (Kind.NONE, Kind.COMPLEX)) else None)
        for value, kind in zip(args, kinds, strict=True)])
    # as deep as from interpreted frames: the native frames from the root to this one
    depth = b.trunc(native_depth(fl), I32)
    if makes is not None:  # dtype= the array's
        argv.append(const_ptr(id(newarrays.dtype_object(makes.dtype))))
        kw_names = (*kw_names, "dtype")
    names = kwnames_tuple(kw_names)
    result = call_vector(b, module, const_ptr(id(func)), argv, depth=depth,
                         kwnames=const_ptr(id(names)) if names is not None else None,
                         keywords=len(kw_names))
    reshaped = fl.array_fields.changed()  # the function ran Python code
    release()
    return take_result(fl, result, returns, stale, reshaped, makes=makes), returns


def take_result(fl: FunctionLowering, result: ll.Value, returns: Kinds,
                stale: Callable[[], ll.Value], reshaped: ll.Value, *,
                makes: ArrayKind | None = None) -> LV:
    """What a call through the C API answered (``result``: a new reference, or NULL
    with an exception set), as ``returns`` values: a number unboxed, an instance or
    list taken (:mod:`.results`), the array ``makes`` says; an exception resumes after
    the call with it (``RAISED``), another result with it (``ELEMENT``), and so do
    changed bindings (``stale()``) or array fields (``reshaped``: ``STALE``).  An object
    taken keeps ``result``'s reference; a number releases it."""
    b = fl.b
    raised = b.icmp_unsigned("==", result, ll.Constant(PTR, None))
    resume_after(fl, raised, Status.RAISED, "returned", _exception(fl), raised=True)
    if makes is not None:
        took, lv = newarrays.took(b, result, makes), (result,)
    else:
        took, lv = results.take(fl, result, returns)
    resume_after(fl, b.not_(took), Status.ELEMENT, "took", lambda: result)
    resume_after(fl, b.or_(stale(), reshaped), Status.STALE, "same_globals",
                  lambda: result)
    if makes is None and not results.takes_object(returns):
        b.call(declare(fl.ml.module, "Py_DecRef", ll.VoidType(), [PTR]), [result])
    return lv
