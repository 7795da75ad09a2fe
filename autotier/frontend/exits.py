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

from collections.abc import Mapping
from types import FunctionType, MethodType
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import FORM_WORDS, RECORD_HEADER, SlotForm, Status
from autotier.deopt import forcing, sites
from autotier.frontend import builtins_table as bt
from autotier.frontend import cvalues, ir, owned
from autotier.frontend.ir import FrameState, Var, VKind
from autotier.frontend.kinds import NP_SCALARS
from autotier.frontend.values import I32, I64, is_nullable, is_tagged

_FORMS = {VKind.FLOAT: SlotForm.FLOAT, VKind.BOOL: SlotForm.BOOL, VKind.RANGE: SlotForm.RANGE,
          VKind.ITER: SlotForm.ITER, VKind.LIST: SlotForm.OBJECT, VKind.TUPLE: SlotForm.OBJECT,
          VKind.LIST_ITER: SlotForm.SEQ_ITER, VKind.TUPLE_ITER: SlotForm.SEQ_ITER,
          VKind.ARRAY: SlotForm.OBJECT, VKind.ARRAY_ITER: SlotForm.SEQ_ITER,
          VKind.OBJECT: SlotForm.OBJECT, VKind.INSTANCE: SlotForm.OBJECT,
          VKind.LIST_RITER: SlotForm.SEQ_RITER, VKind.TUPLE_RITER: SlotForm.SEQ_RITER}

if TYPE_CHECKING:
    from autotier.frontend.decode import DecodedFunction
    from autotier.frontend.lowering import FunctionLowering

_ZERO = ll.Constant(I64, 0)

#: The ``callee`` of a call exit whose record holds only a result frame below the
#: frame (a call through the C API: its outcome, not a native callee's frames).
RESULT_ONLY = ("a result frame",)


def stack_entries(stack: tuple[object, ...], found: Mapping[int, object] | None = None
                  ) -> tuple[sites.StackEntry, ...]:
    """The record layout of a frame state's stack (statics become known entries);
    ``found``: the functions bound methods were found to be, by uid (a method looked up
    before arguments that may run Python code: ``MethodType(func, obj)``, what CPython's
    lookup found, rather than a lookup now)."""
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
        elif isinstance(item, bt.BoundMethodValue) and found and item.uid in found:
            out.append(sites.NullEntry())  # MethodType(func, obj)
            out.append(sites.ConstEntry(MethodType))
            out.append(sites.ConstEntry(found[item.uid]))
            for sub in item.items:
                add(sub)
            out.append(sites.CallEntry(2))
        elif isinstance(item, bt.BoundMethodValue | bt.AttrValue):  # getattr(obj, name)
            out.append(sites.NullEntry())
            out.append(sites.ConstEntry(getattr))
            for sub in item.items:
                add(sub)
            out.append(sites.ConstEntry(item.name))
            out.append(sites.CallEntry(2))
        elif isinstance(item, bt.BuiltinCallValue):  # enumerate(it, count), zip(*its)
            out.append(sites.NullEntry())
            out.append(sites.ConstEntry(bt.static_object(bt.BuiltinRef(item.builtin))))
            for sub in item.items:
                add(sub)
            out.append(sites.CallEntry(len(item.items)))
        elif isinstance(item, bt.HotFunctionRef):
            out.append(sites.GlobalEntry(item.global_name))
        else:
            out.append(sites.ConstEntry(bt.static_object(item)))  # type: ignore[arg-type]

    for item in stack:
        add(item)
    return tuple(out)


def _consumed_entries(state: FrameState, found: Mapping[int, object] | None = None) -> int:
    """How many record stack entries the instruction consumes (a rebuilt bound method
    ``getattr(obj, name)`` is five: NULL, getattr, the object, the name, the call)."""
    if not state.consumes:
        return 0
    return len(stack_entries(state.stack[len(state.stack) - state.consumes:], found))


class Exits:
    """The deopt sites and exit blocks of one function's lowering.

    One exit block per site and kind (own or call), shared by every bailout under the
    state (a phi takes the status); it converts and stores the frame's values, on the
    cold path only.  (A single exit for the function, with a phi per record word, was
    measured: its phis of thousands of incoming edges made code generation of a
    1,600-statement function take 87 s instead of 2.)
    """

    def __init__(self, fl: FunctionLowering, func: FunctionType,
                 record: ll.Value | None, decoded: DecodedFunction) -> None:
        self.fl = fl
        self.func = func
        self.decoded = decoded
        # comprehensions spliced in (with the generator expressions' handler): what
        # resumes run
        self.code = decoded.inlined.resumable or decoded.compiled
        self.record = record  # i64*, None where bailouts unwind (no frames)
        self.blocks: dict[tuple[int, bool], tuple[ll.Block, ll.PhiInstr]] = {}
        self.site_ids: dict[int, sites.Site] = {}  # state index -> site
        self.sites: list[sites.Site] = []
        self.own_words = 0  # the largest frame this function writes for itself
        self.call_words: list[tuple[int, object]] = []  # (frame words, callee spec)
        self.forced: set[int] = set()  # states given a forcing check
        self.consts: dict[Var, object] | None = None  # Vars defined by a Const
        # the function each checked method lookup found, by its bound method's uid
        self.found_methods: dict[int, object] = {}
        self.words: dict[int, ll.Value] = {}  # constant record words' addresses (_word)


    # -------------------------------------------------------------- sites
    def site(self, state: FrameState) -> sites.Site:
        found = self.site_ids.get(state.index)
        if found is not None:
            return found
        forms: list[sites.Form] = []
        word = 1  # after the site id
        for var in state.values():
            form = self._form(var, word)
            forms.append(form)
            word += FORM_WORDS[form.form]
        site = sites.Site(
            id=sites.new_site_id(), func=self.func, code=self.code,
            index=state.index, offset=state.offset, line=state.line,
            varnames=self.code.co_varnames,
            stack=stack_entries(state.stack, self.found_methods),
            call=_consumed_entries(state, self.found_methods),
            forms=tuple(forms), nest=self._nest(state))
        assert site.slots == len(forms)
        sites.register(site)
        self.sites.append(site)
        self.site_ids[state.index] = site
        self.own_words = max(self.own_words, site.words)
        return site

    def generator_frames(self, state: FrameState | None) -> int:
        """How many generator frames (spliced ``sum``/``any``/``all`` generator
        expressions, :mod:`.genexps`) CPython 3.11 would have above the function's at
        ``state``."""
        inlined = self.decoded.inlined
        if state is None or not inlined.regions:
            return 0
        region, frames = inlined.origins[state.index][0], 0
        while region >= 0:
            frames += inlined.regions[region].code.co_name == "<genexpr>"
            region = inlined.regions[region].parent
        return frames

    def _nest(self, state: FrameState) -> tuple[sites.Level, ...]:
        """The frames a state inside a spliced list comprehension resumes as
        (:class:`autotier.deopt.sites.Level`); none (it resumes in the spliced code, as
        one frame) outside one, and where the comprehension stores an outer variable
        (a walrus: its cell would be another than the outer frame's), where its iterator
        is rebuilt by the resume (``enumerate``, ``zip``) and is also ``.0``, and in
        the iterable of a comprehension nested in another (``Inlined.unsplit``)."""
        inlined = self.decoded.inlined
        if not inlined.regions or state.index in inlined.unsplit:
            return ()
        region, at = inlined.origins[state.index]
        chain: list[int] = []
        while region >= 0:
            chain.insert(0, region)
            region = inlined.regions[region].parent
        if not chain or any(inlined.regions[r].writes for r in chain):
            return ()
        where = {name: i for i, name in enumerate(self.code.co_varnames)}
        root = self.decoded.code
        own = root.co_varnames + tuple(n for n in root.co_cellvars if n not in root.co_varnames)
        levels = [sites.Level(root, inlined.regions[chain[0]].call, self.func.__name__, 0,
                              tuple((n, where.get(n)) for n in own))]
        for k, r in enumerate(chain):
            reg = inlined.regions[r]
            innermost = k == len(chain) - 1
            dot0 = innermost and at <= reg.dot0
            if dot0 and not isinstance(state.stack[reg.depth], Var):
                return ()
            levels.append(sites.Level(
                reg.code, at if innermost else inlined.regions[chain[k + 1]].call,
                reg.code.co_name, len(stack_entries(state.stack[:reg.depth])),
                tuple((n, None if s is None else where.get(s)) for n, s in reg.names),
                tuple(where.get(f) for f in reg.free), dot0))
        return tuple(levels)

    def _form(self, var: Var, word: int) -> sites.Form:
        """How ``var`` is held in the record: what its kinds say (abi.SlotForm)."""
        fl = self.fl
        if self.consts is None:
            self.consts = {i.dest: i.value for blk in fl.typed.func.blocks for i in blk.instrs
                           if isinstance(i, ir.Const)}
        kinds = fl.types.get(var, frozenset())
        if var in self.consts:
            return sites.Form(SlotForm.CONST, 0, self.consts[var])
        if not kinds or kinds == {VKind.UNDEF} or var not in fl.values:
            return sites.Form(SlotForm.UNBOUND)  # never reached holding a value
        if kinds == {VKind.NONE}:
            return sites.Form(SlotForm.CONST, 0, None)
        if is_nullable(kinds):  # NULL: unbound
            return sites.Form(SlotForm.OBJECT, word)
        if is_tagged(kinds):
            return sites.Form(SlotForm.TAGGED, word)
        (kind,) = kinds
        if kind is VKind.INT:
            return sites.Form(SlotForm.INT if fl.ints == I64 else SlotForm.WIDE, word)
        if kind in NP_SCALARS:  # the bits; the form names the dtype
            return sites.Form(SlotForm.NUMPY, word, kind.name.removeprefix("NP_").lower())
        if kind is VKind.COMPLEX:  # the two parts' bits
            return sites.Form(SlotForm.COMPLEX, word)
        return sites.Form(_FORMS[kind], word)

    # -------------------------------------------------------------- exits
    def target(self, state: FrameState | None, status: ll.Value, *,
               callee: object = None) -> ll.Block:
        """The block a bailout with ``status`` under ``state`` branches to (from the
        current block, whose terminator the caller adds).  ``callee``: the spec of
        the native callee whose failure this is (a call exit).  A bailout that holds
        references the frame state does not first releases them (:mod:`.owned`)."""
        fl = self.fl
        if self.record is None:
            fl.bail_status.add_incoming(status, fl.b.block)
            return fl.bail_block
        own = callee is None or state is None
        key = (state.index if state is not None else -1, own)
        if key not in self.blocks:
            with fl.b.goto_block(fl.block("deopt" if state is not None else "deopt_unframed")):
                self.blocks[key] = (fl.b.block, self._exit(state, own, callee))
        block, phi = self.blocks[key]
        if not own and state is not None:  # the record holds this callee's frames too
            # (one exit, shared by a C-API call's result frame and a constructor's
            # __init__: frontend.construct)
            words = (self.site(state).words, callee)
            if words not in self.call_words:
                self.call_words.append(words)
        extra = owned.releasing_on_bail(fl, state)
        if not extra:
            phi.add_incoming(status, fl.b.block)
            return block
        release = fl.block("release")
        with fl.b.goto_block(release):
            for var in extra:
                owned.adjust(fl, var, -1, hot=False)
            fl.b.branch(block)
        phi.add_incoming(status, release)
        return release

    def _exit(self, state: FrameState | None, own: bool, callee: object) -> ll.PhiInstr:
        """The exit's code (the builder in its block): the record's frame, then the
        references the state holds released; its status phi.  A SIGNAL (an exception
        set, propagated at once: nobody reads the record) leaves no frames."""
        fl = self.fl
        b = fl.b
        phi = b.phi(I32, name="status")
        signal = b.icmp_signed("==", phi, ll.Constant(I32, Status.SIGNAL))
        if state is None:
            self._header(phi, 0, RECORD_HEADER)
        elif own:
            site = self.site(state)
            with b.if_else(signal, likely=False) as (no_frames, frames):
                with no_frames:
                    self._header(phi, 0, RECORD_HEADER)
                with frames:
                    self._header(phi, 1, RECORD_HEADER + site.words)
                    self._frame(site, state, None)
        else:
            site = self.site(state)
            with b.if_then(b.not_(signal)):
                count, free = b.load(self._word(1)), b.load(self._word(2))
                self._frame(site, state, free)
                b.store(b.add(count, ll.Constant(I64, 1)), self._word(1))
                b.store(b.add(free, ll.Constant(I64, site.words)), self._word(2))
            self.call_words.append((site.words, callee))
        if state is not None:
            for var in owned.state_owned(fl, state):
                owned.adjust(fl, var, -1, hot=False)
        fl.bail_status.add_incoming(phi, b.block)
        b.branch(fl.bail_block)
        return phi

    def _word(self, index: ll.Value | int) -> ll.Value:
        """The address of record word ``index``.  A constant word's is computed once,
        in the entry block, for every exit (LLVM folds it into each store's addressing
        either way; one per exit was a fifth of a body's instructions)."""
        assert self.record is not None
        if not isinstance(index, int):
            return self.fl.b.gep(self.record, [index], inbounds=True)
        word = self.words.get(index)
        if word is None:
            at = self.fl.allocas
            with at.goto_entry_block():
                at.position_at_start(self.fl.fn.entry_basic_block)
                word = at.gep(self.record, [ll.Constant(I64, index)], inbounds=True,
                              name=f"word{index}")
            self.words[index] = word
        return word

    def _header(self, status: ll.Value, frames: int, free: int) -> None:
        b = self.fl.b
        b.store(b.sext(status, I64), self._word(0))
        b.store(ll.Constant(I64, frames), self._word(1))
        b.store(ll.Constant(I64, free), self._word(2))

    def _frame(self, site: sites.Site, state: FrameState, at: ll.Value | None) -> None:
        """Store this frame at word ``at`` (None: the first frame, at constant offsets)."""
        b = self.fl.b

        def word(k: int) -> ll.Value:
            return self._word(RECORD_HEADER + k if at is None
                              else b.add(at, ll.Constant(I64, k)))

        b.store(ll.Constant(I64, site.id), word(0))
        for form, var in zip(site.forms, state.values(), strict=True):
            for k, value in enumerate(self._words(form, var)):
                b.store(value, word(form.word + k))

    def _words(self, form: sites.Form, var: Var) -> list[ll.Value]:
        """The words ``var`` is stored in (computed on the cold path)."""
        fl, b = self.fl, self.fl.b
        f = form.form
        if f in (SlotForm.UNBOUND, SlotForm.CONST):
            return []
        lv = fl.values[var]
        if f in (SlotForm.RANGE, SlotForm.ITER):
            return list(lv)
        if f is SlotForm.OBJECT:  # the record owns a reference (sites.read_record takes it)
            owned.incref(fl, lv[0])
            return [b.ptrtoint(lv[0], I64)]
        if f in (SlotForm.SEQ_ITER, SlotForm.SEQ_RITER):
            owned.incref(fl, lv[0])
            return [b.ptrtoint(lv[0], I64), lv[1]]
        if f is SlotForm.INT:
            return [lv[0]]
        if f is SlotForm.WIDE:
            return [b.trunc(lv[0], I64), b.trunc(b.ashr(lv[0], ll.Constant(lv[0].type, 64)), I64)]
        if f is SlotForm.FLOAT:
            return [b.bitcast(lv[0], I64)]
        if f is SlotForm.BOOL:
            return [b.zext(lv[0], I64)]
        if f is SlotForm.COMPLEX:
            return [b.bitcast(part, I64) for part in cvalues.parts(b, lv[0])]
        if f is SlotForm.NUMPY:  # the bits, zero-extended (decoded from the low bytes)
            (value,) = lv
            if isinstance(value.type, ll.DoubleType):
                return [b.bitcast(value, I64)]
            if isinstance(value.type, ll.FloatType):
                return [b.zext(b.bitcast(value, I32), I64)]
            return [value if value.type == I64 else b.zext(value, I64)]
        tag_word, ival, fval = lv  # TAGGED
        if ival.type == I64:
            low, high = ival, b.ashr(ival, ll.Constant(I64, 63))
        else:
            low = b.trunc(ival, I64)
            high = b.trunc(b.ashr(ival, ll.Constant(ival.type, 64)), I64)
        return [tag_word, low, b.bitcast(fval, I64), high]

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
