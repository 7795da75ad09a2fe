"""Method calls of instances (issue 11): ``p.norm()``, ``p.dist(q)`` through the C API.

``obj.name(*args)`` is ``PyObject_VectorcallMethod(name, [obj, *args])``: CPython looks
the method up on the instance (its class's lookup, as LOAD_METHOD does) and calls it
with the arguments, numbers boxed, sequences, arrays and instances borrowed; so the
method's binding, defaults and exceptions are CPython's.  What it returns is taken as a
call through the C API is (an int within int64, a float, a bool, None: ``OPAQUE_RESULT``;
anything else resumes after the call with it, ``Status.ELEMENT``); an exception
resumes after the call with it (``RAISED``), changed bindings too (``STALE``).

CPython looks the method up *before* evaluating the arguments, native code at the call:
so the frontend takes only calls whose arguments ran no code that may run Python code
(no attribute access, no call: :func:`arguments_are_pure`), where the two orders cannot
be told apart.  A deopt before the call rebuilds the method as ``getattr(obj, name)``
(one lookup, in the interpreter: native code made none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import Status
from autotier.dispatch.irutil import PTR, call_method, const_ptr, declare
from autotier.frontend import ir, periodic, results
from autotier.frontend.attrs import name_object
from autotier.frontend.capi import boxed_arguments, kwnames_tuple, resume_after
from autotier.frontend.finishing import native_depth, take_exception
from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.values import I32, LV

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

#: instructions that may run Python code (a method looked up after them could differ)
_MAY_RUN_CODE = (ir.GetAttr, ir.SetAttr, ir.DelAttr, ir.CallObject, ir.CallFunction,
                 ir.CallBuiltin, ir.Contains, ir.CallMethod)
#: argument kinds passed as the objects they are (borrowed); the others are boxed
BORROWED = frozenset({VKind.LIST, VKind.TUPLE, VKind.ARRAY, VKind.INSTANCE})


def arguments_are_pure(emitted: list[ir.Instr]) -> bool:
    """Whether the instructions that computed a method call's arguments ran no code
    that may run Python code."""
    return not any(isinstance(i, _MAY_RUN_CODE) for i in emitted)


def lower_call_method(fl: FunctionLowering, instr: ir.CallMethod, combo: tuple[VKind, ...],
                      args: list[ll.Value], returns: Kinds) -> tuple[LV, Kinds]:
    b = fl.b
    module = fl.ml.module
    decref = declare(module, "Py_DecRef", ll.VoidType(), [PTR])
    null = ll.Constant(PTR, None)
    stale = periodic.watch_namespaces(fl)
    argv, release = boxed_arguments(fl, [(args[0], None)] + [  # the instance, borrowed
        (value, None if kind in BORROWED else kind)
        for value, kind in zip(args[1:], combo[1:], strict=True)])
    depth = b.trunc(native_depth(fl), I32)
    names = kwnames_tuple(instr.kw_names)
    result = call_method(b, module, name_object(instr.name), argv, depth=depth,
                         kwnames=const_ptr(id(names)) if names is not None else None,
                         keywords=len(instr.kw_names))
    reshaped = fl.array_fields.changed()  # the method ran Python code
    release()
    raised = b.icmp_unsigned("==", result, null)
    resume_after(fl, raised, Status.RAISED, "returned",
                 lambda: take_exception(b, module), raised=True)
    took, lv = results.take(fl, result, returns)  # a number, or a speculated object
    resume_after(fl, b.not_(took), Status.ELEMENT, "took", lambda: result)
    resume_after(fl, b.or_(stale(), reshaped), Status.STALE, "same_globals", lambda: result)
    if not results.takes_object(returns):
        b.call(decref, [result])
    return lv, returns
