"""A bead's on-stack replacement: its loop counts, its OSR table, the probes' slow path.

While the bead is interpreted, the hot object's trampoline runs the function's copy
with probes (:mod:`.instrument`).  Every ``k`` back edges of a loop its probe calls
:meth:`OsrState.probe` with the loop iterators on the stack; it reads the frame's
locals itself.  The slow path counts ``k`` into the header's count (under the bead's
lock); once the count reaches the policy's ``loop_threshold`` it makes the header's
entry function (:mod:`.entrycode`) a hidden child bead of this one and queues its
compile with the frame's values' kinds (the ordinary pipeline, on the broker, at the
policy's last tier).  When the child's code is installed for those kinds, the next
probe at that header calls the child with the frame's values: native code runs the
rest of the call and the probe returns its result, which the copy returns from the
function.  A failed guard in it deoptimises precisely, as any native code does: the
child's own resume functions finish the call.

The table (header and bound locals -> child) carries the ``epoch`` it was made in;
reload, invalidate, blacklisting and failing bump the epoch, clear the table and
invalidate the children (a call running in a child finishes there), so no entry from
before is ever called.  A bead that gives up (blacklisted, failed, invalid) gets its
original function back in the trampoline: no probe costs anything any more.
"""

from __future__ import annotations

import builtins
import ctypes
import functools
import itertools
import logging
import math
import sys
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from types import FrameType, FunctionType
from typing import TYPE_CHECKING, Any

from autotier import compat
from autotier.broker import pacing
from autotier.osr import entrycode, iterstate
from autotier.osr.instrument import GO_ON, NEVER, RAISE, Header, Instrumented, instrument, screen
from autotier.runtime.states import BeadState

log = logging.getLogger("autotier")

if TYPE_CHECKING:
    from autotier.dispatch.hotobject import HotFunction
    from autotier.runtime.bead import Bead

#: back edges between two calls of a probe's slow path (fewer when the loop threshold
#: is lower): the slow path costs ~1-2 us, ~1% of 1,024 interpreted iterations
COUNTDOWN = 1024


@dataclass(frozen=True)
class Entry:
    """A header's OSR entry: the child bead's hot object, made in ``epoch``, for
    ``plans[tried]`` (the plans left are tried when its compile fails, ``failed``
    saying why the first did)."""

    epoch: int
    child: HotFunction
    plans: tuple[entrycode.Plan, ...] = (entrycode.Plan(0),)
    tried: int = 0
    failed: str | None = None

    @property
    def plan(self) -> entrycode.Plan:
        return self.plans[self.tried]


@dataclass(frozen=True)
class _NoPromotion:
    """The children's hotness policy: compiled when the probe asks, never by calls."""

    @property
    def max_tier(self) -> int:
        return 1

    def promote_at(self, tier: int) -> int | None:
        return None


class OsrState:
    """One bead's OSR: guarded by the bead's lock (``bead._lock``)."""

    def __init__(self, bead: Bead, loop_threshold: int) -> None:
        self.bead = bead
        self.threshold = loop_threshold
        self.k = max(1, min(COUNTDOWN, loop_threshold))
        self.countdown: tuple[None, ...] = (None,) * self.k
        self.epoch = 0
        self.made: Instrumented | None = None
        self.declined: str | None = None  # why the function has no probes
        self.counts: Counter[int] = Counter()  # back edges counted, by header number
        self.off: dict[int, str] = {}  # headers never entered (this epoch), and why
        self.table: dict[tuple[int, Any], Entry] = {}  # (header, Snapshot.key)
        self.entries = 0  # calls that entered native code at a header
        self.lines: Counter[int] = Counter()  # entries by the header's line
        # headers whose entry was not queued in one run of their loop nest, which was
        # foreseen to end too soon (``_defers``): that run's outermost iterator's id and
        # iterations begun then, None once a later run queued it
        self.deferred: dict[int, tuple[int, int] | None] = {}
        # headers that let one slow path go by for an entry of a loop nested in theirs,
        # compiled meanwhile (this epoch): the next slow path queues their own
        self.yielded: set[int] = set()
        # tests: the probe that queues an OSR compile waits for it and enters at once
        # (so a test chooses the iteration entered: the loop threshold's)
        self.wait_compile = False

    # ------------------------------------------------------------ instrumenting
    def start(self) -> None:
        """Give the hot object the function's copy with probes, if the screen takes
        it (lock held)."""
        hf = self.bead.hf
        func = self.bead.func
        self.made = None
        self.declined = screen(func)
        if hf is None or self.declined is not None:
            return
        ref = weakref.ref(self)
        try:
            self.made = instrument(func, self.countdown,
                                   lambda j: functools.partial(_probe, ref, j),
                                   functools.partial(_again, ref, func))
        except Exception as exc:  # a bug of ours: no probes, never a failed decoration
            log.exception("autotier: instrumenting %s for OSR crashed", func.__qualname__)
            self.declined = f"internal error: {type(exc).__name__}: {exc}"
            return
        hf._run = self.made.func

    def stop(self, reason: str) -> None:
        """The bead gave up or was invalidated (lock held): the original function
        again, and no entry ever again (until :meth:`restart`)."""
        self._drop()
        self.declined = reason
        self.made = None
        hf = self.bead.hf
        if hf is not None:
            hf._run = self.bead.func

    def restart(self) -> None:
        """A reload (lock held): forget every count and entry, instrument the
        function's current code."""
        self._drop()
        self.counts.clear()
        self.start()

    def _drop(self) -> None:
        self.epoch += 1
        children, self.table = list(self.table.values()), {}
        self.off.clear()
        self.deferred.clear()
        self.yielded.clear()
        for entry in children:
            entry.child._bead.invalidate("its parent's OSR table was dropped")

    def after_fork_child(self) -> None:
        """In a forked child: the children's locks may be held by threads that are
        gone, so they are dropped unseen."""
        self.epoch += 1
        self.table = {}
        self.off.clear()
        self.deferred.clear()
        self.yielded.clear()
        self.counts.clear()

    # ------------------------------------------------------------ the slow path
    def probe(self, j: int, frame: FrameType, iters: tuple[Any, ...]
              ) -> tuple[Any, Any, Any, bool]:
        """The slow path of header ``j``'s probe, in ``frame`` with the header's stack
        ``iters``: ``(countdown, GO_ON, None, compiling)`` to go on interpreting, or
        ``(None, RETURN, result, False)`` / ``(None, RAISE, exception, False)`` once
        native code ran the rest of the call.  ``compiling``: whether an entry of this
        bead's was queued or compiling when the slow path last held the lock (what
        :func:`hands_off` asks; the table is scanned once for it)."""
        bead = self.bead
        made = self.made
        if made is None:
            return _stop(False)
        header = made.headers[j]
        with bead._lock:
            compiling, own, inside = (self._scan(j, header.inner) if self.table
                                      else (False, False, False))
            if j in self.off:
                return _stop(compiling)
            self.counts[j] += self.k
            if self.counts[j] < self.threshold:
                return _rearm(self, compiling)
            # one compile at a time, and none of this header's entries is compiled:
            # go on interpreting without reading the locals (``_values`` builds the
            # frame's locals dict: ~10 us a slow path, 15-30% of the loop's time)
            if compiling and not own and not self.wait_compile:
                return _rearm(self, compiling)
            # an entry at a loop nested in this one is compiled: while that loop runs,
            # its probe enters it within ``k`` of its back edges, so this header's own
            # entry would be compiled for nothing; it waits one slow path (``k`` of its
            # back edges) for that, then queues (the nested loop may have stopped)
            if inside and not own and j not in self.yielded and not self.wait_compile:
                self.yielded.add(j)
                return _rearm(self, compiling)
            epoch = self.epoch
        found = _values(frame, made, header, iters)
        if isinstance(found, str):
            with bead._lock:
                self._turn_off(j, found)
                return _stop(self._compiling())
        with bead._lock:
            if epoch != self.epoch or self.made is not made:
                return _stop(self._compiling())
            entry = self.table.get((j, found.key))
            waiting = False
            compiling = self._compiling()
            if entry is None and not compiling:
                ratios = _forecast(header, iters)
                if ratios is not None and self._defers(j, iters[0], ratios[1]):
                    return _rearm(self, False)
                if ratios is not None:
                    pacing.PACER.foresee(ratios[0])
                entry = self._request(header, found, None)
                if not self.wait_compile:
                    return _rearm(self, self._compiling())
                waiting = True
        if entry is None:  # one OSR compile at a time: an outer loop crossing the
            # threshold while its inner loop's entry compiles would compile behind
            # it, beside the native code entered meanwhile, for an entry never used
            return _rearm(self, compiling)
        from autotier.runtime.signature import call_kinds

        while True:
            if waiting:  # tests: enter at this very iteration
                _settle(entry.child._bead)
            with bead._lock:
                if epoch != self.epoch:
                    return _stop(self._compiling())
                child: Bead = entry.child._bead
                if child.state is BeadState.FAILED and entry.tried + 1 < len(entry.plans):
                    if self._compiling():  # (another header's, one at a time)
                        return _rearm(self, True)
                    entry = self._request(header, found, entry)  # the next plan: a
                    if not self.wait_compile:  # hand-back nearer the header
                        return _rearm(self, self._compiling())
                    waiting = True
                    continue
                if child.state in (BeadState.FAILED, BeadState.BLACKLISTED,
                                   BeadState.INVALID):
                    why = entry.failed or f"{child.state.value}: {child.reason}"
                    self._turn_off(j, f"OSR compile {why}")
                    return _stop(self._compiling())
                args = entry.plan.arguments(found)
                if child.state is BeadState.INTERPRETED and not child.bailouts:
                    # its compile was refused (a full queue; a child paused by its deopt
                    # policy has bailed out): asked again, once a slow path at most
                    child.compile_for(tuple(args))
                    return _rearm(self, self._compiling())
                kinds = call_kinds(child.func, tuple(args), {})
                if child.code is None or kinds is None or kinds not in child.signatures:
                    return _rearm(self, self._compiling())
                self.entries += 1
                self.lines[header.line] += 1
                break
        return _enter(entry.child, args)

    def _defers(self, j: int, it: Any, ratio: float) -> bool:
        """Whether header ``j``, past its threshold, waits to queue its entry (lock
        held): its loop nest (driven by ``it``) is foreseen to end sooner than an entry
        lands (``pacing.Pacer.too_short``), so the entry would come too late for this
        call and its compile would only slow it.  Once per header: the next run of the
        loop (another call, another iterator) queues it whatever its length, so a
        function whose calls are all short loops is compiled from its second."""
        if self.wait_compile:
            return False
        done = iterstate.progress(it)
        begun = 0 if done is None else done[0]
        if j in self.deferred:
            seen = self.deferred[j]
            if seen is not None and seen[0] == id(it) and begun >= seen[1]:
                return True  # the same run: it goes on interpreting
            self.deferred[j] = None
            return False
        if not pacing.PACER.too_short(ratio):
            return False
        # the iterator's id, not the iterator, which would hold its list until the
        # header's next run (maybe never) where the loop was left part-way; a later
        # run's iterator with the same id is told by its fewer iterations begun (the
        # count past the threshold: its first slow path) or is taken for this run
        self.deferred[j] = (id(it), begun)
        return True

    def _turn_off(self, j: int, reason: str) -> None:
        """Header ``j`` is never entered (lock held); once no header can be, the
        trampoline runs the original function again (no probe costs anything)."""
        self.off[j] = reason
        made, hf = self.made, self.bead.hf
        if made is not None and hf is not None and len(self.off) == len(made.headers):
            hf._run = self.bead.func

    def compiling(self) -> bool:
        """Whether one of this bead's entries is queued or compiling (takes the lock)."""
        with self.bead._lock:
            return self._compiling()

    def _scan(self, j: int, inner: frozenset[int]) -> tuple[bool, bool, bool]:
        """One pass over the table (lock held): whether an entry's compile is queued
        or running (:meth:`_compiling`), whether one of header ``j``'s entries is
        compiled, and whether an entry of one of the headers ``inner`` is."""
        compiling = own = inside = False
        for (jj, _), entry in self.table.items():
            state = entry.child._bead.state
            if state is BeadState.QUEUED or state is BeadState.COMPILING:
                compiling = True
            elif state is BeadState.COMPILED:
                own = own or jj == j
                inside = inside or jj in inner
        return compiling, own, inside

    def _compiling(self) -> bool:
        """Whether an entry's compile is queued or running (lock held)."""
        return any(e.child._bead.state in (BeadState.QUEUED, BeadState.COMPILING)
                   for e in self.table.values())

    def _request(self, header: Header, found: entrycode.Snapshot, after: Entry | None
                 ) -> Entry:
        """Make header's entry a child bead and queue its compile (lock held): its
        first plan, or the one after ``after``'s (whose compile failed)."""
        from autotier.runtime.bead import child_of

        assert self.made is not None
        if after is None:
            plans = entrycode.plans(self.made.code, header, found.bound)
            tried, failed = 0, None
        else:
            old = after.child._bead
            plans, tried = after.plans, after.tried + 1
            failed = after.failed or f"{old.state.value}: {old.reason}"
        plan = plans[tried]
        func = entrycode.entry_function(self.bead.func, self.made.code, header, found.bound,
                                        found.shapes, plan=plan)
        child = child_of(self.bead, func, _NoPromotion())
        entry = Entry(self.epoch, child, plans, tried, failed)
        self.table[header.number, found.key] = entry
        child._bead.compile_for(tuple(plan.arguments(found)))
        return entry

    # ------------------------------------------------------------ inspection
    def explain(self) -> str:
        """:meth:`describe`, then each OSR entry's block: the bytecode that rebuilds
        the frame at its header (up to the jump to the header)."""
        import dis

        parts = [self.describe()]
        with self.bead._lock:
            table = sorted(self.table.items(), key=lambda item: item[0][0])
        assert self.made is not None or not table
        for (j, _), entry in table:
            header = self.made.headers[j] if self.made is not None else None
            where = f"line {header.line}" if header is not None else f"header {j}"
            code = entry.child._func.__code__
            params = ", ".join(code.co_varnames[:code.co_argcount])
            lines = [f"OSR entry at {where} ({entry.child._bead.state.value}), "
                     f"parameters {params}:"]
            for ins in dis.get_instructions(entry.child._func):
                lines.append(f"  {ins.offset:4} {ins.opname} {ins.argrepr}".rstrip())
                if ins.opname == "JUMP_FORWARD":
                    break
            parts.append("\n".join(lines))
        return "\n".join(p for p in parts if p)

    def describe(self) -> str:
        """A line per loop header: where, what was counted, entered or declined."""
        with self.bead._lock:
            if self.made is None:
                return f"no loop probes: {self.declined}" if self.declined else ""
            out = []
            for h in self.made.headers:
                what = [f"line {h.line}, offset {h.offset}: {self.counts[h.number]} back edges"]
                children = [e.child._bead for (j, _), e in self.table.items() if j == h.number]
                what += [f"entry {c.state.value}" + (f" ({c.reason})" if c.reason else "")
                         for c in children]
                if h.number in self.off:
                    what.append(f"not entered: {self.off[h.number]}")
                out.append("; ".join(what))
            return "\n".join(out)


def hands_off(state: OsrState, pacer: pacing.Pacer, compiling: bool | None = None) -> bool:
    """Whether a probe of ``state``'s function, going on interpreting, gives the GIL to
    the broker: only while an entry of its own is queued or compiling (never once it
    landed, never after the bead gave up: that clears the table) and the pacer has a
    paced job on the GIL with budget to spare.  ``compiling``: what the probe's slow
    path saw (:meth:`OsrState.probe`), so the table is not scanned again and the
    bead's lock not taken again; None: look (takes the lock)."""
    if compiling is None:
        return bool(state.table) and pacer.hand_off() and state.compiling()
    return compiling and pacer.hand_off()


def _forecast(header: Header, iters: tuple[Any, ...]) -> tuple[float, float] | None:
    """How long the loop nest will run, where its outermost loop is a ``for`` over a
    range, list or tuple: its iterations left over those begun, as ratios of the time
    run so far (``(at least, at most)``); None where that is not known.  At the
    outermost loop's own header both are that ratio.  At an inner loop's header the
    outermost loop's current iteration is part-way: at least left over begun (as if
    it were done), at most left and that one over those before it (as if it had just
    begun; infinite in the first, where the inner loop may run for any time).  The
    pacer foresees the least (:meth:`pacing.Pacer.foresee`: a call whose loop will run
    for seconds is not slowed by the compile's share of it, its budget the share of the
    length foreseen; one that breaks out early pays at most the compile's GIL time,
    tens of ms); a deferral needs the most to be short (``OsrState._defers``)."""
    if not header.outer_for or not iters:
        return None
    done = iterstate.progress(iters[0])
    if done is None or done[0] <= 0:
        return None
    begun, left = done
    if not header.nested:
        return left / begun, left / begun
    return left / begun, (left + 1) / (begun - 1) if begun > 1 else math.inf


def _settle(child: Bead, timeout: float = 120.0) -> None:
    """Wait until ``child``'s compile has landed (or failed)."""
    pacing.PACER.idle()  # no loop runs meanwhile: the compile is not paced
    deadline = time.monotonic() + timeout
    while (child.state in (BeadState.QUEUED, BeadState.COMPILING)
           and time.monotonic() < deadline):
        time.sleep(0.001)


def _rearm(state: OsrState, compiling: bool) -> tuple[Any, Any, Any, bool]:
    return iter(state.countdown), GO_ON, None, compiling


def _off() -> tuple[Any, Any, Any]:
    return itertools.repeat(None, NEVER), GO_ON, None


def _stop(compiling: bool) -> tuple[Any, Any, Any, bool]:
    """The probe is off for the rest of the call (``compiling``: see ``probe``)."""
    return itertools.repeat(None, NEVER), GO_ON, None, compiling


def _values(frame: FrameType, made: Instrumented, header: Header, iters: tuple[Any, ...]
            ) -> entrycode.Snapshot | str:
    """What ``frame`` at ``header`` hands to its entry (its live bound locals and its
    iterators' state, :func:`entrycode.snapshot`), or why it cannot be entered."""
    func = made.func
    snap = entrycode.snapshot(frame.f_locals, made.code, header, iters)
    names = getattr(func, "__builtins__", vars(builtins))
    found = func.__globals__.get("range", names.get("range"))
    if (found is not builtins.range and not isinstance(snap, str)
            and any(map(iterstate.uses_range, snap.shapes))):
        return "range is not the builtin"
    return snap


#: the Python frames between the interpreted frame and the rest of the call it enters
#: (``_probe``, ``OsrState.probe``, ``_enter``, the entry's own, which stands where
#: the interpreted frame stands): given back to the thread's recursion budget while
#: the entry runs, so it recurses exactly as deep as CPython (measured:
#: test_the_rest_of_the_call_recurses_exactly_as_deep_as_in_cpython)
ENTRY_FRAMES = 4


def _enter(child: HotFunction, args: list[Any]) -> tuple[Any, Any, Any, bool]:
    """Run the rest of the call in ``child``: ``(None, RETURN, result, False)`` or
    ``(None, RAISE, exception, False)`` (raised by the copy's own frame, so a
    RecursionError of the probe's frames is never taken for one of the call's)."""
    remaining = ctypes.c_int.from_address(_thread_state() + compat.TSTATE_RECURSION_REMAINING)
    remaining.value += ENTRY_FRAMES
    try:
        return None, RETURN, child(*args), False
    except BaseException as exc:  # the copy raises it, where CPython would
        return None, RAISE, exc, False
    finally:
        remaining.value -= ENTRY_FRAMES


_thread_state = ctypes.pythonapi.PyThreadState_Get
_thread_state.restype = ctypes.c_void_p
_thread_state.argtypes = ()
RETURN = object()


def _probe(ref: weakref.ref[OsrState], j: int, *iters: Any) -> tuple[Any, Any, Any]:
    state = ref()
    if state is None:
        return _off()
    pacing.PACER.tick()  # a loop is running interpreted
    countdown, flag, result, compiling = state.probe(j, sys._getframe(1), iters)
    if flag is GO_ON and hands_off(state, pacing.PACER, compiling):
        pacing.PACER.give()  # the GIL to the broker, about one switch interval
    return countdown, flag, result


def _again(ref: weakref.ref[OsrState], func: FunctionType) -> Any:
    """The function's ``__code__`` was replaced behind the hot object: drop the copy
    (the trampoline runs the function itself again) and make this call again with the
    arguments the copy's frame was given."""
    frame = sys._getframe(1)
    state = ref()
    if state is not None:
        hf = state.bead.hf
        if hf is not None and hf._run is not func:
            with state.bead._lock:
                state.made = None
                hf._run = func
    code = frame.f_code
    seen = frame.f_locals
    names = code.co_varnames
    n, kw = code.co_argcount, code.co_kwonlyargcount
    args = [seen[name] for name in names[:n]]
    kwargs = {name: seen[name] for name in names[n:n + kw]}
    at = n + kw
    if code.co_flags & 0x04:  # CO_VARARGS
        args += seen[names[at]]
        at += 1
    if code.co_flags & 0x08:  # CO_VARKEYWORDS
        kwargs.update(seen[names[at]])
    return func(*args, **kwargs)
