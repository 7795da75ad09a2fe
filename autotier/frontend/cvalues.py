"""Complex numbers in native code: CPython 3.11's complex arithmetic, bit for bit.

A complex is held as one ``<2 x double>`` (element 0 the real part, 1 the imaginary;
tagged, the real part in ``fval`` and the imaginary part's bits in ``ival``:
:mod:`.values`).  The operations follow Objects/complexobject.c (typed by
:mod:`.complexkinds`):

- an int, bool or float operand is ``complex(x, 0.0)`` first (``to_complex``: an int
  by ``PyLong_AsDouble``, exactly the frontend's ``int_to_float``), so ``z * 2.0``
  multiplies by ``(2.0, 0.0)`` with the plain formula (no fma), and ``z + 1`` adds
  ``0.0`` to the imaginary part (``-0.0`` becomes ``0.0``);
- ``+ - *`` are ``_Py_c_sum``, ``_Py_c_diff``, ``_Py_c_prod``, each real operation the
  x86 instruction CPython runs where a nan's bits may show (:mod:`.floatarith`,
  :mod:`.nanbits`); ``/`` is ``_Py_c_quot``'s scaled algorithm
  (:mod:`.cpower`), ``**`` its ``c_powi`` for an integral exponent of at most 100 and
  CPython's own ``_Py_c_pow`` otherwise, ``abs`` is ``_Py_c_abs``;
- what raises in CPython (a zero divisor: ZeroDivisionError "complex division by
  zero"; ``0j ** -1``; an infinite power: OverflowError; ``abs`` past the largest
  double) deoptimises *before* the instruction, so the interpreter raises it.

A complex argument is the borrowed object (the entry checks its exact type); the root
body reads its two doubles (:func:`load`).  A complex result is boxed just before the
root's return (:func:`box`: ``PyComplex_FromDoubles``).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch import unboxing
from autotier.dispatch.irutil import PTR, declare
from autotier.frontend import floatarith
from autotier.frontend.ir import BinOp, CmpOp, VKind
from autotier.frontend.values import CPLX, F64, I1, I64, complex_value, f64, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

Parts = tuple[ll.Value, ll.Value]
#: CPython's ``Py_NAN`` (what ``_Py_c_quot`` and ``_Py_c_abs`` answer for a nan operand)
PY_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000))[0]


class Arith:
    """Real ``+ - * /`` of one complex instruction: the x86 instruction itself (its
    nan bits, :mod:`.floatarith`) where the result's bits may be seen, else LLVM's."""

    def __init__(self, fl: FunctionLowering, exact: bool) -> None:
        self.b = fl.b
        self.exact = exact

    def op(self, name: str, x: ll.Value, y: ll.Value) -> ll.Value:
        if self.exact:
            return floatarith.binary(self.b, name, x, y)
        return {"add": self.b.fadd, "sub": self.b.fsub, "mul": self.b.fmul,
                "div": self.b.fdiv}[name](x, y)

    def add(self, x: ll.Value, y: ll.Value) -> ll.Value:
        return self.op("add", x, y)

    def sub(self, x: ll.Value, y: ll.Value) -> ll.Value:
        return self.op("sub", x, y)

    def mul(self, x: ll.Value, y: ll.Value) -> ll.Value:
        return self.op("mul", x, y)

    def div(self, x: ll.Value, y: ll.Value) -> ll.Value:
        return self.op("div", x, y)

    def prod(self, a: Parts, c: Parts) -> Parts:
        """``_Py_c_prod``: the plain formula, in its order."""
        re = self.sub(self.mul(a[0], c[0]), self.mul(a[1], c[1]))
        im = self.add(self.mul(a[0], c[1]), self.mul(a[1], c[0]))
        return re, im


def arith(fl: FunctionLowering) -> Arith:
    """The arithmetic of the instruction being lowered (its nan bits seen or not)."""
    dest = fl.cur_dest
    return Arith(fl, dest is None or dest in fl.nan_bits_seen)


# ---------------------------------------------------------------- values


def parts(b: ll.IRBuilder, value: ll.Value) -> Parts:
    if isinstance(value, ll.Constant) and isinstance(value.constant, list):
        re, im = value.constant
        return re, im
    return b.extract_element(value, i64(0)), b.extract_element(value, i64(1))


def make(b: ll.IRBuilder, p: Parts) -> ll.Value:
    return complex_value(b, p[0], p[1])


def constant(value: complex) -> ll.Value:
    return ll.Constant(CPLX, [f64(value.real), f64(value.imag)])


def to_complex(fl: FunctionLowering, value: ll.Value, kind: VKind) -> Parts:
    """An int, bool, float or complex operand as CPython's ``to_complex`` makes it."""
    if kind is VKind.COMPLEX:
        return parts(fl.b, value)
    return real(fl, value, kind), f64(0.0)


def real(fl: FunctionLowering, value: ll.Value, kind: VKind) -> ll.Value:
    """An int, bool or float as a double (``PyLong_AsDouble``, ``PyFloat_AsDouble``)."""
    from autotier.frontend.ops import as_float

    return as_float(fl, value, kind)


def load(b: ll.IRBuilder, obj: ll.Value) -> ll.Value:
    """The value of an exact complex object (its ``cval``)."""
    cval = b.bitcast(b.gep(obj, [i64(compat.COMPLEX_CVAL)], inbounds=True), F64.as_pointer())
    re = b.load(cval, align=8)
    im = b.load(b.gep(cval, [i64(1)], inbounds=True), align=8)
    return complex_value(b, re, im)


def box_or_null(fl: FunctionLowering, value: ll.Value) -> ll.Value:
    """A new complex object of ``value``, or NULL with a MemoryError set."""
    re, im = parts(fl.b, value)
    make_obj = declare(fl.ml.module, "PyComplex_FromDoubles", PTR, [F64, F64])
    return fl.b.call(make_obj, [re, im])


def box(fl: FunctionLowering, value: ll.Value) -> ll.Value:
    """A new complex object of ``value``; a MemoryError leaves with ``Status.SIGNAL``."""
    obj = box_or_null(fl, value)
    fl.bail_if(fl.b.icmp_unsigned("==", obj, ll.Constant(PTR, None)), Status.SIGNAL,
               name="boxed")
    return obj


def unbox_parts(b: ll.IRBuilder, obj: ll.Value) -> tuple[ll.Value, Parts]:
    """(i1: ``obj`` is an exact complex, its parts: meaningful where it is)."""
    is_complex = unboxing.type_is(b, obj, complex)
    re, im = parts(b, load(b, obj))
    return is_complex, (re, im)


# ---------------------------------------------------------------- operations


def binary(fl: FunctionLowering, op: BinOp, combo: tuple[VKind, VKind], x: ll.Value,
           y: ll.Value) -> ll.Value:
    """``x op y`` for ``+ - * / **`` where one operand at least is a complex."""
    from autotier.frontend import cpower

    a, c = to_complex(fl, x, combo[0]), to_complex(fl, y, combo[1])
    ar = arith(fl)
    if op is BinOp.ADD:
        return make(fl.b, (ar.add(a[0], c[0]), ar.add(a[1], c[1])))
    if op is BinOp.SUB:
        return make(fl.b, (ar.sub(a[0], c[0]), ar.sub(a[1], c[1])))
    if op is BinOp.MUL:
        return make(fl.b, ar.prod(a, c))
    if op is BinOp.TRUEDIV:
        zero = fl.b.and_(fl.b.fcmp_ordered("==", c[0], f64(0.0)),
                         fl.b.fcmp_ordered("==", c[1], f64(0.0)))
        fl.bail_if(zero, Status.ZERO_DIVISION, name="divisor_ok")  # CPython raises
        return make(fl.b, cpower.quot(fl, ar, a, c))
    assert op is BinOp.POW
    return make(fl.b, cpower.power(fl, ar, a, c, exponent=(y, combo[1])))


def negate(fl: FunctionLowering, value: ll.Value) -> ll.Value:
    """``-z``: both signs flipped (a nan's too, as CPython's ``-x``)."""
    re, im = parts(fl.b, value)
    return make(fl.b, (fl.b.fneg(re), fl.b.fneg(im)))


def truth(fl: FunctionLowering, value: ll.Value) -> ll.Value:
    """``complex_bool``: a part that is not zero (a nan is not)."""
    re, im = parts(fl.b, value)
    return fl.b.or_(fl.b.fcmp_unordered("!=", re, f64(0.0)),
                    fl.b.fcmp_unordered("!=", im, f64(0.0)))


def compare(fl: FunctionLowering, op: CmpOp, combo: tuple[VKind, VKind], x: ll.Value,
            y: ll.Value) -> ll.Value:
    """``==`` / ``!=`` (``complex_richcompare``): with a complex both parts equal; with a
    float the real part equal and the imaginary zero; with an int (or bool) the real
    part compared with it exactly, as floats compare with ints, when the imaginary
    part is zero."""
    from autotier.frontend.ops import as_bool

    b = fl.b
    if combo[0] is not VKind.COMPLEX:
        combo, x, y = (combo[1], combo[0]), y, x
    re, im = parts(b, x)
    other = combo[1]
    if other is VKind.COMPLEX:
        ore, oim = parts(b, y)
        equal = b.and_(b.fcmp_ordered("==", re, ore), b.fcmp_ordered("==", im, oim))
    elif other is VKind.INT:
        same = as_bool(b, fl.helper("cmp_float_int_eq", [re, y]))
        equal = b.and_(b.fcmp_ordered("==", im, f64(0.0)), same)
    else:  # a float, or a bool (0.0 or 1.0, exactly)
        equal = b.and_(b.fcmp_ordered("==", im, f64(0.0)),
                       b.fcmp_ordered("==", re, real(fl, y, other)))
    return equal if op is CmpOp.EQ else b.xor(equal, ll.Constant(I1, 1))


def number_attr(fl: FunctionLowering, name: str, value: ll.Value, kind: VKind
                ) -> tuple[ll.Value, VKind]:
    """``.real`` / ``.imag`` of a number."""
    if kind is VKind.COMPLEX:
        return parts(fl.b, value)[0 if name == "real" else 1], VKind.FLOAT
    if kind is VKind.FLOAT:
        return (value if name == "real" else f64(0.0)), VKind.FLOAT
    if name == "imag":
        return ll.Constant(fl.ints, 0), VKind.INT
    return (fl.b.zext(value, fl.ints) if kind is VKind.BOOL else value), VKind.INT


def conjugate(fl: FunctionLowering, value: ll.Value, kind: VKind) -> tuple[ll.Value, VKind]:
    """``.conjugate()``: a complex's imaginary sign flipped; a real number itself (an
    int's, a bool's an int)."""
    if kind is VKind.COMPLEX:
        re, im = parts(fl.b, value)
        return make(fl.b, (re, fl.b.fneg(im))), VKind.COMPLEX
    if kind is VKind.BOOL:
        return fl.b.zext(value, fl.ints), VKind.INT
    return value, kind


def make_complex(fl: FunctionLowering, args: list[ll.Value], kinds: tuple[VKind, ...]
                 ) -> ll.Value:
    """``complex(r, i)`` (``complex_new``): real arguments as ``float()`` makes them; a
    complex ``i`` adds ``-i.imag`` to the real part, a complex ``r`` its imaginary part
    to the imaginary one."""
    b = fl.b
    if not args:
        return constant(0j)
    if len(args) == 1:
        if kinds[0] is VKind.COMPLEX:
            return args[0]
        return make(b, (real(fl, args[0], kinds[0]), f64(0.0)))
    ar = arith(fl)
    r_complex, i_complex = kinds[0] is VKind.COMPLEX, kinds[1] is VKind.COMPLEX
    cr = parts(b, args[0]) if r_complex else (real(fl, args[0], kinds[0]), f64(0.0))
    ci = parts(b, args[1]) if i_complex else (real(fl, args[1], kinds[1]), f64(0.0))
    re, im = cr[0], ci[0]
    if i_complex:
        re = ar.sub(re, ci[1])
    if r_complex:
        im = ar.add(im, cr[1])
    return make(b, (re, im))


def is_inf(b: ll.IRBuilder, x: ll.Value) -> ll.Value:
    fabs = b.module.declare_intrinsic("llvm.fabs", [F64])
    return b.fcmp_ordered("==", b.call(fabs, [x]), f64(float("inf")))


def i64_of(b: ll.IRBuilder, x: ll.Value) -> ll.Value:
    return b.fptosi(x, I64)
