"""Float arithmetic whose NaN results are x86's, bit for bit, as CPython's are.

CPython computes ``a + b``, ``a - b``, ``a * b``, ``a / b`` and ``math.sqrt`` with
one SSE instruction each, and x86 defines the NaN it returns: the first operand if
it is a NaN, else the second, quieted (a signalling NaN gets its quiet bit), else
(``inf - inf``, ``0 * inf``) the default NaN, which is negative
(0xfff8000000000000).  Unary minus flips the sign bit, ``abs`` and ``math.fabs``
clear it, ``math.copysign`` copies it: a NaN's sign and payload are visible from
Python (``math.copysign(1.0, x)``, ``struct.pack``).

LLVM's IR leaves the sign and payload of an arithmetic NaN result unspecified, and
its optimiser uses that freedom: ``y * -1.0``, ``y / -1.0`` and ``-0.0 - y``
become a sign flip, ``y * 1.0`` and ``y + -0.0`` become ``y`` (keeping a signalling
NaN signalling), ``(-x) * (-y)`` becomes ``x * y``, ``x - (-y)`` becomes ``x + y``,
constants fold with a positive default NaN, and instruction selection commutes
``a + b`` (so of two NaN operands either may come out).  Neither LLVM's constrained
intrinsics (``fpexcept.ignore`` still folds ``y + -0.0``; none of them fixes the
operand order) nor an opaque constant (``(-x) * (-y)`` needs none) rules all of
this out.  So each operation is emitted as the very instruction, in inline
assembly with the operands in Python's order: LLVM can still schedule it, hoist
it out of a loop and merge two equal ones (the assembly has no side effect and
touches no memory), but never rewrite it.  The cost is LLVM's own constant folding
and strength reduction of float arithmetic, so :mod:`autotier.frontend.ops` emits
this only for values whose bits may be seen (:mod:`autotier.frontend.nanbits`), and
:func:`binary` makes the two exact rewrites itself.

Where two NaN operands meet, CPython 3.11 itself answers ``a + b`` and ``a * b``
two ways: its specialised instructions (BINARY_OP_ADD_FLOAT, ..., which a hot
function runs) return ``a``'s NaN, the generic ``float_add`` and ``float_mul``
(compiled with the operands swapped) ``b``'s.  Native code returns ``a``'s, as the
specialised interpreter and every ``-`` and ``/`` do.
"""

from __future__ import annotations

import math
from functools import cache

import llvmlite.binding as llvm
from llvmlite import ir

F64 = ir.DoubleType()

_MNEMONICS = {"add": "addsd", "sub": "subsd", "mul": "mulsd", "div": "divsd"}
_BINARY = ir.FunctionType(F64, [F64, F64])
_UNARY = ir.FunctionType(F64, [F64])
# No side effect, no memory: LLVM may move, hoist or merge the instruction.
_ATTRS = ("nounwind", "readnone")


@cache
def _has_avx() -> bool:
    """Whether the host CPU (which code is generated for) has AVX's VEX encodings."""
    return "+avx" in llvm.get_host_cpu_features().flatten().split(",")


def _binary_asm(op: str) -> ir.InlineAsm:
    mnemonic = _MNEMONICS[op]
    if _has_avx():  # AT&T operand order: v<op>sd b, a, out computes a <op> b
        return ir.InlineAsm(_BINARY, f"v{mnemonic} $2, $1, $0", "=x,x,x")
    return ir.InlineAsm(_BINARY, f"{mnemonic} $2, $0", "=x,0,x")  # out is a


def _constant(value: ir.Value) -> float | None:
    if isinstance(value, ir.Constant) and value.type == F64:
        return float(value.constant)
    return None


def _power_of_two_reciprocal(c: float | None) -> float | None:
    """1 / c when c is a power of two whose reciprocal is a normal double, else None."""
    if c is None or c == 0.0 or not math.isfinite(c):
        return None
    mantissa, exponent = math.frexp(abs(c))
    if mantissa != 0.5 or not -1021 <= 2 - exponent <= 1024:
        return None
    return 1.0 / c


def binary(b: ir.IRBuilder, op: str, x: ir.Value, y: ir.Value) -> ir.Value:
    """``x <op> y`` for ``op`` in add, sub, mul, div: one x86 instruction, x first.

    Two rewrites LLVM would make are made here, as they are exact for every
    operand, a nan's bits included: ``2.0 * x`` and ``x * 2.0`` are ``x + x``
    (a shorter dependency on this CPU: mandelbrot's ``2.0 * zr * zi``), and ``x / c``
    for a power of two c is ``x * (1 / c)`` (a multiplication is much faster).
    """
    if op == "mul" and _constant(x) == 2.0:
        x, y = y, x
    if op == "mul" and _constant(y) == 2.0:
        op, y = "add", x
    elif op == "div" and (reciprocal := _power_of_two_reciprocal(_constant(y))) is not None:
        op, y = "mul", ir.Constant(F64, reciprocal)
    return b.call(_binary_asm(op), [x, y], attrs=_ATTRS)


def fadd(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    return binary(b, "add", x, y)


def fsub(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    return binary(b, "sub", x, y)


def fmul(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    return binary(b, "mul", x, y)


def fdiv(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    return binary(b, "div", x, y)


def sqrt(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """C's ``sqrt(x)`` as CPython's compiler emits it: sqrtsd (a NaN comes out quieted)."""
    if _has_avx():
        asm = ir.InlineAsm(_UNARY, "vsqrtsd $1, $1, $0", "=x,x")
    else:
        asm = ir.InlineAsm(_UNARY, "sqrtsd $1, $0", "=x,x")
    return b.call(asm, [x], attrs=_ATTRS)
