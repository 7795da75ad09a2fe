"""Arrays native code makes (``numpy.zeros``: issue 10) through the whole runtime:
compiled from ``@hot``, exact, and nothing kept: 10**4 calls making a 100 KB array each
leave traced memory and the allocator's block count flat, and the bench kernels that
make their output compile natively.
"""

from __future__ import annotations

import gc
import sys

import numpy as np

import autotier
from autotier.bench_containers import BY_NAME
from tests.runtime.helpers import make_hot, promote
from tests.window import measure


def make(n):
    a = np.zeros(n)
    a[n - 1] = 1.5
    return a[n - 1] + a[0]


def test_made_arrays_leak_nothing() -> None:
    hf = make_hot(make)
    promote(hf, 12_500)
    assert autotier.stats(hf).state == "compiled"
    gc.collect()
    before = sys.getallocatedblocks()

    def calls():
        for _ in range(10_000):
            got = hf(12_500)
            assert got == 1.5 and type(got) is np.float64

    w = measure(calls, collect=False)
    assert w.grown < 1_000_000, f"{w.grown} bytes still allocated after 10,000 calls"
    assert sys.getallocatedblocks() - before < 1_000


def test_the_bench_kernels_that_make_arrays_compile_natively() -> None:
    for name in ("stencil", "histogram", "matmul"):
        kernel = BY_NAME[name]
        hf = make_hot(kernel.func)
        promote(hf, *kernel.args)
        row = autotier.stats(hf)
        assert row.state == "compiled" and row.backend == "llvm", (name, row.reason)
        expected = kernel.func(*kernel.args)
        got = hf(*kernel.args)
        assert type(got) is np.ndarray and got.dtype == expected.dtype
        assert got.tobytes() == expected.tobytes()
        assert sys.getrefcount(got) == 2
