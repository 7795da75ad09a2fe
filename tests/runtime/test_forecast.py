"""The pacer's forecast of a loop's length (issue 12): an OSR compile is paced against
the length of the loop nest foreseen from its outermost ``for`` loop's progress
(``iterstate.progress``, ``Header.outer_for``, ``Pacer.foresee``), never a time."""

from __future__ import annotations

import math
import sys
import threading

import pytest

import autotier
from autotier.broker import pacing
from autotier.osr import instrument, iterstate, state
from tests.runtime.helpers import Gate, bead_of, make_hot, settle
from tests.runtime.test_pacing import Clock, long_loop


# ------------------------------------------------------------------ progress
def test_progress_of_range_list_and_tuple_iterators():
    it = iter(range(5, 100, 3))
    next(it), next(it)
    assert iterstate.progress(it) == (2, 30)
    seq = iter([1, 2, 3])
    next(seq)
    assert iterstate.progress(seq) == (1, 2)
    tup = iter((1, 2))
    assert iterstate.progress(tup) == (0, 2)


def test_no_progress_of_other_or_exhausted_iterators():
    done = iter([1])
    next(done)
    with pytest.raises(StopIteration):
        next(done)
    assert iterstate.progress(done) is None  # its __reduce__ names no index
    assert iterstate.progress(iter({1: 2})) is None
    assert iterstate.progress(enumerate([1, 2])) is None
    assert iterstate.progress(x for x in range(3)) is None


# ------------------------------------------------------------------ headers
def for_around_while(n):
    total = 0
    for i in range(n):
        x = i
        while x > 1:
            x //= 2
            total += 1
    return total


def while_around_for(n):
    total = 0
    while n > 0:
        for i in range(n):
            total += i
        n -= 1
    return total


def for_in_for(a, b):
    total = 0
    for i in a:
        for j in b:
            total += i * j
    return total


@pytest.mark.parametrize(("func", "outer"), [
    (for_around_while, [True, True]),
    (while_around_for, [False, False]),
    (for_in_for, [True, True]),
])
def test_a_header_knows_whether_its_outermost_loop_is_a_for(func, outer):
    assert [h.outer_for for h in instrument.headers(func.__code__)] == outer


# ------------------------------------------------------------------ the pacer
def test_a_forecast_makes_the_budget_the_share_of_the_length_foreseen():
    clock = Clock()
    pacer = pacing.Pacer(clock=clock)
    pacer.tick()
    clock.now += 0.01
    pacer.tick()
    assert pacer.span(clock.now) == pytest.approx(0.01)
    pacer.foresee(99.0)  # 1% of the loop ran in 10 ms: 990 ms to go
    assert pacer.span(clock.now) == pytest.approx(1.0)
    assert pacing.wait_for(0.2, pacer.span(clock.now)) == 0.0  # 0.2 s of a 0.25 s budget
    pacer.foresee(1.0)  # a later, shorter forecast never shrinks it
    assert pacer.span(clock.now) == pytest.approx(1.0)
    clock.now += 2.0  # past the forecast: the time run, as without one
    pacer.tick()  # (a quiet gap: a new window, without a forecast)
    assert pacer.span(clock.now) == 0.0


def test_no_forecast_outside_a_window():
    clock = Clock()
    pacer = pacing.Pacer(clock=clock)
    pacer.tick()
    clock.now += 1.0  # the loop ended
    pacer.foresee(1000.0)
    assert pacer.until == float("-inf")


class Foreseeing(pacing.Pacer):
    def __init__(self) -> None:
        super().__init__()
        self.ratios: list[float] = []

    def foresee(self, ratio: float) -> None:
        self.ratios.append(ratio)
        super().foresee(ratio)


def test_the_probe_foresees_a_range_loop_when_it_queues_the_entry(monkeypatch):
    fake = Foreseeing()
    monkeypatch.setattr(pacing, "PACER", fake)
    gate = Gate()
    hf = make_hot(long_loop, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=2_000),
                  before_compile=gate)
    got = []
    caller = threading.Thread(target=lambda: got.append(hf(200_000)))
    caller.start()
    gate.wait_entered()
    gate.open()
    caller.join(60)
    settle()
    assert got == [long_loop(200_000)]
    # queued at the 2,048th back edge of 200,000: ~97 times as long to go
    assert len(fake.ratios) == 1 and 90 < fake.ratios[0] < 100
    assert bead_of(hf).osr is not None


def test_a_while_loop_around_the_for_is_not_foreseen(monkeypatch):
    fake = Foreseeing()
    monkeypatch.setattr(pacing, "PACER", fake)
    hf = make_hot(while_around_for, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                                    loop_threshold=2_000))
    assert hf(300) == while_around_for(300)
    settle()
    osr = bead_of(hf).osr
    assert osr is not None and osr.table  # its entry was queued, unforeseen
    assert fake.ratios == []


# ------------------------------------------------------------------ deferral
def test_a_loop_foreseen_to_end_soon_queues_its_entry_on_its_next_run(monkeypatch):
    monkeypatch.setattr(pacing, "DEFER_S", 3600.0)  # every loop ends "too soon"
    hf = make_hot(long_loop, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=2_000))
    osr = bead_of(hf).osr
    assert osr is not None
    assert hf(100_000) == long_loop(100_000)  # past its threshold, nothing queued
    settle()
    assert not osr.table and list(osr.deferred) == [0]
    assert hf(100_000) == long_loop(100_000)  # the next run queues it
    settle()
    assert len(osr.table) == 1
    assert hf(100_000) == long_loop(100_000)  # and enters it
    assert osr.entries == 1


def test_a_loop_foreseen_to_run_long_queues_its_entry_at_once(monkeypatch):
    monkeypatch.setattr(pacing, "DEFER_S", 1e-9)
    hf = make_hot(long_loop, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=2_000))
    osr = bead_of(hf).osr
    assert osr is not None
    assert hf(100_000) == long_loop(100_000)
    settle()
    assert len(osr.table) == 1 and not osr.deferred


def test_a_while_nest_and_wait_compile_are_never_deferred(monkeypatch):
    monkeypatch.setattr(pacing, "DEFER_S", 3600.0)
    hf = make_hot(while_around_for, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                                    loop_threshold=2_000))
    assert hf(300) == while_around_for(300)
    settle()
    osr = bead_of(hf).osr
    assert osr is not None and osr.table and not osr.deferred  # no forecast: queued
    hf = make_hot(long_loop, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=2_000))
    osr = bead_of(hf).osr
    assert osr is not None
    osr.wait_compile = True  # (tests: enter at the threshold's iteration)
    assert hf(100_000) == long_loop(100_000)
    assert osr.entries == 1 and not osr.deferred


def test_too_short_is_the_forecast_against_the_deferral_time():
    clock = Clock()
    pacer = pacing.Pacer(clock=clock)
    pacer.tick()
    clock.now += 0.01
    pacer.tick()
    assert pacer.too_short(5.0) == (0.05 < pacing.DEFER_S)
    assert not pacer.too_short(1000.0)
    clock.now += 1.0  # no loop running
    assert not pacer.too_short(0.0)


def few_rows(rows, n):
    total = 0
    for r in range(rows):
        for j in range(n):
            total += j * r
    return total


def test_an_inner_loop_in_its_outer_loops_first_iteration_is_not_deferred(monkeypatch):
    """While the outer loop's first iteration runs, its progress (1 begun, ``rows - 1``
    left) says nothing of how long that iteration has still to run: the inner loop
    past its threshold may run for seconds (2 rows of 5e6 iterations ran interpreted
    to the end, 0.79 s against 0.21 s entered).  No forecast there: never deferred."""
    monkeypatch.setattr(pacing, "DEFER_S", 3600.0)  # every forecast loop ends "too soon"
    hf = make_hot(few_rows, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                            loop_threshold=2_000))
    osr = bead_of(hf).osr
    assert osr is not None
    assert hf(2, 100_000) == few_rows(2, 100_000)
    settle()
    assert len(osr.table) == 1 and not osr.deferred


def test_an_inner_loops_forecast_counts_the_outer_iteration_running_as_to_come():
    header = next(h for h in instrument.headers(few_rows.__code__) if h.number == 1)
    outer = iter(range(10))
    next(outer)
    # (at least, at most): 1 begun, 9 left: at least 9 times as long again, at most
    # unbounded (the running iteration may be all of the nest)
    assert state._forecast(header, (outer, iter(range(5)))) == (9.0, math.inf)
    next(outer), next(outer)  # 3 begun: 2 done, 7 left and the one running
    least, most = state._forecast(header, (outer, iter(range(5))))
    assert least == pytest.approx(7 / 3) and most == pytest.approx(8 / 2)
    top = next(h for h in instrument.headers(few_rows.__code__) if h.number == 0)
    assert state._forecast(top, (outer,)) == (pytest.approx(7 / 3),) * 2  # its own header


def scan(data, limit):
    total = 0.0
    for x in data:
        if x > limit:
            return total
        total += x
    return total


def test_a_deferred_run_that_returns_early_leaves_nothing_of_it_held(monkeypatch):
    """The run a deferral waits out is told by its outermost iterator; one left part-way
    (a return or a break out of the loop) must not keep that iterator, and its list,
    alive until the header's next run (which may never come)."""
    monkeypatch.setattr(pacing, "DEFER_S", 3600.0)
    hf = make_hot(scan, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                        loop_threshold=2_000))
    osr = bead_of(hf).osr
    assert osr is not None
    data = [1.0] * 10_000 + [9.0] + [1.0] * 100
    before = sys.getrefcount(data)
    assert hf(data, 5.0) == scan(data, 5.0)
    settle()
    assert list(osr.deferred) == [0] and not osr.table  # deferred, then it returned
    assert sys.getrefcount(data) == before
    assert hf(data, 5.0) == scan(data, 5.0)  # the next run queues it
    settle()
    assert len(osr.table) == 1
