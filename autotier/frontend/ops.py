"""Leaves of the lowering: one instruction for one combination of operand kinds.

``leaf(fl, instr, combo, args)`` emits straight-line code computing ``instr`` when
its operands have the kinds ``combo`` (their unboxed values in ``args``) and returns
``(values, kinds)``, or None after branching to a bailout (a combination Python
answers with TypeError).  Handlers are found by name: ``_lower_<Instr class>``.
Arithmetic semantics (overflow, floor division, int/float comparison, math domain
errors ...) come from the numerics helpers, float ``+ - *`` from
:mod:`autotier.frontend.floatarith` (x86's nan bits) where :mod:`autotier.frontend.nanbits`
says their bits may be seen; this module only picks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llvmlite import ir as ll

from autotier.abi import Status
from autotier.frontend import (
    arrays,
    boxes,
    capi,
    construct,
    cpower,
    cvalues,
    floatarith,
    instances,
    ir,
    literals,
    npvalues,
    sequences,
)
from autotier.frontend.builtins_table import MATH_FUNCTIONS
from autotier.frontend.ir import BinOp, CmpOp, Kinds, UnOp, VKind
from autotier.frontend.kinds import NO_KINDS, NP_INTS, NP_SCALARS, SEQ_ITERS, SEQUENCES
from autotier.frontend.typeinfer import (
    INTLIKE,
    OPAQUE_RESULT,
    binop_kind,
    call_kinds,
    container_of,
    result_kinds,
    unop_kind,
)
from autotier.frontend.values import F64, I1, I64, LV, f64, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

Leaf = tuple[LV, Kinds] | None

_INT_HELPERS = {
    BinOp.ADD: "int_add", BinOp.SUB: "int_sub", BinOp.MUL: "int_mul",
    BinOp.FLOORDIV: "int_floordiv", BinOp.MOD: "int_mod", BinOp.POW: "int_pow",
    BinOp.LSHIFT: "int_lshift", BinOp.RSHIFT: "int_rshift", BinOp.TRUEDIV: "int_truediv",
}
_FLOAT_HELPERS = {
    BinOp.TRUEDIV: "float_div", BinOp.FLOORDIV: "float_floordiv", BinOp.MOD: "float_mod",
    BinOp.POW: "float_pow",
}
_CMP_NAMES = {CmpOp.LT: "lt", CmpOp.LE: "le", CmpOp.EQ: "eq", CmpOp.NE: "ne",
              CmpOp.GT: "gt", CmpOp.GE: "ge"}
_TO_INT_HELPERS = {"floor": "float_floor_to_int", "ceil": "float_ceil_to_int",
                   "trunc": "float_to_int"}


def _one(kind: VKind) -> Kinds:
    return frozenset({kind})


def as_int(fl: FunctionLowering, value: ll.Value, kind: VKind) -> ll.Value:
    """An int or bool as an int of the function's int type."""
    return fl.b.zext(value, fl.ints) if kind is VKind.BOOL else value


def as_float(fl: FunctionLowering, value: ll.Value, kind: VKind) -> ll.Value:
    """An int, bool or float as double, converted the way CPython converts."""
    if kind is VKind.FLOAT:
        return value
    if kind is VKind.BOOL:
        return fl.b.uitofp(value, F64)  # 0.0 or 1.0, exactly
    return fl.helper("int_to_float", [value])


def as_bool(b: ll.IRBuilder, value: ll.Value) -> ll.Value:
    """A helper's boolean result (i1 or a wider int) as i1."""
    if value.type == I1:
        return value
    return b.icmp_unsigned("!=", value, ll.Constant(value.type, 0))


def truth(fl: FunctionLowering, value: ll.Value, kind: VKind) -> ll.Value:
    if kind is VKind.NONE:
        return ll.Constant(I1, 0)
    if kind in NP_SCALARS:
        return npvalues.truth(fl, kind, value)
    if kind is VKind.COMPLEX:
        return cvalues.truth(fl, value)
    if kind is VKind.BOOL:
        return value
    if kind is VKind.INT:
        return fl.b.icmp_signed("!=", value, ll.Constant(value.type, 0))
    return fl.b.fcmp_unordered("!=", value, f64(0.0))  # nan is true, -0.0 false


def leaf(fl: FunctionLowering, instr: ir.Instr, combo: tuple[VKind, ...], args: list[LV]) -> Leaf:
    container = container_of(instr)
    row = container is not None and container in fl.typed.arrays and isinstance(
        instr, ir.GetItem | ir.IterValue) and fl.typed.arrays[container].ndim >= 2
    if row:
        expected: Kinds = frozenset({VKind.ARRAY})  # a row (typeinfer._row_kind)
    else:
        expected = result_kinds(instr, combo, _callee_returns(fl), _elements(fl, instr),
                                instances.unknown_object(instr, fl.types),
                                classes=fl.typed.call_classes, held=fl.typed.held)
    if not expected:
        # no kind to answer with: CPython raises a TypeError, never returns, or holds a
        # value native code cannot (an int constant past int64); numpy's own (a bool
        # index, a value it casts its way) is an answer of the function
        numpy = any(k in NP_SCALARS or k in (VKind.ARRAY, VKind.ARRAY_ITER) for k in combo)
        fl.bail(Status.NUMPY if numpy else Status.UNSUPPORTED)
        return None
    handler = globals()[f"_lower_{type(instr).__name__}"]
    values = [v[0] if len(v) == 1 else v for v in args]
    out: Leaf = handler(fl, instr, combo, values)
    if out is not None and not out[1] <= expected:
        raise ir.IRError(f"{instr.dest}: lowered to {set(out[1])}, typed {set(expected)}")
    return out


def _elements(fl: FunctionLowering, instr: ir.Instr) -> Kinds:
    """The speculated element kinds of ``instr``'s container operand, if it has one (a
    call's: its result's speculated kinds, :mod:`.results`)."""
    if instr.dest in fl.typed.speculated:
        return fl.typed.speculated[instr.dest]
    container = container_of(instr)
    return fl.typed.elements.get(container, NO_KINDS) if container is not None else NO_KINDS


def _callee_returns(fl: FunctionLowering) -> Any:
    program = fl.ml.program

    def returns(func: Any, kinds: Any) -> Kinds:
        if (func, kinds) in program.opaque:
            return OPAQUE_RESULT
        return program.returned[(func, kinds)]

    return returns


# ---------------------------------------------------------------- constants


def _lower_Const(fl: FunctionLowering, instr: ir.Const, combo: Any, args: list[Any]) -> Leaf:
    value = instr.value
    if type(value) is bool:
        return (ll.Constant(I1, int(value)),), _one(VKind.BOOL)
    if type(value) is float:
        return (f64(value),), _one(VKind.FLOAT)
    if value is None:
        return (ll.Constant(I1, 0),), _one(VKind.NONE)
    if type(value) is complex:
        return (cvalues.constant(value),), _one(VKind.COMPLEX)
    assert isinstance(value, int)
    return (ll.Constant(fl.ints, int(value)),), _one(VKind.INT)


def _lower_Undefined(fl: FunctionLowering, instr: ir.Undefined, combo: Any, args: Any) -> Leaf:
    return (i64(0), ll.Constant(fl.ints, 0), f64(0.0)), _one(VKind.UNDEF)


# ---------------------------------------------------------------- operators


def _lower_BinaryOp(fl: FunctionLowering, instr: ir.BinaryOp, combo: tuple[VKind, VKind],
                    args: list[Any]) -> Leaf:
    ka, kb = combo
    x, y = args
    b = fl.b
    op = instr.op
    if VKind.LIST in combo:  # xs * n, n * xs (typed: nothing else of a list)
        seq, count, kind = (x, y, kb) if ka is VKind.LIST else (y, x, ka)
        return (literals.repeat(fl, seq, count, kind),), _one(VKind.LIST)
    if ka in NP_SCALARS or kb in NP_SCALARS:
        value = npvalues.lower_binary(fl, op, combo, x, y)
        return (value,), _one(npvalues.binary_kind(op, ka, kb))
    if VKind.COMPLEX in combo:
        return (cvalues.binary(fl, op, combo, x, y),), _one(VKind.COMPLEX)
    out = binop_kind(op, ka, kb)
    if out is VKind.BOOL:
        fn = {BinOp.AND: b.and_, BinOp.OR: b.or_, BinOp.XOR: b.xor}[op]
        return (fn(x, y),), _one(VKind.BOOL)
    if ka in INTLIKE and kb in INTLIKE:
        x, y = as_int(fl, x, ka), as_int(fl, y, kb)
        if op in (BinOp.AND, BinOp.OR, BinOp.XOR):
            fn = {BinOp.AND: b.and_, BinOp.OR: b.or_, BinOp.XOR: b.xor}[op]
            return (fn(x, y),), _one(VKind.INT)
        kind = VKind.FLOAT if op is BinOp.TRUEDIV else VKind.INT
        return (fl.helper(_INT_HELPERS[op], [x, y]),), _one(kind)
    x, y = as_float(fl, x, ka), as_float(fl, y, kb)
    if op in (BinOp.ADD, BinOp.SUB, BinOp.MUL):
        if instr.dest not in fl.nan_bits_seen:  # only whether it is a nan matters
            fn = {BinOp.ADD: b.fadd, BinOp.SUB: b.fsub, BinOp.MUL: b.fmul}[op]
            return (fn(x, y),), _one(VKind.FLOAT)
        name = {BinOp.ADD: "add", BinOp.SUB: "sub", BinOp.MUL: "mul"}[op]
        return (floatarith.binary(b, name, x, y),), _one(VKind.FLOAT)  # x86's nan bits
    return (fl.helper(_FLOAT_HELPERS[op], [x, y]),), _one(VKind.FLOAT)


def _lower_UnaryOp(fl: FunctionLowering, instr: ir.UnaryOp, combo: tuple[VKind],
                   args: list[Any]) -> Leaf:
    (kind,), (x,) = combo, args
    b = fl.b
    if kind in NP_SCALARS and instr.op is not UnOp.NOT:
        return (npvalues.lower_unary(fl, instr.op, kind, x),), _one(kind)
    if kind is VKind.COMPLEX and instr.op is not UnOp.NOT:  # - or + (~ is typed away)
        return ((cvalues.negate(fl, x) if instr.op is UnOp.NEG else x),), _one(kind)
    out = unop_kind(instr.op, kind)
    assert out is not None
    if instr.op is UnOp.NOT:
        return (b.xor(truth(fl, x, kind), ll.Constant(I1, 1)),), _one(VKind.BOOL)
    if kind is VKind.FLOAT:
        return ((b.fneg(x) if instr.op is UnOp.NEG else x),), _one(VKind.FLOAT)
    x = as_int(fl, x, kind)
    if instr.op is UnOp.INVERT:
        return (b.xor(x, ll.Constant(x.type, -1)),), _one(VKind.INT)
    if instr.op is UnOp.POS:
        return (x,), _one(VKind.INT)
    if kind is VKind.BOOL:
        return (b.sub(ll.Constant(x.type, 0), x),), _one(VKind.INT)
    return (fl.helper("int_neg", [x]),), _one(VKind.INT)


def _lower_Compare(fl: FunctionLowering, instr: ir.Compare, combo: tuple[VKind, VKind],
                   args: list[Any]) -> Leaf:
    ka, kb = combo
    x, y = args
    b = fl.b
    op = instr.op.value
    if VKind.NONE in combo:  # == and != only (typeinfer): None equals only None
        equal = ka is kb
        return (ll.Constant(I1, int(equal == (instr.op is CmpOp.EQ))),), _one(VKind.BOOL)
    if ka in NP_SCALARS or kb in NP_SCALARS:
        return (npvalues.lower_compare(fl, instr.op, combo, x, y),), _one(VKind.NP_BOOL)
    if VKind.COMPLEX in combo:  # == and != (typeinfer)
        return (cvalues.compare(fl, instr.op, combo, x, y),), _one(VKind.BOOL)
    if ka in INTLIKE and kb in INTLIKE:
        return (b.icmp_signed(op, as_int(fl, x, ka), as_int(fl, y, kb)),), _one(VKind.BOOL)
    if VKind.INT not in combo:  # floats, or a float and a bool (0.0 / 1.0 exactly)
        x, y = as_float(fl, x, ka), as_float(fl, y, kb)
        if instr.op is CmpOp.NE:
            return (b.fcmp_unordered("!=", x, y),), _one(VKind.BOOL)
        return (b.fcmp_ordered(op, x, y),), _one(VKind.BOOL)
    name = "cmp_int_float_" if ka is VKind.INT else "cmp_float_int_"
    return (as_bool(b, fl.helper(name + _CMP_NAMES[instr.op], [x, y])),), _one(VKind.BOOL)


def _lower_CallMethod(fl: FunctionLowering, instr: ir.CallMethod, combo: tuple[VKind, ...],
                      args: list[Any]) -> Leaf:
    from autotier.frontend import methods

    return methods.lower_call_method(fl, instr, combo, args, _expected(fl, instr, combo))


def _lower_MethodCheck(fl: FunctionLowering, instr: ir.MethodCheck,
                       combo: tuple[VKind, ...], args: list[Any]) -> Leaf:
    from autotier.frontend import methods

    methods.lower_method_check(fl, instr, args[0])
    return (ll.Constant(I1, 0),), _one(VKind.NONE)


def _lower_SetAttr(fl: FunctionLowering, instr: ir.SetAttr, combo: tuple[VKind, ...],
                   args: list[Any]) -> Leaf:
    from autotier.frontend import attrs

    return attrs.set_attr(fl, instr, combo, args)


def _lower_DelAttr(fl: FunctionLowering, instr: ir.DelAttr, combo: tuple[VKind, ...],
                   args: list[Any]) -> Leaf:
    from autotier.frontend import attrs

    return attrs.del_attr(fl, instr, args[0])


def _lower_IsNone(fl: FunctionLowering, instr: ir.IsNone, combo: tuple[VKind],
                  args: list[Any]) -> Leaf:
    return (ll.Constant(I1, int((combo[0] is VKind.NONE) != instr.negate)),), _one(VKind.BOOL)


def _lower_Truth(fl: FunctionLowering, instr: ir.Truth, combo: tuple[VKind],
                 args: list[Any]) -> Leaf:
    if combo[0] in SEQUENCES:  # a list or tuple is true when not empty
        n = sequences.length(fl, args[0], combo[0])
        return (fl.b.icmp_signed("!=", n, i64(0)),), _one(VKind.BOOL)
    return (truth(fl, args[0], combo[0]),), _one(VKind.BOOL)


# ---------------------------------------------------------------- builtins


def _lower_Abs(fl: FunctionLowering, instr: ir.Abs, combo: tuple[VKind],
               args: list[Any]) -> Leaf:
    (kind,), (x,) = combo, args
    if kind in NP_SCALARS:
        return (npvalues.lower_abs(fl, kind, x),), _one(kind)
    if kind is VKind.COMPLEX:
        bound = fl.abs_bounds.get(instr.dest)
        if bound is not None:  # only ever compared with ``bound``
            return (cpower.absolute_against(fl, x, bound),), _one(VKind.FLOAT)
        return (cpower.absolute(fl, x),), _one(VKind.FLOAT)
    if kind is VKind.FLOAT:
        fabs = fl.ml.module.declare_intrinsic("llvm.fabs", [F64])
        return (fl.b.call(fabs, [x]),), _one(VKind.FLOAT)
    if kind is VKind.BOOL:
        return (as_int(fl, x, kind),), _one(VKind.INT)
    return (fl.helper("int_abs", [x]),), _one(VKind.INT)


def _to_int(fl: FunctionLowering, x: ll.Value, kind: VKind, helper: str) -> Leaf:
    if kind is VKind.FLOAT:
        return (fl.helper(helper, [x]),), _one(VKind.INT)
    return (as_int(fl, x, kind),), _one(VKind.INT)


def _lower_ToInt(fl: FunctionLowering, instr: ir.ToInt, combo: tuple[VKind],
                 args: list[Any]) -> Leaf:
    if combo[0] in NP_SCALARS:
        return (npvalues.as_int(fl, combo[0], args[0]),), _one(VKind.INT)
    return _to_int(fl, args[0], combo[0], "float_to_int")


def _lower_Round(fl: FunctionLowering, instr: ir.Round, combo: tuple[VKind],
                 args: list[Any]) -> Leaf:
    return _to_int(fl, args[0], combo[0], "float_round_to_int")


def _lower_ToFloat(fl: FunctionLowering, instr: ir.ToFloat, combo: tuple[VKind],
                   args: list[Any]) -> Leaf:
    if combo[0] in NP_SCALARS:
        return (npvalues.as_double(fl, combo[0], args[0]),), _one(VKind.FLOAT)
    return (as_float(fl, args[0], combo[0]),), _one(VKind.FLOAT)


def _lower_MathCall(fl: FunctionLowering, instr: ir.MathCall, combo: tuple[VKind, ...],
                    args: list[Any]) -> Leaf:
    fn = MATH_FUNCTIONS[instr.fn]
    if any(k in NP_SCALARS for k in combo):  # math sees float(x) of a numpy scalar
        args = [npvalues.as_double(fl, k, x) if k in NP_SCALARS else x
                for x, k in zip(args, combo, strict=True)]
        combo = tuple(VKind.FLOAT if k in NP_SCALARS else k for k in combo)
    if instr.fn in _TO_INT_HELPERS:
        return _to_int(fl, args[0], combo[0], _TO_INT_HELPERS[instr.fn])
    floats = [as_float(fl, x, k) for x, k in zip(args, combo, strict=True)]
    name = "math_log_base" if instr.fn == "log" and len(args) == 2 else f"math_{instr.fn}"
    value = fl.helper(name, floats)
    if fn.result is VKind.BOOL:
        value = as_bool(fl.b, value)
    return (value,), _one(fn.result)


def _lower_CallFunction(fl: FunctionLowering, instr: ir.CallFunction,
                        combo: tuple[VKind, ...], args: list[Any]) -> Leaf:
    kinds = call_kinds(instr, combo, fl.typed.call_classes, fl.typed.held)
    return fl.call_function(instr.callee, kinds, args,
                            fl.typed.speculated.get(instr.dest, NO_KINDS))


# ---------------------------------------------------------------- range loops


def _lower_MakeRange(fl: FunctionLowering, instr: ir.MakeRange, combo: tuple[VKind, ...],
                     args: list[Any]) -> Leaf:
    b = fl.b
    ints = [fl.narrow(as_int(fl, x, k)) for x, k in zip(args, combo, strict=True)]
    if len(ints) == 1:
        start, stop, step = i64(0), ints[0], i64(1)
    elif len(ints) == 2:
        (start, stop), step = ints, i64(1)
    else:
        start, stop, step = ints
        fl.bail_if(b.icmp_signed("==", step, i64(0)), Status.VALUE, name="step_ok")
    return (start, stop, step), _one(VKind.RANGE)


def _lower_Len(fl: FunctionLowering, instr: ir.Len, combo: tuple[VKind],
               args: list[Any]) -> Leaf:
    if combo[0] is VKind.ARRAY:
        return arrays.lower_len(fl, instr.operand, args[0], fl.typed.arrays[instr.operand])
    return sequences.lower_len(fl, args[0], combo[0])


def _indexes(fl: FunctionLowering, combo: tuple[VKind, ...], args: list[Any],
             at: slice) -> tuple[tuple[VKind, ...], list[Any]]:
    """``combo`` and ``args`` with each numpy integer index among ``at`` made the int it
    stands for (as ``__index__`` gives it; a uint64 past int64 deoptimises: CPython and
    numpy raise their IndexError for it)."""
    kinds, values = list(combo), list(args)
    for i in range(len(combo))[at]:
        if kinds[i] in NP_INTS:
            values[i] = npvalues.as_int(fl, kinds[i], values[i])
            kinds[i] = VKind.INT
    return tuple(kinds), values


def _lower_GetItem(fl: FunctionLowering, instr: ir.GetItem, combo: tuple[VKind, VKind],
                   args: list[Any]) -> Leaf:
    combo, args = _indexes(fl, combo, args, slice(1, 2))  # type: ignore[assignment]
    if combo[0] is VKind.ARRAY:
        return arrays.lower_getitem(fl, instr.seq, args[0], fl.typed.arrays[instr.seq], [args[1]],
                                    index_kinds=combo[1:], line=instr.line)
    return sequences.lower_getitem(fl, args[0], combo[0], args[1], _elements(fl, instr))


def _lower_GetSlice(fl: FunctionLowering, instr: ir.GetSlice, combo: tuple[VKind, ...],
                    args: list[Any]) -> Leaf:
    bounds = list(zip(args[1:], combo[1:], strict=True))
    return (literals.sliced(fl, args[0], bounds),), _one(combo[0])


def _lower_SetItem(fl: FunctionLowering, instr: ir.SetItem,
                   combo: tuple[VKind, VKind, VKind], args: list[Any]) -> Leaf:
    combo, args = _indexes(fl, combo, args, slice(1, 2))  # type: ignore[assignment]
    if combo[0] is VKind.ARRAY:
        return arrays.lower_setitem(fl, instr.seq, args[0], fl.typed.arrays[instr.seq], [args[1]],
                                    index_kinds=combo[1:2], value=args[2], vkind=combo[2],
                                    line=instr.line)
    return sequences.lower_setitem(fl, args[0], args[1], (args[2],), combo[2])


def _lower_CallObject(fl: FunctionLowering, instr: ir.CallObject, combo: tuple[VKind, ...],
                      args: list[Any]) -> Leaf:
    kinds = call_kinds(instr, combo)
    if instr.makes is not None:  # numpy.zeros(shape, dtype=...): an array it owns
        return capi.lower_call_object(fl, instr.callee, args, kinds, _one(VKind.ARRAY),
                                      makes=instr.makes)
    expected = _expected(fl, instr, combo)
    made = construct.lower_construct(fl, instr, combo, args, expected)
    if made is not None:  # the instance made natively, its __init__ compiled in
        return made
    return capi.lower_call_object(fl, instr.callee, args, kinds, expected,
                                  kw_names=instr.kw_names)


def _lower_NumberAttr(fl: FunctionLowering, instr: ir.NumberAttr, combo: tuple[VKind],
                      args: list[Any]) -> Leaf:
    value, kind = cvalues.number_attr(fl, instr.name, args[0], combo[0])
    return (value,), _one(kind)


def _lower_Conjugate(fl: FunctionLowering, instr: ir.Conjugate, combo: tuple[VKind],
                     args: list[Any]) -> Leaf:
    value, kind = cvalues.conjugate(fl, args[0], combo[0])
    return (value,), _one(kind)


def _lower_MakeComplex(fl: FunctionLowering, instr: ir.MakeComplex, combo: tuple[VKind, ...],
                       args: list[Any]) -> Leaf:
    return (cvalues.make_complex(fl, list(args), combo),), _one(VKind.COMPLEX)


def _lower_GetCell(fl: FunctionLowering, instr: ir.GetCell, combo: tuple[VKind, ...],
                   args: list[Any]) -> Leaf:
    combo, args = _indexes(fl, combo, args, slice(1, None))
    return arrays.lower_getitem(fl, instr.arr, args[0], fl.typed.arrays[instr.arr], args[1:],
                                index_kinds=combo[1:], line=instr.line)


def _lower_SetCell(fl: FunctionLowering, instr: ir.SetCell, combo: tuple[VKind, ...],
                   args: list[Any]) -> Leaf:
    combo, args = _indexes(fl, combo, args, slice(1, -1))
    return arrays.lower_setitem(fl, instr.arr, args[0], fl.typed.arrays[instr.arr], args[1:-1],
                                index_kinds=combo[1:-1], value=args[-1], vkind=combo[-1],
                                line=instr.line)


def _lower_ArrayAttr(fl: FunctionLowering, instr: ir.ArrayAttr, combo: tuple[VKind],
                     args: list[Any]) -> Leaf:
    return arrays.lower_attr(fl, instr.arr, args[0], fl.typed.arrays[instr.arr], instr.name)


def _lower_ArrayDim(fl: FunctionLowering, instr: ir.ArrayDim, combo: tuple[VKind, VKind],
                    args: list[Any]) -> Leaf:
    return arrays.lower_dim(fl, instr.arr, args[0], fl.typed.arrays[instr.arr], args[1],
                            index_kind=combo[1])


def _lower_ShapeTuple(fl: FunctionLowering, instr: ir.ShapeTuple, combo: tuple[VKind],
                      args: list[Any]) -> Leaf:
    kind = fl.typed.arrays[instr.arr]
    dims = [((fl.widen(arrays.fields.dim(fl, instr.arr, args[0], k)),), VKind.INT)
            for k in range(kind.ndim)]
    return (boxes.make_tuple(fl, dims),), _one(VKind.OBJECT)


def _lower_ShapeCheck(fl: FunctionLowering, instr: ir.ShapeCheck, combo: tuple[VKind],
                      args: list[Any]) -> Leaf:
    return arrays.lower_shape_check(fl, fl.typed.arrays[instr.arr], instr.n)


def _lower_CallBuiltin(fl: FunctionLowering, instr: ir.CallBuiltin, combo: tuple[VKind, ...],
                       args: list[Any]) -> Leaf:
    return capi.lower_call_builtin(fl, instr, args, combo, _expected(fl, instr, combo))


def _expected(fl: FunctionLowering, instr: ir.Instr, combo: tuple[VKind, ...]) -> Kinds:
    return result_kinds(instr, combo, _callee_returns(fl), _elements(fl, instr),
                        instances.unknown_object(instr, fl.types),
                        classes=fl.typed.call_classes, held=fl.typed.held)


def _lower_UnpackCheck(fl: FunctionLowering, instr: ir.UnpackCheck, combo: tuple[VKind],
                       args: list[Any]) -> Leaf:
    n = sequences.length(fl, args[0], combo[0])
    fl.bail_if(fl.b.icmp_signed("!=", n, i64(instr.n)), Status.VALUE, name="unpacks")
    return (ll.Constant(I1, 0),), _one(VKind.NONE)


def _lower_Contains(fl: FunctionLowering, instr: ir.Contains, combo: tuple[VKind, VKind],
                    args: list[Any]) -> Leaf:
    return capi.lower_contains(fl, (args[0],), combo[0], args[1], instr.negate)


def _lower_MakeTuple(fl: FunctionLowering, instr: ir.MakeTuple, combo: tuple[VKind, ...],
                     args: list[Any]) -> Leaf:
    items = [((a,), k) for a, k in zip(args, combo, strict=True)]
    return (boxes.make_tuple(fl, items),), _one(VKind.TUPLE)


def _lower_MakeList(fl: FunctionLowering, instr: ir.MakeList, combo: tuple[VKind, ...],
                    args: list[Any]) -> Leaf:
    items = [((a,), k) for a, k in zip(args, combo, strict=True)]
    return (literals.make_list(fl, items),), _one(VKind.LIST)


def _lower_ListAppend(fl: FunctionLowering, instr: ir.ListAppend,
                      combo: tuple[VKind, VKind], args: list[Any]) -> Leaf:
    return sequences.lower_append(fl, args[0], (args[1],), combo[1])


def _lower_GetIter(fl: FunctionLowering, instr: ir.GetIter, combo: tuple[VKind],
                   args: list[Any]) -> Leaf:
    """A range's iterator: (first item, number of items, step), counted exactly.

    The distance between start and stop fits in 64 unsigned bits whenever the range
    is non-empty, so the count is computed unsigned and never overflows.
    """
    start = None
    if instr.start is not None:  # an OSR entry's iterator, part-way (osr.markers.iter_at)
        index = args[1]
        start = fl.narrow(index) if index.type != ll.IntType(1) else fl.b.zext(index, I64)
    if combo[0] in SEQUENCES:
        return sequences.lower_iter(fl, args[0], combo[0], instr.reverse, start)
    if combo[0] is VKind.ARRAY:
        return arrays.lower_iter(fl, args[0], fl.typed.arrays[instr.operand], instr.line,
                                 start)
    start, stop, step = args[0]
    if instr.reverse:  # reversed(range): the range iterator CPython makes for it
        return _reversed_range(fl, start, stop, step)
    return (start, _range_count(fl, start, stop, step), step), _one(VKind.ITER)


def _range_count(fl: FunctionLowering, start: Any, stop: Any, step: Any) -> ll.Value:
    """How many items ``range(start, stop, step)`` has (unsigned: never overflows)."""
    b = fl.b
    up = b.icmp_signed(">", step, i64(0), name="up")
    nonempty = b.select(up, b.icmp_signed("<", start, stop), b.icmp_signed(">", start, stop))
    distance = b.select(up, b.sub(stop, start), b.sub(start, stop))
    stride = b.select(up, step, b.sub(i64(0), step))
    count = b.add(b.udiv(b.sub(distance, i64(1)), stride), i64(1))
    return b.select(nonempty, count, i64(0), name="left")


def _reversed_range(fl: FunctionLowering, start: Any, stop: Any, step: Any) -> Leaf:
    """``reversed(range(start, stop, step))``: the last item first, ``-step`` apart.  A
    step of -2**63 has no int64 negation: the interpreter makes that one."""
    b = fl.b
    fl.bail_if(b.icmp_signed("==", step, i64(-(2**63))), Status.UNSUPPORTED,
               name="negatable")
    left = _range_count(fl, start, stop, step)
    # between start and stop when the range has items (wrapping arithmetic: exact)
    last = b.add(start, b.mul(b.sub(left, i64(1)), step))
    last = b.select(b.icmp_unsigned("!=", left, i64(0)), last, start, name="last")
    return (last, left, b.sub(i64(0), step)), _one(VKind.ITER)


def _lower_IterHasNext(fl: FunctionLowering, instr: ir.IterHasNext, combo: Any,
                       args: list[Any]) -> Leaf:
    if combo[0] in SEQ_ITERS:
        return sequences.lower_has_next(fl, args[0], combo[0])
    if combo[0] is VKind.ARRAY_ITER:
        return arrays.lower_has_next(fl, instr.it, args[0])
    _, left, _ = args[0]
    return (fl.b.icmp_unsigned("!=", left, i64(0)),), _one(VKind.BOOL)


def _lower_IterValue(fl: FunctionLowering, instr: ir.IterValue, combo: Any,
                     args: list[Any]) -> Leaf:
    if combo[0] in SEQ_ITERS:
        return sequences.lower_next_value(fl, args[0], combo[0], _elements(fl, instr))
    if combo[0] is VKind.ARRAY_ITER:
        return arrays.lower_next_value(fl, instr.it, args[0], fl.typed.arrays[instr.it])
    return (fl.widen(args[0][0]),), _one(VKind.INT)


def _lower_IterAdvance(fl: FunctionLowering, instr: ir.IterAdvance, combo: Any,
                       args: list[Any]) -> Leaf:
    if combo[0] in SEQ_ITERS:
        return sequences.lower_advance(fl, args[0], combo[0])
    if combo[0] is VKind.ARRAY_ITER:
        return arrays.lower_advance(fl, args[0])
    value, left, step = args[0]
    b = fl.b
    # wraps past the last item (never yielded: the count runs out first)
    return (b.add(value, step), b.sub(left, i64(1)), step), _one(VKind.ITER)
