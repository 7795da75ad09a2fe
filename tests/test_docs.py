"""The README's and docs' examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(path: Path) -> list[str]:
    text = path.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    # API summaries (lines starting with a decorator and no def) are not programs.
    return [b for b in blocks if "import autotier" in b]


CASES = [(p, i, b) for p in DOCS for i, b in enumerate(_blocks(p))]


@pytest.mark.parametrize(("path", "index", "code"), CASES,
                         ids=[f"{p.name}-{i}" for p, i, _ in CASES])
def test_example_runs(path: Path, index: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_readme_has_an_example() -> None:
    assert _blocks(ROOT / "README.md")


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    (command,) = re.findall(r"^\| the tests \| `([^`]+)` \|$", readme, flags=re.M)
    assert "pip install" in command and "python -m pytest" in command
    assert command in ci.splitlines()


def test_package_doctest() -> None:
    proc = subprocess.run([sys.executable, "-m", "doctest", "-v",
                           str(ROOT / "autotier" / "__init__.py")],
                          check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
