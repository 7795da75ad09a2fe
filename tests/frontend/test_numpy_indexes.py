"""numpy integer scalars as indexes (``a[np.int64(i)]``, ``xs[np.int32(i)]``): native,
as the int ``__index__`` gives, for every integer dtype; numpy.bool_ stays a mask (numpy
decides), and a uint64 past int64 deoptimises (numpy raises its own error).

Differential through the frontend harness (:func:`tests.frontend.harness.check`: value,
exact type, warnings, arguments' state), each native call asserted native where CPython
answers, and every deopt site forced (:func:`force_every_site`).
"""

from __future__ import annotations

import numpy as np
import pytest

from autotier.abi import Status
from tests.frontend.harness import check, force_every_site
from tests.frontend.kernels import at

INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def at2(a, i, j):
    return a[i, j]


def store(a, i, v):
    a[i] = v
    return a[i] + a[0]


def bump_list(xs, i):
    xs[i] = xs[i] + 1
    return xs[i]


def total_at(a, idx):
    t = 0.0
    for i in idx:  # the elements of an int array, numpy integers, index another
        t += a[i]
    return t


def _indexes(dtype: str) -> list[np.generic]:
    info = np.iinfo(dtype)
    values = {0, 1, 3, 4, 5, int(info.max)}
    if info.min < 0:
        values |= {-1, -5, -6, int(info.min)}
    return [np.dtype(dtype).type(v) for v in sorted(values)]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_numpy_integer_indexes_of_arrays_lists_and_tuples(dtype: str) -> None:
    a = np.arange(5.0) * 1.5
    for i in _indexes(dtype):
        inside = -5 <= int(i) < 5  # else CPython or numpy raises: never OK (check)
        for seq in (a, [10, 20, 30, 40, 50], (1.5, 2.5, 3.5, 4.5, 5.5)):
            assert (check(at, seq, i) is Status.OK) is inside
        check(store, np.zeros(5, np.int32), i, 7)
        check(bump_list, [1, 2, 3, 4, 5], i)


def test_a_uint64_past_int64_is_numpys_error() -> None:
    big = np.uint64(2**64 - 1)
    assert check(at, np.arange(4.0), big) is not Status.OK  # numpy's OverflowError
    assert check(at, [1, 2, 3], big) is not Status.OK  # CPython's IndexError


def test_mixed_index_kinds_of_a_two_dimensional_array() -> None:
    a = np.arange(12).reshape(3, 4)
    for i, j in [(np.int8(1), 2), (2, np.uint16(3)), (np.int64(-1), np.int32(-4)),
                 (np.int64(3), 0), (0, np.uint8(4))]:
        check(at2, a, i, j)


def test_a_numpy_bool_index_is_still_a_mask() -> None:
    a = np.arange(3.0)
    assert check(at, a, np.True_) is not Status.OK  # numpy's mask: an array
    assert check(at, [1, 2], np.True_) is not Status.OK  # CPython's TypeError


def test_indexes_read_from_an_int_array() -> None:
    a = np.linspace(0.0, 1.0, 7)
    for dtype in ("int64", "uint8", "int16"):
        idx = np.array([0, 3, 6, 2], dtype)
        assert check(total_at, a, idx) is Status.OK
    check(total_at, a, np.array([0, 7], np.int32))  # out of range mid-loop


def test_every_site_resumes() -> None:
    cov = force_every_site(store, [(np.zeros(5), np.int64(i), 2.5) for i in (1, -1, 9)])
    assert not cov.unexecuted
    cov = force_every_site(total_at, [(np.arange(4.0), np.array([1, 3], np.int32))])
    assert not cov.unexecuted
