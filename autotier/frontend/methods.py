"""Method calls of instances (issue 11): ``p.norm()``, ``p.dist(q)``.

Where :mod:`.methodplan` plans the call (a plain function found on the class's MRO that
the instance cannot shadow), the method's compiled code is called directly, natively,
``self`` borrowed, as a helper is (``FunctionLowering.call_function``), behind the
plan's guards: the instance's type, the class's version tag, its values and the shared
keys' count.  Where they fail, or nothing is planned, ``obj.name(*args)`` is
``PyObject_VectorcallMethod(name, [obj, *args])``: CPython looks the method up on the
instance (its class's lookup, as LOAD_METHOD does) and calls it with the arguments,
numbers boxed, sequences, arrays and instances borrowed; so the method's binding,
defaults and exceptions are CPython's.  What it returns is taken when of the kinds the
compiled-in method returns (else an int within int64, a float, a bool, None:
``OPAQUE_RESULT``; anything else resumes after the call with it, ``Status.ELEMENT``); an
exception resumes after the call with it (``RAISED``), changed bindings too (``STALE``).

CPython looks the method up *before* evaluating the arguments.  Where they ran no code
that may run Python code (no attribute access, no call: :func:`arguments_are_pure`) the
two orders cannot be told apart, and the guards are checked at the call; a deopt before
it rebuilds the method as ``getattr(obj, name)`` (one lookup, in the interpreter: native
code made none).  Otherwise an ``ir.MethodCheck`` where CPython looks it up checks the
guards there (:func:`lower_method_check`, deoptimising at the lookup where they fail),
and the call calls the function it found (``checked``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch.irutil import PTR, call_method, const_ptr, declare, field
from autotier.frontend import capi, ir, methodplan, periodic
from autotier.frontend.attrs import name_object
from autotier.frontend.capi import boxed_arguments, kwnames_tuple
from autotier.frontend.errors import Unsupported
from autotier.frontend.finishing import native_depth
from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.methodplan import MethodPlan
from autotier.frontend.typeinfer import argument_kind, method_spec
from autotier.frontend.values import I1, I32, I64, LV, i64

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
    """``obj.name(*args)``: the method compiled in, called natively where its guards
    hold (:mod:`.methodplan`), else (and where none is planned) CPython's method call."""
    native = method_spec(instr, combo, fl.typed.call_classes, fl.typed.held)
    program = fl.ml.program
    if instr.checked and native is None:  # (the class changed during the compile)
        raise Unsupported(f"the method .{instr.name} planned before its arguments is not "
                          "planned at its call")
    compiled_in = native is not None and (native[0].func, native[1]) in program.typed and (
        program.typed[(native[0].func, native[1])].returns == returns)
    if not compiled_in:
        if not instr.checked:
            return _through_capi(fl, instr, combo, args, returns)
        assert native is not None
        return _call_found(fl, instr, combo, args, plan=native[0], returns=returns)
    assert native is not None
    plan, kinds = native
    b = fl.b
    direct, through, join = (fl.block(f"{instr.name}_{what}")
                             for what in ("native", "capi", "returned"))
    # checked: the method is the plan's (found before the arguments ran), called natively
    # while the instance is still of its class
    guard = _same_type(fl, args[0], plan) if instr.checked else _guards(fl, args[0], plan)
    b.cbranch(guard, direct, through).set_weights([1000, 1])
    incoming: list[tuple[LV, ll.Block]] = []
    b.position_at_end(direct)
    passed = [args[p] if p <= plan.nargs else constant(fl, plan.default(p))
              for p in plan.order]
    lv, _ = fl.call_function(plan.func, kinds, passed)
    incoming.append((lv, b.block))
    b.branch(join)
    b.position_at_end(through)
    if instr.checked:
        lv, _ = _call_found(fl, instr, combo, args, plan=plan, returns=returns)
    else:
        lv, _ = _through_capi(fl, instr, combo, args, returns)
    incoming.append((lv, b.block))
    b.branch(join)
    b.position_at_end(join)
    merged = []
    for i, value in enumerate(incoming[0][0]):
        phi = b.phi(value.type)
        for values, block in incoming:
            phi.add_incoming(values[i], block)
        merged.append(phi)
    return tuple(merged), returns


def lower_method_check(fl: FunctionLowering, instr: ir.MethodCheck, obj: ll.Value) -> None:
    """Where CPython looks ``obj.name`` up, before arguments that may run Python code:
    deoptimise there (the interpreter looks it up) unless the plan's guards hold; the
    method is then the plan's function, which a deopt before the call hands over
    (``exits.stack_entries``)."""
    cls = fl.typed.classes[instr.obj]
    plan = methodplan.plan(cls, instr.name, instr.nargs, instr.kw_names)
    if plan is None:  # (the class changed during the compile)
        raise Unsupported(f"the method .{instr.name} of a {cls.__qualname__} is not planned "
                          "any more")
    fl.exits.found_methods[instr.uid] = plan.func
    fl.ml.found.setdefault(plan.func, plan.func.__code__)
    fl.bail_if(fl.b.not_(_guards(fl, obj, plan)), Status.STALE, name=f"{instr.name}_found")


def _same_type(fl: FunctionLowering, obj: ll.Value, plan: MethodPlan) -> ll.Value:
    b = fl.b
    return b.icmp_unsigned("==", b.load(field(b, obj, compat.OB_TYPE, PTR)),
                           const_ptr(id(plan.cls)))


def _call_found(fl: FunctionLowering, instr: ir.CallMethod, combo: tuple[VKind, ...],
                args: list[ll.Value], *, plan: MethodPlan, returns: Kinds
                ) -> tuple[LV, Kinds]:
    """The method found before the arguments (``plan.func``) called with ``obj`` and
    them through the C API, as CPython calls what its lookup found."""
    kinds = tuple(argument_kind(k, v, None) for k, v in zip(combo, instr.uses(), strict=True))
    return capi.lower_call_object(fl, plan.func, args, kinds, returns,
                                  kw_names=instr.kw_names)


def _guards(fl: FunctionLowering, obj: ll.Value, plan: MethodPlan) -> ll.Value:
    """i1: the instance's type is still the class, the class's version tag the
    compile's, and the instance does not hold the name: it has values indexed by shared
    keys holding no more names than at the compile (none of them the method's), or a
    dict of str keys without it (looked up as CPython's lookup does: no code runs), or
    neither (no attributes at all)."""
    b = fl.b
    cls = const_ptr(id(plan.cls))
    same_type = _same_type(fl, obj, plan)
    tag = b.load(field(b, cls, compat.TYPE_VERSION_TAG, I32), name="version_tag")
    ok = b.and_(same_type, b.icmp_unsigned("==", tag, ll.Constant(I32, plan.version)))
    if not plan.keys:
        return ok
    false, true = ll.Constant(I1, 0), ll.Constant(I1, 1)
    null = ll.Constant(PTR, None)
    instance, with_values, with_dict, str_keys, join = (
        fl.block(f"{plan.name}_{what}")
        for what in ("instance", "values", "dict", "str_keys", "unshadowed"))
    answers: list[tuple[ll.Value, ll.Block]] = [(false, b.block)]
    b.cbranch(ok, instance, join)
    b.position_at_end(instance)
    values = b.load(field(b, obj, compat.OBJECT_VALUES, PTR), name="values")
    b.cbranch(b.icmp_unsigned("!=", values, null), with_values, with_dict)
    b.position_at_end(with_values)
    entries = b.load(field(b, const_ptr(plan.keys), compat.DK_NENTRIES, I64), name="names")
    answers.append((b.icmp_signed("==", entries, i64(plan.entries)), b.block))
    b.branch(join)
    b.position_at_end(with_dict)
    own = b.load(field(b, obj, compat.OBJECT_DICT, PTR), name="dict")
    answers.append((true, b.block))  # neither values nor a dict: no attributes
    b.cbranch(b.icmp_unsigned("==", own, null), join, str_keys)
    b.position_at_end(str_keys)
    keys = b.load(field(b, own, compat.DICT_MA_KEYS, PTR), name="keys")
    kind = b.load(field(b, keys, compat.DK_KIND, ll.IntType(8)), name="keys_kind")
    general = b.icmp_unsigned("==", kind, ll.Constant(ll.IntType(8), compat.DICT_KEYS_GENERAL))
    looked = fl.block(f"{plan.name}_lookup")
    answers.append((false, b.block))  # a key of another type may run code: CPython's
    b.cbranch(general, join, looked)
    b.position_at_end(looked)
    getitem = declare(fl.ml.module, "PyDict_GetItem", PTR, [PTR, PTR])
    found = b.call(getitem, [own, name_object(plan.name)])
    answers.append((b.icmp_unsigned("==", found, null), b.block))
    b.branch(join)
    b.position_at_end(join)
    phi = b.phi(I1, name="unshadowed")
    for value, block in answers:
        phi.add_incoming(value, block)
    return phi


def constant(fl: FunctionLowering, value: object) -> ll.Value:
    """A default the plan takes (an int within int64, a float or a bool)."""
    if type(value) is bool:
        return ll.Constant(I1, int(value))
    if type(value) is float:
        return ll.Constant(ll.DoubleType(), value)
    assert type(value) is int
    return ll.Constant(fl.ints, value)


def _through_capi(fl: FunctionLowering, instr: ir.CallMethod, combo: tuple[VKind, ...],
                  args: list[ll.Value], returns: Kinds) -> tuple[LV, Kinds]:
    b = fl.b
    module = fl.ml.module
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
    return capi.take_result(fl, result, returns, stale, reshaped), returns
