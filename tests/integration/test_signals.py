"""A long native loop still lets CPython run signal handlers: Ctrl-C (or any handler
that raises) interrupts compiled code as it interrupts the interpreter."""

from __future__ import annotations

import signal
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
