"""``autotier.stats()``: what every hot function is doing, as data and as a table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class FunctionStats:
    name: str
    qualname: str
    state: str  # interpreted, queued, compiling, compiled, blacklisted, failed, invalid
    tier: int
    backend: str | None  # "llvm", "numba" or None
    calls: int
    compile_ms: float
    bailouts: int  # failed speculations: these reach the deopt policy
    signatures: tuple[tuple[str, ...], ...]  # specialised argument types, by name
    int_bits: int  # how native code holds ints: 64, or 128 after an int64 overflow
    reason: str | None  # why it is not compiled (or why it was declined), else None
    # calls native code left because CPython raises there (ZeroDivisionError, a math
    # domain error, OverflowError ...): answers of the function, not failed speculations
    exceptions: int = 0
    # calls native code handed to the interpreter for want of native frames (a recursion
    # deeper than the frame budget): not bailouts, the code stays compiled
    deep_calls: int = 0
    # the most recent bailout: why, and (when native code deoptimised precisely) the
    # source line and bytecode offset of the instruction the interpreter resumed at
    last_bailout: str | None = None
    last_bailout_line: int | None = None
    last_bailout_offset: int | None = None
    # calls the interpreter finished from the failing instruction on (precise deopts)
    resumes: int = 0
    # where the name the decorator bound holds the plain function again ("mod.f",
    # "mod.A.m") since the bead gave up for good: calls of that name are no longer
    # counted; None while the name holds the hot object
    unwrapped: str | None = None
    # qualnames of the functions the installed code calls natively (compiled in with
    # it: decorated or not), then of those it calls through the C API, which the
    # interpreter runs ("name (interpreted)": a closure, a generator, a try ...)
    callees: tuple[str, ...] = ()
    # on-stack replacement (autotier.osr): calls that entered native code at a loop
    # header while interpreted, and the source lines of the loops entered
    osr_entries: int = 0
    osr_lines: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["signatures"] = [list(s) for s in self.signatures]
        d["callees"] = list(self.callees)
        d["osr_lines"] = list(self.osr_lines)
        return d


_COLUMNS = ("qualname", "state", "tier", "backend", "calls", "compile_ms", "bailouts",
            "exceptions", "signatures", "ints", "reason")


class Stats:
    """Every live hot function's :class:`FunctionStats`; ``str()`` is a table."""

    def __init__(self, rows: list[FunctionStats]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[FunctionStats]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, qualname: str) -> FunctionStats:
        for row in self._rows:
            if row.qualname == qualname:
                return row
        raise KeyError(qualname)

    def to_dict(self) -> dict[str, Any]:
        return {"functions": [r.to_dict() for r in self._rows]}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        cells = [list(_COLUMNS)]
        for r in self._rows:
            sigs = " | ".join("(" + ", ".join(s) + ")" for s in r.signatures)
            cells.append([r.qualname, r.state, str(r.tier), r.backend or "-", str(r.calls),
                          f"{r.compile_ms:.1f}", str(r.bailouts), str(r.exceptions), sigs or "-",
                          f"i{r.int_bits}", r.reason or ""])
        widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    __repr__ = __str__
