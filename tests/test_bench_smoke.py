"""Smoke tests of ``python -m autotier bench``: structure and correctness, never timing.

Machines are shared and noisy: nothing here looks at how fast anything was, only that
every variant ran, was checked against CPython, and agreed with it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autotier import bench, bench_containers, bench_kernels
from autotier.bench import progress

KERNELS = "gcd,float_loop,add"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    import contextlib
    import io

    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        rc = bench.main(["--quick", "--no-pypy", "--kernels", KERNELS, "--json", str(out)])
    QUICK_STDERR.append(err.getvalue())
    return rc, buf.getvalue(), json.loads(out.read_text())


QUICK_STDERR: list[str] = []  # the quick run's progress lines


def test_exit_code_says_autotier_agreed(quick_run):
    rc, _, data = quick_run
    assert rc == 0, data["mismatches"]


def test_table_has_the_columns_and_rows(quick_run):
    _, text, _ = quick_run
    header = next(line for line in text.splitlines() if line.startswith("kernel "))
    for column in ("CPython", "autotier", "numba", "at/CPy", "at/numba", "backend",
                   "state", "check"):
        assert column in header.split()
    rows = {line.split()[0]: line for line in text.splitlines() if line.split()}
    assert "gcd" in rows and "float_loop" in rows
    assert "geometric mean speed-up" in text
    assert "call path: add(3, 4)" in text
    assert "time ratio autotier/python" in text
    assert "time ratio autotier/numba" in text
    assert "all checked results matched CPython" in text
    assert "MISMATCH" not in text


def test_json_structure(quick_run):
    _, _, data = quick_run
    assert set(data) >= {"meta", "kernels", "call_path", "summary", "mismatches"}
    assert data["meta"]["quick"] is True
    assert [k["name"] for k in data["kernels"]] == ["gcd", "float_loop"]
    for k in data["kernels"]:
        assert set(k["variants"]) == {"cpython", "autotier", "numba"}
        for m in k["variants"].values():
            assert m["ns"] is not None and m["ns"] > 0
            assert m["number"] >= 1 and m["repeat"] >= 1
        at = k["variants"]["autotier"]
        assert at["state"] in {"interpreted", "queued", "compiling", "compiled",
                               "blacklisted", "failed", "invalid"}
        if at["state"] == "compiled":
            assert at["backend"] in {"llvm", "numba"}
        else:
            assert at["reason"] or at["error"]  # not compiled: it says why
    cp = data["call_path"]
    assert set(cp["rows"]) >= {"python", "autotier", "autotier_interpreted", "numba"}
    assert set(cp["ratios"]) == {"autotier/python", "autotier/numba", "declined/python"}
    for r in cp["ratios"].values():
        assert set(r) == {"raw", "net_of_loop", "target", "met"}
    assert set(data["summary"]) >= {"autotier_vs_cpython", "numba_vs_cpython"}


def test_every_checked_result_matched(quick_run):
    _, _, data = quick_run
    assert data["mismatches"] == []
    for k in data["kernels"]:
        for name, m in k["variants"].items():
            assert m["match"] is True, (k["name"], name, m["result"], k["expected"])
            assert m["result"] == k["expected"]
    for name, m in data["call_path"]["rows"].items():
        assert m["match"] is True, (name, m)


def test_same_compares_value_and_type():
    assert bench.same(1, 1)
    assert not bench.same(1, 1.0)
    assert not bench.same(1, True)
    assert bench.same(math.nan, math.nan)
    assert not bench.same(0.1 + 0.2, 0.3)
    assert bench.same(bench.Raised(ValueError("a")), bench.Raised(ValueError("b")))
    assert not bench.same(bench.Raised(ValueError("a")), 0)
    assert not bench.same(bench.Raised(ValueError("a")), bench.Raised(TypeError("a")))


def test_variant_recursion_goes_through_the_variant():
    seen = []

    def wrap(f):
        def counting(*args):
            seen.append(args)
            return f(*args)
        return counting

    fib = bench.variant(bench_kernels.BY_NAME["fib"], wrap)
    assert fib(5) == 5
    assert len(seen) == 15  # every recursive call went through the wrapper
    assert bench_kernels.fib.__globals__["fib"] is bench_kernels.fib  # original untouched


def test_cli_subprocess(tmp_path: Path):
    out = tmp_path / "b.json"
    proc = subprocess.run(
        [sys.executable, "-m", "autotier", "bench", "--quick", "--no-pypy",
         "--kernels", "is_prime", "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert [k["name"] for k in data["kernels"]] == ["is_prime"]
    assert data["call_path"] is None
    assert data["kernels"][0]["expected"] == {"type": "bool", "repr": "True"}
    assert all(m["match"] for m in data["kernels"][0]["variants"].values())


def test_unknown_kernel_is_an_error():
    with pytest.raises(SystemExit):
        bench.run(bench.Options(kernels=("no_such_kernel",)))


@pytest.mark.skipif(shutil.which("pypy3") is None, reason="pypy3 not on PATH")
def test_pypy_column():
    results = bench.run(bench.Options(quick=True, kernels=("gcd",)))
    m = results["kernels"][0].variants["pypy"]
    assert m.error is None, m.error
    assert m.match is True and m.ns
    assert "PyPy" in bench.render(results)


def test_progress_says_state_and_backend_apart_with_an_estimate(quick_run):
    (err,) = QUICK_STDERR
    lines = err.splitlines()
    assert lines[0].startswith("autotier bench: 2 kernels and the call path; the "
                               "measurements alone take about "), lines[0]
    progress = [line for line in lines if line.startswith("  [")]
    assert len(progress) == 3, err
    for n, (line, name) in enumerate(zip(progress, ("gcd", "float_loop", "call path add"))):
        assert line.startswith(f"  [{n + 1}/3] {name}"), line
        assert re.search(r"autotier \w+ \(backend (llvm|numba|none)\); ", line), line
        assert "timing... done in " in line, line
    assert "about" in progress[0] and "left" in progress[0]
    assert "left" not in progress[-1]  # nothing is left after the last one
    assert "numba compiled" in progress[0]
    assert "autotier compiled numba" not in err  # the old, ambiguous wording


def test_progress_estimate_from_the_mean_so_far():
    out = []
    ticks = iter([0.0, 2.0, 2.0, 6.0, 6.0, 7.0])
    p = progress.Progress(3, out.append, clock=lambda: next(ticks))
    for name in "abc":
        p.start(name)
        out.append("work; ")
        p.finish()
    assert "".join(out).splitlines() == [
        "  [1/3] a: work; done in 2.0 s, about 4.0 s left",
        "  [2/3] b: work; done in 4.0 s, about 3.0 s left",
        "  [3/3] c: work; done in 1.0 s",
    ]
    opts = bench.Options(quick=True)
    assert progress.timing_estimate_s(opts, 2, True) == pytest.approx(
        (2 * 3 + 4) * opts.repeat * opts.target_s)


def test_numbas_wrong_answer_is_labelled_as_numbas_with_no_ratio():
    results = bench.run(bench.Options(quick=True, kernels=("sum_cubes",), pypy=False))
    k = results["kernels"][0]
    assert k.variants["numba"].match is False  # numba's int64 wraps
    assert k.variants["autotier"].match is True
    assert results["mismatches"] == [] and not bench.autotier_mismatch(results)
    assert results["wrong_answers"] == [
        "numba's answer to sum_cubes(100000,) is wrong: "
        f"{k.variants['numba'].result['repr']} (int), CPython gave 24999500002500000000 (int)"]
    assert k.speedup("autotier", "numba") is None
    text = bench.render(results)
    row = next(line for line in text.splitlines() if line.startswith("sum_cubes "))
    assert "wrong answer" in row and "numba wrong" in row and "0.00x" not in row, row
    assert "MISMATCH" not in text and "!!!" not in text
    assert "numba's answer to sum_cubes(100000,) is wrong" in text
    assert "all of autotier's checked results matched CPython" in text


def test_a_deoptimising_call_is_timed_against_cpython_and_numba():
    """late_overflow_bl: BlacklistPolicy (no i128 recompile), so each autotier
    measurement is one call of freshly compiled code that overflows at its last
    addition and deoptimises precisely (the bead counts one resume per call); CPython
    and numba are timed in the same run; the row stays out of the geometric means."""
    results = bench.run(bench.Options(quick=True, kernels=("late_overflow_bl",), pypy=False))
    (k,) = results["kernels"]
    at = k.variants["autotier"]
    assert at.error is None, at.error
    assert at.match is True and at.result == k.expected
    assert k.expected == {"type": "int", "repr": str(bench_kernels.late_overflow(
        *bench_kernels.BY_NAME["late_overflow_bl"].args))}
    assert at.state == "compiled" and at.backend == "llvm"
    assert at.number == 1 and at.repeat == bench.Options(quick=True).repeat and at.ns
    assert at.bailouts == 1 and "deoptimises precisely" in (at.reason or "")
    assert "blacklisted" in (at.reason or "")
    assert k.variants["cpython"].ns and k.variants["numba"].ns
    assert k.variants["numba"].match is False  # numba's int64 wraps
    assert results["mismatches"] == []
    assert all("late_overflow_bl" not in s["kernels"] for s in results["summary"].values())
    text = bench.render(results)
    assert any(line.startswith("late_overflow_bl ") for line in text.splitlines())


def test_an_autotier_mismatch_is_still_loud():
    def m(ns, match, result):
        return bench.Measurement(ns=ns, number=1, repeat=1, spread=1.0, match=match,
                                 result={"type": "int", "repr": result}, state="compiled",
                                 backend="llvm")

    k = bench.KernelResult("k", "about", [1], {"type": "int", "repr": "2"})
    k.variants = {"cpython": m(100.0, True, "2"), "autotier": m(10.0, False, "3"),
                  "numba": m(20.0, True, "2")}
    results = {"meta": {"python": "3.11", "machine": "x", "cpus": 2, "autotier": "0",
                        "backend": "auto", "threshold": 10, "numba": "0", "llvmlite": "0",
                        "pypy": None, "repeat": 1, "target_ms": 1.0, "quick": True},
               "kernels": [k], "call_path": None, "summary": bench.summarise([k]),
               "mismatches": bench.mismatches([k], None),
               "wrong_answers": bench.wrong_answers([k], None)}
    text = bench.render(results)
    assert "!!! 1 AUTOTIER RESULT MISMATCH(ES) against CPython (a bug):" in text
    assert "MISMATCH: autotier" in text and bench.autotier_mismatch(results)
    assert results["wrong_answers"] == []


CONTAINER_KERNELS = ("dot_list", "dot_array", "stencil", "sieve", "histogram", "matmul")


@pytest.fixture(scope="module")
def container_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict]:
    out = tmp_path_factory.mktemp("bench") / "containers.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        rc = bench.main(["--quick", "--no-pypy", "--kernels", ",".join(CONTAINER_KERNELS),
                         "--json", str(out)])
    return rc, buf.getvalue(), json.loads(out.read_text())


def test_container_kernels_run_against_cpython_and_numba(container_run):
    rc, text, data = container_run
    assert rc == 0 and data["mismatches"] == [], data["mismatches"]
    assert [k["name"] for k in data["kernels"]] == list(CONTAINER_KERNELS)
    for k in data["kernels"]:
        assert set(k["variants"]) == {"cpython", "autotier", "numba"}
        at = k["variants"]["autotier"]
        assert at["match"] is True and at["result"] == k["expected"], (k["name"], at)
        assert at["state"] == "compiled" or at["reason"] or at["error"]
        assert k["variants"]["cpython"]["ns"] > 0 and at["ns"] > 0
    rows = {line.split()[0]: line for line in text.splitlines() if line.split()}
    for name in CONTAINER_KERNELS:
        assert name in rows and "MISMATCH" not in rows[name]
    by_name = {k["name"]: k for k in data["kernels"]}
    # the check column: numba answers the array dot product with a float, CPython with
    # a numpy.float64
    dot = by_name["dot_array"]
    assert dot["expected"]["type"] == "float64"
    assert dot["variants"]["numba"]["match"] is False
    assert dot["variants"]["numba"]["result"]["type"] == "float"
    assert "numba wrong" in rows["dot_array"]
    assert by_name["stencil"]["expected"]["type"] == "ndarray[float64, (64, 64)]"
    assert by_name["histogram"]["expected"]["type"] == "ndarray[int64, (64,)]"
    assert by_name["sieve"]["expected"]["type"] == "list[bool] of 100001"
    assert by_name["dot_list"]["args"][0] == "list[float] of 10000"


def test_container_results_compare_exactly():
    same = bench.same
    assert same([True, False], [True, False])
    assert not same([True, False], [1, 0])  # equal, but not CPython's element types
    assert not same(1.5, bench_containers.np.float64(1.5))
    assert not same(bench_containers.np.float64(1.5), 1.5)
    assert not same(bench_containers.np.zeros(2), bench_containers.np.zeros(2, "float32"))
    assert not same(bench_containers.np.zeros(2), bench_containers.np.zeros((2, 1)))
    assert not same(bench_containers.np.array([0.0]), bench_containers.np.array([-0.0]))
    assert same(bench_containers.np.array([math.nan]), bench_containers.np.array([math.nan]))
    assert not same((1, 2.0), (1, 2))
    a = bench_containers.np.arange(3.0)
    assert bench_containers.encode(a) == bench_containers.encode(a.copy())
    assert bench_containers.encode(a) != bench_containers.encode(a + 1)
    assert bench_containers.encode([1, 2]) != bench_containers.encode([1, 2.0])
