"""On an interpreter without sys.monitoring (3.11, where CI runs), run the sys.monitoring
tests and the tool tests (3.12's cProfile is a sys.monitoring tool) under CPython 3.12
in a subprocess, when one with autotier's dependencies is installed.

The interpreter is ``$AUTOTIER_PYTHON312``, else pyenv's 3.12.1; ``.ci/run`` installs
its test dependencies.  Without one this is skipped: a limit of the machine, not a
failing test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ("tests/integration/test_monitoring.py", "tests/integration/test_tools.py")
PYTHON312 = Path(os.environ.get("AUTOTIER_PYTHON312")
                 or Path.home() / ".pyenv" / "versions" / "3.12.1" / "bin" / "python")
NEEDS = "llvmlite, bytecode, numpy, pytest, pytest_timeout, hypothesis, coverage"


def _unusable() -> str | None:
    """Why the 3.12 run cannot happen here, or None."""
    if sys.version_info >= (3, 12):
        return "this interpreter has sys.monitoring: it runs test_monitoring.py itself"
    if not PYTHON312.exists():
        return f"no CPython 3.12 at {PYTHON312} (set AUTOTIER_PYTHON312)"
    probe = subprocess.run([str(PYTHON312), "-c", f"import {NEEDS}"],
                           capture_output=True, text=True, timeout=120, check=False)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"{PYTHON312} lacks a test dependency ({last})"
    return None


def test_monitoring_tests_pass_under_312():
    reason = _unusable()
    if reason is not None:
        pytest.skip(reason)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AUTOTIER_DISABLE", None)
    run = subprocess.run(
        [str(PYTHON312), "-m", "pytest", "-q", "-p", "no:cacheprovider", *FILES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 15, summary  # nothing skipped away
    assert "skipped" not in summary and "deselected" not in summary, summary
