"""Loop probes: the copy of a hot function that the trampoline runs while it is interpreted.

The copy is the function's own bytecode (assembled with the ``bytecode`` package) with
a *probe* at each loop header (each target of a backward jump: a ``for`` loop's
``FOR_ITER``, a 3.11 ``while`` loop's first body instruction)::

    header:   LOAD_FAST .osr<j>; FOR_ITER slow<j>; POP_TOP; POP_TOP
    after<j>: <the header's own instruction> ...

where ``.osr<j>`` is a countdown iterator (over a constant tuple of ``k`` Nones) the
prologue stores: ``k`` back edges cost ``k`` calls of a C ``next`` and no int, and the
``k``-th runs the slow block, appended after the code::

    slow<j>:  PUSH_NULL; LOAD_CONST sys.gettrace; PRECALL 0; CALL 0
              POP_JUMP_FORWARD_IF_NOT_NONE traced<j>
              PUSH_NULL; LOAD_CONST probe<j>; COPY d+2 (d times); PRECALL d; CALL d
              UNPACK_SEQUENCE 2; STORE_FAST .osr<j>          # (countdown, result)
              COPY 1; LOAD_CONST GO_ON; IS_OP 0; POP_JUMP_FORWARD_IF_TRUE on<j>
              (SWAP 2; POP_TOP) d times; RETURN_VALUE        # the call's result
    traced<j>: .osr<j> = itertools.repeat(None, NEVER); JUMP_BACKWARD after<j>
    on<j>:    POP_TOP; JUMP_BACKWARD after<j>

A call that starts traced (``sys.gettrace()``, checked by the prologue) gets
countdowns that never end, so no slow block runs and the tracer sees exactly the
original's lines and no frame of autotier's; a tracer set during the call makes the
next slow block turn its countdown off (and its backward jump makes one more line
event of the header's line).
``d`` is the value-stack depth at the header (the iterators of the enclosing ``for``
loops, the loop's own included), passed to the probe; the probe reads the frame's
locals itself.  Every inserted instruction carries the header's line (the prologue
the first statement's), so a tracer sees the lines it sees in the original.

The prologue also checks that the function's ``__code__`` is still the code the copy
was made from (something may assign it behind the hot object's back): if not, the
call is made again with the function's new code (``again``), and the copy is dropped.

Only functions the screen accepts are instrumented: CPython 3.11, at least one loop,
no exception table (``try``, ``with``), no generator or coroutine, no cells
(closures); what else the frontend declines, the OSR compile finds (:func:`screen`).
"""

from __future__ import annotations

import dis
import inspect
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import CodeType, FunctionType
from typing import Any

import bytecode
from bytecode import Instr, Label, TryBegin, TryEnd

from autotier import compat
from autotier.osr import loops

#: what a probe returns as the result when the loop goes on interpreted
GO_ON = object()
RAISE = object()  # the flag of a result that is an exception to raise
NEVER = 2**62  # a countdown that never ends: the probe is off for the rest of the call
HIDDEN = ".osr"  # the countdown locals' prefix (``.osr0``, ``.osr1``, ...)

_GENERATORS = (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
               | inspect.CO_ITERABLE_COROUTINE)
_UNCONDITIONAL = frozenset({"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"})
_ENDS = frozenset({"RETURN_VALUE", "RAISE_VARARGS", "RERAISE"})


@dataclass(frozen=True)
class Header:
    """One loop header of the original code."""

    number: int  # j: its probe's number, in code order
    index: int  # its instruction's position, in the ``bytecode`` package's order
    offset: int  # its byte offset (as ``dis`` shows)
    line: int
    depth: int  # value-stack entries at the header (the enclosing loops' iterators)
    # the locals some path from the header reads (or deletes) before it stores them:
    # only these are passed to the OSR entry (a dead str local does not block it)
    live: frozenset[str] = frozenset()
    # whether the outermost loop holding it is a ``for`` loop (then the first iterator
    # on its stack counts the progress of the whole loop nest: ``iterstate.progress``)
    outer_for: bool = False
    # whether another loop holds it (then the outermost loop's current iteration is
    # part-way when it is reached: ``osr.state._forecast``)
    nested: bool = False
    # the numbers of the headers of the loops nested inside this one
    inner: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Instrumented:
    """The copy with probes, and the original code it was made from."""

    func: FunctionType
    code: CodeType
    headers: tuple[Header, ...]


def screen(func: FunctionType) -> str | None:
    """Why ``func`` gets no probes, or None: it may.

    Run when the function is decorated, so it reads the code object only (the
    frontend's import alone takes about 0.4 s): the shapes the frontend never compiles
    (``decode.check_code``'s flags and cells, an exception table).  What else the
    frontend declines, the OSR compile finds: its header is then never entered, and
    once no header can be, the function gets its original code back."""
    if compat.OSR_UNSUPPORTED is not None:
        return compat.OSR_UNSUPPORTED
    code = func.__code__
    if code.co_flags & _GENERATORS:
        return "a generator or coroutine"
    if code.co_cellvars or code.co_freevars:
        return "closures and cell variables"
    if code.co_exceptiontable:
        return "try or with statements"
    if not any("BACKWARD" in i.opname for i in dis.get_instructions(code)):
        return "no loop"
    return None


def _depths(code: CodeType) -> dict[int, int]:
    """The value-stack depth before each reachable instruction, by byte offset (an
    EXTENDED_ARG, where a jump lands, included)."""
    instrs = list(dis.get_instructions(code))
    at = {ins.offset: n for n, ins in enumerate(instrs)}
    depth: dict[int, int] = {}
    work = [(instrs[0].offset, 0)]
    while work:
        offset, d = work.pop()
        if offset in depth:
            continue
        depth[offset] = d
        ins = instrs[at[offset]]
        if ins.opname in _ENDS:
            continue
        if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
            work.append((ins.argval, d + dis.stack_effect(ins.opcode, ins.arg, jump=True)))
            if ins.opname in _UNCONDITIONAL:
                continue
        after = at[offset] + 1
        if after < len(instrs):
            work.append((instrs[after].offset,
                         d + dis.stack_effect(ins.opcode, ins.arg, jump=False)))
    return depth


_READS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "DELETE_FAST"})


def _live(code: CodeType) -> dict[int, frozenset[str]]:
    """The locals live before each instruction, by byte offset: read (``LOAD_FAST``,
    or ``DELETE_FAST``, which fails on an unbound one) on some path before a
    ``STORE_FAST``.  Conservative where it cannot see: any other instruction naming a
    local counts as a read."""
    instrs = list(dis.get_instructions(code))
    at = {ins.offset: n for n, ins in enumerate(instrs)}
    succ: list[list[int]] = []
    for n, ins in enumerate(instrs):
        out = []
        if ins.opname not in _ENDS:
            if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
                out.append(at[ins.argval])
            if ins.opname not in _UNCONDITIONAL and n + 1 < len(instrs):
                out.append(n + 1)
        succ.append(out)
    live: list[frozenset[str]] = [frozenset()] * len(instrs)
    changed = True
    while changed:
        changed = False
        for n in range(len(instrs) - 1, -1, -1):
            ins = instrs[n]
            after = frozenset().union(*(live[m] for m in succ[n]))
            if ins.opcode in dis.haslocal:
                name = ins.argval
                now = after - {name} if ins.opname == "STORE_FAST" else after | {name}
            else:
                now = after
            if now != live[n]:
                live[n] = now
                changed = True
    return {ins.offset: live[n] for n, ins in enumerate(instrs)}


def headers(code: CodeType) -> tuple[Header, ...]:
    """The loop headers of ``code``, in code order."""
    items = list(bytecode.Bytecode.from_code(code))
    targets = {id(i.arg) for i in items if isinstance(i, Instr) and "BACKWARD" in i.name}
    offsets = [i.offset for i in dis.get_instructions(code) if i.opname != "EXTENDED_ARG"]
    depths = _depths(code)
    live = _live(code)
    instrs, succ = loops.graph(items)
    nests = loops.natural_loops(instrs, succ)
    found: list[Header] = []
    index = 0
    pending = False
    bodies: list[frozenset[int]] = []
    for item in items:
        if isinstance(item, Label):
            pending = pending or id(item) in targets
        elif isinstance(item, Instr):
            if pending:
                offset = offsets[index]
                around = [(len(b), h) for h, b in nests.items() if index in b]
                outermost = max(around)[1] if around else index
                found.append(Header(len(found), index, offset, item.lineno or 0,
                                    depths[offset], live[offset],
                                    instrs[outermost].name == "FOR_ITER",
                                    outermost != index))
                bodies.append(nests.get(index, frozenset()))
                pending = False
            index += 1
    return tuple(
        replace(h, inner=frozenset(g.number for g in found
                                               if g is not h and g.index in body))
        for h, body in zip(found, bodies, strict=True))


def instrument(func: FunctionType, countdown: tuple[None, ...],
               probe: Callable[[int], Any], again: Any) -> Instrumented:
    """``func``'s copy with a probe at each loop header.

    ``countdown``: the tuple each countdown iterates; ``probe(j)``: the callable the
    slow block of header ``j`` calls with the header's stack entries, which returns
    ``(countdown, result)``; ``again``: a callable of no arguments the prologue calls
    (and returns what it returns) when the function's ``__code__`` is no longer the
    code instrumented.
    """
    code = func.__code__
    found = headers(code)
    original = bytecode.Bytecode.from_code(code)
    items = list(original)
    targets = {id(i.arg) for i in items if isinstance(i, Instr) and "BACKWARD" in i.name}
    body: list[Any] = []
    tail: list[Any] = []
    stale = Label()
    pending: Label | None = None
    number = 0
    first_line = next((i.lineno for i in items if isinstance(i, Instr)
                       and i.name != "RESUME" and i.lineno), code.co_firstlineno)
    for item in items:
        if isinstance(item, Label) and id(item) in targets:
            pending = item
            body.append(item)
            continue
        if isinstance(item, Instr) and pending is not None:
            header = found[number]
            body += _probe(header, tail, probe(number))
            number += 1
            pending = None
        body.append(item)
        if isinstance(item, Instr) and item.name == "RESUME":
            body += _prologue(func, found, countdown, stale, first_line)
    tail += [stale, Instr("PUSH_NULL", lineno=first_line),
             _const(again, first_line),
             *compat.call_instructions(0, first_line),
             Instr("RETURN_VALUE", lineno=first_line)]
    out = bytecode.Bytecode([*body, *tail])
    out._copy_attr_from(original)
    made = out.to_code()
    copy = FunctionType(made, func.__globals__, func.__name__, func.__defaults__,
                        func.__closure__)
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__ = func.__qualname__
    return Instrumented(copy, code, found)


def _const(value: object, line: int) -> Instr:
    """``LOAD_CONST value``: any object (a function, a code object, a partial)."""
    return Instr("LOAD_CONST", value, lineno=line)  # type: ignore[arg-type]


def hidden(number: int) -> str:
    return f"{HIDDEN}{number}"


def _prologue(func: FunctionType, found: tuple[Header, ...], countdown: tuple[None, ...],
              stale: Label, line: int) -> list[Any]:
    start, traced = Label(), Label()
    out: list[Any] = [
        _const(func, line), Instr("LOAD_ATTR", "__code__", lineno=line),
        _const(func.__code__, line), Instr("IS_OP", 1, lineno=line),
        Instr("POP_JUMP_FORWARD_IF_TRUE", stale, lineno=line),
        Instr("PUSH_NULL", lineno=line), _const(sys.gettrace, line),
        *compat.call_instructions(0, line),
        Instr("POP_JUMP_FORWARD_IF_NOT_NONE", traced, lineno=line)]
    for header in found:
        out += [_const(countdown, line), Instr("GET_ITER", lineno=line),
                Instr("STORE_FAST", hidden(header.number), lineno=line)]
    out += [Instr("JUMP_FORWARD", start, lineno=line), traced]
    for header in found:  # a traced call: no probe ever runs
        out += _never(hidden(header.number), line)
    return [*out, start]


def _never(name: str, line: int) -> list[Instr]:
    """``name = itertools.repeat(None, NEVER)``: a countdown that never ends."""
    return [Instr("PUSH_NULL", lineno=line), _const(itertools.repeat, line),
            _const(None, line), _const(NEVER, line), *compat.call_instructions(2, line),
            Instr("STORE_FAST", name, lineno=line)]


def _probe(header: Header, tail: list[Any], probe: Any) -> list[Any]:
    """The probe at ``header`` (returned) and its slow block (appended to ``tail``)."""
    line = header.line
    slow, after, on, traced, raise_it = Label(), Label(), Label(), Label(), Label()
    handler, reraise, cleanup = Label(), Label(), Label()
    name = hidden(header.number)
    d = header.depth
    guarded = TryBegin(handler, push_lasti=False)
    tail += [slow, Instr("PUSH_NULL", lineno=line), _const(sys.gettrace, line),
             *compat.call_instructions(0, line),
             Instr("POP_JUMP_FORWARD_IF_NOT_NONE", traced, lineno=line),
             guarded, Instr("PUSH_NULL", lineno=line), _const(probe, line)]
    tail += [Instr("COPY", d + 2, lineno=line) for _ in range(d)]
    tail += [*compat.call_instructions(d, line), TryEnd(guarded)]
    # (countdown, flag, result): the flag says go on, return the result or raise it
    tail += [Instr("UNPACK_SEQUENCE", 3, lineno=line), Instr("STORE_FAST", name, lineno=line),
             Instr("COPY", 1, lineno=line), _const(GO_ON, line),
             Instr("IS_OP", 0, lineno=line), Instr("POP_JUMP_FORWARD_IF_TRUE", on, lineno=line),
             _const(RAISE, line), Instr("IS_OP", 0, lineno=line),
             Instr("POP_JUMP_FORWARD_IF_TRUE", raise_it, lineno=line)]
    for _ in range(d):
        tail += [Instr("SWAP", 2, lineno=line), Instr("POP_TOP", lineno=line)]
    tail += [Instr("RETURN_VALUE", lineno=line),
             raise_it, Instr("RAISE_VARARGS", 1, lineno=line),
             on, Instr("POP_TOP", lineno=line), Instr("POP_TOP", lineno=line),
             Instr("JUMP_BACKWARD", after, lineno=line),
             traced, *_never(name, line), Instr("JUMP_BACKWARD", after, lineno=line)]
    # the probe's own frames may not fit under the recursion limit (a loop within two
    # frames of it): a RecursionError of the probe itself (never the rest of the call's:
    # that comes back as RAISE) turns the probe off, and the loop goes on
    cleaned = TryBegin(cleanup, push_lasti=True)
    tail += [handler, cleaned, Instr("PUSH_EXC_INFO", lineno=line),
             _const(RecursionError, line), Instr("CHECK_EXC_MATCH", lineno=line),
             Instr("POP_JUMP_FORWARD_IF_FALSE", reraise, lineno=line),
             Instr("POP_TOP", lineno=line), TryEnd(cleaned), Instr("POP_EXCEPT", lineno=line),
             *_never(name, line), Instr("JUMP_BACKWARD", after, lineno=line)]
    again = TryBegin(cleanup, push_lasti=True)
    tail += [reraise, again, Instr("RERAISE", 0, lineno=line), TryEnd(again),
             cleanup, Instr("COPY", 3, lineno=line), Instr("POP_EXCEPT", lineno=line),
             Instr("RERAISE", 1, lineno=line)]
    return [Instr("LOAD_FAST", name, lineno=line), Instr("FOR_ITER", slow, lineno=line),
            Instr("POP_TOP", lineno=line), Instr("POP_TOP", lineno=line), after]
