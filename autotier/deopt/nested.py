"""Resuming a frame inside a list comprehension as the frames CPython 3.11 ran.

The frontend compiles 3.11's comprehensions spliced into the function's code (their
body in the function's frame: ``autotier/frontend/comprehensions.py``), so a site
inside one has one frame of values: the function's locals, the comprehension's own
(hidden locals), and one value stack with the function's entries below the
comprehension's list and iterator.  Its :attr:`Site.nest <.sites.Site.nest>` says how
that frame splits into the frames CPython would have had (:class:`.sites.Level`),
and :func:`nested_call` makes the call that finishes them:

- the innermost comprehension resumes in its own ``<listcomp>`` code at the failing
  instruction, with its locals, its part of the stack (the partly built list, the
  iterator, ...), and cells holding the values of the outer locals it reads (its
  closure: nothing writes them while it runs, since a comprehension that stores one,
  a walrus, is not split);
- each enclosing level (a comprehension, then the function itself, in its own code
  with its real cells: a cell variable passed as a parameter is made a cell by the
  code's MAKE_CELL) resumes *after* its call of the next one in, which the prologue
  makes (the next level's finished frame), so the list comes back as the call's
  result and the frames nest as CPython's did: a traceback shows the function's
  frame at the comprehension's line, then ``<listcomp>``'s.

Codes with cells cannot be patched (:mod:`.patching`): these resume codes are
assembled with the ``bytecode`` package (:func:`.resume.build_resume_code`) and kept
per site and layout; :func:`prepare` builds a site's likely layout after its compile
(from :func:`.resume.prepare`, on the broker), any other on its first deopt.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from types import CellType, FunctionType
from typing import Any

from autotier.deopt import resume
from autotier.deopt.sites import (
    UNBOUND,
    CallEntry,
    Frame,
    NullEntry,
    Site,
    StackEntry,
    TupleEntry,
)

_lock = threading.Lock()  # guards _codes
_codes: weakref.WeakKeyDictionary[Site, dict[tuple[object, ...], Any]] = (
    weakref.WeakKeyDictionary())


def _carries(entry: StackEntry) -> bool:
    """Whether a stack entry takes one of :func:`resume._stack_values`' values."""
    return not isinstance(entry, NullEntry | TupleEntry | CallEntry)


def _code(site: Site, level: int, names: tuple[str, ...], stack: tuple[StackEntry, ...],
          after_call: bool) -> Any:
    key = (level, names, stack, after_call)
    with _lock:
        found = _codes.get(site, {}).get(key)
    if found is None:
        lv = site.nest[level]
        found = resume.build_resume_code(lv.code, lv.index, names, stack, line=site.line,
                                         after_call=after_call)
        with _lock:
            _codes.setdefault(site, {})[key] = found
    return found


def prepare(site: Site) -> int:
    """Build ahead the resume codes of ``site``'s levels for its likely layout (every
    local bound that the compile did not know unbound, resuming at its own instruction,
    as :func:`.resume.prepare` does for the others); the code bytes copied."""
    bound = resume.likely_bound(site)
    stack = site.stack
    bounds = [lv.entries for lv in site.nest[1:]] + [len(stack)]
    spent = 0
    for level, lv in enumerate(site.nest):
        innermost = level == len(site.nest) - 1
        names = tuple(name for name, slot in lv.names if slot is not None and bound[slot])
        own_stack = stack[lv.entries:bounds[level]]
        if innermost and lv.dot0:
            names, own_stack = (*names, ".0"), own_stack[1:]
        _code(site, level, names, own_stack, not innermost)
        spent += len(lv.code.co_code)
    return spent


def nested_call(frame: Frame, callee: Callable[[], Any] | None) -> functools.partial[Any]:
    """The call of no arguments that finishes ``frame`` (a site with a nest) as the
    frames of its levels; ``callee``: the finished frame of the native callee the
    innermost level's call was running (it resumes after that call)."""
    site = frame.site
    nlocals = len(site.varnames)
    local_values = frame.values[:nlocals]
    stack = site.stack
    values = resume._stack_values(site, frame.values[nlocals:])
    if callee is not None:  # the NULL, callee and arguments the call consumed
        consumed = stack[len(stack) - site.call:]
        stack = stack[:len(stack) - site.call]
        values = values[:len(values) - sum(map(_carries, consumed))]
    bounds = [lv.entries for lv in site.nest[1:]] + [len(stack)]
    call: functools.partial[Any] | None = callee  # type: ignore[assignment]
    func = site.func
    for level in range(len(site.nest) - 1, -1, -1):
        lv = site.nest[level]
        innermost = level == len(site.nest) - 1
        lo, hi = lv.entries, bounds[level]
        below = sum(map(_carries, stack[:lo]))
        own_values = values[below:below + sum(map(_carries, stack[lo:hi]))]
        own_stack = stack[lo:hi]
        given: dict[str, object] = {}
        for name, slot in lv.names:
            if slot is not None and local_values[slot] is not UNBOUND:
                given[name] = local_values[slot]
        if innermost and lv.dot0:  # the iterator, not yet loaded from .0
            given[".0"] = own_values[0]
            own_stack, own_values = own_stack[1:], own_values[1:]
        after = call is not None
        code = _code(site, level, tuple(given), own_stack, after)
        closure = tuple(CellType() if slot is None or local_values[slot] is UNBOUND
                        else CellType(local_values[slot]) for slot in lv.free)
        name = func.__name__ if level == 0 else lv.name
        made = FunctionType(code, func.__globals__, name, None,
                            closure if level else func.__closure__)
        args = [*given.values(), *own_values]
        if call is not None:
            args.append(call)
        call = functools.partial(made, *args)
    assert call is not None
    return call
