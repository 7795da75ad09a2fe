"""``None`` as a value: stored in locals, met at joins, tested with ``is``/``==``, and
operated on (CPython's TypeError, raised by the interpreter after a precise deopt)."""

from __future__ import annotations

import pytest

from autotier.abi import Status
from tests.frontend.harness import check, force_every_site


def none_tests(a, b):
    r = None if a > b else a
    x = 0
    if r is None:
        x += 1
    if r is not None:
        x += 2
    if r == None:  # noqa: E711 - what is compiled
        x += 4
    if None != r:  # noqa: E711
        x += 8
    if not r:
        x += 16
    return x


def best_of(n, k):
    best = None
    for i in range(n):
        v = (i * k) % 7
        if best is None or v > best:
            best = v
    return best


def adds_to_none(a):
    r = None if a > 0 else a
    return r + 1


def none_is_none(a):
    return (None is None) + (a is None) * 2


INPUTS = [(1, 2), (3, 2), (0, 1), (0.5, 0.0), (-0.0, 0.0), (True, False)]


@pytest.mark.parametrize("args", INPUTS)
def test_none_tests_answer_as_cpython(args):
    assert check(none_tests, *args) is Status.OK


@pytest.mark.parametrize("args", [(0, 3), (1, 3), (10, 3), (10, -2)])
def test_a_local_that_starts_as_none(args):
    assert check(best_of, *args) is Status.OK


def test_an_operation_on_none_is_cpythons_type_error():
    assert check(adds_to_none, -1) is Status.OK
    assert check(adds_to_none, 1, may_bail=True) is not Status.OK  # TypeError, resumed


def test_is_none_of_constants_and_values():
    for a in (0, 1.5, True):
        assert check(none_is_none, a) is Status.OK


def test_every_site_of_the_none_functions_resumes_exactly():
    for func, inputs in ((none_tests, INPUTS), (best_of, [(0, 3), (10, 3)]),
                         (adds_to_none, [(-1,), (1,)])):
        by_kinds: dict[tuple[type, ...], list[tuple[object, ...]]] = {}
        for args in inputs:
            by_kinds.setdefault(tuple(map(type, args)), []).append(args)
        for group in by_kinds.values():
            force_every_site(func, group)
