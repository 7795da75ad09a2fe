"""The README and docs render as meant and their examples run as written.

The files are parsed as CommonMark (markdown-it-py), as a renderer reads them: every
code fence must be closed by a fence of its own (a closing fence followed by text on
the same line is no closing fence, and everything after it would render as code), and
every ``python`` block runs, unless its info string says ``python no-run`` (an API
summary, not a program).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NO_RUN = "no-run"


def _fences(text: str) -> list[Token]:
    return [t for t in MarkdownIt("commonmark").parse(text) if t.type == "fence"]


def unclosed_fences(text: str) -> list[int]:
    """The 1-based lines of fences that no closing fence ends (CommonMark: the block
    then runs to the end of the document)."""
    lines = text.splitlines()
    bad = []
    for fence in _fences(text):
        assert fence.map is not None
        start, end = fence.map
        closing = lines[end - 1] if end - 1 > start else ""
        match = re.fullmatch(r" {0,3}(`{3,}|~{3,})[ \t]*", closing)
        if (match is None or match.group(1)[0] != fence.markup[0]
                or len(match.group(1)) < len(fence.markup)):
            bad.append(start + 1)
    return bad


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(line, code, runs) of every ``python`` fence."""
    out = []
    for fence in _fences(text):
        words = fence.info.split()
        if words and words[0] == "python":
            assert fence.map is not None
            out.append((fence.map[0] + 1, fence.content, NO_RUN not in words[1:]))
    return out


CASES = [(p, line, code) for p in DOCS for line, code, runs in python_blocks(p.read_text())
         if runs]


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_every_fence_is_closed(path: Path) -> None:
    assert unclosed_fences(path.read_text()) == [], f"{path.name}: unclosed fences"


def test_an_unclosed_fence_is_found() -> None:
    glued = "text\n\n```python\nx = 1\n``` more text\n\n## Heading\n"
    assert unclosed_fences(glued) == [3]
    assert unclosed_fences("```\na\n```\n\n~~~~\nb\n~~~\n") == [5]  # shorter close
    assert unclosed_fences("```python\nx = 1\n```\n\n````\n```\n````\n") == []


@pytest.mark.parametrize(("path", "line", "code"), CASES,
                         ids=[f"{p.name}:{line}" for p, line, _ in CASES])
def test_example_runs(path: Path, line: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_python_blocks_run_unless_marked() -> None:
    readme = python_blocks((ROOT / "README.md").read_text())
    assert sum(runs for _, _, runs in readme) >= 3  # the README's examples are run
    for path in DOCS:
        for line, code, runs in python_blocks(path.read_text()):
            if not runs:  # a summary: it says so, and it is no program
                assert "def " not in code, f"{path.name}:{line} defines a function"


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
