"""Slices ``xs[a:b]``, ``xs[a:b:c]`` of lists and tuples (float_benchmark's
``for p in points[1:]``): BUILD_SLICE is a static the subscript takes (a resume makes
it ``slice(a, b, c)``), the subscript CPython's own slicing through the C API, a new
list or tuple the value owns, whose element kinds (and instances' class) are the
source's; a step of 0 is CPython's ValueError, raised by the interpreter.

Differential through the frontend harness: every call against CPython with the
arguments' state after it, every deopt site forced; reference counts flat; through
``@hot`` a list of instances sliced and iterated natively.
"""

from __future__ import annotations

import pytest

import autotier
from autotier.abi import Kind, Status
from autotier.frontend import Unsupported, lower
from tests.frontend.harness import check, compile_function, force_every_site, forget, kinds_of
from tests.runtime.helpers import interpreted_frames, make_hot, promote
from tests.window import measure


def window(xs, a, b):
    s = 0
    for x in xs[a:b]:
        s += x
    return s


def stepped(xs, k):
    return xs[::k]


def tails(t):
    return t[1:][0] + t[::2][-1] + len(t[:-1])


def copied(xs):
    ys = xs[:]
    ys.append(1.5)
    return len(xs) + len(ys)


def bool_bounds(xs, a, b):
    return len(xs[a:b])


def rows(m):  # slices of lists of tuples keep their elements' kinds
    s = 0.0
    for x, y in m[1:]:
        s += x * y
    return s


CASES = [
    (window, [([1, 2, 3, 4], 1, 3), ([1.5], 0, 5), ([], -1, 2), ((1, 2, 3), 0, 2),
              ([1, 2, 3], -2, -1), ([1, 2, 3], 2**62, -(2**62))]),
    (stepped, [([1, 2, 3], 2), ([1, 2, 3], -1), ((1.5, 2.5), -2), ([1, 2, 3], 0),
               ([], 3)]),
    (tails, [((1, 2, 3),), ([1.0, 2.0, 3.0],), ((1,),), ((True, 2, False),)]),
    (copied, [([1, 2],), ([],), ((1, 2),)]),
    (bool_bounds, [([1, 2, 3], True, False), ([1, 2, 3], False, True)]),
    (rows, [([(1.0, 2.0), (3.0, 4.0), (0.5, -0.0)],), ([],)]),
]


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_slices_answer_as_cpython_and_every_site_resumes_exactly(func, inputs):
    statuses = [check(func, *args, may_bail=True) for args in inputs]
    assert statuses[0] is Status.OK
    force_every_site(func, inputs[:1])
    forget(func)


def test_a_zero_step_is_cpythons_value_error():
    compiled = compile_function(stepped, kinds_of(([1, 2], 1)))
    assert compiled.call([1, 2], 1) == (Status.OK, [1, 2])
    assert compiled.call([1, 2], 0)[0] is Status.VALUE  # resumed: CPython raises
    check(stepped, [1, 2], 0, may_bail=True)
    forget(stepped)


def test_slices_leave_the_elements_references_flat():
    xs = [1.5, 2.5, 10**6]
    compiled = compile_function(copied, kinds_of((xs,)))

    def calls():
        for _ in range(10_000):
            assert compiled.call(xs)[0] is Status.OK

    w = measure(calls, *xs, trace=False, objects=True)
    assert w.after == w.before and w.objects_after == w.objects_before
    forget(copied)


def test_what_slicing_declines_says_so_with_its_line():
    def assigned(xs, ys):
        xs[1:] = ys

    with pytest.raises(Unsupported, match=r"slice assignment .* at line"):
        lower(assigned, (Kind.LIST, Kind.LIST))

    def by_float(xs, a):
        return xs[a:]

    with pytest.raises(Unsupported, match=r"a slice of anything but a list or tuple"):
        lower(by_float, (Kind.LIST, Kind.FLOAT))

    def made(a):
        return slice(a)

    with pytest.raises(Unsupported, match=r"slice objects"):
        lower(made, (Kind.INT,))


class Point:
    def __init__(self, x):
        self.x = x


def best_after_first(points):
    best = points[0]
    for p in points[1:]:
        if p.x > best.x:
            best = p
    return best.x


def test_through_hot_a_list_of_instances_sliced_natively():
    pts = [Point(float(i % 7)) for i in range(20)]
    hf = make_hot(best_after_first, threshold=2)
    promote(hf, pts)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    with interpreted_frames(hf) as frames:
        got = hf(pts)
    assert frames == [0]
    assert got == best_after_first(pts) and type(got) is float
