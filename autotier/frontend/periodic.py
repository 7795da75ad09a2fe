"""The periodic check of native loops: what the interpreter's eval breaker does.

A native loop would otherwise hold the GIL until it ends: no signal handler (Ctrl-C),
no other thread, no interpreter exit.  Every loop back edge counts down a slot; every
SIGNAL_CHECK_EVERY iterations the body

- lets CPython run signal handlers (``PyErr_CheckSignals``) and bails with
  ``Status.SIGNAL`` if one raised (the entry propagates the exception);
- releases the GIL and takes it back, at most every YIELD_EVERY_NS, so other threads
  run.  The gap matters: a thread waiting for the GIL asks for it only after a whole
  switch interval (5 ms) without a hand-over, and taking the GIL back counts as one,
  so releasing at every check would starve it;
- compares the version tags of the namespaces the code read before and after the
  two steps above; where one changed, rechecks the bindings the code assumed there
  (:func:`autotier.dispatch.guards.emit_bindings_hold`) and bails with
  ``Status.STALE`` if a handler or another thread rebound one (a stop flag the loop
  polls): the interpreter re-runs the call and sees it.  Another global changing (a
  counter another thread updates) lets the loop go on.  Between two checks no Python
  code runs (the body holds the GIL), so this window is the only place a change can
  come from.  The body has no effects, so the run that counts is one that started
  after the change.

Recursion has no back edge and gets no check: a loop-free recursion holds the GIL
for its whole run (a per-call countdown in a module global was measured: fib 25%
slower).  When the GIL was last released is one module global (native code runs only
under the GIL, so plain loads and stores of it never race).

The body touches no Python object, so releasing the GIL inside it is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch import guards
from autotier.dispatch.irutil import declare
from autotier.frontend.model import MISSING
from autotier.jit import engine

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

SIGNAL_CHECK_EVERY = 1 << 20  # loop iterations between two checks
YIELD_EVERY_NS = 20_000_000  # at most one GIL hand-over per 20 ms of native loop
I32 = ll.IntType(32)
I64 = ll.IntType(64)
PTR8 = ll.IntType(8).as_pointer()
TIMESPEC = ll.LiteralStructType([I64, I64])


def _ticks(fl: FunctionLowering) -> ll.Value:
    """The function's countdown slot, set at the end of its entry block."""
    if fl.ticks is None:
        b = fl.b
        fl.ticks = fl.alloca(I64, name="ticks")
        entry = fl.fn.entry_basic_block
        with b.goto_block(entry):
            b.position_before(entry.instructions[-1])
            b.store(ll.Constant(I64, SIGNAL_CHECK_EVERY), fl.ticks)
    return fl.ticks


def _namespaces(fl: FunctionLowering) -> list[tuple[int, tuple[tuple[int, int], ...]]]:
    """Every namespace the code read (address) with the bindings it assumed there."""
    assumed: dict[int, dict[str, object]] = {}
    # the lowered module's deps hold the names and values (the backend keeps them alive)
    for d in fl.ml.program.deps:
        value = guards.MISSING if d.value is MISSING else d.value
        assumed.setdefault(id(d.namespace), {})[d.name] = value
    return [(ns, guards.binding_addresses(names)) for ns, names in sorted(assumed.items())]


def _module_i64(fl: FunctionLowering, name: str, start: int) -> ll.GlobalVariable:
    """An i64 shared by the module's bodies (accessed only under the GIL)."""
    var = fl.ml.module.globals.get(name)
    if var is None:
        var = ll.GlobalVariable(fl.ml.module, I64, name=name)
        var.initializer = ll.Constant(I64, start)
        var.linkage = "internal"
    assert isinstance(var, ll.GlobalVariable)
    return var


def loop_tick(fl: FunctionLowering, here: int, targets: tuple[int, ...]) -> None:
    """Emit the countdown on a back edge (a jump to a block not after ``here``)."""
    if not any(fl.order.get(t, len(fl.order)) <= fl.order[here] for t in targets):
        return
    b = fl.b
    ticks = _ticks(fl)
    left = b.sub(b.load(ticks), ll.Constant(I64, 1), name="ticks")
    b.store(left, ticks)
    with b.if_then(b.icmp_signed("<=", left, ll.Constant(I64, 0)), likely=False):
        b.store(ll.Constant(I64, SIGNAL_CHECK_EVERY), ticks)
        _check(fl)


def _check(fl: FunctionLowering) -> None:
    """Signals, then other threads, then: did a namespace change meanwhile?"""
    b = fl.b
    stale = watch_namespaces(fl)
    check = declare(fl.ml.module, "PyErr_CheckSignals", I32, [])
    raised = b.icmp_signed("!=", b.call(check, []), ll.Constant(I32, 0))
    fl.bail_if(raised, Status.SIGNAL, name="no_signal")
    _let_threads_run(fl)
    # signal handlers and other threads ran Python code: an array reshaped in place is
    # the interpreter's (as a rebound name is)
    reshaped = fl.array_fields.changed()
    fl.bail_if(b.or_(stale(), reshaped), Status.STALE, name="same_globals")


def watch_namespaces(fl: FunctionLowering) -> Callable[[], ll.Value]:
    """Read the version tags of every namespace the code relies on now; the function
    returned emits, where it is called, an i1: true if a binding the code relies on
    changed since (around a call that may run Python code)."""
    b = fl.b
    spaces = _namespaces(fl)
    tags = [ll.Constant(I64, ns + compat.DICT_VERSION_TAG).inttoptr(I64.as_pointer())
            for ns, _ in spaces]
    versions = [b.load(tag) for tag in tags]

    def stale() -> ll.Value:
        slot = fl.out_slot(ll.IntType(1))
        b.store(ll.Constant(ll.IntType(1), 0), slot)
        for (ns, expected), tag, before in zip(spaces, tags, versions, strict=True):
            with b.if_then(b.icmp_unsigned("!=", b.load(tag), before), likely=False):
                holds = guards.emit_bindings_hold(b, ns, expected)
                b.store(b.or_(b.load(slot), b.not_(holds)), slot)
        return b.load(slot)

    return stale


def _let_threads_run(fl: FunctionLowering) -> None:
    b = fl.b
    now_slot = fl.alloca(TIMESPEC, name="now")
    yielded = _module_i64(fl, "periodic_yielded", 0)  # monotonic ns
    clock = declare(fl.ml.module, engine.CLOCK_GETTIME, I32, [I32, TIMESPEC.as_pointer()])
    b.call(clock, [ll.Constant(I32, engine.CLOCK_MONOTONIC), now_slot])
    zero = ll.Constant(I32, 0)
    sec = b.load(b.gep(now_slot, [zero, zero]))
    nsec = b.load(b.gep(now_slot, [zero, ll.Constant(I32, 1)]))
    now = b.add(b.mul(sec, ll.Constant(I64, 1_000_000_000)), nsec)
    due = b.icmp_signed(">=", b.sub(now, b.load(yielded)), ll.Constant(I64, YIELD_EVERY_NS))
    with b.if_then(due, likely=False):
        save = declare(fl.ml.module, "PyEval_SaveThread", PTR8, [])
        restore = declare(fl.ml.module, "PyEval_RestoreThread", ll.VoidType(), [PTR8])
        b.call(restore, [b.call(save, [])])
        b.store(now, yielded)
