"""``reversed()`` of lists, tuples and ranges in ``for`` loops (and comprehensions),
natively: a list's reversed iterator reads its length at each step, as CPython's
listreverseiterator does (items appended during the loop are not seen), a range's is
the range iterator CPython makes.  Every call against CPython, every site forced (a
reversed iterator in a frame state resumes as ``reversed(seq)`` at its index)."""

from __future__ import annotations

import pytest

from autotier import compat
from autotier.abi import Kind
from autotier.frontend import lower
from autotier.frontend.errors import Unsupported
from tests.frontend.harness import check, forced_sites


def weighted(xs):
    s = 0
    w = 1
    for x in reversed(xs):
        s += x * w
        w += 1
    return s


def countdown(a, b, c):
    s = 0
    for i in reversed(range(a, b, c)):
        s = s * 3 + i
    return s


def appending(xs):
    n = 0
    for x in reversed(xs):
        xs.append(x)  # past the iterator's start: never seen
        n += 1
    return n * 100 + len(xs)


def storing(xs):
    i = 0
    for x in reversed(xs):  # the front rewritten while the back is read
        xs[i] = x * 2
        i += 1
    return xs[0]


def reversed_comprehension(xs):
    return [x * 2 for x in reversed(xs)]


def nested(n):
    s = 0
    for i in reversed(range(n)):
        for j in reversed(range(i)):
            s += i * 10 + j
    return s


def first_below(xs, limit):
    for x in reversed(xs):
        if x < limit:
            return x
    return -1


CASES = [
    (weighted, ([1, 2, 3],)), (weighted, ((1.5, 2.0, -0.0),)), (weighted, ([],)),
    (weighted, ([True, 2, 3.5],)),
    (countdown, (0, 10, 3)), (countdown, (10, -5, -4)), (countdown, (5, 5, 1)),
    (countdown, (7, 0, 1)), (countdown, (-2**63, 2**63 - 1, 2**62)),
    (countdown, (0, 10, -2**63)), (countdown, (2**63 - 3, 2**63 - 1, 1)),
    (appending, ([1, 2, 3],)), (appending, ([],)),
    (storing, ([1, 2, 3],)),
    (reversed_comprehension, ([1, 2, 3],)), (reversed_comprehension, ((4.0, 5.0),)),
    (nested, (5,)), (nested, (0,)),
    (first_below, ([5, 1, 7, 9], 6)), (first_below, ((9, 8), 1)),
]


@pytest.mark.parametrize(("func", "args"), CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)])
def test_reversed_answers_as_cpython(func, args):
    if func is reversed_comprehension and not compat.INLINE_COMPREHENSIONS:
        pytest.skip("3.12's own inlined comprehensions are declined (an exception table)")
    check(func, *args, may_bail=True)  # (an int64 overflow, a step of -2**63: bailouts)
    forced_sites(func, args)


def test_reversed_runs_natively_where_nothing_overflows():
    assert check(weighted, [1, 2, 3]).name == "OK"
    assert check(countdown, 3, 40, 7).name == "OK"
    assert check(appending, [4, 5]).name == "OK"


def reversed_of_two(xs):
    for _ in reversed(xs, xs):
        pass
    return 0


def enumerated(xs):
    s = 0
    for i, x in enumerate(reversed(xs)):
        s += i * x
    return s


def test_reversed_of_other_shapes_is_declined():
    with pytest.raises(Unsupported, match="reversed"):
        lower(reversed_of_two, (Kind.LIST,))
    with pytest.raises(Unsupported, match="a reversed object used as a function argument"):
        lower(enumerated, (Kind.LIST,))
