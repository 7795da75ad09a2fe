"""The trampoline: the one native entry every interpreted hot function shares
(count, forward to the function, the slow path at the trigger); see
:mod:`autotier.dispatch.entry`."""

from __future__ import annotations

from llvmlite import ir

from autotier.dispatch import cstack
from autotier.dispatch import hotobject as ho
from autotier.dispatch.builder import VECTORCALL, _Builder
from autotier.dispatch.irutil import (
    I64,
    PPTR,
    PTR,
    declare,
    field,
)


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
