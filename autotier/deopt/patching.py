"""Resume code made from the function's own ``co_code``, a prologue spliced in.

:func:`autotier.deopt.resume.build_resume_code` says what a resume function does;
this module makes its code object without assembling bytecode (the ``bytecode``
package took 0.2 ms a build warm, 0.3-0.5 ms on a first deopt; this 15 us warm), by
patching the raw code object with ``CodeType.replace``:

- its parameters are *all* of the function's locals (``co_varnames``, in order, so no
  instruction's local changes), then one per pushed stack entry (``.stack<i>``), then
  ``.callee`` when resuming after a call; a local the frame had not bound is passed a
  placeholder that a ``DELETE_FAST`` before ``RESUME`` unbinds, so a tracer's 'call'
  event already sees the frame's locals as the native code left them;
- after ``RESUME`` (where tracing starts: the 'call' event, then a 'line' event at the
  prologue's first instruction, which carries the failing line) the prologue pushes
  the stack entries, calls the finished callee (when resuming after a call: at that
  call's position, so a traceback's caret is the original call's) and jumps forward
  to the failing instruction (its EXTENDED_ARG, if any);
- the original instructions move, unchanged: 3.11's and 3.12's jumps are relative
  and none crosses the prologue; the exception table's offsets move with them and the
  location table gets the prologue's entries (:mod:`.codetables`), so every moved
  instruction keeps its line, columns and handler.

Where this does not apply (``compat.RAW_RESUME`` false, or cell or free variables,
whose slots would move: the frontend compiles neither) :mod:`.resume` assembles the
code with the ``bytecode`` package instead.
"""

from __future__ import annotations

import dis
import inspect
import itertools
from collections.abc import Sequence
from types import CodeType

from autotier import compat
from autotier.deopt.codetables import (
    Handler,
    Location,
    Position,
    decode_handlers,
    encode_handlers,
    splice_locations,
)
from autotier.deopt.sites import CallEntry, NullEntry, TupleEntry

_OP = dis.opmap
_RESUME, _CALL, _CONTAINS = _OP["RESUME"], _OP["CALL"], _OP["CONTAINS_OP"]
_STORES = (_OP["STORE_ATTR"], _OP["DELETE_ATTR"])  # push nothing
#: the instructions a frame resumes after (a call, ``in``, an attribute read, write, del)
_AFTER = (_CALL, _CONTAINS, _OP["LOAD_ATTR"], *_STORES)
_DELETE_FAST, _LOAD_FAST, _PUSH_NULL = _OP["DELETE_FAST"], _OP["LOAD_FAST"], _OP["PUSH_NULL"]
_POP_TOP = _OP["POP_TOP"]
_BUILD_TUPLE, _JUMP_FORWARD = _OP["BUILD_TUPLE"], _OP["JUMP_FORWARD"]
_NO_ARGS = ~(inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)

CALLEE = ".callee"  # the parameter holding a deoptimised callee's finished frame


def stack_name(i: int) -> str:
    return f".stack{i}"


def applies(code: CodeType) -> bool:
    """Whether :func:`patch_resume_code` can make ``code``'s resume code."""
    return compat.RAW_RESUME and not code.co_cellvars and not code.co_freevars


def _emit(out: bytearray, op: int, arg: int) -> int:
    """Append instruction ``op`` with ``arg`` (EXTENDED_ARGs first if it needs them)
    and its zeroed caches to ``out``; how many code units that took."""
    units = 1
    if arg > 0xFF:
        for shift in (24, 16, 8):
            if arg >> shift:
                out += bytes((compat.EXTENDED_ARG, (arg >> shift) & 0xFF))
                units += 1
    caches = compat.CACHE_UNITS[op]
    out += bytes((op, arg & 0xFF))
    if caches:
        out += bytes(2 * caches)
    return units + caches


def _runs(runs: Sequence[tuple[int, Position]]) -> list[Location]:
    """Location entries of ``(units, position)`` runs (merged, at most 8 units each)."""
    out: list[Location] = []
    for units, pos in runs:
        left = units
        if out and out[-1].position == pos and out[-1].units < 8:
            take = min(left, 8 - out[-1].units)
            out[-1] = Location(out[-1].units + take, pos)
            left -= take
        while left:
            take = min(left, 8)
            out.append(Location(take, pos))
            left -= take
    return out


def _first(code: bytes, unit: int) -> int:
    """The first unit of the instruction at ``unit`` (its first EXTENDED_ARG)."""
    while unit and code[2 * unit - 2] == compat.EXTENDED_ARG:
        unit -= 1
    return unit


def _units(code: bytes, index: int, offset: int, after_call: bool) -> tuple[int, int, int]:
    """(the unit of the first ``RESUME``, the unit to resume at, the unit of the CALL
    resumed after or -1).  The ``index``-th instruction (at byte ``offset``, if not
    -1; in the ``bytecode`` package's order: EXTENDED_ARG folded into the instruction
    it extends, caches skipped) starts at its first EXTENDED_ARG; resuming after a
    call, at the instruction after the first CALL, CONTAINS_OP, LOAD_ATTR, STORE_ATTR or
    DELETE_ATTR from it on."""
    n = len(code) // 2
    resume = unit = 0
    while resume < n and code[2 * resume] != _RESUME:
        resume += 1 + compat.CACHE_UNITS[code[2 * resume]]
    if offset >= 0:
        unit = offset // 2
    else:
        count = 0
        while unit < n:
            op = code[2 * unit]
            if op != compat.EXTENDED_ARG:
                if count == index:
                    break
                count += 1
            unit += 1 + compat.CACHE_UNITS[op]
    if unit >= n or resume >= n or unit <= resume:
        raise ValueError(f"autotier: no instruction {index} after RESUME to resume at")
    if not after_call:
        return resume, _first(code, unit), -1
    while unit < n and code[2 * unit] not in _AFTER:
        unit += 1 + compat.CACHE_UNITS[code[2 * unit]]
    if unit >= n:
        raise ValueError(f"autotier: no call at or after instruction {index}")
    return resume, unit + 1 + compat.CACHE_UNITS[code[2 * unit]], unit


def _moved(handler: Handler, at: Sequence[tuple[int, int]]) -> Handler:
    """``handler`` with its offsets moved past the units inserted at ``at`` ((unit,
    count) pairs: ``count`` units go before unit ``unit``)."""
    def move(unit: int) -> int:
        return unit + sum(count for where, count in at if where <= unit)
    return handler._replace(start=move(handler.start), end=move(handler.end - 1) + 1,
                            target=move(handler.target))


def patch_resume_code(code: CodeType, index: int, offset: int, bound: Sequence[bool],
                      stack: Sequence[object], *, line: int, after_call: bool) -> CodeType:
    """The code of a resume function for ``code`` at instruction ``index`` (at byte
    ``offset``, or -1 when not known).

    Its parameters: every local of ``code`` (``bound[i]``: whether local ``i`` has a
    value; an unbound one is passed anything and unbound again), then each stack
    entry that is a parameter (every entry but NullEntry, TupleEntry and CallEntry),
    then, when ``after_call``, the callee's finished frame (see
    :func:`autotier.deopt.resume.build_resume_code`).
    """
    if not applies(code):
        raise ValueError(f"autotier: cannot patch {code.co_qualname}'s code")
    raw = code.co_code
    resume, target, call = _units(raw, index, offset, after_call)
    nlocals = len(code.co_varnames)
    plain: Position = (line, line, None, None)
    before = bytearray()  # before RESUME: unbind the unbound locals
    for i, has in enumerate(bound):
        if not has:
            _emit(before, _DELETE_FAST, i)
    after = bytearray()  # after RESUME: push the stack, call the callee, jump
    names: list[str] = []
    calls = 0  # the most a rebuilt call pushes beyond its result
    for entry in stack:
        if isinstance(entry, NullEntry):
            _emit(after, _PUSH_NULL, 0)
        elif isinstance(entry, TupleEntry):
            _emit(after, _BUILD_TUPLE, entry.size)
        elif isinstance(entry, CallEntry):
            calls = max(calls, entry.nargs + 1)
            for op, arg in compat.call_units(entry.nargs):
                _emit(after, op, arg)
        else:
            _emit(after, _LOAD_FAST, nlocals + len(names))
            names.append(stack_name(len(names)))
    runs: list[tuple[int, Position]] = []
    if after_call:
        _emit(after, _PUSH_NULL, 0)
        _emit(after, _LOAD_FAST, nlocals + len(names))
        names.append(CALLEE)
        runs.append((len(after) // 2, plain))
        at = next(itertools.islice(code.co_positions(), call, None))
        units = sum(_emit(after, op, arg) for op, arg in compat.call_units(0))
        if raw[2 * call] in _STORES:  # a store pushes nothing: drop the outcome
            units += _emit(after, _POP_TOP, 0)
        runs.append((units, at))
    # the jump's distance: from the prologue's end (the unit after RESUME, moved) to
    # the target (moved as much)
    runs.append((_emit(after, _JUMP_FORWARD, target - (resume + 1)), plain))
    if not after_call:
        runs = [(len(after) // 2, plain)]
    head = 2 * resume + 2
    new_code = raw[:2 * resume] + before + raw[2 * resume:head] + after + raw[head:]
    inserted = ((resume, len(before) // 2), (resume + 1, len(after) // 2))
    spliced = [(resume, _runs([(len(before) // 2, plain)])), (resume + 1, _runs(runs))]
    linetable = splice_locations(code.co_linetable, code.co_firstlineno,
                                 [(at, entries) for at, entries in spliced if entries])
    table = code.co_exceptiontable
    if table:
        table = encode_handlers([_moved(h, inserted) for h in decode_handlers(table)])
    varnames = (*code.co_varnames, *names)
    # the prologue pushes at most the entries the original code held there, and a call
    # two more (an enumerate or zip object rebuilt: its NULL, builtin and arguments in
    # place of the one object)
    return code.replace(
        co_code=bytes(new_code), co_linetable=linetable, co_exceptiontable=table,
        co_varnames=varnames, co_nlocals=len(varnames), co_argcount=len(varnames),
        co_posonlyargcount=0, co_kwonlyargcount=0, co_flags=code.co_flags & _NO_ARGS,
        co_stacksize=code.co_stacksize + 2 + calls)
