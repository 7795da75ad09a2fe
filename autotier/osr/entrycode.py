"""The OSR entry: the rest of a call from a loop header, as a Python function.

It is the header's resume function (:mod:`autotier.deopt.resume`): the function's own
bytecode behind a prologue whose parameters are the frame's bound locals and the loop
iterators' state, and which jumps to the header.  Each iterator on the header's stack
(the enclosing ``for`` loops', the loop's own included) is passed as what rebuilds it:

- a range iterator as three ints (its next value, stop and step), rebuilt as
  ``iter(range(next, stop, step))`` (``LOAD_GLOBAL range``: the probe enters only where
  ``range`` is the builtin);
- a list, tuple or ndarray iterator as its sequence and the index it yields next
  (``__reduce__``: ``(iter, (seq,), index)``; an exhausted one, ``(iter, ((),))``, as
  an empty tuple's), rebuilt as ``markers.iter_at(seq, index)``, which the frontend
  lowers as the sequence's iterator from that index: native code reads the length at
  every step, as CPython's iterator does, and a deopt rebuilds the iterator at its
  position as any frame state does.

So the entry's parameters are ints and sequences the ordinary pipeline compiles (a
sequence's element kinds sampled at the request, as any compile's): the OSR code is
an ordinary compile of this function, with its guards, frame states, deopts and
resume functions.  Names, filename and lines are the function's (the prologue carries
the header's line).

**Hand-backs** (:class:`Plan`, level ``k > 0``): when the rest of the call does not
compile (a ``print``, an f-string, a generator expression after the loop), the entry
of level ``k`` keeps native code inside the ``k``-th loop that holds the header
(outermost first, :func:`loops`): before each instruction an edge leaves that loop
for, the code gets ``LOAD_CONST HANDBACK; POP_TOP`` (:mod:`.markers`), where the
compiled entry hands its frame to the interpreter (a resume function at the marker,
as any deopt's: locals, stack, lines), which runs the rest.  The locals live at the
header that the loop never names (a str read only after it) are no parameters: they
travel as one tuple, ``.keep``, that native code holds and never reads, and each
marker is followed by ``LOAD_FAST .keep; UNPACK_SEQUENCE; STORE_FAST ...``, which only
the interpreter runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any

import bytecode
from bytecode import Instr, Label

from autotier import compat
from autotier.osr import markers
from autotier.osr.instrument import Header
from autotier.osr.loops import graph, holding

RANGE = "range"  # an iterator passed as next, stop, step
SEQUENCE = "seq"  # an iterator passed as its sequence and next index

class _Indexed:
    def __getitem__(self, index: int) -> None:
        raise IndexError(index)


_RANGE_ITER = type(iter(range(0)))
#: list and tuple iterators, and CPython's iterator over ``__getitem__`` (an ndarray's)
_SEQ_ITERS: tuple[type, ...] = (type(iter([])), type(iter(())), type(iter(_Indexed())))


@dataclass(frozen=True)
class Snapshot:
    """What a frame at a header hands to its entry: the bound locals live there (in
    ``co_varnames`` order) with their values, and each iterator's shape and values."""

    bound: tuple[str, ...]
    values: tuple[Any, ...]
    shapes: tuple[str, ...]
    iterators: tuple[Any, ...]  # flattened: 3 ints per range, (seq, index) per sequence

    @property
    def key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What an entry's code depends on: which locals are bound, the iterators' shapes."""
        return self.bound, self.shapes

    def arguments(self) -> list[Any]:
        return [*self.values, *self.iterators]


def iterator_state(it: Any) -> tuple[str, list[Any]] | str:
    """How an entry rebuilds iterator ``it``: its shape and values, or why it cannot."""
    if type(it) is _RANGE_ITER:
        reduced: Any = it.__reduce__()
        span, index = reduced[1][0], reduced[2]
        return RANGE, [span.start + index * span.step, span.stop, span.step]
    if type(it) in _SEQ_ITERS:
        reduced = it.__reduce__()
        seq = reduced[1][0]
        index = reduced[2] if len(reduced) > 2 else 0  # exhausted: an empty tuple's
        if type(seq) in (list, tuple) or _is_ndarray(seq):
            return SEQUENCE, [seq, index]
        return f"a loop over a {type(seq).__name__} (not a list, tuple or ndarray)"
    return (f"a loop over a {type(it).__name__} (only range, list, tuple and ndarray "
            "loops are entered)")


def _is_ndarray(obj: object) -> bool:
    numpy = sys.modules.get("numpy")  # (an ndarray exists only once numpy is imported)
    return numpy is not None and type(obj) is numpy.ndarray


def snapshot(seen: dict[str, Any], code: CodeType, header: Header, iters: tuple[Any, ...]
             ) -> Snapshot | str:
    """The :class:`Snapshot` of a frame whose locals are ``seen`` and whose header stack
    is ``iters``, or why it cannot be entered."""
    bound = tuple(n for n in code.co_varnames if n in seen and n in header.live)
    shapes: list[str] = []
    flat: list[Any] = []
    for it in iters:
        found = iterator_state(it)
        if isinstance(found, str):
            return found
        shapes.append(found[0])
        flat += found[1]
    return Snapshot(bound, tuple(seen[n] for n in bound), tuple(shapes), tuple(flat))


KEEP = ".keep"  # the tuple of the locals a hand-back entry carries unread


def loops(code: CodeType, header: Header) -> tuple[frozenset[int], ...]:
    """The loops that hold ``header`` (each the positions of its instructions: a
    natural loop of a backward jump), outermost first."""
    return tuple(body for _, body in holding(list(bytecode.Bytecode.from_code(code)),
                                             header.index))


@dataclass(frozen=True)
class Plan:
    """How far an entry's native code goes: ``level`` 0, the rest of the call; ``k``,
    the ``k``-th loop holding the header (outermost first), handing the frame back at
    ``exits`` (positions of the instructions its edges leave for); ``kept``: the bound
    locals that loop never names, carried in ``.keep``."""

    level: int
    exits: frozenset[int] = frozenset()
    kept: tuple[str, ...] = ()

    def arguments(self, snap: Snapshot) -> list[Any]:
        if not self.level:
            return snap.arguments()
        passed = [v for n, v in zip(snap.bound, snap.values, strict=True)
                  if n not in self.kept]
        extra = [tuple(v for n, v in zip(snap.bound, snap.values, strict=True)
                       if n in self.kept)] if self.kept else []
        return [*passed, *snap.iterators, *extra]


def plans(code: CodeType, header: Header, bound: tuple[str, ...]) -> tuple[Plan, ...]:
    """The entries tried in turn until one compiles: the rest of the call, then a
    hand-back at the exits of each loop holding the header, outermost first."""
    instrs, succ = graph(list(bytecode.Bytecode.from_code(code)))
    out = [Plan(0)]
    for k, body in enumerate(loops(code, header), 1):
        exits = frozenset(m for n in body for m in succ[n] if m not in body)
        named = {str(instrs[n].arg) for n in body if instrs[n].name in _NAMING}
        out.append(Plan(k, exits, tuple(n for n in bound if n not in named)))
    return tuple(out)


_NAMING = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "STORE_FAST", "DELETE_FAST",
                     "LOAD_FAST__LOAD_FAST", "LOAD_FAST_AND_CLEAR"})


def iterator_names(shapes: tuple[str, ...]) -> tuple[str, ...]:
    """The parameters of the iterators: next, stop, step of a range; seq, index of a
    sequence."""
    out: list[str] = []
    for k, shape in enumerate(shapes):
        parts = ("next", "stop", "step") if shape == RANGE else ("seq", "index")
        out += [f".it{k}_{part}" for part in parts]
    return tuple(out)


def entry_function(func: FunctionType, code: CodeType, header: Header,
                   bound: tuple[str, ...], shapes: tuple[str, ...], *,
                   plan: Plan = Plan(0)) -> FunctionType:
    """The OSR entry of ``code`` (``func``'s code instrumented) at ``header``, for a
    frame whose bound locals are ``bound`` (in ``co_varnames`` order) and whose
    iterators have ``shapes``: its parameters are those locals (but ``plan.kept``),
    then :func:`iterator_names`, then ``.keep`` if ``plan`` keeps any."""
    original = bytecode.Bytecode.from_code(code)
    items = list(original)
    instrs = [item for item in items if isinstance(item, Instr)]
    positions = [n for n, item in enumerate(items) if isinstance(item, Instr)]
    line = header.line
    for at in sorted(plan.exits, reverse=True):  # (later positions first: the earlier
        where = positions[at]  # stay where they are)
        found = items[where]
        exit_line = (found.lineno if isinstance(found, Instr) else None) or line
        marker: list[Any] = [Instr("LOAD_CONST", markers.HANDBACK, lineno=exit_line),  # type: ignore[arg-type]
                             Instr("POP_TOP", lineno=exit_line)]
        if plan.kept:
            marker += [Instr("LOAD_FAST", KEEP, lineno=exit_line),
                       Instr("UNPACK_SEQUENCE", len(plan.kept), lineno=exit_line),
                       *(Instr("STORE_FAST", n, lineno=exit_line) for n in plan.kept)]
        items[where:where] = marker
    label = Label()
    target = instrs[header.index]
    items.insert(next(n for n, item in enumerate(items) if item is target), label)
    names = iterator_names(shapes)
    prologue: list[Instr] = []
    at = 0
    for shape in shapes:
        if shape == RANGE:
            prologue.append(Instr("LOAD_GLOBAL", (True, "range"), lineno=line))
            prologue += [Instr("LOAD_FAST", n, lineno=line) for n in names[at:at + 3]]
            prologue += compat.call_instructions(3, line)
            prologue.append(Instr("GET_ITER", lineno=line))
            at += 3
        else:
            prologue += [Instr("PUSH_NULL", lineno=line),
                         Instr("LOAD_CONST", markers.iter_at, lineno=line)]  # type: ignore[arg-type]
            prologue += [Instr("LOAD_FAST", n, lineno=line) for n in names[at:at + 2]]
            prologue += compat.call_instructions(2, line)
            at += 2
    prologue.append(Instr("JUMP_FORWARD", label, lineno=line))
    start = next(n for n, item in enumerate(items)
                 if isinstance(item, Instr) and item.name == "RESUME")
    items[start + 1:start + 1] = prologue
    out = bytecode.Bytecode(items)
    out._copy_attr_from(original)
    out.argnames = [*(n for n in bound if n not in plan.kept), *names,
                    *((KEEP,) if plan.kept else ())]
    out.argcount = len(out.argnames)
    out.posonlyargcount = 0
    out.kwonlyargcount = 0
    out.flags &= ~(bytecode.CompilerFlags.VARARGS | bytecode.CompilerFlags.VARKEYWORDS)
    made = FunctionType(out.to_code(), func.__globals__, func.__name__)
    made.__qualname__ = func.__qualname__
    return made
