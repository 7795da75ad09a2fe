"""Complex division, power and ``abs`` as CPython 3.11 computes them (issue 11).

- ``/`` is ``_Py_c_quot``: both parts of the numerator and the denominator divided by
  the divisor's part of larger magnitude (Smith's algorithm), in its order of
  operations; a divisor with a nan part compared unordered answers ``Py_NAN`` twice.
  (The caller deoptimised for a zero divisor: CPython raises.)
- ``**`` is ``complex_pow``: an exponent whose imaginary part is zero and whose real part
  is an integer of magnitude at most 100 is ``c_powi`` (binary powering by
  ``_Py_c_prod`` from ``(1, 0)``, then ``_Py_c_quot((1, 0), .)`` for a negative one),
  unrolled when the exponent is a constant, a loop otherwise; any other exponent calls
  CPython's own ``_Py_c_pow`` (exported), so its libm calls are CPython's.  Where
  CPython raises (errno EDOM: ZeroDivisionError "0.0 to a negative or complex power";
  an infinite part: OverflowError "complex exponentiation") the code deoptimises before
  the instruction, and the interpreter raises.
- ``abs`` is ``_Py_c_abs``: an infinite part's magnitude (even beside a nan), ``Py_NAN``
  for a nan part, else libm's ``hypot``; an infinite ``hypot`` of finite parts
  deoptimises (OverflowError "absolute value too large").
"""

from __future__ import annotations

import errno
import math
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import Status
from autotier.frontend import ir
from autotier.frontend.cvalues import PY_NAN, Arith, Parts, is_inf, parts
from autotier.frontend.ir import VKind
from autotier.frontend.mathlib import c_function
from autotier.frontend.values import F64, I32, I64, f64, i64

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

ONE: Parts = (f64(1.0), f64(0.0))
#: the largest integral exponent ``complex_pow`` gives ``c_powi``
POWI_LIMIT = 100


def quot(fl: FunctionLowering, ar: Arith, a: Parts, c: Parts) -> Parts:
    """``_Py_c_quot(a, c)`` for a divisor that is not zero."""
    b = fl.b
    fabs = fl.ml.module.declare_intrinsic("llvm.fabs", [F64])
    abs_re, abs_im = b.call(fabs, [c[0]]), b.call(fabs, [c[1]])
    by_real = b.fcmp_ordered(">=", abs_re, abs_im)
    by_imag = b.fcmp_ordered(">=", abs_im, abs_re)
    # divide tops and bottom by the real part
    ratio = ar.div(c[1], c[0])
    denom = ar.add(c[0], ar.mul(c[1], ratio))
    re1 = ar.div(ar.add(a[0], ar.mul(a[1], ratio)), denom)
    im1 = ar.div(ar.sub(a[1], ar.mul(a[0], ratio)), denom)
    # by the imaginary part
    ratio2 = ar.div(c[0], c[1])
    denom2 = ar.add(ar.mul(c[0], ratio2), c[1])
    re2 = ar.div(ar.add(ar.mul(a[0], ratio2), a[1]), denom2)
    im2 = ar.div(ar.sub(ar.mul(a[1], ratio2), a[0]), denom2)
    nan = f64(PY_NAN)
    re = b.select(by_real, re1, b.select(by_imag, re2, nan))
    im = b.select(by_real, im1, b.select(by_imag, im2, nan))
    return re, im


def _powu_constant(ar: Arith, x: Parts, n: int) -> Parts:
    """``c_powu(x, n)`` for a constant ``n >= 0``, unrolled."""
    r, p, mask = ONE, x, 1
    while mask <= n:
        if n & mask:
            r = ar.prod(r, p)
        mask <<= 1
        if mask <= n:  # (the last square is never used)
            p = ar.prod(p, p)
    return r


def _powu_loop(fl: FunctionLowering, ar: Arith, x: Parts, n: ll.Value) -> Parts:
    """``c_powu(x, n)`` for a run-time ``0 <= n <= 100``: the same products, in a loop."""
    b = fl.b
    before = b.block
    head, body, done = fl.block("powu_head"), fl.block("powu_body"), fl.block("powu_done")
    b.branch(head)
    b.position_at_end(head)
    phis = [b.phi(F64, name=name) for name in ("r_re", "r_im", "p_re", "p_im")]
    mask = b.phi(I64, name="mask")
    for phi, value in zip(phis, (*ONE, *x), strict=True):
        phi.add_incoming(value, before)
    mask.add_incoming(i64(1), before)
    b.cbranch(b.icmp_signed("<=", mask, n), body, done)
    b.position_at_end(body)
    r, p = (phis[0], phis[1]), (phis[2], phis[3])
    rp = ar.prod(r, p)
    take = b.icmp_unsigned("!=", b.and_(n, mask), i64(0))
    new_r = (b.select(take, rp[0], r[0]), b.select(take, rp[1], r[1]))
    new_p = ar.prod(p, p)
    for phi, value in zip(phis, (*new_r, *new_p), strict=True):
        phi.add_incoming(value, body)
    mask.add_incoming(b.shl(mask, i64(1)), body)
    b.branch(head)
    b.position_at_end(done)
    return phis[0], phis[1]


def _divisor_zero(b: ll.IRBuilder, c: Parts) -> ll.Value:
    return b.and_(b.fcmp_ordered("==", c[0], f64(0.0)), b.fcmp_ordered("==", c[1], f64(0.0)))


def _powi_constant(fl: FunctionLowering, ar: Arith, x: Parts, n: int) -> Parts:
    if n > 0:
        return _powu_constant(ar, x, n)
    d = _powu_constant(ar, x, -n)
    # errno EDOM: ZeroDivisionError "0.0 to a negative or complex power"
    fl.bail_if(_divisor_zero(fl.b, d), Status.ZERO_DIVISION, name="power_ok")
    return quot(fl, ar, ONE, d)


def _powi_runtime(fl: FunctionLowering, ar: Arith, x: Parts, n: ll.Value) -> Parts:
    b = fl.b
    positive = b.icmp_signed(">", n, i64(0))
    d = _powu_loop(fl, ar, x, b.select(positive, n, b.neg(n)))
    fl.bail_if(b.and_(b.not_(positive), _divisor_zero(b, d)), Status.ZERO_DIVISION,
               name="power_ok")
    q = quot(fl, ar, ONE, d)
    return b.select(positive, d[0], q[0]), b.select(positive, d[1], q[1])


def _c_pow(fl: FunctionLowering, a: Parts, c: Parts) -> Parts:
    """CPython's own ``_Py_c_pow(a, c)`` with errno cleared before; EDOM deoptimises."""
    b = fl.b
    module = fl.ml.module
    where = b.call(c_function(module, "__errno_location", ll.FunctionType(I32.as_pointer(), [])),
                   [])
    b.store(ll.Constant(I32, 0), where)
    pair = ll.LiteralStructType([F64, F64])  # Py_complex, by value: xmm0:xmm1 (System V)
    fn = c_function(module, "_Py_c_pow", ll.FunctionType(pair, [F64, F64, F64, F64]))
    result = b.call(fn, [a[0], a[1], c[0], c[1]])
    failed = b.icmp_signed("==", b.load(where), ll.Constant(I32, errno.EDOM))
    fl.bail_if(failed, Status.ZERO_DIVISION, name="power_ok")
    return b.extract_value(result, 0), b.extract_value(result, 1)


def _integral(value: float) -> int | None:
    """The integer ``complex_pow`` gives ``c_powi`` for a real exponent, else None."""
    if math.isfinite(value) and value == math.floor(value) and abs(value) <= POWI_LIMIT:
        return int(value)
    return None


def _constant_exponent(y: ll.Value, kind: VKind) -> complex | None:
    if not isinstance(y, ll.Constant):
        return None
    if kind in (VKind.INT, VKind.BOOL):
        n = int(y.constant)
        return complex(n, 0.0) if abs(n) <= 2**53 else None
    if kind is VKind.FLOAT:
        return complex(float(y.constant), 0.0)
    re, im = y.constant
    return complex(float(re.constant), float(im.constant))


def power(fl: FunctionLowering, ar: Arith, a: Parts, c: Parts, *,
          exponent: tuple[ll.Value, VKind]) -> Parts:
    """``a ** c`` (``complex_pow``; ``exponent``: ``c`` as written, and its kind)."""
    y, kind = exponent
    b = fl.b
    known = _constant_exponent(y, kind)
    if known is not None:
        n = _integral(known.real) if known.imag == 0.0 else None
        out = _powi_constant(fl, ar, a, n) if n is not None else _c_pow(fl, a, c)
    else:
        floor = fl.ml.module.declare_intrinsic("llvm.floor", [F64])
        fabs = fl.ml.module.declare_intrinsic("llvm.fabs", [F64])
        small = b.and_(b.fcmp_ordered("==", c[1], f64(0.0)),
                       b.and_(b.fcmp_ordered("==", c[0], b.call(floor, [c[0]])),
                              b.fcmp_ordered("<=", b.call(fabs, [c[0]]), f64(POWI_LIMIT))))
        powi, general, done = fl.block("powi"), fl.block("c_pow"), fl.block("powered")
        b.cbranch(small, powi, general)
        b.position_at_end(powi)
        p1 = _powi_runtime(fl, ar, a, b.fptosi(c[0], I64))
        from_powi = b.block
        b.branch(done)
        b.position_at_end(general)
        p2 = _c_pow(fl, a, c)
        from_general = b.block
        b.branch(done)
        b.position_at_end(done)
        merged = []
        for v1, v2 in zip(p1, p2, strict=True):
            phi = b.phi(F64)
            phi.add_incoming(v1, from_powi)
            phi.add_incoming(v2, from_general)
            merged.append(phi)
        out = (merged[0], merged[1])
    # _Py_ADJUST_ERANGE2: an infinite part is ERANGE: OverflowError "complex exponentiation"
    fl.bail_if(b.or_(is_inf(b, out[0]), is_inf(b, out[1])), Status.FLOAT_OVERFLOW,
               name="power_finite")
    return out


#: how far from the compared bound ``|z|**2`` (computed in doubles, within 4 ulps of
#: the exact value) must lie for the comparison to be decided without ``hypot``: far
#: beyond any libm's hypot error (glibc's: below one ulp)
_MARGIN = 2.0**-28


def compared_abs(func: ir.Function) -> dict[ir.Var, float]:
    """The ``abs()`` results of ``func`` only ever compared with one positive constant
    (``abs(z) > 2.0``), by that constant.

    Such a value need not be ``hypot``'s: any value that compares with the constant as
    the exact one does is indistinguishable (its bits are seen nowhere, and a frame
    state holds it only on the value stack, where the interpreter, resuming, consumes
    it by that same comparison; never in a local a debugger could read)."""
    consts = {i.dest: i.value for blk in func.blocks for i in blk.instrs
              if isinstance(i, ir.Const)}
    uses: dict[ir.Var, list[ir.Instr | ir.Terminator]] = {}
    in_locals: set[ir.Var] = set()
    for blk in func.blocks:
        nodes: list[ir.Instr | ir.Terminator] = [*blk.instrs, blk.term]
        for node in nodes:
            for v in node.uses():
                uses.setdefault(v, []).append(node)
            if node.state is not None:
                in_locals.update(node.state.locals)
    out: dict[ir.Var, float] = {}
    for blk in func.blocks:
        for instr in blk.instrs:
            if not isinstance(instr, ir.Abs) or instr.dest in in_locals:
                continue
            users = uses.get(instr.dest, [])
            if len(users) != 1 or not isinstance(users[0], ir.Compare):
                continue
            cmp = users[0]
            other = cmp.right if cmp.left == instr.dest else cmp.left
            bound = consts.get(other)
            if other == instr.dest or type(bound) not in (int, float):
                continue
            assert isinstance(bound, int | float)
            if 1e-100 <= bound <= 1e100 and (type(bound) is float or bound <= 2**53):
                out[instr.dest] = float(bound)
    return out


def absolute_against(fl: FunctionLowering, value: ll.Value, bound: float) -> ll.Value:
    """A value that compares with ``bound`` as ``abs(z)`` does (:func:`compared_abs`):
    ``|z|**2`` in doubles decides when it lies far above or below ``bound**2`` (an
    infinity or zero stands for the result), else ``abs(z)`` itself."""
    b = fl.b
    re, im = parts(b, value)
    square = b.fadd(b.fmul(re, re), b.fmul(im, im))
    above = b.and_(b.fcmp_ordered(">", square, f64(bound * bound * (1 + _MARGIN))),
                   b.fcmp_ordered("<", square, f64(float("inf"))))
    below = b.fcmp_ordered("<", square, f64(bound * bound * (1 - _MARGIN)))
    decided = b.select(above, f64(float("inf")), f64(0.0))
    before = b.block
    exact, done = fl.block("abs_exact"), fl.block("abs_decided")
    b.cbranch(b.or_(above, below), done, exact).set_weights([1000, 1])
    b.position_at_end(exact)
    h = absolute(fl, value)
    came = b.block
    b.branch(done)
    b.position_at_end(done)
    result = b.phi(F64)
    result.add_incoming(decided, before)
    result.add_incoming(h, came)
    return result


def absolute(fl: FunctionLowering, value: ll.Value) -> ll.Value:
    """``abs(z)``: ``_Py_c_abs``."""
    b = fl.b
    module = fl.ml.module
    re, im = parts(b, value)
    fabs = module.declare_intrinsic("llvm.fabs", [F64])
    abs_re, abs_im = b.call(fabs, [re]), b.call(fabs, [im])
    inf = f64(float("inf"))
    re_inf = b.fcmp_ordered("==", abs_re, inf)
    im_inf = b.fcmp_ordered("==", abs_im, inf)
    any_nan = b.fcmp_unordered("uno", re, im)
    hypot = c_function(module, "hypot", ll.FunctionType(F64, [F64, F64]))
    h = b.call(hypot, [re, im])
    ordinary = b.not_(b.or_(b.or_(re_inf, im_inf), any_nan))
    fl.bail_if(b.and_(ordinary, b.fcmp_ordered("==", h, inf)), Status.FLOAT_OVERFLOW,
               name="abs_finite")  # OverflowError "absolute value too large"
    return b.select(re_inf, abs_re, b.select(im_inf, abs_im,
                                             b.select(any_nan, f64(PY_NAN), h)))

