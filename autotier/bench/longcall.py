"""The bench's "one long call" group (issue 12): kernels called once, timed from the call.

Each variant of each kernel (:mod:`autotier.bench_longcall`) runs in a process of its
own, so nothing a variant compiled or warmed before is reused: CPython;
``@autotier.hot`` with its default policy (one call never reaches a call threshold, so
what it gains is on-stack replacement's); ``numba.njit``, its compile inside the timed
call as a user meets it; PyPy, its warm-up inside the time too.  The clock starts at the
call (after the imports, which every variant pays before its code runs) and stops at its
return.  Results are checked against CPython's (value and exact type).  The targets
(issue 12): autotier at least 20x CPython in geometric mean, and its first-call time
within 1.5x of numba's.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from autotier import bench_longcall
from autotier.bench_longcall import KERNELS, LongCall

VARIANTS = ("cpython", "autotier", "numba", "pypy")
TARGET_VS_CPYTHON = 20.0
TARGET_VS_NUMBA = 1.5  # autotier's first-call time over numba's, at most
CHILD_TIMEOUT_S = 600


def child(variant: str, name: str, quick: bool) -> dict[str, Any]:
    """In the measuring process: build ``variant`` of kernel ``name``, call it once."""
    kernel = bench_longcall.BY_NAME[name]
    args = kernel.quick_args if quick else kernel.args
    func: Callable[..., Any] = kernel.func
    if variant == "autotier":
        import autotier

        func = autotier.hot(kernel.func)
    elif variant == "numba":
        import numba

        func = numba.njit(kernel.func)
    out = bench_longcall.time_once(func, args)
    if variant == "autotier":
        import autotier

        row = autotier.stats(func)
        out.update(state=row.state, reason=row.reason or None, bailouts=row.bailouts,
                   osr_entries=int(getattr(row, "osr_entries", 0)))
    return out


def _run_child(cmd: list[str]) -> dict[str, Any]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    try:
        out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as exc:
        return {"error": f"unreadable output: {exc}"}
    return out


def measure(kernel: LongCall, variant: str, quick: bool, pypy: str | None) -> dict[str, Any]:
    mode = "quick" if quick else "full"
    if variant == "pypy":
        if pypy is None:
            return {"error": "not run"}
        return _run_child([pypy, bench_longcall.__file__, kernel.name, mode])
    return _run_child([sys.executable, "-m", "autotier.bench.longcall", variant,
                       kernel.name, mode])


def run_group(names: Sequence[str], *, quick: bool, with_pypy: bool,
              log: Callable[[str], None]) -> dict[str, Any]:
    """Every variant of the kernels ``names`` (all when empty), each in its process."""
    pypy = shutil.which("pypy3") if with_pypy else None
    chosen = [k for k in KERNELS if not names or k.name in names]
    rows = []
    for kernel in chosen:
        log(f"  one long call: {kernel.name}\n")
        variants = {v: measure(kernel, v, quick, pypy) for v in VARIANTS}
        expected = variants["cpython"].get("result")
        for m in variants.values():
            if "result" in m:
                m["match"] = m["result"] == expected
        rows.append({"name": kernel.name, "about": kernel.about,
                     "args": list(kernel.quick_args if quick else kernel.args),
                     "variants": variants})
    return {"rows": rows, "summary": summarise(rows)}


def _seconds(row: dict[str, Any], variant: str) -> float | None:
    m = row["variants"].get(variant, {})
    return m.get("seconds") if m.get("match") else None


def _geomean(values: Sequence[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def ratios(num: str, den: str) -> tuple[float | None, int]:
        values = [a / b for r in rows
                  if (a := _seconds(r, num)) is not None and (b := _seconds(r, den))]
        return _geomean(values), len(values)

    at, n_at = ratios("cpython", "autotier")
    first, n_first = ratios("autotier", "numba")
    pypy, n_pypy = ratios("cpython", "pypy")
    numba, n_numba = ratios("cpython", "numba")
    return {"autotier_vs_cpython": at, "autotier_kernels": n_at,
            "numba_vs_cpython": numba, "numba_kernels": n_numba,
            "pypy_vs_cpython": pypy, "pypy_kernels": n_pypy,
            "autotier_over_numba_time": first, "first_call_kernels": n_first,
            "met_vs_cpython": at is not None and at >= TARGET_VS_CPYTHON,
            "met_vs_numba": first is not None and first <= TARGET_VS_NUMBA}


def _cell(m: dict[str, Any]) -> str:
    if "error" in m:
        return "-" if m["error"] == "not run" else "error"
    if not m.get("match"):
        return "wrong answer"
    s = float(m["seconds"])
    return f"{s:.3f} s" if s >= 0.01 else f"{s * 1e3:.2f} ms"


def _x(num: float | None, den: float | None) -> str:
    if num is None or not den:
        return "-"
    x = num / den
    return f"{x:.2f}x" if x < 100 else f"{x:.0f}x"


def render(group: dict[str, Any]) -> list[str]:
    head = ["one long call", "CPython", "autotier", "numba", "PyPy", "at/CPy", "at/numba",
            "state", "OSR"]
    cells = [head]
    notes = []
    for r in group["rows"]:
        v = r["variants"]
        at = v["autotier"]
        cells.append([r["name"], *(_cell(v[n]) for n in VARIANTS),
                      _x(_seconds(r, "cpython"), _seconds(r, "autotier")),
                      _x(_seconds(r, "numba"), _seconds(r, "autotier")),
                      str(at.get("state", "-")), str(at.get("osr_entries", "-"))])
        for name, m in v.items():
            if "error" in m and m["error"] != "not run":
                notes.append(f"  {r['name']}: {name} error: {m['error']}")
            elif m.get("match") is False:
                mark = "MISMATCH (a bug)" if name == "autotier" else "wrong answer"
                notes.append(f"  {r['name']}: {name} {mark}: {m.get('result')} "
                             f"against CPython's {v['cpython'].get('result')}")
        if at.get("reason"):
            notes.append(f"  {r['name']}: autotier {at.get('state')}: {at['reason']}")
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    out = ["", "one long call: each kernel called once in a fresh process, timed from the "
           "call (numba's compile and PyPy's warm-up inside it)"]
    for n, row in enumerate(cells):
        out.append("  ".join(c.rjust(w) if 0 < i < 7 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    s = group["summary"]

    def g(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}x"

    out.append(f"  autotier over CPython (geometric mean): {g(s['autotier_vs_cpython'])} "
               f"({s['autotier_kernels']} kernels); target >= {TARGET_VS_CPYTHON:.0f}x: "
               f"{'met' if s['met_vs_cpython'] else 'MISSED'}")
    first = s["autotier_over_numba_time"]
    out.append(f"  autotier's time over numba's (geometric mean): "
               f"{'-' if first is None else f'{first:.2f}'} ({s['first_call_kernels']} "
               f"kernels); target <= {TARGET_VS_NUMBA}: "
               f"{'met' if s['met_vs_numba'] else 'MISSED'}")
    out.append(f"  numba over CPython: {g(s['numba_vs_cpython'])}; PyPy over CPython: "
               f"{g(s['pypy_vs_cpython'])}")
    if notes:
        out += ["  notes:", *notes]
    return out


def mismatches(group: dict[str, Any] | None) -> list[str]:
    """Where autotier answered a long call unlike CPython, as the bench lists them."""
    if group is None:
        return []
    return [f"MISMATCH autotier on {r['name']}{tuple(r['args'])} (one long call): got "
            f"{at.get('result')}, CPython gave {r['variants']['cpython'].get('result')}"
            for r in group["rows"] if (at := r["variants"]["autotier"]).get("match") is False]


if __name__ == "__main__":  # the measuring process: VARIANT NAME quick|full
    print(json.dumps(child(sys.argv[1], sys.argv[2], sys.argv[3] == "quick")))
