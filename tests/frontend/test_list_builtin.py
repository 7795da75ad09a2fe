"""``list()``: ``list(range(n))`` and copies ``list(xs)`` of lists and tuples
(fannkuch's ``perm1 = list(range(n))``): CPython's own ``list`` called through the C
API (a range made as CPython's range object first), a new list the value owns, whose
element kinds are the source's (a range's: ints).

Differential through the frontend harness: every call against CPython with the
arguments' state after it, every deopt site forced; the copy is a new list (stores into
it leave the source alone); reference counts of the source's elements flat.
"""

from __future__ import annotations

import pytest

import autotier
from autotier.abi import Kind, Status
from autotier.frontend import Unsupported, lower
from tests.frontend.harness import check, compile_function, force_every_site, forget, kinds_of
from tests.runtime.helpers import interpreted_frames, make_hot, promote
from tests.window import measure


def ranged(n):
    perm = list(range(n))
    perm[0] = perm[-1]
    return perm


def ranged3(a, b, c):
    return list(range(a, b, c))


def copied(xs, v):
    ys = list(xs)
    ys.append(v)
    ys[0] = v
    return len(ys) + len(xs)


def copy_returned(xs):
    return list(xs)


def empty():
    xs = list()
    xs.append(1)
    return xs


def summed(n):
    s = 0
    for x in list(range(n)):
        s += x
    return s


CASES = [
    (ranged, [(5,), (1,), (0,), (-3,)]),
    (ranged3, [(0, 10, 3), (10, 0, -2), (0, 5, 0), (-(2**63), 2**63 - 1, 2**62), (5, 5, 1)]),
    (copied, [([1.0, 2.0], 3.0), ((1, 2, 3), 4), ([], 1), ((True,), 2.5), ([(1, 2)], 1)]),
    (copy_returned, [([1, 2.5],), ((1, 2),), ([],), ([[1], [2]],)]),
    (empty, [()]),
    (summed, [(10,), (0,), (1000,)]),
]


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_list_answers_as_cpython_and_every_site_resumes_exactly(func, inputs):
    statuses = [check(func, *args, may_bail=True) for args in inputs]
    assert statuses[0] is Status.OK
    force_every_site(func, inputs[:1])
    forget(func)


def test_a_copy_is_a_new_list_and_the_elements_references_stay_flat():
    xs = [1.5, 2.5, 10**6]
    compiled = compile_function(copied, kinds_of((xs, 0.5)))
    assert compiled.call(xs, 0.5) == (Status.OK, 7)
    assert xs == [1.5, 2.5, 10**6]  # the copy was stored into and appended to

    def calls():
        for _ in range(10_000):
            compiled.call(xs, 0.5)

    w = measure(calls, *xs, trace=False, objects=True)
    assert w.after == w.before and w.objects_after == w.objects_before
    forget(copied)


def test_list_of_what_native_code_does_not_hold_is_declined_with_its_line():
    def of_int(n):
        return list(n)  # CPython's TypeError

    with pytest.raises(Unsupported, match=r"list\(\) of an int is not supported at line"):
        lower(of_int, (Kind.INT,))

    import numpy

    with pytest.raises(Unsupported, match=r"list\(\) of a numpy array is not supported"):
        lower(copy_returned, (Kind.of(numpy.zeros(3)),))

    def of_two(a, b):
        return list(a, b)

    with pytest.raises(Unsupported, match=r"list\(\) with 2 arguments"):
        lower(of_two, (Kind.LIST, Kind.LIST))


def test_through_hot_natively():
    hf = make_hot(ranged, threshold=2)
    promote(hf, 6)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    with interpreted_frames(hf) as frames:
        got = hf(6)
    assert frames == [0]
    assert got == ranged(6) and type(got) is list
    try:
        hf(0)
    except IndexError as exc:
        assert str(exc) == "list index out of range"
    else:
        raise AssertionError("no IndexError")
