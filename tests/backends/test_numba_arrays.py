"""numba's screen on numpy arrays (issue 10, "numba fallback"): numba only where its
answer is exactly CPython's.

No backend is offered an ndarray argument yet, but the screen must already be honest
for the day one is: each function here is compiled by real numba for array argument
types and its typed IR put through ``numba_semantics.risks``.  numba answers an element
read with a plain float or int where CPython gives a numpy scalar (``a[0]`` of a
float64 array is ``numpy.float64``), does its arithmetic with its own casts where
CPython follows NEP 50 and warns on int overflow, and casts stored values where numpy
raises (``OverflowError: Python integer 300 out of bounds for uint8``); each is shown
against CPython first, then the screen must name a risk.  Reading ``len``, ``shape``,
``ndim`` and ``size`` stays exact and is not declined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pytest

from autotier.backends import numba_semantics
from tests.frontend.kernels import contains, first, total


def positive(a, i):
    return a[i] > 0  # a numpy.bool_ in CPython


def store(a, i, v):
    a[i] = v
    return i


def cell(a, i, j):
    return a[i, j] < 1.0


def rows(a):
    n = 0
    for _row in a:
        n += 1
    return n


def doubled(a):
    b = a * 2  # numpy's arithmetic on the array
    return len(b)


def method(a):
    return a.sum() > 0


def transposed_len(a):
    return len(a.T)


def unpack(a):
    x, y = a
    return x < y


def shape_only(a):
    n, m = a.shape
    return n == len(a) and m > 0 and a.ndim == 2 and a.size > a.shape[1]


F64 = numba.types.float64[::1]
F64_2D = numba.types.float64[:, ::1]
U8 = numba.types.uint8[::1]
I64 = numba.types.int64
RISKY: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
    (first, (F64,)),
    (total, (F64,)),
    (positive, (F64, I64)),
    (store, (U8, I64, I64)),
    (cell, (F64_2D, I64, I64)),
    (rows, (F64_2D,)),
    (doubled, (F64,)),
    (method, (F64,)),
    (transposed_len, (F64_2D,)),
    (contains, (F64, numba.types.float64)),
    (unpack, (F64,)),
]


def typed_risks(func: Callable[..., Any], sig: tuple[Any, ...]) -> list[str]:
    dispatcher = numba.njit(func)
    dispatcher.compile(sig)
    overload = dispatcher.overloads[sig]
    return list(numba_semantics.risks(overload.signature.return_type,
                                      overload.type_annotation))


def test_numba_answers_arrays_inexactly():
    """What the screen guards against, with real numba (each line a finding)."""
    a = np.array([1.5, 2.5])
    assert type(first(a)) is np.float64 and type(numba.njit(first)(a)) is float
    assert type(total(a)) is np.float64 and type(numba.njit(total)(a)) is float
    assert type(positive(a, 0)) is np.bool_ and type(numba.njit(positive)(a, 0)) is bool
    u8 = np.zeros(2, dtype=np.uint8)
    with pytest.raises(OverflowError, match="Python integer 300 out of bounds for uint8"):
        store(u8, 0, 300)
    numba.njit(store)(u8, 0, 300)  # numba casts silently
    assert u8[0] == 300 % 256


@pytest.mark.parametrize(("func", "sig"), RISKY, ids=[f.__name__ for f, _ in RISKY])
def test_the_screen_declines_what_numba_answers_otherwise_on_arrays(func, sig):
    found = typed_risks(func, sig)
    assert found, f"{func.__name__}: no risk named"
    assert any("numpy array" in risk for risk in found), found


def test_the_shape_of_an_array_is_no_risk():
    assert typed_risks(shape_only, (F64_2D,)) == []
    a = np.zeros((2, 3))
    assert shape_only(a) is numba.njit(shape_only)(a) is True
