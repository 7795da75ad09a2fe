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
from tests.e2e import containers_corpus, corpus, differential
from tests.e2e.test_containers import NAMES as CONTAINER_NAMES
from tests.e2e.test_containers import call as container_call
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


# ------------------------------------------------------------ the containers corpus
CONTAINER_LOOPS = [name for name in CONTAINER_NAMES
                   if screen(getattr(containers_corpus, name)) is None]
#: measured 2026-12-03: 58 of 59 enter on their cases (34 with range loops only, 53
#: with list, tuple and array loops); the one left pops a list
CONTAINERS_ENTERED_FLOOR = 56


@pytest.mark.parametrize("name", CONTAINER_LOOPS)
def test_container_loops_entered_at_a_random_iteration(name):
    """Issue 10's container corpus (lists, tuples, arrays) entered at a random
    iteration: result, exception, warnings and the arguments' state against CPython."""
    rng = random.Random(name)
    plain = getattr(containers_corpus, name)
    at = rng.randint(1, 4)  # (their loops are short)
    hf = make_hot(plain, policy=autotier.ThresholdPolicy(threshold=10**9, loop_threshold=at),
                  deopt=autotier.AlwaysRecompilePolicy())
    bead_of(hf).osr.wait_compile = True
    mismatches = []
    for plain_args, hot_args in zip(plain.cases(), plain.cases(), strict=True):
        shown = repr(plain_args)[:200]
        expected = container_call(plain, plain_args)
        mismatches += differential.mismatches(f"{name} at {at}", shown,
                                              container_call(hf, hot_args), expected)
    assert not mismatches, "\n".join(mismatches[:20])


def test_most_container_loops_are_entered():
    entered = []
    for name in CONTAINER_LOOPS:
        plain = getattr(containers_corpus, name)
        hf = make_hot(plain, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                             loop_threshold=1))
        bead_of(hf).osr.wait_compile = True
        for args in plain.cases():
            container_call(hf, args)
        if autotier.stats(hf).osr_entries:
            entered.append(name)
    print(f"\n{len(entered)} of {len(CONTAINER_LOOPS)} container corpus loops entered")
    assert len(entered) >= CONTAINERS_ENTERED_FLOOR, (entered, CONTAINER_LOOPS)
