"""Every loop of the e2e corpus entered by on-stack replacement at a random iteration
(issue 12): the function runs interpreted with loop probes, its loop threshold is a
random iteration, and the probe that crosses it waits for the OSR compile and enters
native code there (``osr.wait_compile``, the tests' hook); every answer of the swept
inputs must be CPython's (tests/e2e/test_corpus.py's comparison)."""

from __future__ import annotations

import random

import pytest

import autotier
from autotier.osr.instrument import screen
from tests.e2e import corpus
from tests.e2e.test_corpus import NAMES, inputs, outcome, same
from tests.runtime.helpers import bead_of, make_hot

LOOPS = [name for name in NAMES if screen(getattr(corpus, name)) is None]
INPUTS_EACH = 24


def test_the_corpus_has_loops_to_enter():
    assert len(LOOPS) >= 10, LOOPS


@pytest.mark.parametrize("name", LOOPS)
def test_entered_at_a_random_iteration_every_answer_is_cpythons(name):
    rng = random.Random(name)
    plain = getattr(corpus, name)
    at = rng.randint(1, 40)
    hf = make_hot(plain, policy=autotier.ThresholdPolicy(threshold=10**9, loop_threshold=at),
                  deopt=autotier.AlwaysRecompilePolicy())
    bead_of(hf).osr.wait_compile = True
    family = inputs(name)
    chosen = [plain.promote, *rng.sample(family, min(INPUTS_EACH, len(family)))]
    mismatches = []
    for args in chosen:
        expected = outcome(plain, args)
        got = outcome(hf, args)
        if not same(got, expected):
            mismatches.append(f"{name}{args} entered at {at}: autotier {got!r}, "
                              f"CPython {expected!r}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert autotier.stats(hf).calls == len(chosen)


def test_most_corpus_loops_are_entered():
    entered = []
    for name in LOOPS:
        plain = getattr(corpus, name)
        hf = make_hot(plain, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=1))
        bead_of(hf).osr.wait_compile = True
        same(outcome(hf, plain.promote), outcome(plain, plain.promote))
        if autotier.stats(hf).osr_entries:
            entered.append(name)
    assert len(entered) >= len(LOOPS) // 2, (entered, LOOPS)
