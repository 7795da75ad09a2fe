"""``_Builder``: the pieces the trampoline and the guarded entries share (the
vectorcall signature, the C stack check, the trace and sys.monitoring checks, counting
calls, and the slow path that tells the bead and then runs the function); see
:mod:`autotier.dispatch.entry`."""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from autotier import compat
from autotier.dispatch import cstack
from autotier.dispatch import hotobject as ho
from autotier.dispatch.entryplan import Bail
from autotier.dispatch.framecount import FRAME_COUNTER
from autotier.dispatch.irutil import (
    I1,
    I8,
    I32,
    I64,
    PPTR,
    PTR,
    const_ptr,
    declare,
    field,
    keywords,
)

VECTORCALL = ir.FunctionType(PTR, [PTR, PPTR, I64, PTR])
ARGS_MASK = (1 << 63) - 1  # clears PY_VECTORCALL_ARGUMENTS_OFFSET
_CODE_LIMIT = 32  # bail codes are small ints below this
_TSTATE_CURRENT = compat.tstate_current_address()  # 0: call PyThreadState_Get


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
