"""Complex numbers through the whole runtime (issue 11): the entry's exact-type check
(a complex argument is its own specialisation; a subclass of complex goes to the
interpreter), native answers with no Python frame run, CPython's own exceptions
(ZeroDivisionError "complex division by zero", OverflowError) through the resumed
frame, and the boxed results leave reference counts and traced memory flat.
"""

from __future__ import annotations

import cmath

import pytest

import autotier
from tests.frontend.kernels import magnitude, mandel
from tests.runtime.helpers import interpreted_frames, make_hot, promote, settle
from tests.window import measure


def ratio(a, b):
    return a / b + 1


def rotate(z, n):
    w = z
    for _ in range(n):
        w = w * 1j
    return w


def squared(z):
    return z ** 2


def roots(z):
    return cmath.sqrt(z) * 2


class Sub(complex):
    pass


def test_complex_arguments_run_natively_and_answer_exactly():
    hf = make_hot(mandel)
    promote(hf, 0.3 + 0.5j)
    assert autotier.stats(hf).state == "compiled"
    assert autotier.stats(hf).signatures == (("complex",),)
    with interpreted_frames(mandel) as seen:
        answers = [hf(complex(x / 10, y / 10)) for x in range(-20, 5) for y in range(-10, 10)]
    assert seen == [0]
    assert answers == [mandel(complex(x / 10, y / 10))
                       for x in range(-20, 5) for y in range(-10, 10)]
    assert hf(Sub(0.1, 0.1)) == mandel(Sub(0.1, 0.1))  # a subclass: the interpreter's


def test_cpythons_exceptions_come_from_cpython():
    hf = make_hot(ratio)
    promote(hf, 1 + 2j, 3 - 1j)
    assert hf(1 + 2j, 3 - 1j) == ratio(1 + 2j, 3 - 1j)
    with pytest.raises(ZeroDivisionError, match="^complex division by zero$"):
        hf(1 + 2j, 0j)
    with pytest.raises(ZeroDivisionError, match="^complex division by zero$"):
        hf(1 + 2j, complex(-0.0, 0.0))
    settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.exceptions == 2
    rt = make_hot(roots)
    promote(rt, 4 + 0j)
    assert rt(-4 + 0j) == 4j and type(rt(1j)) is complex
    sq = make_hot(squared)
    promote(sq, 1 + 1j)
    with pytest.raises(OverflowError, match="^complex exponentiation$"):
        sq(complex(1e300, 0))
    size = make_hot(magnitude)
    promote(size, 3 + 4j)
    assert size(3 + 4j) == 5.0
    with pytest.raises(OverflowError, match="^absolute value too large$"):
        size(complex(1.5e308, 1.5e308))
    settle()
    assert autotier.stats(sq).exceptions == 1 and autotier.stats(size).exceptions == 1


def test_boxed_results_leave_memory_and_counts_flat():
    hf = make_hot(rotate)
    z = 1 + 2j
    promote(hf, z, 3)
    assert hf(z, 3) == rotate(z, 3)
    for _ in range(1000):
        hf(z, 3)

    def warm():
        for _ in range(10_000):
            hf(z, 3)

    def calls():
        for _ in range(100_000):
            hf(z, 5)

    w = measure(calls, z, warm=warm)
    assert w.after == w.before
    assert w.grown < 64 * 1024
