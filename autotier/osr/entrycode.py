"""The OSR entry: the rest of a call from a loop header, as a Python function.

It is the header's resume function (:mod:`autotier.deopt.resume`): the function's own
bytecode behind a prologue whose parameters are the frame's bound locals and the loop
iterators' state, and which jumps to the header.  Each iterator on the header's stack
(the enclosing ``for`` loops', the loop's own included) is passed as what rebuilds it
(:mod:`.iterstate`: a range's next value, stop and step; a list's, tuple's or
ndarray's sequence and next index, rebuilt by a marker the frontend lowers as that
sequence's iterator from that index; reversed, enumerate and zip of those).

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
the interpreter runs, once: then ``.keep`` is None, and an exit passed again (where an
enclosing loop goes on interpreted, changing those locals) skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any

import bytecode
from bytecode import Instr, Label

from autotier.osr import iterstate, markers
from autotier.osr.instrument import Header
from autotier.osr.loops import graph, holding


@dataclass(frozen=True)
class Snapshot:
    """What a frame at a header hands to its entry: the bound locals live there (in
    ``co_varnames`` order) with their values, and each iterator's shape and values."""

    bound: tuple[str, ...]
    values: tuple[Any, ...]
    shapes: tuple[iterstate.Shape, ...]
    iterators: tuple[Any, ...]  # flattened (iterstate.names)

    @property
    def key(self) -> tuple[tuple[str, ...], tuple[iterstate.Shape, ...]]:
        """What an entry's code depends on: which locals are bound, the iterators' shapes."""
        return self.bound, self.shapes

    def arguments(self) -> list[Any]:
        return [*self.values, *self.iterators]


def snapshot(seen: dict[str, Any], code: CodeType, header: Header, iters: tuple[Any, ...]
             ) -> Snapshot | str:
    """The :class:`Snapshot` of a frame whose locals are ``seen`` and whose header stack
    is ``iters``, or why it cannot be entered."""
    bound = tuple(n for n in code.co_varnames if n in seen and n in header.live)
    shapes: list[iterstate.Shape] = []
    flat: list[Any] = []
    for it in iters:
        found = iterstate.state(it)
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


_NAMING = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "STORE_FAST", "DELETE_FAST"})


def entry_function(func: FunctionType, code: CodeType, header: Header,
                   bound: tuple[str, ...], shapes: tuple[iterstate.Shape, ...], *,
                   plan: Plan = Plan(0)) -> FunctionType:
    """The OSR entry of ``code`` (``func``'s code instrumented) at ``header``, for a
    frame whose bound locals are ``bound`` (in ``co_varnames`` order) and whose
    iterators have ``shapes``: its parameters are those locals (but ``plan.kept``),
    then :func:`.iterstate.names`, then ``.keep`` if ``plan`` keeps any."""
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
        if plan.kept:  # (once: the interpreter may pass an exit again, after the
            # locals kept changed, where an enclosing loop goes on; then .keep is None)
            again = Label()
            marker += [Instr("LOAD_FAST", KEEP, lineno=exit_line),
                       Instr("LOAD_CONST", None, lineno=exit_line),  # type: ignore[arg-type]
                       Instr("IS_OP", 0, lineno=exit_line),
                       Instr("POP_JUMP_FORWARD_IF_TRUE", again, lineno=exit_line),
                       Instr("LOAD_FAST", KEEP, lineno=exit_line),
                       Instr("UNPACK_SEQUENCE", len(plan.kept), lineno=exit_line),
                       *(Instr("STORE_FAST", n, lineno=exit_line) for n in plan.kept),
                       Instr("LOAD_CONST", None, lineno=exit_line),  # type: ignore[arg-type]
                       Instr("STORE_FAST", KEEP, lineno=exit_line), again]
        items[where:where] = marker
    label = Label()
    target = instrs[header.index]
    items.insert(next(n for n, item in enumerate(items) if item is target), label)
    names = iterstate.names(shapes)
    params = list(names)
    prologue: list[Instr] = []
    for shape in shapes:
        prologue += iterstate.rebuild(shape, params, line)
    prologue.append(Instr("JUMP_FORWARD", label, lineno=line))
    start = next(n for n, item in enumerate(items)
                 if isinstance(item, Instr) and item.name == "RESUME")
    items[start + 1:start + 1] = prologue
    out = bytecode.Bytecode(items)
    out._copy_attr_from(original)
    out.argnames = [*(n for n in bound if n not in plan.kept), *names,
                    *((KEEP,) if plan.kept else ())]
    out.argcount = len(out.argnames)
    out.posonlyargcount = out.argcount  # the probe passes them so: nothing to bind
    out.kwonlyargcount = 0
    out.flags &= ~(bytecode.CompilerFlags.VARARGS | bytecode.CompilerFlags.VARKEYWORDS)
    made = FunctionType(out.to_code(), func.__globals__, func.__name__)
    made.__qualname__ = func.__qualname__
    return made
