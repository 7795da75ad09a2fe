"""Precise deoptimisation (issue 9): a failed guard resumes the interpreter at the
failing instruction, with the frame as native code had it, through the full runtime.

What ran natively must not run again: each test watches the resumed frame with a real
``sys.settrace`` installed at the moment of the deopt (the bead's bookkeeping builds
the resume call with ``resume.finish``, which the tests wrap), so the line events are
exactly what the interpreter executed after native code stopped.
"""

from __future__ import annotations

import dis
import math
import operator
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, FunctionType
from typing import Any

import pytest

import autotier
from autotier.deopt import resume, sites
from tests.runtime.helpers import bead_of, make_hot, promote


@contextmanager
def traced_resumes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Record the line events of every resumed frame, and the frames deoptimised."""
    seen: dict[str, Any] = {"lines": [], "frames": []}
    real = resume.finish

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        if (frame.f_code.co_filename not in (__file__, "<chain>")
                or frame.f_code.co_name in ("traced_resumes", "finish", "tracer")):
            return None  # autotier's own bookkeeping, the standard library, this helper
        if event == "line":
            seen["lines"].append((frame.f_code.co_name, frame.f_lineno))
        return tracer

    def finish(frames: list[Any]) -> Any:
        seen["frames"].append(frames)
        sys.settrace(tracer)  # the resume functions are the next frames to start
        return real(frames)

    monkeypatch.setattr(resume, "finish", finish)
    try:
        yield seen
    finally:
        sys.settrace(None)


def line_of(func: FunctionType, text: str) -> int:
    import inspect

    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if text in line)


def offset_of(func: FunctionType, line: int, opname: str) -> int:
    return next(i.offset for i in dis.get_instructions(func)
                if i.opname == opname and i.positions and i.positions.lineno == line)


# ---------------------------------------------------------------- a late overflow

def late_overflow(start, n):
    s = start
    for i in range(n):
        s += i
    return s


def _late_start(n: int, remaining: int) -> int:
    """A start from which ``late_overflow(start, n)`` leaves int64 at the addition of
    ``i = n - remaining``: ``remaining`` iterations are left for the interpreter."""
    return 2**63 - 1 - sum(range(n - remaining))


def _resumed_late_overflow(monkeypatch: pytest.MonkeyPatch, n: int, remaining: int
                           ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Call a compiled late_overflow that overflows with ``remaining`` iterations left;
    return the trace and what the deopt handed over (the frame's locals, the items
    left in its range iterator), read before the interpreter consumed them."""
    hf = make_hot(late_overflow, deopt=autotier.BlacklistPolicy())
    promote(hf, 0, 10)
    assert autotier.stats(hf).state == "compiled"
    start = _late_start(n, remaining)
    handed: dict[str, Any] = {}

    def counting(traced: Any) -> Any:
        def finish(frames: list[Any]) -> Any:
            (frame,) = frames
            names = frame.site.varnames
            handed["locals"] = dict(zip(names, frame.values[:len(names)], strict=True))
            iterators = [v for v in frame.values[len(names):]
                         if type(v).__name__ == "range_iterator"]
            handed["left"] = [operator.length_hint(it) for it in iterators]
            return traced(frames)  # which starts the trace
        return finish

    with traced_resumes(monkeypatch) as seen:
        monkeypatch.setattr(resume, "finish", counting(resume.finish))
        result = hf(start, n)
    assert result == late_overflow(start, n) and result > 2**63 - 1
    assert type(result) is int
    row = autotier.stats(hf)
    assert row.resumes == 1 and row.bailouts == 1 and row.last_bailout == "overflow"
    return hf, seen, handed


def test_an_overflow_at_the_last_iteration_costs_one_interpreted_iteration(monkeypatch):
    """Counted through the resume, not timed: of 10**6 iterations, native code ran
    999,999 and the interpreter one (the trace of the resumed frame, and the frame
    state handed over: ``i`` at the last value, no item left in the iterator)."""
    n = 10**6
    hf, seen, handed = _resumed_late_overflow(monkeypatch, n, remaining=1)
    add = line_of(late_overflow, "s += i")
    loop = line_of(late_overflow, "for i in range(n)")
    ret = line_of(late_overflow, "return s")
    # the interpreter started at the failing line, ran that one addition, found the
    # iterator exhausted and returned: nothing before the failure ran again
    assert seen["lines"] == [("late_overflow", add), ("late_overflow", loop),
                             ("late_overflow", ret)], seen["lines"]
    assert handed["locals"]["i"] == n - 1
    assert handed["locals"]["s"] == 2**63 - 1  # what 999,999 native additions made
    assert handed["left"] == [0]
    row = autotier.stats(hf)
    assert row.last_bailout_line == add
    assert row.last_bailout_offset == offset_of(late_overflow, add, "BINARY_OP")


@pytest.mark.parametrize("remaining", [2, 100])
def test_an_overflow_part_way_costs_only_the_remaining_iterations(monkeypatch, remaining):
    """The interpreter runs exactly the iterations left after the failing one's
    start (``remaining`` additions), not the 10**6 of the call."""
    n = 10**6
    _, seen, handed = _resumed_late_overflow(monkeypatch, n, remaining)
    add = line_of(late_overflow, "s += i")
    assert seen["lines"][0] == ("late_overflow", add)
    assert seen["lines"].count(("late_overflow", add)) == remaining
    assert ("late_overflow", line_of(late_overflow, "s = start")) not in seen["lines"]
    assert handed["locals"]["i"] == n - remaining
    assert handed["left"] == [remaining - 1]


# ---------------------------------------------------------------- exceptions

def divides(n, k):
    total = 0
    for i in range(n):
        total += 10 // (i - k)
    return total


def test_an_exception_is_raised_by_the_interpreter_at_the_failing_line(monkeypatch):
    hf = make_hot(divides)
    promote(hf, 5, 100)
    assert autotier.stats(hf).state == "compiled"
    with traced_resumes(monkeypatch) as seen, pytest.raises(ZeroDivisionError) as info:
        hf(50, 40)
    with pytest.raises(ZeroDivisionError) as plain:
        divides(50, 40)
    assert str(info.value) == str(plain.value) == "integer division or modulo by zero"
    line = line_of(divides, "10 //")
    frames = [f for f in traceback.extract_tb(info.tb) if f.name == "divides"]
    assert len(frames) == 1 and frames[0].lineno == line
    assert frames[0].filename == divides.__code__.co_filename
    tb = info.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    # the frame that raised holds what the native loop had computed
    assert tb.tb_frame.f_locals["i"] == 40
    assert tb.tb_frame.f_locals["total"] == sum(10 // (i - 40) for i in range(40))
    assert seen["lines"] == [("divides", line)]  # nothing before it ran again
    row = autotier.stats(hf)
    assert row.exceptions == 1 and row.bailouts == 0 and row.state == "compiled"


def maybe_bound(c, n):
    for i in range(n):
        if c:
            x = i
    return x  # noqa: F821 (unbound when the loop ran no iteration or c is false)


def test_an_unbound_local_stays_unbound():
    hf = make_hot(maybe_bound)
    promote(hf, True, 5)
    for args in ((False, 3), (True, 0), (True, 4)):
        try:
            expected: Any = ("value", maybe_bound(*args))
        except UnboundLocalError as exc:
            expected = ("raise", str(exc))
        try:
            got: Any = ("value", hf(*args))
        except UnboundLocalError as exc:
            got = ("raise", str(exc))
        assert got == expected
    assert autotier.stats(hf).state == "compiled"


# ---------------------------------------------------------------- native call chains

def _chain(depth: int) -> list[Any]:
    """f0 .. f{depth-1}: each returns the next one's result plus one; the last cubes."""
    ns: dict[str, Any] = {}
    source = "\n".join(
        [f"def f{k}(n):\n    return f{k + 1}(n) + 1\n" for k in range(depth - 1)]
        + [f"def f{depth - 1}(n):\n    return n * n * n\n"])
    exec(compile(source, "<chain>", "exec"), ns)
    hots = []
    for k in reversed(range(depth)):  # callees first, so callers call hot objects
        ns[f"f{k}"] = make_hot(ns[f"f{k}"], threshold=10**9)
        hots.append(ns[f"f{k}"])
    return hots[::-1]


def test_a_failure_twenty_native_frames_deep_deoptimises_the_callers_one_by_one(monkeypatch):
    """The innermost frame's result leaves int64: each caller, handed a big int it
    cannot hold, deoptimises in turn at its call, with that result on its stack."""
    chain = _chain(20)
    root = make_hot(chain[0]._func, deopt=autotier.BlacklistPolicy())
    chain[0]._func.__globals__["root"] = root
    promote(root, 3)
    assert autotier.stats(root).state == "compiled"
    assert root(3) == 27 + 19
    big = 3_000_000  # n**3 leaves int64 in the innermost frame
    with traced_resumes(monkeypatch) as seen:
        result = root(big)
    assert result == big**3 + 19
    assert len(seen["frames"]) == 20  # one deopt per frame, innermost first
    (first,) = seen["frames"][0]
    assert first.site.func.__name__ == "f19"
    for k, frames in zip(reversed(range(19)), seen["frames"][1:], strict=True):
        outcome, frame = frames  # the callee's result, then the frame it returns to
        assert isinstance(outcome, sites.Outcome) and not outcome.raised
        assert outcome.value == big**3 + 18 - k
        assert frame.site.func.__name__ == f"f{k}"
    # each frame resumed at (or after) its failing instruction: one line event each
    assert len(seen["lines"]) == 20
    assert autotier.stats(root).bailouts == 1  # one failed speculation, told once


def test_callers_go_on_natively_when_the_callee_answers_a_kind_they_hold(monkeypatch):
    """The innermost frame overflows in a product it then divides back into int64:
    only that frame finishes in the interpreter; its callers go on natively."""
    ns: dict[str, Any] = {}
    source = "\n".join(
        [f"def f{k}(n):\n    return f{k + 1}(n) + 1\n" for k in range(19)]
        + ["def f19(n):\n    return n * n // n\n",
           "def loop(n, m):\n    s = 0\n    for i in range(m):\n        s += f0(n + i)\n"
           "    return s\n"])
    exec(compile(source, "<chain>", "exec"), ns)
    for k in reversed(range(20)):
        ns[f"f{k}"] = make_hot(ns[f"f{k}"], threshold=10**9)
    plain_loop = ns["loop"]
    hf = make_hot(plain_loop, deopt=autotier.BlacklistPolicy())
    promote(hf, 3, 2)
    assert autotier.stats(hf).state == "compiled"
    big = 2**40  # n * n leaves int64, n * n // n does not
    expected = plain_loop(big, 7)
    with traced_resumes(monkeypatch) as seen:
        assert hf(big, 7) == expected
    # seven deopts of f19 alone, one per iteration: the loop and f0..f18 never left
    assert len(seen["frames"]) == 7
    assert all(len(frames) == 1 and frames[0].site.func.__name__ == "f19"
               for frames in seen["frames"])
    assert autotier.stats(hf).resumes == 7


def _chain_source(depth: int, last: str) -> str:
    return "\n".join([f"def f{k}(n):\n    return f{k + 1}(n) + 1\n" for k in range(depth - 1)]
                     + [f"def f{depth - 1}(n):\n    return {last}\n"])


def _deepest_outer(target: Any, n: int) -> int:
    """The most plain Python frames ``target(n)`` may be called under without a
    RecursionError (the recursion limit lowered, so the search is short)."""

    def under(k: int) -> bool:
        if k:
            return under(k - 1)
        try:
            target(n)
        except RecursionError:
            return False
        return True

    lo, hi = 0, sys.getrecursionlimit()
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            fits = under(mid)
        except RecursionError:
            fits = False
        if fits:
            lo = mid
        else:
            hi = mid - 1
    return lo


@pytest.mark.parametrize("last", ["n * n // n", "n * n * n"])
def test_finished_callees_stand_as_deep_as_interpreted_frames(last):
    """A callee finished in the interpreter from inside native callers runs exactly as
    deep as the undecorated call would: the deepest caller depth that does not raise
    RecursionError is the undecorated function's."""
    source = _chain_source(6, last)
    plain: dict[str, Any] = {}
    exec(compile(source, "<chain>", "exec"), plain)
    hot: dict[str, Any] = {}
    exec(compile(source, "<chain>", "exec"), hot)
    for k in reversed(range(1, 6)):
        hot[f"f{k}"] = make_hot(hot[f"f{k}"], threshold=10**9)
    root = make_hot(hot["f0"], deopt=autotier.AlwaysRecompilePolicy())
    promote(root, 3)
    assert autotier.stats(root).state == "compiled"
    big = 2**40 if last == "n * n // n" else 3_000_000  # the innermost product leaves int64
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(150)
    try:
        expected = _deepest_outer(plain["f0"], big)
        got = _deepest_outer(root, big)
    finally:
        sys.setrecursionlimit(old)
    assert got == expected
    assert autotier.stats(root).resumes > 0  # the innermost frame did deoptimise


def raises_late(x):
    return 10 // x


def sums_quotients(n, x):
    s = 0
    for i in range(n):
        s += raises_late(x - i)
    return s


def test_an_exception_in_a_finished_callee_is_raised_at_its_callers_call():
    hot_callee = make_hot(raises_late, threshold=10**9)
    sums_quotients.__globals__["raises_late"] = hot_callee
    try:
        hf = make_hot(sums_quotients)
        promote(hf, 2, 5)
        assert autotier.stats(hf).state == "compiled"
        with pytest.raises(ZeroDivisionError) as info:
            hf(5, 3)
        entries = traceback.extract_tb(info.value.__traceback__)
        assert [(e.name, e.line) for e in entries[-2:]] == [
            ("sums_quotients", "s += raises_late(x - i)"), ("raises_late", "return 10 // x")]
        sums_quotients.__globals__["raises_late"] = raises_late
        with pytest.raises(ZeroDivisionError) as plain:
            sums_quotients(5, 3)
        # the same lines, the same columns marked (^^^^ under the call), as undecorated
        assert (traceback.format_tb(info.value.__traceback__)[-2:]
                == traceback.format_tb(plain.value.__traceback__)[-2:])
        assert autotier.stats(hf).exceptions == 1
        assert autotier.stats(hf).state == "compiled"
    finally:
        sums_quotients.__globals__["raises_late"] = raises_late


def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


def test_recursion_that_overflows_answers_exactly():
    """Recursive programs unwind (longjmp) and leave no frames: the call is re-run in
    the interpreter (exact: such bodies have no effects; docs/architecture.md)."""
    hf = make_hot(fact, deopt=autotier.BlacklistPolicy())
    fact.__globals__["fact"] = hf
    try:
        promote(hf, 5)
        assert hf(20) == math.factorial(20)
        assert hf(25) == math.factorial(25)
        assert autotier.stats(hf).resumes == 0
    finally:
        fact.__globals__["fact"] = fact


def test_the_stats_row_says_where_the_last_bailout_was():
    hf = make_hot(late_overflow)
    promote(hf, 0, 10)
    row = autotier.stats(hf)
    assert row.last_bailout is None and row.last_bailout_line is None
    hf(2**63 - 5, 10)
    row = autotier.stats(hf)
    assert row.last_bailout == "overflow"
    assert row.last_bailout_line == line_of(late_overflow, "s += i")
    assert bead_of(hf).last_bailout_site is not None
