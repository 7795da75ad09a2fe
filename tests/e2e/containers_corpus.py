"""The differential corpus of issue 10: ordinary functions over lists, tuples and numpy
arrays, one operation or a few each, as a user writes them.

``test_containers.py`` runs every function twice per input: as defined here (plain
CPython, the oracle) and through ``@autotier.hot`` (promoted with a private broker),
each side on its own freshly built arguments, and compares the results, exceptions,
warnings and the arguments' state after the call.  ``@cases(family)`` names the input
family a function is swept with: a function returning a fresh list of argument tuples
on every call (so views, read-only flags and mutations are never shared between the two
sides); its first tuple promotes the function.

The llvm frontend compiles part of them (list, tuple and ndarray arguments: 86 of 118
ran natively on 2026-12-02, 100 with made lists and tuples and lists of tuples and lists; not
yet: creating arrays, rows of a 2-d array), the rest stay interpreted: the
test reports which ran natively and fails only on a mismatch.
``NATIVE_FLOOR`` is how many must run natively: raise it as the frontend learns more.
"""

import math

import numpy as np

from tests.e2e.differential import cases

# How many corpus functions must compile and run natively (test_containers.py counts
# them); raise it as support lands (40 ran natively once lists and tuples compiled, 86
# with ndarrays and numpy scalars, 100 with made lists and tuples and lists of tuples
# and lists, 105 with comprehensions and reversed(): 122 of 124 ran natively then).
NATIVE_FLOOR = 105  # lists, tuples, ndarrays, numpy scalars, made lists, comprehensions

NAN, INF = math.nan, math.inf
I64_MAX = 2**63 - 1
DTYPES = ("float64", "float32", "int64", "int32", "int16", "int8", "uint8", "uint16",
          "uint32", "uint64", "bool")


# ------------------------------------------------------------ input families
def _readonly(a):
    a.flags.writeable = False
    return a


def num_lists():
    """Lists of numbers: empty, one element, ints, floats, bools, mixed, huge ints,
    nans of both signs, -0.0 (min and max keep the first of equal values), inf."""
    return [[1.0, 2.0, 3.5], [], [1.5], [3, 1, 2], [True, False, True], [1, 2.5, True],
            [2**64, 1], [10**30, -(10**30), 7], [I64_MAX, 1], [NAN, 1.0], [1.0, NAN],
            [-NAN], [-0.0], [-0.0, 0.0], [0.0, -0.0], [INF, -INF], [1e308, 1e308],
            list(range(12)), [0.5 * i - 2.0 for i in range(9)], [False], [2, 2.0, True]]


def odd_lists():
    """Lists a numeric loop meets that CPython answers with a TypeError."""
    return [[1, None], ["a", "b"], [1.5, "x"], [[1], 2]]


def lists():
    return [(xs,) for xs in num_lists() + odd_lists()]


def numeric_lists():
    return [(xs,) for xs in num_lists()]


INDICES = (0, 1, -1, 2, -2, 3, -4, 5, True, 2**63, 2**64, 1.0)


def list_index_cases():
    return [(xs, i) for xs in ([3, 1, 2], [], [1.5], [1, 2.5, True], [2**64, -0.0, NAN])
            for i in INDICES]


def tuple_index_cases():
    return [(tuple(xs), i) for xs, i in list_index_cases()]


def tuples():
    return [(tuple(xs),) for xs in num_lists()] + [((1, None),)]


def list_pairs():
    return [([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]), ([], []), ([1, 2], [3, 4]),
            ([1.5, 2.5, 3.5], [2.0]), ([2.0], [1, 2, 3]), ([True, 2**64], [3, 1.5]),
            ([NAN, 1.0], [1.0, -0.0]), ([-0.0], [0.0]), ([10**30, 1], [10**30, 2]),
            ([1e308, 1e308], [10.0, 10.0]), ([I64_MAX, 2], [2, I64_MAX])]


def list_value_cases():
    values = (1, 2.0, -0.0, NAN, True, 2**64, 7)
    return [(xs, v) for xs in ([1.0, 2.0, NAN], [], [1, 2, 3], [True, 0.0], [2**64, 1.5],
                               [-0.0])
            for v in values]


def list_store_cases():
    return [(xs, i, v) for xs in ([1.0, 2.0, 3.0], [1, 2, 3], [], [True], [2**64, 1])
            for i in (0, -1, 2, 3, -4, 1.0) for v in (7, 2.5, NAN, True, 10**30)]


def list_threshold_cases():
    return [(xs, t) for xs in num_lists() for t in (0, 1.5, NAN, -INF)]


def list_scale_cases():
    return [(xs, k) for xs in ([1.0, 2.0], [], [1, 2, 3], [True, 2**62], [NAN, -0.0])
            for k in (2, -1, 0.5, NAN, True, 2**64)]


def sizes():
    return [(n,) for n in (5, 0, 1, 12, -1, True, 2.5, 2**64)]


def small_sizes():
    return [(n,) for n in (5, 0, 1, 2, 3, 30, -1, True, 2.5)]


def value_sizes():
    return [(v, n) for v in (1.5, 0, True, NAN, 2**64, -0.0) for n in (3, 0, 1, -2, True)]


def number_pairs():
    return [(a, b) for a in (3, 2.5, -0.0, True, 2**64, NAN, I64_MAX)
            for b in (2, 0.5, -1, True, NAN, I64_MAX, 0)]


def nested_lists():
    return [([[1.0, 2.0], [3.0]],), ([],), ([[]],), ([[1, 2], [3, 4.5]],),
            ([[True], [2**64, 1]],), ([[NAN], [-0.0]],), ([[1], 2],)]


def matrix_index_cases():
    return [(m, i, j) for m in ([[1.0, 2.0], [3.0, 4.0]], [[1, 2, 3]], [[]], [])
            for i, j in ((0, 0), (1, 1), (-1, -1), (0, 2), (2, 0), (0, -3))]


def swap_cases():
    return [(xs, i, j) for xs in ([1.0, 2.0, 3.0], [1, 2.5], [])
            for i, j in ((0, 1), (0, -1), (1, 1), (0, 3), (-4, 0))]


def points():
    return [([(1.0, 2.0), (3.0, 4.0)],), ([],), ([(1, 2), (3, 4.5)],), ([(True, 2.5)],),
            ([(NAN, 1.0), (-0.0, 2.0)],), ([(10**30, 2), (1, 1)],), ([(1, 2, 3)],),
            ([(1,)],), ([(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)],), (((1.0, 2.0), (0.5, 4.0)),)]


def pairs_of_tuples():
    return [(t,) for t in ((1, 2), (1.5, 2.5), (True, 2**64), (NAN, -0.0), (1, 2, 3), (1,),
                           (), (I64_MAX, 1))]


def tuple_value_cases():
    return [(tuple(xs), v) for xs, v in list_value_cases()]


def arrays_1d():
    """Fresh 1-D arrays: every dtype, empty, one element, nans, -0.0, extremes that
    overflow in arithmetic, reversed and non-contiguous views, read-only arrays."""
    out = [np.array([1, 0, 1], dtype=dt) if dt == "bool" else np.array([3, 1, 4, 1, 5],
                                                                        dtype=dt)
           for dt in DTYPES]
    return out + [
        np.array([], dtype=np.float64), np.array([], dtype=np.int64), np.array([2.5]),
        np.array([NAN, -0.0, 1.0]), np.array([-NAN, 2.0]), np.array([INF, -INF]),
        np.array([-0.0]), np.array([3.0e38, 3.0e38], dtype=np.float32),
        np.array([127, 1, -128], dtype=np.int8), np.array([255, 1], dtype=np.uint8),
        np.array([I64_MAX, 1], dtype=np.int64), np.array([2**64 - 1, 1], dtype=np.uint64),
        np.array([-1, 2**31 - 1], dtype=np.int32), np.arange(10.0)[::-1],
        np.arange(12, dtype=np.int32)[1::3], np.arange(8, dtype=np.int16)[::-2],
        _readonly(np.array([1.5, 2.5])), _readonly(np.arange(4)),
    ]


def few_arrays_1d():
    """A shorter set for the families that combine arrays with other arguments."""
    return [np.array([1.5, 2.5, -0.0]), np.array([3, 1, 4], dtype=np.int64),
            np.array([100, -100, 7], dtype=np.int8), np.array([250, 1, 2], dtype=np.uint8),
            np.array([1, 0, 1], dtype=np.bool_), np.array([0.1, 2.0], dtype=np.float32),
            np.array([2**64 - 1, 2], dtype=np.uint64), np.array([], dtype=np.float64),
            np.arange(6.0)[::-2], _readonly(np.array([1.0, 2.0, 3.0]))]


def arrays():
    return [(a,) for a in arrays_1d()]


def array_index_cases():
    return [(a, i) for a in few_arrays_1d()
            for i in (0, 1, -1, 2, -3, 3, -4, True, 2**63, 1.0, np.int64(1))]


def array_pairs():
    return [(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])),
            (np.array([], dtype=np.float64), np.array([], dtype=np.float64)),
            (np.array([1, 2, 3], dtype=np.int64), np.array([4, 5, 6], dtype=np.int64)),
            (np.array([0.5, 1.5], dtype=np.float32), np.array([2.0, 4.0], dtype=np.float32)),
            (np.array([1.5, 2.5]), np.array([2, 3], dtype=np.int32)),
            (np.array([100, 100], dtype=np.int8), np.array([2, 3], dtype=np.int8)),
            (np.array([I64_MAX, 1], dtype=np.int64), np.array([2, 1], dtype=np.int64)),
            (np.array([1, 0], dtype=np.bool_), np.array([1, 1], dtype=np.bool_)),
            (np.array([NAN, -0.0]), np.array([1.0, 0.0])),
            (np.arange(6.0)[::-2], np.arange(3.0)),
            (np.array([1.0, 2.0, 3.0]), np.array([1.0])),
            (np.array([1.0]), np.array([1.0, 2.0]))]


def array_value_cases():
    return [(a, v) for a in few_arrays_1d()
            for v in (2, 2.5, -0.0, NAN, True, 300, -1, 2**64, np.float32(1.5))]


def array_store_cases():
    return [(a, i, v) for a in few_arrays_1d()
            for i in (0, -1, 3, 1.0) for v in (7, 2.5, NAN, True, 300, -1, INF)]


def array_out_cases():
    return [(a, np.zeros(len(a), dtype=dt)) for a in few_arrays_1d()
            for dt in ("float64", "int64", "float32", "int8")] + [
        (np.array([1.0, 2.0]), np.zeros(1)),
        (np.array([1.0, 2.0]), _readonly(np.zeros(2))),
        (np.array([1.0, 2.0, 3.0]), np.zeros(6)[::2])]


def arrays_2d():
    """Fresh 2-D arrays: every dtype, C and Fortran order, transposed and strided views,
    empty, 1x1, nans and -0.0, int8 extremes, read-only."""
    out = [np.arange(12).reshape(3, 4).astype(dt) for dt in DTYPES]
    return out + [
        np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(12.0).reshape(3, 4).T,
        np.arange(20.0).reshape(4, 5)[::2, ::-1], np.zeros((0, 3)), np.array([[2.5]]),
        np.array([[NAN, -0.0], [INF, -NAN]]), _readonly(np.ones((2, 2))),
        np.array([[127, 127], [1, -128]], dtype=np.int8),
    ]


def matrices():
    return [(a,) for a in arrays_2d()]


def few_arrays_2d():
    return [np.arange(6.0).reshape(2, 3), np.arange(6, dtype=np.int32).reshape(3, 2),
            np.asfortranarray(np.arange(4.0).reshape(2, 2)), np.arange(12.0).reshape(3, 4).T,
            np.array([[100, -100]], dtype=np.int8), np.zeros((0, 2)),
            np.array([[1, 0], [0, 1]], dtype=np.bool_), _readonly(np.ones((2, 2)))]


def matrix_cell_cases():
    return [(a, i, j) for a in few_arrays_2d()
            for i, j in ((0, 0), (1, 1), (-1, -1), (1, -2), (2, 0), (0, 3), (-3, 0),
                         (True, 0))]


def matrix_store_cases():
    return [(a, i, j, v) for a in few_arrays_2d()
            for i, j in ((0, 0), (-1, 1), (2, 0), (0, -3)) for v in (5, 2.5, NAN, 300)]


def matrix_out_cases():
    return [(a, np.zeros(a.shape, dtype=dt)) for a in few_arrays_2d()
            for dt in ("float64", "int32")] + [
        (np.ones((2, 3)), np.zeros((2, 2))), (np.ones((2, 2)), _readonly(np.zeros((2, 2)))),
        (np.ones((2, 2)), np.zeros((4, 4))[::2, ::-2])]


def transposable_cases():
    return [(a, np.zeros((a.shape[1], a.shape[0]), dtype=a.dtype)) for a in few_arrays_2d()
            ] + [(np.ones((2, 3)), np.zeros((2, 3)))]


def matrix_pairs():
    return [(np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)),
            (np.eye(3), np.arange(9.0).reshape(3, 3).T),
            (np.arange(4, dtype=np.int64).reshape(2, 2), np.ones((2, 2), dtype=np.int64)),
            (np.ones((2, 2), dtype=np.float32), np.ones((2, 2), dtype=np.float32)),
            (np.array([[NAN, 1.0]]), np.array([[1.0], [-0.0]])),
            (np.zeros((0, 2)), np.ones((2, 3))), (np.ones((2, 3)), np.ones((2, 3))),
            (np.array([[100]], dtype=np.int8), np.array([[2]], dtype=np.int8))]


def any_arrays():
    """Arrays of every number of dimensions: 0-d, 1-d, 2-d, 3-d (views too)."""
    return [(a,) for a in (
        np.array(5.0), np.array(3, dtype=np.int8), np.array(True), np.arange(4.0),
        np.array([], dtype=np.int64), np.arange(6, dtype=np.int32).reshape(2, 3),
        np.zeros((0, 4)), np.arange(24).reshape(2, 3, 4),
        np.arange(24.0).reshape(2, 3, 4)[:, ::-1, ::2], np.zeros((2, 0, 3), np.float32),
        np.asfortranarray(np.arange(6.0).reshape(3, 2)), _readonly(np.arange(3)))]


def any_array_axes():
    return [(a, k) for (a,) in any_arrays() for k in (0, 1, -1, 2, 3)]


def cube_cells():
    return [(a, i, j, k) for a in (np.arange(24).reshape(2, 3, 4),
                                   np.arange(24.0).reshape(2, 3, 4)[:, ::-1, ::2],
                                   np.zeros((1, 1, 1), np.uint16))
            for i, j, k in ((0, 0, 0), (1, 2, 1), (-1, -1, -1), (2, 0, 0), (0, 3, 0))]


def matrix_shapes():
    return [(n, m) for n, m in ((2, 3), (0, 4), (1, 1), (3, 0), (-1, 2), (2, 2.5), (4, 4))]


def histogram_cases():
    data = ([0.1, 0.5, 0.9, 0.25], np.array([0.1, 0.5, 0.9, 0.25]), [], np.array([0.0]),
            [0.5, 1.0], np.array([NAN]), np.array([0.2, 0.7], dtype=np.float32), [-0.2, 0.1])
    return [(d, n) for d in data for n in (4, 1, 0)]


def mean_cases():
    return [(a,) for a in few_arrays_1d()] + [(np.array([3.0e38, 3.0e38], np.float32),)]


# ------------------------------------------------------------ lists: length, indexing
@cases(lists)
def list_len(xs):
    return len(xs)


@cases(lists)
def list_first(xs):
    return xs[0]


@cases(lists)
def list_last(xs):
    return xs[-1]


@cases(list_index_cases)
def list_index(xs, i):
    return xs[i]


@cases(list_index_cases)
def list_index_from_end(xs, i):
    return xs[-i - 1]


@cases(list_index_cases)
def list_index_checked(xs, i):
    if -len(xs) <= i < len(xs):
        return xs[i]
    return None


@cases(matrix_index_cases)
def list_nested_index(m, i, j):
    return m[i][j]


# ------------------------------------------------------------ lists: loops
@cases(lists)
def list_sum_loop(xs):
    s = 0
    for x in xs:
        s += x
    return s


@cases(lists)
def list_fsum_loop(xs):
    s = 0.0
    for x in xs:
        s += x
    return s


@cases(lists)
def list_sum_range_len(xs):
    s = 0.0
    for i in range(len(xs)):
        s += xs[i] * (i + 1)
    return s


@cases(lists)
def list_argmax(xs):
    best = 0
    for i, x in enumerate(xs):
        if x > xs[best]:
            best = i
    return best


@cases(lists)
def list_max_loop(xs):
    best = xs[0]
    for x in xs:
        if x > best:
            best = x
    return best


@cases(list_pairs)
def list_dot_zip(xs, ys):
    s = 0.0
    for a, b in zip(xs, ys):
        s += a * b
    return s


@cases(list_pairs)
def list_dot_index(xs, ys):
    s = 0
    for i in range(len(xs)):
        s += xs[i] * ys[i]
    return s


@cases(list_threshold_cases)
def list_count_above(xs, t):
    n = 0
    for x in xs:
        if x > t:
            n += 1
    return n


@cases(lists)
def list_leading_nonnegative(xs):
    i = 0
    while i < len(xs) and xs[i] >= 0:
        i += 1
    return i


@cases(lists)
def list_any_true(flags):
    for f in flags:
        if f:
            return True
    return False


@cases(nested_lists)
def list_of_lists_sum(rows):
    s = 0
    for row in rows:
        for x in row:
            s += x
    return s


@cases(lists)
def list_mean(xs):
    return sum(xs) / len(xs)


# ------------------------------------------------------------ lists: builtins, in
@cases(lists)
def list_sum_builtin(xs):
    return sum(xs)


@cases(lists)
def list_sum_start(xs):
    return sum(xs, 0.5)


@cases(lists)
def list_min(xs):
    return min(xs)


@cases(lists)
def list_max(xs):
    return max(xs)


@cases(lists)
def list_min_max(xs):
    return min(xs), max(xs)


@cases(list_value_cases)
def list_contains(xs, v):
    return v in xs


@cases(list_value_cases)
def list_not_contains(xs, v):
    return v not in xs


@cases(list_value_cases)
def list_count_equal(xs, v):
    n = 0
    for x in xs:
        if x == v:
            n += 1
    return n


# ------------------------------------------------------------ lists: stores, appends
@cases(list_store_cases)
def list_store(xs, i, v):
    xs[i] = v
    return xs


@cases(list_value_cases)
def list_store_last(xs, v):
    xs[-1] = v


@cases(list_store_cases)
def list_aug_store(xs, i, v):
    xs[i] += v
    return xs[i]


@cases(list_scale_cases)
def list_scale_in_place(xs, k):
    for i in range(len(xs)):
        xs[i] *= k


@cases(swap_cases)
def list_swap(xs, i, j):
    xs[i], xs[j] = xs[j], xs[i]


@cases(list_value_cases)
def list_append_value(xs, v):
    xs.append(v)
    return len(xs)


@cases(small_sizes)
def list_append_squares(n):
    out = []
    for i in range(n):
        out.append(i * i)
    return out


@cases(lists)
def list_reversed_copy(xs):
    out = []
    for i in range(len(xs) - 1, -1, -1):
        out.append(xs[i])
    return out


@cases(lists)
def list_prefix_sums(xs):
    out = [0] * (len(xs) + 1)
    for i in range(len(xs)):
        out[i + 1] = out[i] + xs[i]
    return out


@cases(lists)
def list_doubles_itself(xs):
    # the loop appends to the list it walks: CPython's iterator sees the new items
    for x in xs:
        if len(xs) < 8:
            xs.append(x * 2)
    return len(xs)


@cases(lists)
def list_shrinks_itself(xs):
    # the loop shortens the list it walks
    n = 0
    for _x in xs:
        xs.pop()
        n += 1
    return n


# ------------------------------------------------------------ list literals, [v] * n
@cases(number_pairs)
def list_literal(a, b):
    return [a, b, a + b]


@cases(number_pairs)
def list_literal_index(a, b):
    xs = [a, b, 2.5]
    return xs[0] * xs[2] - xs[1]


@cases(value_sizes)
def list_repeat(v, n):
    return [v] * n


@cases(sizes)
def list_repeat_fill(n):
    xs = [0.0] * n
    for i in range(n):
        xs[i] = i * 0.5
    return xs


@cases(small_sizes)
def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = False
    flags[1] = False
    for i in range(2, n + 1):
        if flags[i]:
            for j in range(i * i, n + 1, i):
                flags[j] = False
    return flags


@cases(small_sizes)
def count_primes(n):
    flags = [True] * (n + 1)
    count = 0
    for i in range(2, n + 1):
        if flags[i]:
            count += 1
            for j in range(i * i, n + 1, i):
                flags[j] = False
    return count


# ------------------------------------------------------------ tuples
@cases(tuples)
def tuple_len(t):
    return len(t)


@cases(tuple_index_cases)
def tuple_index(t, i):
    return t[i]


@cases(tuples)
def tuple_second_last(t):
    return t[-2]


@cases(tuples)
def tuple_iter_sum(t):
    s = 0
    for x in t:
        s += x
    return s


@cases(tuples)
def tuple_min_max(t):
    return min(t), max(t)


@cases(tuples)
def tuple_sum_builtin(t):
    return sum(t)


@cases(tuple_value_cases)
def tuple_contains(t, v):
    return v in t


@cases(pairs_of_tuples)
def tuple_unpack_add(t):
    a, b = t
    return a + b


@cases(number_pairs)
def tuple_return_pair(x, y):
    return x + y, x - y


@cases(number_pairs)
def tuple_return_divmod(a, b):
    return a // b, a % b


@cases(number_pairs)
def tuple_swap(a, b):
    a, b = b, a
    return a, b


@cases(number_pairs)
def tuple_literal(a, b):
    t = (a, b, a * b)
    return t[2] - t[0]


@cases(points)
def points_dot(pts):
    s = 0.0
    for x, y in pts:
        s += x * y
    return s


@cases(points)
def points_centroid(pts):
    sx = 0.0
    sy = 0.0
    for x, y in pts:
        sx += x
        sy += y
    n = len(pts)
    return sx / n, sy / n


@cases(lists)
def list_ends(xs):
    return len(xs), (xs[0], xs[-1])


# ------------------------------------------------------------ arrays: len, index, attributes
@cases(any_arrays)
def arr_len(a):
    return len(a)


@cases(any_arrays)
def arr_shape(a):
    return a.shape


@cases(any_array_axes)
def arr_shape_k(a, k):
    return a.shape[k]


@cases(any_arrays)
def arr_ndim(a):
    return a.ndim


@cases(any_arrays)
def arr_size(a):
    return a.size


@cases(any_arrays)
def arr_first_any(a):
    return a[0]


@cases(arrays)
def arr_first(a):
    return a[0]


@cases(arrays)
def arr_last(a):
    return a[-1]


@cases(array_index_cases)
def arr_index(a, i):
    return a[i]


@cases(array_index_cases)
def arr_compare(a, i):
    return a[i] < a[0]


@cases(arrays)
def arr_shape0_loop(a):
    n = 0
    for _i in range(a.shape[0]):
        n += 1
    return n


# ------------------------------------------------------------ arrays: loops, arithmetic
@cases(arrays)
def arr_sum_loop(a):
    s = 0.0
    for x in a:
        s += x
    return s


@cases(arrays)
def arr_int_sum_loop(a):
    s = 0
    for x in a:
        s += x
    return s


@cases(arrays)
def arr_sum_range(a):
    s = 0.0
    for i in range(len(a)):
        s += a[i]
    return s


@cases(arrays)
def arr_first_plus_last(a):
    return a[0] + a[-1]


@cases(arrays)
def arr_sum_builtin(a):
    return sum(a)


@cases(arrays)
def arr_min_builtin(a):
    return min(a)


@cases(arrays)
def arr_max_builtin(a):
    return max(a)


@cases(arrays)
def arr_argmax(a):
    best = 0
    for i in range(1, len(a)):
        if a[i] > a[best]:
            best = i
    return best


@cases(arrays)
def arr_count_positive(a):
    n = 0
    for x in a:
        if x > 0:
            n += 1
    return n


@cases(arrays)
def arr_enumerate_weighted(a):
    s = 0.0
    for i, x in enumerate(a):
        s += i * x
    return s


@cases(mean_cases)
def arr_mean(a):
    s = 0.0
    for x in a:
        s += x
    return s / len(a)


@cases(array_pairs)
def arr_dot(a, b):
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return s


@cases(array_pairs)
def arr_dot_zip(a, b):
    s = 0.0
    for x, y in zip(a, b):
        s += x * y
    return s


@cases(array_value_cases)
def arr_mixed_arith(a, x):
    # NEP 50: a Python number adapts to the array scalar's dtype
    return a[0] * x + 1


@cases(array_value_cases)
def arr_contains(a, v):
    return v in a


@cases(array_value_cases)
def arr_count_equal(a, v):
    n = 0
    for x in a:
        if x == v:
            n += 1
    return n


# ------------------------------------------------------------ arrays: stores
@cases(array_store_cases)
def arr_store(a, i, v):
    a[i] = v
    return a[i]


@cases(array_store_cases)
def arr_aug_store(a, i, v):
    a[i] += v


@cases(array_value_cases)
def arr_fill(a, v):
    for i in range(len(a)):
        a[i] = v


@cases(array_value_cases)
def arr_scale(a, k):
    for i in range(a.shape[0]):
        a[i] *= k


@cases(array_out_cases)
def arr_prefix_into(a, out):
    s = 0.0
    for i in range(len(a)):
        s += a[i]
        out[i] = s


@cases(array_out_cases)
def arr_reverse_into(a, out):
    n = len(a)
    for i in range(n):
        out[n - 1 - i] = a[i]
    return out


# ------------------------------------------------------------ 2-D and 3-D arrays
@cases(matrix_cell_cases)
def arr2_get(a, i, j):
    return a[i, j]


@cases(matrix_cell_cases)
def arr2_chained(a, i, j):
    return a[i][j]


@cases(matrix_cell_cases)
def arr2_row(a, i, j):
    return a[i]


@cases(matrix_store_cases)
def arr2_set(a, i, j, v):
    a[i, j] = v
    return a


@cases(matrix_store_cases)
def arr2_aug(a, i, j, v):
    a[i, j] += v
    return a[i, j]


@cases(matrices)
def arr2_sum(a):
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j]
    return s


@cases(matrices)
def arr2_trace(a):
    s = 0
    for i in range(min(a.shape[0], a.shape[1])):
        s += a[i, i]
    return s


@cases(matrices)
def arr2_row_loop(a):
    s = 0.0
    for row in a:
        for x in row:
            s += x
    return s


@cases(matrix_out_cases)
def arr2_row_sums_into(a, out):
    n, m = a.shape
    for i in range(n):
        s = 0.0
        for j in range(m):
            s += a[i, j]
        out[i, 0] = s


@cases(transposable_cases)
def arr2_transpose_into(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j, i] = a[i, j]
    return out


@cases(matrix_out_cases)
def stencil_into(a, out):
    n, m = a.shape
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1]) - a[i, j]


@cases(cube_cells)
def arr3_get(a, i, j, k):
    return a[i, j, k]


@cases(cube_cells)
def arr3_set(a, i, j, k):
    a[i, j, k] = i + j + k
    return a


# ------------------------------------------------------------ creating arrays
@cases(sizes)
def np_zeros_fill(n):
    a = np.zeros(n)
    for i in range(n):
        a[i] = i * 0.5
    return a


@cases(sizes)
def np_zeros_int64(n):
    a = np.zeros(n, dtype=np.int64)
    for i in range(n):
        a[i] = i * i
    return a


@cases(sizes)
def np_ones_sum(n):
    a = np.ones(n)
    s = 0.0
    for x in a:
        s += x
    return s


@cases(sizes)
def np_empty_fill(n):
    a = np.empty(n)
    for i in range(n):
        a[i] = -i
    return a


@cases(sizes)
def np_ones_uint8_wraps(n):
    a = np.ones(n, dtype=np.uint8)
    for i in range(n):
        a[i] += 200
        a[i] += 100
    return a


@cases(sizes)
def np_zeros_float32(n):
    a = np.zeros(n, dtype=np.float32)
    for i in range(n):
        a[i] = 0.1 * i
    return a


@cases(sizes)
def np_zeros_bool(n):
    a = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        a[i] = i % 2
    return a


@cases(matrix_shapes)
def np_zeros_2d(n, m):
    a = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            a[i, j] = i * m + j
    return a


@cases(matrix_shapes)
def np_ones_2d_int32(n, m):
    a = np.ones((n, m), dtype=np.int32)
    for i in range(n):
        a[i, 0] = -i
    return a


@cases(matrix_shapes)
def np_empty_2d_int16(n, m):
    a = np.empty((n, m), dtype=np.int16)
    for i in range(n):
        for j in range(m):
            a[i, j] = i - j
    return a.shape


@cases(histogram_cases)
def histogram(data, nbins):
    hist = np.zeros(nbins, dtype=np.int64)
    for x in data:
        hist[int(x * nbins)] += 1
    return hist


@cases(matrix_pairs)
def matmul(a, b):
    n, m = a.shape
    p = b.shape[1]
    c = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            s = 0.0
            for k in range(m):
                s += a[i, k] * b[k, j]
            c[i, j] = s
    return c


@cases(matrices)
def stencil(a):
    n, m = a.shape
    out = np.zeros((n, m))
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1]) - a[i, j]
    return out


# ------------------------------------------- comprehensions and reversed() (issue 11)
@cases(lists)
def comp_squares(xs):
    return [x * x for x in xs]


@cases(list_threshold_cases)
def comp_filter(xs, t):
    return [x for x in xs if x > t]


@cases(small_sizes)
def comp_table(n):
    return [[i * j for j in range(n)] for i in range(n)]


@cases(list_scale_cases)
def comp_scaled_total(xs, k):
    ys = [x * k for x in xs]
    total = 0
    for y in ys:
        total += y
    return total


@cases(lists)
def reversed_weighted(xs):
    s = 0.0
    w = 1.0
    for x in reversed(xs):
        s += x * w
        w += 0.5
    return s


@cases(small_sizes)
def reversed_range_list(n):
    return [i - n for i in reversed(range(n))]
