"""Stage 3: argument kinds -> a set of kinds for every SSA value (a fixpoint over loops).

A value's kinds are every kind it can have at run time; one kind means an unboxed
native value, several mean a tagged value (:mod:`autotier.frontend.values`).  Each
instruction's kinds are the union, over every combination of its operands' kinds,
of :func:`result_kinds` for that combination: Python's own typing rules (``int +
float`` is float, ``True & False`` is bool, ``True + True`` is int ...).  An empty
result means the combination always raises (a TypeError): the code bails out there,
and nothing after it in the block runs.  The lowering uses the same
:func:`result_kinds`, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FunctionType

from autotier import compat
from autotier.abi import ArrayKind, CalleeKind, InstanceKind, InstancesKind, Kind
from autotier.frontend import (
    complexkinds,
    instances,
    ir,
    methodplan,
    npscalars,
    npvalues,
    results,
    shapes,
)
from autotier.frontend.builtins_table import MATH_FUNCTIONS
from autotier.frontend.errors import Unsupported, a, at_line
from autotier.frontend.ir import NO_KINDS, BinOp, CmpOp, Kinds, UnOp, VKind
from autotier.frontend.kinds import (
    ITER_OF,
    NP_INTS,
    NP_OF_DTYPE,
    NP_SCALARS,
    RITER_OF,
    SCALARS,
    SEQ_ITERS,
    SEQUENCES,
    vkind_of,
)
from autotier.frontend.npscalars import NumpyRefuses
from autotier.frontend.values import is_nullable

# What a call of another compiled function returns, for argument kinds.
CalleeResult = Callable[[FunctionType, tuple[CalleeKind, ...]], Kinds]
#: the class of the instances a native callee returns (None: none, or not known yet)
ReturnedClass = Callable[[FunctionType, tuple[CalleeKind, ...]], "type | None"]

INTLIKE = frozenset({VKind.INT, VKind.BOOL})
#: what indexes a list, tuple or array: an int, a bool (an array takes it as a mask:
#: the lowering leaves that to numpy) or a numpy integer (its value)
INDEXES = INTLIKE | NP_INTS
_BITWISE = frozenset({BinOp.AND, BinOp.OR, BinOp.XOR})
_INT_ONLY = frozenset({BinOp.LSHIFT, BinOp.RSHIFT, BinOp.AND, BinOp.OR, BinOp.XOR})
_OBJECTS = frozenset({VKind.RANGE, VKind.ITER, VKind.LIST, VKind.TUPLE, VKind.LIST_ITER,
                      VKind.TUPLE_ITER, VKind.ARRAY, VKind.ARRAY_ITER, VKind.INSTANCE,
                      VKind.LIST_RITER, VKind.TUPLE_RITER})
_OBJECT_NAMES = {VKind.RANGE: "range", VKind.ITER: "range iterator", VKind.LIST: "list",
                 VKind.TUPLE: "tuple", VKind.LIST_ITER: "list iterator",
                 VKind.TUPLE_ITER: "tuple iterator", VKind.NONE: "None",
                 VKind.ARRAY: "numpy array", VKind.ARRAY_ITER: "array iterator",
                 VKind.INSTANCE: "instance", VKind.LIST_RITER: "reversed list iterator",
                 VKind.TUPLE_RITER: "reversed tuple iterator"}
_NOT_NUMBERS = _OBJECTS | {VKind.NONE}
#: what a call through the C API (an *opaque* callee) is taken to return: each result
#: is checked, and any other outcome resumes after the call (:mod:`.capi`)
OPAQUE_RESULT: Kinds = frozenset({VKind.INT, VKind.FLOAT, VKind.BOOL, VKind.NONE})
#: kinds a called function's arguments may have (numbers, sequences, None)
_CALL_ARGUMENTS = SCALARS | SEQUENCES | NP_SCALARS | {VKind.NONE, VKind.ARRAY, VKind.COMPLEX,
                                                      VKind.INSTANCE}
ARRAYS = frozenset({VKind.ARRAY, VKind.ARRAY_ITER})
NUMBERS = SCALARS | NP_SCALARS
#: what a list made or stored into may hold (an instance: one class per list)
STORED = SCALARS | {VKind.INSTANCE}
#: results a function returns as a new object, boxed just before its return
BOXED_RESULTS = NP_SCALARS | {VKind.COMPLEX}
#: kinds a value of which has elements (their kinds speculated: ``Typed.elements``; an
#: array's are its dtype's)
HAS_ELEMENTS = SEQUENCES | SEQ_ITERS | ARRAYS
#: what a tuple native code makes holds (each boxed into it)
_TUPLE_ITEMS = SCALARS | NP_SCALARS | {VKind.NONE, VKind.COMPLEX}


@dataclass(frozen=True)
class Typed:
    """A function with kinds for one specialisation."""

    func: ir.Function
    arg_kinds: tuple[CalleeKind, ...]
    types: Mapping[ir.Var, Kinds]
    reached: frozenset[int]  # blocks control can enter
    completed: frozenset[int]  # blocks that can reach their terminator
    returns: Kinds  # kinds the function can return
    # the speculated kinds of the elements of each list, tuple or iterator over one
    elements: Mapping[ir.Var, Kinds] = dataclasses.field(default_factory=dict)
    # the dtype and ndim of each array and iterator over one
    arrays: Mapping[ir.Var, ArrayKind] = dataclasses.field(default_factory=dict)
    # the class of each instance
    classes: Mapping[ir.Var, type] = dataclasses.field(default_factory=dict)
    # the speculated kinds of each call's or attribute read's result that is an object
    # (:mod:`.results`), by its value
    speculated: Mapping[ir.Var, Kinds] = dataclasses.field(default_factory=dict)
    # whether calls pass instances as their classes (natively compiled callees and
    # methods); else as objects, called through the C API (``build_program``)
    instance_calls: bool = True
    # the class of each sequence's instance elements (and of iterators over one)
    held: Mapping[ir.Var, type] = dataclasses.field(default_factory=dict)
    # a native callee returning instances of one class (``returns`` INSTANCE): a new
    # reference its native callers own (else an instance returned is an object)
    returned_class: type | None = None

    @property
    def call_classes(self) -> Mapping[ir.Var, type] | None:
        """The classes calls pass instances as (None: as objects)."""
        return self.classes if self.instance_calls else None

    def dump(self) -> str:
        sig = ", ".join(k.name.lower() for k in self.arg_kinds)
        head = f"; {self.func.name}({sig}) -> {ir.kinds_text(self.returns)}\n"
        return head + self.func.dump(self.types)


def binop_kind(op: BinOp, a: VKind, b: VKind) -> VKind | None:
    """The kind of ``a <op> b``, or None when Python raises TypeError."""
    if op is BinOp.MATMUL:
        return None
    if a in INTLIKE and b in INTLIKE:
        if op in _BITWISE and a is VKind.BOOL and b is VKind.BOOL:
            return VKind.BOOL
        return VKind.FLOAT if op is BinOp.TRUEDIV else VKind.INT
    return None if op in _INT_ONLY else VKind.FLOAT


def unop_kind(op: UnOp, a: VKind) -> VKind | None:
    if op is UnOp.NOT:
        return VKind.BOOL
    if a is VKind.FLOAT:
        return None if op is UnOp.INVERT else VKind.FLOAT
    if a is VKind.BOOL and op is UnOp.INVERT and compat.INVERT_BOOL_WARNS:
        return None  # the interpreter warns (3.12+)
    return VKind.INT


def _scalar(instr: ir.Instr, combo: tuple[VKind, ...]) -> None:
    for k in combo:
        if k in _NOT_NUMBERS:
            what = _OBJECT_NAMES[k]
            raise Unsupported(at_line(f"{type(instr).__name__} of {a(what)} is not supported",
                                      instr.line))
        if k is VKind.UNDEF:
            raise ir.IRError(f"{instr.dest} reads an unchecked local")


def _builtin_call_kinds(instr: ir.CallBuiltin, combo: tuple[VKind, ...],
                        elements: Kinds) -> Kinds:
    """``sum``/``min``/``max`` of a sequence: what CPython's own call returns when the
    elements are of the speculated kinds (any other result resumes after the call);
    ``list`` of a list, tuple or range: a new list (its elements the source's)."""
    if instr.builtin == "list" and combo[0] in SEQUENCES | {VKind.RANGE}:
        return frozenset({VKind.LIST})
    if combo[0] not in SEQUENCES:
        what = _OBJECT_NAMES.get(combo[0], combo[0].name.lower())
        raise Unsupported(at_line(f"{instr.builtin}() of {a(what)} is not supported",
                                  instr.line))
    if not elements <= SCALARS:
        raise Unsupported(at_line(f"{instr.builtin}() of a sequence of tuples is not "
                                  "supported", instr.line))
    if instr.builtin != "sum":
        return elements  # an empty sequence raises ValueError: resumed after the call
    start = combo[1] if len(combo) > 1 else VKind.INT
    if start not in SCALARS:
        raise Unsupported(at_line("sum() with a start that is not a number is not supported",
                                  instr.line))
    if start is VKind.FLOAT:  # a float start: every addition is a float's
        return frozenset({VKind.FLOAT})
    if start is VKind.BOOL:  # an empty sequence answers the start itself
        return frozenset({VKind.INT, VKind.BOOL} | ({VKind.FLOAT} & elements))
    # sum starts from its (int) start and adds ints exactly, then floats from the first
    return frozenset({VKind.INT, VKind.FLOAT}) if VKind.FLOAT in elements else frozenset(
        {VKind.INT})


def _call_arguments(instr: ir.CallFunction | ir.CallObject, combo: tuple[VKind, ...]) -> None:
    """Decline a call with an argument no call passes (a range, an iterator)."""
    odd = [k for k in combo if k not in _CALL_ARGUMENTS]
    if odd:
        name = (instr.callee_name if isinstance(instr, ir.CallObject)
                else instr.callee.__qualname__)
        raise Unsupported(at_line(f"a call of {name} with a "
                                  f"{_OBJECT_NAMES.get(odd[0], odd[0].name.lower())} "
                                  "argument is not supported", instr.line))


def _with_none(instr: ir.Instr, combo: tuple[VKind, ...]) -> Kinds:
    """An operation with a None operand: ``==``/``!=``, truth and ``not`` answer a
    bool; everything else is CPython's TypeError (no kinds: the code bails out there,
    and the interpreter raises it)."""
    if isinstance(instr, ir.Compare) and instr.op in (CmpOp.EQ, CmpOp.NE):
        return frozenset({VKind.BOOL})
    if isinstance(instr, ir.Truth) or (isinstance(instr, ir.UnaryOp)
                                       and instr.op is UnOp.NOT):
        return frozenset({VKind.BOOL})
    return NO_KINDS


def _list_binop(instr: ir.BinaryOp, combo: tuple[VKind, ...]) -> Kinds:
    """``xs * n`` and ``n * xs`` (CPython's own repeat: a new list); nothing else."""
    if instr.op is BinOp.MUL and sorted(combo) in ([VKind.INT, VKind.LIST],
                                                   [VKind.BOOL, VKind.LIST]):
        return frozenset({VKind.LIST})
    raise Unsupported(at_line(f"`{instr.op.value}` of a list is not supported", instr.line))


def container_of(instr: ir.Instr) -> ir.Var | None:
    """The operand whose elements ``instr`` yields (an element load, an iterator's value)."""
    if isinstance(instr, ir.GetItem | ir.SetItem):
        return instr.seq
    if isinstance(instr, ir.GetCell | ir.SetCell | ir.ArrayAttr | ir.ArrayDim | ir.ShapeCheck
                  | ir.ShapeTuple):
        return instr.arr
    if isinstance(instr, ir.Len):
        return instr.operand
    if isinstance(instr, ir.GetIter | ir.IterHasNext | ir.IterAdvance):
        return instr.operand if isinstance(instr, ir.GetIter) else instr.it
    if isinstance(instr, ir.CallBuiltin):
        return instr.args[0]
    if isinstance(instr, ir.IterValue):
        return instr.it
    return None


def result_kinds(instr: ir.Instr, combo: tuple[VKind, ...], callee: CalleeResult,
                 elements: Kinds = NO_KINDS, unknown: bool = False, *,
                 classes: Mapping[ir.Var, type] | None = None,
                 held: Mapping[ir.Var, type] | None = None) -> Kinds:
    """Kinds of ``instr``'s result when its operands (``uses()``) have kinds ``combo``;
    ``elements``: the speculated element kinds of its :func:`container_of` operand;
    ``unknown``: a method call's object is what a C-API call answered
    (``instances.unknown_object``); ``classes``: the class of each instance (a call
    passes it to its callee), ``held``: of each sequence's instance elements."""
    if isinstance(instr, ir.Const):
        if instr.value is None:
            return frozenset({VKind.NONE})
        kind = Kind.of(instr.value)
        return frozenset({VKind(kind if isinstance(kind, Kind) else Kind.INT)})
    if isinstance(instr, ir.Undefined):
        return frozenset({VKind.UNDEF})
    if isinstance(instr, ir.CheckBound):
        return NO_KINDS if combo[0] is VKind.UNDEF else frozenset(combo)
    if isinstance(instr, ir.MethodCheck):
        return _method_check_kinds(instr, combo, classes)
    # an instance passed along, or stored into a list
    calls = isinstance(instr, ir.CallFunction | ir.CallObject | ir.MakeList | ir.ListAppend
                       | ir.SetItem)
    if (VKind.INSTANCE in combo and not calls) or isinstance(
            instr, ir.GetAttr | ir.SetAttr | ir.DelAttr | ir.CallMethod):
        through = instances.result_kinds(instr, combo, elements, unknown)
        native = (method_spec(instr, combo, classes, held)
                  if isinstance(instr, ir.CallMethod) else None)
        if native is not None:  # compiled in: what it returns (a C-API call's result,
            returned = callee(native[0].func, native[1])  # where a guard fails, is
            if VKind.OBJECT not in returned and returned is not OPAQUE_RESULT:  # checked
                return returned  # against it)
        return through
    array = _array_kinds(instr, combo, elements)
    if array is not None:
        return array
    if isinstance(instr, ir.GetIter):
        if combo[0] is VKind.RANGE:
            return frozenset({VKind.ITER})
        if instr.reverse:
            return frozenset({RITER_OF[combo[0]]}) if combo[0] in SEQUENCES else NO_KINDS
        return frozenset({ITER_OF[combo[0]]}) if combo[0] in SEQUENCES else NO_KINDS
    if isinstance(instr, ir.IterHasNext):
        return frozenset({VKind.BOOL})
    if isinstance(instr, ir.IterAdvance):
        return frozenset({combo[0]})
    if isinstance(instr, ir.IterValue):
        return frozenset({VKind.INT}) if combo[0] is VKind.ITER else _loaded(instr, elements)
    if isinstance(instr, ir.Len):
        return frozenset({VKind.INT}) if combo[0] in SEQUENCES else NO_KINDS
    if isinstance(instr, ir.GetItem):
        return _loaded(instr, elements) if combo[0] in SEQUENCES and combo[1] in INDEXES \
            else NO_KINDS
    if isinstance(instr, ir.GetSlice):  # a new list or tuple of the same elements
        if combo[0] not in SEQUENCES or not set(combo[1:]) <= _SLICE_BOUNDS:
            raise Unsupported(at_line("a slice of anything but a list or tuple, by ints or "
                                      "None, is not supported", instr.line))
        return frozenset({combo[0]})
    if isinstance(instr, ir.CallBuiltin):
        return _builtin_call_kinds(instr, combo, elements)
    if isinstance(instr, ir.UnpackCheck):
        return frozenset({VKind.NONE}) if combo[0] in SEQUENCES else NO_KINDS
    if isinstance(instr, ir.Contains):
        if combo[1] not in SEQUENCES or combo[0] not in INTLIKE:
            # a float is not supported: `in` matches by identity first, and a nan held
            # unboxed has lost the identity that makes `nan in [nan]` true
            raise Unsupported(at_line("`in` of anything but an int or bool in a list or "
                                      "tuple is not supported", instr.line))
        return frozenset({VKind.BOOL})
    if isinstance(instr, ir.MakeList):
        if not (all(k in SCALARS for k in combo) or all(k is VKind.INSTANCE for k in combo)):
            raise Unsupported(at_line("a list of anything but numbers, or instances of one "
                                      "class, is not supported", instr.line))
        return frozenset({VKind.LIST})
    if isinstance(instr, ir.BinaryOp) and VKind.LIST in combo:
        return _list_binop(instr, combo)
    if isinstance(instr, ir.MakeTuple):  # (a complex item: boxed into it)
        ok = all(k in _TUPLE_ITEMS for k in combo)
        if not ok:
            raise Unsupported(at_line("a tuple of anything but numbers is not supported",
                                      instr.line))
        return frozenset({VKind.TUPLE})
    if isinstance(instr, ir.Truth) and combo[0] in SEQUENCES:
        return frozenset({VKind.BOOL})
    if isinstance(instr, ir.ListAppend):  # a number, an instance or a list (a row)
        ok = combo[0] is VKind.LIST and (combo[1] in STORED or combo[1] is VKind.LIST)
        return frozenset({VKind.NONE}) if ok else NO_KINDS
    if isinstance(instr, ir.SetItem):  # into a list, a number at an int or bool index
        ok = combo[0] is VKind.LIST and combo[1] in INDEXES and combo[2] in STORED
        return frozenset({VKind.NONE}) if ok else NO_KINDS
    if isinstance(instr, ir.IsNone):
        return frozenset({VKind.BOOL})
    if isinstance(instr, ir.Select):
        return frozenset(combo[1:])
    complex_kinds = complexkinds.result_kinds(instr, combo)
    if complex_kinds is not None:
        return complex_kinds
    if isinstance(instr, ir.CallObject):
        _call_arguments(instr, combo)
        if instr.makes is not None:
            return frozenset({VKind.ARRAY})
        if elements:  # a result speculated from a bailout's (frontend.results)
            return elements
        if not results.constructs(instr.callee):
            return OPAQUE_RESULT
        init = init_spec(instr, combo, classes, held)
        if init is not None:  # __init__ typed as a callee: native code may construct
            callee(init[0].func, init[1])  # (frontend.construct)
        return results.INSTANCE
    if VKind.NONE in combo and not isinstance(instr, ir.CallFunction):
        return _with_none(instr, combo)
    if isinstance(instr, ir.CallFunction):
        _call_arguments(instr, combo)
        returned = callee(instr.callee, call_kinds(instr, combo, classes, held))
        if elements and returned is OPAQUE_RESULT:  # called through the C API: its
            return elements  # result speculated from a bailout's (frontend.results)
        if VKind.OBJECT in returned:
            raise Unsupported(at_line(f"a call of {instr.callee.__qualname__}, which returns "
                                      "a tuple, is not supported", instr.line))
        return returned
    if any(k in NP_SCALARS for k in combo):
        return _numpy_kinds(instr, combo)
    _scalar(instr, combo)
    out: VKind | None
    if isinstance(instr, ir.BinaryOp):
        out = binop_kind(instr.op, *combo)
    elif isinstance(instr, ir.UnaryOp):
        out = unop_kind(instr.op, combo[0])
    elif isinstance(instr, ir.Compare | ir.Truth):
        out = VKind.BOOL
    elif isinstance(instr, ir.Abs):
        out = VKind.FLOAT if combo[0] is VKind.FLOAT else VKind.INT
    elif isinstance(instr, ir.ToInt | ir.Round):
        out = VKind.INT
    elif isinstance(instr, ir.ToFloat):
        out = VKind.FLOAT
    elif isinstance(instr, ir.MathCall):
        out = MATH_FUNCTIONS[instr.fn].result
    elif isinstance(instr, ir.MakeRange):
        out = VKind.RANGE if all(k in INTLIKE for k in combo) else None
    else:
        raise ir.IRError(f"no typing rule for {type(instr).__name__}")
    return NO_KINDS if out is None else frozenset({out})


def call_kinds(instr: ir.CallFunction | ir.CallObject, combo: tuple[VKind, ...],
               classes: Mapping[ir.Var, type] | None = None,
               held: Mapping[ir.Var, type] | None = None) -> tuple[CalleeKind, ...]:
    """How a call passes its arguments: numbers unboxed, lists and tuples borrowed, an
    instance of a known class (``classes``, a native call's) borrowed as that
    ``InstanceKind`` (its callee compiled for the class), an ndarray or another
    instance borrowed as an object (``Kind.OBJECT``: a function given one is called
    through the C API); a numpy scalar argument is declined."""
    if any(k in NP_SCALARS for k in combo):
        name = (instr.callee_name if isinstance(instr, ir.CallObject)
                else instr.callee.__qualname__)
        raise Unsupported(at_line(f"a call of {name} with a numpy scalar argument is not "
                                  "supported", instr.line))
    return tuple(argument_kind(k, v, classes, held)
                 for k, v in zip(combo, instr.uses(), strict=True))


def argument_kind(kind: VKind, var: ir.Var, classes: Mapping[ir.Var, type] | None,
                  held: Mapping[ir.Var, type] | None = None) -> CalleeKind:
    """How a native call passes a value of ``kind`` (:func:`call_kinds`); ``held``: the
    class of each sequence's instance elements (passed as an ``InstancesKind``)."""
    if kind is VKind.INSTANCE and classes is not None and var in classes:
        return InstanceKind(classes[var])
    if kind in SEQUENCES and classes is not None and held is not None and var in held:
        return InstancesKind(Kind(kind), held[var])
    return Kind.OBJECT if kind in (VKind.ARRAY, VKind.INSTANCE) else Kind(kind)


def _method_check_kinds(instr: ir.MethodCheck, combo: tuple[VKind, ...],
                        classes: Mapping[ir.Var, type] | None) -> Kinds:
    """A lookup before arguments that may run Python code: only of a method planned
    (whose guards it checks: :mod:`.methodplan`); answers nothing (None)."""
    cls = None if classes is None or combo[0] is not VKind.INSTANCE else classes.get(instr.obj)
    if cls is None or methodplan.plan(cls, instr.name, instr.nargs, instr.kw_names) is None:
        raise Unsupported(at_line(
            f"a call of method .{instr.name} whose arguments may run Python code (CPython "
            "looks the method up before them) is not supported but of a plain function "
            "of the instance's class", instr.line))
    return frozenset({VKind.NONE})


def method_spec(instr: ir.CallMethod, combo: tuple[VKind, ...],
                classes: Mapping[ir.Var, type] | None,
                held: Mapping[ir.Var, type] | None = None
                ) -> tuple[methodplan.MethodPlan, tuple[CalleeKind, ...]] | None:
    """The method a call of an instance's method calls natively (its plan, and the
    kinds of its parameters), or None: CPython's method call, through the C API."""
    if classes is None or instr.obj not in classes or combo[0] is not VKind.INSTANCE:
        return None
    if any(k in NP_SCALARS or k not in _CALL_ARGUMENTS for k in combo):
        return None
    found = methodplan.plan(classes[instr.obj], instr.name, len(instr.args), instr.kw_names)
    if found is None:
        return None
    given = [argument_kind(k, v, classes, held)
             for k, v in zip(combo, instr.uses(), strict=True)]
    return found, methodplan.callee_kinds(found, given)


def init_spec(instr: ir.CallObject, combo: tuple[VKind, ...],
              classes: Mapping[ir.Var, type] | None,
              held: Mapping[ir.Var, type] | None = None
              ) -> tuple[methodplan.MethodPlan, tuple[CalleeKind, ...]] | None:
    """The ``__init__`` a constructor call ``cls(*args)`` runs when native code makes
    the instance itself (its plan, and the kinds of its parameters: ``self`` an
    ``InstanceKind(cls)``), or None: a vectorcall of the class."""
    cls = instr.callee
    if classes is None or instr.makes is not None or not isinstance(cls, type):
        return None
    if any(k in NP_SCALARS or k not in _CALL_ARGUMENTS for k in combo):
        return None
    found = methodplan.init_plan(cls, len(instr.args), instr.kw_names)
    if found is None:
        return None
    given = [InstanceKind(cls), *(argument_kind(k, v, classes, held)
                                  for k, v in zip(combo, instr.uses(), strict=True))]
    return found, methodplan.callee_kinds(found, given)


def _array_kinds(instr: ir.Instr, combo: tuple[VKind, ...], elements: Kinds) -> Kinds | None:
    """The kinds of an instruction on an ndarray (None: not one); ``elements`` holds the
    array's dtype.  What numpy or CPython raises at is left to the lowering (it bails)."""
    if isinstance(instr, ir.CallFunction | ir.CallObject):
        return None  # an array argument: passed as an object (call_kinds)
    if isinstance(instr, ir.ArrayAttr | ir.ArrayDim):
        return frozenset({VKind.INT}) if combo[0] is VKind.ARRAY else NO_KINDS
    if isinstance(instr, ir.ShapeCheck):
        return frozenset({VKind.NONE}) if combo[0] is VKind.ARRAY else NO_KINDS
    if isinstance(instr, ir.ShapeTuple):
        return frozenset({VKind.OBJECT}) if combo[0] is VKind.ARRAY else NO_KINDS
    if isinstance(instr, ir.GetCell):
        return elements if combo[0] is VKind.ARRAY and all(
            k in INDEXES for k in combo[1:]) else NO_KINDS
    if isinstance(instr, ir.SetCell):
        ok = (combo[0] is VKind.ARRAY and all(k in INDEXES for k in combo[1:-1])
              and combo[-1] in NUMBERS)
        return frozenset({VKind.NONE}) if ok else NO_KINDS
    if isinstance(instr, ir.Contains) and combo[1] is VKind.ARRAY:
        if combo[0] not in NUMBERS:
            raise Unsupported(at_line("`in` of anything but a number in an array is not "
                                      "supported", instr.line))
        return frozenset({VKind.BOOL})  # numpy's (a == v).any(): no identity, no nan
    if not combo or combo[0] not in ARRAYS:
        return None
    if isinstance(instr, ir.Len):
        return frozenset({VKind.INT})
    if isinstance(instr, ir.GetItem):
        return elements if combo[1] in INDEXES else NO_KINDS
    if isinstance(instr, ir.SetItem):
        ok = combo[1] in INDEXES and combo[2] in NUMBERS
        return frozenset({VKind.NONE}) if ok else NO_KINDS
    if isinstance(instr, ir.GetIter):  # (reversed() of an array: not compiled)
        return NO_KINDS if instr.reverse else frozenset({VKind.ARRAY_ITER})
    if isinstance(instr, ir.IterHasNext):
        return frozenset({VKind.BOOL})
    if isinstance(instr, ir.IterValue):
        return elements
    if isinstance(instr, ir.IterAdvance):
        return frozenset({VKind.ARRAY_ITER})
    if isinstance(instr, ir.CheckBound):
        return frozenset(combo)
    if isinstance(instr, ir.CallBuiltin) and instr.builtin == "list":
        raise Unsupported(at_line("list() of a numpy array is not supported", instr.line))
    if isinstance(instr, ir.CallBuiltin) and len(combo) == 1:
        (element,) = elements  # CPython's sum/min/max over numpy scalars
        if instr.builtin != "sum":
            return elements  # an empty array: ValueError, resumed after the call
        # sum starts from the int 0: NEP 50 gives the element's kind (a bool's: int64)
        total = npvalues.binary_kind(BinOp.ADD, VKind.INT, element)
        return frozenset({VKind.INT, npvalues.binary_kind(BinOp.ADD, total, element)})
    raise Unsupported(at_line(f"{type(instr).__name__} of a numpy array is not supported",
                              instr.line))


def _numpy_kinds(instr: ir.Instr, combo: tuple[VKind, ...]) -> Kinds:
    """The kinds of an operation on a numpy scalar (npscalars' rules, npvalues' subset)."""
    _scalar(instr, combo)
    try:
        if isinstance(instr, ir.BinaryOp | ir.Compare):
            return frozenset({npvalues.binary_kind(instr.op, combo[0], combo[1])})
        if isinstance(instr, ir.UnaryOp):
            return frozenset({npvalues.unary_kind(instr.op, combo[0])})
    except NumpyRefuses:
        return NO_KINDS  # numpy's TypeError: the interpreter raises it
    except Unsupported as exc:
        raise Unsupported(at_line(exc.reason, instr.line)) from None
    if isinstance(instr, ir.Truth):
        return frozenset({VKind.BOOL})
    if isinstance(instr, ir.Select):
        return frozenset(combo[1:])
    if isinstance(instr, ir.Abs):
        if combo[0] is VKind.NP_BOOL:
            raise Unsupported(at_line("abs() of a numpy bool is not supported", instr.line))
        return frozenset({combo[0]})
    if isinstance(instr, ir.ToInt):
        return frozenset({VKind.INT})
    if isinstance(instr, ir.ToFloat):
        return frozenset({VKind.FLOAT})
    if isinstance(instr, ir.MathCall) and len(combo) == 1:  # of float(x) (npscalars)
        try:
            result = npscalars.math_result(instr.fn, npvalues.NP[combo[0]])
        except NumpyRefuses:
            return NO_KINDS  # math.trunc of all but float64: numpy's TypeError
        except Unsupported:
            result = None
        if result is not None and instr.fn in MATH_FUNCTIONS:
            return frozenset({MATH_FUNCTIONS[instr.fn].result})
    raise Unsupported(at_line(f"{type(instr).__name__} of a numpy scalar is not supported",
                              instr.line))


def combos(operands: tuple[ir.Var, ...], types: Mapping[ir.Var, Kinds]) -> list[tuple[VKind, ...]]:
    """Every combination of one kind per operand (a Var used twice has one kind)."""
    distinct = list(dict.fromkeys(operands))
    out = []
    for choice in itertools.product(*(sorted(types[v]) for v in distinct)):
        chosen = dict(zip(distinct, choice, strict=True))
        out.append(tuple(chosen[v] for v in operands))
    return out


def infer(func: ir.Function, arg_kinds: tuple[CalleeKind, ...], callee: CalleeResult,
          elements: Mapping[int, Kinds] | None = None,
          items: Mapping[int, Kinds] | None = None, *, root: bool = True,
          attrs: instances.Attrs | None = None,
          held: Mapping[int, type] | None = None,
          speculated: Mapping[int, results.Speculated] | None = None,
          attr_classes: Mapping[tuple[type, str], type] | None = None,
          instance_calls: bool = True,
          returned_class: ReturnedClass | None = None,
          contents: Mapping[int, shapes.Contents] | None = None) -> Typed:
    """Kinds for every value of ``func`` called with ``arg_kinds``; ``elements``: the
    speculated element kinds of each list or tuple parameter (by position); ``items``:
    those of the items of its tuple elements; ``attrs``: those of instances' attributes,
    by class and name (:mod:`.instances`); ``speculated``: what the results of the
    calls and attribute reads at those bytecode offsets were seen to be
    (:mod:`.results`); ``contents``: what sequence parameters whose elements are
    sequences hold, by path (:mod:`.shapes`).  ``root``: the function the entry calls
    (a native callee returns a complex unboxed, the root as a new object)."""
    types: dict[ir.Var, Kinds] = {v: NO_KINDS for b in func.blocks for v in b.defs()}
    elems: dict[ir.Var, Kinds] = {}
    arrays: dict[ir.Var, ArrayKind] = {}
    tuples: dict[ir.Var, Kinds] = {}  # a sequence of tuples -> its tuples' item kinds
    conts: dict[ir.Var, shapes.Contents] = {}  # a nested sequence -> its contents
    consts = {i.dest: i.value for b in func.blocks for i in b.instrs
              if isinstance(i, ir.Const) and type(i.value) is int}
    classes: dict[ir.Var, type] = {}
    seen = instances.AttrTable(dict(attrs or {}), classes, func.name, attr_classes)
    if root:  # the bead sampled the root's instances (a callee's may be made natively)
        seen.sampled.update(k.cls for k in arg_kinds if isinstance(k, InstanceKind))
    seen.sampled.update((held or {}).values())
    taken: dict[ir.Var, Kinds] = {}  # results speculated as objects
    for i, param in enumerate(func.params):
        if held and i in held:  # a sequence of instances: their class
            seen.element_classes[param] = held[i]
    for i, (param, kind) in enumerate(zip(func.params, arg_kinds, strict=True)):
        if isinstance(kind, InstancesKind):  # a callee's sequence of instances
            types[param] = frozenset({VKind(kind.seq)})
            elems[param] = frozenset({VKind.INSTANCE})
            seen.element_classes[param] = kind.cls
            continue
        if isinstance(kind, InstanceKind):
            types[param] = frozenset({VKind.INSTANCE})
            classes[param] = kind.cls
            continue
        if isinstance(kind, ArrayKind):
            types[param] = frozenset({VKind.ARRAY})
            elems[param] = frozenset({NP_OF_DTYPE[kind.dtype]})
            arrays[param] = kind
            continue
        types[param] = frozenset({vkind_of(kind)})
        if vkind_of(kind) in SEQUENCES:
            elems[param] = (elements or {}).get(i, NO_KINDS)
            if elems[param] & SEQUENCES:  # a sequence of tuples (or lists)
                tuples[param] = (items or {}).get(i, NO_KINDS)
            if contents and i in contents:  # nested sequences: each load by its path
                conts[param] = contents[i]
                elems[param] = contents[i].any.kinds
                tuples[param] = shapes.inner_kinds(contents[i])
    order = func.reverse_postorder()
    reached = {func.entry}
    completed: set[int] = set()
    changed = True
    while changed:
        changed = False
        # element kinds grow with stores too
        known = sum(map(len, elems.values())) + sum(map(len, tuples.values())) + seen.size()
        known_contents = dict(conts)
        for b in order:
            if b not in reached:
                continue
            blk = func.block(b)
            if not _run_block(blk, types, callee, elems, arrays, tuples=tuples, conts=conts,
                              consts=consts, attrs=seen,
                              speculated=speculated or {}, taken=taken,
                              instance_calls=instance_calls, returned_class=returned_class):
                continue
            if b not in completed:
                completed.add(b)
                changed = True
            for target, args in blk.term.successors():
                if target not in reached:
                    reached.add(target)
                    changed = True
                for param, arg in zip(func.block(target).params, args, strict=True):
                    new = types[param] | types[arg]
                    if new != types[param]:
                        types[param] = new
                        changed = True
                    for table in (elems, tuples):
                        if arg in table and not table[arg] <= table.get(param, NO_KINDS):
                            table[param] = table.get(param, NO_KINDS) | table[arg]
                            changed = True
                    if arg in conts and (new_c := shapes.join(conts.get(param), conts[arg])
                                         ) != conts.get(param):
                        assert new_c is not None
                        conts[param] = new_c
                        changed = True
                    if arg in arrays and arrays.get(param) != arrays[arg]:
                        if param in arrays:
                            raise Unsupported(f"{func.name}: {param.hint or 'a value'} is "
                                              "arrays of two dtypes or ndims")
                        arrays[param] = arrays[arg]
                        changed = True
                    changed = seen.join(param, arg) or changed
        changed = changed or sum(map(len, elems.values())) + sum(
            map(len, tuples.values())) + seen.size() != known or conts != known_contents
    returns = NO_KINDS
    for b in completed:
        term = func.block(b).term
        if isinstance(term, ir.Return):
            returns |= types[term.value]
    _check_mixed(func, types)
    for var, stored in elems.items():
        if VKind.INSTANCE in stored and len(stored) > 1:
            raise Unsupported(f"{func.name}: {var.hint or 'a list'} holds instances and "
                              "numbers")
    returned = (None if root or not instance_calls  # (instances passed as objects: a
                else _one_class(func, completed, types, classes, returns))  # recursion)
    if returns & (SEQUENCES | {VKind.ARRAY, VKind.INSTANCE}) and returned is None:
        # an argument handed back: a new reference (a callee's instances of one class
        # stay instances: a new reference its native callers own)
        returns = (returns - SEQUENCES - {VKind.ARRAY, VKind.INSTANCE}) | {VKind.OBJECT}
    boxed = BOXED_RESULTS if root else NP_SCALARS
    if returns & boxed:  # a numpy scalar or a complex: boxed just before the return
        returns = (returns - boxed) | {VKind.OBJECT}
    if returns & _OBJECTS and returned is None:
        what = " or ".join(sorted(_OBJECT_NAMES[k] for k in returns & _OBJECTS))
        raise Unsupported(f"{func.name}: returning a {what} is not supported")
    return Typed(func, arg_kinds, types, frozenset(reached), frozenset(completed), returns,
                 elems, arrays, classes, taken, instance_calls, seen.element_classes,
                 returned)


def _one_class(func: ir.Function, completed: set[int], types: Mapping[ir.Var, Kinds],
               classes: Mapping[ir.Var, type], returns: Kinds) -> type | None:
    """The class of the instances a function returns when it returns nothing else and
    each is of the same known class (else None)."""
    if returns != results.INSTANCE:
        return None
    found = {classes.get(term.value) for b in completed
             if isinstance(term := func.block(b).term, ir.Return)}
    return found.pop() if len(found) == 1 and None not in found else None


def _call_class(instr: ir.CallFunction | ir.CallMethod, types: Mapping[ir.Var, Kinds],
                attrs: instances.AttrTable, returned_class: ReturnedClass) -> type | None:
    """The class of the instances a native call's callee returns (``Typed.returned_class``)."""
    for combo in combos(instr.uses(), types):
        if isinstance(instr, ir.CallFunction):
            cls = returned_class(instr.callee, call_kinds(instr, combo, attrs.classes,
                                                          attrs.element_classes))
        else:
            native = method_spec(instr, combo, attrs.classes, attrs.element_classes)
            cls = None if native is None else returned_class(native[0].func, native[1])
        if cls is not None:
            return cls
    return None


def _run_block(blk: ir.Block, types: dict[ir.Var, Kinds], callee: CalleeResult,
               elems: dict[ir.Var, Kinds], arrays: dict[ir.Var, ArrayKind], *,
               tuples: dict[ir.Var, Kinds], attrs: instances.AttrTable,
               conts: dict[ir.Var, shapes.Contents] | None = None,
               consts: Mapping[ir.Var, int] | None = None,
               speculated: Mapping[int, results.Speculated],
               taken: dict[ir.Var, Kinds], instance_calls: bool = True,
               returned_class: ReturnedClass | None = None) -> bool:
    """Update the kinds of ``blk``'s instructions (and the element kinds of those that
    are sequences or iterators over one, ``tuples`` the item kinds of a sequence's
    tuple elements, ``conts`` the contents of nested sequences: :mod:`.shapes`); False
    if its end is unreachable."""
    conts = {} if conts is None else conts
    for instr in blk.instrs:
        operands = instr.uses()
        if any(not types[u] for u in operands):
            return False
        container = container_of(instr)
        inner = elems.get(container, NO_KINDS) if container is not None else NO_KINDS
        spec = results.at(instr, speculated)
        if spec is not None:  # an object seen at this call or read (frontend.results)
            inner = taken[instr.dest] = spec.kinds
        elif isinstance(instr, ir.GetAttr | ir.SetAttr):
            inner = attrs.before(instr, types)  # a read's speculated kinds
        slot = _slot(instr, container, conts, consts or {})
        if slot is not None and spec is None:  # a load from a nested sequence: by path
            inner = taken[instr.dest] = slot.kinds
        else:
            slot = None
        row = _row_kind(instr, container, arrays, types)
        if row is not None:  # a row of a 2-d (or more) array: a view, an array itself
            types[instr.dest] = frozenset({VKind.ARRAY})
            arrays[instr.dest] = row
            elems[instr.dest] = inner
            continue
        result = NO_KINDS
        unknown = instances.unknown_object(instr, types)
        for combo in combos(operands, types):
            result |= result_kinds(instr, combo, callee, inner, unknown,
                                   classes=attrs.classes if instance_calls else None,
                                   held=attrs.element_classes)
        types[instr.dest] = types[instr.dest] | result
        if isinstance(instr, ir.CallBuiltin) and instr.builtin == "list" and (
                VKind.RANGE in types[instr.args[0]]):  # list(range(...)): its ints
            elems[instr.dest] = elems.get(instr.dest, NO_KINDS) | {VKind.INT}
        if isinstance(instr, ir.CallObject) and instr.makes is not None:  # numpy.zeros
            arrays[instr.dest] = instr.makes
            elems[instr.dest] = frozenset({NP_OF_DTYPE[instr.makes.dtype]})
        if isinstance(instr, ir.MakeList | ir.MakeTuple):  # its items' kinds
            elems[instr.dest] = elems.get(instr.dest, NO_KINDS).union(
                *(types[v] & ((_TUPLE_ITEMS - {VKind.NONE}) | {VKind.INSTANCE})
                  for v in instr.items))
            _instance_elements(instr.dest, instr.items, types, attrs, instr.line)
        if isinstance(instr, ir.SetItem | ir.ListAppend) and VKind.LIST in types[instr.seq]:
            # what later loads may meet (an array's elements stay its dtype's)
            elems[instr.seq] = elems.get(instr.seq, NO_KINDS) | (types[instr.value] & STORED)
            _instance_elements(instr.seq, (instr.value,), types, attrs, instr.line)
        if isinstance(instr, ir.ListAppend) and VKind.LIST in types[instr.value]:
            # a list of lists: the rows' own element kinds are what their loads expect
            elems[instr.seq] = elems.get(instr.seq, NO_KINDS) | {VKind.LIST}
            tuples[instr.seq] = tuples.get(instr.seq, NO_KINDS) | elems.get(instr.value,
                                                                          NO_KINDS)
        if isinstance(instr, ir.SetItem | ir.ListAppend) and instr.seq in conts:
            conts[instr.seq] = shapes.stored(conts[instr.seq], types[instr.value],
                                             conts.get(instr.value))
        if slot is not None:  # its own contents, where its path has them
            if slot.contents is not None:
                conts[instr.dest] = shapes.join(conts.get(instr.dest), slot.contents) \
                    or slot.contents
                elems[instr.dest] = elems.get(instr.dest, NO_KINDS) | slot.contents.any.kinds
                tuples[instr.dest] = tuples.get(instr.dest, NO_KINDS) | shapes.inner_kinds(
                    slot.contents)
        elif result & HAS_ELEMENTS and isinstance(instr, ir.GetItem | ir.IterValue):
            # a tuple loaded from a sequence of them: its items are of the speculated kinds
            assert container is not None
            elems[instr.dest] = elems.get(instr.dest, NO_KINDS) | tuples.get(container,
                                                                           NO_KINDS)
        elif result & HAS_ELEMENTS:  # an iterator or a checked local: its source's
            attrs.element_classes.update((instr.dest, attrs.element_classes[u])
                                         for u in operands if u in attrs.element_classes)
            for table in (elems, tuples):
                table[instr.dest] = table.get(instr.dest, NO_KINDS).union(
                    *(table.get(u, NO_KINDS) for u in operands))
            for u in operands:
                source = conts.get(u)
                if source is not None and isinstance(instr, ir.GetSlice):
                    source = shapes.Contents(source.any)  # (its positions moved)
                if source is not None and (joined := shapes.join(conts.get(instr.dest),
                                                                 source)):
                    conts[instr.dest] = joined
        if result & ARRAYS:  # its source's dtype and ndim
            arrays.update((instr.dest, arrays[u]) for u in operands if u in arrays)
        made = results.made_class(instr, spec, attrs)
        if (made is None and spec is None and returned_class is not None and instance_calls
                and VKind.INSTANCE in result and isinstance(instr, ir.CallFunction
                                                            | ir.CallMethod)):
            made = _call_class(instr, types, attrs, returned_class)  # a native callee's
        if made is not None:  # an object a call or read answers: its speculated class
            if spec is not None and spec.kind is not VKind.INSTANCE:
                attrs.element_classes[instr.dest] = made
                elems[instr.dest] = results.INSTANCE
            else:
                attrs.classes[instr.dest] = made
        elif VKind.INSTANCE in result:  # a checked local: its source's class; an element
            attrs.classes.update((instr.dest, attrs.classes[u]) for u in operands
                                 if u in attrs.classes)
            if container is not None and container in attrs.element_classes:
                attrs.classes[instr.dest] = attrs.element_classes[container]
        if not result:
            return False
    return True


def _slot(instr: ir.Instr, container: ir.Var | None,
          conts: Mapping[ir.Var, shapes.Contents], consts: Mapping[ir.Var, int]
          ) -> shapes.Slot | None:
    """What an element load from a nested sequence is speculated to be (its path's
    slot: a constant index's position, else any element), or None."""
    if container is None or container not in conts:
        return None
    if isinstance(instr, ir.GetItem):
        found = shapes.item(conts[container], consts.get(instr.index))
    elif isinstance(instr, ir.IterValue):
        found = shapes.item(conts[container], None)
    else:
        return None
    if not found.kinds & (SCALARS | SEQUENCES):  # nothing native code takes was sampled
        return shapes.Slot(_ANY_NUMBER)  # there: a number, checked (the default)
    return found


_ANY_NUMBER = frozenset({VKind.INT, VKind.FLOAT, VKind.BOOL})
_SLICE_BOUNDS = frozenset({VKind.INT, VKind.BOOL, VKind.NONE})


def _instance_elements(seq: ir.Var, items: tuple[ir.Var, ...], types: Mapping[ir.Var, Kinds],
                       attrs: instances.AttrTable, line: int) -> None:
    """A list made of, or given, instances: their one class, beside the list (a list
    of two classes, or of instances and numbers, is declined: each load checks one)."""
    stored = [attrs.classes[v] for v in items if v in attrs.classes]
    if not stored:
        return
    known = attrs.element_classes.get(seq)
    if len({*stored, known} - {None}) > 1:
        raise Unsupported(at_line("a list of instances of two classes is not supported",
                                  line))
    attrs.element_classes[seq] = stored[0]


def _row_kind(instr: ir.Instr, container: ir.Var | None, arrays: Mapping[ir.Var, ArrayKind],
              types: Mapping[ir.Var, Kinds]) -> ArrayKind | None:
    """The kind of ``instr``'s result when it is a row of an array of two or more
    dimensions (``a[i]`` with one int index, or the value ``for row in a`` yields)."""
    if not isinstance(instr, ir.GetItem | ir.IterValue) or container is None or (
            container not in arrays):
        return None
    kind = arrays[container]
    if kind.ndim < 2:
        return None
    if isinstance(instr, ir.GetItem) and types[instr.index] != {VKind.INT}:
        raise Unsupported(at_line(f"indexing a {kind.ndim}-d array with anything but one "
                                  "int (a bool is a mask) is not supported", instr.line))
    return ArrayKind(kind.dtype, kind.ndim - 1)


def _loaded(instr: ir.Instr, elements: Kinds) -> Kinds:
    """The kinds of an element loaded from a sequence of ``elements``: numpy scalars
    (items of a tuple native code made) load back only as one dtype, or one dtype and
    ints (what :func:`npvalues.unbox` reads)."""
    found = elements & NP_SCALARS
    if found and (len(found) > 1 or elements - found - {VKind.INT}):
        raise Unsupported(at_line("an item of a tuple mixing numpy scalars of several "
                                  "dtypes or with floats, bools or None is not supported",
                                  instr.line))
    return elements


def _check_mixed(func: ir.Function, types: Mapping[ir.Var, Kinds]) -> None:
    for blk in func.blocks:
        for var in blk.defs():
            kinds = types[var]
            if kinds & _OBJECTS and len(kinds) > 1 and not is_nullable(kinds):
                raise Unsupported(
                    f"{func.name}: {var.hint or 'a value'} is a list, tuple, range or "
                    "iterator on some paths and something else (or unbound) on others")
