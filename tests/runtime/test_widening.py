"""Deopt-driven widening: an int64 overflow in native code makes the bead recompile the
function with ints held as i128, which then answers natively and exactly."""

from __future__ import annotations

import gc
import sys

import autotier
from tests.frontend.kernels import factorial, sum_cubes
from tests.runtime.helpers import bead_of, interpreted_frames, make_hot, promote, settle, state
from tests.window import measure


def negated_square(a):
    return -(a * a)


def test_overflow_recompiles_with_wide_ints():
    hf = make_hot(sum_cubes)
    promote(hf, 10)
    assert autotier.stats(hf).int_bits == 64
    assert hf(100_000) == sum_cubes(100_000)  # bailout: the interpreter answers
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.backend, row.int_bits, row.bailouts) == ("compiled", "llvm", 128, 1)
    with interpreted_frames(hf) as frames:
        results = [hf(n) for n in (100_000, 77_938, 10, 0, 1_000_000)]
    assert frames[0] == 0  # every one native, those beyond int64 included
    assert results == [sum_cubes(n) for n in (100_000, 77_938, 10, 0, 1_000_000)]
    assert all(type(r) is int for r in results)
    assert autotier.stats(hf).bailouts == 1
    assert "i128" in str(autotier.stats())


def test_wide_code_still_bails_past_int128():
    hf = make_hot(factorial)
    promote(hf, 5)
    assert hf(30) == factorial(30)
    settle()
    assert autotier.stats(hf).int_bits == 128
    expected = [factorial(n) for n in range(34)]  # 33! < 2**127
    with interpreted_frames(hf) as frames:
        got = [hf(n) for n in range(34)]
    assert frames[0] == 0 and got == expected
    assert hf(40) == factorial(40)  # beyond int128: a bailout, CPython's big int
    settle()
    assert autotier.stats(hf).bailouts == 2 and state(hf) == "compiled"


def test_negative_wide_results_and_references():
    hf = make_hot(negated_square)
    promote(hf, 3)
    big = -(2**62) - 12345
    assert hf(big) == negated_square(big)
    settle()
    assert autotier.stats(hf).int_bits == 128
    value = hf(big)
    assert value == -(big * big) and type(value) is int
    assert sys.getrefcount(value) == 2  # the entry hands over its one reference
    assert hf(-(2**63)) == -(2**126)
    settle()  # tracemalloc sees every thread: no compile may run meanwhile
    gc.collect()

    def warm():
        hf(big)

    def calls():
        for _ in range(100_000):
            hf(big)

    w = measure(calls, warm=warm, collect=False)
    assert w.grown < 10_000  # no leaked boxes


def test_blacklist_policy_is_not_overridden_by_widening():
    hf = make_hot(sum_cubes, deopt=autotier.BlacklistPolicy())
    promote(hf, 10)
    assert hf(100_000) == sum_cubes(100_000)
    settle()
    assert state(hf) == "blacklisted"


def test_reload_starts_again_with_64_bit_ints():
    hf = make_hot(sum_cubes)
    promote(hf, 10)
    hf(100_000)
    settle()
    assert bead_of(hf).int_bits == 128
    assert autotier.reload_all() >= 1
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.int_bits) == ("compiled", 64)
    assert hf(100_000) == sum_cubes(100_000)


def product_plus_one(a, b):
    return a * b + 1


def test_a_loop_of_overflowing_calls_waits_for_the_wide_code():
    """Overflowing calls that arrive while the i128 compile is on its way are answered
    by the interpreter without counting as bailouts (the default policy would blacklist
    at the fourth): the wide code lands and serves them."""
    hf = make_hot(product_plus_one)
    promote(hf, 1, 2)
    for i in range(100):  # no settling between calls
        assert hf(2**40 + i, 2**40) == product_plus_one(2**40 + i, 2**40)
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.int_bits, row.bailouts) == ("compiled", 128, 1)
    with interpreted_frames(hf) as frames:
        assert hf(2**62, 2**62) == 2**124 + 1
    assert frames[0] == 0


def test_only_int_overflow_widens():
    """An OverflowError CPython raises for floats (math.exp) or an int() of a huge
    float cannot be helped by i128 ints: the code stays 64-bit."""
    import math

    def grow(x, n):
        s = 0.0
        for i in range(n):
            s += math.exp(x) * i
        return s

    hf = make_hot(grow)
    promote(hf, 1.0, 3)
    try:
        hf(1000.0, 3)
    except OverflowError:
        pass
    else:
        raise AssertionError("math.exp(1000.0) raises OverflowError")
    settle()
    assert autotier.stats(hf).int_bits == 64
