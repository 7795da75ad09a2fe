"""Stage 3: argument kinds -> a set of kinds for every SSA value (a fixpoint over loops).

A value's kinds are every kind it can have at run time; one kind means an unboxed
native value, several mean a tagged value (:mod:`autotier.frontend.values`).  Each
instruction's kinds are the union, over every combination of its operands' kinds,
of :func:`result_kinds` for that combination: Python's own typing rules (``int +
float`` is float, ``True & False`` is bool, ``True + True`` is int ...).  An empty
result means the combination always raises (a TypeError): the code bails out there,
and nothing after it in the block runs.  The lowering uses the same
:func:`result_kinds`, so the two never disagree.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FunctionType

from autotier import compat
from autotier.abi import Kind
from autotier.frontend import ir
from autotier.frontend.builtins_table import MATH_FUNCTIONS
from autotier.frontend.errors import Unsupported, at_line
from autotier.frontend.ir import NO_KINDS, BinOp, Kinds, UnOp, VKind

# What a call of another compiled function returns, for argument kinds.
CalleeResult = Callable[[FunctionType, tuple[Kind, ...]], Kinds]

INTLIKE = frozenset({VKind.INT, VKind.BOOL})
_BITWISE = frozenset({BinOp.AND, BinOp.OR, BinOp.XOR})
_INT_ONLY = frozenset({BinOp.LSHIFT, BinOp.RSHIFT, BinOp.AND, BinOp.OR, BinOp.XOR})
_OBJECTS = frozenset({VKind.RANGE, VKind.ITER})


@dataclass(frozen=True)
class Typed:
    """A function with kinds for one specialisation."""

    func: ir.Function
    arg_kinds: tuple[Kind, ...]
    types: Mapping[ir.Var, Kinds]
    reached: frozenset[int]  # blocks control can enter
    completed: frozenset[int]  # blocks that can reach their terminator
    returns: Kinds  # kinds the function can return

    def dump(self) -> str:
        sig = ", ".join(k.name.lower() for k in self.arg_kinds)
        head = f"; {self.func.name}({sig}) -> {ir.kinds_text(self.returns)}\n"
        return head + self.func.dump(self.types)


def binop_kind(op: BinOp, a: VKind, b: VKind) -> VKind | None:
    """The kind of ``a <op> b``, or None when Python raises TypeError."""
    if op is BinOp.MATMUL:
        return None
    if a in INTLIKE and b in INTLIKE:
        if op in _BITWISE and a is VKind.BOOL and b is VKind.BOOL:
            return VKind.BOOL
        return VKind.FLOAT if op is BinOp.TRUEDIV else VKind.INT
    return None if op in _INT_ONLY else VKind.FLOAT


def unop_kind(op: UnOp, a: VKind) -> VKind | None:
    if op is UnOp.NOT:
        return VKind.BOOL
    if a is VKind.FLOAT:
        return None if op is UnOp.INVERT else VKind.FLOAT
    if a is VKind.BOOL and op is UnOp.INVERT and compat.INVERT_BOOL_WARNS:
        return None  # the interpreter warns (3.12+)
    return VKind.INT


def _scalar(instr: ir.Instr, combo: tuple[VKind, ...]) -> None:
    for k in combo:
        if k in _OBJECTS:
            what = "range" if k is VKind.RANGE else "range iterator"
            raise Unsupported(at_line(f"{type(instr).__name__} of a {what} is not supported",
                                      instr.line))
        if k is VKind.UNDEF:
            raise ir.IRError(f"{instr.dest} reads an unchecked local")


def result_kinds(instr: ir.Instr, combo: tuple[VKind, ...], callee: CalleeResult) -> Kinds:
    """Kinds of ``instr``'s result when its operands (``uses()``) have kinds ``combo``."""
    if isinstance(instr, ir.Const):
        return frozenset({VKind(Kind.of(instr.value) or Kind.INT)})
    if isinstance(instr, ir.Undefined):
        return frozenset({VKind.UNDEF})
    if isinstance(instr, ir.CheckBound):
        return NO_KINDS if combo[0] is VKind.UNDEF else frozenset(combo)
    if isinstance(instr, ir.GetIter):
        return frozenset({VKind.ITER}) if combo[0] is VKind.RANGE else NO_KINDS
    if isinstance(instr, ir.IterHasNext | ir.IterValue | ir.IterAdvance):
        return frozenset({{ir.IterHasNext: VKind.BOOL, ir.IterValue: VKind.INT,
                           ir.IterAdvance: VKind.ITER}[type(instr)]})
    _scalar(instr, combo)
    out: VKind | None
    if isinstance(instr, ir.BinaryOp):
        out = binop_kind(instr.op, *combo)
    elif isinstance(instr, ir.UnaryOp):
        out = unop_kind(instr.op, combo[0])
    elif isinstance(instr, ir.Compare | ir.Truth):
        out = VKind.BOOL
    elif isinstance(instr, ir.Select):
        return frozenset(combo[1:])
    elif isinstance(instr, ir.Abs):
        out = VKind.FLOAT if combo[0] is VKind.FLOAT else VKind.INT
    elif isinstance(instr, ir.ToInt | ir.Round):
        out = VKind.INT
    elif isinstance(instr, ir.ToFloat):
        out = VKind.FLOAT
    elif isinstance(instr, ir.MathCall):
        out = MATH_FUNCTIONS[instr.fn].result
    elif isinstance(instr, ir.MakeRange):
        out = VKind.RANGE if all(k in INTLIKE for k in combo) else None
    elif isinstance(instr, ir.CallFunction):
        return callee(instr.callee, tuple(Kind(k) for k in combo))
    else:
        raise ir.IRError(f"no typing rule for {type(instr).__name__}")
    return NO_KINDS if out is None else frozenset({out})


def combos(operands: tuple[ir.Var, ...], types: Mapping[ir.Var, Kinds]) -> list[tuple[VKind, ...]]:
    """Every combination of one kind per operand (a Var used twice has one kind)."""
    distinct = list(dict.fromkeys(operands))
    out = []
    for choice in itertools.product(*(sorted(types[v]) for v in distinct)):
        chosen = dict(zip(distinct, choice, strict=True))
        out.append(tuple(chosen[v] for v in operands))
    return out


def infer(func: ir.Function, arg_kinds: tuple[Kind, ...], callee: CalleeResult) -> Typed:
    """Kinds for every value of ``func`` called with ``arg_kinds``."""
    types: dict[ir.Var, Kinds] = {v: NO_KINDS for b in func.blocks for v in b.defs()}
    for param, kind in zip(func.params, arg_kinds, strict=True):
        types[param] = frozenset({VKind(kind)})
    order = func.reverse_postorder()
    reached = {func.entry}
    completed: set[int] = set()
    changed = True
    while changed:
        changed = False
        for b in order:
            if b not in reached:
                continue
            blk = func.block(b)
            if not _run_block(blk, types, callee):
                continue
            if b not in completed:
                completed.add(b)
                changed = True
            for target, args in blk.term.successors():
                if target not in reached:
                    reached.add(target)
                    changed = True
                for param, arg in zip(func.block(target).params, args, strict=True):
                    new = types[param] | types[arg]
                    if new != types[param]:
                        types[param] = new
                        changed = True
    returns = NO_KINDS
    for b in completed:
        term = func.block(b).term
        if isinstance(term, ir.Return):
            returns |= types[term.value]
    _check_mixed(func, types)
    if returns & _OBJECTS:
        raise Unsupported(f"{func.name}: returning a range or an iterator is not supported")
    return Typed(func, arg_kinds, types, frozenset(reached), frozenset(completed), returns)


def _run_block(blk: ir.Block, types: dict[ir.Var, Kinds], callee: CalleeResult) -> bool:
    """Update the kinds of ``blk``'s instructions; False if its end is unreachable."""
    for instr in blk.instrs:
        operands = instr.uses()
        if any(not types[u] for u in operands):
            return False
        result = NO_KINDS
        for combo in combos(operands, types):
            result |= result_kinds(instr, combo, callee)
        types[instr.dest] = types[instr.dest] | result
        if not result:
            return False
    return True


def _check_mixed(func: ir.Function, types: Mapping[ir.Var, Kinds]) -> None:
    for blk in func.blocks:
        for var in blk.defs():
            kinds = types[var]
            if kinds & _OBJECTS and len(kinds) > 1:
                raise Unsupported(
                    f"{func.name}: {var.hint or 'a value'} is a range or iterator on some "
                    "paths and something else (or unbound) on others")
