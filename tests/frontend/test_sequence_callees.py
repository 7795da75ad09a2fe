"""Native callees taking lists and tuples (issue 10): a helper called with its caller's
list is compiled in with it, its element loads checked (any number kind), its stores
seen by the caller, and every deopt inside it resumed exactly."""

from __future__ import annotations

import pytest

from autotier.abi import Kind
from autotier.frontend import lower
from tests.frontend.harness import check, force_every_site
from tests.frontend.kernels import dot, scale


def total(t):
    n = 0
    for v in t:
        n += v
    return n


def outer(xs, ys):
    scale(xs, 2)
    return dot(xs, ys) + dot(ys, ys)


def sums_a_tuple(t, k):
    return total(t) * k + total(t)


INPUTS = [([1.0, 2.0], [3.0, 4.0]), ([1, 2], [3, 4.5]), ([], []), ([1.0], []),
          ([2**62, 2], [2, 1]), ([True, 2.5], [float("nan"), -0.0])]


@pytest.mark.parametrize("args", INPUTS)
def test_helpers_over_the_callers_lists_answer_as_cpython(args):
    check(outer, *args, may_bail=True)


def test_the_helpers_are_compiled_in():
    assert set(lower(outer, (Kind.LIST, Kind.LIST)).callees) == {"scale", "dot"}


@pytest.mark.parametrize("args", [((1, 2, 3), 2), ((), 5), ((1.5, 2**62, 2**62), 3)])
def test_a_helper_over_a_tuple(args):
    check(sums_a_tuple, *args, may_bail=True)


def test_every_site_in_the_helpers_resumes_exactly():
    force_every_site(outer, [([1.0, 2.0], [3.0, 4.0]), ([1.0], []), ([2**62, 2], [2, 1])])
