"""A long call's OSR entry right after other functions were promoted (issue 12): the
user's case of three small functions turning hot just before ``simulate(n)``, a call
made once whose loop runs for seconds.

    python bench/osr_queue.py [--repeat 3] [--n 30000000]

The three functions' compiles are queued on the broker when the long call starts;
the long call's OSR compile is queued a few ms later, at its loop threshold.  With
one FIFO queue it waited behind them (the loop running interpreted meanwhile); an
OSR entry's compile is urgent and runs before them.  Each variant runs in a fresh
process, timed from the long call (after the imports, the decorations and the three
functions' promoting calls):

- ``cpython``: the plain functions;
- ``alone``: ``@autotier.hot`` on all four, the three small ones never called;
- ``after``: ``@autotier.hot`` on all four, the three small ones promoted (1,200
  calls each) right before the long call.

The table shows each run's seconds and the best; results are checked against
CPython's.  Seconds on a shared machine: rough.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

CALLS = 1_200  # each small function's calls before the long call (threshold 1,000)


def area(w: float, h: float) -> float:
    return w * h


def clamp(x: float, lo: float, hi: float) -> float:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def mix(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def simulate(n: int) -> float:
    x = 0.5
    total = 0.0
    for i in range(n):
        x = 3.7 * x * (1.0 - x)
        total += x * (i & 3)
    return total


def child(variant: str, n: int) -> dict[str, Any]:
    funcs: list[Any] = [area, clamp, mix, simulate]
    if variant != "cpython":
        import autotier

        funcs = [autotier.hot(f) for f in funcs]
    hot_area, hot_clamp, hot_mix, hot_simulate = funcs
    if variant == "after":
        acc = 0.0
        for i in range(CALLS):
            acc += hot_area(1.5, float(i))
            acc += hot_clamp(float(i), 10.0, 100.0)
            acc += hot_mix(0.0, 1.0, 0.25)
    started = time.perf_counter()
    result = hot_simulate(n)
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"seconds": seconds, "result": repr(result)}
    if variant != "cpython":
        import autotier

        out["osr_entries"] = int(autotier.stats(hot_simulate).osr_entries)
        autotier.wait_idle(60)
        out["states"] = [autotier.stats(f).state for f in funcs[:3]]
    return out


def run(variant: str, n: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", variant, str(n)],
                          capture_output=True, text=True, check=True, timeout=900)
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n", type=int, default=30_000_000)
    parser.add_argument("--variants", default="cpython,alone,after")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.child:
        print(json.dumps(child(ns.child[0], int(ns.child[1]))))
        return
    variants = ns.variants.split(",")
    times: dict[str, list[float]] = {v: [] for v in variants}
    expected: str | None = None
    for _ in range(ns.repeat):  # interleaved: the machine's load moves
        for variant in variants:
            out = run(variant, ns.n)
            if expected is None:
                expected = out["result"]
            elif out["result"] != expected:
                raise SystemExit(f"MISMATCH ({variant}): {out['result']} against {expected}")
            if variant != "cpython" and not out["osr_entries"]:
                print(f"  ({variant}: the long call was not entered)")
            times[variant].append(float(out["seconds"]))
    print(f"simulate({ns.n:,}), {ns.repeat} fresh processes each")
    for variant in variants:
        runs = ", ".join(f"{s:.3f}" for s in times[variant])
        print(f"{variant:>8}: best {min(times[variant]):.3f} s  ({runs})")


if __name__ == "__main__":
    main()
