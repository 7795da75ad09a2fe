"""One call of a loop kernel at lengths from 10^5 to 10^8 iterations: CPython against
``@autotier.hot`` (issue 12's pacing: no single call much slower than CPython, long
calls entered soon).

    python bench/osr_sweep.py [--kernel leibniz|pisum] [--repeat 3] [--lengths 1e5,1e6]

Each (variant, length) runs in a fresh process, timed from the call (after the
imports and the decoration, which queues the frontend's warm-up): the shape of a
script's ``main()`` called once.  The table shows the best of ``--repeat`` runs of
each and their ratio (CPython's time over autotier's: below 1 is a slowdown); the
last line the worst ratio.  Results are checked against CPython's.  Seconds on a
shared machine: rough, the short lengths most.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from autotier import bench_longcall

LENGTHS = (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 30_000_000, 100_000_000)
KERNELS = {  # name: (function, its arguments for about n loop iterations)
    "leibniz": (bench_longcall.leibniz, lambda n: (n,)),
    "pisum": (bench_longcall.pisum, lambda n: (max(1, n // 10_000),)),
}


def child(variant: str, kernel: str, n: int) -> dict[str, object]:
    func, make = KERNELS[kernel]
    if variant == "autotier":
        import autotier

        func = autotier.hot(func)
    args = make(n)
    started = time.perf_counter()
    result = func(*args)
    seconds = time.perf_counter() - started
    out: dict[str, object] = {"seconds": seconds, "result": repr(result)}
    if variant == "autotier":
        import autotier

        out["osr_entries"] = int(autotier.stats(func).osr_entries)
    return out


def run(variant: str, kernel: str, n: int) -> dict[str, object]:
    proc = subprocess.run([sys.executable, __file__, "--child", variant, kernel, str(n)],
                          capture_output=True, text=True, check=True, timeout=900)
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", default="leibniz", choices=sorted(KERNELS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lengths", default=",".join(str(n) for n in LENGTHS))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.child:
        print(json.dumps(child(ns.child[0], ns.child[1], int(ns.child[2]))))
        return
    lengths = [int(float(x)) for x in ns.lengths.split(",")]
    print(f"{ns.kernel}: best of {ns.repeat} fresh processes each")
    print(f"{'iterations':>12} {'CPython s':>10} {'autotier s':>11} {'CPy/at':>7} {'entered':>8}")
    worst: tuple[float, int] | None = None
    for n in lengths:
        best: dict[str, float] = {}
        entered = 0
        for _ in range(ns.repeat):
            for variant in ("cpython", "autotier"):
                out = run(variant, ns.kernel, n)
                best[variant] = min(best.get(variant, float("inf")), float(out["seconds"]))
                if variant == "cpython":
                    expected = out["result"]
                elif out["result"] != expected:
                    raise SystemExit(f"MISMATCH at {n}: {out['result']} against {expected}")
                else:
                    entered += int(out["osr_entries"])  # type: ignore[call-overload]
        ratio = best["cpython"] / best["autotier"]
        if worst is None or ratio < worst[0]:
            worst = (ratio, n)
        print(f"{n:>12,} {best['cpython']:>10.3f} {best['autotier']:>11.3f} {ratio:>6.2f}x "
              f"{entered:>5}/{ns.repeat}", flush=True)
    assert worst is not None
    print(f"worst: {worst[0]:.2f}x CPython at {worst[1]:,} iterations "
          f"(autotier {1 / worst[0]:.2f} times CPython's time)")


if __name__ == "__main__":
    main()
