"""pytest-benchmark: CPython vs ``@autotier.hot`` (promoted) vs numba, side by side.

Run with ``python -m pytest bench --benchmark-only``.  One benchmark group per kernel;
each group has the three variants built from the same source by autotier.bench.
The assertions are about correctness only: every variant's result must equal
CPython's (value and type).  Nothing asserts anything about time.
"""

from __future__ import annotations

import os
import warnings

import pytest

import autotier
from autotier import bench
from autotier.bench_kernels import BY_NAME

CASES = ("fib", "float_loop", "add")  # fib(25), a float while-loop, the call path
VARIANTS = ("cpython", "autotier", "numba")
BACKEND = os.environ.get("AUTOTIER_BENCH_BACKEND", "auto")


@pytest.fixture(scope="module")
def built():
    """{case: {variant: callable}}, autotier promoted and numba compiled up front."""
    out = {}
    for case in CASES:
        kernel = BY_NAME[case]
        hot, note = bench.hot_variant(kernel, threshold=10, backend=BACKEND)
        dispatcher, error = bench.numba_variant(kernel)
        out[case] = {"cpython": bench.variant(kernel), "autotier": hot,
                     "numba": dispatcher, "_notes": (note, error)}
    return out


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.benchmark(group=c)) for c in CASES])
def test_kernel(benchmark, built, case, variant):
    kernel = BY_NAME[case]
    func = built[case][variant]
    note, numba_error = built[case]["_notes"]
    if func is None:
        pytest.skip(f"numba could not compile {case}: {numba_error}")
    benchmark.name = f"{case}[{variant}]"
    if variant == "autotier":
        st = autotier.stats(func)
        benchmark.extra_info.update(backend=st.backend, state=st.state, reason=st.reason)
        if st.state != "compiled":
            warnings.warn(f"autotier did not compile {case}: {st.state}: "
                          f"{note or st.reason}", stacklevel=1)
    expected = kernel.func(*kernel.args)
    result = benchmark(func, *kernel.args)
    assert bench.same(expected, result), (case, variant, result, expected)
