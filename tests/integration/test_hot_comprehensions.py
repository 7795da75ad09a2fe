"""List comprehensions through the whole runtime (issue 11): compiled natively by the
llvm backend (no interpreted frame), a bailout inside one resumed exactly (CPython's
exception, the exact big int), an escaping closure declined with its reason."""

from __future__ import annotations

import traceback
from types import SimpleNamespace

import pytest

import autotier
from autotier import compat
from tests.frontend.kernels import primes
from tests.runtime.helpers import interpreted_frames, make_hot, promote, settle

pytestmark = pytest.mark.skipif(not compat.INLINE_COMPREHENSIONS,
                                reason="3.11's comprehension functions (3.12 inlines them)")


def powers(xs, k):
    return [x ** k for x in xs]


def escaping(k):
    return [lambda: k for _ in range(2)]


def test_a_comprehension_runs_natively():
    hf = make_hot(primes)
    promote(hf, 30)
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.backend == "llvm", row.reason
    listcomp = SimpleNamespace(__code__=next(  # its comprehension's frames count too
        c for c in primes.__code__.co_consts if getattr(c, "co_name", "") == "<listcomp>"))
    with interpreted_frames(primes, listcomp) as seen:
        got = [hf(n) for n in (0, 1, 2, 100, 1000)]
    assert seen == [0]
    assert got == [primes(n) for n in (0, 1, 2, 100, 1000)]


def test_bailouts_inside_a_comprehension_answer_as_cpython():
    hf = make_hot(powers)
    promote(hf, [1, 2, 3], 2)
    assert autotier.stats(hf).state == "compiled"
    assert hf([2, 3], 3) == [8, 27]
    assert hf([2, 3, 5], 40) == powers([2, 3, 5], 40)  # int64 overflow: exact big ints
    with pytest.raises(ZeroDivisionError) as info:
        hf([1, 0, 2], -1)
    assert str(info.value) == "0.0 cannot be raised to a negative power"
    # the resumed frames are CPython's: the function's, then the comprehension's
    names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert names[-2:] == ["powers", "<listcomp>"]
    settle()
    assert hf([2, 3], 2) == [4, 9]


def test_an_escaping_closure_is_declined_with_its_reason():
    hf = make_hot(escaping)
    promote(hf, 1)
    row = autotier.stats(hf)
    assert row.state != "compiled"
    assert "closures are not supported" in (row.reason or "")
    assert [f() for f in hf(3)] == [3, 3]
