"""A long native loop still lets CPython run signal handlers: Ctrl-C (or any handler
that raises) interrupts compiled code as it interrupts the interpreter."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

import autotier
from tests.runtime.helpers import bead_of, interpreted_frames, make_hot, promote, settle


class Interrupted(Exception):
    pass


def spin(n):
    i = 0
    while i < n:
        i += 1
    return i


def spin_for(n):
    s = 0.0
    for i in range(n):
        s += i * 0.5
    return s


def _raise(signum, frame):
    raise Interrupted


def spin_deep(depth, n):
    if depth > 0:
        return spin_deep(depth - 1, n) + 1  # native recursion: a bailout unwinds
    i = 0
    while i < n:
        i += 1
    return i


@pytest.mark.parametrize("func", [spin, spin_for])
def test_a_signal_handler_interrupts_a_native_loop(func):
    hf = make_hot(func)
    promote(hf, 10)
    assert autotier.stats(hf).state == "compiled"
    expected = func(1000)
    with interpreted_frames(hf) as frames:
        assert hf(1000) == expected
    assert frames[0] == 0
    old = signal.signal(signal.SIGALRM, _raise)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with interpreted_frames(hf) as frames, pytest.raises(Interrupted):
            hf(2**62)  # centuries of iterations
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert frames[0] == 0  # it was the native loop that got interrupted
    assert time.monotonic() - started < 60
    assert autotier.stats(hf).bailouts == 0  # an interruption is not a bailout
    assert hf(100) == func(100)


def test_a_signal_handler_interrupts_a_loop_deep_in_a_native_recursion():
    hf = make_hot(spin_deep)
    ns = spin_deep.__globals__
    saved = ns["spin_deep"]
    ns["spin_deep"] = hf  # the recursion goes through the hot object: native calls
    try:
        promote(hf, 3, 10)
        assert autotier.stats(hf).state == "compiled"
        with interpreted_frames(hf) as frames:
            assert hf(50, 1000) == 1050
        assert frames[0] == 0
        old = signal.signal(signal.SIGALRM, _raise)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with interpreted_frames(hf) as frames, pytest.raises(Interrupted):
                hf(50, 2**62)  # the loop 50 native frames down never ends
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        assert frames[0] == 0
        assert autotier.stats(hf).bailouts == 0
        assert hf(20, 5) == 25
    finally:
        ns["spin_deep"] = saved


def test_native_function_propagates_the_signal_exception():
    hf = make_hot(spin)
    promote(hf, 10)
    body = autotier.native(hf, int)
    old = signal.signal(signal.SIGALRM, _raise)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            body(2**62)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert body(50) == 50


STOP = False


def poll(n):
    i = 0
    while not STOP:  # a flag a signal handler sets
        i += 1
    return n


def _stop(signum, frame):
    global STOP
    STOP = True


def test_a_handler_setting_a_polled_global_ends_the_native_loop():
    global STOP
    hf = make_hot(poll, deopt=autotier.AlwaysRecompilePolicy())
    STOP = True
    promote(hf, 1)  # the loop is not entered while STOP is True
    STOP = False
    assert bead_of(hf).reload()  # compiled now with STOP False: natively, a loop forever
    settle()
    assert autotier.stats(hf).state == "compiled"
    old = signal.signal(signal.SIGALRM, _stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        assert hf(7) == 7  # the handler sets STOP: the native loop bails, CPython answers
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        STOP = False
    assert bead_of(hf).last_bailout == "rebound global STOP"


def poll_count():
    i = 0
    while not STOP:
        i += 1
    return i  # the iterations run before the flag was seen


def test_a_loop_ended_by_a_polled_global_answers_the_iterations_it_ran():
    """No CPython run of poll_count() started before STOP is set can answer 0: the
    loop runs at least once (the handler fires 0.3 s in).  Issue 7 point 4: the
    periodic check that sees STOP rebound deoptimises precisely at the loop's back
    edge, and the interpreter goes on from the count the native loop reached."""
    global STOP
    hf = make_hot(poll_count, deopt=autotier.AlwaysRecompilePolicy())
    STOP = True
    promote(hf)
    STOP = False
    assert bead_of(hf).reload()
    settle()
    assert autotier.stats(hf).state == "compiled"
    old = signal.signal(signal.SIGALRM, _stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        result = hf()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        STOP = False
    assert bead_of(hf).last_bailout == "rebound global STOP"  # it did run natively
    assert result > 0
    row = autotier.stats(hf)
    assert row.resumes == 1 and row.last_bailout_line is not None


RUNNING = True


def worker_loop(n):
    i = 0
    while RUNNING:  # another thread ends it by rebinding RUNNING
        i += 1
    return n


def test_a_native_loop_lets_other_threads_run_and_sees_their_globals():
    global RUNNING
    hf = make_hot(worker_loop, deopt=autotier.AlwaysRecompilePolicy())
    RUNNING = False
    promote(hf, 1)
    RUNNING = True
    assert bead_of(hf).reload()  # compiled with RUNNING True: natively, a loop forever
    settle()
    assert autotier.stats(hf).state == "compiled"
    result = []
    worker = threading.Thread(target=lambda: result.append(hf(5)), daemon=True)
    worker.start()
    try:
        started = time.monotonic()
        ticks = 0
        while time.monotonic() - started < 0.5:  # this thread keeps getting the GIL
            ticks += 1
            time.sleep(0.01)
        assert ticks >= 10
    finally:
        RUNNING = False  # the native loop sees it at its next check, and bails
    worker.join(30)
    assert not worker.is_alive() and result == [5]
    RUNNING = True


KEEP_GOING = True
TICKER = 0


def long_count(n):
    i = 0
    while i < n and KEEP_GOING:  # reads a global: its namespace is checked
        i += 1
    return i


def test_a_native_loop_goes_on_while_another_global_changes():
    """Another thread updating an unrelated global of the same module (TICKER) is
    seen at each periodic check, but the bindings the loop assumed still hold: no
    bailout (which would re-run the whole loop in the interpreter)."""
    hf = make_hot(long_count)
    promote(hf, 3)
    assert autotier.stats(hf).state == "compiled"
    stop = threading.Event()

    def tick():
        global TICKER
        while not stop.is_set():
            TICKER += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        n = 1 << 29  # ~0.2-0.5 s natively, many seconds in the interpreter
        before = TICKER
        with interpreted_frames(hf) as frames:
            assert hf(n) == n
        during = TICKER - before
    finally:
        stop.set()
        ticker.join(10)
    assert during > 0  # the module's dict changed while the native loop ran
    assert frames[0] == 0  # answered natively, never re-run by the interpreter


DAEMON_EXIT = """
import threading, time, autotier

@autotier.hot(threshold=2)
def spin(n):
    i = 0
    while i < n:
        i += 1
    return i

for _ in range(3):
    spin(3)
autotier.wait_idle(60)
assert autotier.stats(spin).state == "compiled"
threading.Thread(target=spin, args=(2**62,), daemon=True).start()
time.sleep(0.3)
print("main still runs", flush=True)
"""


def test_interpreter_exits_while_a_daemon_thread_is_in_a_native_loop():
    proc = subprocess.run([sys.executable, "-c", DAEMON_EXIT], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "main still runs"
