"""Constructors native code makes itself (issue 11): ``Vector(x, y, z)``.

A call of a class whose instances object's own ``__new__`` makes and whose
``__init__`` is a plain function the frontend compiles (``methodplan.init_plan``,
``program.native_init``: it returns None and nothing else) is what CPython's
``type.__call__`` does, natively:

- the class's ``tp_version_tag`` is still the compile's (``__init__`` or ``__new__``
  assigned on the class or a base, any change: the call is the vectorcall of the
  class instead, :func:`capi.lower_call_object`, CPython's own);
- ``object.__new__(cls)``: the C function object's ``tp_new`` slot holds
  (``object_new``), called with an empty argument tuple, so it makes the instance as
  CPython's own call would (``tp_alloc``, then 3.11's ``_PyObject_InitializeDict``: the
  values of a managed dict indexed by the class's shared keys, the layout CPython's
  instances have), and raises CPython's TypeError for a class with abstract methods
  (its excess-arguments check cannot fail: ``__init__`` is overridden).  A NULL
  resumes after the call with the exception (``RAISED``);
- ``__init__``'s compiled code called directly with the new instance as ``self``, a
  native callee as a method compiled in is, two frames deep (``type.__call__``'s C
  level counts one, as in CPython: ``RecursionError`` comes where it would).  Where it
  deoptimises its frame finishes in the interpreter with the half-built instance (the
  record holds a reference of its own), and the caller goes on natively when it
  returned None; another result is CPython's ``TypeError: __init__() should return
  None, not 'int'``, raised after the call (a result frame); its exception is raised
  after the call too.  Every way out releases the instance first (CPython's
  ``type_call`` drops it when ``__init__`` fails).

The result is the instance, a new reference the value owns (:mod:`.owned`), as the
vectorcall's is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import CalleeKind, Status
from autotier.dispatch.irutil import PTR, const_ptr, declare, field
from autotier.frontend import capi, finishing, methods
from autotier.frontend.ir import CallObject, Kinds, VKind
from autotier.frontend.methodplan import MethodPlan
from autotier.frontend.program import native_init
from autotier.frontend.typeinfer import call_kinds
from autotier.frontend.values import I32, LV, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

#: Python frames a constructor call stands for: ``type.__call__`` and ``__init__``'s
FRAMES = 2
_NEW = ll.FunctionType(PTR, [PTR, PTR, PTR])


def object_new() -> int:
    """The address of ``object.__new__``'s C function (``object_new``)."""
    import ctypes

    address = ctypes.c_void_p.from_address(id(object) + compat.TYPE_TP_NEW).value
    assert address
    return address


def lower_construct(fl: FunctionLowering, instr: CallObject, combo: tuple[VKind, ...],
                    args: list[Any], returns: Kinds) -> tuple[LV, Kinds] | None:
    """``cls(*args)`` made natively (module doc), or None: not planned here."""
    init = native_init(fl.ml.program, fl.typed, instr, combo)
    if init is None:
        return None
    plan, kinds = init
    b = fl.b
    native, through, join = (fl.block(f"new_{what}") for what in ("native", "capi", "made"))
    cls = const_ptr(id(plan.cls))
    tag = b.load(field(b, cls, compat.TYPE_VERSION_TAG, I32), name="version_tag")
    b.cbranch(b.icmp_unsigned("==", tag, ll.Constant(I32, plan.version)), native, through
              ).set_weights([1000, 1])
    incoming: list[tuple[ll.Value, ll.Block]] = []
    b.position_at_end(through)
    lv, _ = capi.lower_call_object(fl, plan.cls, args, call_kinds(instr, combo), returns,
                                   kw_names=instr.kw_names)
    incoming.append((lv[0], b.block))
    b.branch(join)
    b.position_at_end(native)
    obj = _construct(fl, plan, kinds, args)
    incoming.append((obj, b.block))
    b.branch(join)
    b.position_at_end(join)
    phi = b.phi(PTR, name="made")
    for value, block in incoming:
        phi.add_incoming(value, block)
    return (phi,), returns


def _construct(fl: FunctionLowering, plan: MethodPlan, kinds: tuple[CalleeKind, ...],
               args: list[Any]) -> ll.Value:
    b = fl.b
    module = fl.ml.module
    new = b.inttoptr(i64(object_new()), _NEW.as_pointer())
    obj = b.call(new, [const_ptr(id(plan.cls)), const_ptr(id(())), ll.Constant(PTR, None)],
                 name="instance")
    capi.raised_if_null(fl, obj)  # abstract methods, a MemoryError: CPython's, after the call
    passed = [obj if p == 0 else args[p - 1] if p <= plan.nargs
              else methods.constant(fl, plan.default(p)) for p in plan.order]
    callee = fl.ml.fast_function(plan.func, kinds)
    budget = b.sub(fl.budget, i64(FRAMES), name="budget")
    assert fl.exits.record is not None, "declined in programs whose bailouts unwind"
    result = b.call(callee, [*passed, budget, fl.exits.record])
    status = b.extract_value(result, 0)
    failed, done = fl.block("init_failed"), fl.block("initialised")
    b.cbranch(b.icmp_signed("!=", status, ll.Constant(I32, 0)), failed, done
              ).set_weights([1, 1000])
    b.position_at_end(failed)
    decref = declare(module, "Py_DecRef", ll.VoidType(), [PTR])
    spec = (plan.func, kinds)
    returned = finishing.finish_outcome(fl, status, spec, lambda: b.call(decref, [obj]))
    fl.array_fields.refresh()  # the interpreter ran Python code
    not_none = b.icmp_unsigned("!=", returned, const_ptr(id(None)))
    with b.if_then(not_none, likely=False):
        # CPython's slot_tp_init: the TypeError, raised after the call
        error = module.globals.get("PyErr_Format") or ll.Function(
            module, ll.FunctionType(PTR, [PTR, PTR], var_arg=True), "PyErr_Format")
        name = b.load(field(b, b.load(field(b, returned, compat.OB_TYPE, PTR)), compat.TYPE_TP_NAME,
                                PTR))
        b.call(error, [const_ptr(id(TypeError)), finishing.c_string(
            module, "init_not_none", "__init__() should return None, not '%.200s'"), name])
        b.call(decref, [returned])
        b.call(decref, [obj])
        record = fl.exits.record
        b.call(finishing.result_frame(fl.ml),
               [record, i64(1), finishing.take_exception(b, module)])
    fl.bail_if(not_none, Status.RESULT, name="returned_none", callee=spec)
    b.call(decref, [returned])
    b.branch(done)
    b.position_at_end(done)
    return obj

