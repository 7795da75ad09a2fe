"""The benchmark kernels, as plain Python, defined once.

``python -m autotier bench`` builds its CPython, autotier and numba variants from these
functions' code objects; PyPy runs this very file as a script (``main`` below reads a
JSON request on stdin and writes JSON timings on stdout).  So this module imports
nothing but the standard library and must stay valid Python 3.9 (PyPy 7.3's level):
no ``match``, no ``X | Y`` outside annotations.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any, NamedTuple


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def int_loop(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def collatz(n: int) -> int:
    steps = 0
    while n != 1:
        if n % 2 == 0:  # noqa: SIM108 - a statement, not a conditional expression
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


def float_loop(n: int) -> float:
    s = 0.0
    i = 0
    while i < n:
        s += 1.0 / (1.0 + i * i)
        i += 1
    return s


def horner(x: float, n: int) -> float:
    # p(x) = sum_{k=1..n} x**(k-1) / k, evaluated by Horner's rule
    acc = 0.0
    k = n
    while k > 0:
        acc = acc * x + 1.0 / k
        k -= 1
    return acc


def math_calls(n: int) -> float:
    s = 0.0
    for i in range(n):
        s += math.sqrt(i) * math.sin(i)
    return s


def mandelbrot(cr: float, ci: float, maxiter: int) -> int:
    zr = 0.0
    zi = 0.0
    n = 0
    while n < maxiter:
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > 4.0:
            break
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
        n += 1
    return n


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


def sum_cubes(n: int) -> int:
    # overflows int64 for n >= 77 937: CPython's exact answer is the reference
    s = 0
    for i in range(n):
        s += i * i * i
    return s


def late_overflow(start: int, n: int) -> int:
    # leaves int64 at the last addition: native code runs the loop, the interpreter
    # (or, after the bead's i128 recompile, native code) answers with the big int
    s = start
    for i in range(n):
        s += i
    return s


LATE_START = 2**63 - 1 - sum(range(10_000 - 1))


def add(a: int, b: int) -> int:
    return a + b


class Kernel(NamedTuple):
    name: str
    func: Callable[..., Any]
    args: tuple[Any, ...]
    about: str
    #: a deopt policy for autotier's variant ("blacklist": BlacklistPolicy); with one,
    #: each autotier measurement is the first call of freshly compiled code (promoted
    #: on ``warm``), a call that deoptimises, and none is part of the geometric means
    deopt: str = ""
    warm: tuple[Any, ...] = ()


KERNELS: tuple[Kernel, ...] = (
    Kernel("fib", fib, (25,), "recursive fib(25) through its module global"),
    Kernel("int_loop", int_loop, (10_000,), "sum of i*i % 7, for i in range(n)"),
    Kernel("gcd", gcd, (1_134_903_170, 701_408_733), "Euclid, while loop (44 steps)"),
    Kernel("collatz", collatz, (837_799,), "Collatz steps from 837799 (524)"),
    Kernel("float_loop", float_loop, (10_000,), "sum of 1/(1+i*i), while loop"),
    Kernel("horner", horner, (0.999, 1_000), "Horner, degree 999"),
    Kernel("math_calls", math_calls, (10_000,), "sum of math.sqrt(i)*math.sin(i)"),
    Kernel("mandelbrot", mandelbrot, (-0.743643887, 0.131825904, 5_000),
           "escape count of one point (1058 iterations, break)"),
    Kernel("is_prime", is_prime, (1_000_000_007,), "trial division of a 10-digit prime"),
    Kernel("sum_cubes", sum_cubes, (100_000,), "sum of i**3: overflows int64 (exactness)"),
    Kernel("late_overflow", late_overflow, (LATE_START, 10_000),
           "sum of i from near 2**63: leaves int64 at the last of 10,000 additions"),
    Kernel("late_overflow_bl", late_overflow, (LATE_START, 10_000),
           "late_overflow, deopt=BlacklistPolicy() (no i128 recompile): compiled code's "
           "first call, which deoptimises at the last addition",
           deopt="blacklist", warm=(0, 10_000)),
)

CALL_PATH = Kernel("add", add, (3, 4), "call path: add(a, b) on two ints")

BY_NAME: dict[str, Kernel] = {k.name: k for k in (*KERNELS, CALL_PATH)}


def encode(value: Any) -> dict[str, str]:
    """A result as JSON-safe text: type name and repr (exact for int, float, bool)."""
    return {"type": type(value).__name__, "repr": repr(value)}


def calibrate(func: Callable[..., Any], args: tuple[Any, ...], target_s: float
              ) -> tuple[timeit.Timer, int, float]:
    """A timer of ``func(*args)``, the loop count that takes ``target_s``, and that time."""
    names = ", ".join(f"a{i}" for i in range(len(args)))
    env: dict[str, Any] = {"f": func}
    env.update({f"a{i}": a for i, a in enumerate(args)})
    timer = timeit.Timer(f"f({names})", globals=env)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target_s or number >= 1 << 30:
            return timer, number, elapsed
        # aim a little past the target, at most 10x per step
        guess = int(number * target_s * 1.2 / max(elapsed, 1e-9))
        number = max(number + 1, min(number * 10, guess))


def summary(runs: list[float], number: int) -> dict[str, Any]:
    """Per-call statistics of ``runs`` (seconds per ``number`` calls)."""
    per_call = [r / number * 1e9 for r in runs]
    return {"ns": statistics.median(per_call), "min_ns": min(per_call),
            "runs_ns": per_call, "number": number, "repeat": len(runs)}


def time_calls(calls: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]],
               target_s: float, repeat: int) -> dict[str, dict[str, Any]]:
    """timeit each ``func(*args)``, loops scaled to ``target_s``; median of ``repeat``.

    The measurements of the different calls are interleaved (a, b, c, a, b, c, ...),
    so a burst of load on a shared machine hits all of them, not one.
    """
    timers = {name: calibrate(func, args, target_s) for name, (func, args) in calls.items()}
    runs: dict[str, list[float]] = {name: [t[2]] for name, t in timers.items()}
    for _ in range(max(repeat - 1, 0)):
        for name, (timer, number, _first) in timers.items():
            runs[name].append(timer.timeit(number))
    return {name: summary(runs[name], timers[name][1]) for name in calls}


def time_call(func: Callable[..., Any], args: tuple[Any, ...], target_s: float,
              repeat: int) -> dict[str, Any]:
    """timeit ``func(*args)``: loops auto-scaled to ``target_s``, median of ``repeat``."""
    return time_calls({"f": (func, args)}, target_s, repeat)["f"]


def main(kernels: dict[str, Kernel] | None = None) -> None:
    """PyPy side: read {"kernels", "target_s", "repeat", "warmup_s"}; print timings of
    those ``kernels`` (by name; default this module's)."""
    by_name = BY_NAME if kernels is None else kernels
    request = json.load(sys.stdin)
    out: dict[str, Any] = {"implementation": sys.implementation.name,
                           "version": sys.version.replace("\n", " "), "kernels": {}}
    for name in request["kernels"]:
        kernel = by_name[name]
        try:
            time_call(kernel.func, kernel.args, request["warmup_s"], 1)  # let the JIT warm
            result = kernel.func(*kernel.args)
            timing = time_call(kernel.func, kernel.args, request["target_s"],
                               request["repeat"])
            timing["result"] = encode(result)
        except Exception as exc:  # report, keep going
            timing = {"error": f"{type(exc).__name__}: {exc}"}
        out["kernels"][name] = timing
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
