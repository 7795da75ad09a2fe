"""Deferred trap checks of numpy float ``+`` and ``-``: caught by the next operation.

A numpy float ``+`` or ``-`` traps (numpy warns: an infinity from finite operands, a
nan from non-nan ones or a signalling nan operand) only when its result is not
finite, and a result that is not finite makes any ``+``, ``-`` or ``*`` it is an
operand of, and any ``/`` it is the dividend of, not finite either (``inf + -inf``,
``inf * 0`` and ``inf / inf`` are nans).  So when such a *producer*'s only use is one
such *consumer* later in the same block (or an ``int()`` of it, which deoptimises for a
nan or an infinity), with only pure instructions between them
(numbers' arithmetic, constants, element loads of arrays: nothing that stores, calls
or releases a reference), the producer emits no check of its own: it is *pending*
(:class:`Pending`, ``FunctionLowering.pending``) until the consumer's check, whose
common path (a finite result) proves the producer did not trap.  A consumer that is
itself a producer (``a + b + c``) covers the producers of its operands: the chain's
last consumer catches them all.

Precision is kept on every other path, in program order:

- the consumer's slow path (a result that is not finite) tests each pending
  producer's exact predicate before its own, and deoptimises at the first that holds,
  at that producer's frame state (so numpy warns there, with the arrays as they were:
  nothing between had an effect);
- any other bailout taken while producers are pending (an index out of range between
  them, a forced site) first tests them the same way (:func:`resolve`), so numpy's
  warning comes before CPython's IndexError, as it does interpreted;
- an instruction that is not pure, a reference released, or the block's end while a
  producer is still pending (its consumer was lowered another way) emits the
  producer's own check there first (:func:`flush`).

Only producers whose operands have one kind each (no tagged values: lowered once) are
deferred (:func:`candidates`); a consumer of a tagged operand (``s += a[i] * b[i]``,
``s`` a float before the first addition) is lowered once per kind, and a producer is
caught only where every one of those lowerings caught it (:func:`after_instr`).  The
pairing is checked again as the consumer is lowered (:func:`catch`: its operand must be
the producer's very value).  A ``*`` or ``/`` producer keeps its underflow guard (a
tiny result: numpy decides under the user's error state) in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import Status
from autotier.frontend import ir
from autotier.frontend.ir import Var, VKind
from autotier.frontend.kinds import NP_SCALARS, BinOp
from autotier.frontend.values import is_tagged

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from autotier.frontend.ir import Kinds
    from autotier.frontend.lowering import FunctionLowering

#: producers whose trap is a result that is not finite (for ``*`` and ``/`` also a tiny
#: one, which stays checked in place: a tiny operand need not make a tiny result)
PRODUCERS = frozenset({BinOp.ADD, BinOp.SUB, BinOp.MUL, BinOp.TRUEDIV})
#: consumers whose result is not finite when the operand (left, right) is not
PROPAGATES = {BinOp.ADD: (True, True), BinOp.SUB: (True, True), BinOp.MUL: (True, True),
              BinOp.TRUEDIV: (True, False)}
_NUMBERS = frozenset({VKind.INT, VKind.FLOAT, VKind.BOOL}) | NP_SCALARS
_NP_FLOATS = frozenset({VKind.NP_FLOAT32, VKind.NP_FLOAT64})


@dataclass(frozen=True)
class Pending:
    """A producer lowered without its check: its frame state, operands and result."""

    state: ir.FrameState
    op: BinOp
    x: ll.Value
    y: ll.Value
    r: ll.Value
    dest: Var
    covers: tuple[Pending, ...] = ()  # pending producers of its operands: caught with it


def _one_kind(types: Mapping[Var, Kinds], var: Var) -> VKind | None:
    kinds = types.get(var, frozenset())
    if len(kinds) != 1 or is_tagged(kinds):
        return None
    return next(iter(kinds))


def _np_float_op(types: Mapping[Var, Kinds], instr: ir.Instr, *, once: bool) -> bool:
    """A numpy float ``+ - * /``: the result a numpy float of one kind; ``once``: its
    operands of one kind each too (lowered once, not once per kind of a tagged one)."""
    if not isinstance(instr, ir.BinaryOp) or instr.op not in PROPAGATES:
        return False
    if _one_kind(types, instr.dest) not in _NP_FLOATS:
        return False
    operands = (_one_kind(types, instr.left), _one_kind(types, instr.right))
    return not once or all(k is not None and k in _NUMBERS for k in operands)


def pure(types: Mapping[Var, Kinds], instr: ir.Instr) -> bool:
    """Whether ``instr`` can lie between a producer and its consumer: its lowering
    stores nothing, calls nothing and makes no object (it may bail)."""
    if isinstance(instr, ir.Const):
        return _one_kind(types, instr.dest) in _NUMBERS
    if isinstance(instr, ir.BinaryOp):  # of numbers (tagged ones too: no object)
        return all(types.get(v, frozenset()) <= _NUMBERS for v in (instr.left, instr.right))
    if isinstance(instr, ir.ToInt):  # int() of a number: it bails or truncates
        return types.get(instr.operand, frozenset()) <= _NUMBERS
    if isinstance(instr, ir.GetCell | ir.GetItem):  # an element of an array, not a row
        seq = instr.arr if isinstance(instr, ir.GetCell) else instr.seq
        return (_one_kind(types, seq) is VKind.ARRAY
                and _one_kind(types, instr.dest) in NP_SCALARS)
    return False


def candidates(func: ir.Function, types: Mapping[Var, Kinds]) -> frozenset[Var]:
    """The producers (their results) whose check a consumer in their block catches."""
    uses: dict[Var, int] = {}
    for blk in func.blocks:
        for node in (*blk.instrs, blk.term):
            for v in node.uses():
                uses[v] = uses.get(v, 0) + 1
    found: set[Var] = set()
    for blk in func.blocks:  # linear: the next impure position and each first use
        instrs = blk.instrs
        impure = [len(instrs)] * (len(instrs) + 1)  # the first impure at or after i
        for i in range(len(instrs) - 1, -1, -1):
            impure[i] = impure[i + 1] if pure(types, instrs[i]) else i
        first_use: dict[Var, int] = {}
        for i, node in enumerate(instrs):
            for v in node.uses():
                first_use.setdefault(v, i)
        for i, p in enumerate(instrs):
            if not (_np_float_op(types, p, once=True) and isinstance(p, ir.BinaryOp)
                    and p.op in PRODUCERS and uses.get(p.dest) == 1):
                continue
            j = first_use.get(p.dest)
            if j is None or impure[i + 1] < j:  # used in another block, or past an effect
                continue
            c = instrs[j]
            if isinstance(c, ir.ToInt):  # int(): bails for a nan, an infinity
                found.add(p.dest)  # (npvalues.as_int)
            elif isinstance(c, ir.BinaryOp) and _np_float_op(types, c, once=False):
                left, right = PROPAGATES[c.op]
                if (c.left == p.dest and left) or (c.right == p.dest and right):
                    found.add(p.dest)
    return frozenset(found)


def deferrable(fl: FunctionLowering, op: BinOp, trap: ll.Value) -> bool:
    """Whether the numpy float operation being lowered may leave its check pending."""
    return (op in PRODUCERS and fl.cur_dest in fl.deferrable and fl.cur_state is not None
            and isinstance(trap, ll.Constant) and trap.constant == 0)


def catch(fl: FunctionLowering, op: BinOp, x: ll.Value, y: ll.Value) -> list[Pending]:
    """The pending producers the operation ``x op y`` being lowered catches: those of
    its operands that propagate, and what those producers cover (a chain ``a + b + c``
    of producers is caught by the chain's consumer)."""
    left, right = PROPAGATES.get(op, (False, False))
    out: list[Pending] = []

    def add(p: Pending) -> None:
        if p not in out:
            out.append(p)
            for q in p.covers:
                add(q)

    for p in fl.pending:
        if (left and p.r is x) or (right and p.r is y):
            add(p)
    return [p for p in fl.pending if p in out]


def catch_operand(fl: FunctionLowering, x: ll.Value) -> list[Pending]:
    """The pending producers a conversion of ``x`` that bails for a nan or an infinity
    (``int(x)``) catches."""
    return catch(fl, BinOp.ADD, x, x)


def caught(fl: FunctionLowering, found: list[Pending]) -> None:
    """One lowering (a leaf: a consumer of tagged operands has one per kind) of the
    instruction being lowered checked ``found``."""
    fl.leaf_catches.append(found)


def after_instr(fl: FunctionLowering, leaves: int) -> None:
    """The instruction lowered (``leaves`` times): what every leaf caught is no longer
    pending (each path past it checked it)."""
    catches, fl.leaf_catches = fl.leaf_catches, []
    if not catches or len(catches) != leaves:
        return
    done = [p for p in fl.pending if all(p in c for c in catches)]
    fl.pending = [p for p in fl.pending if p not in done]


def resolve(fl: FunctionLowering,
            exact: Callable[[FunctionLowering, Pending], ll.Value]) -> None:
    """In a bailout's cold block: deoptimise at the first pending producer whose exact
    predicate holds (program order); the builder ends in the block after the tests."""
    b = fl.b
    for p in fl.pending:
        target = fl.exits.target(p.state, ll.Constant(ll.IntType(32), Status.NUMPY))
        later = fl.block("numpy_pending_ok")
        b.cbranch(exact(fl, p), target, later)
        b.position_at_end(later)


def flush(fl: FunctionLowering, check: Callable[[FunctionLowering, Pending], None]) -> None:
    """Emit each pending producer's own check here, in program order (each under its
    own frame state, with only the producers before it already checked)."""
    pending, fl.pending = fl.pending, []
    state, dest = fl.cur_state, fl.cur_dest
    try:
        for p in pending:
            fl.cur_state, fl.cur_dest = p.state, p.dest
            check(fl, p)
    finally:
        fl.cur_state, fl.cur_dest = state, dest

