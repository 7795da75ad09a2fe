"""CALL of a static callee -> IR: builtins, ``math.*``, ``range`` and hot functions.

``min``/``max`` become the comparisons CPython makes, in its order: each new item is
compared with the current winner (``item < winner`` for min, ``item > winner`` for
max) and replaces it only when the comparison is true, so ties and nans keep the
earlier operand, with its own type.
"""

from __future__ import annotations

from types import FunctionType
from typing import TYPE_CHECKING

from autotier.callbinding import BindError, bind_positions
from autotier.frontend import ir, methods
from autotier.frontend.builtins_table import (
    MATH_FUNCTIONS,
    BoundMethodValue,
    Builtin,
    BuiltinCallValue,
    BuiltinRef,
    CallableRef,
    HotFunctionRef,
    MathFunctionRef,
    Static,
    constant_ok,
    describe,
)

if TYPE_CHECKING:
    from autotier.frontend.stackflow import StackFlow

_CONVERSIONS: dict[Builtin, type[ir.Instr]] = {
    Builtin.ABS: ir.Abs, Builtin.INT: ir.ToInt, Builtin.FLOAT: ir.ToFloat,
    Builtin.BOOL: ir.Truth, Builtin.ROUND: ir.Round,
}
_NO_ARGUMENT = {Builtin.INT: 0, Builtin.FLOAT: 0.0, Builtin.BOOL: False}


def lower_call(flow: StackFlow, callee: Static, args: list[ir.Var],
               kw_names: tuple[str, ...] = ()) -> ir.Var | BuiltinCallValue:
    """Emit the IR of ``callee(*args)`` into ``flow``'s current block; the last
    ``len(kw_names)`` arguments are passed by those keywords."""
    if isinstance(callee, HotFunctionRef):
        try:
            bound = _bind(flow, callee.func, args, kw_names)
        except Unbindable:  # CPython binds it: a call through the C API
            return flow.emit(ir.CallObject, callee.func, tuple(args), kw_names)
        return flow.emit(ir.CallFunction, callee.func, tuple(bound))
    if isinstance(callee, CallableRef):  # CPython's own function, through the C API
        return flow.emit(ir.CallObject, callee.obj, tuple(args), kw_names, callee.name)
    if isinstance(callee, BoundMethodValue) and callee.name == "conjugate":
        if kw_names or args:
            raise flow.fail(f".conjugate() with {len(args)} arguments (a TypeError)")
        return flow.emit(ir.Conjugate, callee.items[0], hint="")
    if isinstance(callee, BoundMethodValue) and callee.name != "append":  # an instance's
        if callee.block != flow.index:
            raise flow.fail(f"a call of method .{callee.name} whose arguments are computed "
                            "in another block is not supported")
        if methods.arguments_are_pure(flow.instrs[callee.mark:]):
            return flow.emit(ir.CallMethod, callee.items[0], callee.name, tuple(args),
                             kw_names)
        # CPython looks the method up before the arguments, which may run Python code:
        # the planned method's guards go where it looks it up (typeinfer declines a call
        # with no plan)
        check = ir.MethodCheck(flow.var(f"{callee.name}_found"), callee.items[0], callee.name,
                               len(args), kw_names, callee.uid,
                               line=flow.line if callee.state is None else callee.state.line,
                               state=callee.state)
        flow.instrs.insert(callee.mark, check)
        flow.bound.add(check.dest)
        return flow.emit(ir.CallMethod, callee.items[0], callee.name, tuple(args), kw_names,
                         True)
    if isinstance(callee, BoundMethodValue):  # xs.append(v)
        if kw_names or len(args) != 1:
            raise flow.fail(f".append() with {len(args)} arguments (a TypeError)")
        return flow.emit(ir.ListAppend, callee.items[0], args[0], hint="")
    if kw_names:
        raise flow.fail(f"keyword arguments to {describe(callee)} are not supported")
    n = len(args)
    if isinstance(callee, BuiltinRef):
        return _builtin(flow, callee.builtin, args)
    if isinstance(callee, MathFunctionRef):
        fn = MATH_FUNCTIONS[callee.name]
        if n not in fn.arities:
            raise flow.fail(f"math.{fn.name}() with {n} arguments is not supported")
        return flow.emit(ir.MathCall, fn.name, tuple(args))
    raise flow.fail(f"calling {describe(callee)} is not supported")


class Unbindable(Exception):
    """A call native code does not bind itself (CPython does, through the C API)."""


def _bind(flow: StackFlow, func: FunctionType, args: list[ir.Var],
          kw_names: tuple[str, ...]) -> list[ir.Var]:
    """The arguments of a call of hot function ``func``, bound to its parameters as
    CPython binds them; defaults become constants, and the call relies on ``func``'s
    ``__defaults__`` tuple (the entry checks it is still the same one).  A call CPython
    would refuse with a TypeError is left to it (:class:`Unbindable`)."""
    code = func.__code__
    if code.co_kwonlyargcount or code.co_flags & 0x0C:  # *args, **kwargs
        raise Unbindable("its parameters are not all positional")
    defaults = func.__defaults__ or ()
    try:
        sources = bind_positions(code, len(defaults), len(args) - len(kw_names), kw_names)
    except BindError as exc:  # CPython's TypeError, raised by CPython
        raise Unbindable(str(exc)) from None
    if any(where != "arg" and not constant_ok(defaults[i]) for where, i in sources):
        raise Unbindable("a default native code cannot hold")
    bound: list[ir.Var] = []
    for param, (where, i) in zip(code.co_varnames, sources, strict=False):
        if where == "arg":
            bound.append(args[i])
            continue
        value = defaults[i]
        var = flow.emit(ir.Const, value, hint=param)
        if type(value) is bool:
            flow.bools.add(var)
        bound.append(var)
        if not any(f is func and d is defaults for f, d in flow.resolver.defaults):
            flow.resolver.defaults.append((func, defaults))
    return bound


def _builtin(flow: StackFlow, builtin: Builtin, args: list[ir.Var]
             ) -> ir.Var | BuiltinCallValue:
    n = len(args)
    name = builtin.value
    if builtin in _NO_ARGUMENT and n == 0:
        return flow.emit(ir.Const, _NO_ARGUMENT[builtin])
    if builtin in _CONVERSIONS:
        if n != 1:
            extra = " (ndigits)" if builtin is Builtin.ROUND else ""
            raise flow.fail(f"{name}() with {n} arguments{extra} is not supported")
        result = flow.emit(_CONVERSIONS[builtin], args[0])
        if builtin is Builtin.BOOL:
            flow.bools.add(result)
        return result
    if builtin is Builtin.ENUMERATE:
        if n not in (1, 2):
            raise flow.fail(f"enumerate() with {n} arguments is not supported")
        if n == 2 and not any(isinstance(i, ir.Const) and i.dest == args[1]
                              and type(i.value) is int for i in flow.instrs):
            raise flow.fail("enumerate() with a start that is not an int constant")
        start = args[1] if n == 2 else flow.emit(ir.Const, 0, hint="start")
        return BuiltinCallValue(builtin, (args[0], start))
    if builtin is Builtin.REVERSED:  # its iterator is made at GET_ITER (a for loop's)
        if n != 1:
            raise flow.fail(f"reversed() with {n} arguments (a TypeError)")
        return BuiltinCallValue(builtin, (args[0],))
    if builtin is Builtin.ZIP:
        if n < 1:
            raise flow.fail("zip() of nothing is not supported")
        return BuiltinCallValue(builtin, tuple(args))
    if builtin is Builtin.SUM or (builtin in (Builtin.MIN, Builtin.MAX) and n == 1):
        if n not in (1, 2):
            raise flow.fail(f"{name}() with {n} arguments is not supported")
        return flow.emit(ir.CallBuiltin, name, tuple(args), hint=name)
    if builtin is Builtin.COMPLEX:
        if n > 2:
            raise flow.fail(f"complex() with {n} arguments (a TypeError)")
        return flow.emit(ir.MakeComplex, tuple(args), hint="")
    if builtin is Builtin.SLICE:
        raise flow.fail("slice objects (a call of slice()) are not supported")
    if builtin is Builtin.LIST:  # a copy of a list or tuple, or a range's ints
        if n == 0:
            return flow.emit(ir.MakeList, (), hint="list")
        if n != 1:
            raise flow.fail(f"list() with {n} arguments (a TypeError)")
        return flow.emit(ir.CallBuiltin, name, (args[0],), hint=name)
    if builtin is Builtin.LEN:
        if n != 1:
            raise flow.fail(f"len() with {n} arguments (a TypeError)")
        return flow.emit(ir.Len, args[0], hint="len")
    if builtin is Builtin.RANGE:
        if not 1 <= n <= 3:
            raise flow.fail(f"range() with {n} arguments")
        return flow.emit(ir.MakeRange, tuple(args), hint="range")
    # min / max of two or more positional arguments
    if n < 2:
        raise flow.fail(f"{name}() of an iterable is not supported (pass 2+ arguments)")
    op = ir.CmpOp.LT if builtin is Builtin.MIN else ir.CmpOp.GT
    winner = args[0]
    for item in args[1:]:
        wins = flow.emit(ir.Compare, op, item, winner, hint="")
        winner = flow.emit(ir.Select, wins, item, winner, hint=name)
    return winner
