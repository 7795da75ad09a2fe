"""numpy scalar ``//``, ``%``, ``**``, ``<<`` and ``>>``, lowered natively.

Each computes exactly :mod:`.npscalars`' value (``int_binary``, ``float_binary``) on
operands already converted to the rule's compute kind (:func:`.npvalues.to_compute`),
and deoptimises (``Status.NUMPY``: numpy then runs the operation under the user's
``numpy.errstate``) precisely where npscalars' trap predicate holds:

- integers: ``//`` and ``%`` by zero (DIVIDE), a signed ``min // -1`` (OVERFLOW; ``min %
  -1`` is a quiet 0, computed with a divisor of 1 since the machine's ``srem`` traps),
  a negative power of a signed kind (numpy's ValueError).  ``**`` wraps (square and
  multiply in the kind's width), shifts by a count outside ``0 <= n < bits`` give 0
  (-1 for a negative ``>>``): never a trap.
- floats: ``//`` and ``%`` are numpy's ``npy_divmod`` in the kind's precision (fmod, then
  the quotient floored), ``**`` is the C library's ``pow`` (``powf`` for float32), called
  through :func:`.mathlib.call_c` so LLVM never rewrites it.  npscalars' guard is
  conservative: a non-finite operand, a zero divisor, a non-finite quotient (``//`` and
  ``%``) or power deoptimises.  numpy's default error state ignores underflow, which
  native code does not read; so, as for ``*`` and ``/`` (:mod:`.npvalues`), where the
  underflow flag may be raised the call deoptimises too: ``a / b`` (numpy's zero
  quotient takes its sign) below the least normal magnitude with ``a`` nonzero, and a
  power below it with a nonzero base.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import Status
from autotier.frontend import mathlib
from autotier.frontend import npscalars as nps
from autotier.frontend.kinds import BinOp
from autotier.frontend.values import F64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

OPS = (BinOp.FLOORDIV, BinOp.MOD, BinOp.POW, BinOp.LSHIFT, BinOp.RSHIFT)
FLOAT_OPS = (BinOp.FLOORDIV, BinOp.MOD, BinOp.POW)


def lower(fl: FunctionLowering, op: BinOp, compute: nps.NpKind, x: ll.Value, y: ll.Value, *,
          trap: ll.Value) -> ll.Value:
    """``x op y`` in ``compute`` (both operands of its machine type); ``trap`` (i1) is the
    operands' conversion trap, deoptimised on with the operation's own."""
    if compute.is_float:
        if op is BinOp.POW:
            return _float_pow(fl, x, y, trap)
        return _float_divmod(fl, op, x, y, trap)
    assert compute.is_int, compute
    signed = compute.sort is nps.Sort.SIGNED
    if op in (BinOp.LSHIFT, BinOp.RSHIFT):
        fl.bail_if(trap, Status.NUMPY, name="numpy_quiet")
        return _shift(fl, op, x, y, signed=signed)
    if op is BinOp.POW:
        if signed:
            trap = fl.b.or_(trap, fl.b.icmp_signed("<", y, ll.Constant(y.type, 0)))
        fl.bail_if(trap, Status.NUMPY, name="numpy_quiet")
        return _int_pow(fl, x, y)
    return _int_divmod(fl, op, compute, x, y, trap=trap)


# ------------------------------------------------------------------ integers


def _shift(fl: FunctionLowering, op: BinOp, x: ll.Value, y: ll.Value, *, signed: bool
           ) -> ll.Value:
    b = fl.b
    t = x.type
    bits = t.width
    inside = b.icmp_unsigned("<", y, ll.Constant(t, bits))  # a negative count is outside
    count = b.and_(y, ll.Constant(t, bits - 1))  # (an LLVM shift past the width is poison)
    if op is BinOp.LSHIFT:
        return b.select(inside, b.shl(x, count), ll.Constant(t, 0))
    if signed:
        return b.select(inside, b.ashr(x, count), b.ashr(x, ll.Constant(t, bits - 1)))
    return b.select(inside, b.lshr(x, count), ll.Constant(t, 0))


def _int_pow(fl: FunctionLowering, x: ll.Value, y: ll.Value) -> ll.Value:
    """``x ** y`` modulo 2**bits (``y >= 0``, or unsigned): square and multiply."""
    b = fl.b
    t = x.type
    zero, one = ll.Constant(t, 0), ll.Constant(t, 1)
    start = b.block
    loop, body, done = fl.block("ipow_loop"), fl.block("ipow_step"), fl.block("ipow_done")
    b.branch(loop)
    b.position_at_end(loop)
    out, base, exp = b.phi(t), b.phi(t), b.phi(t)
    b.cbranch(b.icmp_unsigned("==", exp, zero), done, body)
    b.position_at_end(body)
    odd = b.icmp_unsigned("!=", b.and_(exp, one), zero)
    next_out = b.select(odd, b.mul(out, base), out)
    next_base = b.mul(base, base)
    next_exp = b.lshr(exp, one)
    b.branch(loop)
    for phi, first, again in ((out, one, next_out), (base, x, next_base), (exp, y, next_exp)):
        phi.add_incoming(first, start)
        phi.add_incoming(again, body)
    b.position_at_end(done)
    return out


def _int_divmod(fl: FunctionLowering, op: BinOp, compute: nps.NpKind, x: ll.Value,
                y: ll.Value, *, trap: ll.Value) -> ll.Value:
    """Floor division or modulo (the remainder takes the divisor's sign)."""
    b = fl.b
    t = x.type
    zero = ll.Constant(t, 0)
    trap = b.or_(trap, b.icmp_unsigned("==", y, zero))
    if compute.sort is not nps.Sort.SIGNED:
        fl.bail_if(trap, Status.NUMPY, name="numpy_quiet")
        return b.udiv(x, y) if op is BinOp.FLOORDIV else b.urem(x, y)
    minus_one = ll.Constant(t, -1)
    by_minus_one = b.icmp_signed("==", y, minus_one)
    if op is BinOp.FLOORDIV:
        at_min = b.icmp_signed("==", x, ll.Constant(t, compute.min))
        trap = b.or_(trap, b.and_(at_min, by_minus_one))
    fl.bail_if(trap, Status.NUMPY, name="numpy_quiet")
    if op is BinOp.MOD:  # x % -1 is 0: divide by 1 (srem of min by -1 traps)
        y = b.select(by_minus_one, ll.Constant(t, 1), y)
    rem = b.srem(x, y)
    # the truncated quotient is one too high where a nonzero remainder has the other sign
    adjust = b.and_(b.icmp_signed("!=", rem, zero),
                    b.icmp_signed("<", b.xor(rem, y), zero))
    if op is BinOp.MOD:
        return b.select(adjust, b.add(rem, y), rem)
    return b.sub(b.sdiv(x, y), b.zext(adjust, t))


# ------------------------------------------------------------------ floats


def _least_normal(t: ll.Type) -> ll.Constant:
    return ll.Constant(t, 2.2250738585072014e-308 if t == F64 else 1.1754943508222875e-38)


def _fabs(b: ll.IRBuilder, v: ll.Value) -> ll.Value:
    return b.call(b.module.declare_intrinsic("llvm.fabs", [v.type]), [v])


def _finite(b: ll.IRBuilder, v: ll.Value) -> ll.Value:
    return b.fcmp_ordered("<", _fabs(b, v), ll.Constant(v.type, float("inf")))


def _copysign(b: ll.IRBuilder, magnitude: ll.Value, sign: ll.Value) -> ll.Value:
    t = sign.type
    fn = b.module.declare_intrinsic("llvm.copysign", [t], ll.FunctionType(t, [t, t]))
    return b.call(fn, [magnitude, sign])


def _float_divmod(fl: FunctionLowering, op: BinOp, x: ll.Value, y: ll.Value,
                  trap: ll.Value) -> ll.Value:
    """npscalars.float_divmod: ``mod = fmod(x, y)``, ``div = (x - mod) / y``, a nonzero
    ``mod`` of the divisor's other sign moved by ``y`` (``div`` by one), a zero one given
    the divisor's sign; a nonzero ``div`` floored (up when more than 0.5 above its floor),
    a zero one given the sign of ``x / y``.  Deoptimises unless both operands are finite,
    ``y`` nonzero and the quotient finite, and where ``x / y`` underflows (module doc)."""
    b = fl.b
    t = x.type
    zero, one = ll.Constant(t, 0.0), ll.Constant(t, 1.0)
    fine = b.and_(b.and_(_finite(b, x), _finite(b, y)), b.fcmp_unordered("!=", y, zero))
    fl.bail_if(b.or_(trap, b.not_(fine)), Status.NUMPY, name="numpy_quiet")
    # fmod is exact: of the operands widened, it is the float32 fmodf too
    wide = [v if t == F64 else b.fpext(v, F64) for v in (x, y)]
    mod = mathlib.call_c(fl.ml.module, b, "fmod", *wide)
    mod = mod if t == F64 else b.fptrunc(mod, t)
    div = b.fdiv(b.fsub(x, mod), y)
    nonzero_mod = b.fcmp_unordered("!=", mod, zero)
    other_sign = b.xor(b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", mod, zero))
    moved = b.and_(nonzero_mod, other_sign)
    div = b.select(moved, b.fsub(div, one), div)
    mod = b.select(moved, b.fadd(mod, y), b.select(nonzero_mod, mod, _copysign(b, zero, y)))
    quotient = b.fdiv(x, y)
    floor = b.call(b.module.declare_intrinsic("llvm.floor", [t]), [div])
    up = b.fcmp_ordered(">", b.fsub(div, floor), ll.Constant(t, 0.5))
    floor = b.select(up, b.fadd(floor, one), floor)
    floordiv = b.select(b.fcmp_unordered("!=", div, zero), floor,
                        _copysign(b, zero, quotient))
    underflow = b.and_(b.fcmp_ordered("<", _fabs(b, quotient), _least_normal(t)),
                       b.fcmp_unordered("!=", x, zero))
    fl.bail_if(b.or_(b.not_(_finite(b, div)), underflow), Status.NUMPY, name="numpy_quiet")
    return floordiv if op is BinOp.FLOORDIV else mod


def _float_pow(fl: FunctionLowering, x: ll.Value, y: ll.Value, trap: ll.Value) -> ll.Value:
    """C's ``pow`` (``powf``); deoptimises unless the operands and the power are finite,
    and where a nonzero base gives a power below the least normal magnitude."""
    b = fl.b
    t = x.type
    finite_in = b.and_(_finite(b, x), _finite(b, y))
    fl.bail_if(b.or_(trap, b.not_(finite_in)), Status.NUMPY, name="numpy_quiet")
    r = mathlib.call_c(fl.ml.module, b, "pow" if t == F64 else "powf", x, y)
    tiny = b.and_(b.fcmp_ordered("<", _fabs(b, r), _least_normal(t)),
                  b.fcmp_unordered("!=", x, ll.Constant(t, 0.0)))
    fl.bail_if(b.or_(b.not_(_finite(b, r)), tiny), Status.NUMPY, name="numpy_quiet")
    return r
