"""Running a random-program test over several processes, and adding up its counts.

A test checks programs numbered ``first`` .. ``first + count - 1`` with a function of
its module (``check(first, count) -> Tally``); :func:`run_sharded` runs this process's
share and SHARDS - 1 child processes' shares (``python -c`` importing the module and
calling that function, the tally returned as JSON in a file), and adds the tallies.
Compiling is most of a program's cost and the shares are independent, so two idle cores
can take up to half the time off; nothing checked changes.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# processes sharing a run (this one and SHARDS - 1 children)
SHARDS = max(1, int(os.environ.get("AUTOTIER_PROGRAM_SHARDS", min(2, os.cpu_count() or 1))))
STRIDE = 10**6  # shard k checks programs from 1 + k * STRIDE


@dataclass
class Tally:
    first: int = 1  # the number of this run's first program
    examples: int = 0
    sources: set[str] = field(default_factory=set)
    calls: int = 0
    native: int = 0
    declined: list[str] = field(default_factory=list)
    sites: int = 0  # deopt sites of the programs compiled
    forced: int = 0  # of them, forced and resumed to CPython's answer
    behind: int = 0  # behind a bailout native code takes first on every input
    unexecuted: int = 0  # at instructions CPython executed on no input tried
    searched: int = 0  # programs that needed inputs beyond the drawn ones
    native_programs: int = 0  # programs that answered at least one call natively

    def add(self, other: Tally) -> None:
        self.sources |= other.sources
        self.declined += other.declined
        for name in ("examples", "calls", "native", "sites", "forced", "behind",
                     "unexecuted", "searched", "native_programs"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_json(self) -> str:
        fields = dict(vars(self))
        fields["sources"] = sorted(self.sources)
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> Tally:
        fields = json.loads(text)
        fields["sources"] = set(fields["sources"])
        return cls(**fields)

    def count(self, coverage: Any) -> None:
        """Add one program's forcing coverage (``harness.Coverage``)."""
        self.sites += len(coverage.sites)
        self.forced += len(coverage.forced)
        self.behind += len(coverage.behind_bailout)
        self.unexecuted += len(coverage.unexecuted)

    def summary(self) -> str:
        return (f"{len(self.sources)} distinct programs ({SHARDS} processes), {self.calls} "
                f"calls, {self.native} answered natively, {len(self.declined)} declined; "
                f"of {self.sites} deopt sites, {self.forced} forced, {self.behind} behind "
                f"a bailout, {self.unexecuted} at instructions CPython executed on no "
                f"input ({self.searched} programs searched past the drawn inputs)")


def shard_main(module: str, function: str, first: str, count: str, out: str) -> None:
    """A child process's share: ``python -c`` calls this; the tally goes to ``out``."""
    check = getattr(importlib.import_module(module), function)
    Path(out).write_text(check(int(first), int(count)).to_json())


def _start(module: str, function: str, first: int, count: int,
           out: Path) -> subprocess.Popen[str]:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    code = "import sys; from tests.programs.shards import shard_main; shard_main(*sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, module, function, str(first), str(count), str(out)],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_sharded(check: Callable[[int, int], Tally], total: int, tmp_path: Path,
                timeout: float) -> Tally:
    """Check ``total`` programs split over SHARDS processes; the tallies added up."""
    share = -(-total // SHARDS)
    # program numbers apart by far more than hypothesis's few extra examples
    children = [(_start(check.__module__, check.__name__, 1 + k * STRIDE, share,
                        tmp_path / f"shard{k}.json"), tmp_path / f"shard{k}.json")
                for k in range(1, SHARDS)]
    try:
        tally = check(1, share)
    except BaseException:
        for child, _ in children:  # this share failed: the report is this one's
            child.kill()
            child.communicate()
        raise
    outputs = [child.communicate(timeout=timeout)[0] for child, _ in children]
    for (child, out), text in zip(children, outputs, strict=True):
        assert child.returncode == 0, f"a shard failed:\n{text[-6000:]}"
        tally.add(Tally.from_json(out.read_text()))
    return tally
