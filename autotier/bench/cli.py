"""``python -m autotier bench``: run everything, print, write JSON."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
from collections.abc import Callable, Sequence
from typing import Any

import autotier
from autotier import bench_containers, bench_kernels, bench_longcall, bench_objects
from autotier.bench import longcall
from autotier.bench.measure import (
    VARIANTS,
    KernelResult,
    Measurement,
    Options,
    hot_variant,
    numba_variant,
    pypy_measurement,
    run_call_path,
    run_kernel,
    run_pypy,
    same,
    variant,
)
from autotier.bench.progress import Progress, announce
from autotier.bench.report import (
    autotier_mismatch,
    mismatches,
    render,
    summarise,
    to_jsonable,
    wrong_answers,
)
from autotier.bench_kernels import CALL_PATH

KERNELS = (*bench_kernels.KERNELS, *bench_containers.KERNELS, *bench_objects.KERNELS)
KNOWN = {**bench_kernels.BY_NAME, **bench_containers.BY_NAME, **bench_objects.BY_NAME}
LONG_CALLS = tuple(bench_longcall.BY_NAME)  # the "one long call" group (bench/longcall.py)


def run(opts: Options, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    say = log or (lambda s: None)
    wanted = set(opts.kernels)
    unknown = wanted - set(KNOWN) - set(LONG_CALLS)
    if unknown:
        raise SystemExit(f"unknown kernels: {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join((*KNOWN, *LONG_CALLS))}")
    selected = [k for k in KERNELS if not wanted or k.name in wanted]
    with_call_path = not wanted or CALL_PATH.name in wanted
    long_names = [n for n in LONG_CALLS if not wanted or n in wanted]

    progress = Progress(len(selected) + with_call_path, say)
    say(announce(opts, len(selected), with_call_path))
    with _CapturedLog(enabled=not opts.verbose) as captured:
        results: list[KernelResult] = []
        for kernel in selected:
            progress.start(kernel.name)
            results.append(run_kernel(kernel, opts, say))
            progress.finish()
        call_path = None
        if with_call_path:
            progress.start(f"call path {CALL_PATH.name}{CALL_PATH.args}")
            call_path = run_call_path(opts, say)
            progress.finish()
    names = [k.name for k in selected if k.name in bench_kernels.BY_NAME  # PyPy: no numpy
             ] + ([CALL_PATH.name] if with_call_path else [])
    pypy = run_pypy(names, opts, say)
    objects = [k.name for k in selected if k.name in bench_objects.BY_NAME]
    pypy = _merge_pypy(pypy, names, run_pypy(objects, opts, say, bench_objects.__file__),
                       objects)
    if pypy is not None:
        for k in results:
            raw = pypy["kernels"].get(k.name) if "kernels" in pypy else pypy
            k.variants["pypy"] = pypy_measurement(raw, k.expected)
        if call_path is not None:
            raw = pypy["kernels"].get(CALL_PATH.name) if "kernels" in pypy else pypy
            call_path["rows"]["pypy"] = pypy_measurement(raw, call_path["expected"])

    long_calls = None
    if long_names:
        say(f"one long call: {len(long_names)} kernels, each variant in a fresh process\n")
        long_calls = longcall.run_group(long_names, quick=opts.quick, with_pypy=opts.pypy,
                                        log=say)
    return {
        "meta": _meta(opts, pypy),
        "kernels": results,
        "call_path": call_path,
        "long_calls": long_calls,
        "summary": summarise(results),
        "mismatches": mismatches(results, call_path) + longcall.mismatches(long_calls),
        "wrong_answers": wrong_answers(results, call_path),
        "autotier_log": captured.lines,
        "autotier_log_grouped": captured.grouped,
    }


def _merge_pypy(a: dict[str, Any] | None, a_names: list[str], b: dict[str, Any] | None,
                b_names: list[str]) -> dict[str, Any] | None:
    """One PyPy answer from two runs (bench_kernels.py's and bench_objects.py's): a run
    that failed as a whole gives each of its kernels its error."""
    if a is None or b is None:
        return a if b is None else b
    out: dict[str, Any] = {"executable": a.get("executable"), "kernels": {}}
    for run, names in ((a, a_names), (b, b_names)):
        if "kernels" in run:
            out["kernels"].update(run["kernels"])
            out.setdefault("version", run.get("version"))
        else:
            out["kernels"].update({n: {"error": run.get("error")} for n in names})
    if "version" not in out:  # neither run started
        out["error"] = a.get("error") or b.get("error")
    return out


class _CapturedLog(logging.Handler):
    """Keep autotier's warnings (compile tracebacks) out of the table; list them."""

    def __init__(self, enabled: bool) -> None:
        super().__init__(logging.WARNING)
        self.enabled = enabled
        self.lines: list[str] = []
        # the same message about different functions, once: (template, exc) -> args
        self.grouped: dict[str, list[str]] = {}
        self._logger = logging.getLogger("autotier")
        self._propagate = self._logger.propagate

    def emit(self, record: logging.LogRecord) -> None:
        suffix = ""
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            suffix = f" ({type(exc).__name__}: {exc})"
        self.lines.append(f"{record.levelname}: {record.getMessage()}{suffix}")
        args = record.args if isinstance(record.args, tuple) else ()
        try:
            template = str(record.msg) % (("{}",) * len(args)) if args else str(record.msg)
        except (TypeError, ValueError):
            template, args = record.getMessage(), ()
        key = f"{record.levelname}: {template}{suffix}"
        self.grouped.setdefault(key, []).append(", ".join(str(a) for a in args))

    def __enter__(self) -> _CapturedLog:
        if self.enabled:
            self._logger.addHandler(self)
            self._logger.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._logger.removeHandler(self)
            self._logger.propagate = self._propagate


def _meta(opts: Options, pypy: dict[str, Any] | None) -> dict[str, Any]:
    def version(mod: str) -> str | None:
        try:
            m = __import__(mod)
        except ImportError:
            return None
        return str(getattr(m, "__version__", "?"))

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "autotier": autotier.__version__,
        "numba": version("numba"),
        "llvmlite": version("llvmlite"),
        "pypy": None if pypy is None else pypy.get("version", pypy.get("error")),
        "quick": opts.quick,
        "backend": opts.backend,
        "threshold": opts.threshold,
        "target_ms": opts.target_s * 1e3,
        "repeat": opts.repeat,
    }


def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m autotier bench",
                                description="CPython vs autotier vs numba (vs PyPy).")
    p.add_argument("--quick", action="store_true", help="few, short measurements (CI)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--kernels", metavar="A,B", default="",
                   help="comma-separated kernels (default: all; 'add' is the call path): "
                        + ", ".join(KNOWN))
    p.add_argument("--backend", default="auto", choices=("auto", "llvm", "numba"),
                   help="autotier backend (default auto)")
    p.add_argument("--threshold", type=int, default=10, help="autotier hotness threshold")
    p.add_argument("--no-pypy", action="store_true", help="skip pypy3 even if on PATH")
    p.add_argument("--verbose", action="store_true",
                   help="let autotier's log (compile tracebacks) through to stderr")
    ns = p.parse_args(argv)
    kernels = tuple(k.strip() for k in ns.kernels.split(",") if k.strip())
    return Options(quick=ns.quick, kernels=kernels, backend=ns.backend,
                   threshold=max(1, ns.threshold), pypy=not ns.no_pypy, json_path=ns.json,
                   verbose=ns.verbose)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, write JSON; exit 1 if autotier disagreed with CPython."""
    opts = parse_args(argv)

    def log(s: str) -> None:
        print(s, end="", file=sys.stderr, flush=True)

    results = run(opts, log)
    print(render(results))
    if opts.json_path:
        with open(opts.json_path, "w", encoding="utf-8") as fh:
            json.dump(to_jsonable(results), fh, indent=2)
            fh.write("\n")
    return 1 if autotier_mismatch(results) else 0


__all__ = ["VARIANTS", "KernelResult", "Measurement", "Options", "hot_variant", "main",
           "numba_variant", "render", "run", "same", "to_jsonable", "variant"]
