"""Where numba's answer could differ from CPython's: such functions are declined.

numba computes with machine numbers: int64 arithmetic wraps (or traps, for
``-2**63 // -1``), ints meet floats through an inexact conversion, ``math`` functions
return nan or inf where CPython raises, ``**`` with a negative base gives nan where
CPython gives a complex.  It freezes every global at compile time, as a value of its
own types, and it converts values silently to unify types.  autotier's entry guards
the argument types, but not what happens inside, and a wrong answer is worse than an
interpreted function.  So the numba backend offers numba only a function whose every
answer is CPython's:

**Frozen globals** (:func:`frozen_risk`).  numba compiles the function's globals, and
the module attributes it reads, as constants.  The entry guards that each name is still
bound to the same object, so a frozen value is exact when the object can never change
and numba's copy computes and boxes as the object does: exact ``int`` (in int64
range), ``float``, ``bool``, ``str``, ``None``, tuples of these, modules (whose
attributes read are checked and guarded in turn), builtin functions and builtin types.
Anything else is declined: a ``numpy.float64``, ``numpy.int64``, ``numpy.float32``
or ``numpy.bool_`` would come back as a plain float, int or bool; an int or float
subclass instance loses its type; a mutable object (ndarray, list, dict) would be read
as it was at compile time, not as it is at call time.

**Operations** (:func:`risks`), checked on numba's typed IR against a conservative
list of operations whose numba semantics are CPython's for every input:

- float arithmetic ``+ - * / // %``, comparisons, unary ``-`` and ``+`` on floats;
- on int64 (a constant past int64 is numba's uint64, compared as a float: declined):
  comparisons, ``& | ^ ~``, unary ``+`` (no result can leave int64);
- bool operations; containers (lists, tuples, dicts not keyed by floats), indexing and
  iteration;
- calls of ``len``, ``bool``, ``float`` and ``math.fabs``, ``math.copysign``,
  ``math.isnan``, ``math.isinf``, ``math.isfinite`` of numbers, ``range(n)``,
  ``range(0, n)`` and ranges of small constants (numba computes a range's length and
  steps in int64 and wraps: ``range(5, -2**63, -2**62)`` ran no iteration), builtin
  exception classes (to raise) and methods of lists (``index count remove sort`` only
  without floats: CPython finds a nan by identity and sorts nans its own way;
  ``extend`` only with its own type).

Anything else (int ``+ - * // % ** << >>``, int/float mixing, ``**``, other calls,
slices, ``try``, set literals, whose iteration order is numba's own, ``==`` and ``in``
on containers holding floats and dicts keyed by floats, which CPython matches by
identity first: ``x in [x]`` is True for a nan) is a *risk*, reported with the
operation, and the backend declines the function.

**numpy arrays** (:func:`_array_expr_risk`).  In CPython an element of an ndarray is a
numpy scalar (``a[0]`` of a float64 array is a ``numpy.float64``, ``a[i] > 0`` a
``numpy.bool_``) with NEP 50 arithmetic and numpy's overflow warnings, and a store
into an array raises where the value does not fit (``Python integer 300 out of bounds
for uint8``); numba reads plain floats and ints and casts stores silently.  So every
element read of an array (indexing, iteration, unpacking), arithmetic, method, other
attribute and call on one, and every store into one is a risk: only ``len(a)``,
``a.shape``, ``a.ndim`` and ``a.size`` (Python ints in CPython, int64 in numba) are
exact.  (No backend is offered an array argument yet, and a global array is declined
as mutable: this keeps the screen honest for when one is.)

**Conversions and results.**  numba unifies types by converting values: ``return 1``
beside ``return b`` (a bool) returns ``int`` 0 for ``False``; ``[n, 2.5]`` holds
``float(n)``; ``xs.append(n)`` to a float list stores a float.  Every assignment,
list element, stored item and list method argument whose type numba converts (other
than int to a wider int or a value into an optional) is a risk, and so is a result
type numba does not box as CPython's own type (only int64, float64, bool, str, None,
and tuples, lists and optionals of those are taken).

**Exceptions.**  numba's messages are its own (``division by zero`` for ``float
division by zero``, ``getitem out of range`` for ``list index out of range``).  So
whenever the numba-compiled function raises an ``Exception``, autotier's entry clears
it and re-runs the call in the interpreter, which raises CPython's exception (a
bailout, ``Status.VALUE``).  Re-running is exact because such a function has no
effect: its arguments are ints, floats and bools, its globals are immutable, the only
calls allowed are the pure ones above and methods of lists it built itself, so every
mutable object it can reach was created by the call being re-run.
"""

from __future__ import annotations

import builtins
import dis
import math
import operator
from collections.abc import Iterator
from types import BuiltinFunctionType, CodeType, ModuleType
from typing import Any

from autotier import compat

# No float arithmetic: numba's LLVM rewrites y * -1.0, y / -1.0, -0.0 - y and
# x - (-y) and folds y + -0.0 away, so a nan's sign or payload can differ from CPython's
# (x86 returns the nan operand); autotier's llvm frontend keeps them exact
# (frontend/floatarith.py).  Comparisons never show a nan's bits.
_FLOAT_OK = {operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne}
_INT_OK = {operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
           operator.and_, operator.or_, operator.xor, operator.iand, operator.ior,
           operator.ixor}
_UNARY_OK_FLOAT = {operator.neg, operator.pos, operator.not_}
_UNARY_OK_INT = {operator.pos, operator.invert, operator.not_}
_CALLS_OK: set[Any] = {len, range, float, bool, math.fabs, math.copysign, math.isnan,
                       math.isinf, math.isfinite}
_NAMES = {operator.add: "+", operator.iadd: "+=", operator.sub: "-", operator.isub: "-=",
          operator.mul: "*", operator.imul: "*=", operator.truediv: "/",
          operator.floordiv: "//", operator.mod: "%", operator.pow: "**",
          operator.ipow: "**=", operator.lshift: "<<", operator.rshift: ">>",
          operator.neg: "unary -", operator.ifloordiv: "//=", operator.imod: "%=",
          operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
          operator.eq: "==", operator.ne: "!="}
_EXACT_SCALARS = (float, bool, str, type(None))


def _unfrozen(value: object) -> str | None:
    """Why numba's frozen copy of ``value`` could differ from it, or None."""
    t = type(value)
    if isinstance(value, int) and t is int:
        return None if -(2**63) <= value < 2**63 else "an int past 64 bits"
    if t in _EXACT_SCALARS or t is ModuleType or t is BuiltinFunctionType:
        return None
    if isinstance(value, type) and t is type and value.__module__ == "builtins":
        return None  # float, range, ValueError ...: calls of them are screened
    if isinstance(value, tuple) and t is tuple:
        return next((why for item in value if (why := _unfrozen(item))), None)
    name = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
    if t.__hash__ is None:  # list, dict, set, ndarray ...
        return f"a mutable {name} (numba freezes its contents at compile time)"
    return (f"a {name}, not an exact int, float, bool, str or tuple of them (numba "
            "computes with a frozen copy of its own type)")


def frozen_risk(name: str, value: object) -> str | None:
    """Why numba freezing global (or module attribute) ``name`` = ``value`` at compile
    time could answer differently from CPython reading it at call time, or None."""
    why = _unfrozen(value)
    return None if why is None else f"global {name!r} is {why}"


def module_reads(annotation: Any) -> Iterator[tuple[ModuleType, str]]:
    """(module, attribute) for every module attribute the typed code reads
    (``annotation``: numba's type annotation of a compile, or of one being made)."""
    from numba.core import ir, types

    for block in annotation.blocks.values():
        for stmt in block.body:
            if (isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr)
                    and stmt.value.op == "getattr"):
                owner = annotation.typemap[stmt.value.value.name]
                if isinstance(owner, types.Module):
                    yield owner.pymod, stmt.value.attr


def _kind(ty: Any) -> str:
    from numba.core import types

    if isinstance(ty, types.Boolean):
        return "bool"
    if isinstance(ty, types.Integer):
        return "int"
    if isinstance(ty, types.Float):
        return "float"
    return "other"


def _leaf_kinds(ty: Any) -> set[str]:
    """The kinds of the scalars inside a (container) type."""
    from numba.core import types

    if isinstance(ty, types.BaseTuple):
        return {k for t in _items(ty) for k in _leaf_kinds(t)}
    if isinstance(ty, (types.List, types.Set)):
        return _leaf_kinds(ty.dtype)
    if isinstance(ty, types.DictType):
        return _leaf_kinds(ty.key_type) | _leaf_kinds(ty.value_type)
    if isinstance(ty, types.Optional):
        return _leaf_kinds(ty.type)
    return {_kind(ty)}


def _odd_int(ty: Any) -> bool:
    """An int type other than int64 (numba types a constant past int64 as uint64, and
    compares int64 with uint64 as floats: 2**63 - 1 < 2**63 is False)."""
    from numba.core import types

    plain = _plain(ty)
    return isinstance(plain, types.Integer) and plain != types.int64


def _op_risk(fn: Any, operand_types: list[Any]) -> str | None:
    kinds = {_kind(t) for t in operand_types}
    name = _NAMES.get(fn, getattr(fn, "__name__", str(fn)))
    odd = next((t for t in operand_types if _odd_int(t)), None)
    if odd is not None:
        return f"{name} on {_plain(odd)} (numba converts it inexactly)"
    unary = len(operand_types) == 1
    if kinds == {"float"}:
        ok = _UNARY_OK_FLOAT if unary else _FLOAT_OK
        return None if fn in ok else f"{name} on float"
    if fn is operator.invert and "bool" in kinds:
        return "~ on bool (numba answers not b, CPython -1 - b)"
    if kinds <= {"int", "bool"}:
        ok = _UNARY_OK_INT if unary else _INT_OK
        return None if fn in ok else f"int {name} (numba wraps or traps on int64 overflow)"
    if "other" in kinds:
        safe = (operator.eq, operator.ne, operator.contains, operator.not_)
        if fn not in safe:
            return f"{name} on {sorted(kinds)}"
        if "float" in {k for t in operand_types for k in _leaf_kinds(t)}:
            # CPython matches a float in a container by identity first (x in [x] is
            # True for a nan), numba by value; and (n,) == (2.0**53,) compares float(n)
            return f"{name} on containers of floats (CPython matches nan by identity)"
        return None
    return f"{name} mixing ints and floats (numba converts inexactly)"


_LIST_METHODS = {"append", "pop", "insert", "reverse", "clear", "copy"}
# CPython finds nan by identity and sorts nans its own way; exact on ints and bools
_LIST_METHODS_NO_FLOAT = {"index", "count", "remove", "sort"}


def _list_method_risk(fnty: Any, arg_types: list[Any]) -> str | None:
    from numba.core import types

    key = fnty.typing_key  # "list.append", or (types.List, "sort") for overloads
    method = str(key[-1] if isinstance(key, tuple) else key).rpartition(".")[2]
    if method in _LIST_METHODS:
        return None
    if method in _LIST_METHODS_NO_FLOAT and "float" not in _leaf_kinds(fnty.this):
        return None
    if method == "extend" and len(arg_types) == 1:
        (arg,) = arg_types
        if (isinstance(arg, (types.List, types.UniTuple))
                and _plain(arg.dtype) == _plain(fnty.this.dtype)):
            return None
    return f"list.{method} with {', '.join(map(str, arg_types))} on {fnty.this}"


_RANGE_SAFE = 2**61  # constants this small keep numba's range arithmetic in int64


def _range_risk(arg_types: list[Any]) -> str | None:
    """numba computes a range's length and steps in int64, wrapping: range(5, -2**63,
    -2**62) ran no iteration, len(range(-2**63, 2**63 - 1)) was 0.  Exact: range(n),
    range(0, n), and ranges of small constants."""
    from numba.core import types

    literal = [t.literal_value if isinstance(t, types.IntegerLiteral) else None
               for t in arg_types]
    if len(arg_types) == 1 or (len(arg_types) == 2 and literal[0] == 0):
        return None
    if all(v is not None and abs(v) < _RANGE_SAFE for v in literal):
        return None
    return "range() of more than a stop that is not constant (numba's range wraps in int64)"


def _call_risk(fnty: Any, arg_types: list[Any]) -> str | None:
    from numba.core import types

    key = getattr(fnty, "typing_key", None)
    if isinstance(fnty, types.BoundFunction) and isinstance(fnty.this, types.List):
        return _list_method_risk(fnty, arg_types)
    if key is range:
        return _range_risk(arg_types)
    name = getattr(key, "__name__", key or fnty)
    numeric = key in _CALLS_OK and key not in (len, bool)
    if numeric and any(_kind(t) == "other" for t in arg_types):
        # float("1_0"), math.isnan of a str ...: only numbers have numba's exact semantics
        return f"call of {name} on {', '.join(map(str, arg_types))}"
    if any(_odd_int(t) for t in arg_types):
        return f"call of {name} on {', '.join(map(str, arg_types))}"
    if key in _CALLS_OK or isinstance(fnty, (types.RangeType, types.ExceptionClass)):
        return None  # an exception instance is only raised, or returned (declined)
    return f"call of {name}"


def _items(ty: Any) -> tuple[Any, ...]:
    """The element types of a numba tuple type."""
    return tuple(ty.types)


def _plain(ty: Any) -> Any:
    """``ty`` without literal values (``Literal[int](1)`` is int64)."""
    from numba.core import types

    if isinstance(ty, types.Literal):
        return types.unliteral(ty)
    if isinstance(ty, types.BaseTuple):
        return types.Tuple(tuple(_plain(t) for t in _items(ty)))
    return ty


def _keeps(src: Any, dst: Any) -> bool:
    """numba converting a value of type ``src`` to ``dst`` keeps its value and the
    Python type it boxes to."""
    from numba.core import types

    src, dst = _plain(src), _plain(dst)
    if src == dst:
        return True
    if isinstance(src, types.Integer) and isinstance(dst, types.Integer):
        return _widens(src, dst)
    if isinstance(dst, types.Optional):
        if isinstance(src, types.NoneType):
            return True
        inner = src.type if isinstance(src, types.Optional) else src
        return _keeps(inner, dst.type)
    if isinstance(src, types.BaseTuple) and isinstance(dst, types.BaseTuple):
        return len(_items(src)) == len(_items(dst)) and all(
            map(_keeps, _items(src), _items(dst)))
    if isinstance(src, types.List) and isinstance(dst, types.List):
        return bool(_plain(src.dtype) == _plain(dst.dtype))  # reflection does not matter
    return False


def _widens(src: Any, dst: Any) -> bool:
    """int type ``dst`` holds every value of int type ``src``."""
    return bool(src.signed and dst.signed and dst.bitwidth >= src.bitwidth)


def _boxes_exactly(ty: Any) -> bool:
    """numba boxes a value of type ``ty`` as CPython's own type for it."""
    from numba.core import types

    ty = _plain(ty)
    if ty in (types.int64, types.float64, types.boolean, types.none, types.unicode_type):
        return True
    if isinstance(ty, types.Optional):
        return _boxes_exactly(ty.type)
    if isinstance(ty, types.BaseTuple):
        return all(map(_boxes_exactly, _items(ty)))
    if isinstance(ty, types.List):
        return _boxes_exactly(ty.dtype)
    return False


def _conversion(src: Any, dst: Any, what: str) -> str | None:
    if _keeps(src, dst):
        return None
    return f"numba converts {what} from {_plain(src)} to {_plain(dst)}"


def _item_type(container: Any, sig: Any) -> Any:
    """The type a stored item of ``container`` ends up as: a dict's own value type
    (its setitem is typed with the caller's, and converts inside), else the
    signature's."""
    from numba.core import types

    if isinstance(container, types.DictType):
        return container.value_type
    return sig.args[-1]


def _typeof_const(value: object) -> Any:
    """numba's type for a constant, or None when it has none of its own."""
    from numba import typeof

    try:
        return typeof(value)
    except ValueError:
        return None


def _assign_risks(stmt: Any, typemap: Any, calltypes: Any) -> Iterator[str]:
    """Conversions numba makes to store ``stmt``'s value in its target."""
    from numba.core import ir, types

    target = typemap[stmt.target.name]
    value = stmt.value
    if isinstance(value, ir.Var):
        src = typemap[value.name]
    elif isinstance(value, (ir.Const, ir.Global, ir.FreeVar)):
        if isinstance(target, (types.Function, types.Module, types.Dispatcher,
                               types.NumberClass, types.ExceptionClass)):
            return  # a callable or module: nothing numba boxes
        src = _typeof_const(value.value)
        if src is None:
            yield f"numba holds constant {value.value!r} as {_plain(target)}"
            return
    elif isinstance(value, ir.Expr) and value.op == "cast":
        src = typemap[value.value.name]
    elif isinstance(value, ir.Expr) and value.op in ("build_list", "build_set"):
        for item in value.items:
            risk = _conversion(typemap[item.name], target.dtype, "a list item")
            if risk:
                yield risk
        return
    elif isinstance(value, ir.Expr) and value.op == "build_map":
        if isinstance(target, types.DictType):
            for k, v in value.items:
                risk = (_conversion(typemap[k.name], target.key_type, "a dict key")
                        or _conversion(typemap[v.name], target.value_type, "a dict value"))
                if risk:
                    yield risk
        return
    elif isinstance(value, ir.Expr) and calltypes.get(value) is not None:
        sig = calltypes[value]
        if value.op == "call" and isinstance(typemap[value.func.name], types.BoundFunction):
            for arg, param in zip(value.args, sig.args, strict=False):
                risk = _conversion(typemap[arg.name], param, "a list method's argument")
                if risk:
                    yield risk
        src = sig.return_type
    else:
        return
    risk = _conversion(src, target, "a value")
    if risk:
        yield risk


# What CPython reads off an ndarray as Python ints (numba: int64 and tuples of them)
_ARRAY_ATTRS_OK = frozenset({"shape", "ndim", "size"})
_ARRAY_ELEMENT = ("an element of a numpy array (CPython's is a numpy scalar with NEP 50 "
                  "arithmetic and numpy's warnings; numba's a plain number)")


def _is_array(ty: Any) -> bool:
    from numba.core import types

    return isinstance(ty, types.Array)


def _array_expr_risk(expr: Any, typemap: Any) -> str | None:
    """Why numba's answer to ``expr`` on a numpy array could differ from CPython's:
    anything but ``len(a)``, ``a.shape``, ``a.ndim`` and ``a.size``."""
    from numba.core import types

    if expr.op in ("getitem", "static_getitem", "typed_getitem", "getiter",
                   "exhaust_iter"):
        return _ARRAY_ELEMENT if _is_array(typemap[expr.value.name]) else None
    if expr.op == "arrayexpr":  # numba's rewrite of arithmetic on whole arrays
        return "arithmetic on a numpy array (numba's casts and results are its own)"
    if expr.op == "getattr":
        if _is_array(typemap[expr.value.name]) and expr.attr not in _ARRAY_ATTRS_OK:
            return f"attribute {expr.attr} of a numpy array"
        return None
    if expr.op in ("binop", "inplace_binop"):
        operands = [expr.lhs, expr.rhs]
    elif expr.op == "unary":
        operands = [expr.value]
    elif expr.op == "call":
        fnty = typemap[expr.func.name]
        if isinstance(fnty, types.BoundFunction) and _is_array(fnty.this):
            return f"method {fnty.typing_key} of a numpy array"
        if getattr(fnty, "typing_key", None) is len:
            return None
        operands = [*expr.args, *(v for _, v in expr.kws)]
    else:
        return None
    if any(_is_array(typemap[v.name]) for v in operands):
        return f"{expr.op} on a numpy array (numba's casts and results are its own)"
    return None


def _array_store_risk(stmt: Any, typemap: Any) -> str | None:
    if _is_array(typemap[stmt.target.name]):
        return ("a store into a numpy array (numba casts the value where numpy raises: "
                "300 into uint8, nan into int64)")
    return None


def _float_keys(ty: Any) -> bool:
    from numba.core import types

    return isinstance(ty, types.DictType) and "float" in _leaf_kinds(ty.key_type)


def _expr_risk(expr: Any, typemap: Any) -> str | None:
    if expr.op in ("binop", "inplace_binop"):
        return _op_risk(expr.fn, [typemap[expr.lhs.name], typemap[expr.rhs.name]])
    if expr.op == "unary":
        return _op_risk(expr.fn, [typemap[expr.value.name]])
    if expr.op == "call":
        return _call_risk(typemap[expr.func.name], [typemap[a.name] for a in expr.args])
    if expr.op == "build_set":
        return "a set (numba's iteration order can differ from CPython's)"
    return None


def risks(result: Any, annotation: Any) -> Iterator[str]:
    """The operations of one numba compile (its return type and type annotation:
    of a finished compile, or inside numba's pipeline before lowering) whose
    semantics may differ."""
    from numba.core import ir

    if not _boxes_exactly(result):
        yield f"numba returns {_plain(result)}, which it boxes as another type than CPython's"
    typemap, calltypes = annotation.typemap, annotation.calltypes
    for block in annotation.blocks.values():
        for stmt in block.body:
            found: list[str] = []
            if isinstance(stmt, (ir.SetItem, ir.StaticSetItem)):
                risk = _array_store_risk(stmt, typemap)
                found += [risk] if risk else []
                sig = calltypes.get(stmt)
                if sig is not None:
                    risk = _conversion(typemap[stmt.value.name],
                                       _item_type(typemap[stmt.target.name], sig),
                                       "a stored item")
                    found += [risk] if risk else []
            elif isinstance(stmt, ir.Assign):
                if isinstance(stmt.value, ir.Expr):
                    risk = _array_expr_risk(stmt.value, typemap)
                    risk = risk or _expr_risk(stmt.value, typemap)
                    found += [risk] if risk else []
                if _float_keys(typemap[stmt.target.name]):
                    found.append(f"a dict keyed by floats ({typemap[stmt.target.name]}: "
                                 "CPython finds a nan key by identity)")
                found += _assign_risks(stmt, typemap, calltypes)
            for risk in found:
                yield f"{risk} at line {stmt.loc.line}"


# --- the screen before numba runs ------------------------------------------------
# numba spends 0.05-1.5 s typing and compiling a function (11 s was seen) before the
# checks above can see its typed IR, and most functions offered to it are then
# declined.  What the bytecode alone shows will be declined whatever numba infers is
# declined before numba runs (numba is not even imported): every binary operator
# but & | ^ is a risk on every operand type (see _op_risk), and so are a set, a slice
# and a call of a builtin or math function that is not in _CALLS_OK.  A function in
# dead code numba would prune (``if False: x + 1``) is declined too: only slower.
_BITWISE = frozenset({"&", "|", "^", "&=", "|=", "^="})
_METHODS_OK = _LIST_METHODS | _LIST_METHODS_NO_FLOAT | {"extend"}
# numba's instruction count past which a compile is not started (NUMBA_MAX_INSTRUCTIONS)
NUMBA_MAX_INSTRUCTIONS = 1500


def _callable_risk(what: str, value: object) -> str | None:
    """A builtin or math callable numba would be asked to call, if not an exact one."""
    if not isinstance(value, BuiltinFunctionType | type) or value in _CALLS_OK:
        return None
    if isinstance(value, type) and issubclass(value, BaseException):
        return None  # raised: numba's exception is re-run in the interpreter
    if isinstance(value, BuiltinFunctionType) or (isinstance(value, type)
                                                  and value.__module__ == "builtins"):
        return f"call of {what}"
    return None


def prescreen(code: CodeType, namespace: dict[str, object]) -> str | None:
    """Why numba's compile of ``code`` (globals ``namespace``) would certainly be
    declined, seen in its bytecode before numba runs; None if it may compile."""
    count = 0
    previous: Any = None  # the value the last LOAD_GLOBAL pushed
    for ins in dis.get_instructions(code):
        count += 1
        line = f" at line {ins.positions.lineno}" if ins.positions else ""
        value: Any = None
        if ins.opname == "BINARY_OP" and ins.argrepr not in _BITWISE:
            return f"{ins.argrepr.rstrip('=') or ins.argrepr} on numbers (numba's int and " \
                   f"float arithmetic can differ from CPython's){line}"
        if ins.opname in ("BUILD_SET", "SET_ADD", "SET_UPDATE"):
            return f"a set (numba's iteration order can differ from CPython's){line}"
        if ins.opname in compat.SLICE_OPCODES:
            return f"a slice{line}"
        if ins.opname == "LOAD_GLOBAL":
            name = str(ins.argval)
            value = namespace.get(name, builtins.__dict__.get(name))
            risk = _callable_risk(name, value)
            if risk is not None:
                return risk + line
        elif ins.opname in compat.ATTRIBUTE_OPCODES and isinstance(previous, ModuleType):
            attr = str(ins.argval)
            risk = _callable_risk(f"{previous.__name__}.{attr}", vars(previous).get(attr))
            if risk is not None:
                return risk + line
        elif ins.opname == "LOAD_METHOD" and ins.argval not in _METHODS_OK:
            return f"a call of method {ins.argval} (only methods of lists are offered){line}"
        previous = value
    if count > NUMBA_MAX_INSTRUCTIONS:
        return (f"too large for numba ({count} instructions > {NUMBA_MAX_INSTRUCTIONS}: "
                "its compile would hold the broker for seconds)")
    return None
