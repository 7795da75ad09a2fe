"""``python -m autotier bench``: CPython against autotier, numba and (if present) PyPy.

Every kernel in :mod:`autotier.bench_kernels` is defined once, as plain Python; each
variant is a fresh function over the same code object with its own globals, in which
the kernel's name is bound to the variant itself (so recursion goes through it):

- ``cpython``:  the plain function;
- ``autotier``: ``autotier.hot(threshold=, backend=)`` over it, called past the
  threshold and ``autotier.wait_idle()``-ed before anything is timed;
- ``numba``:    ``numba.njit`` over it, compiled by a first call;
- ``pypy``:     ``pypy3`` runs ``bench_kernels.py`` itself in a subprocess.

Each variant's result on the timed inputs is checked against CPython's (value and
type; an exception must be of the same type) before timing.  Times are ``timeit``
medians: loops auto-scaled to ``target_ms`` per measurement, ``repeat`` measurements.
Nothing here asserts anything about speed; mismatches are reported, loudly.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import timeit
import types
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import autotier
from autotier import bench_kernels
from autotier.bench_kernels import CALL_PATH, KERNELS, Kernel, encode, time_call, time_calls

VARIANTS = ("cpython", "autotier", "numba", "pypy")
CALLPATH_TARGETS = {"autotier/python": 0.8, "autotier/numba": 0.3}
NOISY = 1.25  # a time is marked ~ when its slowest measurement is this much slower


@dataclass(frozen=True)
class Options:
    quick: bool = False
    kernels: tuple[str, ...] = ()  # empty: all, and the call path
    backend: str = "auto"
    threshold: int = 10
    pypy: bool = True
    json_path: str | None = None
    compile_timeout_s: float = 300.0
    verbose: bool = False  # let autotier's own log (compile tracebacks) reach stderr

    @property
    def target_s(self) -> float:
        return 0.005 if self.quick else 0.075

    @property
    def repeat(self) -> int:
        return 3 if self.quick else 7

    @property
    def pypy_warmup_s(self) -> float:
        return 0.02 if self.quick else 0.3


@dataclass
class Measurement:
    """One variant of one kernel: its time per call and its checked result."""

    ns: float | None = None  # median time per call
    min_ns: float | None = None
    number: int = 0  # calls per measurement
    repeat: int = 0
    spread: float | None = None  # slowest / fastest measurement
    result: dict[str, str] | None = None  # encode() of the result on the timed inputs
    match: bool | None = None  # None: not checked (not run)
    error: str | None = None  # could not be built or run
    # autotier only
    state: str | None = None
    backend: str | None = None
    reason: str | None = None
    bailouts: int | None = None
    bailouts_while_timed: int | None = None
    calls: int | None = None


@dataclass
class KernelResult:
    name: str
    about: str
    args: list[Any]
    expected: dict[str, str]
    variants: dict[str, Measurement] = field(default_factory=dict)

    def speedup(self, variant: str, over: str = "cpython") -> float | None:
        """How many times faster ``variant`` is than ``over`` (None if unknown)."""
        a, b = self.variants.get(variant), self.variants.get(over)
        if a is None or b is None or not a.ns or not b.ns:
            return None
        return b.ns / a.ns


class Raised:
    """An exception as a result: equal to another of the same type."""

    def __init__(self, exc: BaseException) -> None:
        self.type = type(exc)
        self.message = str(exc)

    def __repr__(self) -> str:
        return f"raised {self.type.__name__}({self.message!r})"


def _call(func: Callable[..., Any], args: Sequence[Any]) -> Any:
    try:
        return func(*args)
    except Exception as exc:
        return Raised(exc)


def same(expected: Any, got: Any) -> bool:
    """Equal in value and exact type (NaN equals NaN; exceptions compare by type)."""
    if isinstance(expected, Raised) or isinstance(got, Raised):
        return (isinstance(expected, Raised) and isinstance(got, Raised)
                and expected.type is got.type)
    if type(expected) is not type(got):
        return False
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(got)
    return bool(expected == got)


def _encode(value: Any) -> dict[str, str]:
    if isinstance(value, Raised):
        return {"type": "raised " + value.type.__name__, "repr": value.message}
    return encode(value)


# --- variants ------------------------------------------------------------------------

def variant(kernel: Kernel, wrap: Callable[[types.FunctionType], Any] | None = None) -> Any:
    """A fresh copy of ``kernel.func`` whose own name, in its globals, is the copy."""
    func = kernel.func
    assert isinstance(func, types.FunctionType)
    namespace = dict(func.__globals__)
    copy = types.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__,
                              func.__closure__)
    made = wrap(copy) if wrap is not None else copy
    namespace[func.__name__] = made
    return made


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    generic = ("Failed in nopython mode pipeline", "Failed in object mode pipeline")
    useful = [ln for ln in lines if not ln.startswith(generic)]
    return f"{type(exc).__name__}: {(useful or lines or [''])[0]}"


def _stats(hot: Any) -> autotier.FunctionStats:
    return autotier.stats(hot)


def promote(hot: Any, args: Sequence[Any], threshold: int, timeout_s: float) -> str | None:
    """Call ``hot`` past its threshold and wait for the compile; a note if that failed."""
    for _ in range(threshold + 2):
        _call(hot, args)
        if _stats(hot).state != "interpreted":
            break
    if not autotier.wait_idle(timeout_s):
        return f"compile did not finish in {timeout_s:.0f} s"
    return None


def hot_variant(kernel: Kernel, threshold: int = 10, backend: str = "auto",
                timeout_s: float = 300.0) -> tuple[Any, str | None]:
    """An ``@autotier.hot`` variant of ``kernel``, promoted: (it, note if that failed)."""
    hot = variant(kernel, autotier.hot(threshold=threshold, backend=backend))
    return hot, promote(hot, kernel.args, threshold, timeout_s)


def _autotier_fields(m: Measurement, hot: Any) -> None:
    st = _stats(hot)
    m.state, m.backend, m.reason = st.state, st.backend, st.reason
    m.bailouts, m.calls = st.bailouts, st.calls


def numba_variant(kernel: Kernel) -> tuple[Any, str | None]:
    try:
        import numba
    except ImportError as exc:  # pragma: no cover - numba is a dependency
        return None, f"numba not importable: {exc}"
    dispatcher = variant(kernel, numba.njit)
    try:
        dispatcher(*kernel.args)  # compile now, outside any timing
    except Exception as exc:
        return None, _first_line(exc)
    return dispatcher, None


def _check_result(m: Measurement, func: Callable[..., Any], args: Sequence[Any],
           expected: Any) -> None:
    got = _call(func, args)
    m.result = _encode(got)
    m.match = same(expected, got)
    if isinstance(got, Raised) and not isinstance(expected, Raised):
        m.error = f"raised while checked: {got!r}"


def _store(m: Measurement, t: dict[str, Any]) -> None:
    m.ns, m.min_ns, m.number, m.repeat = t["ns"], t["min_ns"], t["number"], t["repeat"]
    m.spread = max(t["runs_ns"]) / t["min_ns"] if t["min_ns"] else None


def _time_all(rows: dict[str, tuple[Measurement, Callable[..., Any]]], args: Sequence[Any],
              opts: Options) -> None:
    """Time every row's function on ``args``, measurements interleaved across rows."""
    calls = {name: (func, tuple(args)) for name, (m, func) in rows.items() if m.error is None}
    try:
        timings = time_calls(calls, opts.target_s, opts.repeat)
    except Exception:  # one of them raised: time them one by one, to say which
        timings = {}
        for name, call in calls.items():
            try:
                timings[name] = time_call(*call, opts.target_s, opts.repeat)
            except Exception as exc:
                rows[name][0].error = f"while timed: {type(exc).__name__}: {exc}"
    for name, t in timings.items():
        _store(rows[name][0], t)


def run_kernel(kernel: Kernel, opts: Options, log: Callable[[str], None]) -> KernelResult:
    log(f"  {kernel.name}: ")
    plain = variant(kernel)
    expected = _call(plain, kernel.args)
    res = KernelResult(kernel.name, kernel.about, list(kernel.args), _encode(expected))
    rows: dict[str, tuple[Measurement, Callable[..., Any]]] = {}

    cpy = res.variants["cpython"] = Measurement(result=_encode(expected), match=True)
    rows["cpython"] = (cpy, plain)

    at = res.variants["autotier"] = Measurement()
    hot, note = hot_variant(kernel, opts.threshold, opts.backend, opts.compile_timeout_s)
    _autotier_fields(at, hot)
    _check_result(at, hot, kernel.args, expected)
    at.error = at.error or note
    rows["autotier"] = (at, hot)
    log(f"autotier {at.state} ")

    nb = res.variants["numba"] = Measurement()
    dispatcher, err = numba_variant(kernel)
    if dispatcher is None:
        nb.error = err
    else:
        _check_result(nb, dispatcher, kernel.args, expected)
        rows["numba"] = (nb, dispatcher)
    log("numba, timing ")

    before = _stats(hot)
    _time_all(rows, kernel.args, opts)
    after = _stats(hot)
    at.bailouts_while_timed = after.bailouts - before.bailouts
    if after.state != before.state:  # it bailed out (or was recompiled) while timed
        at.reason = ((at.reason + "; ") if at.reason else "") + \
            f"state went {before.state} -> {after.state} while timed"
        at.state = after.state
    at.bailouts, at.calls = after.bailouts, after.calls
    log("done\n")
    return res


# --- the call path -------------------------------------------------------------------

def run_call_path(opts: Options, log: Callable[[str], None]) -> dict[str, Any]:
    """ns per call of add(3, 4): plain, @hot compiled, @hot before promotion, njit."""
    log("  call path: ")
    kernel, args = CALL_PATH, CALL_PATH.args
    plain = variant(kernel)
    expected = _call(plain, args)
    rows: dict[str, Measurement] = {}
    timed: dict[str, tuple[Measurement, Callable[..., Any]]] = {}

    rows["python"] = Measurement(result=_encode(expected), match=True)
    timed["python"] = (rows["python"], plain)

    hot, note = hot_variant(kernel, opts.threshold, opts.backend, opts.compile_timeout_s)
    m = rows["autotier"] = Measurement()
    _check_result(m, hot, args, expected)
    m.error = m.error or note
    timed["autotier"] = (m, hot)

    cold = variant(kernel, autotier.hot(threshold=2**62, backend=opts.backend))
    m = rows["autotier_interpreted"] = Measurement()
    _check_result(m, cold, args, expected)
    timed["autotier_interpreted"] = (m, cold)

    m = rows["numba"] = Measurement()
    dispatcher, err = numba_variant(kernel)
    if dispatcher is None:
        m.error = err
    else:
        _check_result(m, dispatcher, args, expected)
        timed["numba"] = (m, dispatcher)

    loop = timeit.Timer("pass")
    number = max(1, int(opts.target_s / 5e-9))
    empty = statistics.median(t / number * 1e9 for t in loop.repeat(opts.repeat, number))
    _time_all(timed, args, opts)
    _autotier_fields(rows["autotier"], hot)
    _autotier_fields(rows["autotier_interpreted"], cold)
    log("done\n")

    ratios: dict[str, dict[str, float | bool | None]] = {}
    at = rows["autotier"].ns
    for name, base in (("autotier/python", rows["python"].ns),
                       ("autotier/numba", rows["numba"].ns)):
        raw = at / base if at and base else None
        net = (at - empty) / (base - empty) if at and base and base > empty else None
        ratios[name] = {"raw": raw, "net_of_loop": net, "target": CALLPATH_TARGETS[name],
                        "met": raw is not None and raw <= CALLPATH_TARGETS[name]}
    return {"args": list(args), "expected": _encode(expected), "empty_loop_ns": empty,
            "rows": rows, "ratios": ratios}


# --- PyPy ----------------------------------------------------------------------------

def run_pypy(names: Sequence[str], opts: Options, log: Callable[[str], None]
             ) -> dict[str, Any] | None:
    exe = shutil.which("pypy3")
    if not opts.pypy or exe is None or not names:
        return None
    log(f"  pypy3 ({exe}): {len(names)} kernels in a subprocess\n")
    request = {"kernels": list(names), "target_s": opts.target_s, "repeat": opts.repeat,
               "warmup_s": opts.pypy_warmup_s}
    try:
        proc = subprocess.run([exe, bench_kernels.__file__], input=json.dumps(request),
                              capture_output=True, text=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"executable": exe, "error": f"{type(exc).__name__}: {exc}"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"executable": exe, "error": f"exit {proc.returncode}: {tail}"}
    out: dict[str, Any] = json.loads(proc.stdout)
    out["executable"] = exe
    return out


def _pypy_measurement(raw: dict[str, Any] | None, expected: dict[str, str]) -> Measurement:
    if raw is None:
        return Measurement(error="not run")
    if "error" in raw:
        return Measurement(error=raw["error"])
    return Measurement(ns=raw["ns"], min_ns=raw["min_ns"], number=raw["number"],
                       repeat=raw["repeat"], result=raw["result"],
                       spread=max(raw["runs_ns"]) / raw["min_ns"] if raw["min_ns"] else None,
                       match=raw["result"] == expected)


# --- the whole run -------------------------------------------------------------------

def _geomean(values: Sequence[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarise(kernels: Sequence[KernelResult]) -> dict[str, Any]:
    def speedups(variant_: str, over: str = "cpython", compiled_only: bool = False
                 ) -> tuple[float | None, list[str]]:
        used = []
        values = []
        for k in kernels:
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


def mismatches(kernels: Sequence[KernelResult], call_path: dict[str, Any] | None
               ) -> list[str]:
    lines = []
    for k in kernels:
        for name, m in k.variants.items():
            if m.match is False:
                lines.append(f"MISMATCH {name} on {k.name}{tuple(k.args)}: got "
                             f"{_show(m.result)}, CPython gave {_show(k.expected)}")
    if call_path is not None:
        for name, m in call_path["rows"].items():
            if m.match is False:
                lines.append(f"MISMATCH {name} on add{tuple(call_path['args'])}: got "
                             f"{_show(m.result)}, CPython gave {_show(call_path['expected'])}")
    return lines


def _show(enc: dict[str, str] | None) -> str:
    return "-" if enc is None else f"{enc['repr']} ({enc['type']})"


def run(opts: Options, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    say = log or (lambda s: None)
    wanted = set(opts.kernels)
    unknown = wanted - set(bench_kernels.BY_NAME)
    if unknown:
        raise SystemExit(f"unknown kernels: {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(bench_kernels.BY_NAME)}")
    selected = [k for k in KERNELS if not wanted or k.name in wanted]
    with_call_path = not wanted or CALL_PATH.name in wanted

    with _CapturedLog(enabled=not opts.verbose) as captured:
        results = [run_kernel(k, opts, say) for k in selected]
        call_path = run_call_path(opts, say) if with_call_path else None
    names = [k.name for k in selected] + ([CALL_PATH.name] if with_call_path else [])
    pypy = run_pypy(names, opts, say)
    if pypy is not None:
        for k in results:
            raw = pypy["kernels"].get(k.name) if "kernels" in pypy else pypy
            k.variants["pypy"] = _pypy_measurement(raw, k.expected)
        if call_path is not None:
            raw = pypy["kernels"].get(CALL_PATH.name) if "kernels" in pypy else pypy
            call_path["rows"]["pypy"] = _pypy_measurement(raw, call_path["expected"])

    return {
        "meta": _meta(opts, pypy),
        "kernels": results,
        "call_path": call_path,
        "summary": summarise(results),
        "mismatches": mismatches(results, call_path),
        "autotier_log": captured.lines,
        "autotier_log_grouped": captured.grouped,
    }


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
    return "MISMATCH: " + ",".join(bad) if bad else "ok"


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
                  "numba": "numba @njit", "pypy": "PyPy (python function)"}
        cells = [["how", "ns/call", "backend", "state", "check"]]
        for name, m in cp["rows"].items():
            cells.append([labels.get(name, name), f"{m.ns:.1f}" if m.ns else
                          (m.error or "-"), m.backend or "-", m.state or "-",
                          "-" if m.match is None else ("ok" if m.match else "MISMATCH")])
        out += ["  " + ln for ln in _table(cells, {1})]
        for name, r in cp["ratios"].items():
            raw, net = r["raw"], r["net_of_loop"]
            verdict = "met" if r["met"] else "MISSED"
            out.append(f"  time ratio {name}: "
                       f"{'-' if raw is None else f'{raw:.2f}'} "
                       f"(net of loop {'-' if net is None else f'{net:.2f}'}); "
                       f"target <= {r['target']}: {verdict}")
        at = cp["rows"]["autotier"]
        if at.state != "compiled":
            out.append(f"  autotier add: {at.state}: {at.error or at.reason or ''}")

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

    if results["mismatches"]:
        bar = "!" * 78
        out += ["", bar, f"!!! {len(results['mismatches'])} RESULT MISMATCH(ES) "
                "against CPython:"]
        out += [f"!!! {line}" for line in results["mismatches"]]
        out.append(bar)
    else:
        out += ["", "all checked results matched CPython (value and type)"]
    return "\n".join(out)


def autotier_mismatch(results: dict[str, Any]) -> bool:
    bad = any(k.variants["autotier"].match is False for k in results["kernels"])
    cp = results["call_path"]
    if cp is not None:
        bad |= any(m.match is False for n, m in cp["rows"].items()
                   if n.startswith("autotier"))
    return bad


# --- command line --------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m autotier bench",
                                description="CPython vs autotier vs numba (vs PyPy).")
    p.add_argument("--quick", action="store_true", help="few, short measurements (CI)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--kernels", metavar="A,B", default="",
                   help="comma-separated kernels (default: all; 'add' is the call path): "
                        + ", ".join(bench_kernels.BY_NAME))
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

    log("autotier bench: running\n")
    results = run(opts, log)
    print(render(results))
    if opts.json_path:
        with open(opts.json_path, "w", encoding="utf-8") as fh:
            json.dump(to_jsonable(results), fh, indent=2)
            fh.write("\n")
    return 1 if autotier_mismatch(results) else 0


__all__ = ["VARIANTS", "KernelResult", "Measurement", "Options", "hot_variant", "main",
           "numba_variant", "render", "run", "same", "to_jsonable", "variant"]
