"""Random programs (``progen``) with loops, entered by on-stack replacement at a random
iteration (issue 12): each runs interpreted with loop probes, its loop threshold a
random iteration, and the probe that crosses it waits for the OSR compile and enters
there (``OsrState.wait_compile``); every answer must be CPython's (value and type,
floats bit for bit, or the same exception).  ``AUTOTIER_OSR_PROGRAMS`` tries more
program numbers than the default 80, for a longer search."""

from __future__ import annotations

import math
import os
import random
from typing import Any

import autotier
from autotier.osr.instrument import screen
from tests.e2e.test_corpus import outcome, same
from tests.frontend.harness import cold_answer, warmed_answer
from tests.programs.progen import program
from tests.programs.test_random_programs import edge_input
from tests.runtime.helpers import bead_of, make_hot

# program numbers tried (those with a loop are run)
PROGRAMS = int(os.environ.get("AUTOTIER_OSR_PROGRAMS", "80"))
INPUTS_EACH = 6


def cpythons_other(func: Any, args: tuple[Any, ...], got: tuple[Any, ...]
                   ) -> tuple[Any, ...]:
    """CPython's other answer where two nan operands meet (``tests.frontend.harness``'s
    module doc): its specialised code's, as native code gives, or fresh code's, as a
    resume function gives (a bailout's rest of the call), whichever ``got`` is."""
    for answer in (warmed_answer, cold_answer):
        other = outcome(lambda *a: answer(func, a), args)
        if same(got, other):
            return other
    return other


def test_random_programs_entered_at_a_random_iteration():
    run = entered = 0
    mismatches: list[str] = []
    for number in range(PROGRAMS):
        rng = random.Random(number)
        source, signature = program(rng.randrange)
        ns: dict[str, Any] = {"math": math}
        exec(compile(source, f"<osr progen {number}>", "exec"), ns)
        func = ns["f"]
        if screen(func) is not None:
            continue
        run += 1
        at = rng.randint(1, 3)  # their loops run 0-4 iterations
        hf = make_hot(func, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                            loop_threshold=at),
                      deopt=autotier.AlwaysRecompilePolicy())
        bead_of(hf).osr.wait_compile = True
        for _ in range(INPUTS_EACH):
            args = edge_input(rng, signature)
            expected, got = outcome(func, args), outcome(hf, args)
            if not same(got, expected) and got[0] == expected[0] == "value":
                expected = cpythons_other(func, args, got)
            if not same(got, expected):
                mismatches.append(f"{source}{args} entered at {at}: autotier {got!r}, "
                                  f"CPython {expected!r}")
        entered += autotier.stats(hf).osr_entries > 0
        autotier.invalidate(hf)
    assert not mismatches, "\n".join(mismatches[:10])
    assert run >= 10 and entered >= run // 4, (run, entered)
