"""Stage 4: typed IR -> an llvmlite module.

Every specialisation becomes an internal *fast* function::

    {i32 status, <result values>} fast(<params>, i64 budget [, i8* unwind])

returning its result in registers (the out-pointer ABI costs recursion dearly,
FINDINGS.md), and the root also gets the exported *body* of :mod:`autotier.abi`,
which calls its fast function and stores the result into ``out``.  The budget is
checked once, on entry of each fast function; calls pass ``budget - 1``.

Bailouts in a recursive program (a cycle of native calls: recursion, mutual recursion)
*unwind*: the exported body saves its context with ``_setjmp`` into a buffer passed to
every fast function as ``unwind``, and a bailout anywhere ``longjmp``s there with its
status.  So a caller never tests a status after a call (that test, and the status
register kept live across the call, cost recursion a quarter of its time: fib(25) 368
-> 290 us).  Unwinding is exact: bodies have no effects and hold nothing that needs
releasing (the periodic check gives the GIL back before it can bail).  Other programs
return their status instead: a ``_setjmp`` on every call of a function that makes no or
few native calls would cost more than it saves.  The buffer is sized for glibc's x86-64
``jmp_buf`` (200 bytes), the platform autotier runs on.

Values are tuples of scalars (:mod:`autotier.frontend.values`).  An instruction
whose operands can each have several kinds is *split*: a switch on each tagged
operand's tag leads to one straight-line leaf per combination of kinds
(:mod:`autotier.frontend.ops`), whose results meet in phis.  A failed guard (a
numerics helper's status, an unbound local, range() with step 0 ...) branches to
the one bail block, which returns the status (or unwinds with it).  Every loop back
edge also gets the periodic check of :mod:`autotier.frontend.periodic` (signals, other
threads, rebound globals).
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any

from llvmlite import ir as ll

from autotier.abi import (
    RECORD_HEADER,
    RESULT_FRAME_WORDS,
    RESULT_IR,
    ArrayKind,
    CalleeKind,
    InstanceKind,
    InstancesKind,
    Kind,
    NumpyKind,
    Status,
)
from autotier.deopt import sites
from autotier.dispatch.irutil import declare
from autotier.frontend import (
    attrguards,
    attrs,
    capi,
    cpower,
    cvalues,
    deferred,
    finishing,
    ir,
    nanbits,
    npvalues,
    ops,
    owned,
    periodic,
)
from autotier.frontend.arrayfields import ArrayFields
from autotier.frontend.errors import Unsupported
from autotier.frontend.exits import RESULT_ONLY, Exits
from autotier.frontend.ir import NO_KINDS, Kinds, Var, VKind
from autotier.frontend.kinds import NP_SCALARS, SEQUENCES, vkind_of
from autotier.frontend.numerics import Numerics
from autotier.frontend.program import Program, Spec, native_calls
from autotier.frontend.typeinfer import BOXED_RESULTS, OPAQUE_RESULT, Typed
from autotier.frontend.values import (
    I1,
    I32,
    I64,
    I128,
    LV,
    coerce,
    i64,
    is_nullable,
    is_tagged,
    llvm_types,
    scalar_type,
    tag,
    untag,
)
from autotier.frontend.wideints import WIDE_VERSIONS, fits_int64
from autotier.jit import engine

RESULT = ll.LiteralStructType([I64, I64, ll.DoubleType(), I64])
assert str(RESULT).replace(" ", "") == RESULT_IR.replace(" ", "")
PTR8 = ll.IntType(8).as_pointer()
JMP_BUF = ll.ArrayType(I64, 32)  # >= glibc's x86-64 jmp_buf (200 bytes), 8-aligned
_ABI_TYPES = {Kind.INT: I64, Kind.FLOAT: ll.DoubleType(), Kind.BOOL: I1, Kind.LIST: PTR8,
              Kind.TUPLE: PTR8, Kind.COMPLEX: PTR8, Kind.NONE: PTR8}
_INT_TYPES = {64: I64, 128: I128}


def _recursive(program: Program) -> bool:
    """True if the program's native calls form a cycle (recursion, mutual recursion):
    then a status test after every call costs more than one ``_setjmp`` per entry."""
    calls: dict[FunctionType, set[FunctionType]] = {}
    for (func, _), typed in program.typed.items():
        callees = calls.setdefault(func, set())
        callees.update(f for f, _ in native_calls(program, typed))
    done: set[FunctionType] = set()

    def cycle_from(func: FunctionType, path: set[FunctionType]) -> bool:
        if func in path:
            return True
        if func in done:
            return False
        path.add(func)
        found = any(cycle_from(c, path) for c in calls.get(func, ()))
        path.discard(func)
        done.add(func)
        return found

    return any(cycle_from(f, set()) for f in calls)


def _stores(program: Program) -> bool:
    """Whether any function of the program has an effect (a store into a list, an
    append) or calls through the C API (which may run Python code)."""
    return bool(program.opaque) or any(
        isinstance(instr, ir.SetItem | ir.SetCell | ir.ListAppend | ir.CallBuiltin
                   | ir.Contains | ir.CallObject | ir.GetAttr | ir.SetAttr | ir.DelAttr
                   | ir.CallMethod)
        for typed in program.typed.values()
        for bid in typed.reached for instr in typed.func.block(bid).instrs)


def _makes_objects(program: Program) -> bool:
    """Whether any function of the program makes an object it must release (a list
    literal, ``[v] * n``, a tuple loaded from a list); the root's returned tuple is
    handed over at once."""
    return any(owned.makes_object(instr, typed.types[instr.dest])
               and instr.dest not in _returned_tuples(typed)
               for typed in program.typed.values()
               for bid in typed.reached for instr in typed.func.block(bid).instrs)


def _returned_tuples(typed: Typed) -> set[Var]:
    """Tuples made to be returned at once (``return a, b``): handed over, never held."""
    made = {i.dest for blk in typed.func.blocks for i in blk.instrs
            if isinstance(i, ir.MakeTuple)}
    return {blk.term.value for blk in typed.func.blocks
            if isinstance(blk.term, ir.Return) and blk.term.value in made}


def _spec_text(spec: Spec) -> str:
    return "_".join(k.name.lower() for k in spec[1]) or "noargs"


class ModuleLowering:
    """Lowers every specialisation of a :class:`Program` into one llvmlite module."""

    def __init__(self, program: Program, body_name: str, int_bits: int = 64) -> None:
        self.program = program
        self.body_name = body_name
        self.ints: ll.IntType = _INT_TYPES[int_bits]  # how Python ints are held
        self.unwinds = _recursive(program)  # bailouts longjmp to the exported body
        if self.unwinds and _stores(program):
            # an unwound bailout re-runs the call from its start: exact only without effects
            raise Unsupported("a recursive program that stores into lists, calls sum, min "
                              "or max of one, calls a function it cannot compile or reads "
                              "or writes attributes is not supported (its bailouts re-run "
                              "the call)")
        if self.unwinds and _makes_objects(program):
            # a longjmp past a frame would leak the references it owns
            raise Unsupported("a recursive program that makes lists or holds tuples is not "
                              "supported (its bailouts unwind past the references they own)")
        self.module = ll.Module(name=body_name)
        self.numerics = Numerics(self.module)
        self.functions: dict[Spec, ll.Function] = {}
        # the methods checked lookups found (called by address where their arguments
        # ran: the compiled code keeps them, and the entry checks their code)
        self.found: dict[FunctionType, CodeType] = {}
        self.exits: dict[Spec, Exits] = {}

    def fast_function(self, func: FunctionType, kinds: tuple[CalleeKind, ...]) -> ll.Function:
        spec = (func, kinds)
        if spec not in self.functions:
            typed = self.program.typed[spec]
            ret = ll.LiteralStructType([I32, *llvm_types(typed.returns, self.ints)])
            params = [scalar_type(vkind_of(k), self.ints) for k in kinds]
            extra = [PTR8] if self.unwinds else [I64.as_pointer()]  # unwind or record
            fnty = ll.FunctionType(ret, [*params, I64, *extra])
            # (a method and a function may share a name: Walker.ahead and ahead)
            name = self.module.get_unique_name(
                f"{self.body_name}.{func.__qualname__}.{_spec_text(spec)}")
            fn = ll.Function(self.module, fnty, name)
            fn.linkage = "internal"
            fn.attributes.add("nounwind")
            for arg, var in zip(fn.args, typed.func.params, strict=False):
                arg.name = var.hint
            fn.args[len(kinds)].name = "budget"
            fn.args[len(kinds) + 1].name = "unwind" if self.unwinds else "record"
            self.functions[spec] = fn
        return self.functions[spec]

    def run(self) -> ll.Module:
        for spec, typed in self.program.typed.items():
            lowering = FunctionLowering(self, typed, self.fast_function(*spec), spec[0])
            lowering.lower()
            self.exits[spec] = lowering.exits
        self._root_body()
        return self.module

    @property
    def sites(self) -> tuple[sites.Site, ...]:
        """Every deopt site of the module (the compiled code must keep them alive)."""
        return tuple(site for exits in self.exits.values() for site in exits.sites)

    @property
    def finishes_callees(self) -> bool:
        """Whether a body may ask the record's keeper to finish a deoptimised native
        callee (:mod:`.finishing`): the entry then fills the keeper's header words."""
        return not self.unwinds and any(exits.call_words for exits in self.exits.values())

    def record_words(self) -> int:
        """The deopt record the root body may write: the longest chain of frames."""
        longest: dict[Spec, int] = {}

        def chain(spec: Spec) -> int:
            if spec not in longest:
                longest[spec] = 0  # a cycle (never: cycles unwind, writing no frames)
                exits = self.exits[spec]
                longest[spec] = max([exits.own_words, *(
                    words + max(RESULT_FRAME_WORDS,
                                0 if callee is RESULT_ONLY else chain(callee))  # type: ignore[arg-type]
                    for words, callee in exits.call_words)])
            return longest[spec]

        return RECORD_HEADER + chain(self.program.root)

    def _root_body(self) -> None:
        """``i32 body(<params>, Result *out, i64 budget)``: the exported ABI entry."""
        root = self.program.root
        typed = self.program.typed[root]
        params = [PTR8 if isinstance(k, ArrayKind | InstanceKind | InstancesKind)
                  else scalar_type(vkind_of(k), I64)
                  if isinstance(k, NumpyKind) else _ABI_TYPES[k] for k in root[1]]
        fnty = ll.FunctionType(I32, [*params, RESULT.as_pointer(), I64, I64.as_pointer()])
        fn = ll.Function(self.module, fnty, self.body_name)
        for arg, var in zip(fn.args[:-3], typed.func.params, strict=True):
            arg.name = var.hint
        out, budget, record = fn.args[-3], fn.args[-2], fn.args[-1]
        out.name, budget.name, record.name = "out", "budget", "record"
        b = ll.IRBuilder(fn.append_basic_block("entry"))
        args = [b.sext(a, self.ints) if k is Kind.INT and self.ints is not I64 else
                cvalues.load(b, a) if k is Kind.COMPLEX else  # a complex: its two doubles
                ll.Constant(ll.IntType(1), 0) if k is Kind.NONE else a  # None: no value
                for a, k in zip(fn.args[:-3], root[1], strict=True)]
        if self.unwinds:  # a bailout anywhere below comes back here, with its status
            buffer = b.bitcast(b.alloca(JMP_BUF, name="unwind"), PTR8)
            setjmp = declare(self.module, engine.SETJMP, I32, [PTR8],
                             ("returns_twice", "nounwind"))
            bailed = b.call(setjmp, [buffer], name="bailed")
            with b.if_then(b.icmp_signed("!=", bailed, ll.Constant(I32, 0)), likely=False):
                # an unwound bailout leaves no frames: the entry re-runs the call
                b.store(i64(0), b.gep(record, [i64(1)], inbounds=True))
                b.ret(bailed)
            args.append(budget)
            args.append(buffer)
        else:
            args.append(budget)
            args.append(record)
        result = b.call(self.fast_function(*root), args, name="result")
        status = b.extract_value(result, 0, name="status")
        kinds = typed.returns
        if kinds:
            ok = fn.append_basic_block("ok")
            done = fn.append_basic_block("done")
            b.cbranch(b.icmp_signed("==", status, ll.Constant(I32, Status.OK)), ok, done)
            b.position_at_end(ok)
            n = len(llvm_types(kinds, self.ints))
            lv = tuple(b.extract_value(result, i + 1) for i in range(n))
            kind, ival, fval = lv if is_tagged(kinds) else tag(b, lv, next(iter(kinds)), self.ints)
            high = i64(0)
            if self.ints is not I64:  # an int beyond int64 leaves as WIDE_INT, two halves
                beyond = b.and_(b.icmp_unsigned("==", kind, i64(Kind.INT)),
                                b.not_(fits_int64(b, ival)))
                kind = b.select(beyond, i64(Kind.WIDE_INT), kind)
                high = b.trunc(b.ashr(ival, ll.Constant(self.ints, 64)), I64)
                ival = b.trunc(ival, I64)
            for i, value in enumerate((kind, ival, fval, high)):
                b.store(value, b.gep(out, [ll.Constant(I32, 0), ll.Constant(I32, i)]))
            b.branch(done)
            b.position_at_end(done)
        b.ret(status)


class FunctionLowering:
    """Lowers one typed specialisation into its fast function."""

    def __init__(self, ml: ModuleLowering, typed: Typed, fn: ll.Function,
                 func: FunctionType) -> None:
        self.ml = ml
        self.ints = ml.ints
        self.typed = typed
        self.types = typed.types
        self.fn = fn
        nparams = len(typed.func.params)
        self.own_budget = fn.args[nparams]  # (see budget)
        self.unwind = fn.args[nparams + 1] if ml.unwinds else None
        record = None if ml.unwinds else fn.args[nparams + 1]
        entry = fn.append_basic_block("entry")
        self.allocas = ll.IRBuilder(entry)
        self.b = ll.IRBuilder(entry)
        self.bail_block = fn.append_basic_block("bail")
        with self.b.goto_block(self.bail_block):
            self.bail_status = self.b.phi(I32, name="status")
            if self.unwind is not None:
                longjmp = declare(ml.module, engine.LONGJMP, ll.VoidType(), [PTR8, I32],
                                  ("noreturn", "nounwind", "cold"))
                self.b.call(longjmp, [self.unwind, self.bail_status])
                self.b.unreachable()
            else:
                self.b.ret(self._failure(self.bail_status))
        self.values: dict[Var, LV] = {}
        self.blocks: dict[int, ll.Block] = {}
        self.phis: dict[int, list[tuple[ll.PhiInstr, ...]]] = {}
        self.incoming: list[tuple[int, tuple[LV, ...], ll.Block]] = []  # (target, args, pred)
        self.order: dict[int, int] = {}  # block id -> position in reverse postorder
        self.ticks: ll.Value | None = None  # i64 slot: loop iterations to the next check
        # values whose nan bits may show.  A deopt hands a frame state's values to the
        # interpreter, which goes on with the function's own code: it can show only the
        # bits this analysis of that code finds seen, so frame states add no roots.
        self.nan_bits_seen = nanbits.seen(typed.func)
        self.abs_bounds = cpower.compared_abs(typed.func)  # abs(z) > 2.0 (issue 11)
        self.exits = Exits(self, func, record, ml.program.sources[func].decoded)
        self.cur_state: ir.FrameState | None = None  # of the node being lowered
        self.cur_dest: Var | None = None  # the instruction being lowered's value
        self.is_root = (func, typed.arg_kinds) == ml.program.root
        # the references this frame owns (None where bailouts unwind: nothing is owned;
        # and where no value is an object: nothing to own)
        self.owned = (None if ml.unwinds or not any(map(owned.holds_object, typed.types.values()))
                      else owned.Ownership(typed))
        self.cur_live: frozenset[Var] = frozenset()  # owned values live at that node
        self.slots: dict[str, ll.Value] = {}  # helper result slots, by type (out_slot)
        self.array_fields = ArrayFields(self)  # array parameters' fields, held
        self.attr_proofs = attrguards.Proofs(self)  # attribute guards proven (attrguards)
        # numpy float + and - whose trap a later operation catches (deferred.py)
        self.deferrable = deferred.candidates(typed.func, typed.types)
        self.pending: list[deferred.Pending] = []
        self.leaves = 0  # lowerings of the instruction being lowered (one per combo)
        self.leaf_catches: list[list[deferred.Pending]] = []  # what each caught

    # ------------------------------------------------------------ services for ops
    def _failure(self, status: ll.Value) -> ll.Value:
        ret_type = self.fn.function_type.return_type
        return self.b.insert_value(ll.Constant(ret_type, ll.Undefined), status, 0)

    def block(self, name: str) -> ll.Block:
        return self.fn.append_basic_block(name)

    def alloca(self, ty: ll.Type, name: str = "") -> ll.Value:
        """A stack slot in the entry block (where LLVM promotes it to registers)."""
        with self.allocas.goto_entry_block():
            self.allocas.position_at_start(self.fn.entry_basic_block)
            return self.allocas.alloca(ty, name=name)

    def out_slot(self, ty: ll.Type) -> ll.Value:
        """The one stack slot of type ``ty`` that helpers store their results in.

        Each result is loaded right after its call, so one slot per type serves every
        call.  (A slot per call costs LLVM's mem2reg a dominance-frontier walk per
        slot: quadratic in a long function.)
        """
        key = str(ty)
        if key not in self.slots:
            self.slots[key] = self.alloca(ty, name=f"out_{key}")
        return self.slots[key]

    def bail(self, status: Status) -> None:
        """End the current block with a bailout returning ``status`` (deoptimising at
        the frame state of the node being lowered, :mod:`.exits`; or at a pending
        producer's, :mod:`.deferred`)."""
        if self.pending:
            deferred.resolve(self, npvalues.pending_trap)
        self.b.branch(self.exits.target(self.cur_state, ll.Constant(I32, status)))

    def bail_if(self, cond: ll.Value, status: ll.Value | Status, name: str = "ok",
                callee: Spec | tuple[str] | None = None) -> None:
        """Bail out with ``status`` when ``cond`` (i1) holds; continue in a new block.
        ``callee``: the failure is that native callee's (it wrote its frames).  While
        numpy traps are pending (:mod:`.deferred`) the bailout first tests them."""
        ok = self.block(name)
        value = ll.Constant(I32, status) if isinstance(status, Status) else status
        if self.pending:
            cold = self.block("numpy_pending")
            self.b.cbranch(cond, cold, ok).set_weights([1, 1000])
            self.b.position_at_end(cold)
            deferred.resolve(self, npvalues.pending_trap)
            self.b.branch(self.exits.target(self.cur_state, value, callee=callee))
        else:
            target = self.exits.target(self.cur_state, value, callee=callee)
            self.b.cbranch(cond, target, ok).set_weights([1, 1000])
        self.b.position_at_end(ok)

    def check(self, status: ll.Value) -> None:
        """Bail out with ``status`` unless it is OK."""
        self.bail_if(self.b.icmp_signed("!=", status, ll.Constant(I32, 0)), status)

    def helper(self, name: str, args: list[ll.Value]) -> ll.Value:
        """Call numerics helper ``name``: bail on a non-OK status, return its result.

        Helpers are ``i32 @name(inputs..., T* out)`` returning a Status; one without
        the out pointer is taken to return its result directly.
        """
        # TODO(numerics): helpers need internal (or linkonce_odr) linkage: the llvm
        # backend links one lowered module per signature into one module, so two
        # external definitions of @int_add would collide
        # (tests/frontend/test_lowering.py::test_two_signatures_link_into_one_module).
        wide = self.ints is not I64
        if wide:
            name = WIDE_VERSIONS.get(name, name)
        fn = self.ml.numerics.get(name)
        params = fn.function_type.args
        if wide:  # a 64-bit helper: narrow its int operands (bail if they do not fit)
            args = [self.narrow(a) if a.type == self.ints and p == I64 else a
                    for a, p in zip(args, params, strict=False)]
        if len(params) == len(args) + 1 and isinstance(params[-1], ll.PointerType):
            slot = self.out_slot(params[-1].pointee)
            self.check(self.b.call(fn, [*args, slot]))
            result = self.b.load(slot)
        else:
            result = self.b.call(fn, args)
        return self.widen(result) if result.type == I64 else result

    def narrow(self, x: ll.Value) -> ll.Value:
        """An int held wide, as i64; bails with OVERFLOW when it does not fit."""
        if x.type == I64:
            return x
        self.bail_if(self.b.not_(fits_int64(self.b, x)), Status.OVERFLOW, name="narrow_ok")
        return self.b.trunc(x, I64)

    def widen(self, x: ll.Value) -> ll.Value:
        """An i64 int (a helper's result, a range item) as the function holds ints."""
        return x if self.ints is I64 else self.b.sext(x, self.ints)

    def call_function(self, func: FunctionType, kinds: tuple[CalleeKind, ...],
                      args: list[Any], speculated: Kinds = NO_KINDS) -> tuple[LV, Kinds]:
        """A call of ``func``; ``speculated``: what its result is taken to be when
        CPython runs it (a bailout's object: :mod:`.results`)."""
        if (func, kinds) in self.ml.program.opaque:  # CPython runs it
            return capi.lower_call_object(self, func, args, kinds,
                                          speculated or OPAQUE_RESULT)
        callee = self.ml.fast_function(func, kinds)
        budget = self.b.sub(self.budget, i64(1), name="budget")
        if self.unwind is not None:  # a bailout in the callee never returns here
            result = self.b.call(callee, [*args, budget, self.unwind])
            returns = self.ml.program.typed[(func, kinds)].returns
            n = len(llvm_types(returns, self.ints))
            return tuple(self.b.extract_value(result, i + 1) for i in range(n)), returns
        assert self.exits.record is not None
        b = self.b
        result = b.call(callee, [*args, budget, self.exits.record])
        status = b.extract_value(result, 0)
        returns = self.ml.program.typed[(func, kinds)].returns
        n = len(llvm_types(returns, self.ints))
        returned = tuple(b.extract_value(result, i + 1) for i in range(n))
        came = b.block
        failed, done = self.block("callee_failed"), self.block("returned")
        b.cbranch(b.icmp_signed("!=", status, ll.Constant(I32, 0)), failed, done
                  ).set_weights([1, 1000])
        b.position_at_end(failed)
        # the callee deoptimised: its frames finish in the interpreter, this one goes on
        self.attr_proofs.forget_all()  # (the interpreter may have run anything)
        finished = finishing.finish_callee(self, status, (func, kinds), returns)
        # the interpreter ran Python code (an array's ndim or dtype changed in place by
        # a finaliser it ran is not seen here: the fields are read again, nothing more)
        self.array_fields.refresh()
        finished_in = b.block
        b.branch(done)
        b.position_at_end(done)
        merged = []
        for normal, other in zip(returned, finished, strict=True):
            phi = b.phi(normal.type)
            phi.add_incoming(normal, came)
            phi.add_incoming(other, finished_in)
            merged.append(phi)
        return tuple(merged), returns

    @property
    def budget(self) -> ll.Value:
        """The frame budget where the node being lowered runs: the function's, less one
        for each generator frame CPython 3.11 would have there (a spliced generator
        expression's, :mod:`.genexps`), so a call made inside one stands as deep as
        CPython's and a recursion through it meets the limit where CPython's does."""
        frames = self.exits.generator_frames(self.cur_state)
        if not frames:
            return self.own_budget
        return self.b.sub(self.own_budget, i64(frames), name="budget_inside")

    # ------------------------------------------------------------ driver
    def lower(self) -> None:
        func = self.typed.func
        b = self.b
        too_deep = b.icmp_signed("<=", self.budget, i64(0))
        start = self.block("start")
        deep = self.block("recursion")
        b.cbranch(too_deep, deep, start).set_weights([1, 1000])
        with b.goto_block(deep):
            self.bail(Status.RECURSION)
        for arg, var in zip(self.fn.args, func.params, strict=False):
            self.values[var] = (arg,)
        order = [bid for bid in func.reverse_postorder() if bid in self.typed.reached]
        self.order = {bid: i for i, bid in enumerate(order)}
        for bid in order:
            self.blocks[bid] = start if bid == func.entry else self.block(f"bb{bid}")
        for bid in order:
            self._lower_block(func.block(bid))
        self._fill_phis()
        self.fn.blocks.remove(self.bail_block)
        if self.bail_status.incomings:  # keep the bail block, last
            self.fn.blocks.append(self.bail_block)

    def _lower_block(self, blk: ir.Block) -> None:
        b = self.b
        b.position_at_end(self.blocks[blk.id])
        if blk.id == self.typed.func.entry:
            self.array_fields.start(list(self.fn.args))
        if blk.id != self.typed.func.entry:
            phis = []
            for param in blk.params:
                types = llvm_types(self.types[param], self.ints)
                phis.append(tuple(b.phi(t, name=param.hint) for t in types))
                self.values[param] = phis[-1]
            self.phis[blk.id] = phis
        owned.block_start(self, blk)
        self.attr_proofs.clear()  # other paths join here
        for instr in blk.instrs:
            if self.pending and not deferred.pure(self.types, instr):
                deferred.flush(self, npvalues.check_pending)
            if self.pending:  # (a trap check may warn: run code)
                self.attr_proofs.clear()
            self.attr_proofs.next_instruction()
            self.leaves, self.leaf_catches = 0, []
            lv = self._lower_instr(instr)
            if lv is None:
                self.pending = []
                return
            deferred.after_instr(self, self.leaves)
            self.values[instr.dest] = lv
            if isinstance(instr, ir.CallObject) and instr.makes is not None:
                self.array_fields.made_here(instr.dest)
            if self.pending and owned.releases(self, instr):
                deferred.flush(self, npvalues.check_pending)
            if (self.pending or owned.releases(self, instr)
                    or not attrguards.keeps(self, instr)):
                self.attr_proofs.clear()
            owned.after_instr(self, instr)
        if self.pending:
            deferred.flush(self, npvalues.check_pending)
        term = blk.term
        self.cur_state = term.state
        if self.owned is not None:
            self.cur_live = self.owned.term_before[blk.id]
        if not isinstance(term, ir.Return):
            self.exits.force_check(term.state)
        if isinstance(term, ir.Return):
            kinds = self.typed.returns
            lv, src = self.values[term.value], self.types[term.value]
            owned.before_return(self, blk.id, term.value)  # the result's reference moves
            if src & (SEQUENCES | {VKind.ARRAY, VKind.INSTANCE}):  # a new reference for
                # the caller
                borrowed = (not owned.holds_object(src) if self.owned is not None
                            else term.value not in _returned_tuples(self.typed))
                if borrowed:
                    # borrowed (an argument, an array): the caller's own
                    b.call(declare(self.ml.module, "Py_IncRef", ll.VoidType(), [PTR8]), [lv[0]])
                if VKind.OBJECT in kinds:  # (a callee's instances of one class: as such)
                    src = frozenset({VKind.OBJECT})
            boxed = BOXED_RESULTS if self.is_root else NP_SCALARS  # a callee's complex:
            if src & boxed:  # unboxed; a numpy scalar or the root's complex: a new object
                lv, src = npvalues.boxed(self, lv, src, boxed)
            lv = coerce(b, lv, src, kinds, self.ints)
            ret = ll.Constant(self.fn.function_type.return_type, ll.Undefined)
            ret = b.insert_value(ret, ll.Constant(I32, Status.OK), 0)
            for i, value in enumerate(lv):
                ret = b.insert_value(ret, value, i + 1)
            b.ret(ret)
        elif isinstance(term, ir.Jump):
            periodic.loop_tick(self, blk.id, (term.target,))
            b.branch(self._edge(blk.id, term.target, term.args, b.block))
        elif isinstance(term, ir.Branch):
            periodic.loop_tick(self, blk.id, (term.then_target, term.else_target))
            cond = self._condition(term.cond)
            here = b.block
            then = self._edge(blk.id, term.then_target, term.then_args, here)
            if term.then_target == term.else_target:
                # a phi takes one value per predecessor block: add a block
                other = self.block("same_target")
                with b.goto_block(other):
                    b.branch(self._edge(blk.id, term.else_target, term.else_args, other))
            else:
                other = self._edge(blk.id, term.else_target, term.else_args, here)
            b.cbranch(cond, then, other)
        elif isinstance(term, ir.HandBack):  # an OSR entry's end (osr.markers.HANDBACK)
            if self.ml.unwinds:  # a recursive program re-runs the call from its start
                raise Unsupported(f"{self.typed.func.name}: an OSR entry that hands its "
                                  "frame back in a recursive program")
            self.bail(Status.HANDBACK)
        else:
            raise AssertionError(f"autotier: a terminator {type(term).__name__}")

    def _condition(self, var: Var) -> ll.Value:
        """A branch's condition (a bool or a ``numpy.bool_``: i1 either way, or tagged)."""
        lv = self.values[var]
        if is_tagged(self.types[var]):
            return self.b.icmp_unsigned("!=", lv[1], ll.Constant(lv[1].type, 0))
        return lv[0]

    def _edge(self, bid: int, target: int, args: tuple[Var, ...], pred: ll.Block
              ) -> ll.Block:
        """Record the values a jump from ``pred`` (in block ``bid``) passes to
        ``target``'s phis; the block to branch to: the target, or an edge block that
        takes and releases references on the way (:mod:`.owned`)."""
        params = self.typed.func.block(target).params
        values = tuple(coerce(self.b, self.values[a], self.types[a], self.types[p], self.ints)
                       for a, p in zip(args, params, strict=True))
        changes = self.owned.edge(bid, target, args) if self.owned is not None else []
        if not changes:
            self.incoming.append((target, values, pred))
            return self.blocks[target]
        edge = self.block(f"edge{bid}_{target}")
        with self.b.goto_block(edge):
            for var, delta in changes:
                owned.adjust(self, var, delta)  # (inline: it may end in another block)
            end = self.b.block
            self.b.branch(self.blocks[target])
        self.incoming.append((target, values, end))
        return edge

    def _fill_phis(self) -> None:
        for target, values, pred in self.incoming:
            for phis, lv in zip(self.phis[target], values, strict=True):
                for phi, value in zip(phis, lv, strict=True):
                    phi.add_incoming(value, pred)

    # ------------------------------------------------------------ instructions
    def _lower_instr(self, instr: ir.Instr) -> LV | None:
        """The value of ``instr``, or None when control never gets past it."""
        result = self.types[instr.dest]
        self.cur_state = instr.state
        self.cur_dest = instr.dest
        if self.owned is not None:
            self.cur_live = self.owned.before[instr.dest]
        self.exits.force_check(instr.state)
        special: Callable[[ir.Instr], LV | None] | None = getattr(
            self, f"_lower_{type(instr).__name__}", None)
        lv = special(instr) if special is not None else self._split(instr, result)
        if lv is None and result:
            raise ir.IRError(f"{instr.dest}: typed {result} but every path bails")
        if lv is not None:
            for value in lv:
                if isinstance(value, ll.Instruction) and not value.name and instr.dest.hint:
                    value.name = instr.dest.hint
        return lv

    def _lower_CheckBound(self, instr: ir.CheckBound) -> LV | None:
        src, dst = self.types[instr.operand], self.types[instr.dest]
        lv = self.values[instr.operand]
        if VKind.UNDEF not in src:
            return lv
        if is_nullable(src):  # a list or tuple local, NULL while unbound
            self.bail_if(self.b.icmp_unsigned("==", lv[0], ll.Constant(PTR8, None)),
                         Status.VALUE, name=f"{instr.name}_bound")
            return lv
        if not dst:  # UnboundLocalError, or a big int CPython computes with
            self.bail(Status.OVERFLOW if instr.name == ir.BIG_INT_CONSTANT else Status.VALUE)
            return None
        self.bail_if(self.b.icmp_signed("==", lv[0], i64(VKind.UNDEF)), Status.VALUE,
                     name=f"{instr.name}_bound")
        return lv if is_tagged(dst) else untag(self.b, lv, next(iter(dst)))

    def _lower_GetAttr(self, instr: ir.GetAttr) -> LV | None:
        if not self.types[instr.dest]:  # of what a C-API call answered: the interpreter's
            self.bail(Status.UNSUPPORTED)
            return None
        return attrs.get_attr(self, instr)

    def _lower_Select(self, instr: ir.Select) -> LV:
        # (min/max's comparison of a number that may be a numpy scalar is a bool or a
        # numpy.bool_: tagged, two words, as a branch's condition may be)
        cond = self._condition(instr.cond)
        result = self.types[instr.dest]
        yes = coerce(self.b, self.values[instr.if_true], self.types[instr.if_true], result,
                     self.ints)
        no = coerce(self.b, self.values[instr.if_false], self.types[instr.if_false], result,
                    self.ints)
        return tuple(self.b.select(cond, y, n) for y, n in zip(yes, no, strict=True))

    def _split(self, instr: ir.Instr, result: Kinds) -> LV | None:
        """Lower ``instr`` once per combination of its operands' kinds (see module doc)."""
        operands = instr.uses()
        kinds = [self.types[v] for v in operands]
        b = self.b
        if not any(is_tagged(k) for k in kinds):
            combo = tuple(next(iter(k)) for k in kinds)
            self.leaves += 1
            out = ops.leaf(self, instr, combo, [self.values[v] for v in operands])
            return None if out is None else coerce(b, out[0], out[1], result, self.ints)
        merge = self.block("merge")
        incoming: list[tuple[LV, ll.Block]] = []

        def visit(i: int, combo: tuple[VKind, ...], values: list[LV]) -> None:
            if i == len(operands):
                self.leaves += 1
                out = ops.leaf(self, instr, combo, values)
                if out is not None:
                    incoming.append((coerce(b, out[0], out[1], result, self.ints), b.block))
                    b.branch(merge)
                return
            lv = self.values[operands[i]]
            if operands[i] in operands[:i]:  # the same value: the kind chosen before
                j = operands.index(operands[i])
                visit(i + 1, (*combo, combo[j]), [*values, values[j]])
                return
            if not is_tagged(kinds[i]):
                visit(i + 1, (*combo, next(iter(kinds[i]))), [*values, lv])
                return
            cases = sorted(kinds[i])
            targets = [self.block(f"{k.name.lower()}") for k in cases]
            switch = b.switch(lv[0], targets[-1])
            for k, target in zip(cases, targets, strict=True):
                switch.add_case(i64(k), target)
            for k, target in zip(cases, targets, strict=True):
                b.position_at_end(target)
                visit(i + 1, (*combo, k), [*values, untag(b, lv, k)])

        visit(0, (), [])
        b.position_at_end(merge)
        if not incoming:
            b.unreachable()
            return None
        phis = tuple(b.phi(t) for t in llvm_types(result, self.ints))
        for lv, pred in incoming:
            for phi, value in zip(phis, lv, strict=True):
                phi.add_incoming(value, pred)
        return phis

