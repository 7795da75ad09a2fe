"""Lists and tuples in the llvm frontend (issue 10): length, element loads (negative
indices, IndexError), iteration, each element's speculated kind checked at its load.

Differential through the frontend harness: every call compared with CPython (a bailout
resumed in the interpreter must give CPython's answer), and every deopt site of each
function forced once (:func:`tests.frontend.harness.forced_sites`).
"""

from __future__ import annotations

import math

import pytest

from tests.frontend.harness import check, forced_sites
from tests.frontend.kernels import at, bounds, dot, int_total, scale, total, weighted


def doubled_at(xs, i):
    return xs[i] * 2


def length(xs):
    return len(xs)


def by_index(xs):
    s = 0
    for i in range(len(xs)):
        s += xs[i] * i
    return s


def last_minus_first(xs):
    return xs[-1] - xs[0]


def largest(xs):
    best = xs[0]
    for x in xs:
        if x > best:
            best = x
    return best


def count_above(xs, limit):
    n = 0
    for x in xs:
        if x > limit:
            n += 1
    return n


def nested(xs, ys):
    s = 0
    for x in xs:
        for y in ys:
            s += x * y
    return s


def mean(xs):
    s = 0
    for x in xs:
        s = s + x
    return s / len(xs)


def norm(xs):
    s = 0.0
    for x in xs:
        s += x * x
    return math.sqrt(s)


def truthy_count(xs):
    n = 0
    for x in xs:
        if x:
            n += 1
    return n


def early_exit(xs, target):
    for i in range(len(xs)):
        if xs[i] == target:
            return i
    return -1


def weighted_from_one(xs):
    s = 0
    for i, x in enumerate(xs, 1):
        s += i * x
    return s


def zipped_dot(xs, ys):
    s = 0.0
    for a, b in zip(xs, ys):
        s += a * b
    return s


def zipped_with_range(xs, n):
    s = 0
    for i, x in zip(range(n), xs):
        s += i + x
    return s


def three_way(xs, ys, zs):
    s = 0
    for a, b, c in zip(xs, ys, zs):
        if a < b < c:
            s += 1
    return s


def first_negative(xs):
    for i, x in enumerate(xs):
        if x < 0:
            return i
    return -1


def total_by_sum(xs):
    return sum(xs)


def spread(xs):
    return max(xs) - min(xs)


def normalised_sum(xs):
    s = sum(xs)
    return s / len(xs) if xs else 0.0


def divmod_pair(a, b):
    return a // b, a % b


def tagged_pair(x):
    if x > 0:
        return x, 1.5
    return None, x > -1


def count_members(xs, ys):
    n = 0
    for i in range(len(xs)):
        if i in ys:
            n += 1
        elif i not in xs:
            n -= 100
    return n


def member(x, ys):
    return x in ys


def unpacked(t):
    a, b = t
    return a * b - a


def sum_from(xs):
    return sum(xs, 0.5) + sum(xs, True)


FLOATS = [1.5, -2.25, 3.0, 0.1, -0.0]
INTS = [3, -7, 11, 0, 2**40]
MIXED = [1, 2.5, True, -3, 0.0]

CASES = [
    (total, [(FLOATS,), ([],), ((1.0, 2.0, 3.5),), ([math.nan, 1.0],), ([math.inf, -math.inf],),
             (MIXED,), ([1.0, "x"],), ([2**70, 1.0],)]),
    (int_total, [(INTS,), ([],), ([2**62, 2**62],), ((True, False, True),), ([1, 2.5],)]),
    (at, [(INTS, 0), (INTS, -1), (INTS, 4), (INTS, 5), (INTS, -5), (INTS, -6), ([], 0),
          ((1.5, 2.5), 1), ((1.5, 2.5), -3), (FLOATS, True), ([2**64], 0), (["s"], 0)]),
    (doubled_at, [(INTS, 4), ([2**62], 0), (FLOATS, 2), ([True], 0)]),
    (length, [([],), (INTS,), ((),), ((1,) * 1000,)]),
    (by_index, [(INTS,), (FLOATS,), ([],), ([2**62, 2**62, 2**62],)]),
    (last_minus_first, [(INTS,), ([],), ((2.5,),), ([-(2**63), 1],)]),
    (dot, [(FLOATS, FLOATS), (FLOATS, INTS), (FLOATS, [1.0]), ([], []), ((1.0, 2.0), [3.0, 4.0])]),
    (largest, [(INTS,), (FLOATS,), ([],), ([math.nan, 1.0, 2.0],), ([1.0, math.nan],), (MIXED,)]),
    (count_above, [(FLOATS, 0.5), (INTS, 3), ([], 1), ((1, 2, 3), 2.5)]),
    (nested, [([1, 2], [3, 4]), ([], [1]), ([2**32, 2**32], [2**31, 2**31]), ((1.5,), [2, 3])]),
    (mean, [(FLOATS,), (INTS,), ([],), ([True, False],)]),
    (norm, [(FLOATS,), ([3, 4],), ([],), ([1e200, 1e200],)]),
    (truthy_count, [([0, 1, 0.0, -0.0, math.nan, True, False],), ([],)]),
    (early_exit, [(INTS, 11), (INTS, 99), ([], 1), (FLOATS, -0.0), ((1, 2.0), 2)]),
    (weighted, [(FLOATS,), ([],), (INTS,), ([1, "a"],), ((1.0, 2.0),)]),
    (weighted_from_one, [(INTS,), ([2**62, 2**62],), ([],)]),
    (zipped_dot, [(FLOATS, INTS), ([], FLOATS), (FLOATS, [1.0]), ((1.5,), [2.0, 3.0])]),
    (zipped_with_range, [(INTS, 3), (INTS, 10), ([], 0), ([1.5], -1)]),
    (three_way, [(INTS, FLOATS, [1, 2, 3]), ([1, 2], [2, 3], [3, 4]), ([], [], [])]),
    (first_negative, [(FLOATS,), (INTS,), ([],), ([math.nan, -1],)]),
    (total_by_sum, [(FLOATS,), (INTS,), ([],), ([-0.0],), ([2**62, 2**62],), (MIXED,),
                    ((1, 2.5),), ([1, "a"],), ([1e308, 1e308],), ([0.1] * 10,)]),
    (spread, [(FLOATS,), (INTS,), ([],), ([math.nan, 1.0],), ([1.0, math.nan],), (MIXED,),
              (["b", "a"],)]),
    (normalised_sum, [(FLOATS,), ([],), (INTS,)]),
    (bounds, [(FLOATS,), (INTS,), ([],), (MIXED,), ((math.nan, 1.0),)]),
    (divmod_pair, [(7, 2), (-7, 2), (7.5, -2), (1, 0), (2**63 - 1, -1)]),
    (tagged_pair, [(3,), (-3,), (0.5,), (-0.5,)]),
    (count_members, [(INTS, FLOATS), (FLOATS, INTS), ([], [1]), ([math.nan], [math.nan]),
                     ([1, 2], (2.0, True)), ([0.0], [-0.0])]),
    (unpacked, [((1, 2),), ((1.5, -2),), ((1,),), ((1, 2, 3),), ([3, 4],), ((),), (("a", 2),)]),
    (sum_from, [(INTS,), (FLOATS,), ([],), (MIXED,), ([2**62, 2**62],)]),
    (member, [(1, [1.0]), (2, []), (True, (1,)), (3, ["a", 3]), (0, [math.nan, 0.0]),
              (2**62, [2**62])]),
]


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_sequences_answer_as_cpython(func, inputs):
    for args in inputs:
        check(func, *args, may_bail=True)


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_every_site_resumes_as_cpython(func, inputs):
    reached: set[int] = set()
    for args in inputs:
        reached |= forced_sites(func, args)
    assert reached


def test_a_list_of_floats_is_answered_natively():
    from autotier.abi import Status

    assert check(total, [1.0, 2.0, 3.5]) is Status.OK
    assert check(at, (1, 2, 3), -1) is Status.OK
    assert check(length, [1, 2]) is Status.OK
    assert check(dot, [1.0, 2.0], [0.5, 0.25]) is Status.OK
    assert check(total_by_sum, [1.0, 2.0, 0.1]) is Status.OK  # CPython's sum, called
    assert check(spread, (3, 1, 2)) is Status.OK
    assert check(total_by_sum, [1, "a"]) is Status.RAISED  # its TypeError, after the call
    assert check(bounds, [2.5, -1.0, 7.0]) is Status.OK  # a tuple result
    assert check(tagged_pair, -3) is Status.OK and check(tagged_pair, 2) is Status.OK
    assert check(member, 2, [1, 2.0]) is Status.OK and check(member, 5, (1,)) is Status.OK


def test_an_index_out_of_range_raises_cpythons_index_error():
    from autotier.abi import Status

    assert check(at, [1, 2, 3], 3) is Status.INDEX
    assert check(at, (1, 2, 3), -4) is Status.INDEX


# ---------------------------------------------------------------- stores


def scale_in_place(xs, k):
    for i in range(len(xs)):
        xs[i] *= k
    return xs[0]


def store_at(xs, i, v):
    xs[i] = v


def stored_and_returned(xs, i, v):
    xs[i] = v
    return xs


def fill(xs, v):
    for i in range(len(xs)):
        xs[i] = v
    return len(xs)


def prefix_sums(xs):
    s = 0
    for i in range(len(xs)):
        s += xs[i]
        xs[i] = s


def swap_ends(xs):
    xs[0], xs[-1] = xs[-1], xs[0]


def collect(xs, n):
    for i in range(n):
        xs.append(i * 0.5)
    return len(xs)


def double_up(xs):
    n = len(xs)
    for i in range(n):
        xs.append(xs[i] * 2)


def append_sign(xs, x):
    xs.append(x > 0)
    return xs[-1]


def returns_none(x):
    if x > 0:
        return None
    return x


STORES = [
    (scale, [([1.0, 2.5, -0.0], 2.0), ([1, 2, 3], 3), ([], 2), ([2**62], 4), ([1, 2.5], 2),
             ([1.0, "s"], 2), ([True, False], 5)]),
    (scale_in_place, [([1.5, 2.0], 0.5), ([1, 2], 2**62), ([], 1), ([3, 4.5, True], -1)]),
    (store_at, [([1, 2, 3], 1, 7), ([1, 2, 3], -1, 2.5), ([1, 2, 3], 3, 0), ([1], -2, 0),
                ([1.5], 0, True), ([object()], 0, 1), ([1, 2], 0, 2**40)]),
    (stored_and_returned, [([1, 2], 0, 5), ([1.5], -1, 2.5), ([], 0, 1), (["a"], 0, 1)]),
    (fill, [([0, 0, 0], 1.5), ([], 1), ([1.0, "x", 2.0], 0)]),
    (prefix_sums, [([1, 2, 3, 4],), ([1.5, 2.5],), ([2**62, 2**62, 1],), ([],)]),
    (swap_ends, [([1, 2, 3],), ([1.5],), ([],), ([1, "a"],)]),
    (returns_none, [(1,), (-2,), (0.0,)]),
    (collect, [([], 3), ([1, 2], 0), ([1.5], 100)]),
    (double_up, [([1, 2.5, True],), ([],), ([2**62],), (["a"],)]),
    (append_sign, [([], 1), ([1.5], -2.0), ((1,), 1)]),
]


@pytest.mark.parametrize(("func", "inputs"), STORES, ids=[c[0].__name__ for c in STORES])
def test_stores_leave_lists_as_cpython_does(func, inputs):
    for args in inputs:
        check(func, *args, may_bail=True)


@pytest.mark.parametrize(("func", "inputs"), STORES, ids=[c[0].__name__ for c in STORES])
def test_every_site_of_a_store_resumes_as_cpython(func, inputs):
    reached: set[int] = set()
    for args in inputs:
        reached |= forced_sites(func, args)
    assert reached


def test_stores_into_lists_of_numbers_run_natively():
    from autotier.abi import Status

    assert check(scale, [1.0, 2.0], 3.0) is Status.OK
    assert check(prefix_sums, [1, 2, 3]) is Status.OK
    assert check(store_at, [1, 2], -1, 9) is Status.OK
    assert check(store_at, (1, 2), 0, 9) is not Status.OK  # a tuple: CPython's TypeError
