"""Where an OSR compile's time goes, stage by stage, on the broker thread (issue 12).

    python bench/osr_compile_stages.py [--opt 1|2|3] [kernel ...]

Each kernel of the "one long call" group (``autotier/bench_longcall.py``) is decorated
with a loop threshold of 2 and called with the test hook that makes the probe wait for
its entry's compile (so the loop does not run beside it); the first kernel's compile is
the process's first.  Per stage: wall and CPU milliseconds of the broker thread
(``frontend.lower``: bytecode to LLVM IR text; ``entry_ir``: the entry's IR; LLVM's
parse, O2 optimisation and code generation, which release the GIL; the resume
functions built ahead), and ``job``, the whole compile.  ``--opt`` overrides the
optimisation level of OSR entries (2, the policy's last tier, by default).  Seconds on
a shared machine: run it twice.
"""

from __future__ import annotations

import argparse
import functools
import threading
import time
import types
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import llvmlite.binding as llvm

import autotier
from autotier import bench_longcall, frontend
from autotier.deopt import resume
from autotier.dispatch import build, entry
from autotier.jit import engine, passes
from autotier.runtime import bead

KERNELS = {"leibniz": (bench_longcall.leibniz, (1000,)), "pisum": (bench_longcall.pisum, (3,)),
           "mandel": (bench_longcall.mandel_count, (10, 10)),
           "collatz": (bench_longcall.collatz_longest, (100,)),
           "primes": (bench_longcall.prime_count, (100,))}
TIMES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])


def timed(owner: Any, name: str, label: str) -> None:
    """Add the broker thread's time in ``owner.name`` to ``TIMES[label]``."""
    func = getattr(owner, name)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name != "autotier-broker":
            return func(*args, **kwargs)
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            TIMES[label][0] += (time.perf_counter() - wall) * 1e3
            TIMES[label][1] += (time.thread_time() - cpu) * 1e3

    setattr(owner, name, wrapper)


def override_opt(opt: int) -> None:
    original: Callable[..., Any] = engine.compile_ir_modules

    def compile_ir_modules(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "autotier-broker":
            kwargs["opt"] = opt
        return original(*args, **kwargs)

    engine.compile_ir_modules = compile_ir_modules  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opt", type=int, default=None)
    parser.add_argument("kernels", nargs="*", default=["leibniz", "leibniz", *KERNELS][:6])
    ns = parser.parse_args()
    if ns.opt is not None:
        override_opt(ns.opt)
    timed(bead.Bead, "_run_job", "job")
    timed(frontend, "lower", "frontend.lower")
    timed(entry, "entry_ir", "entry_ir")
    timed(llvm, "parse_assembly", "llvm parse")
    timed(passes, "run", "llvm optimise")
    timed(llvm.TargetMachine, "emit_object", "llvm emit")
    timed(resume, "prepare", "resume.prepare")
    build.entry_ir = entry  # (build reads entry_ir through its module)
    policy = autotier.ThresholdPolicy(threshold=10**9, loop_threshold=2)
    for number, name in enumerate(ns.kernels):
        plain, args = KERNELS[name]
        func = types.FunctionType(plain.__code__, plain.__globals__, plain.__name__)
        hot = autotier.hot(func, policy=policy)
        hot._bead.osr.wait_compile = True  # type: ignore[attr-defined]
        hot(*args)
        autotier.wait_idle(timeout=120)
        stages = "; ".join(f"{label} {w:.0f}/{c:.0f}" for label, (w, c) in TIMES.items())
        print(f"{name}{' (first)' if number == 0 else ''}: {stages}  (wall/CPU ms)", flush=True)
        TIMES.clear()


if __name__ == "__main__":
    main()
