"""numpy arrays through the whole runtime (issue 10): the entry's O(1) dtype and ndim
check (another dtype, another specialisation; a dtype native code never takes, the
interpreter), numpy's own errors and warnings through the resumed frame, and memory:
10**5 calls returning numpy scalars and 10**6 element loads and stores leave RSS,
traced memory and reference counts flat.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import autotier
from tests.frontend.kernels import at
from tests.runtime.helpers import make_hot, promote, settle
from tests.window import measure


def scale_into(a, out, k):
    for i in range(len(a)):
        out[i] = a[i] * k


def add_one(a):
    for i in range(len(a)):
        a[i] += 1


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def test_dtypes_and_ndims_are_specialisations_and_foreign_dtypes_interpreted():
    hf = make_hot(at)
    promote(hf, np.arange(3.0), 1)
    assert autotier.stats(hf).state == "compiled"
    assert hf(np.arange(3, dtype=np.int8), -1) == np.int8(2)  # another dtype: a new compile
    settle()
    row = autotier.stats(hf)
    assert row.signatures == (("ndarray", "int"), ("ndarray", "int"))
    r = hf(np.array([1 + 2j]), 0)  # complex: foreign, the interpreter answers
    assert r == 1 + 2j and type(r) is np.complex128
    r = hf(np.arange(3, dtype=">f8"), 2)  # another byte order: foreign too
    assert r == 2.0 and type(r) is np.float64
    settle()
    assert autotier.stats(hf).signatures == row.signatures
    assert autotier.stats(hf).state == "compiled"
    value = hf(np.array([1.5, 2.5]), -2)
    assert type(value) is np.float64 and value == 1.5


def test_numpys_index_error_read_only_error_and_warnings_come_from_numpy():
    hf = make_hot(at)
    promote(hf, np.arange(3.0), 1)
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 3"):
        hf(np.arange(3.0), 5)
    store = make_hot(add_one)
    promote(store, np.zeros(3, np.int8))
    ro = np.zeros(2, np.int8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        store(ro)
    a = np.array([1, 127, 3], np.int8)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        store(a)
    assert [str(w.message) for w in seen] == ["overflow encountered in scalar add"]
    assert a.tolist() == [2, -128, 4]
    settle()
    row = autotier.stats(store)
    assert row.state == "compiled" and row.resumes == 2  # numpy's answers: no failed
    assert row.exceptions == 2 and row.signatures == (("ndarray",),)  # speculation


def test_returned_numpy_scalars_are_owned_by_the_caller():
    hf = make_hot(at)
    a = np.arange(100.0)
    promote(hf, a, 1)

    def warm():
        value = hf(a, 7)
        assert sys.getrefcount(value) == 2 and value == 7.0 and type(value) is np.float64
        for _ in range(1000):
            hf(a, 3)

    def calls():
        for i in range(100_000):  # 10**5 numpy scalars boxed natively and released
            hf(a, i % 100)

    w = measure(calls, a, warm=warm, collect=False)
    assert w.grown < 64 * 1024, w.grown
    assert w.after == w.before
    assert autotier.stats(hf).resumes == 0


def test_a_million_loads_and_stores_leak_nothing():
    hf = make_hot(scale_into)
    a, out = np.arange(1000.0), np.zeros(1000)
    promote(hf, a, out, 2.0)
    assert autotier.stats(hf).state == "compiled"

    def calls():
        for _ in range(100):
            hf(a, out, 2.0)
        rss = _rss_kib()
        for _ in range(1000):  # 10**6 loads, multiplications and stores
            hf(a, out, 2.0)
        assert _rss_kib() - rss < 2048

    w = measure(calls, a, out, trace=False, collect=False)
    assert w.after == w.before
    assert np.array_equal(out, a * 2.0)
    assert autotier.stats(hf).resumes == 0


def spin_sum(a, n):
    s = 0.0
    for _ in range(n):
        for i in range(len(a)):
            s += a[i]
    return s


def test_an_array_reshaped_by_another_thread_during_a_native_loop():
    """Native code holds an array's fields between the points where Python code may run;
    at the periodic check it reads them again, and an array whose ndim changed in place
    leaves for the interpreter, which goes on with the 2-d array as CPython would: the
    range was made for 100 items, and the row index past 2 raises numpy's IndexError."""
    import threading
    import time

    hf = make_hot(spin_sum)
    promote(hf, np.ones(4), 1)
    assert autotier.stats(hf).state == "compiled"
    a = np.ones(100)
    started = threading.Event()

    def reshape() -> None:
        started.wait()
        time.sleep(0.05)
        a.shape = (2, 50)

    t = threading.Thread(target=reshape)
    t.start()
    started.set()
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 2"):
        hf(a, 10**7)  # about a second natively: reshaped on the way
    t.join()
    assert a.shape == (2, 50)
    row = autotier.stats(hf)
    assert row.resumes == 1 and row.state == "compiled"  # a changed array: no failed speculation


def scale(x, k):
    return x * k + 1.0


def test_numpy_scalar_arguments_are_specialisations():
    hf = make_hot(scale)
    promote(hf, 1.5, 2.0)
    for i in range(20):
        got = hf(np.float64(i), 2.0)
        assert type(got) is np.float64 and got == scale(np.float64(i), 2.0)
    settle()
    got = hf(np.float32(0.5), 3)
    settle()
    assert type(hf(np.float32(0.5), 3)) is np.float32 and hf(np.float32(0.5), 3) == 2.5
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.bailouts == 0
    assert ("float64", "float") in row.signatures and ("float32", "int") in row.signatures
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert hf(np.float64(1e308), 10.0) == np.inf
    assert [str(w.message) for w in seen] == ["overflow encountered in scalar multiply"]
