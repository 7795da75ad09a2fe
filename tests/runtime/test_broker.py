"""The broker: a real background thread with a bounded queue that never dies, never
makes a caller wait, and never holds up interpreter exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import autotier
from autotier import api
from autotier.broker import Broker
from autotier.runtime.bead import RETRY_AFTER_FULL_QUEUE
from tests.runtime.helpers import Gate, bead_of, make_hot, promote, settle, state


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
