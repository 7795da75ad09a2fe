"""Shared pieces of the runtime tests: hot functions with a held or failing compile,
a private broker, a way to see whether a call ran in the interpreter, and a fresh
interpreter to run a program in (for the environment variables read at import)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FunctionType
from typing import Any

import autotier
from autotier import api
from autotier.backends.base import CompileRequest
from autotier.broker import Broker
from autotier.deopt import DeoptPolicy
from autotier.dispatch.framecount import FRAME_COUNTER
from autotier.runtime.bead import Bead
from autotier.runtime.policy import HotnessPolicy


class Gate:
    """Holds every compile on the broker thread until ``open()``; counts them."""

    def __init__(self, *, fail: BaseException | None = None) -> None:
        self._open = threading.Event()
        self.entered = threading.Semaphore(0)
        self.fail = fail
        self.requests: list[CompileRequest] = []

    def __call__(self, request: CompileRequest) -> None:
        self.requests.append(request)
        self.entered.release()
        assert self._open.wait(60), "gate never opened"
        if self.fail is not None:
            raise self.fail

    def wait_entered(self, timeout: float = 60) -> None:
        assert self.entered.acquire(timeout=timeout), "no compile reached the gate"

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        """Hold the next compiles; ``wait_entered`` then waits for a new one."""
        self._open.clear()
        self.entered = threading.Semaphore(0)


class Recorded:
    """A job that appends its name to ``log`` when it runs (or ``cancel:<name>`` when
    the broker drops it); ``hold`` makes it wait for an Event first."""

    def __init__(self, name: str, log: list[str], *, urgent: bool = False,
                 hold: threading.Event | None = None) -> None:
        self.name = name
        self.log = log
        self.urgent = urgent
        self.hold = hold
        self.started = threading.Event()

    def run(self) -> None:
        self.started.set()
        if self.hold is not None:
            assert self.hold.wait(60), "never released"
        self.log.append(self.name)

    def cancel(self) -> None:
        self.log.append(f"cancel:{self.name}")


def busy(broker: Broker, log: list[str]) -> threading.Event:
    """Keep ``broker``'s thread busy on a job until the returned Event is set."""
    release = threading.Event()
    blocker = Recorded("blocker", log, hold=release)
    assert broker.submit(blocker)
    assert blocker.started.wait(60)
    return release


def make_hot(
    func: FunctionType,
    *,
    threshold: int = 3,
    policy: HotnessPolicy | None = None,
    deopt: DeoptPolicy | None = None,
    backend: str = "llvm",
    broker: Broker | None = None,
    before_compile: Callable[[CompileRequest], None] | None = None,
) -> Any:
    """``@autotier.hot`` with the runtime's own pieces, optionally a private broker
    and a hook run on the broker thread before each (real) compile."""
    hotness = policy if policy is not None else autotier.ThresholdPolicy(threshold)
    return api._make(func, hotness, deopt or autotier.ThresholdDeoptPolicy(), backend,
                     broker=broker, before_compile=before_compile)


def bead_of(hf: Any) -> Bead:
    return api._bead_of(hf)


def state(hf: Any) -> str:
    return autotier.stats(hf).state


def settle(broker: Broker | None = None) -> None:
    assert (broker or api.BROKER).wait_idle(60), "the broker did not finish its jobs"


def promote(hf: Any, *args: Any, broker: Broker | None = None) -> None:
    """Call ``hf(*args)`` until it is queued, then wait for the compile."""
    bead = bead_of(hf)
    for _ in range(100_000):
        if bead.state.value != "interpreted":
            break
        hf(*args)
    settle(broker)


@contextmanager
def interpreted_frames(*funcs: Any) -> Iterator[list[int]]:
    """Count the Python frames of ``funcs``' code started on this thread meanwhile.

    Native code runs no Python frame; the interpreter answering a call runs one.
    (autotier's own frame counter: any other profile function would send every call
    to the interpreter.)
    """
    codes = frozenset(getattr(f, "__wrapped__", f).__code__ for f in funcs) | frozenset(
        f._run.__code__ for f in funcs if hasattr(f, "_run"))  # the copy with loop probes
    counter = FRAME_COUNTER  # the one profile function entries do not answer as a tool
    saved = counter.codes, counter.seen
    counter.codes, counter.seen = codes, [0]
    old = sys.getprofile()
    sys.setprofile(counter)
    try:
        yield counter.seen
    finally:
        sys.setprofile(old)
        counter.codes, counter.seen = saved


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) in a fresh interpreter, its output captured as text; its
    environment is this process's without any ``AUTOTIER_*`` variable, then ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTIER_")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, env=full, check=False)


# A program whose hot function is promoted and compiled (what AUTOTIER_LOG logs).
LOGGED = """
    import autotier

    @autotier.hot(threshold=3)
    def f(a):
        return a + 1

    for i in range(5):
        f(i)
    autotier.wait_idle(60)
"""
