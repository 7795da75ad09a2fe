"""The object kernels of ``python -m autotier bench`` (issue 11): their answers, their
registration, the script PyPy runs, and a quick run's checks; never their speed."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotier import bench, bench_objects
from autotier.bench import cli

NAMES = [k.name for k in bench_objects.KERNELS]


def test_the_kernels_give_the_published_answers():
    assert round(bench_objects.nbody(1_000), 9) == bench_objects.REFERENCE["nbody_energy_1000"]
    assert bench_objects.mandelperf(1) == bench_objects.REFERENCE["mandelperf_sum"]
    assert bench_objects.mandelperf(2) == 2 * bench_objects.REFERENCE["mandelperf_sum"]
    system = bench_objects.solar_system()
    bench_objects.offset_momentum(system)
    assert round(bench_objects.energy(system), 9) == -0.169075164  # before any step


def test_the_kernels_are_deterministic_numbers():
    for k in bench_objects.KERNELS:
        first, second = k.func(*k.args), k.func(*k.args)
        assert type(first) in (int, float), k.name
        assert repr(first) == repr(second), k.name


def test_they_are_registered_with_the_bench():
    for name in NAMES:
        assert cli.KNOWN[name] is bench_objects.BY_NAME[name]
    assert [k.name for k in cli.KERNELS][-len(NAMES):] == NAMES


def test_the_script_pypy_runs_answers_as_imported(tmp_path: Path):
    """bench_objects.py run as a script (as pypy3 runs it: beside bench_kernels.py, no
    autotier package) times the kernels it is asked for and gives their answers."""
    request = {"kernels": NAMES, "target_s": 0.001, "repeat": 1, "warmup_s": 0.001}
    proc = subprocess.run([sys.executable, "-E", "-s", bench_objects.__file__],
                          input=json.dumps(request), capture_output=True, text=True,
                          timeout=600, check=True, cwd=tmp_path)
    out = json.loads(proc.stdout)
    assert set(out["kernels"]) == set(NAMES)
    for k in bench_objects.KERNELS:
        raw = out["kernels"][k.name]
        assert raw["result"] == {"type": type(k.func(*k.args)).__name__,
                                 "repr": repr(k.func(*k.args))}
        assert raw["ns"] > 0


def test_two_pypy_runs_merge_into_one():
    a = {"executable": "pypy3", "version": "7.3", "kernels": {"fib": {"ns": 1.0}}}
    b = {"executable": "pypy3", "error": "exit 1: boom"}
    merged = cli._merge_pypy(a, ["fib"], b, ["nbody_objects"])
    assert merged is not None
    assert merged["kernels"] == {"fib": {"ns": 1.0}, "nbody_objects": {"error": "exit 1: boom"}}
    assert merged["version"] == "7.3" and "error" not in merged
    both_failed = cli._merge_pypy(b, ["fib"], b, ["nbody_objects"])
    assert both_failed is not None and both_failed["error"] == "exit 1: boom"
    assert cli._merge_pypy(None, [], b, ["x"]) is b
    assert cli._merge_pypy(a, ["fib"], None, []) is a


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        rc = bench.main(["--quick", "--no-pypy", "--kernels", ",".join(NAMES),
                         "--json", str(out)])
    return rc, json.loads(out.read_text())


def test_a_quick_run_checks_every_variant(quick_run):
    rc, data = quick_run
    assert rc == 0, data["mismatches"]
    assert [k["name"] for k in data["kernels"]] == NAMES
    for k in data["kernels"]:
        at, nb = k["variants"]["autotier"], k["variants"]["numba"]
        assert at["match"] is True, (k["name"], at)
        assert at["state"] == "compiled" or at["reason"] or at["error"]
        # numba is given the kernel as written: it answers exactly, or says why not
        assert nb["match"] is True or (nb["match"] is None and nb["error"]), (k["name"], nb)
