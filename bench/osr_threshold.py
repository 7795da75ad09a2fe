"""What the default ``loop_threshold`` rests on: an interpreted iteration's time and an
OSR compile's, on the bench's loop kernels (issue 12).

    python bench/osr_threshold.py

For each kernel: the time of one interpreted iteration (the plain function, best of 5
runs of 200,000 iterations), the OSR compile's time (the child bead's ``compile_ms``:
the frontend, LLVM at O2, the resume functions; one warm-up compile first, so LLVM's
one-time start-up is not in it), and the iterations that take as long as the compile
(their ratio): queueing the compile after that many back edges bounds what a loop that
ends soon after pays for it (the compile runs on the broker thread meanwhile, and an
OSR'd loop at most doubles the time it would have taken interpreted: the
ski-rental rule).  Seconds on a shared machine: a rough figure, run twice.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import autotier
from autotier.runtime.bead import BeadState

KERNELS_FILE = Path(__file__).resolve().parent.parent / "autotier" / "bench_kernels.py"
ARGS = {
    "int_loop": lambda n: (n,),
    "float_loop": lambda n: (n,),
    "sum_cubes": lambda n: (n,),
    "math_calls": lambda n: (n,),
    "horner": lambda n: (1.0000001, n),
}


def _kernels():
    spec = importlib.util.spec_from_file_location("bench_kernels_osr", KERNELS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_ms(func, args):
    hf = autotier.hot(func, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                            loop_threshold=2))
    hf._bead.osr.wait_compile = True
    hf(*args)
    (entry,) = hf._bead.osr.table.values()
    child = entry.child._bead
    assert child.state is BeadState.COMPILED, child.reason
    return child.compile_ms


def main():
    kernels = _kernels()
    compile_ms(kernels.int_loop, (100,))  # LLVM's start-up
    print(f"{'kernel':12} {'ns/iter':>8} {'compile ms':>11} {'iterations':>11}")
    for name, make in ARGS.items():
        func = getattr(kernels, name)
        n = 200_000
        best = min(_timed(func, make(n)) for _ in range(5)) / n
        ms = compile_ms(getattr(_kernels(), name), make(100))
        print(f"{name:12} {best * 1e9:8.0f} {ms:11.1f} {ms * 1e-3 / best:11.0f}", flush=True)


def _timed(func, args):
    started = time.perf_counter()
    func(*args)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
