"""Summaries, mismatches and the printed table of a bench run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from autotier import bench_kernels
from autotier.bench import longcall
from autotier.bench.measure import NOISY, KernelResult, Measurement


def _geomean(values: Sequence[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarise(kernels: Sequence[KernelResult]) -> dict[str, Any]:
    def speedups(variant_: str, over: str = "cpython", compiled_only: bool = False
                 ) -> tuple[float | None, list[str]]:
        used = []
        values = []
        for k in kernels:
            kernel = bench_kernels.BY_NAME.get(k.name)
            if kernel is not None and kernel.deopt:
                continue  # a deoptimising call, not a steady state
            v = k.variants.get(variant_)
            s = k.speedup(variant_, over)
            if v is None or s is None or not v.match or not k.variants[over].match:
                continue
            if compiled_only and v.state != "compiled":
                continue
            used.append(k.name)
            values.append(s)
        return _geomean(values), used

    out: dict[str, Any] = {}
    for key, args in (("autotier_vs_cpython", ("autotier",)),
                      ("autotier_compiled_vs_cpython", ("autotier", "cpython", True)),
                      ("numba_vs_cpython", ("numba",)),
                      ("pypy_vs_cpython", ("pypy",)),
                      ("autotier_vs_numba", ("autotier", "numba"))):
        g, used = speedups(*args)
        out[key] = {"geomean": g, "kernels": used}
    return out


def _disagreements(kernels: Sequence[KernelResult], call_path: dict[str, Any] | None,
                   autotier: bool) -> list[tuple[str, str, dict[str, str] | None,
                                                 dict[str, str]]]:
    """(variant, call, result, CPython's) where a variant's answer was not CPython's:
    autotier's own (``autotier``) or the other implementations'."""
    out = []
    for k in kernels:
        for name, m in k.variants.items():
            if m.match is False and name.startswith("autotier") == autotier:
                out.append((name, f"{k.name}{tuple(k.args)}", m.result, k.expected))
    if call_path is not None:
        for name, m in call_path["rows"].items():
            if m.match is False and name.startswith("autotier") == autotier:
                out.append((name, f"add{tuple(call_path['args'])}", m.result,
                            call_path["expected"]))
    return out


def mismatches(kernels: Sequence[KernelResult], call_path: dict[str, Any] | None
               ) -> list[str]:
    """autotier's answers that were not CPython's: bugs (the run exits 1)."""
    return [f"MISMATCH {name} on {call}: got {_show(got)}, CPython gave {_show(want)}"
            for name, call, got, want in _disagreements(kernels, call_path, True)]


def wrong_answers(kernels: Sequence[KernelResult], call_path: dict[str, Any] | None
                  ) -> list[str]:
    """numba's and PyPy's answers that were not CPython's (numba's machine ints
    wrap): reported, shown with no speed-up, and no failure of the run."""
    return [f"{name}'s answer to {call} is wrong: {_show(got)}, CPython gave {_show(want)}"
            for name, call, got, want in _disagreements(kernels, call_path, False)]


def _show(enc: dict[str, str] | None) -> str:
    return "-" if enc is None else f"{enc['repr']} ({enc['type']})"


def to_jsonable(results: dict[str, Any]) -> dict[str, Any]:
    out = dict(results)
    out["kernels"] = [asdict(k) for k in results["kernels"]]
    if results["call_path"] is not None:
        cp = dict(results["call_path"])
        cp["rows"] = {n: asdict(m) for n, m in cp["rows"].items()}
        out["call_path"] = cp
    return out


# --- printing ------------------------------------------------------------------------

def fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "-"
    if ns < 1e3:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} us"
    return f"{ns / 1e6:.3f} ms"


def fmt_x(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f}x" if x < 100 else f"{x:.0f}x"


def _cell(m: Measurement | None) -> str:
    if m is None:
        return "-"
    if m.match is False:
        return "wrong answer"
    if m.ns is None:
        return "error" if m.error else "-"
    noisy = m.spread is not None and m.spread > NOISY
    return fmt_ns(m.ns) + ("~" if noisy else " ")


def _table(cells: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = []
    for n, row in enumerate(cells):
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _check(k: KernelResult) -> str:
    bad = [n for n, m in k.variants.items() if m.match is False]
    ours = [n for n in bad if n.startswith("autotier")]
    if ours:
        return "MISMATCH: " + ",".join(bad)
    return ", ".join(f"{n} wrong" for n in bad) if bad else "ok"


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    kernels: list[KernelResult] = results["kernels"]
    has_pypy = any("pypy" in k.variants for k in kernels) or (
        results["call_path"] is not None and "pypy" in results["call_path"]["rows"])
    out = [f"autotier bench: CPython {meta['python']} on {meta['machine']} "
           f"({meta['cpus']} cpus); autotier {meta['autotier']} backend={meta['backend']} "
           f"threshold={meta['threshold']}; numba {meta['numba']}, llvmlite "
           f"{meta['llvmlite']}; pypy: {meta['pypy'] or 'not run'}",
           f"time per call: median of {meta['repeat']} measurements of ~"
           f"{meta['target_ms']:.0f} ms{' (--quick)' if meta['quick'] else ''}", ""]

    if kernels:
        head = ["kernel", "CPython", "autotier", "numba"] + (["PyPy"] if has_pypy else []) + \
            ["at/CPy", "at/numba"] + (["PyPy/CPy"] if has_pypy else []) + \
            ["backend", "state", "check"]
        cells = [head]
        for k in kernels:
            at = k.variants["autotier"]
            row = [k.name, _cell(k.variants["cpython"]), _cell(at), _cell(k.variants["numba"])]
            if has_pypy:
                row.append(_cell(k.variants.get("pypy")))
            row += [fmt_x(k.speedup("autotier")), fmt_x(k.speedup("autotier", "numba"))]
            if has_pypy:
                row.append(fmt_x(k.speedup("pypy")))
            row += [at.backend or "-", at.state or "-", _check(k)]
            cells.append(row)
        n_time = 4 + has_pypy
        out += _table(cells, set(range(1, n_time + 2 + has_pypy)))
        out.append("at/CPy, at/numba, PyPy/CPy: speed-ups (how many times faster; >1 is "
                   f"faster).  ~: measurements spread over {NOISY:.2f}x (noisy machine).")

        notes = []
        why_not: dict[str, list[str]] = {}
        for k in kernels:
            at = k.variants["autotier"]
            if at.state != "compiled" or at.reason or at.error:
                why = "; ".join(x for x in (at.error, at.reason) if x) or "no reason given"
                why_not.setdefault(f"autotier {at.state}: {why}", []).append(k.name)
        notes += [f"  {', '.join(names)}: {why}" for why, names in why_not.items()]
        for k in kernels:
            at = k.variants["autotier"]
            if at.bailouts_while_timed:
                notes.append(f"  {k.name}: autotier bailed out {at.bailouts_while_timed} "
                             "times while timed")
            for name in ("numba", "pypy"):
                m = k.variants.get(name)
                if m is not None and m.error and m.error != "not run":
                    notes.append(f"  {k.name}: {name} error: {m.error}")
        if notes:
            out += ["", "notes:", *notes]

        s = results["summary"]
        out.append("")
        out.append("geometric mean speed-up (kernels whose results matched):")
        for key, label in (("autotier_vs_cpython", "autotier over CPython"),
                           ("autotier_compiled_vs_cpython", "  compiled kernels only"),
                           ("numba_vs_cpython", "numba over CPython"),
                           ("pypy_vs_cpython", "PyPy over CPython"),
                           ("autotier_vs_numba", "autotier over numba")):
            g = s[key]
            if key == "pypy_vs_cpython" and not has_pypy:
                continue
            out.append(f"  {label:<26} {fmt_x(g['geomean']):>8}   "
                       f"({len(g['kernels'])} of {len(kernels)} kernels)")

    cp = results["call_path"]
    if cp is not None:
        out += ["", f"call path: add{tuple(cp['args'])}, ns per call (timeit loop of "
                f"{cp['empty_loop_ns']:.1f} ns included)"]
        labels = {"python": "python function (undecorated)",
                  "autotier": "autotier @hot, promoted",
                  "autotier_interpreted": "autotier @hot, before promotion",
                  "autotier_declined": "autotier @hot, declined (blacklisted): its name",
                  "autotier_declined_held": "  the hot object, held elsewhere",
                  "numba": "numba @njit", "pypy": "PyPy (python function)"}
        cells = [["how", "ns/call", "backend", "state", "check"]]
        for name, m in cp["rows"].items():
            bad = "MISMATCH" if name.startswith("autotier") else "wrong answer"
            cells.append([labels.get(name, name), f"{m.ns:.1f}" if m.ns else
                          (m.error or "-"), m.backend or "-", m.state or "-",
                          "-" if m.match is None else ("ok" if m.match else bad)])
        out += ["  " + ln for ln in _table(cells, {1})]
        for name, r in cp["ratios"].items():
            raw, net = r["raw"], r["net_of_loop"]
            verdict = "not measured" if raw is None else "met" if r["met"] else "MISSED"
            out.append(f"  time ratio {name}: "
                       f"{'-' if raw is None else f'{raw:.2f}'} "
                       f"(net of loop {'-' if net is None else f'{net:.2f}'}); "
                       f"target <= {r['target']}: {verdict}")
        at = cp["rows"]["autotier"]
        if at.state != "compiled":
            out.append(f"  autotier add: {at.state}: {at.error or at.reason or ''}")

    if results.get("long_calls") is not None:
        out += longcall.render(results["long_calls"])

    log_lines = results.get("autotier_log") or []
    grouped: dict[str, list[str]] = results.get("autotier_log_grouped") or {}
    if log_lines:
        out += ["", f"autotier logged {len(log_lines)} warning(s) during the run "
                "(--verbose shows them as logged):"]
        for n, (template, args) in enumerate(grouped.items()):
            if n == 10:
                out.append(f"  ... and {len(grouped) - 10} more")
                break
            names = [a for a in dict.fromkeys(args) if a]
            out.append("  " + template.replace("{}", "{" + ", ".join(names) + "}", 1)
                       if names else f"  {template}")

    wrong: list[str] = results.get("wrong_answers") or []
    if wrong:
        out += ["", "wrong answers from other implementations, not autotier (CPython is "
                "the oracle; no speed-up is shown for them):"]
        out += [f"  {line}" for line in wrong]
    if results["mismatches"]:
        bar = "!" * 78
        out += ["", bar, f"!!! {len(results['mismatches'])} AUTOTIER RESULT MISMATCH(ES) "
                "against CPython (a bug):"]
        out += [f"!!! {line}" for line in results["mismatches"]]
        out.append(bar)
    elif wrong:
        out += ["", "all of autotier's checked results matched CPython (value and type)"]
    else:
        out += ["", "all checked results matched CPython (value and type)"]
    return "\n".join(out)


def autotier_mismatch(results: dict[str, Any]) -> bool:
    bad = any(k.variants["autotier"].match is False for k in results["kernels"])
    bad |= bool(longcall.mismatches(results.get("long_calls")))
    cp = results["call_path"]
    if cp is not None:
        bad |= any(m.match is False for n, m in cp["rows"].items()
                   if n.startswith("autotier"))
    return bad


# --- command line --------------------------------------------------------------------

