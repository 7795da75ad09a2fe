"""Wide ints: native code that holds Python ints as i128 instead of i64.

A function whose native code bailed out on an int64 overflow (a sum of cubes, a
factorial, a product of two large ints) is recompiled by its bead with every int
held as an i128 (``frontend.lower(..., int_bits=128)``).  The arithmetic stays
CPython's: a result is native only when it is exact, and anything else bails out
exactly as in 64-bit code, so the interpreter answers.

- ``+ - * unary- abs`` have i128 helpers here (``int_add_wide`` ...), checked for
  i128 overflow.  ``a * b`` is native when both operands lie in int64 (the exact
  product then fits in 127 bits); a wider operand bails (LLVM's checked 128-bit
  multiply is a call into compiler-rt, which this process does not have).
- ``& | ^ ~``, int comparisons and truth are single i128 instructions.
- Every other helper (``// % ** << >> /``, int <-> float, int/float comparisons) is the
  64-bit one: the lowering *narrows* its i128 operands (bailing with OVERFLOW when one
  does not fit in int64) and sign-extends its int result back (``FunctionLowering.helper``).
- Ranges keep int64 bounds (an i128 bound is narrowed); their items are widened.
- Arguments arrive as int64 (the body ABI is unchanged); an int result beyond int64
  leaves the body as ``Kind.WIDE_INT``, its two 64-bit halves in ``ival`` and ``high``,
  and the entry boxes it with ``_PyLong_FromByteArray``.

Why i128 and not boxed big ints: sums and products of int64 values reach 2**64-2**100
far more often than they reach 2**127, i128 arithmetic is a few instructions, and
bailing out past it is still exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from autotier.abi import Status
from autotier.frontend.helperdefs import I64, helper
from autotier.frontend.values import I128

if TYPE_CHECKING:
    from autotier.frontend.numerics import Emitter

INT128_MIN = -(2**127)

#: Helpers with an i128 version, by their 64-bit name.
WIDE_VERSIONS = {"int_add": "int_add_wide", "int_sub": "int_sub_wide",
                 "int_mul": "int_mul_wide", "int_neg": "int_neg_wide",
                 "int_abs": "int_abs_wide"}


def i128(value: int) -> ir.Constant:
    return ir.Constant(I128, value)


def fits_int64(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """i1: the i128 ``x`` lies in int64's range."""
    return b.icmp_signed("==", b.sext(b.trunc(x, I64), I128), x)


def _checked(e: Emitter, op: str, plain: str) -> None:
    a, b = e.args
    pair = getattr(e.b, op)(a, b)
    e.bail_if(e.b.extract_value(pair, 1), Status.OVERFLOW)
    e.ok(getattr(e.b, plain)(a, b, flags=["nsw"]))


@helper("int_add_wide", (I128, I128), I128)
def _int_add_wide(e: Emitter) -> None:
    """a + b; OVERFLOW when the exact sum leaves int128."""
    _checked(e, "sadd_with_overflow", "add")


@helper("int_sub_wide", (I128, I128), I128)
def _int_sub_wide(e: Emitter) -> None:
    """a - b; OVERFLOW when the exact difference leaves int128."""
    _checked(e, "ssub_with_overflow", "sub")


@helper("int_mul_wide", (I128, I128), I128)
def _int_mul_wide(e: Emitter) -> None:
    """a * b; OVERFLOW when the exact product leaves int128.

    Both operands in int64 (the common case): a checked 64-bit multiply, or past int64
    the 128-bit product, exact as |a * b| <= 2**126.
    Otherwise the magnitudes are multiplied in 64-bit halves: with |a| = ah:al and
    |b| = bh:bl, a product below 2**127 needs ah or bh to be 0, and then it is
    al*bl + (ah*bl + al*bh) * 2**64, each piece checked.
    """
    a, b = e.args
    both = e.b.and_(fits_int64(e.b, a), fits_int64(e.b, b))
    small, wide = e.fn.append_basic_block("small"), e.fn.append_basic_block("wide")
    e.b.cbranch(both, small, wide)
    e.b.position_at_end(small)
    # Most products of int64 values fit in int64 too: one checked 64-bit multiply;
    # otherwise the 128-bit product of the two, which cannot overflow.
    na, nb = e.b.trunc(a, I64), e.b.trunc(b, I64)
    pair = e.b.smul_with_overflow(na, nb)
    narrow_ok = e.fn.append_basic_block("narrow_product")
    wide_product = e.fn.append_basic_block("wide_product")
    e.b.cbranch(e.b.extract_value(pair, 1), wide_product, narrow_ok).set_weights([1, 100])
    e.b.position_at_end(narrow_ok)
    e.ok(e.b.sext(e.b.mul(na, nb, flags=["nsw"]), I128))
    e.b.position_at_end(wide_product)
    e.ok(e.b.mul(e.b.sext(na, I128), e.b.sext(nb, I128), flags=["nsw"]))
    e.b.position_at_end(wide)
    bld = e.b
    e.bail_if(bld.or_(bld.icmp_signed("==", a, i128(INT128_MIN)),
                      bld.icmp_signed("==", b, i128(INT128_MIN))), Status.OVERFLOW)
    negative = bld.xor(bld.icmp_signed("<", a, i128(0)), bld.icmp_signed("<", b, i128(0)))
    ma = bld.select(bld.icmp_signed("<", a, i128(0)), bld.sub(i128(0), a), a)
    mb = bld.select(bld.icmp_signed("<", b, i128(0)), bld.sub(i128(0), b), b)
    sixty_four = i128(64)
    ah, bh = bld.lshr(ma, sixty_four), bld.lshr(mb, sixty_four)
    al, bl = (bld.and_(m, i128(2**64 - 1)) for m in (ma, mb))
    e.bail_if(bld.and_(bld.icmp_unsigned("!=", ah, i128(0)),
                       bld.icmp_unsigned("!=", bh, i128(0))), Status.OVERFLOW)
    # ah*bl + al*bh: one of the two is 0; each is a 64x64-bit product, below 2**128
    cross = bld.add(bld.mul(ah, bl), bld.mul(al, bh))
    e.bail_if(bld.icmp_unsigned(">=", cross, i128(2**63)), Status.OVERFLOW)
    total = bld.uadd_with_overflow(bld.mul(al, bl), bld.shl(cross, sixty_four))
    magnitude = bld.extract_value(total, 0)
    e.bail_if(bld.or_(bld.extract_value(total, 1),
                      bld.icmp_unsigned(">=", magnitude, i128(2**127))), Status.OVERFLOW)
    e.ok(bld.select(negative, bld.sub(i128(0), magnitude), magnitude))


@helper("int_neg_wide", (I128,), I128)
def _int_neg_wide(e: Emitter) -> None:
    """-a; OVERFLOW for -(-2**127)."""
    (a,) = e.args
    e.bail_if(e.b.icmp_signed("==", a, i128(INT128_MIN)), Status.OVERFLOW)
    e.ok(e.b.sub(i128(0), a, flags=["nsw"]))


@helper("int_abs_wide", (I128,), I128)
def _int_abs_wide(e: Emitter) -> None:
    """abs(a); OVERFLOW for abs(-2**127)."""
    (a,) = e.args
    e.bail_if(e.b.icmp_signed("==", a, i128(INT128_MIN)), Status.OVERFLOW)
    e.ok(e.b.select(e.b.icmp_signed("<", a, i128(0)), e.b.sub(i128(0), a), a))
