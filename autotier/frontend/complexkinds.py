"""Typing rules for ``complex`` values: what each operation on one answers (issue 11).

CPython 3.11's complex type (Objects/complexobject.c) converts an ``int``, ``bool`` or
``float`` operand to ``complex(x, 0.0)`` first (``PyLong_AsDouble`` for an int) and
answers a complex for ``+ - * / **``; ``//``, ``%``, the bitwise operators, ``~``,
``<``-style comparisons, ``int()``, ``float()``, ``round()`` and ``math`` functions
of a complex raise TypeError (no kinds: the code bails out there and the interpreter
raises).  ``abs`` answers a float; ``==``/``!=`` and truth a bool.  ``.real``,
``.imag`` and ``.conjugate()`` of every number are typed here too (an int's and a
bool's answer an int, a float's a float), and ``complex(a, b)``.  ``cmath``'s
functions, called through the C API with the arguments boxed, answer the kinds of
:data:`CMATH_RESULTS`.  A complex mixed with a numpy scalar is declined.

Pure Python: :mod:`.typeinfer` asks :func:`result_kinds`, the lowering
(:mod:`.cvalues`) computes what it says.
"""

from __future__ import annotations

import cmath

from autotier.frontend import ir
from autotier.frontend.errors import Unsupported, at_line
from autotier.frontend.ir import NO_KINDS, BinOp, CmpOp, Kinds, UnOp, VKind
from autotier.frontend.kinds import NP_SCALARS

COMPLEX: Kinds = frozenset({VKind.COMPLEX})
FLOAT: Kinds = frozenset({VKind.FLOAT})
BOOL: Kinds = frozenset({VKind.BOOL})
INT: Kinds = frozenset({VKind.INT})
#: the numbers a complex mixes with, and complex itself
REALS: Kinds = frozenset({VKind.INT, VKind.BOOL, VKind.FLOAT})
NUMBERS: Kinds = REALS | COMPLEX
ARITH = frozenset({BinOp.ADD, BinOp.SUB, BinOp.MUL, BinOp.TRUEDIV, BinOp.POW})

_COMPLEX1 = ("acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "exp",
             "log", "log10", "sin", "sinh", "sqrt", "tan", "tanh")
#: cmath's functions native code calls (through the C API), by name: what each answers
#: for numbers (checked at each call: anything else resumes after it)
CMATH_RESULTS: dict[str, Kinds] = {
    **{n: COMPLEX for n in _COMPLEX1}, "rect": COMPLEX, "phase": FLOAT,
    **{n: BOOL for n in ("isfinite", "isinf", "isnan", "isclose")},
}
_CMATH_OBJECTS = {id(getattr(cmath, n)): n for n in CMATH_RESULTS}


def cmath_name(callee: object) -> str | None:
    """The name of the genuine ``cmath`` function ``callee``, else None."""
    name = _CMATH_OBJECTS.get(id(callee))
    return name if name is not None and getattr(cmath, name) is callee else None


def _number_attr(instr: ir.NumberAttr | ir.Conjugate, kind: VKind) -> Kinds:
    """``.real``, ``.imag``, ``.conjugate()``: a complex's parts are floats, an int's
    and a bool's answers ints, a float's floats."""
    if kind is VKind.COMPLEX:
        return COMPLEX if isinstance(instr, ir.Conjugate) else FLOAT
    if kind is VKind.FLOAT:
        return FLOAT
    if kind in (VKind.INT, VKind.BOOL):
        return INT
    if kind is VKind.NONE:
        return NO_KINDS  # AttributeError
    what = "a numpy scalar" if kind in NP_SCALARS else f"a {kind.name.lower()}"
    name = "conjugate()" if isinstance(instr, ir.Conjugate) else instr.name
    raise Unsupported(at_line(f".{name} of {what} is not supported", instr.line))


def result_kinds(instr: ir.Instr, combo: tuple[VKind, ...]) -> Kinds | None:
    """The kinds of ``instr`` for operand kinds ``combo`` when complex numbers are
    involved (an operand is one, or it is ``.real``/``.imag``/``.conjugate()``/
    ``complex()``/a ``cmath`` call); None when they are not."""
    if isinstance(instr, ir.NumberAttr | ir.Conjugate):
        return _number_attr(instr, combo[0])
    if isinstance(instr, ir.MakeComplex):
        if any(k in NP_SCALARS for k in combo):
            raise Unsupported(at_line("complex() of a numpy scalar is not supported",
                                      instr.line))
        if not all(k in NUMBERS for k in combo):
            return NO_KINDS  # a str, None ...: CPython's TypeError (or its parsing)
        return COMPLEX
    if isinstance(instr, ir.CallObject) and instr.callee is cmath.polar:
        raise Unsupported(at_line("cmath.polar() (a tuple) is not supported", instr.line))
    if isinstance(instr, ir.CallObject) and cmath_name(instr.callee) is not None:
        if not all(k in NUMBERS for k in combo):
            raise Unsupported(at_line(f"{instr.callee_name}() of anything but numbers is "
                                      "not supported", instr.line))
        return CMATH_RESULTS[cmath_name(instr.callee) or ""]
    if VKind.COMPLEX not in combo:
        return None
    if any(k in NP_SCALARS for k in combo):
        raise Unsupported(at_line("a complex with a numpy scalar is not supported",
                                  instr.line))
    if isinstance(instr, ir.BinaryOp):
        if not all(k in NUMBERS for k in combo):
            return None  # a list or a range operand: the caller's rules decline it
        return COMPLEX if instr.op in ARITH else NO_KINDS
    if isinstance(instr, ir.UnaryOp):
        if instr.op is UnOp.NOT:
            return BOOL
        return NO_KINDS if instr.op is UnOp.INVERT else COMPLEX
    if isinstance(instr, ir.Compare):
        if not all(k in NUMBERS for k in combo):
            return None
        return BOOL if instr.op in (CmpOp.EQ, CmpOp.NE) else NO_KINDS
    if isinstance(instr, ir.Truth):
        return BOOL
    if isinstance(instr, ir.Abs):
        return FLOAT
    if isinstance(instr, ir.ToInt | ir.ToFloat | ir.Round | ir.MathCall):
        return NO_KINDS  # TypeError: a complex is no real number
    if isinstance(instr, ir.Select):
        return frozenset(combo[1:])
    return None
