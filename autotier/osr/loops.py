"""The loops of a code object, on the ``bytecode`` package's instruction list: the
natural loop of each header (what reaches one of its backward jumps without passing
it), and the loops that hold an instruction, outermost first.  An OSR entry's plans
(:mod:`.entrycode`) hand the frame back at the exits of these loops.
"""

from __future__ import annotations

from typing import Any

from bytecode import Instr, Label


def graph(items: list[Any]) -> tuple[list[Instr], list[list[int]]]:
    """The instructions of a parsed code (the ``bytecode`` package's order) and each
    one's successors, by position."""
    instrs = [x for x in items if isinstance(x, Instr)]
    at: dict[int, int] = {}
    pending: list[int] = []
    count = 0
    for x in items:
        if isinstance(x, Label):
            pending.append(id(x))
        elif isinstance(x, Instr):
            for label in pending:
                at[label] = count
            pending = []
            count += 1
    succ: list[list[int]] = []
    for n, ins in enumerate(instrs):
        out: list[int] = []
        if ins.has_jump():
            out.append(at[id(ins.arg)])
        if not (ins.is_final() or ins.is_uncond_jump()) and n + 1 < len(instrs):
            out.append(n + 1)
        succ.append(out)
    return instrs, succ


def natural_loops(instrs: list[Instr], succ: list[list[int]]) -> dict[int, frozenset[int]]:
    """Each loop header's body (positions): what reaches one of its backward jumps
    without passing the header, the header included."""
    preds: list[list[int]] = [[] for _ in instrs]
    for n, out in enumerate(succ):
        for m in out:
            preds[m].append(n)
    bodies: dict[int, set[int]] = {}
    for n, out in enumerate(succ):
        for h in out:
            if h <= n and "BACKWARD" in instrs[n].name:  # a back edge n -> h
                body = bodies.setdefault(h, {h})
                todo = [n]
                while todo:
                    m = todo.pop()
                    if m not in body:
                        body.add(m)
                        todo.extend(preds[m])
    return {h: frozenset(b) for h, b in bodies.items()}


def holding(items: list[Any], index: int) -> list[tuple[int, frozenset[int]]]:
    """The loops holding instruction ``index`` (header, body), outermost first."""
    instrs, succ = graph(items)
    found = [(h, b) for h, b in natural_loops(instrs, succ).items() if index in b]
    return sorted(found, key=lambda hb: len(hb[1]), reverse=True)
