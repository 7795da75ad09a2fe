"""Owned references: every object-valued SSA value holds one reference of its own.

A value of kind list, tuple, ndarray, an iterator over one (which holds its sequence),
or ``object`` (a built tuple) *owns* one reference to its object, for as long as it is
live; the lowering emits the increfs and decrefs that keep that true, from a
liveness analysis of the typed IR (``docs/architecture.md``, "Owned references"):

- a parameter takes its reference when the function starts (the caller's stays the
  caller's); an instruction that makes an object (a list literal, ``[v] * n``, a
  tuple loaded from a list, ``numpy.zeros``) gives its result a new one;
- an instruction whose result is its operand's object again (``CheckBound``, an
  iterator from its sequence, the iterator after a step) *moves* the operand's
  reference when the operand dies there, and takes another when both live on;
- a value is released just after its last use, a frame state counting as a use (so
  a local keeps its object as long as the interpreter's frame would); one that dies
  on a jump is released on that edge, one passed to a block parameter moves into it
  (another reference for each more parameter or a later use in the target);
- a return moves the result's reference to the caller and releases every other;
- a bailout releases what the frame state does not hold before it reaches the
  site's exit, which hands a reference per slot to the deopt record (the record owns
  them: :func:`autotier.deopt.sites.read_record` takes them) and then releases the
  state's own.

Programs whose bailouts unwind (recursion) skip all of it (their bodies may not make
objects: ``ModuleLowering`` declines them), so there ``owned`` is None.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.dispatch.irutil import PTR, declare, field
from autotier.frontend import ir
from autotier.frontend.ir import Kinds, Var, VKind
from autotier.frontend.values import I64, i64, is_nullable

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering
    from autotier.frontend.typeinfer import Typed

#: kinds whose values hold an object (an iterator: its sequence)
OBJECT_KINDS = frozenset({VKind.LIST, VKind.TUPLE, VKind.LIST_ITER, VKind.TUPLE_ITER,
                          VKind.ARRAY, VKind.ARRAY_ITER, VKind.OBJECT, VKind.INSTANCE,
                          VKind.LIST_RITER, VKind.TUPLE_RITER})

Live = frozenset[Var]
_NONE: Live = frozenset()


def holds_object(kinds: Kinds) -> bool:
    """One object kind, or a list or tuple local maybe unbound (NULL: no reference,
    which ``Py_IncRef``/``Py_DecRef`` skip)."""
    return (len(kinds) == 1 and next(iter(kinds)) in OBJECT_KINDS) or is_nullable(kinds)


def shared_source(instr: ir.Instr) -> Var | None:
    """The operand whose object ``instr``'s result is again (no new reference), if any."""
    if isinstance(instr, ir.CheckBound):
        return instr.operand
    if isinstance(instr, ir.GetIter):
        return instr.operand
    if isinstance(instr, ir.IterAdvance):
        return instr.it
    return None


def makes_object(instr: ir.Instr, kinds: Kinds) -> bool:
    """Whether ``instr`` (its result of ``kinds``) makes a new reference native code owns."""
    return holds_object(kinds) and shared_source(instr) is None


def _state_vars(state: ir.FrameState | None) -> Iterator[Var]:
    if state is not None:
        yield from state.values()


class Ownership:
    """Which object-valued Vars are live before each instruction and terminator."""

    def __init__(self, typed: Typed) -> None:
        self.typed = typed
        types = typed.types
        self.owned = frozenset(v for v, k in types.items() if holds_object(k))
        func = typed.func
        self.before: dict[Var, Live] = {}  # instruction dest -> live before it
        self.after: dict[Var, Live] = {}  # instruction dest -> live after it
        self.term_before: dict[int, Live] = {}
        self.live_in: dict[int, Live] = {b.id: _NONE for b in func.blocks}
        order = func.reverse_postorder()
        changed = True
        while changed:
            changed = False
            for bid in reversed(order):
                live = self._block(func.block(bid))
                if live != self.live_in[bid]:
                    self.live_in[bid] = live
                    changed = True

    def _mine(self, vars_: Iterable[Var]) -> set[Var]:
        return {v for v in vars_ if v in self.owned}

    def _block(self, blk: ir.Block) -> Live:
        live: set[Var] = set()
        for target, args in blk.term.successors():
            live |= self.live_in[target] | self._mine(args)
        live |= self._mine(blk.term.uses()) | self._mine(_state_vars(blk.term.state))
        self.term_before[blk.id] = frozenset(live)
        for instr in reversed(blk.instrs):
            self.after[instr.dest] = frozenset(live)
            live.discard(instr.dest)
            live |= self._mine(instr.uses()) | self._mine(_state_vars(instr.state))
            self.before[instr.dest] = frozenset(live)
        return frozenset(live - set(blk.params))

    def first_live(self, blk: ir.Block) -> Live:
        """What is live where ``blk`` begins (its parameters included)."""
        if blk.instrs:
            return self.before[blk.instrs[0].dest]
        return self.term_before[blk.id]

    def edge(self, bid: int, target: int, args: tuple[Var, ...]) -> list[tuple[Var, int]]:
        """The references to take (+n) or release (-1) on the jump from ``bid`` to
        ``target`` passing ``args``: each owned Var live at the jump keeps one reference
        per parameter it is passed to and one if the target still uses it."""
        out = []
        later = self.live_in[target]
        for v in sorted(self.term_before[bid], key=lambda v: v.id):
            needed = args.count(v) + (v in later)
            if needed != 1:
                out.append((v, needed - 1))
        return out


# ------------------------------------------------------------------ emitting


def incref(fl: FunctionLowering, obj: ll.Value) -> None:
    fl.b.call(declare(fl.ml.module, "Py_IncRef", ll.VoidType(), [PTR]), [obj])


def decref(fl: FunctionLowering, obj: ll.Value) -> None:
    fl.b.call(declare(fl.ml.module, "Py_DecRef", ll.VoidType(), [PTR]), [obj])


#: 3.11's Py_INCREF / Py_DECREF are a plain count (3.12's skip immortal objects: call)
_INLINE = compat.PY_VERSION == (3, 11)


def incref_inline(fl: FunctionLowering, obj: ll.Value) -> None:
    """Py_INCREF of a non-NULL object, inline where the count is plain (hot paths)."""
    if not _INLINE:
        incref(fl, obj)
        return
    b = fl.b
    count = field(b, obj, compat.OB_REFCNT, I64)
    b.store(b.add(b.load(count), i64(1)), count)


def decref_inline(fl: FunctionLowering, obj: ll.Value) -> None:
    """Py_DECREF of a non-NULL object: inline, its deallocation out of line."""
    if not _INLINE:
        decref(fl, obj)
        return
    b = fl.b
    count = field(b, obj, compat.OB_REFCNT, I64)
    left = b.sub(b.load(count), i64(1))
    b.store(left, count)
    with b.if_then(b.icmp_signed("==", left, i64(0)), likely=False):
        b.call(declare(fl.ml.module, "_Py_Dealloc", ll.VoidType(), [PTR]), [obj])


def adjust(fl: FunctionLowering, var: Var, delta: int, *, hot: bool = True) -> None:
    """Add ``delta`` to ``var``'s reference count.  ``hot`` (the function's own paths):
    inline where the count is plain, so LLVM cancels a loop edge's increment against
    the next decrement (an array iterator's, every iteration) and keeps the count in
    a register; a NULL pointer (an unbound local, a row past its iterator's end) is
    skipped, as Py_IncRef and Py_DecRef do.  Cold exits call those (less code)."""
    obj = fl.values[var][0]
    if delta == 0:
        return
    if not (hot and _INLINE):
        for _ in range(delta):
            incref(fl, obj)
        for _ in range(-delta):
            decref(fl, obj)
        return
    b = fl.b
    with b.if_then(b.icmp_unsigned("!=", obj, ll.Constant(obj.type, None)), likely=True):
        if delta > 0:
            count = field(b, obj, compat.OB_REFCNT, I64)
            b.store(b.add(b.load(count), i64(delta)), count)
        else:
            count = field(b, obj, compat.OB_REFCNT, I64)
            left = b.sub(b.load(count), i64(-delta))
            b.store(left, count)
            with b.if_then(b.icmp_signed("==", left, i64(0)), likely=False):
                b.call(declare(fl.ml.module, "_Py_Dealloc", ll.VoidType(), [PTR]), [obj])


def block_start(fl: FunctionLowering, blk: ir.Block) -> None:
    """A parameter's reference where a block begins: the entry's parameters take one
    (if used), another block's release theirs when unused."""
    owned = fl.owned
    if owned is None:
        return
    live = owned.first_live(blk)
    entry = blk.id == fl.typed.func.entry
    for param in blk.params:
        if param not in owned.owned:
            continue
        if entry and param in live:
            adjust(fl, param, 1)
        elif not entry and param not in live:
            adjust(fl, param, -1)


def after_instr(fl: FunctionLowering, instr: ir.Instr) -> None:
    """Release what dies at ``instr``; give its result its reference."""
    owned = fl.owned
    if owned is None:
        return
    before, after = owned.before[instr.dest], owned.after[instr.dest]
    source = shared_source(instr)
    if source is not None and source not in owned.owned:
        source = None
    for v in sorted(before - after, key=lambda v: v.id):
        if v != source:
            adjust(fl, v, -1)
    dest = instr.dest
    if dest not in owned.owned:
        return
    if source is not None:  # the result is the operand's object again
        adjust(fl, source, (source in after) + (dest in after) - 1)
    elif dest not in after:  # a new reference nobody uses
        adjust(fl, dest, -1)


def releases(fl: FunctionLowering, instr: ir.Instr) -> bool:
    """Whether :func:`after_instr` may release a reference after ``instr`` (a
    finaliser could run there)."""
    owned = fl.owned
    if owned is None:
        return False
    before, after = owned.before[instr.dest], owned.after[instr.dest]
    return bool(before - after) or (instr.dest in owned.owned and instr.dest not in after)


def before_return(fl: FunctionLowering, bid: int, value: Var) -> None:
    """Release everything but the result, whose reference goes to the caller."""
    owned = fl.owned
    if owned is None:
        return
    for v in sorted(owned.term_before[bid], key=lambda v: v.id):
        if v != value:
            adjust(fl, v, -1)


def releasing_on_bail(fl: FunctionLowering, state: ir.FrameState | None) -> list[Var]:
    """What a bailout at the current point releases before its site's exit: the live
    values the frame state does not hold (the exit releases those it does)."""
    owned = fl.owned
    if owned is None:
        return []
    held = set(_state_vars(state))
    return sorted((v for v in fl.cur_live if v not in held and v in fl.values),
                  key=lambda v: v.id)


def state_owned(fl: FunctionLowering, state: ir.FrameState) -> list[Var]:
    """The distinct owned values a frame state holds (its exit releases them)."""
    owned = fl.owned
    if owned is None:
        return []
    return sorted({v for v in state.values() if v in owned.owned and v in fl.values},
                  key=lambda v: v.id)
