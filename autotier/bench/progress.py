"""Progress of a bench run on stderr: one line per kernel, with an estimate.

A line reads ``[3/11] gcd: autotier compiled (backend llvm); numba compiled;
timing... done in 1.4 s, about 11 s left``: the fragments in between come from the
kernel's run (:func:`autotier.bench.measure.run_kernel`), the estimate from the mean
time of the kernels done so far.  Before the first kernel, the time the measurements
alone take is known from the options, and is said up front.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from autotier.bench.measure import Options

KERNEL_VARIANTS = 3  # cpython, autotier, numba are timed for every kernel
CALL_PATH_ROWS = 4  # python, autotier, autotier before promotion, numba


def timing_estimate_s(opts: Options, kernels: int, call_path: bool) -> float:
    """Seconds the measurements alone take (compiles and calibration add to it)."""
    timed = kernels * KERNEL_VARIANTS + (CALL_PATH_ROWS if call_path else 0)
    return timed * opts.repeat * opts.target_s


def announce(opts: Options, kernels: int, call_path: bool) -> str:
    """The first line of a run: what it runs, and how long its measurements take."""
    what = f"{kernels} kernels" + (" and the call path" if call_path else "")
    return (f"autotier bench: {what}; the measurements alone take about "
            f"{_seconds(timing_estimate_s(opts, kernels, call_path))}, compiles add to it\n")


class Progress:
    """Numbered lines, each closed with its duration and the time left."""

    def __init__(self, total: int, say: Callable[[str], None],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.total = total
        self.say = say
        self.clock = clock
        self.durations: list[float] = []
        self._started: float | None = None

    def start(self, name: str) -> None:
        self._started = self.clock()
        self.say(f"  [{len(self.durations) + 1}/{self.total}] {name}: ")

    def finish(self) -> None:
        assert self._started is not None, "finish() without start()"
        took = self.clock() - self._started
        self._started = None
        self.durations.append(took)
        left = self.total - len(self.durations)
        estimate = (f", about {_seconds(left * sum(self.durations) / len(self.durations))} "
                    "left" if left else "")
        self.say(f"done in {_seconds(took)}{estimate}\n")


def _seconds(s: float) -> str:
    if s < 10:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    return f"{s / 60:.0f} min"
