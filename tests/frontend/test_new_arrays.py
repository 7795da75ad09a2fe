"""Arrays native code makes: ``numpy.zeros``, ``numpy.empty``, ``numpy.ones`` (issue 10).

Differential through the frontend harness (value and exact type, arrays by dtype,
shape, strides, flags and bytes, warnings, exceptions, the arguments' state), each
function asserted to compile natively, every deopt site forced.  numpy itself makes
each array (a call through the C API with ``dtype=``), so its errors (a negative
dimension, a float shape, too large an array) are numpy's, resumed after the call.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from autotier.abi import Kind, Status
from autotier.bench_containers import histogram, matmul, stencil
from autotier.frontend import Unsupported, lower
from tests.frontend.harness import check, compile_function, force_every_site, forget


def zeros_1d(n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = i * 0.5
    return out


def ones_int(n):
    return np.ones(n, dtype=np.int64)


def zeros_positional_dtype(n):
    a = np.zeros(n, np.int8)
    if n > 1:
        a[1] = 100
    return a


def empty_filled(n, m):
    a = np.empty((n, m), dtype=np.float32)
    for i in range(n):
        for j in range(m):
            a[i, j] = i - j
    return a


def builtin_dtypes(n):
    x = np.zeros(n, dtype=int)
    y = np.ones(n, dtype=bool)
    z = np.zeros(n, dtype=float)
    return len(x) + len(y) + len(z) + x.ndim + y.size


def three_d(n):
    a = np.ones((n, 2, 3), np.uint8)
    a[0, 1, 2] = 7
    return a


def zero_d():
    a = np.zeros(())
    return a.ndim + a.size


def reads_back(n):
    a = np.zeros((n, n), np.int32)
    for i in range(n):
        a[i, i] += i + 1
    s = 0
    for i in range(n):
        for j in range(n):
            s += a[i, j]
    return s


def shape_of_made(n, m):
    a = np.empty((n, m))
    return a.shape


def iterated(n):
    a = np.ones(n, np.int16)
    s = 0
    for x in a:
        s += x
    return s


def summed(n):  # sum() of it: a call through the C API holds it (its fields are read)
    a = np.ones(n)
    a[0] = 2.5
    return sum(a)


def made_in_a_loop(n):
    total = 0.0
    for k in range(n):
        t = np.zeros(3)
        t[1] = k
        total += t[1] + t[0]
    return total


def _native(func, *args) -> None:
    """``func`` compiles for ``args`` (no Unsupported) and answers as CPython."""
    compile_function(func, tuple(Kind.of(a) for a in args))
    check(func, *args)


@pytest.mark.parametrize("n", [0, 1, 3, 7])
def test_made_arrays_answer_as_numpy(n: int) -> None:
    for func in (zeros_1d, ones_int, zeros_positional_dtype, builtin_dtypes, three_d,
                 reads_back, iterated, summed, made_in_a_loop):
        _native(func, n)
    _native(empty_filled, n, 2)
    _native(shape_of_made, n, 4)


def test_zero_dimensional() -> None:
    _native(zero_d)


def test_numpys_own_errors_resume_after_the_call() -> None:
    for func in (zeros_1d, ones_int, three_d):
        status = check(func, -1)  # ValueError: negative dimensions are not allowed
        assert status is Status.RAISED
    assert check(empty_filled, 2, -5) is Status.RAISED
    assert check(ones_int, 2**62) is Status.RAISED  # numpy's MemoryError
    status = check(shape_of_made, 2**40, 2**40)  # numpy's ValueError: too big
    assert status is Status.RAISED


def test_the_results_are_numpys_types() -> None:
    compiled = compile_function(ones_int, (Kind.INT,))
    status, value = compiled.call(3)
    assert status is Status.OK and type(value) is np.ndarray and value.dtype == np.int64
    assert sys.getrefcount(value) == 2 and value.flags.owndata
    status, value = compile_function(reads_back, (Kind.INT,)).call(3)
    assert status is Status.OK and type(value) is np.int32 and value == 6


def test_bench_kernels_answer_as_numpy() -> None:
    data = np.array([0.0, 0.1, 0.5, 0.99, 0.999999])
    _native(histogram, data, 4)
    assert check(histogram, data, -4) is Status.RAISED  # numpy's negative dimensions
    assert check(histogram, np.array([1.0]), 4) is Status.INDEX  # index 4 is out of bounds
    assert check(histogram, np.array([np.nan]), 4) is not Status.OK  # int(nan): ValueError
    grid = np.arange(30.0).reshape(5, 6)
    _native(stencil, grid)
    _native(stencil, np.asfortranarray(grid))
    _native(stencil, grid[::-1, ::2])
    _native(stencil, np.array([[np.nan, 1.0, 2.0], [np.inf, -0.0, 1e308], [3.0, 4.0, 5.0]]))
    _native(matmul, grid, grid.T.copy())
    _native(matmul, np.zeros((0, 3)), np.zeros((3, 2)))


def test_what_is_declined_says_why() -> None:
    def by_string(n):
        return np.zeros(n, dtype="U8")

    def ordered(n):
        return np.zeros((n, n), order="F")

    def complex_dtype(n):
        return np.zeros(n, dtype=np.complex128)

    for func, words in ((by_string, "dtype"), (ordered, "order"),
                        (complex_dtype, "dtype")):
        with pytest.raises(Unsupported, match=words):
            lower(func, (Kind.INT,))


def test_every_site_resumes() -> None:
    inputs = {zeros_1d: [(0,), (3,), (-1,)], reads_back: [(2,), (-2,)],
              histogram: [(np.array([0.5, 0.25]), 4), (np.array([1.0]), 4),
                          (np.array([0.5]), -1)],
              stencil: [(np.arange(16.0).reshape(4, 4),), (np.full((3, 3), 1e308),)],
              made_in_a_loop: [(3,), (0,)]}
    for func, args in inputs.items():
        coverage = force_every_site(func, args)
        assert coverage.forced, func.__name__
        forget(func)


def by_name(n):
    a = np.zeros(n, dtype="int16")
    b = np.ones((n, 2), "f4")
    return a.size + b.size


def test_a_dtype_by_name() -> None:
    _native(by_name, 3)
