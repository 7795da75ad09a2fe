"""Building the variants of each kernel, checking and timing them."""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import sys
import timeit
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import autotier
from autotier import bench_containers, bench_kernels
from autotier.bench_kernels import CALL_PATH, Kernel, encode, time_call, time_calls

VARIANTS = ("cpython", "autotier", "numba", "pypy")
CALLPATH_TARGETS = {"autotier/python": 0.8, "autotier/numba": 0.3, "declined/python": 1.1}
# a call of the call-path kernel that overflows int64: under BlacklistPolicy, the
# declined variant's first bailout gives it up for good
DECLINE_ARGS = (2**62, 2**62)
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
        """How many times faster ``variant`` is than ``over``: None if unknown, or if
        either answered wrongly (a wrong answer's speed is no speed-up)."""
        a, b = self.variants.get(variant), self.variants.get(over)
        if a is None or b is None or not a.ns or not b.ns:
            return None
        if a.match is False or b.match is False:
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
    if bench_containers.is_container(expected):  # element types, dtypes, bits
        return bench_containers.same(expected, got)
    if type(expected) is not type(got):
        return False
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(got)
    return bool(expected == got)


def _encode(value: Any) -> dict[str, str]:
    if isinstance(value, Raised):
        return {"type": "raised " + value.type.__name__, "repr": value.message}
    if bench_containers.is_container(value):
        return bench_containers.encode(value)
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


WARMUP_ROUNDS = 5  # calls that may still bail out and recompile before timing


def promote(hot: Any, args: Sequence[Any], threshold: int, timeout_s: float) -> str | None:
    """Call ``hot`` past its threshold and wait for the compile, then call it again until
    a call no longer bails out (a bailout may recompile it: an int64 overflow, for
    instance, recompiles with i128 ints), as a JIT is warmed; a note if that failed."""
    for _ in range(threshold + 2):
        _call(hot, args)
        if _stats(hot).state != "interpreted":
            break
    for _ in range(WARMUP_ROUNDS):
        if not autotier.wait_idle(timeout_s):
            return f"compile did not finish in {timeout_s:.0f} s"
        bailouts = _stats(hot).bailouts
        _call(hot, args)
        if _stats(hot).bailouts == bailouts:
            break
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


def describe(m: Measurement) -> str:
    """autotier's state and backend, for a progress line: ``compiled (backend llvm)``."""
    return f"{m.state or 'not built'} (backend {m.backend or 'none'})"


DEOPT_POLICIES: dict[str, Callable[[], Any]] = {"blacklist": autotier.BlacklistPolicy}


def deopt_measurement(kernel: Kernel, opts: Options, expected: Any) -> Measurement:
    """autotier's time for ``kernel.args`` when the call deoptimises (``kernel.deopt``).

    Under a policy that gives the code up at its first bailout, only one call of
    compiled code can deoptimise, so each of the ``repeat`` measurements is one call
    of a fresh variant, compiled for ``kernel.warm`` (promoted with those arguments):
    native code runs until the guard fails, then the interpreter resumes at the
    failing instruction and finishes the rest (the bead's ``resumes`` must count it).
    The time includes what a first deopt at a site costs on its caller's path (the
    bead's bookkeeping, which blacklists the code here, and the resumed frame), as
    every such call does; the site's resume function was built by the broker after
    the compile (``deopt.resume.prepare``), as every site's is."""
    m = Measurement()
    runs: list[float] = []
    hot: Any = None
    for _ in range(opts.repeat):
        hot = variant(kernel, autotier.hot(threshold=opts.threshold, backend=opts.backend,
                                           deopt=DEOPT_POLICIES[kernel.deopt]()))
        note = promote(hot, kernel.warm, opts.threshold, opts.compile_timeout_s)
        before = _stats(hot)
        if note or before.state != "compiled":
            m.error = note or f"not compiled for the timed call: {before.state}"
            break
        start = timeit.default_timer()
        got = _call(hot, kernel.args)
        runs.append((timeit.default_timer() - start) * 1e9)
        after = _stats(hot)
        m.backend = before.backend
        m.result = _encode(got)
        m.match = same(expected, got) if m.match is not False else False
        if after.resumes - before.resumes != 1:
            m.error = (f"the timed call did not resume precisely (resumes "
                       f"{before.resumes} -> {after.resumes})")
            break
    if hot is not None:
        backend = m.backend
        _autotier_fields(m, hot)
        m.state, m.backend = "compiled", backend  # when timed; then given up (the policy)
        m.reason = (f"timed: the first call of compiled code, which deoptimises "
                    f"precisely; after it the bead is {_stats(hot).state}")
    if runs:
        m.ns, m.min_ns = statistics.median(runs), min(runs)
        m.number, m.repeat = 1, len(runs)
        m.spread = max(runs) / min(runs)
    return m


def run_kernel(kernel: Kernel, opts: Options, log: Callable[[str], None]) -> KernelResult:
    """Build, check and time every variant of ``kernel``; ``log`` gets progress
    fragments (what autotier and numba made of it), not a whole line."""
    plain = variant(kernel)
    expected = _call(plain, kernel.args)
    res = KernelResult(kernel.name, kernel.about,
                       [bench_containers.describe(a) for a in kernel.args], _encode(expected))
    rows: dict[str, tuple[Measurement, Callable[..., Any]]] = {}

    cpy = res.variants["cpython"] = Measurement(result=_encode(expected), match=True)
    rows["cpython"] = (cpy, plain)

    if kernel.deopt:  # timed apart: one deoptimising call per fresh variant
        at = res.variants["autotier"] = deopt_measurement(kernel, opts, expected)
        log(f"autotier {describe(at)}, deoptimising calls timed; ")
    else:
        at = res.variants["autotier"] = Measurement()
        hot, note = hot_variant(kernel, opts.threshold, opts.backend, opts.compile_timeout_s)
        _autotier_fields(at, hot)
        _check_result(at, hot, kernel.args, expected)
        at.error = at.error or note
        rows["autotier"] = (at, hot)
        log(f"autotier {describe(at)}; ")

    nb = res.variants["numba"] = Measurement()
    dispatcher, err = numba_variant(kernel)
    if dispatcher is None:
        nb.error = err
    else:
        _check_result(nb, dispatcher, kernel.args, expected)
        rows["numba"] = (nb, dispatcher)
    log("numba " + ("error" if nb.error else "compiled (wrong answer)" if nb.match is False
                    else "compiled") + "; timing... ")

    if kernel.deopt:
        _time_all(rows, kernel.args, opts)
        return res
    before = _stats(hot)
    _time_all(rows, kernel.args, opts)
    after = _stats(hot)
    at.bailouts_while_timed = after.bailouts - before.bailouts
    if after.state != before.state:  # it bailed out (or was recompiled) while timed
        at.reason = ((at.reason + "; ") if at.reason else "") + \
            f"state went {before.state} -> {after.state} while timed"
        at.state = after.state
    at.bailouts, at.calls = after.bailouts, after.calls
    return res


# --- the call path -------------------------------------------------------------------

def declined_variant(kernel: Kernel, opts: Options) -> tuple[Any, Any, str | None]:
    """``@autotier.hot`` over ``kernel`` in a module of its own, blacklisted: (what the
    module's name holds now, the hot object, a note if it was not given up).

    A bead that gives up for good rebinds the decorator's name to the plain function
    (autotier.runtime.unwrap), and only a module's global is rebound: so the kernel is
    defined in a real module, promoted, and sent one call that overflows int64
    (DECLINE_ARGS) under BlacklistPolicy.  Callers of the name then call the plain
    function; the hot object, held elsewhere, still goes through the trampoline.
    """
    func = kernel.func
    assert isinstance(func, types.FunctionType)
    name = f"autotier.bench._declined_{kernel.name}"
    module = types.ModuleType(name)
    module.__dict__.update({k: v for k, v in func.__globals__.items()
                            if not k.startswith("__")})
    module.__dict__["__name__"] = name
    sys.modules[name] = module
    copy = types.FunctionType(func.__code__, vars(module), func.__name__,
                              func.__defaults__, func.__closure__)
    hot = autotier.hot(threshold=opts.threshold, backend=opts.backend,
                       deopt=autotier.BlacklistPolicy())(copy)
    vars(module)[func.__name__] = hot
    note = promote(hot, kernel.args, opts.threshold, opts.compile_timeout_s)
    _call(hot, DECLINE_ARGS)
    now = vars(module)[func.__name__]
    if now is hot:
        note = note or f"not rebound to the plain function: {_stats(hot).state}"
    return now, hot, note


def run_call_path(opts: Options, log: Callable[[str], None]) -> dict[str, Any]:
    """ns per call of add(3, 4): plain, @hot compiled, @hot before promotion, @hot
    declined for good (the name the plain function again; the hot object held
    elsewhere), njit;
    ``log`` gets progress fragments, as for :func:`run_kernel`."""
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
    _autotier_fields(m, hot)
    log(f"autotier {describe(m)}; ")

    cold = variant(kernel, autotier.hot(threshold=2**62, backend=opts.backend))
    m = rows["autotier_interpreted"] = Measurement()
    _check_result(m, cold, args, expected)
    timed["autotier_interpreted"] = (m, cold)

    declined, declined_hot, note = declined_variant(kernel, opts)
    m = rows["autotier_declined"] = Measurement()
    _check_result(m, declined, args, expected)
    m.error = m.error or note
    timed["autotier_declined"] = (m, declined)
    m = rows["autotier_declined_held"] = Measurement()
    _check_result(m, declined_hot, args, expected)
    timed["autotier_declined_held"] = (m, declined_hot)

    m = rows["numba"] = Measurement()
    dispatcher, err = numba_variant(kernel)
    if dispatcher is None:
        m.error = err
    else:
        _check_result(m, dispatcher, args, expected)
        timed["numba"] = (m, dispatcher)

    log("timing... ")
    loop = timeit.Timer("pass")
    number = max(1, int(opts.target_s / 5e-9))
    empty = statistics.median(t / number * 1e9 for t in loop.repeat(opts.repeat, number))
    _time_all(timed, args, opts)
    _autotier_fields(rows["autotier"], hot)
    _autotier_fields(rows["autotier_interpreted"], cold)
    for declined_row in ("autotier_declined", "autotier_declined_held"):
        _autotier_fields(rows[declined_row], declined_hot)

    ratios: dict[str, dict[str, float | bool | None]] = {}
    for name, top, row in (("autotier/python", rows["autotier"], rows["python"]),
                           ("autotier/numba", rows["autotier"], rows["numba"]),
                           ("declined/python", rows["autotier_declined"], rows["python"])):
        at = top.ns
        # no ratio against a wrong answer, nor for a wrong one
        base = row.ns if row.match is not False and top.match is not False else None
        raw = at / base if at and base else None
        net = (at - empty) / (base - empty) if at and base and base > empty else None
        ratios[name] = {"raw": raw, "net_of_loop": net, "target": CALLPATH_TARGETS[name],
                        "met": raw is not None and raw <= CALLPATH_TARGETS[name]}
    return {"args": list(args), "expected": _encode(expected), "empty_loop_ns": empty,
            "rows": rows, "ratios": ratios}


# --- PyPy ----------------------------------------------------------------------------

def run_pypy(names: Sequence[str], opts: Options, log: Callable[[str], None],
             script: str | None = None) -> dict[str, Any] | None:
    """pypy3 runs ``script`` (default bench_kernels.py), which times ``names``."""
    exe = shutil.which("pypy3")
    if not opts.pypy or exe is None or not names:
        return None
    log(f"  pypy3 ({exe}): {len(names)} kernels in a subprocess\n")
    request = {"kernels": list(names), "target_s": opts.target_s, "repeat": opts.repeat,
               "warmup_s": opts.pypy_warmup_s}
    try:
        proc = subprocess.run([exe, script or bench_kernels.__file__],
                              input=json.dumps(request),
                              capture_output=True, text=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"executable": exe, "error": f"{type(exc).__name__}: {exc}"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"executable": exe, "error": f"exit {proc.returncode}: {tail}"}
    out: dict[str, Any] = json.loads(proc.stdout)
    out["executable"] = exe
    return out


def pypy_measurement(raw: dict[str, Any] | None, expected: dict[str, str]) -> Measurement:
    if raw is None:
        return Measurement(error="not run")
    if "error" in raw:
        return Measurement(error=raw["error"])
    return Measurement(ns=raw["ns"], min_ns=raw["min_ns"], number=raw["number"],
                       repeat=raw["repeat"], result=raw["result"],
                       spread=max(raw["runs_ns"]) / raw["min_ns"] if raw["min_ns"] else None,
                       match=raw["result"] == expected)


# --- the whole run -------------------------------------------------------------------

