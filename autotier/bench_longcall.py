"""The "one long call" benchmark kernels (issue 12), as plain Python.

Each kernel is called exactly once, with loops that run for seconds in CPython: the
shape of a script's ``main()``, a ``simulate(n)`` or a notebook cell's function, which
call counts never promote.  ``python -m autotier bench`` times each variant in a fresh
process from its first call (:mod:`autotier.bench.longcall`): CPython, ``@autotier.hot``
(what it gains comes from entering native code in the middle of the call: on-stack
replacement), ``numba.njit`` with its compile inside the time, as a user sees it, and
PyPy, its JIT warming inside the time too.  Every variant's result is checked against
CPython's (value and exact type).

PyPy runs this file as a script (``main`` below), so it imports only the standard
library and stays valid Python 3.9; numba compiles each kernel as written.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple


def pisum(reps: int) -> float:
    """The Julia microbenchmarks' pisum, ``reps`` times over (its answer, once)."""
    s = 0.0
    for _ in range(reps):
        s = 0.0
        for k in range(1, 10_001):
            s += 1.0 / (k * k)
    return s


def collatz_longest(n: int) -> int:
    """The start below ``n`` with the longest Collatz chain, times 1000, plus its length."""
    best = 0
    start = 1
    for i in range(1, n):
        x = i
        steps = 0
        while x != 1:
            x = x // 2 if x % 2 == 0 else 3 * x + 1
            steps += 1
        if steps > best:
            best = steps
            start = i
    return start * 1000 + best


def mandel_count(size: int, maxiter: int) -> int:
    """How many points of a ``size`` x ``size`` grid over the Mandelbrot set stay bounded
    for ``maxiter`` iterations (floats only)."""
    inside = 0
    for j in range(size):
        ci = -1.5 + 3.0 * j / size
        for i in range(size):
            cr = -2.0 + 3.0 * i / size
            zr = 0.0
            zi = 0.0
            n = 0
            while n < maxiter and zr * zr + zi * zi <= 4.0:
                t = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = t
                n += 1
            if n == maxiter:
                inside += 1
    return inside


def leibniz(n: int) -> float:
    """pi by the first ``n`` terms of Leibniz's series."""
    s = 0.0
    sign = 1.0
    for k in range(n):
        s += sign / (2 * k + 1)
        sign = -sign
    return 4.0 * s


def prime_count(n: int) -> int:
    """The primes below ``n``, by trial division."""
    count = 0
    for m in range(2, n):
        d = 2
        prime = True
        while d * d <= m:
            if m % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count


class LongCall(NamedTuple):
    name: str
    func: Callable[..., Any]
    args: tuple[Any, ...]  # about 5 s in CPython on the shared 2-core machine
    quick_args: tuple[Any, ...]  # about 0.1 s
    about: str


KERNELS: tuple[LongCall, ...] = (
    LongCall("pisum_once", pisum, (4_500,), (60,),
             "Julia's pisum, 4,500 repetitions in one call"),
    LongCall("collatz_once", collatz_longest, (400_000,), (15_000,),
             "the longest Collatz chain below 400,000: a while loop in a for loop"),
    LongCall("mandel_once", mandel_count, (700, 200), (100, 100),
             "a 700x700 Mandelbrot grid, 200 iterations at most: float while loops"),
    LongCall("leibniz_once", leibniz, (30_000_000,), (1_000_000,),
             "pi from 3 x 10^7 terms of Leibniz's series"),
    LongCall("primes_once", prime_count, (700_000,), (50_000,),
             "the primes below 700,000 by trial division, with break"),
)

BY_NAME: dict[str, LongCall] = {k.name: k for k in KERNELS}


def encode(value: Any) -> dict[str, str]:
    """A result as JSON-safe text: type name and repr (exact for int, float, bool)."""
    return {"type": type(value).__name__, "repr": repr(value)}


def time_once(func: Callable[..., Any], args: tuple[Any, ...]) -> dict[str, Any]:
    """The one call, timed from its start to its return."""
    start = time.perf_counter()
    result = func(*args)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "result": encode(result)}


def main() -> None:
    """PyPy side: ``bench_longcall.py NAME quick|full``: print one kernel's timing."""
    kernel = BY_NAME[sys.argv[1]]
    args = kernel.quick_args if sys.argv[2] == "quick" else kernel.args
    out = time_once(kernel.func, args)
    out["version"] = sys.version.replace("\n", " ")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
