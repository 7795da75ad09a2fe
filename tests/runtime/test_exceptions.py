"""A call whose CPython answer is an exception is an answer, not a failed speculation.

Native code leaves such calls to the interpreter, which raises exactly; the code stays
installed, the deopt policy never hears of them, and stats() counts them apart
(``exceptions``, beside ``bailouts``)."""

from __future__ import annotations

import math

import pytest

import autotier
from tests.runtime.helpers import interpreted_frames, make_hot, promote


def ratio(a, b):
    return a // b


def fratio(a, b):
    return a / b


def root(x):
    return math.sqrt(x)


def grow(x):
    return math.exp(x)


def power(x, y):
    return x ** y


def to_int(x):
    return int(x)


def shifted(a, n):
    return a << n


CASES = [
    (ratio, (7, 2), (1, 0), ZeroDivisionError),
    (fratio, (7.0, 2.0), (1.0, 0.0), ZeroDivisionError),
    (root, (4.0,), (-1.0,), ValueError),
    (grow, (1.0,), (1000.0,), OverflowError),
    (power, (2.0, 3.0), (10.0, 400.0), OverflowError),
    (power, (2.0, 3.0), (0.0, -1.0), ZeroDivisionError),
    (to_int, (2.5,), (math.nan,), ValueError),
    (to_int, (2.5,), (math.inf,), OverflowError),
    (shifted, (1, 3), (1, -1), ValueError),
]


def outcome(func, *args):
    try:
        return "ok", func(*args)
    except Exception as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize(("func", "good", "bad", "error"), CASES,
                         ids=[f"{c[0].__name__}{c[2]}" for c in CASES])
def test_raising_calls_keep_native_code_and_skip_the_policy(func, good, bad, error):
    hf = make_hot(func, deopt=autotier.BlacklistPolicy())  # any bailout would blacklist
    promote(hf, *good)
    assert autotier.stats(hf).state == "compiled"
    for _ in range(10):
        with pytest.raises(error) as raised:
            hf(*bad)
        assert (type(raised.value), str(raised.value)) == outcome(func, *bad)
    row = autotier.stats(hf)
    assert (row.state, row.bailouts, row.exceptions) == ("compiled", 0, 10)
    expected = func(*good)
    with interpreted_frames(hf) as frames:
        assert hf(*good) == expected
    assert frames[0] == 0  # still native


def test_a_failed_speculation_still_reaches_the_policy():
    hf = make_hot(power, deopt=autotier.BlacklistPolicy())
    promote(hf, 2.0, 3.0)
    assert hf(-8.0, 1 / 3) == power(-8.0, 1 / 3)  # a complex: CPython answers, no raise
    row = autotier.stats(hf)
    assert (row.state, row.bailouts, row.exceptions) == ("blacklisted", 1, 0)


def test_exceptions_show_in_the_table_and_the_dict():
    hf = make_hot(ratio)
    promote(hf, 7, 2)
    with pytest.raises(ZeroDivisionError):
        hf(1, 0)
    assert autotier.stats(hf).to_dict()["exceptions"] == 1
    table = str(autotier.stats())
    assert "exceptions" in table.splitlines()[0]
