"""``sum``/``any``/``all`` of a generator expression through the whole runtime (3.11):
promoted by calls, compiled by the llvm backend with the generator's body inlined (no
``<genexpr>`` frame runs), answers exact, and a name rebound after the compile gives
the rebound function's answer."""

from __future__ import annotations

import builtins
from types import SimpleNamespace

import pytest

import autotier
from autotier import compat
from tests.runtime.helpers import interpreted_frames, make_hot, promote, settle

pytestmark = pytest.mark.skipif(not compat.INLINE_GENEXP_REDUCTIONS,
                                reason="3.11's generator functions and sum()")


def stats_of(xs, lo):
    total = sum(x * x for x in xs if x > lo)
    neg = any(x < 0 for x in xs)
    ordered = all(xs[i] <= xs[i + 1] for i in range(len(xs) - 1))
    return total + 1000 * neg + 100 * ordered


def _genexprs(func):
    return [SimpleNamespace(__code__=c) for c in func.__code__.co_consts
            if getattr(c, "co_name", "") == "<genexpr>"]


def test_genexps_of_sum_any_all_run_natively():
    hf = make_hot(stats_of)
    promote(hf, [1, 2, 3], 0)
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.backend == "llvm", row.reason
    inputs = [([1, 2, 3], 0), ([3, -1, 2], 1), ([], 0), ([5], 10), ([2, 2, 2], 1)]
    with interpreted_frames(stats_of, *_genexprs(stats_of)) as seen:
        got = [hf(*args) for args in inputs]
    assert seen == [0]
    assert got == [stats_of(*args) for args in inputs]
    # an overflow inside resumes exactly (the big int), a float sum stays a float
    assert hf([2**32, 2**32], 0) == stats_of([2**32, 2**32], 0) == 2**65 + 100
    settle()
    assert hf([0.5, 1.5], 0) == stats_of([0.5, 1.5], 0) == 102.5


def total_of(xs):
    return sum(x for x in xs)


def test_a_rebound_sum_is_called(monkeypatch):
    hf = make_hot(total_of)
    promote(hf, [1, 2, 3])
    assert autotier.stats(hf).state == "compiled"
    assert hf([1, 2, 3]) == 6
    monkeypatch.setitem(globals(), "sum", lambda gen: ("mine", tuple(gen)))
    assert hf([1, 2, 3]) == ("mine", (1, 2, 3)) == total_of([1, 2, 3])
    settle()
    assert hf([4]) == ("mine", (4,))
    monkeypatch.delitem(globals(), "sum")
    settle()
    assert hf([4, 5]) == 9


def any_negative(xs):
    return any(x < 0 for x in xs)


def test_a_rebound_builtin_is_called(monkeypatch):
    hf = make_hot(any_negative)
    promote(hf, [1, 2, 3])
    assert autotier.stats(hf).state == "compiled"
    assert hf([1, -2]) is True
    monkeypatch.setattr(builtins, "any", lambda gen: [*gen])
    assert hf([1, -2]) == [False, True]
    monkeypatch.undo()
    settle()
    assert hf([1, -2]) is True


def through(n):
    return 0 if n == 0 else 1 + sum(through(n - 1) for _ in range(1))


def _deepest(func):
    """The largest n for which ``func(n)`` raises no RecursionError (bisection)."""
    lo, hi = 1, 3000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            func(mid)
        except RecursionError:
            hi = mid - 1
        else:
            lo = mid
    return lo


def test_a_recursion_through_a_genexp_meets_the_limit_where_cpython_does(monkeypatch):
    # 3.11 runs each level in two frames (the function's, the generator's): native code
    # counts the generator's frame too, so RecursionError comes at CPython's depth
    theirs = _deepest(through)
    hf = make_hot(through)
    monkeypatch.setitem(globals(), "through", hf)
    promote(hf, 3)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    assert _deepest(hf) == theirs
    assert autotier.stats(hf).state == "compiled"


def rows_total(m):
    s = 0
    for row in m:  # a long call: entered natively at this loop's header (OSR; the
        # genexps read no local of the function, which would be a cell: OSR declines)
        s += sum(v * v for v in row if v) + any(v < 0 for v in row)
    return s


def test_an_osr_entry_compiles_the_genexps_in_its_loop():
    from tests.integration.test_osr import entries, osr_hot

    m = [[i % 7 - 1, i % 5, i] for i in range(3000)]
    hf = osr_hot(rows_total, 100)
    assert hf(m) == rows_total(m)
    assert entries(hf) >= 1
    m[2000][1] = 2**40  # an overflow inside, in the OSR code
    assert hf(m) == rows_total(m)
