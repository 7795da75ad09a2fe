"""``python -m autotier bench``: CPython against autotier, numba and (if present) PyPy.

Every kernel in :mod:`autotier.bench_kernels` (and, over lists and numpy arrays, in
:mod:`autotier.bench_containers`; over objects and complex numbers, in
:mod:`autotier.bench_objects`) is defined once, as plain Python; each
variant is a fresh function over the same code object with its own globals, in which
the kernel's name is bound to the variant itself (so recursion goes through it):

- ``cpython``:  the plain function;
- ``autotier``: ``autotier.hot(threshold=, backend=)`` over it, called past the
  threshold and ``autotier.wait_idle()``-ed before anything is timed;
- ``numba``:    ``numba.njit`` over it, compiled by a first call;
- ``pypy``:     ``pypy3`` runs ``bench_kernels.py`` (and ``bench_objects.py``) itself in
  a subprocess.

Each variant's result on the timed inputs is checked against CPython's (value and
type; an exception must be of the same type) before timing.  Times are ``timeit``
medians: loops auto-scaled to ``target_ms`` per measurement, ``repeat`` measurements.
Nothing here asserts anything about speed.  autotier's mismatches are bugs, reported
loudly (exit status 1); numba's and PyPy's wrong answers are listed apart, with no
speed-up.
"""

from autotier.bench.cli import main, parse_args, run
from autotier.bench.measure import (
    CALLPATH_TARGETS,
    NOISY,
    VARIANTS,
    KernelResult,
    Measurement,
    Options,
    Raised,
    hot_variant,
    numba_variant,
    promote,
    run_call_path,
    run_kernel,
    run_pypy,
    same,
    variant,
)
from autotier.bench.report import (
    autotier_mismatch,
    fmt_ns,
    fmt_x,
    mismatches,
    render,
    summarise,
    to_jsonable,
    wrong_answers,
)

__all__ = [
    "CALLPATH_TARGETS",
    "NOISY",
    "VARIANTS",
    "KernelResult",
    "Measurement",
    "Options",
    "Raised",
    "autotier_mismatch",
    "fmt_ns",
    "fmt_x",
    "hot_variant",
    "main",
    "mismatches",
    "numba_variant",
    "parse_args",
    "promote",
    "render",
    "run",
    "run_call_path",
    "run_kernel",
    "run_pypy",
    "same",
    "summarise",
    "to_jsonable",
    "variant",
    "wrong_answers",
]
