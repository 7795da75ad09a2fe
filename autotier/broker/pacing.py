"""The GIL share of an OSR compile while the loop it is for runs interpreted (issue 12).

The broker's frontend is Python code: while it compiles, it shares the GIL with the
interpreted loop of the call that asked for the compile, so a call that ends before its
entry lands would pay for the compile with its own time (unpaced, about half of it: a
loop ending mid-compile ran up to ~2x its CPython time).  Pacing bounds that: while a
decorated function's loop is running interpreted (its probes tick, :meth:`Pacer.tick`),
the compile jobs of OSR entries (*paced* jobs) may hold the GIL for at most ``share``
of the time the loop has run (:func:`budget`), so a call is never slower than about
``1 + share`` times its interpreted time, at any length.  Or of the time it will run,
where that is foreseen (:meth:`Pacer.foresee`): when the probe queues the entry of a
loop nest whose outermost loop is a ``for`` over a range, list or tuple, its
iterations left over those begun, times the time run so far, is the loop's length
still to come; a call of 10^8 iterations is not held back by a budget sized for one
that might end at any moment (leibniz_once's entry landed at 82 ms instead of ~150,
its job's Python stages no longer waiting).  A loop that breaks out early pays at
most the compile's GIL time, tens of ms.  A loop foreseen to end within
:data:`DEFER_S` queues no compile in that run (``OsrState._defers``: the entry would
land too late).  The paced job checks at its *checkpoints* (between the compile's
stages) and sleeps, the GIL released, until the loop's running time has earned what
it used (:func:`wait_for`).  LLVM's optimisation and code generation release the GIL
(``released``): they run beside the loop on the other core and are not counted.

The other way round (the hand-off): while a paced job is on the GIL with budget to
spare (a compile that started late in a long loop, or the stages after LLVM), the
probe gives it the GIL (``time.sleep(0)``: about one switch interval, 5 ms) instead of
sharing it, so the entry lands sooner (:meth:`Pacer.hand_off`,
:func:`may_hand_off`).

The switch interval during LLVM: each of the ~90 llvmlite calls of a compile releases
the GIL and takes it back, and taking it back from a thread running bytecode waits for
that thread's switch interval (5 ms): beside a running loop, an OSR compile's LLVM
stages took 190 ms of wall time for 80 ms of work (leibniz_once, 2026-12-03; llvmlite's
context create and dispose calls took 5.1 ms each, all of it waiting).  So while a
paced job is in a ``released`` stage and a loop runs, ``sys.setswitchinterval`` is
:data:`SWITCH_S` (0.2 ms): the job gets the GIL back within that, and the loop, which
never waits for the GIL the job does not hold, loses a few hand-overs of microseconds.
The interval found is restored after the stage, unless another thread set one of its
own meanwhile (and in a child forked during the stage).  The stages holding the GIL
keep the interval found: their share is what the budget paces.

A window is the stretch of time probes keep ticking: one starts at a tick after
``quiet`` seconds without any (the loop ended, or none of a decorated function ran);
outside a window nothing is paced (the compile runs as any compile does).  A loop
whose 1,024 iterations take longer than ``quiet`` (50 ms) is never paced.

The state is one :data:`PACER` per process, written by the probes (any thread) and by
the paced job (on a broker thread), each field one store under the GIL; one paced job
at a time (a second, on another broker, runs unpaced).  What a job used is, over its
GIL stages (from a checkpoint, or the end of a ``released`` stretch, to the next: its
sleeps and LLVM left out), the time the loop's thread did not run (:meth:`Pacer.spent`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

from autotier.broker.broker import between_stages

#: the share of a loop's running time a paced compile may hold the GIL for
SHARE = 0.25
#: seconds without a probe tick after which no loop is taken to be running
QUIET_S = 0.05
#: the longest sleep of a paced job before it looks at the budget again (each wake-up
#: takes the GIL from the loop: on a loaded machine a hand-over of the GIL waits for
#: the OS to run the other thread, measured at ~4 ms a wake-up with 5 ms slices, which
#: cost a 65 ms loop 200 ms; so few, long sleeps)
SLICE_S = 0.05
#: spare budget (seconds) the probe needs before it gives the GIL away: one switch
#: interval, what a ``time.sleep(0)`` hands over at most
HANDOFF_S = 0.005
#: a loop foreseen to end within this many seconds of crossing its threshold queues no
#: OSR compile in that run (``OsrState._defers``): an entry lands 80-200 ms after it
#: is queued (timelines of the long-call kernels at a load of ~1), too late for it,
#: and the compile's GIL stages and hand-overs slowed such a call by up to half
DEFER_S = 0.1
#: the switch interval while a paced job's LLVM stage runs beside a loop (module
#: docstring): leibniz_once's LLVM stages, 190 ms beside its loop at 5 ms, 45 ms at this
SWITCH_S = 0.0002
#: the shortest sleep of a paced job (a wait of a few ns would not move the clock, and
#: a wake-up costs the loop)
MIN_SLEEP_S = 0.005
#: budget a paced job needs unused before it starts a stage (a stage runs to its end:
#: the reserve is what bounds its overrun first)
RESERVE_S = 0.005


def budget(elapsed: float, share: float = SHARE) -> float:
    """GIL seconds paced compiles may have used once a loop has run ``elapsed`` s."""
    return share * max(0.0, elapsed)


def wait_for(used: float, elapsed: float, share: float = SHARE,
             reserve: float = RESERVE_S) -> float:
    """Seconds a paced job that used ``used`` GIL seconds of a loop running for
    ``elapsed`` must sleep before its next stage: 0 while the budget has ``reserve``
    to spare; otherwise until the loop, running alone meanwhile, has earned the
    shortfall (``shortfall / share``)."""
    over = used + reserve - budget(elapsed, share)
    return over / share if over > 0 else 0.0


def may_hand_off(used: float, elapsed: float, share: float = SHARE,
                 quantum: float = HANDOFF_S) -> bool:
    """Whether the probe may give a paced job the GIL: at least ``quantum`` seconds of
    its budget unused."""
    return budget(elapsed, share) - used >= quantum


class Pacer:
    """One process's pacing state (module docstring)."""

    def __init__(self, share: float = SHARE, quiet: float = QUIET_S,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.share = share
        self.quiet = quiet
        self.clock = clock
        self.started = -math.inf  # the window's first tick
        self.until = -math.inf  # when the running loop is foreseen to end (``foresee``)
        self.last = -math.inf  # the latest tick
        self.base = 0.0  # what paced jobs had used when the window started
        # (what paced jobs took of the loop up to ``mark``, the clock when the current
        # GIL stage started, and the loop thread's CPU time then, or None; mark None:
        # no paced job is in a GIL stage): one tuple, so that one store updates all
        self._spent: tuple[float, float | None, float | None] = (0.0, None, None)
        self.job: int | None = None  # the thread running the paced job
        self._loop: tuple[int, int] | None = None  # the ticking thread, its CPU clock
        # (the switch interval to restore, the one set) while it is lowered, else None
        self._switch: tuple[float, float | None] | None = None

    # ------------------------------------------------------------ the probe's side
    def tick(self) -> None:
        """A probe's slow path ran: a loop is running interpreted."""
        now = self.clock()
        if now - self.last > self.quiet:
            self.started = now
            self.until = -math.inf
            self.base = self.spent()
        self.last = now
        ident = threading.get_ident()
        loop = self._loop
        if loop is None or loop[0] != ident:
            self._loop = (ident, time.pthread_getcpuclockid(ident))

    def foresee(self, ratio: float) -> None:
        """The running loop has ``ratio`` times the window's elapsed time still to run
        (its outermost ``for`` loop's iterations left over those begun): its budget is
        the share of that length from now on."""
        now = self.clock()
        if now - self.last <= self.quiet and ratio > 0:
            self.until = max(self.until, now + (now - self.started) * ratio)

    def too_short(self, ratio: float) -> bool:
        """Whether a loop with ``ratio`` times its elapsed time still to run ends
        within :data:`DEFER_S`: sooner than an OSR entry lands."""
        now = self.clock()
        return now - self.last <= self.quiet and (now - self.started) * ratio < DEFER_S

    def span(self, now: float) -> float:
        """The loop time a budget is the share of at ``now``: what the window ran, or
        the length foreseen for it, whichever is longer."""
        return max(now, self.until) - self.started

    def idle(self) -> None:
        """No loop is running (a probe waiting for its compile, tests)."""
        self.last = -math.inf

    def hand_off(self) -> bool:
        """Whether the probe should give the GIL to the paced job now: one is in a GIL
        stage, in a window, with budget to spare."""
        if self.job is None or self._spent[1] is None:
            return False
        now = self.clock()
        if now - self.last > self.quiet:
            return False
        return may_hand_off(self.used(), self.span(now), self.share)

    def give(self) -> None:
        """Give the GIL to the paced job: ``time.sleep(0)``; it runs until the switch
        interval hands the GIL back, or until it releases it (its stage's time counts
        the hand-off)."""
        time.sleep(0)

    def used(self) -> float:
        """What paced jobs took of the loop in this window."""
        return self.spent() - self.base

    def spent(self) -> float:
        """What paced jobs have taken of the loop so far (any thread may ask): of the
        wall time of each GIL stage, what the loop's thread did not run (its CPU
        clock, read from here).  Not the job's own CPU time: on a loaded machine a
        thread holding the GIL may not be running, and the loop waits all the same
        (measured: the job's CPU time left 40 ms of a 70 ms slowdown unexplained at a
        load of 5); and not the stage's wall time, which counts the stage's own waits
        for the GIL (the loop running): 2-5 times too much.  Where the loop's thread
        was not running for another reason (another process had the core), it counts
        too much, never too little."""
        spent, mark, cpu = self._spent
        if mark is None:
            return spent
        wall = self.clock() - mark
        now = self.loop_cpu()
        ran = 0.0 if cpu is None or now is None else now - cpu
        return spent + min(wall, max(0.0, wall - ran))

    def loop_cpu(self) -> float | None:
        """The CPU time of the thread that ticked last, None if there is none."""
        loop = self._loop
        if loop is None:
            return None
        try:
            return time.clock_gettime(loop[1])
        except OSError:  # the thread is gone
            return None

    # ------------------------------------------------------------ the job's side
    @contextlib.contextmanager
    def paced(self) -> Iterator[None]:
        """Run a compile job (on its broker thread) paced; no-op while another thread
        runs one."""
        if self.job is not None:
            yield
            return
        self._resume()
        self.job = threading.get_ident()
        try:
            yield
        finally:
            self._pause()
            self.job = None

    def _pause(self) -> None:
        self._spent = (self.spent(), None, None)

    def _resume(self) -> None:
        self._spent = (self._spent[0], self.clock(), self.loop_cpu())

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """A stretch of the paced job that does not hold the GIL (LLVM): not counted."""
        if self.job != threading.get_ident():
            yield
            return
        self._pause()
        self._quick_switches()
        try:
            yield
        finally:
            self._restore_switches()
            self._resume()

    def _quick_switches(self) -> None:
        """While a loop runs: the switch interval at :data:`SWITCH_S` (see the module
        docstring), remembering the one to restore."""
        before = sys.getswitchinterval()
        if self.clock() - self.last <= self.quiet and before > SWITCH_S:
            # remembered first (None: as it reads back, not known yet): a fork landing
            # just after the interval is set (the GIL may pass there) finds it in the
            # child (_after_fork_child)
            self._switch = (before, None)
            sys.setswitchinterval(SWITCH_S)
            self._switch = (before, sys.getswitchinterval())

    def _restore_switches(self) -> None:
        """The switch interval :meth:`_quick_switches` found, unless another thread set
        one of its own meanwhile (which stays)."""
        switch, self._switch = self._switch, None
        if switch is not None and switch[1] in (None, sys.getswitchinterval()):
            sys.setswitchinterval(switch[0])

    def checkpoint(self) -> None:
        """Between two stages of a paced job: sleep (the GIL released, not counted)
        while it is over its budget and the loop is still running."""
        if self.job != threading.get_ident():
            return
        self._pause()
        try:
            while True:
                now = self.clock()
                if now - self.last > self.quiet:
                    return
                wait = wait_for(self.used(), self.span(now), self.share)
                if wait <= 0:
                    return
                time.sleep(min(max(wait, MIN_SLEEP_S), SLICE_S))
        finally:
            self._resume()


PACER = Pacer()


def _after_fork_child() -> None:
    """Only the forking thread is left: no paced job runs."""
    PACER.job = None
    PACER._spent = (PACER._spent[0], None, None)
    PACER._loop = None
    PACER._restore_switches()  # a fork in the middle of an LLVM stage


os.register_at_fork(after_in_child=_after_fork_child)


def checkpoint() -> None:
    """Between two stages of a compile (no lock held): :meth:`Pacer.checkpoint` of the
    process's pacer (a no-op off a paced job), and the broker's
    :func:`~autotier.broker.broker.between_stages` (a normal job sets itself aside for
    the urgent jobs queued meanwhile)."""
    PACER.checkpoint()
    between_stages()
