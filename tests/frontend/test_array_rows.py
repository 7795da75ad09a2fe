"""Rows of arrays of two or more dimensions (issue 10): ``a[i]`` with one int index and
``for row in a`` are numpy's views (``PySequence_GetItem``: what CPython's ``a[i]``
gives), owned by native code, indexed, iterated, stored into (through to the array),
passed and returned.  Differential through the frontend harness, every site forced, and
the reference counts of the array left as they were.
"""

from __future__ import annotations

import numpy as np
import pytest

from autotier.abi import Kind, Status
from autotier.frontend import Unsupported, lower
from tests.frontend.harness import check, compile_function, force_every_site, forget
from tests.window import measure


def row_sum(a):
    s = 0.0
    for row in a:
        for x in row:
            s += x
    return s


def at(a, i, j):
    return a[i][j]


def row_local(a, i):
    r = a[i]
    t = 0
    for j in range(len(r)):
        t += r[j]
    return t + r.size


def store_through(a, i):
    r = a[i]
    r[0] = 99
    r[-1] += 1
    return r


def enumerated(a):
    best = -1
    for i, row in enumerate(a):
        if row[0] > row[-1]:
            best = i
    return best


def zipped(a, b):
    s = 0
    for r, q in zip(a, b):
        s += r[0] * q[1]
    return s


def planes(a):
    n = 0
    for plane in a:
        for row in plane:
            n += row[0]
    return n


def shapes(a, i):
    r = a[i]
    return r.shape


def _arrays() -> list[np.ndarray]:
    base = np.arange(12.0).reshape(3, 4)
    return [base, np.asfortranarray(base), base[::-1, ::2], np.zeros((0, 3)),
            np.arange(12, dtype=np.int16).reshape(4, 3),
            np.array([[np.nan, -0.0], [np.inf, 1e308]])]


@pytest.mark.parametrize("a", _arrays(), ids=lambda a: f"{a.dtype}{a.shape}")
def test_rows_answer_as_numpy(a: np.ndarray) -> None:
    compile_function(row_sum, (Kind.of(a),))  # native, not declined
    check(row_sum, a)
    check(enumerated, a)
    check(zipped, a, a)
    for i in (0, 1, -1, 2, 3, -4, 9):
        check(row_local, a, i)
        check(shapes, a, i)
        for j in (0, -1, 1, 3, -5):
            check(at, a, i, j)


def test_numpys_index_errors() -> None:
    a = np.arange(6).reshape(2, 3)
    assert check(at, a, 2, 0) is Status.INDEX  # index 2 is out of bounds for axis 0
    assert check(at, a, 0, 3) is Status.INDEX  # the row's own: axis 0 with size 3
    assert check(at, a, -3, 0) is Status.INDEX


def test_a_row_is_a_view_stored_through() -> None:
    a = np.arange(12.0).reshape(3, 4)
    check(store_through, a, 1)
    check(store_through, a, -1)
    assert check(store_through, a, 7) is Status.INDEX
    ro = a.copy()
    ro.flags.writeable = False
    assert check(store_through, ro, 0) is Status.VALUE  # the view is read-only too
    status, value = compile_function(store_through, (Kind.of(a), Kind.INT)).call(a, 0)
    assert status is Status.OK and value.base is a[0].base and a[0, 0] == 99


def test_three_dimensions() -> None:
    a = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    check(planes, a)
    check(planes, a[:, ::-1])
    check(shapes, a, 1)


def test_rows_leave_reference_counts_as_they_were() -> None:
    a = np.arange(12.0).reshape(3, 4)
    compiled = compile_function(row_sum, (Kind.of(a),))
    local = compile_function(row_local, (Kind.of(a), Kind.INT))

    def calls():
        for _ in range(1000):
            compiled.call(a)
            local.call(a, 1)
            local.call(a, 5)  # deoptimises before the row is made

    w = measure(calls, a, trace=False, collect=False)
    assert w.after == w.before


def test_a_bool_index_is_declined() -> None:
    def masked(a, b):
        return a[b]

    with pytest.raises(Unsupported, match="int"):
        lower(masked, (Kind.of(np.zeros((2, 2))), Kind.BOOL))


def test_every_site_resumes() -> None:
    a = np.arange(12.0).reshape(3, 4)
    inputs = {row_sum: [(a,), (np.zeros((0, 2)),)],
              at: [(a, 0, 1), (a, 5, 0), (a, 0, 9)],
              store_through: [(a.copy(), 1), (a.copy(), 9)],
              planes: [(np.arange(8).reshape(2, 2, 2),)]}
    for func, args in inputs.items():
        assert force_every_site(func, args).forced, func.__name__
        forget(func)
