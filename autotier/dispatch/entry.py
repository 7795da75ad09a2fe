"""LLVM IR for the native code CPython calls through a ``HotFunction``'s vectorcall slot.

Two shapes, both ``PyObject *f(HotFunction *self, PyObject *const *args,
size_t nargsf, PyObject *kwnames)``:

- the *trampoline* (one per process, shared by every interpreted function): count
  the call; below the trigger, forward the call to the original Python function;
  at the trigger, go to the slow path (unless a tool traces the thread).
- a *guarded entry* (one per compile): while a trace or profile function watches the
  thread, or (3.12) a sys.monitoring tool listens everywhere or on code the call would
  run natively, run the function in the interpreter (``Bail.TRACED``: the tool sees
  every call and line); count the call; check the trigger; bind the
  arguments to the parameters (keywords and defaults too, :mod:`.binding`); check the
  version tags of every namespace the compiled code read, then try each
  specialisation in order: exact argument types, unbox, run the native body (or
  vectorcall a backend's callable with the bound arguments, re-running the call in
  the interpreter if it raises an Exception), box the result.

Both first check that the thread's C stack has room for the call (:mod:`.cstack`):
a call of a hot function nests C frames, so a deep recursion through one raises
RecursionError there instead of crashing.

Whatever the fast path cannot answer goes to the *slow path*: the bead's bookkeeping
(the Python callable in the ``_slow`` slot, called as ``_slow(code, *args, **kwargs)``
with a :class:`Bail` code saying why), then the original function in ``_func`` with the
call's own arguments: the interpreter's own result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from llvmlite import ir

from autotier import compat
from autotier.abi import (
    RECORD_BUDGET,
    RECORD_HEADER,
    RECORD_KEEPER,
    ArgKind,
    ArrayKind,
    InstanceKind,
    Kind,
    NumpyKind,
    Status,
)
from autotier.backends.base import Abandoned
from autotier.dispatch import arrays, cstack, unboxing
from autotier.dispatch import hotobject as ho
from autotier.dispatch.binding import BindingPlan, bind
from autotier.dispatch.framecount import FRAME_COUNTER
from autotier.dispatch.guards import emit_bindings_hold
from autotier.dispatch.irutil import (
    BOOKKEEPING_HEADROOM,
    F64,
    I1,
    I8,
    I32,
    I64,
    PPTR,
    PTR,
    call_vector,
    const_ptr,
    declare,
    field,
    keywords,
)

RESULT = ir.LiteralStructType([I64, I64, F64, I64])
VECTORCALL = ir.FunctionType(PTR, [PTR, PPTR, I64, PTR])
ARGS_MASK = (1 << 63) - 1  # clears PY_VECTORCALL_ARGUMENTS_OFFSET
# Native frames one entry may start; the interpreter's own limit is usually lower.
NATIVE_FRAME_CAP = 10_000
_CODE_LIMIT = 32  # bail codes are small ints below this
_TSTATE_CURRENT = compat.tstate_current_address()  # 0: call PyThreadState_Get


class Bail(IntEnum):
    """Why a call left the fast path (the first argument of ``_slow``)."""

    HOT = 1  # the call counter reached the trigger
    ARGS = 2  # keyword arguments or another arity: not a guard failure
    FOREIGN = 6  # an argument of a type native code never takes (str, numpy.float64 ...)
    TYPES = 3  # no specialisation matches the argument types
    GLOBALS = 4  # a namespace the code read changed (before the call or during a loop)
    CODE = 5  # the function's __code__ was replaced (autoreload): the code is stale
    TRACED = 7  # a trace or profile function or a monitoring tool: the interpreter runs it
    # the body deoptimised precisely: ``_slow(DEOPT, record address)`` returns the call
    # that finishes the call in the interpreter (autotier.deopt.resume)
    DEOPT = 8
    # a native callee deoptimised precisely: ``_slow(CALLEE, record address)`` decides
    # (as for DEOPT) and returns the call that finishes the callee's frames, which its
    # native caller makes and then goes on (autotier.frontend.finishing)
    CALLEE = 9
    NATIVE = 16  # NATIVE + Status: the native body bailed out

    @staticmethod
    def status(code: int) -> Status | None:
        """The body's Status for a NATIVE code, else None."""
        return Status(code - Bail.NATIVE) if code > Bail.NATIVE else None


@dataclass(frozen=True)
class Specialisation:
    """One set of exact argument kinds and what runs for it.

    Exactly one of ``body`` (the symbol of a native body obeying autotier.abi) and
    ``target`` (the address of a live Python callable that takes the same arguments
    and has no effects: when it raises an Exception, the interpreter re-runs the call)
    is set.
    """

    kinds: tuple[ArgKind, ...]
    body: str | None = None
    target: int | None = None
    record_words: int = RECORD_HEADER  # the deopt record the body may write (autotier.abi)
    # the body may ask the record's keeper to finish a deoptimised native callee: the
    # entry fills the header's keeper and budget words (autotier.abi, "Deopt records")
    finishes_callees: bool = False


@dataclass(frozen=True)
class NamespaceCheck:
    """A namespace the compiled code read: its dict's address, and the bindings the
    code assumed there, as (name, value or 0 for absent) addresses."""

    namespace: int
    bindings: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class EntryPlan:
    """Everything needed to generate one guarded entry."""

    name: str
    nargs: int
    specs: tuple[Specialisation, ...]
    namespaces: tuple[NamespaceCheck, ...]  # dicts whose version tag is checked
    code: int = 0  # address of the code object compiled (0: not checked)
    binding: BindingPlan | None = None  # None: positional calls of the right arity only
    # (function address, field offset, expected object address): a callee's
    # ``__defaults__`` or ``__code__`` that native calls were compiled with
    callee_fields: tuple[tuple[int, int, int], ...] = ()

    @property
    def arrays(self) -> bool:
        """Whether ndarray arguments may ask for a specialisation: numpy is imported
        (an entry built before it was treats them as foreign, as every other type)."""
        return compat.imported("numpy") is not None


def version_global_name(entry: str, index: int) -> str:
    """The LLVM global holding the expected version tag of namespace ``index``."""
    return f"{entry}__ver{index}"


# What an entry built with ``finish_bail(hand_off=True)`` returns for "call ``_func``
# with the call's own arguments": an address no object has (objects are 8-aligned),
# compared with an immediate.
HANDOFF = 1


class _Builder:
    """Shared pieces of the trampoline and the entries."""

    def __init__(self, module: ir.Module, name: str) -> None:
        self.module = module
        self.fn = ir.Function(module, VECTORCALL, name)
        self.self_, self.args, self.nargsf, self.kwnames = self.fn.args
        for arg, label in zip(self.fn.args, ("self", "args", "nargsf", "kwnames"), strict=True):
            arg.name = label
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.bail_block = self.fn.append_basic_block("bail")
        self.bail_codes: list[tuple[ir.Value, ir.Block, ir.Value, ir.Value, ir.Value]] = []
        self.nargs = self.b.and_(self.nargsf, ir.Constant(I64, ARGS_MASK), name="nargs")
        self._allocas: dict[str, ir.Value] = {}
        self.sp: ir.Value | None = None
        self.floor: ir.Value | None = None

    def check_stack(self) -> None:
        """Raise RecursionError, before anything else, when the C stack left is below
        this thread's margin (:mod:`.cstack`): a decorated call nests C frames."""
        self.sp, self.floor = cstack.emit_check(
            self.b, self.module, lambda: self.raise_error(RecursionError, cstack.MESSAGE))

    def slot(self, name: str, ty: ir.Type) -> ir.Value:
        """A stack slot allocated once, in the entry block (so LLVM can promote it)."""
        if name not in self._allocas:
            with self.b.goto_entry_block():
                self.b.position_at_start(self.fn.entry_basic_block)
                self._allocas[name] = self.b.alloca(ty, name=name)
        return self._allocas[name]

    def declare(self, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
        return declare(self.module, name, ret, args)

    def bail(self, code: int | ir.Value, told: tuple[ir.Value, ir.Value] | None = None
             ) -> None:
        """End the current block with a jump to the slow path carrying ``code``.  The
        bead is told the call's own arguments, keywords included, or the positional
        ``told`` ones (array, count: the bound arguments of a type bailout)."""
        value = ir.Constant(I64, int(code)) if isinstance(code, int) else code
        if told is None:
            argv, count, kwnames = self.args, self.nargs, self.kwnames
        else:
            (argv, count), kwnames = told, ir.Constant(PTR, None)
        self.bail_codes.append((value, self.b.block, argv, count, kwnames))
        self.b.branch(self.bail_block)

    def thread_state(self) -> ir.Value:
        """The calling thread's state: one load of the GIL holder's (this thread's),
        where compat knows its address (3.11), else a call of PyThreadState_Get."""
        if _TSTATE_CURRENT:
            return self.b.load(field(self.b, const_ptr(_TSTATE_CURRENT), 0, PTR), name="tstate")
        return self.b.call(self.declare("PyThreadState_Get", PTR, []), [], name="tstate")

    def traced(self, tstate: ir.Value, codes: Sequence[ir.Value] = ()) -> ir.Value:
        """i1: a profile or trace function watches this thread (sys.setprofile,
        sys.settrace, cProfile, coverage, a debugger), other than autotier's own frame
        counter (:mod:`.framecount`, checked only on the cold path); on 3.12+, or a
        sys.monitoring tool listens to some event everywhere or in one of ``codes``
        (:meth:`monitored`)."""
        traced = self._thread_traced(tstate)
        if not compat.HAS_MONITORING or compat.MONITORING_UNLOCATED is not None:
            return traced  # unlocated: the offsets may be wrong, and no entry is built
        return self.b.or_(traced, self.monitored(tstate, codes), name="watched")

    def monitored(self, tstate: ir.Value, codes: Sequence[ir.Value]) -> ir.Value:
        """i1: a sys.monitoring tool (tool ids 0-5: 6 and 7 are sys.setprofile and
        sys.settrace, per thread) listens to an event everywhere (the interpreter's
        ``monitors.tools[]``) or in one of ``codes`` (their ``_co_monitoring``, NULL
        until a code object is first instrumented: then its ``local_monitors``).  The
        15 bytes of bitsets are read as two overlapping words: 3 loads for the
        interpreter's, and 1 for a code object with no monitoring data, 3 with some (on
        3.12 every code object run once any tool, sys.settrace or autotier's own probe
        at import, was on has some; compat, "sys.monitoring")."""
        b = self.b
        mask = ir.Constant(I64, int.from_bytes(bytes([compat.MONITORING_TOOLS_MASK]) * 8,
                                               "little"))

        def bitsets(base: ir.Value, offset: int) -> ir.Value:
            words = (b.load(field(b, base, at, I64), align=1)
                     for at in (offset, offset + compat.MONITORS_BYTES - 8))
            return b.and_(b.or_(*words), mask)

        interp = b.load(field(b, tstate, compat.TSTATE_INTERP, PTR), name="interp")
        listening = bitsets(interp, compat.INTERP_MONITORS)
        datas = [b.load(field(b, code, compat.CODE_CO_MONITORING, PTR), name="co_monitoring")
                 for code in codes]
        if not datas:
            return b.icmp_unsigned("!=", listening, ir.Constant(I64, 0), name="monitored")
        acc = self.slot("monitored", I64)
        b.store(listening, acc)
        for data in datas:
            with b.if_then(b.icmp_unsigned("!=", data, ir.Constant(PTR, None))):
                b.store(b.or_(b.load(acc), bitsets(data, compat.MONITORING_LOCAL)), acc)
        return b.icmp_unsigned("!=", b.load(acc), ir.Constant(I64, 0), name="monitored")

    def _thread_traced(self, tstate: ir.Value) -> ir.Value:
        b = self.b
        profile, trace = (b.ptrtoint(b.load(field(b, tstate, offset, PTR)), I64)
                          for offset in (compat.TSTATE_C_PROFILEFUNC,
                                         compat.TSTATE_C_TRACEFUNC))
        zero = ir.Constant(I64, 0)
        watched = b.icmp_unsigned("!=", b.or_(profile, trace), zero)
        before = b.block
        with b.if_then(watched, likely=False):
            obj = b.load(field(b, tstate, compat.TSTATE_C_PROFILEOBJ, PTR))
            exempt = b.and_(b.icmp_unsigned("==", obj, const_ptr(id(FRAME_COUNTER))),
                            b.icmp_unsigned("==", trace, zero))
            tool = b.not_(exempt)
            checked = b.block
        traced = b.phi(I1, name="traced")
        traced.add_incoming(ir.Constant(I1, 0), before)
        traced.add_incoming(tool, checked)
        return traced

    def count_call(self, tstate: ir.Value | None = None) -> None:
        """calls += 1; at the trigger, bail HOT, unless the thread is traced (the
        bookkeeping is Python code a tool would see; a later call promotes)."""
        b = self.b
        calls_p = field(b, self.self_, ho.CALLS_OFFSET, I64)
        calls = b.add(b.load(calls_p), ir.Constant(I64, 1), name="calls")
        b.store(calls, calls_p)
        trigger = b.load(field(b, self.self_, ho.TRIGGER_OFFSET, I64), name="trigger")
        hot = b.icmp_signed(">=", calls, trigger)
        with b.if_then(hot, likely=False):
            if tstate is None:
                with b.if_then(b.not_(self.traced(self.thread_state()))):
                    self.bail(Bail.HOT)
            else:  # the entry left already if it was traced
                self.bail(Bail.HOT)

    def finish_bail(self, hand_off: bool = False) -> None:
        """The slow path: tell the bead (``_slow(code, *args, **kwargs)``), then run ``_func``.

        ``hand_off``: instead of calling ``_func``, return :data:`HANDOFF`, which
        asks the caller to make that call, as its
        own tail call (``dispatch.build``'s counting wrapper: it stops counting first).

        The bead's bookkeeping returns before the original function runs, so a call
        that left the fast path costs exactly one Python frame, as undecorated:
        recursion depth limits stay CPython's.  That call is a tail call, so the entry's
        frame is not on the C stack while the function runs (a compiled function's
        interpreted recursion reaches the depth an interpreted one does).  ARGS
        (keywords, other arities), FOREIGN (argument types native code never takes) and
        TRACED go straight to the function.
        """
        b = self.b
        b.position_at_end(self.bail_block)
        code = b.phi(I64, name="code")
        told = b.phi(PPTR, name="told")
        nargs = b.phi(I64, name="told_n")
        kwnames = b.phi(PTR, name="told_kw")
        for value, block, argv, count, names in self.bail_codes:
            code.add_incoming(value, block)
            told.add_incoming(argv, block)
            nargs.add_incoming(count, block)
            kwnames.add_incoming(names, block)
        vectorcall = self.declare("PyObject_Vectorcall", PTR, [PTR, PPTR, I64, PTR])
        tell = b.and_(b.icmp_unsigned("!=", code, ir.Constant(I64, Bail.ARGS)),
                      b.icmp_unsigned("!=", code, ir.Constant(I64, Bail.FOREIGN)))
        tell = b.and_(tell, b.icmp_unsigned("!=", code, ir.Constant(I64, Bail.TRACED)))
        with b.if_then(tell):
            # Small ints are cached singletons that live for the whole process.
            table_type = ir.ArrayType(PTR, _CODE_LIMIT)
            table = ir.GlobalVariable(self.module, table_type, name=f"{self.fn.name}__codes")
            table.initializer = ir.Constant(
                table_type, [const_ptr(id(i)) for i in range(_CODE_LIMIT)]
            )
            table.global_constant = True
            table.linkage = "internal"
            code_obj = b.load(b.gep(table, [ir.Constant(I64, 0), code], inbounds=True))
            slow = b.load(field(b, self.self_, ho.SLOW_OFFSET, PTR), name="slow")
            with b.if_then(b.icmp_unsigned("==", slow, ir.Constant(PTR, None)), likely=False):
                self.raise_runtime_error("autotier: hot function has no slow path")
            noted = b.call(self._teller(), [slow, code_obj, told, nargs, kwnames])
            with b.if_then(b.icmp_unsigned("==", noted, ir.Constant(PTR, None)), likely=False):
                # The bookkeeping raised.  A RecursionError there (a few Python frames
                # deep, near the limit) must not fail a call CPython would run: forget
                # it, and let the function's own call decide.  Anything else propagates.
                matches = self.declare("PyErr_ExceptionMatches", I32, [PTR])
                deep = b.call(matches, [const_ptr(id(RecursionError))])
                with b.if_else(b.icmp_signed("!=", deep, ir.Constant(I32, 0))) as (yes, no):
                    with yes:
                        b.call(self.declare("PyErr_Clear", ir.VoidType(), []), [])
                    with no:
                        b.ret(ir.Constant(PTR, None))
            with b.if_then(b.icmp_unsigned("!=", noted, ir.Constant(PTR, None))):
                b.call(self.declare("Py_DecRef", ir.VoidType(), [PTR]), [noted])
        func = b.load(field(b, self.self_, ho.FUNC_OFFSET, PTR), name="func")
        with b.if_then(b.icmp_unsigned("==", func, ir.Constant(PTR, None)), likely=False):
            self.raise_runtime_error("autotier: hot function has no Python function")
        if hand_off:
            b.ret(const_ptr(HANDOFF))
        else:
            b.ret(b.call(vectorcall, [func, self.args, self.nargsf, self.kwnames], tail=True))

    def _teller(self) -> ir.Function:
        """``ptr tell(slow, code, told, n, kwnames)``: ``slow(code, *told, **kw)``.

        A function of its own (not inlined) because its argument array has the size
        of the call: a variable-sized alloca in the entry would cost every call a frame
        pointer and a saved stack pointer."""
        name = f"{self.fn.name}__tell"
        if name in self.module.globals:
            fn = self.module.globals[name]
            assert isinstance(fn, ir.Function)
            return fn
        fn = ir.Function(self.module, ir.FunctionType(PTR, [PTR, PTR, PPTR, I64, PTR]), name)
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("cold")
        slow, code_obj, told, nargs, kwnames = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        # positional values, then the keywords' values (kwnames says whose)
        values = b.add(nargs, keywords(b, kwnames)[1])
        array = b.alloca(PTR, b.add(values, ir.Constant(I64, 1)), name="slowargs")
        b.store(code_obj, array)
        memcpy = self.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, I64])
        dest = b.bitcast(b.gep(array, [ir.Constant(I64, 1)]), PTR)
        b.call(memcpy, [dest, b.bitcast(told, PTR), b.mul(values, ir.Constant(I64, 8)),
                        ir.Constant(I1, 0)])
        vectorcall = self.declare("PyObject_Vectorcall", PTR, [PTR, PPTR, I64, PTR])
        b.ret(b.call(vectorcall, [slow, array, b.add(nargs, ir.Constant(I64, 1)), kwnames]))
        return fn

    def raise_runtime_error(self, message: str) -> None:
        self.raise_error(RuntimeError, message)

    def raise_error(self, exc: type[BaseException], message: str) -> None:
        """Set ``exc(message)`` and return NULL."""
        b = self.b
        data = bytearray(message.encode() + b"\0")
        text = ir.GlobalVariable(self.module, ir.ArrayType(I8, len(data)),
                                 name=f"{self.fn.name}__msg{len(self.module.globals)}")
        text.initializer = ir.Constant(ir.ArrayType(I8, len(data)), data)
        text.global_constant = True
        text.linkage = "internal"
        set_string = self.declare("PyErr_SetString", ir.VoidType(), [PTR, PTR])
        b.call(set_string, [const_ptr(id(exc)), b.bitcast(text, PTR)])
        b.ret(ir.Constant(PTR, None))


def trampoline_ir(name: str) -> str:
    """The interpreted-state code: count, forward to ``_run`` (``_func``, or its copy with
    loop probes: :mod:`autotier.osr`), slow path at the trigger.

    Two functions: ``name`` is the common case alone (the thread's stack slot filled
    and above its floor, the call below the trigger, a function to call): count and
    tail-call the function, with no frame of its own (nothing but tail calls leaves
    it).  Anything else tail-calls the whole trampoline (``name__full``: the stack
    check, which may fill the slot or raise, counting, the slow path), which counts
    the call itself.
    """
    module = ir.Module(name=name)
    full = _full_trampoline(module, f"{name}__full")
    fast = ir.Function(module, VECTORCALL, name)
    b = ir.IRBuilder(fast.append_basic_block("entry"))
    self_, args, nargsf, kwnames = fast.args
    stack_ok = cstack.emit_quick_check(b, module)
    calls_p = field(b, self_, ho.CALLS_OFFSET, I64)
    calls = b.add(b.load(calls_p), ir.Constant(I64, 1), name="calls")
    cold = b.icmp_signed(">=", calls, b.load(field(b, self_, ho.TRIGGER_OFFSET, I64)))
    func = b.load(field(b, self_, ho.RUN_OFFSET, PTR), name="func")
    common = b.and_(b.and_(stack_ok, b.not_(cold)),
                    b.icmp_unsigned("!=", func, ir.Constant(PTR, None)))
    with b.if_else(common, likely=True) as (then, otherwise):
        with then:
            b.store(calls, calls_p)
            vectorcall = declare(module, "PyObject_Vectorcall", PTR, [PTR, PPTR, I64, PTR])
            b.ret(b.call(vectorcall, [func, args, nargsf, kwnames], tail="musttail"))
        with otherwise:
            b.ret(b.call(full, [self_, args, nargsf, kwnames], tail="musttail"))
    b.unreachable()
    return str(module)


def _full_trampoline(module: ir.Module, name: str) -> ir.Function:
    """The whole trampoline: stack check, count, forward or the slow path."""
    t = _Builder(module, name)
    t.fn.linkage = "internal"
    t.fn.attributes.add("noinline")
    t.check_stack()
    t.count_call()
    b = t.b
    func = b.load(field(b, t.self_, ho.RUN_OFFSET, PTR), name="func")
    missing = b.icmp_unsigned("==", func, ir.Constant(PTR, None))
    with b.if_then(missing, likely=False):
        t.raise_runtime_error("autotier: hot function has no Python function")
    vectorcall = t.declare("PyObject_Vectorcall", PTR, [PTR, PPTR, I64, PTR])
    b.ret(b.call(vectorcall, [func, t.args, t.nargsf, t.kwnames], tail=True))
    t.finish_bail()
    return t.fn


def _unbox(t: _Builder, arg: ir.Value, kind: ArgKind, mismatch: ir.Block) -> ir.Value:
    """Check ``arg``'s exact type for ``kind`` and unbox it; jump to ``mismatch`` if not."""
    b = t.b
    good = t.fn.append_basic_block(f"is_{kind.name.lower()}")
    b.cbranch(unboxing.type_is(b, arg, kind.pytype), good, mismatch)
    b.position_at_end(good)
    if isinstance(kind, ArrayKind):  # its dtype and ndim too: the body takes the object
        same = t.fn.append_basic_block(f"is_{kind.name.lower()}_array")
        b.cbranch(arrays.matches(b, arg, kind), same, mismatch)
        b.position_at_end(same)
        return arg
    if isinstance(kind, NumpyKind):  # the machine value
        return arrays.scalar_value(b, arg, kind.dtype)
    if not kind.scalar:  # a list or tuple: the body takes the object (borrowed)
        return arg
    if kind is Kind.FLOAT:
        return unboxing.float_value(b, arg)
    if kind is Kind.BOOL:
        return unboxing.bool_value(b, arg)
    return unboxing.unbox_int(b, arg, mismatch, t.slot("overflow", I32))


def _heap_instance(b: ir.IRBuilder, typ: ir.Value) -> ir.Value:
    """i1: ``typ`` (an argument's type) is a heap type (a class statement's, or another
    such: the bead's ``Kind.of`` decides which it takes) whose metaclass is ``type`` and
    whose base is ``object`` or a heap type too (an int or list subclass is foreign)."""
    def heap(t: ir.Value) -> ir.Value:
        flags = b.load(field(b, t, compat.TYPE_TP_FLAGS, I64), name="tp_flags")
        return b.icmp_unsigned("!=", b.and_(flags, ir.Constant(I64, compat.TPFLAGS_HEAPTYPE)),
                               ir.Constant(I64, 0))

    meta = b.load(field(b, typ, compat.OB_TYPE, PTR), name="metatype")
    base = b.load(field(b, typ, compat.TYPE_TP_BASE, PTR), name="tp_base")
    # (object's own base is NULL: read object's flags instead, loading nothing at NULL)
    base = b.select(b.icmp_unsigned("==", base, ir.Constant(PTR, None)),
                    const_ptr(id(object)), base)
    plain_base = b.or_(b.icmp_unsigned("==", base, const_ptr(id(object))), heap(base))
    return b.and_(b.and_(heap(typ), b.icmp_unsigned("==", meta, const_ptr(id(type)))),
                  plain_base)


def _box(t: _Builder, result: ir.Value) -> None:
    """Return the Python object for the body's tagged result."""
    b = t.b
    kind = b.extract_value(b.load(result), 0)
    ival = b.extract_value(b.load(result), 1)
    fval = b.extract_value(b.load(result), 2)
    as_float = t.fn.append_basic_block("box_float")
    as_bool = t.fn.append_basic_block("box_bool")
    as_int = t.fn.append_basic_block("box_int")
    as_wide = t.fn.append_basic_block("box_wide_int")
    as_none = t.fn.append_basic_block("box_none")
    as_object = t.fn.append_basic_block("box_object")
    switch = b.switch(kind, as_int)
    switch.add_case(ir.Constant(I64, Kind.NONE), as_none)
    switch.add_case(ir.Constant(I64, Kind.OBJECT), as_object)
    switch.add_case(ir.Constant(I64, Kind.FLOAT), as_float)
    switch.add_case(ir.Constant(I64, Kind.BOOL), as_bool)
    switch.add_case(ir.Constant(I64, Kind.WIDE_INT), as_wide)
    b.position_at_end(as_object)  # the body's new reference (a tuple it built)
    b.ret(b.inttoptr(ival, PTR))
    b.position_at_end(as_none)
    _incref(b, const_ptr(id(None)))
    b.ret(const_ptr(id(None)))
    b.position_at_end(as_wide)
    # 16 little-endian two's-complement bytes: the low half (ival), then the high one.
    halves = t.slot("wide_int", ir.ArrayType(I64, 2))
    b.store(ival, b.gep(halves, [ir.Constant(I32, 0), ir.Constant(I32, 0)]))
    b.store(b.extract_value(b.load(result), 3),
            b.gep(halves, [ir.Constant(I32, 0), ir.Constant(I32, 1)]))
    from_bytes = t.declare(compat.LONG_FROM_BYTES, PTR, [PTR, I64, I32, I32])
    b.ret(b.call(from_bytes, [b.bitcast(halves, PTR), ir.Constant(I64, 16),
                              ir.Constant(I32, 1), ir.Constant(I32, 1)]))
    b.position_at_end(as_int)
    if compat.SMALL_INTS_CONTIGUOUS:
        offset = b.sub(ival, ir.Constant(I64, compat.SMALL_INT_MIN))
        cached = b.icmp_unsigned("<=", offset,
                                 ir.Constant(I64, compat.SMALL_INT_MAX - compat.SMALL_INT_MIN))
        with b.if_then(cached, likely=True):
            base = ir.Constant(I64, id(compat.SMALL_INT_MIN))
            obj = b.inttoptr(b.add(base, b.mul(offset, ir.Constant(I64, compat.SMALL_INT_STRIDE))),
                             PTR)
            _incref(b, obj)
            b.ret(obj)
    from_ll = t.declare("PyLong_FromLongLong", PTR, [I64])
    b.ret(b.call(from_ll, [ival]))
    b.position_at_end(as_float)
    from_double = t.declare("PyFloat_FromDouble", PTR, [F64])
    b.ret(b.call(from_double, [fval]))
    b.position_at_end(as_bool)
    obj = b.select(b.icmp_signed("!=", ival, ir.Constant(I64, 0)),
                   const_ptr(id(True)), const_ptr(id(False)))
    _incref(b, obj)
    b.ret(obj)


def _incref(b: ir.IRBuilder, obj: ir.Value) -> None:
    refcnt = field(b, obj, compat.OB_REFCNT, I64)
    b.store(b.add(b.load(refcnt), ir.Constant(I64, 1)), refcnt)


def _budget(t: _Builder, tstate: ir.Value) -> ir.Value:
    """Native frames this call may use: the interpreter's remaining depth, capped, and
    no more than fit in the C stack left above this thread's floor."""
    b = t.b
    remaining = b.sext(b.load(field(b, tstate, compat.TSTATE_RECURSION_REMAINING, I32)), I64)
    cap = ir.Constant(I64, NATIVE_FRAME_CAP)
    budget = b.select(b.icmp_signed("<", remaining, cap), remaining, cap)
    assert t.sp is not None and t.floor is not None
    # sp >= floor here (check_stack); the floor is 1 where the bounds are unknown or the
    # call runs on a stack not the thread's: the cap alone bounds the budget there
    room = b.udiv(b.sub(t.sp, t.floor), ir.Constant(I64, cstack.NATIVE_FRAME_BYTES))
    return b.select(b.icmp_signed("<", room, budget), room, budget, name="budget")


def _native_bail(t: _Builder, status: ir.Value) -> None:
    """Leave for a body's non-OK status: SIGNAL propagates the exception a signal
    handler raised; STALE (a namespace changed while a native loop ran) is the
    GLOBALS guard failing late; anything else is NATIVE + status."""
    b = t.b
    with b.if_then(b.icmp_signed("==", status, ir.Constant(I32, Status.SIGNAL))):
        b.ret(ir.Constant(PTR, None))
    code = b.select(b.icmp_signed("==", status, ir.Constant(I32, Status.STALE)),
                    ir.Constant(I64, Bail.GLOBALS),
                    b.add(b.zext(status, I64), ir.Constant(I64, Bail.NATIVE)))
    t.bail(code)


def _deopt(t: _Builder, record: ir.Value) -> None:
    """Finish a precisely deoptimised call: the bead's bookkeeping turns the record
    into a call of no arguments (the resume functions of the deoptimised frames), which
    the entry makes; its result or exception is the call's.  The bookkeeping is
    autotier's: it runs with ``BOOKKEEPING_HEADROOM`` frames beyond the recursion limit,
    so a deopt near the limit decides as anywhere else; if it fails all the same (a
    MemoryError, a KeyboardInterrupt while it ran), its exception propagates."""
    b = t.b
    decref = t.declare("Py_DecRef", ir.VoidType(), [PTR])
    address = b.call(t.declare("PyLong_FromVoidPtr", PTR, [PTR]), [b.bitcast(record, PTR)])
    with b.if_then(b.icmp_unsigned("==", address, ir.Constant(PTR, None)), likely=False):
        b.ret(ir.Constant(PTR, None))
    slow = b.load(field(b, t.self_, ho.SLOW_OFFSET, PTR), name="slow")
    finish = call_vector(b, t.module, slow, [const_ptr(id(int(Bail.DEOPT))), address],
                         depth=-BOOKKEEPING_HEADROOM)
    b.call(decref, [address])
    with b.if_then(b.icmp_unsigned("==", finish, ir.Constant(PTR, None)), likely=False):
        b.ret(ir.Constant(PTR, None))
    result = call_vector(b, t.module, finish, [])
    b.call(decref, [finish])
    b.ret(result)


def _no_function() -> None:
    """Never called: stands for the function of a hot object that has none."""


def _codes_run(t: _Builder, plan: EntryPlan) -> list[ir.Value]:
    """The code objects a native call runs instead of the interpreter (the function's
    and its native callees'), whose local sys.monitoring events the entry checks."""
    if not compat.HAS_MONITORING:
        return []
    b = t.b
    if plan.code:
        own = const_ptr(plan.code)
    else:  # the function's current code (a function that never runs stands for none)
        func = b.load(field(b, t.self_, ho.FUNC_OFFSET, PTR), name="func")
        func = b.select(b.icmp_unsigned("==", func, ir.Constant(PTR, None)),
                        const_ptr(id(_no_function)), func)
        own = b.load(field(b, func, compat.FUNC_CODE, PTR), name="own_code")
    return [own, *(const_ptr(expected) for _, offset, expected in plan.callee_fields
                   if offset == compat.FUNC_CODE)]


def entry_ir(plan: EntryPlan) -> str:
    """A guarded entry for ``plan``; bodies it calls are declared, defined elsewhere.

    Its slow path ends by handing the call of ``_func`` to its caller, so it is only
    ever called from ``dispatch.build``'s counting wrapper (which makes that call)."""
    if compat.MONITORING_UNLOCATED is not None:
        # native code could hide calls from a sys.monitoring tool: none is built
        raise Abandoned(f"no native code on this CPython: {compat.MONITORING_UNLOCATED}")
    module = ir.Module(name=plan.name)
    t = _Builder(module, plan.name)
    b = t.b
    t.check_stack()
    tstate = t.thread_state()
    with b.if_then(t.traced(tstate, _codes_run(t, plan)), likely=False):
        t.bail(Bail.TRACED)
    t.count_call(tstate)
    nargs = t.nargs
    if plan.binding is not None:  # keywords and defaults bound natively
        argv = bind(t, plan.binding, nargs, Bail.ARGS, Bail.CODE)
    else:
        shape_ok = b.and_(b.icmp_unsigned("==", t.kwnames, ir.Constant(PTR, None)),
                          b.icmp_unsigned("==", nargs, ir.Constant(I64, plan.nargs)))
        with b.if_then(b.not_(shape_ok), likely=False):
            t.bail(Bail.ARGS)
        argv = t.args
    if plan.code:
        func = b.load(field(b, t.self_, ho.FUNC_OFFSET, PTR), name="func")
        code = b.load(field(b, func, compat.FUNC_CODE, PTR), name="code")
        with b.if_then(b.icmp_unsigned("!=", code, const_ptr(plan.code)), likely=False):
            t.bail(Bail.CODE)
    for callee, offset, expected in plan.callee_fields:  # a callee's code or defaults
        current = b.load(field(b, const_ptr(callee), offset, PTR))  # were replaced
        with b.if_then(b.icmp_unsigned("!=", current, const_ptr(expected)), likely=False):
            t.bail(Bail.CODE)
    for index, ns in enumerate(plan.namespaces):
        expected = ir.GlobalVariable(module, I64, name=version_global_name(plan.name, index))
        expected.initializer = ir.Constant(I64, 0)
        current = b.load(field(b, const_ptr(ns.namespace), compat.DICT_VERSION_TAG, I64))
        changed = b.icmp_unsigned("!=", current, b.load(expected))
        with b.if_then(changed, likely=False):
            # another global changed (a module-level loop's variable), or one the code
            # relies on: recheck those; if they hold, expect the new tag and go on
            holds = emit_bindings_hold(b, ns.namespace, ns.bindings)
            with b.if_then(b.not_(holds), likely=False):
                t.bail(Bail.GLOBALS)
            b.store(current, expected)
    args = [b.load(b.gep(argv, [ir.Constant(I64, i)]), name=f"arg{i}") for i in range(plan.nargs)]
    for number, spec in enumerate(plan.specs):
        mismatch = t.fn.append_basic_block(f"not_spec{number}")
        values = [_unbox(t, arg, kind, mismatch)
                  for arg, kind in zip(args, spec.kinds, strict=True)]
        if spec.target is not None:
            vectorcall = t.declare("PyObject_Vectorcall", PTR, [PTR, PPTR, I64, PTR])
            result = b.call(vectorcall, [const_ptr(spec.target), argv,
                                         ir.Constant(I64, plan.nargs), ir.Constant(PTR, None)])
            with b.if_then(b.icmp_unsigned("==", result, ir.Constant(PTR, None)),
                           likely=False):
                # The target raised.  Its exceptions are its own (numba's messages are
                # not CPython's): forget an Exception and re-run the call in the
                # interpreter, which raises CPython's (the target has no effects, see
                # backends/numba_semantics.py).  A BaseException propagates.
                matches = t.declare("PyErr_ExceptionMatches", I32, [PTR])
                ordinary = b.call(matches, [const_ptr(id(Exception))])
                with b.if_then(b.icmp_signed("==", ordinary, ir.Constant(I32, 0))):
                    b.ret(ir.Constant(PTR, None))
                b.call(t.declare("PyErr_Clear", ir.VoidType(), []), [])
                t.bail(Bail.NATIVE + Status.VALUE)
            b.ret(result)
        else:
            assert spec.body is not None
            params = [PTR if isinstance(k, ArrayKind | InstanceKind) else
                      arrays.machine_type(k.dtype) if isinstance(k, NumpyKind) else
                      {Kind.INT: I64, Kind.FLOAT: F64, Kind.BOOL: I1}.get(k, PTR)
                      for k in spec.kinds]
            body = t.declare(spec.body, I32,
                             [*params, RESULT.as_pointer(), I64, I64.as_pointer()])
            result = t.slot("result", RESULT)
            words = max(s.record_words for s in plan.specs)
            record = b.bitcast(t.slot("record", ir.ArrayType(I64, words)), I64.as_pointer())
            budget = _budget(t, tstate)
            if spec.finishes_callees:
                slow = b.load(field(b, t.self_, ho.SLOW_OFFSET, PTR), name="keeper")
                b.store(b.ptrtoint(slow, I64), b.gep(record, [ir.Constant(I64, RECORD_KEEPER)]))
                b.store(budget, b.gep(record, [ir.Constant(I64, RECORD_BUDGET)]))
            status = b.call(body, [*values, result, budget, record], name="status")
            failed = b.icmp_signed("!=", status, ir.Constant(I32, Status.OK))
            with b.if_then(failed, likely=False):
                with b.if_then(b.icmp_signed("==", status, ir.Constant(I32, Status.SIGNAL))):
                    b.ret(ir.Constant(PTR, None))
                frames = b.load(b.gep(record, [ir.Constant(I64, 1)]), name="frames")
                with b.if_then(b.icmp_signed("!=", frames, ir.Constant(I64, 0))):
                    _deopt(t, record)
                _native_bail(t, status)
            _box(t, result)
        b.position_at_end(mismatch)
    # No specialisation matched.  Arguments that are all ints, floats, bools, lists or
    # tuples ask for a
    # new specialisation (TYPES: the bead's bookkeeping); any other type native code
    # never takes, so that call goes straight to the function, as a keyword call does.
    # (An int past 64 bits counts as such a type.)
    as_ll = t.declare("PyLong_AsLongLongAndOverflow", I64, [PTR, I32.as_pointer()])
    overflow = t.slot("overflow", I32)
    for arg in args:
        typ = b.load(field(b, arg, compat.OB_TYPE, PTR))
        is_int, is_float, is_bool, is_list, is_tuple, is_complex, is_none = (
            b.icmp_unsigned("==", typ, const_ptr(id(k)))
            for k in (int, float, bool, list, tuple, complex, type(None)))
        takes = b.or_(b.or_(b.or_(is_int, is_float), b.or_(is_bool, is_none)),
                      b.or_(b.or_(is_list, is_tuple), is_complex))
        if plan.arrays:  # an ndarray of a dtype native code takes (numpy is imported)
            with b.if_then(arrays.is_ndarray(b, arg)), b.if_then(arrays.native_dtype(b, arg)):
                t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
            with b.if_then(arrays.is_numpy_scalar(b, arg)):
                t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
        with b.if_then(_heap_instance(b, typ)):  # an instance of a class statement's
            # class: the bead decides (runtime.signature: abi.InstanceKind.takes)
            t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
        with b.if_then(b.not_(takes)):
            t.bail(Bail.FOREIGN)
        with b.if_then(is_int):
            b.store(ir.Constant(I32, 0), overflow)
            b.call(as_ll, [arg, overflow])
            with b.if_then(b.icmp_signed("!=", b.load(overflow), ir.Constant(I32, 0))):
                t.bail(Bail.FOREIGN)
    # the bead specialises for the bound arguments (a keyword's kind, not its default's)
    t.bail(Bail.TYPES, (argv, ir.Constant(I64, plan.nargs)))
    t.finish_bail(hand_off=True)
    return str(module)
