"""Tuples native code makes holding numpy scalars (``return a[i], a[j]``): each item
boxed as its numpy type, loaded back unboxed when the tuple holds one dtype (with ints);
a tuple mixing dtypes, or numpy scalars with floats, is made but its items are not
loaded (declined with a reason).  Differential through the frontend harness."""

from __future__ import annotations

import numpy as np
import pytest

from autotier.abi import Kind, Status
from autotier.frontend.errors import Unsupported
from tests.frontend.harness import check, compile_function, force_every_site


def pair(a, i):
    return a[i], a[i + 1]


def mixed(a, b):
    return a[0], b[0], 2.5, None, True, 1j


def folded(a, i):
    t = (a[i], a[i + 1], 3)
    s = 0
    for x in t:
        s = s + x
    return t[0] * t[2], s


def indexed_mixed(a):
    t = (a[0], 2.0)
    return t[0]


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int8", "uint16", "bool"])
def test_tuples_of_numpy_scalars(dtype: str) -> None:
    a = np.array([3, 1, 4, 1, 5], dtype=dtype)
    for i in (0, 2, 3, -2, 4, 9):
        check(pair, a, i)
    check(mixed, a, np.arange(2.0))
    if dtype != "bool":  # (bool + bool is an int: a tuple mixing numpy bools and ints)
        for i in (0, 3, 4):
            check(folded, a, i)


def test_a_native_tuple_holds_the_numpy_types() -> None:
    a = np.array([1.5, 2.5], np.float32)
    status, value = compile_function(pair, (Kind.of(a), Kind.INT)).call(a, 0)
    assert status is Status.OK and value == (1.5, 2.5)
    assert [type(v) for v in value] == [np.float32, np.float32]


def test_an_item_of_a_tuple_mixing_numpy_scalars_and_floats_is_declined() -> None:
    a = np.arange(3.0)
    with pytest.raises(Unsupported, match="mixing numpy scalars"):
        compile_function(indexed_mixed, (Kind.of(a),))


def test_every_site_resumes() -> None:
    a = np.arange(6, dtype=np.int32)
    cov = force_every_site(folded, [(a, 1), (a, 5), (np.array([2**31 - 1, 1, 1], np.int32), 0)])
    assert not cov.unexecuted
