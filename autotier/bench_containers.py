"""The benchmark kernels over lists and numpy arrays (issue 10), as plain Python.

``python -m autotier bench`` runs these beside :mod:`autotier.bench_kernels`, against
CPython and numba in the same run (PyPy has no numpy: its column says "not run").
Their results are containers, so the bench compares them with :func:`same` here (the
exact type of every element, an array's dtype, shape and bytes: numba's ``float``
where CPython gives ``numpy.float64`` is a wrong answer) and prints them with
:func:`encode` (the type, a short head and a digest of the contents, never a
100,000-element repr).  Kernels never mutate their arguments (the same objects are
passed to every variant and every timed call): an output array is made inside.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import numpy as np

from autotier.bench_kernels import Kernel


def dot_list(xs: list[float], ys: list[float]) -> float:
    s = 0.0
    for i in range(len(xs)):
        s += xs[i] * ys[i]
    return s


def dot_array(a: np.ndarray, b: np.ndarray) -> Any:
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]
    return s


def stencil(a: np.ndarray) -> np.ndarray:
    n, m = a.shape
    out = np.zeros((n, m))
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1]) - a[i, j]
    return out


def sieve(n: int) -> list[bool]:
    flags = [True] * (n + 1)
    flags[0] = False
    flags[1] = False
    for i in range(2, n + 1):
        if flags[i]:
            for j in range(i * i, n + 1, i):
                flags[j] = False
    return flags


def histogram(data: np.ndarray, nbins: int) -> np.ndarray:
    hist = np.zeros(nbins, dtype=np.int64)
    for x in data:
        hist[int(x * nbins)] += 1
    return hist


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
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


def _samples(n: int, seed: int) -> list[float]:
    """``n`` floats in [0, 1), the same on every run (a multiplicative sequence)."""
    return [((i * 7919 + seed) % 10007) / 10007.0 for i in range(n)]


XS, YS = _samples(10_000, 1), _samples(10_000, 2)
A, B = np.array(XS), np.array(YS)
GRID = np.array(_samples(64 * 64, 3)).reshape(64, 64)
DATA = np.array(_samples(20_000, 4))
M1 = np.array(_samples(32 * 32, 5)).reshape(32, 32)
M2 = np.array(_samples(32 * 32, 6)).reshape(32, 32)

KERNELS: tuple[Kernel, ...] = (
    Kernel("dot_list", dot_list, (XS, YS), "dot product of two lists of 10,000 floats"),
    Kernel("dot_array", dot_array, (A, B),
           "dot product of two float64 arrays of 10,000 (a numpy.float64 result)"),
    Kernel("stencil", stencil, (GRID,), "5-point stencil of a 64x64 array into a new one"),
    Kernel("sieve", sieve, (100_000,), "sieve of Eratosthenes: a list of 100,001 bools"),
    Kernel("histogram", histogram, (DATA, 64), "20,000 floats into 64 int64 bins"),
    Kernel("matmul", matmul, (M1, M2), "3-loop product of two 32x32 float64 arrays"),
)

BY_NAME: dict[str, Kernel] = {k.name: k for k in KERNELS}


def is_container(value: object) -> bool:
    """A value this module compares and encodes (the scalar kernels' need not)."""
    return isinstance(value, (list, tuple, np.ndarray, np.generic))


def same(expected: Any, got: Any) -> bool:
    """Exactly CPython's: the same type at every level, floats bit for bit, numpy
    scalars and arrays by type, dtype, shape and bytes."""
    if type(expected) is not type(got):
        return False
    if isinstance(expected, (list, tuple)):
        return len(expected) == len(got) and all(map(same, expected, got))
    if isinstance(expected, np.ndarray):
        return (expected.dtype == got.dtype and expected.shape == got.shape
                and expected.tobytes() == got.tobytes())
    if isinstance(expected, np.generic):
        return bool(expected.dtype == got.dtype and expected.tobytes() == got.tobytes())
    if isinstance(expected, float):
        return struct.pack("<d", expected) == struct.pack("<d", got)
    return bool(expected == got)


def _digest(value: Any) -> str:
    h = hashlib.sha1()
    if isinstance(value, np.ndarray):
        h.update(value.tobytes())
    else:
        for item in value:
            h.update(f"{type(item).__name__}:{item!r};".encode())
    return h.hexdigest()[:12]


def encode(value: Any) -> dict[str, str]:
    """A container result as short JSON-safe text: its type (element types, dtype,
    shape), a head and a digest of the whole contents."""
    if isinstance(value, np.ndarray):
        head = np.array2string(value.ravel()[:4], separator=", ")
        return {"type": f"ndarray[{value.dtype}, {value.shape}]",
                "repr": f"{head[:-1]}, ...] sha1 {_digest(value)}"}
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value})
        head = ", ".join(repr(v) for v in value[:4])
        return {"type": f"{type(value).__name__}[{' | '.join(kinds)}] of {len(value)}",
                "repr": f"[{head}, ...] sha1 {_digest(value)}"}
    return {"type": type(value).__name__, "repr": repr(value)}


def describe(arg: Any) -> Any:
    """A kernel's argument as the bench lists it: a number itself, a container by its
    type and size (the JSON and the messages hold no 10,000-element list)."""
    if isinstance(arg, np.ndarray):
        return f"ndarray[{arg.dtype}, {arg.shape}]"
    if isinstance(arg, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in arg})
        return f"{type(arg).__name__}[{' | '.join(kinds)}] of {len(arg)}"
    return arg

