"""CALL of a static callee -> IR: builtins, ``math.*``, ``range`` and hot functions.

``min``/``max`` become the comparisons CPython makes, in its order: each new item is
compared with the current winner (``item < winner`` for min, ``item > winner`` for
max) and replaces it only when the comparison is true, so ties and nans keep the
earlier operand, with its own type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autotier.frontend import ir
from autotier.frontend.builtins_table import (
    MATH_FUNCTIONS,
    Builtin,
    BuiltinRef,
    HotFunctionRef,
    MathFunctionRef,
    Static,
    describe,
)

if TYPE_CHECKING:
    from autotier.frontend.stackflow import StackFlow

_CONVERSIONS: dict[Builtin, type[ir.Instr]] = {
    Builtin.ABS: ir.Abs, Builtin.INT: ir.ToInt, Builtin.FLOAT: ir.ToFloat,
    Builtin.BOOL: ir.Truth, Builtin.ROUND: ir.Round,
}
_NO_ARGUMENT = {Builtin.INT: 0, Builtin.FLOAT: 0.0, Builtin.BOOL: False}


def lower_call(flow: StackFlow, callee: Static, args: list[ir.Var]) -> ir.Var:
    """Emit the IR of ``callee(*args)`` into ``flow``'s current block."""
    n = len(args)
    if isinstance(callee, BuiltinRef):
        return _builtin(flow, callee.builtin, args)
    if isinstance(callee, MathFunctionRef):
        fn = MATH_FUNCTIONS[callee.name]
        if n not in fn.arities:
            raise flow.fail(f"math.{fn.name}() with {n} arguments is not supported")
        return flow.emit(ir.MathCall, fn.name, tuple(args))
    if isinstance(callee, HotFunctionRef):
        code = callee.func.__code__
        if n != code.co_argcount:
            raise flow.fail(
                f"call of {callee.func.__qualname__}() with {n} of {code.co_argcount} "
                "arguments: default arguments are not supported")
        return flow.emit(ir.CallFunction, callee.func, tuple(args))
    raise flow.fail(f"calling {describe(callee)} is not supported")


def _builtin(flow: StackFlow, builtin: Builtin, args: list[ir.Var]) -> ir.Var:
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
