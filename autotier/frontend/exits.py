"""Deopt exits: the cold blocks that hand a failing frame to the interpreter.

Each instruction that may leave native code carries the frame state before its
bytecode instruction (:class:`autotier.frontend.ir.FrameState`).  The first bailout
lowered under a state makes that state a *site* (:mod:`autotier.deopt.sites`) and
gives it an exit block, which every later bailout under the same state shares (a phi
takes the status): the exit writes the frame into the deopt record (layout in
:mod:`autotier.abi`) and goes on to the function's bail block, which returns the
status.  Two kinds of exit per site:

- *own*: the failure is this frame's (a guard, an overflow, a raise): write the
  record's header with the status and this frame as the only one;
- *call*: a native callee returned a failure: append this frame, at its call
  instruction, after the frames the callee wrote.

A bailout under no state (the frame budget, checked before the first instruction)
writes a header with no frames: the caller's call exit then resumes at the call, and
at the root the entry re-runs the call in the interpreter.

With :mod:`autotier.deopt.forcing` on (tests only), every state of the function is a
site that deoptimises when the test names it, whether or not anything can fail there.
"""

from __future__ import annotations

from types import FunctionType
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import RECORD_HEADER, SLOT_WORDS, Status
from autotier.deopt import forcing, sites
from autotier.frontend import builtins_table as bt
from autotier.frontend.ir import FrameState, Var, VKind
from autotier.frontend.values import F64, I32, I64, LV, is_tagged, tag

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

_ZERO = ll.Constant(I64, 0)


def stack_entries(stack: tuple[object, ...], globals_: dict[str, object]
                  ) -> tuple[sites.StackEntry, ...]:
    """The record layout of a frame state's stack (statics become known entries)."""
    out: list[sites.StackEntry] = []

    def add(item: object) -> None:
        if isinstance(item, Var):
            out.append(sites.Slot())
        elif isinstance(item, bt.Null):
            out.append(sites.NullEntry())
        elif isinstance(item, bt.TupleValue):
            for sub in item.items:
                add(sub)
            out.append(sites.TupleEntry(len(item.items)))
        elif isinstance(item, bt.HotFunctionRef):
            out.append(sites.GlobalEntry(item.global_name))
        else:
            out.append(sites.ConstEntry(bt.static_object(item)))  # type: ignore[arg-type]

    for item in stack:
        add(item)
    return tuple(out)


Words = tuple[ll.Value, ll.Value, ll.Value, ll.Value]


class Exits:
    """The deopt sites and exit blocks of one function's lowering.

    Own exits share one block, filled by :meth:`finish`: each bailout computes its
    site's slot words where it branches (a conversion or none per value), and the
    shared block's phis take them, so a site costs its values as phi operands, not a
    store each.  Call exits (a native callee failed) append at a run-time position and
    get a block per site.
    """

    def __init__(self, fl: FunctionLowering, func: FunctionType,
                 record: ll.Value | None) -> None:
        self.fl = fl
        self.func = func
        self.record = record  # i64*, None where bailouts unwind (no frames)
        self.call_blocks: dict[int, tuple[ll.Block, ll.PhiInstr]] = {}
        # (predecessor, status, site or None, slot words) of each own bailout
        self.own: list[tuple[ll.Block, ll.Value, sites.Site | None, list[Words]]] = []
        self.own_block: ll.Block | None = None
        self.site_ids: dict[int, sites.Site] = {}  # state index -> site
        self.sites: list[sites.Site] = []
        self.own_words = 0  # the largest frame this function writes for itself
        self.call_words: list[tuple[int, object]] = []  # (frame words, callee spec)
        self.forced: set[int] = set()  # states given a forcing check
        self.unframed = 0  # bailouts lowered under no state

    @property
    def precise(self) -> bool:
        return self.record is not None

    # -------------------------------------------------------------- sites
    def site(self, state: FrameState) -> sites.Site:
        found = self.site_ids.get(state.index)
        if found is not None:
            return found
        site = sites.Site(
            id=sites.new_site_id(), func=self.func, code=self.func.__code__,
            index=state.index, offset=state.offset, line=state.line,
            varnames=self.func.__code__.co_varnames,
            stack=stack_entries(state.stack, self.func.__globals__), call=state.consumes)
        assert site.slots == len(state.values())
        sites.register(site)
        self.sites.append(site)
        self.site_ids[state.index] = site
        self.own_words = max(self.own_words, site.words)
        return site

    # -------------------------------------------------------------- exits
    def target(self, state: FrameState | None, status: ll.Value, *,
               callee: object = None) -> ll.Block:
        """The block a bailout with ``status`` under ``state`` branches to (from the
        current block, whose terminator the caller adds).  ``callee``: the spec of
        the native callee whose failure this is (a call exit)."""
        fl = self.fl
        if self.record is None:
            fl.bail_status.add_incoming(status, fl.b.block)
            return fl.bail_block
        if callee is not None and state is not None:
            return self._call_exit(state, status, callee)
        if state is None:
            self.unframed += 1
            self.own.append((fl.b.block, status, None, []))
        else:
            site = self.site(state)
            self.own.append((fl.b.block, status, site,
                             [self._slot(v) for v in state.values()]))
        if self.own_block is None:
            self.own_block = fl.block("deopt")
        return self.own_block

    def _call_exit(self, state: FrameState, status: ll.Value, callee: object) -> ll.Block:
        fl = self.fl
        if state.index not in self.call_blocks:
            site = self.site(state)
            block = fl.block("deopt_call")
            with fl.b.goto_block(block):
                phi = fl.b.phi(I32, name="status")
                self._append(site, state)
                self.call_words.append((site.words, callee))
                fl.bail_status.add_incoming(phi, block)
                fl.b.branch(fl.bail_block)
            self.call_blocks[state.index] = (block, phi)
        block, phi = self.call_blocks[state.index]
        phi.add_incoming(status, fl.b.block)
        return block

    def finish(self) -> None:
        """Fill the shared own exit: phis of every bailout's words, then the stores."""
        if self.own_block is None:
            return
        b = self.fl.b
        width = max((len(words) for _, _, _, words in self.own), default=0)
        with b.goto_block(self.own_block):
            status = b.phi(I32, name="status")
            site_id, frames, free = (b.phi(I64, name=n) for n in ("site", "frames", "free"))
            slots = [[b.phi(I64) for _ in range(SLOT_WORDS)] for _ in range(width)]
            undef = ll.Constant(I64, ll.Undefined)
            for pred, value, site, words in self.own:
                status.add_incoming(value, pred)
                site_id.add_incoming(ll.Constant(I64, site.id if site else 0), pred)
                frames.add_incoming(ll.Constant(I64, 1 if site else 0), pred)
                free.add_incoming(ll.Constant(
                    I64, RECORD_HEADER + (site.words if site else 0)), pred)
                for n, phis in enumerate(slots):
                    for k, phi in enumerate(phis):
                        phi.add_incoming(words[n][k] if n < len(words) else undef, pred)
            b.store(b.sext(status, I64), self._word(0))
            b.store(frames, self._word(1))
            b.store(free, self._word(2))
            b.store(site_id, self._word(RECORD_HEADER))
            for n, phis in enumerate(slots):
                for k, phi in enumerate(phis):
                    b.store(phi, self._word(RECORD_HEADER + 1 + SLOT_WORDS * n + k))
            self.fl.bail_status.add_incoming(status, self.own_block)
            b.branch(self.fl.bail_block)

    def _word(self, index: ll.Value | int) -> ll.Value:
        assert self.record is not None
        at = ll.Constant(I64, index) if isinstance(index, int) else index
        return self.fl.b.gep(self.record, [at], inbounds=True)

    def _append(self, site: sites.Site, state: FrameState) -> None:
        b = self.fl.b
        frames, free = b.load(self._word(1)), b.load(self._word(2))
        b.store(ll.Constant(I64, site.id), self._word(free))
        for n, var in enumerate(state.values()):
            for k, word in enumerate(self._slot(var)):
                at = b.add(free, ll.Constant(I64, 1 + SLOT_WORDS * n + k))
                b.store(word, self._word(at))
        b.store(b.add(frames, ll.Constant(I64, 1)), self._word(1))
        b.store(b.add(free, ll.Constant(I64, site.words)), self._word(2))

    def _slot(self, var: Var) -> Words:
        """The four words of ``var``'s slot (:class:`autotier.abi.SlotTag`), computed
        in the current block."""
        fl, b = self.fl, self.fl.b
        kinds = fl.types.get(var, frozenset())
        lv: LV | None = fl.values.get(var)
        if not kinds or lv is None:
            return (_ZERO, _ZERO, _ZERO, _ZERO)
        if kinds in ({VKind.RANGE}, {VKind.ITER}):
            first, second, third = lv
            return (ll.Constant(I64, next(iter(kinds))), first, second, third)
        if not is_tagged(kinds):
            (kind,) = kinds
            (value,) = lv
            if kind is VKind.FLOAT:
                return (ll.Constant(I64, kind), _ZERO, b.bitcast(value, I64), _ZERO)
            if kind is VKind.BOOL:
                return (ll.Constant(I64, kind), b.zext(value, I64), _ZERO, _ZERO)
            lv = tag(b, lv, kind, fl.ints)
        tag_word, ival, fval = lv
        if ival.type == I64:
            low, high = ival, b.ashr(ival, ll.Constant(I64, 63))
        else:
            low = b.trunc(ival, I64)
            high = b.trunc(b.ashr(ival, ll.Constant(ival.type, 64)), I64)
        bits = b.bitcast(fval, I64) if fval.type == F64 else fval
        return (tag_word, low, bits, high)

    # -------------------------------------------------------------- forcing
    def force_check(self, state: FrameState | None) -> None:
        """With forcing on, deoptimise at ``state`` when a test names its site."""
        if state is None or self.record is None or not forcing.enabled():
            return
        if state.index in self.forced:
            return
        self.forced.add(state.index)
        site = self.site(state)
        b = self.fl.b
        slot = ll.Constant(I64, forcing.address()).inttoptr(I64.as_pointer())
        hit = b.icmp_signed("==", b.load(slot), ll.Constant(I64, site.id))
        with b.if_then(hit, likely=False):
            b.store(_ZERO, slot)  # once
        self.fl.bail_if(hit, Status.FORCED, name="not_forced")
