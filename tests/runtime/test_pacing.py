"""Pacing an OSR compile against the loop it is for (autotier.broker.pacing), and the
compiler's modules imported ahead (autotier.backends.ahead): the logic, never a time."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import autotier
from autotier.broker import pacing
from autotier.osr import state as osr_state
from tests.runtime.helpers import Gate, bead_of, make_hot, settle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Spent(pacing.Pacer):
    """A pacer whose paced job's GIL seconds the test sets."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.spent_s = 0.0

    def spent(self) -> float:  # type: ignore[override]
        return self.spent_s


# ------------------------------------------------------------------ the budget
def test_the_budget_is_the_share_of_the_loop_time():
    assert pacing.budget(0.0) == 0.0
    assert pacing.budget(-1.0) == 0.0
    assert pacing.budget(2.0, 0.25) == 0.5
    assert pacing.budget(2.0) == pacing.SHARE * 2.0


def test_wait_for_is_zero_within_the_budget_and_its_reserve():
    assert pacing.wait_for(0.0, 1.0, 0.25, 0.01) == 0.0
    assert pacing.wait_for(0.24, 1.0, 0.25, 0.01) == 0.0
    assert pacing.wait_for(0.25, 1.0, 0.25, 0.0) == 0.0
    # over: until the loop, alone meanwhile, has earned the shortfall
    assert pacing.wait_for(0.3, 1.0, 0.25, 0.0) == pytest.approx(0.2)
    assert pacing.wait_for(0.0, 0.0, 0.25, 0.01) == pytest.approx(0.04)


def test_sleeping_what_wait_for_says_brings_a_job_within_its_budget():
    rng = random.Random(12)
    for _ in range(1000):
        share = rng.uniform(0.05, 0.9)
        reserve = rng.uniform(0.0, 0.02)
        used = rng.uniform(0.0, 2.0)
        elapsed = rng.uniform(0.0, 5.0)
        wait = pacing.wait_for(used, elapsed, share, reserve)
        assert wait >= 0.0
        assert pacing.wait_for(used, elapsed + wait, share, reserve) <= 1e-9
        if wait > 1e-9:  # and no shorter sleep would
            assert pacing.wait_for(used, elapsed + wait / 2, share, reserve) > 0.0


def test_a_hand_off_needs_a_quantum_of_spare_budget():
    assert pacing.may_hand_off(0.0, 1.0, 0.25, 0.005)
    assert pacing.may_hand_off(0.245, 1.0, 0.25, 0.005)
    assert not pacing.may_hand_off(0.246, 1.0, 0.25, 0.005)
    assert not pacing.may_hand_off(0.0, 0.0, 0.25, 0.005)


# ------------------------------------------------------------------ the window
def test_ticks_open_a_window_and_a_quiet_gap_starts_a_new_one():
    clock = Clock()
    pacer = Spent(clock)
    pacer.spent_s = 3.0
    pacer.tick()
    assert pacer.started == 100.0 and pacer.base == 3.0
    clock.now += pacer.quiet / 2
    pacer.tick()  # the same window
    assert pacer.started == 100.0
    clock.now += pacer.quiet * 2
    pacer.spent_s = 4.0
    pacer.tick()  # the loop had ended: a new window, nothing used in it yet
    assert pacer.started == clock.now and pacer.base == 4.0
    assert pacer.used() == 0.0


def test_no_hand_off_without_a_paced_job_on_the_gil_or_outside_a_window():
    clock = Clock()
    pacer = Spent(clock)
    pacer.tick()
    clock.now += 10.0
    pacer.tick()  # (a new window: restart it long ago)
    pacer.started = clock.now - 10.0
    assert not pacer.hand_off()  # no paced job
    pacer.job = threading.get_ident()
    assert not pacer.hand_off()  # a job, but off the GIL (in LLVM: mark None)
    pacer._spent = (0.0, 0.0, None)
    assert pacer.hand_off()  # on the GIL, 2.5 s of budget unused
    pacer.spent_s = 2.5
    assert not pacer.hand_off()  # used up
    pacer.spent_s = 0.0
    pacer.idle()
    assert not pacer.hand_off()  # no loop running


def test_a_checkpoint_sleeps_until_the_running_loop_earned_the_overrun(monkeypatch):
    clock = Clock()
    pacer = Spent(clock)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the loop runs (and ticks) meanwhile
        slept.append(seconds)
        clock.now += seconds
        pacer.tick()

    monkeypatch.setattr(pacing.time, "sleep", sleep)
    pacer.checkpoint()  # not the paced job's thread: never waits
    pacer.job = threading.get_ident()
    pacer.checkpoint()  # no loop running: nothing to pace against
    assert slept == []
    pacer.tick()
    pacer.started -= 0.4  # the loop has run for 0.4 s
    pacer.spent_s = pacer.base + 0.1 - pacing.RESERVE_S  # the budget: 0.1 s at 0.4 s
    pacer.checkpoint()
    assert slept == []
    pacer.spent_s = pacer.base + 0.2
    pacer.checkpoint()
    expected = (0.2 + pacing.RESERVE_S - pacing.SHARE * 0.4) / pacing.SHARE
    assert sum(slept) == pytest.approx(expected, abs=pacing.MIN_SLEEP_S + 1e-9)
    assert max(slept) <= pacing.SLICE_S
    assert pacing.wait_for(pacer.used(), clock.now - pacer.started) == 0.0


def test_a_checkpoint_stops_waiting_once_the_loop_ended(monkeypatch):
    clock = Clock()
    pacer = Spent(clock)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # no tick: the loop has returned
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(pacing.time, "sleep", sleep)
    pacer.job = threading.get_ident()
    pacer.tick()
    pacer.spent_s = 10.0  # far over
    pacer.checkpoint()
    assert sum(slept) <= pacer.quiet + pacing.SLICE_S


class Loop(pacing.Pacer):
    """A pacer whose loop thread's CPU time the test sets (None: unknown)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.cpu: float | None = None

    def loop_cpu(self) -> float | None:
        return self.cpu


def test_a_paced_job_counts_its_gil_stages_and_not_its_sleeps_or_llvm(monkeypatch):
    clock = Clock()
    pacer = Loop(clock)

    def sleep(seconds: float) -> None:  # the loop runs (and ticks) meanwhile
        clock.now += seconds
        pacer.tick()

    monkeypatch.setattr(pacing.time, "sleep", sleep)
    pacer.tick()
    with pacer.paced():
        assert pacer.job == threading.get_ident()
        clock.now += 0.02  # a stage
        assert pacer.spent() == pytest.approx(0.02)
        assert pacer.hand_off() is False  # 0.02 s used of a 0.005 s budget
        pacer.checkpoint()  # sleeps until the loop earned it: not counted
        assert pacer.spent() == pytest.approx(0.02)
        assert pacing.wait_for(pacer.used(), clock.now - pacer.started) == 0.0
        with pacer.released():  # LLVM: not counted
            for _ in range(100):  # the loop ticks meanwhile
                sleep(0.005)
            assert pacer.spent() == pytest.approx(0.02)
            assert not pacer.hand_off()  # the job does not want the GIL
        pacer.tick()
        assert pacer.hand_off()  # the budget grew while LLVM ran
        clock.now += 0.01
        assert pacer.spent() == pytest.approx(0.03)
    assert pacer.job is None
    clock.now += 1.0
    assert pacer.spent() == pytest.approx(0.03)  # no job: nothing counted
    assert not pacer.hand_off()


def test_an_llvm_stage_beside_a_loop_runs_at_the_quick_switch_interval():
    clock = Clock()
    pacer = Loop(clock)
    found = sys.getswitchinterval()
    try:
        pacer.tick()
        with pacer.paced():
            assert sys.getswitchinterval() == found  # a GIL stage: the interval found
            with pacer.released():
                assert sys.getswitchinterval() == pytest.approx(pacing.SWITCH_S)
            assert sys.getswitchinterval() == found
            clock.now += 1.0  # the loop ended: nothing to hand the GIL back from
            with pacer.released():
                assert sys.getswitchinterval() == found
        with pacer.released():  # no paced job on this thread
            assert sys.getswitchinterval() == found
    finally:
        sys.setswitchinterval(found)


def test_a_switch_interval_set_during_the_llvm_stage_stays():
    clock = Clock()
    pacer = Loop(clock)
    found = sys.getswitchinterval()
    try:
        pacer.tick()
        with pacer.paced(), pacer.released():
            sys.setswitchinterval(0.001)  # the user's own, from any thread
        assert sys.getswitchinterval() == pytest.approx(0.001)
    finally:
        sys.setswitchinterval(found)


def test_a_child_forked_during_the_llvm_stage_gets_the_interval_back(monkeypatch):
    clock = Clock()
    pacer = Loop(clock)
    monkeypatch.setattr(pacing, "PACER", pacer)
    found = sys.getswitchinterval()
    try:
        pacer.tick()
        with pacer.paced(), pacer.released():
            assert sys.getswitchinterval() == pytest.approx(pacing.SWITCH_S)
            pacing._after_fork_child()  # what os.fork() runs in the child
            assert sys.getswitchinterval() == found
            assert pacer.job is None
    finally:
        sys.setswitchinterval(found)


def test_a_child_forked_just_as_the_interval_is_lowered_gets_it_back(monkeypatch):
    """The GIL may pass to a forking thread between ``sys.setswitchinterval`` and the
    store of what to restore: the child's hook must find the interval to restore."""
    clock = Clock()
    pacer = Loop(clock)
    monkeypatch.setattr(pacing, "PACER", pacer)
    found = sys.getswitchinterval()
    real = sys.setswitchinterval
    in_child: list[float] = []

    def set_then_fork(interval: float) -> None:
        real(interval)
        if interval == pacing.SWITCH_S and not in_child:  # os.fork() lands here
            parent = (pacer.job, pacer._spent, pacer._loop, pacer._switch)
            pacing._after_fork_child()  # what the child runs, on its copy
            in_child.append(sys.getswitchinterval())
            pacer.job, pacer._spent, pacer._loop, pacer._switch = parent
            real(interval)  # (the parent's interval is still lowered)

    monkeypatch.setattr(sys, "setswitchinterval", set_then_fork)
    try:
        pacer.tick()
        with pacer.paced(), pacer.released():
            assert sys.getswitchinterval() == pytest.approx(pacing.SWITCH_S)
        assert sys.getswitchinterval() == found
    finally:
        real(found)
    assert in_child == [found]


def test_a_stage_counts_only_what_the_loop_did_not_run():
    clock = Clock()
    pacer = Loop(clock)
    pacer.cpu = 5.0
    pacer.tick()
    with pacer.paced():
        clock.now += 0.02
        pacer.cpu += 0.015  # the loop ran for 15 ms of the stage's 20
        assert pacer.spent() == pytest.approx(0.005)
        pacer.cpu += 0.05  # (a clock read late: never below nothing)
        assert pacer.spent() == 0.0
        pacer.cpu = None  # the loop's clock unknown: the whole stage
        assert pacer.spent() == pytest.approx(0.02)


def test_the_loop_clock_is_the_ticking_threads():
    pacer = pacing.Pacer()
    assert pacer.loop_cpu() is None
    pacer.tick()
    own = time.clock_gettime(time.pthread_getcpuclockid(threading.get_ident()))
    assert pacer.loop_cpu() is not None and pacer.loop_cpu() >= own  # type: ignore[operator]
    other = []
    worker = threading.Thread(target=lambda: (pacer.tick(), other.append(pacer._loop)))
    worker.start()
    worker.join(60)
    assert other[0][0] == worker.ident


def test_one_paced_job_at_a_time():
    pacer = pacing.Pacer()
    inside = threading.Event()
    release = threading.Event()
    jobs = []

    def first() -> None:
        with pacer.paced():
            inside.set()
            release.wait(60)

    worker = threading.Thread(target=first)
    worker.start()
    assert inside.wait(60)
    with pacer.paced():  # a second broker's job: unpaced
        jobs.append(pacer.job)
        pacer.checkpoint()  # not the job's thread: returns at once
    release.set()
    worker.join(60)
    assert jobs == [worker.ident]
    assert pacer.job is None


# ------------------------------------------------------------------ the probe
def long_loop(n):
    s = 0
    for i in range(n):
        s += i % 7
    return s


class Recording(pacing.Pacer):
    """A pacer that always allows a hand-off, and counts ticks and hand-offs."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks = 0
        self.gave = 0

    def tick(self) -> None:
        self.ticks += 1
        super().tick()

    def hand_off(self) -> bool:
        return True

    def give(self) -> None:
        self.gave += 1


def test_the_probe_hands_off_only_while_its_own_entry_compiles(monkeypatch):
    fake = Recording()
    monkeypatch.setattr(pacing, "PACER", fake)
    gate = Gate()
    hf = make_hot(long_loop, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=2_000),
                  before_compile=gate)
    osr = bead_of(hf).osr
    assert osr is not None
    assert not osr_state.hands_off(osr, fake)
    assert hf(1_000) == long_loop(1_000)  # below the threshold: nothing compiles
    assert fake.ticks == 0 and fake.gave == 0
    got = []
    caller = threading.Thread(target=lambda: got.append(hf(200_000)))
    caller.start()
    gate.wait_entered()  # the entry's compile, held on the broker
    caller.join(60)
    assert got == [long_loop(200_000)]  # interpreted to the end beside it
    assert fake.ticks > 100
    assert fake.gave > 50  # every later slow path of the call handed off
    assert osr_state.hands_off(osr, fake)
    gate.open()
    settle()
    assert not osr_state.hands_off(osr, fake)  # landed: never again
    gave = fake.gave
    assert hf(200_000) == long_loop(200_000)
    assert osr.entries == 1
    assert fake.gave == gave


def test_the_probe_never_hands_off_once_the_bead_gave_up(monkeypatch):
    fake = Recording()
    monkeypatch.setattr(pacing, "PACER", fake)
    gate = Gate()
    hf = make_hot(long_loop, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=2_000),
                  before_compile=gate)
    osr = bead_of(hf).osr
    assert osr is not None
    caller = threading.Thread(target=hf, args=(50_000,))
    caller.start()
    gate.wait_entered()
    caller.join(60)
    assert osr_state.hands_off(osr, fake)
    autotier.invalidate(hf)
    assert not osr_state.hands_off(osr, fake)
    gave = fake.gave
    assert hf(50_000) == long_loop(50_000)  # the original function: no probe at all
    assert fake.gave == gave
    gate.open()
    settle()


# ------------------------------------------------------------------ ahead
def _run(script: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_decorating_a_function_with_a_loop_imports_the_compiler_once():
    out = _run("""
        import sys
        import autotier

        def no_loop(x):
            return x + 1

        def loop(n):
            s = 0
            for i in range(n):
                s += i
            return s

        autotier.hot(no_loop)
        print("lowering" in " ".join(sys.modules))
        autotier.hot(loop)
        print("autotier.frontend.lowering" in sys.modules)
    """)
    assert out.split() == ["False", "True"]


def test_an_osr_compile_after_the_ahead_import_imports_no_module_of_autotiers():
    out = _run("""
        import sys
        import autotier
        from autotier.bench_longcall import leibniz

        f = autotier.hot(leibniz, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                                  loop_threshold=2))
        before = set(sys.modules)
        f._bead.osr.wait_compile = True
        assert f(1000) == leibniz(1000)
        assert autotier.stats(f).osr_entries == 1
        print(sorted(m for m in set(sys.modules) - before if m.startswith("autotier")))
    """)
    assert out.strip() == "[]"
