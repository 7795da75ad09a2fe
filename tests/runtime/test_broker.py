"""The broker: a real background thread with a bounded queue that never dies, never
makes a caller wait, and never holds up interpreter exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

import autotier
from autotier import api
from autotier.broker import Broker, pacing
from autotier.broker import broker as broker_module
from autotier.runtime.bead import RETRY_AFTER_FULL_QUEUE
from tests.runtime.helpers import Gate, Recorded, bead_of, busy, make_hot, promote, settle, state


def poly(x):
    return 3 * x * x + 2 * x + 1


def new_poly(**kwargs):
    def p(x):
        return 3 * x * x + 2 * x + 1
    return make_hot(p, **kwargs)


def test_compiles_on_a_background_daemon_thread():
    seen: list[threading.Thread] = []
    hf = new_poly(before_compile=lambda request: seen.append(threading.current_thread()))
    promote(hf, 2)
    assert state(hf) == "compiled" and hf(4) == poly(4)
    assert len(seen) == 1 and seen[0] is not threading.main_thread()
    assert seen[0].daemon and seen[0].name == "autotier-broker"


def test_survives_a_crashing_compile_and_records_the_reason():
    gate = Gate(fail=ZeroDivisionError("the backend divided by zero"))
    gate.open()
    broken = new_poly(before_compile=gate)
    promote(broken, 2)
    row = autotier.stats(broken)
    assert row.state == "failed"
    assert row.reason == "internal error: ZeroDivisionError: the backend divided by zero"
    assert broken(5) == poly(5)  # still answers, interpreted
    healthy = new_poly()
    promote(healthy, 2)  # the same broker thread compiles the next job
    assert state(healthy) == "compiled" and healthy(5) == poly(5)


def test_full_queue_leaves_the_function_interpreted_without_spinning():
    broker = Broker(maxsize=1)
    gate = Gate()
    held = new_poly(broker=broker, before_compile=gate)
    for _ in range(3):
        held(1)
    gate.wait_entered()  # the thread is busy, the queue is empty
    queued = new_poly(broker=broker)
    for _ in range(3):
        queued(1)
    assert state(queued) == "queued"
    refused = new_poly(broker=broker)
    submits = []
    original = broker.submit
    bead = bead_of(refused)
    bead._submit = lambda job: submits.append(job) or original(job)
    for _ in range(3 + RETRY_AFTER_FULL_QUEUE - 2):
        assert refused(2) == poly(2)
    assert len(submits) == 1  # one refused submit; no retry before the back-off ends
    assert state(refused) == "interpreted"
    gate.open()
    settle(broker)
    for _ in range(5):
        refused(2)
    settle(broker)
    assert len(submits) == 2 and state(refused) == "compiled"
    broker.shutdown()


def test_wait_idle_times_out_while_a_compile_is_held():
    broker = Broker()
    gate = Gate()
    hf = new_poly(broker=broker, before_compile=gate)
    for _ in range(3):
        hf(1)
    gate.wait_entered()
    assert broker.wait_idle(0.05) is False
    gate.open()
    assert broker.wait_idle(60) is True
    assert state(hf) == "compiled"
    broker.shutdown()
    assert broker.submit(object()) is False  # type: ignore[arg-type]


def test_default_queue_bound():
    assert api.BROKER.maxsize == 256


EXIT_SCRIPT = textwrap.dedent("""
    import threading, time
    import autotier
    from autotier import api
    from autotier.backends.base import CompileRequest

    def slow(request: CompileRequest) -> None:
        time.sleep(0.3)

    funcs = []
    for i in range(40):
        ns = {}
        exec(f"def f{i}(a, b):\\n    return a * b + {i}\\n", ns)
        hf = api._make(ns[f"f{i}"], autotier.ThresholdPolicy(2),
                       autotier.ThresholdDeoptPolicy(), "auto", before_compile=slow)
        funcs.append(hf)
        for _ in range(3):
            assert hf(2, 3) == 6 + i
    assert api.BROKER.pending > 10, api.BROKER.pending
    print("exiting with", api.BROKER.pending, "jobs", flush=True)
""")


def test_interpreter_exit_with_queued_jobs_is_clean():
    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "exiting with" in proc.stdout
    assert "Traceback" not in proc.stderr and "Fatal" not in proc.stderr


# ------------------------------------------------------------------ urgent jobs
def test_an_urgent_job_runs_before_every_queued_normal_job():
    broker = Broker()
    log: list[str] = []
    release = busy(broker, log)
    for name in ("a", "b", "c"):
        assert broker.submit(Recorded(name, log))
    assert broker.submit(Recorded("u1", log, urgent=True))
    assert broker.submit(Recorded("d", log))
    assert broker.submit(Recorded("u2", log, urgent=True))
    assert broker.queued() == (2, 4)
    assert broker.pending == 7  # the running one too
    assert log == []
    release.set()
    assert broker.wait_idle(60)
    # the running job is not interrupted; the urgent ones next, FIFO among themselves
    assert log == ["blocker", "u1", "u2", "a", "b", "c", "d"]
    assert broker.pending == 0 and broker.queued() == (0, 0)
    assert broker.completed == 7
    broker.shutdown()


def test_a_job_without_an_urgent_attribute_is_normal():
    class Plain:
        def __init__(self, name: str, log: list[str]) -> None:
            self.name, self.log = name, log

        def run(self) -> None:
            self.log.append(self.name)

        def cancel(self) -> None:
            self.log.append(f"cancel:{self.name}")

    broker = Broker()
    log: list[str] = []
    release = busy(broker, log)
    assert broker.submit(Plain("plain", log))
    assert broker.submit(Recorded("u", log, urgent=True))
    assert broker.queued() == (1, 1)
    release.set()
    assert broker.wait_idle(60)
    assert log == ["blocker", "u", "plain"]
    broker.shutdown()


def test_the_bound_counts_both_lanes_and_refuses_urgent_jobs_too():
    broker = Broker(maxsize=2)
    log: list[str] = []
    release = busy(broker, log)  # running: not counted
    assert broker.submit(Recorded("a", log))
    assert broker.submit(Recorded("u1", log, urgent=True))
    assert not broker.submit(Recorded("u2", log, urgent=True))
    assert not broker.submit(Recorded("b", log))
    assert broker.pending == 3 and broker.queued() == (1, 1)
    release.set()
    assert broker.wait_idle(60)
    assert log == ["blocker", "u1", "a"]
    assert broker.submit(Recorded("c", log, urgent=True))  # room again
    assert broker.wait_idle(60)
    assert log[-1] == "c"
    broker.shutdown()


def test_shutdown_cancels_the_queued_jobs_of_both_lanes():
    broker = Broker()
    log: list[str] = []
    release = busy(broker, log)
    assert broker.submit(Recorded("a", log))
    assert broker.submit(Recorded("u", log, urgent=True))
    assert broker.submit(Recorded("b", log))
    broker.shutdown(0)
    assert sorted(log) == ["cancel:a", "cancel:b", "cancel:u"]
    assert broker.pending == 1  # the running job, still held
    assert broker.queued() == (0, 0)
    assert not broker.submit(Recorded("late", log, urgent=True))
    release.set()
    assert broker.wait_idle(60)
    assert log[-1] == "blocker" and broker.pending == 0
    thread = broker._thread
    assert thread is not None
    thread.join(60)
    assert not thread.is_alive()  # it ended after the running job, running no other
    assert "late" not in log


def long_loop(n):
    s = 0
    for i in range(n):
        s += i % 7
    return s


def test_a_compile_job_of_an_osr_entry_is_urgent_and_a_normal_one_is_not():
    broker = Broker()
    gate = Gate()
    held = new_poly(broker=broker, before_compile=gate)
    for _ in range(3):
        held(1)
    gate.wait_entered()  # the broker is busy: what follows stays queued
    jobs = []
    original = broker.submit

    def submit(job):
        jobs.append(job)
        return original(job)

    normal = new_poly(broker=broker)
    bead_of(normal)._submit = submit
    for _ in range(3):
        normal(1)
    looping = make_hot(long_loop, broker=broker,
                       policy=autotier.ThresholdPolicy(threshold=10**9, loop_threshold=2_000))
    bead_of(looping)._submit = submit  # an OSR child submits as its parent does
    assert looping(50_000) == long_loop(50_000)  # interpreted: its entry is queued
    assert [job.urgent for job in jobs] == [False, True]
    assert jobs[1].bead.paced and not jobs[0].bead.paced
    assert broker.queued() == (1, 1)
    gate.open()
    settle(broker)
    assert state(normal) == "compiled"
    assert looping(50_000) == long_loop(50_000)
    osr = bead_of(looping).osr
    assert osr is not None and osr.entries == 1
    broker.shutdown()


class Staged(Recorded):
    """A job with a stage boundary: it logs ``<name>:1``, waits for ``between`` (the
    test queues jobs meanwhile), calls ``pacing.checkpoint()`` as a compile's stages
    do, and logs ``<name>:2``."""

    def __init__(self, name: str, log: list[str], *, urgent: bool = False) -> None:
        super().__init__(name, log, urgent=urgent)
        self.between = threading.Event()
        self.pending_seen: list[int] = []
        self.inline: list[float] = []  # this thread's inline seconds around the checkpoint
        self.broker: Broker | None = None

    def run(self) -> None:
        self.log.append(f"{self.name}:1")
        self.started.set()
        assert self.between.wait(60), "never released"
        self.inline.append(broker_module.inline_seconds())
        pacing.checkpoint()
        self.inline.append(broker_module.inline_seconds())
        if self.broker is not None:
            self.pending_seen.append(self.broker.pending)
        self.log.append(f"{self.name}:2")


def test_a_running_normal_job_sets_itself_aside_at_a_stage_boundary_for_urgent_jobs():
    broker = Broker()
    log: list[str] = []
    normal = Staged("n", log)
    normal.broker = broker
    assert broker.submit(normal)
    assert normal.started.wait(60)
    assert broker.submit(Recorded("a", log))
    assert broker.submit(Recorded("u1", log, urgent=True))
    assert broker.submit(Recorded("u2", log, urgent=True))
    assert broker.pending == 4
    normal.between.set()
    assert broker.wait_idle(60)
    # both urgent jobs ran at the normal job's checkpoint, on the broker's thread;
    # the queued normal job waited for the running one to finish
    assert log == ["n:1", "u1", "u2", "n:2", "a"]
    assert normal.pending_seen == [2]  # the urgent ones counted done, exactly
    assert normal.inline[1] > normal.inline[0]  # what a compile leaves out of its time
    assert broker.completed == 4
    assert broker_module.inline_seconds() == 0.0  # (this thread is no broker's)
    broker.shutdown()


def test_an_urgent_job_is_never_set_aside():
    broker = Broker()
    log: list[str] = []
    release = busy(broker, log)
    first = Staged("u1", log, urgent=True)
    assert broker.submit(first)
    release.set()
    assert first.started.wait(60)
    assert broker.submit(Recorded("u2", log, urgent=True))
    first.between.set()
    assert broker.wait_idle(60)
    assert log == ["blocker", "u1:1", "u1:2", "u2"]
    assert first.inline[1] == first.inline[0]
    broker.shutdown()


def test_a_checkpoint_off_a_broker_thread_runs_nothing():
    broker = Broker()
    log: list[str] = []
    release = busy(broker, log)
    assert broker.submit(Recorded("u", log, urgent=True))
    pacing.checkpoint()  # the test's thread: not the broker's
    assert log == [] and broker.queued() == (1, 0)
    release.set()
    assert broker.wait_idle(60)
    assert log == ["blocker", "u"]
    broker.shutdown()


def test_a_closed_broker_runs_no_urgent_job_at_a_stage_boundary():
    broker = Broker()
    log: list[str] = []
    normal = Staged("n", log)
    assert broker.submit(normal)
    assert normal.started.wait(60)
    assert broker.submit(Recorded("u", log, urgent=True))
    broker.shutdown(0)
    assert log == ["n:1", "cancel:u"]
    normal.between.set()
    assert broker.wait_idle(60)
    assert log == ["n:1", "cancel:u", "n:2"]


def test_wait_idle_says_what_timeout_it_takes():
    with pytest.raises(TypeError, match="timeout must be a number of seconds or None, not str"):
        autotier.wait_idle("x")  # type: ignore[arg-type]
    assert autotier.wait_idle(-1) in (True, False)  # zero or less: just look
