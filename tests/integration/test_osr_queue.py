"""An OSR entry's compile jumps the broker's queue (issue 12): a long call's loop
crossing its threshold right after other functions were promoted does not wait for
their compiles.  Real threads and a real broker; the order is what the compiles
record when they start (and the beads' states then), never a time."""

from __future__ import annotations

import threading
from typing import Any

import autotier
from autotier.broker import Broker
from tests.runtime.helpers import bead_of, make_hot, settle, state


def area(w, h):
    return w * h


def mix(a, b, t):
    return a + (b - a) * t


def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def simulate(n):
    x = 0.5
    total = 0.0
    for i in range(n):
        x = 3.7 * x * (1.0 - x)
        total += x * (i & 3)
    return total


class Blocker:
    """A job that keeps the broker's thread busy until ``release``."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def run(self) -> None:
        self.started.set()
        assert self.release.wait(60), "never released"

    def cancel(self) -> None:
        pass


def test_a_long_calls_osr_compile_runs_before_the_compiles_queued_ahead_of_it():
    broker = Broker()
    order: list[tuple[str, dict[str, str]]] = []
    small: dict[str, Any] = {}

    def states() -> dict[str, str]:
        out = {name: state(hf) for name, hf in small.items()}
        table = bead_of(long).osr.table  # type: ignore[union-attr]
        out["entry"] = ",".join(e.child._bead.state.value for e in table.values())
        return out

    def recording(name: str) -> Any:
        return lambda request: order.append((name, states()))

    for func in (area, mix, clamp):
        small[func.__name__] = make_hot(func, threshold=3, broker=broker,
                                        before_compile=recording(func.__name__))
    long = make_hot(simulate, broker=broker, before_compile=recording("entry"),
                    policy=autotier.ThresholdPolicy(threshold=10**9, loop_threshold=2_000))
    blocker = Blocker()
    assert broker.submit(blocker)
    assert blocker.started.wait(60)
    for i in range(5):  # promoted: their compiles queue behind the running job
        assert small["area"](1.5, float(i)) == area(1.5, float(i))
        assert small["mix"](0.0, 1.0, 0.25) == mix(0.0, 1.0, 0.25)
        assert small["clamp"](float(i), 1.0, 3.0) == clamp(float(i), 1.0, 3.0)
    assert [state(hf) for hf in small.values()] == ["queued"] * 3
    assert long(50_000) == simulate(50_000)  # interpreted; its loop queued the entry
    assert broker.queued() == (1, 3)
    blocker.release.set()
    settle(broker)
    names = [name for name, _ in order]
    assert names == ["entry", "area", "mix", "clamp"]
    # when the entry's compile started, the three were still queued; when the first
    # of them started, the entry was compiled
    assert order[0][1] == {"area": "queued", "mix": "queued", "clamp": "queued",
                           "entry": "compiling"}
    assert order[1][1]["entry"] == "compiled"
    assert [state(hf) for hf in small.values()] == ["compiled"] * 3
    assert long(50_000) == simulate(50_000)
    osr = bead_of(long).osr
    assert osr is not None and osr.entries == 1
    broker.shutdown()


def test_a_running_long_call_enters_before_the_queued_compiles_land():
    """The user's case: the long call is running when the small functions' compiles
    are queued ahead of its entry's; it enters while they are still queued."""
    broker = Broker()
    gate = threading.Event()

    def held(request: Any) -> None:
        assert gate.wait(60), "never released"

    small = [make_hot(f, threshold=3, broker=broker, before_compile=held)
             for f in (area, mix, clamp)]
    long = make_hot(simulate, broker=broker,
                    policy=autotier.ThresholdPolicy(threshold=10**9, loop_threshold=2_000))
    blocker = Blocker()
    assert broker.submit(blocker)
    assert blocker.started.wait(60)
    for hf, args in zip(small, ((1.5, 2.0), (0.0, 1.0, 0.25), (2.0, 1.0, 3.0)), strict=True):
        for _ in range(5):
            hf(*args)
    osr = bead_of(long).osr
    assert osr is not None
    osr.wait_compile = True  # the probe that queues the entry waits for it, and enters
    got: list[float] = []
    caller = threading.Thread(target=lambda: got.append(long(200_000)))
    caller.start()
    while broker.queued() != (1, 3):  # the loop reached its threshold: entry queued
        assert caller.is_alive()
        caller.join(0.001)
    blocker.release.set()  # the entry's compile runs next, the small ones stay held
    caller.join(60)
    assert got == [simulate(200_000)]
    assert osr.entries == 1
    landed = [state(hf) for hf in small]
    assert landed[0] == "compiling" and landed[1:] == ["queued", "queued"]
    gate.set()
    settle(broker)
    assert [state(hf) for hf in small] == ["compiled"] * 3
    broker.shutdown()


def test_a_compile_running_when_an_entry_is_queued_lets_it_compile_at_its_next_stage():
    """The normal compile already running is set aside at its next stage boundary
    (``pacing.checkpoint``): the entry's compile runs inside it, on the broker's
    thread, and lands first."""
    broker = Broker()
    gate = threading.Event()
    entered = threading.Event()
    seen: list[str] = []

    def held(request: Any) -> None:
        seen.append("area starts")
        entered.set()
        assert gate.wait(60), "never released"

    def entry(request: Any) -> None:
        seen.append(f"entry starts, area {state(small)}")

    small = make_hot(area, threshold=3, broker=broker, before_compile=held)
    long = make_hot(simulate, broker=broker, before_compile=entry,
                    policy=autotier.ThresholdPolicy(threshold=10**9, loop_threshold=2_000))
    for i in range(5):
        small(1.5, float(i))
    assert entered.wait(60)  # its compile is held on the broker's thread
    assert long(50_000) == simulate(50_000)  # its entry is queued, urgent
    assert broker.queued() == (1, 0)
    gate.set()
    settle(broker)
    assert seen == ["area starts", "entry starts, area compiling"]
    entry_bead = next(iter(bead_of(long).osr.table.values())).child._bead  # type: ignore[union-attr]
    assert entry_bead.state.value == "compiled" and state(small) == "compiled"
    # the entry landed inside area's compile: area's history moved to compiled after
    assert small(2.0, 3.0) == 6.0
    assert long(50_000) == simulate(50_000)
    assert bead_of(long).osr.entries == 1  # type: ignore[union-attr]
    broker.shutdown()
