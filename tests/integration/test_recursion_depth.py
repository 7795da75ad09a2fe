"""A decorated recursive function reaches exactly the depth the undecorated one does.

Calls that leave the native fast path (here: float arguments for code compiled for
ints) must not use more interpreter frames than the undecorated function, or
RecursionError would come earlier than in CPython.
"""

from __future__ import annotations

import sys

import pytest

import autotier

from . import depth_mod


def _deepest(f, arg_type) -> int:
    """The largest n for which f(n) does not raise RecursionError."""
    lo, hi = 0, sys.getrecursionlimit() + 10
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            f(arg_type(mid))
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


def test_bailing_calls_recurse_as_deep_as_cpython() -> None:
    for i in range(5):
        depth_mod.down(i)
    assert autotier.wait_idle(120)
    assert autotier.stats(depth_mod.down).state == "compiled", autotier.stats(depth_mod.down)
    plain = _deepest(depth_mod.down_plain, float)
    assert _deepest(depth_mod.down, float) == plain
    assert depth_mod.down(float(plain - 5)) == depth_mod.down_plain(float(plain - 5))


@pytest.mark.parametrize("arg_type", [int, float])
def test_too_deep_raises_recursion_error(arg_type) -> None:
    with pytest.raises(RecursionError):
        depth_mod.down(arg_type(sys.getrecursionlimit() + 50))
    assert depth_mod.down(arg_type(10)) == 10
