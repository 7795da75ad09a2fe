"""SSA clean-up after the stack simulation: drop block parameters that are not phis.

The simulation gives every block a parameter per local and per stack slot.  A
parameter whose incoming values are all one value (or itself) *is* that value; a
CheckBound passes its operand on, so it is looked through; and a CheckBound of a
value bound on every path in (optimistically, around loops) is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from autotier.frontend import ir


@dataclass
class RawBlock:
    """A block as the simulation builds it (mutable, before clean-up)."""

    params: list[ir.Var]
    instrs: list[ir.Instr]
    term: ir.Terminator | None = None


def finish(name: str, blocks: dict[int, RawBlock], entry: int, bound: set[ir.Var]) -> ir.Function:
    """Drop parameters that always receive the same value, and redundant CheckBounds."""
    incoming: dict[int, list[list[ir.Var]]] = {b: [[] for _ in blk.params]
                                               for b, blk in blocks.items()}
    for blk in blocks.values():
        assert blk.term is not None
        for target, args in blk.term.successors():
            for i, arg in enumerate(args):
                incoming[target][i].append(arg)
    checked = {i.dest: i.operand for blk in blocks.values() for i in blk.instrs
               if isinstance(i, ir.CheckBound)}
    repl: dict[ir.Var, ir.Var] = {}

    def find(v: ir.Var) -> ir.Var:
        while v in repl:
            v = repl[v]
        return v

    def strip(v: ir.Var) -> ir.Var:
        """The value behind any CheckBounds (a CheckBound passes its operand on)."""
        v = find(v)
        while v in checked:
            v = find(checked[v])
        return v

    changed = True
    while changed:
        changed = False
        for b, blk in blocks.items():
            if b == entry:
                continue
            for i, param in enumerate(blk.params):
                if param in repl:
                    continue
                # Every incoming value is `value` (or this param): so is the param.
                exact = {find(a) for a in incoming[b][i]} - {param}
                if len(exact) == 1:
                    repl[param] = exact.pop()
                    changed = True
                    continue
                # The same local, checked on some paths and not on others: the param is
                # that local, unchecked, which is right only when no path passes a
                # checked copy that a use may rely on (a stack slot holding a checked
                # value is never checked again: keep the phi of the checked values).
                values = {strip(a) for a in incoming[b][i]} - {param}
                if len(values) == 1 and not any(
                        find(a) in checked and find(a) not in repl for a in incoming[b][i]):
                    repl[param] = values.pop()
                    changed = True
        for dest in checked:
            if dest not in repl and strip(dest) in bound:
                repl[dest] = strip(dest)  # a CheckBound of a value that is always bound
                changed = True
    # Parameters bound on every path in (optimistically, around loops) need no check.
    always = {p for b, blk in blocks.items() if b != entry for p in blk.params if p not in repl}
    changed = True
    while changed:
        changed = False
        for b, blk in blocks.items():
            for i, param in enumerate(blk.params):
                if param in always and any(
                    strip(a) not in bound and strip(a) not in always for a in incoming[b][i]
                ):
                    always.discard(param)
                    changed = True
    for dest in checked:
        if dest not in repl and strip(dest) in always:
            repl[dest] = strip(dest)
    mapping = {v: find(v) for v in repl}
    keep = {b: [p not in repl for p in blk.params] for b, blk in blocks.items()}

    def args_for(target: int, args: tuple[ir.Var, ...]) -> tuple[ir.Var, ...]:
        return tuple(mapping.get(a, a) for a, k in zip(args, keep[target], strict=True) if k)

    out: list[ir.Block] = []
    for b in sorted(blocks):
        blk = blocks[b]
        term = blk.term
        state = None if term is None or term.state is None else term.state.substitute(mapping)
        if isinstance(term, ir.Jump):
            term = ir.Jump(term.target, args_for(term.target, term.args), line=term.line,
                           state=state)
        elif isinstance(term, ir.Branch):
            term = ir.Branch(mapping.get(term.cond, term.cond),
                             term.then_target, args_for(term.then_target, term.then_args),
                             term.else_target, args_for(term.else_target, term.else_args),
                             line=term.line, state=state)
        else:
            assert term is not None
            term = term.substitute(mapping)  # type: ignore[assignment]
        instrs = tuple(i.substitute(mapping) for i in blk.instrs if i.dest not in repl)
        params = tuple(p for p, k in zip(blk.params, keep[b], strict=True) if k)
        out.append(ir.Block(b, params, instrs, term))  # type: ignore[arg-type]
    return ir.Function(name, tuple(out), entry)
