"""The cost of a probe's slow path while its entry's compile is queued or running
(issue 12): ``OsrState.probe`` and ``hands_off``, the compile held at a gate.

    PYTHONPATH=$PWD python bench/osr_slow_path.py

Microseconds per slow path (best of 7 runs of 20,000 calls), with a pacer whose
``hand_off`` answers False (no paced job on the GIL: the common case) and True.
Runs against an older autotier too (``PYTHONPATH=<its tree>:$PWD``: this tree's
``tests`` helpers), whose probe returned three values and whose ``hands_off``
scanned the table again.
"""

from __future__ import annotations

import inspect
import timeit

import autotier
from autotier.broker import pacing
from autotier.osr import state as osr_state
from tests.runtime.helpers import Gate, bead_of, make_hot


def long_loop(n: int) -> int:
    s = 0
    for i in range(n):
        s += i % 7
    return s


class Answer(pacing.Pacer):
    def __init__(self, answer: bool) -> None:
        super().__init__()
        self.answer = answer

    def hand_off(self) -> bool:
        return self.answer


def main() -> None:
    gate = Gate()
    hf = make_hot(long_loop, before_compile=gate,
                  policy=autotier.ThresholdPolicy(threshold=10**9, loop_threshold=2_000))
    osr = bead_of(hf).osr
    assert osr is not None
    hf(50_000)  # past the loop threshold: the entry's compile is held at the gate
    gate.wait_entered()
    assert osr.compiling()
    recorded = len(inspect.signature(osr_state.hands_off).parameters) == 3
    for answer in (False, True):
        pacer = Answer(answer)
        if recorded:
            def slow() -> None:
                *_, compiling = osr.probe(0, None, ())  # type: ignore[arg-type]
                osr_state.hands_off(osr, pacer, compiling)  # type: ignore[call-arg]
        else:
            def slow() -> None:
                osr.probe(0, None, ())  # type: ignore[arg-type]
                osr_state.hands_off(osr, pacer)
        best = min(timeit.repeat(slow, number=20_000, repeat=7)) / 20_000 * 1e6
        print(f"hand_off {answer!s:>5}: {best:.3f} us a slow path")
    gate.open()


if __name__ == "__main__":
    main()
