"""The Python (GIL-holding) CPU time of each long-call kernel's OSR compile (issue 12).

    python bench/osr_compile_python.py [runs] [kernel,kernel,...]

Like ``bench/osr_compile_stages.py`` (the kernels of ``autotier/bench_longcall.py``
with a loop threshold of 2, the probe waiting for its entry's compile), but each
kernel's compile is repeated ``runs`` times (5 by default) in one process after a
first compile that pays the imports, and the best thread CPU milliseconds of each
stage on the broker thread are printed: ``job`` (``Bead._run_job``), ``llvm``
(parse, optimise, emit: the GIL released), ``job-llvm`` (what holds the GIL),
``lower`` (``frontend.lower``) and the parts of it (``program``: decode, stack
simulation and typing; ``source``: decode and stack simulation; ``infer``;
``ML.run``: lowering to llvmlite objects; ``str(module)``: llvmlite's printing, the
entry's too), ``entry_ir``, ``engine-py`` (``compile_ir_modules`` less LLVM) and
``resume.prepare``.  ``NOGC=1`` runs it with the garbage collector off (to see its
share; autotier never turns it off).
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import threading
import time
import types
from collections import defaultdict
from typing import Any

import llvmlite.binding as llvm
from llvmlite import ir as lir

import autotier
from autotier import bench_longcall, frontend
from autotier.deopt import resume
from autotier.dispatch import build, entry
from autotier.frontend import lowering, program
from autotier.jit import engine, passes
from autotier.runtime import bead

KERNELS = {"leibniz": (bench_longcall.leibniz, (1000,)), "pisum": (bench_longcall.pisum, (3,)),
           "mandel": (bench_longcall.mandel_count, (10, 10)),
           "collatz": (bench_longcall.collatz_longest, (100,)),
           "primes": (bench_longcall.prime_count, (100,))}
COLUMNS = ["job", "llvm", "job-llvm", "lower", "program", "source", "infer", "ML.run",
           "str(module)", "entry_ir", "engine-py", "resume.prepare"]
TIMES: dict[str, float] = defaultdict(float)


def timed(owner: Any, name: str, label: str) -> None:
    """Add the broker thread's CPU time in ``owner.name`` to ``TIMES[label]``."""
    func = getattr(owner, name)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name != "autotier-broker":
            return func(*args, **kwargs)
        cpu = time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            TIMES[label] += (time.thread_time() - cpu) * 1e3

    setattr(owner, name, wrapper)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else list(KERNELS)
    timed(bead.Bead, "_run_job", "job")
    timed(frontend, "lower", "lower")
    timed(program, "build_program", "program")
    timed(program, "_source", "source")
    timed(program, "infer", "infer")
    timed(lowering.ModuleLowering, "run", "ML.run")
    timed(lir.Module, "__repr__", "str(module)")
    timed(entry, "entry_ir", "entry_ir")
    build.entry_ir = entry  # (build reads entry_ir through its module)
    for owner, name in ((llvm, "parse_assembly"), (passes, "run"),
                        (llvm.TargetMachine, "emit_object")):
        timed(owner, name, "llvm")
    timed(engine, "compile_ir_modules", "engine")
    timed(resume, "prepare", "resume.prepare")
    if os.environ.get("NOGC"):
        gc.disable()
    policy = autotier.ThresholdPolicy(threshold=10**9, loop_threshold=2)
    best: dict[str, dict[str, float]] = {}
    for run in range(runs + 1):
        for name in (["leibniz"] if run == 0 else names):  # the first: the imports
            plain, args = KERNELS[name]
            func = types.FunctionType(plain.__code__, plain.__globals__, plain.__name__)
            hot = autotier.hot(func, policy=policy)
            hot._bead.osr.wait_compile = True  # type: ignore[attr-defined]
            TIMES.clear()
            hot(*args)
            autotier.wait_idle(timeout=120)
            if run == 0:
                continue
            row = dict(TIMES)
            row["job-llvm"] = row["job"] - row.get("llvm", 0.0)
            row["engine-py"] = row.get("engine", 0.0) - row.get("llvm", 0.0)
            kept = best.setdefault(name, {})
            for label, ms in row.items():
                kept[label] = min(kept.get(label, ms), ms)
    print("kernel   " + " ".join(f"{c:>11}" for c in COLUMNS), "(best thread CPU ms)")
    for name, kept in best.items():
        print(f"{name:8} " + " ".join(f"{kept.get(c, 0.0):11.1f}" for c in COLUMNS))


if __name__ == "__main__":
    main()
