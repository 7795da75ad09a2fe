"""Where numba's answer could differ from CPython's: such functions are declined.

numba computes with machine numbers: int64 arithmetic wraps (or traps, for
``-2**63 // -1``), ints meet floats through an inexact conversion, ``math`` functions
return nan or inf where CPython raises, ``**`` with a negative base gives nan where
CPython gives a complex.  autotier's entry guards the argument types, but not what
happens inside, and a wrong answer is worse than an interpreted function.  So after
numba has typed a function, its typed IR is checked against a conservative list of
operations whose numba semantics are CPython's for every input:

- float arithmetic ``+ - * / // %`` (numba raises ZeroDivisionError as CPython does),
  comparisons, unary ``-`` and ``+`` on floats;
- on ints: comparisons, ``& | ^ ~``, unary ``+`` (no result can leave int64);
- bool operations; containers (lists, tuples, arrays with bounds checking on),
  indexing and iteration;
- calls of ``len``, ``range``, ``float``, ``bool``, ``math.fabs``, ``math.copysign``,
  ``math.isnan``, ``math.isinf``, ``math.isfinite`` and methods of lists.

Anything else (int ``+ - * // % ** << >>``, int/float mixing, ``**``, other calls) is a
*risk*, reported with the operation, and the backend declines the function.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import Any

_FLOAT_OK = {operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
             operator.mod, operator.iadd, operator.isub, operator.imul, operator.itruediv,
             operator.ifloordiv, operator.imod, operator.lt, operator.le, operator.gt,
             operator.ge, operator.eq, operator.ne}
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


def _kind(ty: Any) -> str:
    from numba.core import types

    if isinstance(ty, types.Boolean):
        return "bool"
    if isinstance(ty, types.Integer):
        return "int"
    if isinstance(ty, types.Float):
        return "float"
    return "other"


def _op_risk(fn: Any, operand_types: list[Any]) -> str | None:
    kinds = {_kind(t) for t in operand_types}
    name = _NAMES.get(fn, getattr(fn, "__name__", str(fn)))
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
        return None if fn in safe else f"{name} on {sorted(kinds)}"
    return f"{name} mixing ints and floats (numba converts inexactly)"


def _call_risk(fnty: Any) -> str | None:
    from numba.core import types

    key = getattr(fnty, "typing_key", None)
    if isinstance(fnty, types.BoundFunction) and isinstance(fnty.this, types.List):
        return None  # list methods
    if key in _CALLS_OK or isinstance(fnty, types.RangeType):
        return None
    return f"call of {getattr(key, '__name__', key)}"


def risks(overload: Any) -> Iterator[str]:
    """The operations of one numba compile result whose semantics may differ."""
    from numba.core import ir

    annotation = overload.type_annotation
    typemap = annotation.typemap
    for block in annotation.blocks.values():
        for stmt in block.body:
            if not (isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr)):
                continue
            expr = stmt.value
            if expr.op in ("binop", "inplace_binop"):
                risk = _op_risk(expr.fn, [typemap[expr.lhs.name], typemap[expr.rhs.name]])
            elif expr.op == "unary":
                risk = _op_risk(expr.fn, [typemap[expr.value.name]])
            elif expr.op == "call":
                risk = _call_risk(typemap[expr.func.name])
            else:
                risk = None
            if risk is not None:
                yield f"{risk} at line {stmt.loc.line}"
