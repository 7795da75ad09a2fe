"""What a generator's frame does to an exception raised in its body (PEP 479), for the
generator expressions the frontend splices into their caller's code
(:mod:`autotier.frontend.genexps`).

A StopIteration raised in a generator's body leaves the generator as a RuntimeError
("generator raised StopIteration") whose cause and context are the StopIteration;
every other exception goes on as it is.  The spliced code carries an exception
handler over each generator's body (only in the code resumes run, which is the only
code with an exception table there), so the interpreter does this where it runs the
body after a deopt; :func:`frame_call_outcome` does it for the one place that handler
cannot see: a resume's prologue, which makes the call the native frame was running
(a callee's raised outcome) before it jumps into the body.
"""

from __future__ import annotations

import dis
import functools
import threading
import weakref
from collections.abc import Callable
from types import CodeType
from typing import Any

_lock = threading.Lock()  # guards _ranges
_ranges: weakref.WeakKeyDictionary[CodeType, tuple[tuple[int, int], ...]] = (
    weakref.WeakKeyDictionary())


def stopped(exc: BaseException) -> BaseException | None:
    """What a generator raises for ``exc`` raised in its body; None where it goes on."""
    if not isinstance(exc, StopIteration):
        return None
    err = RuntimeError("generator raised StopIteration")
    err.__cause__ = exc
    return err


def covers(code: CodeType, offset: int) -> bool:
    """Whether the instruction at ``offset`` is in a generator's body: under an entry
    of ``code``'s exception table (in 3.11 the frontend compiles no code with one of
    its own: only the generators' handlers make them)."""
    with _lock:
        found = _ranges.get(code)
    if found is None:
        entries = dis.Bytecode(code).exception_entries  # type: ignore[attr-defined]
        found = tuple((e.start, e.end) for e in entries)
        with _lock:
            _ranges[code] = found
    return any(start <= offset < end for start, end in found)  # (end: the next instruction)


def _in_body(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except StopIteration as exc:
        err = stopped(exc)
        assert err is not None
        raise err from exc


def frame_call_outcome(code: CodeType, offset: int,
                       callee: Callable[[], Any]) -> Callable[[], Any]:
    """``callee`` (the outcome of the call a frame resumes after) as the call in the
    generator's body at ``offset`` of ``code`` gives it to the body, if it is in one."""
    if not covers(code, offset):
        return callee
    return functools.partial(_in_body, callee)
