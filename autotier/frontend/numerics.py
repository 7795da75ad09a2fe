"""CPython's numeric semantics as small LLVM IR helpers, exact or bailing out.

Every helper is ``i32 @name(<inputs>..., <T>* %out)``: it returns a
:class:`autotier.abi.Status` and, on ``OK`` only, stores the result in ``*out``.
Python ints are i64 (in int64 range), floats double, bools i1.  A helper returns
OK only when ``*out`` is exactly what CPython computes (same value, same sign of
zero); wherever CPython raises, or where matching it bit for bit is not certain,
it returns a non-OK status and the interpreter re-runs the call.

:class:`Numerics` defines helpers in a module on first use, with internal linkage
(several lowered modules, each with its own copy, may be linked into one) and
``alwaysinline``.  No fast-math flags are used anywhere: LLVM's default floating
point semantics are IEEE 754's, which is what CPython's C code gets on x86-64,
except for the bits of a NaN result, which LLVM leaves open: float arithmetic whose
result can be a NaN is emitted through :mod:`autotier.frontend.floatarith`
(``Emitter.fadd`` ...), which makes them x86's.

The int helpers are here; the float operators, float -> int conversions and
int/float comparisons live in :mod:`autotier.frontend.floatops`, the ``math``
module helpers (``math_*``) in :mod:`autotier.frontend.mathlib`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from llvmlite import ir

from autotier.abi import Status
from autotier.frontend import floatarith, floatops, mathlib, wideints  # noqa: F401 - they register helpers
from autotier.frontend.helperdefs import F64, HELPERS, I1, I32, I64, f64, helper, i64

INT64_MIN = -(2**63)
TWO_63 = 9223372036854775808.0  # 2.0**63, the first double above int64's range



class Emitter:
    """Builds the body of one helper ``i32 @name(inputs..., T* out)``.

    ``ok(value)`` stores the result and returns OK; ``bail_if(cond, status)``
    returns ``status`` when ``cond`` holds and continues in a fresh block.
    """

    def __init__(self, module: ir.Module, fn: ir.Function) -> None:
        self.module = module
        self.fn = fn
        self.args: list[ir.Value] = list(fn.args[:-1])
        self.out: ir.Value = fn.args[-1]
        self.b = ir.IRBuilder(fn.append_basic_block("entry"))

    # ------------------------------------------------------------ control flow
    def ok(self, value: ir.Value) -> None:
        self.b.store(value, self.out)
        self.b.ret(ir.Constant(I32, Status.OK))

    def fail(self, status: Status | ir.Value) -> None:
        self.b.ret(ir.Constant(I32, int(status)) if isinstance(status, Status) else status)

    def bail_if(self, cond: ir.Value, status: Status | ir.Value, name: str = "ok") -> None:
        bail = self.fn.append_basic_block("bail")
        cont = self.fn.append_basic_block(name)
        self.b.cbranch(cond, bail, cont)
        self.b.position_at_end(bail)
        self.fail(status)
        self.b.position_at_end(cont)

    @contextmanager
    def when(self, cond: ir.Value) -> Iterator[None]:
        """Emit the body only when ``cond`` holds (the body usually ends in ``ok``)."""
        with self.b.if_then(cond):
            yield

    # ------------------------------------------------------------ float arithmetic
    # As CPython's C computes them, NaN bits included (autotier.frontend.floatarith).
    def fadd(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return floatarith.fadd(self.b, x, y)

    def fsub(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return floatarith.fsub(self.b, x, y)

    def fmul(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return floatarith.fmul(self.b, x, y)

    def fdiv(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return floatarith.fdiv(self.b, x, y)

    def sqrt(self, x: ir.Value) -> ir.Value:
        return floatarith.sqrt(self.b, x)

    def fmod(self, x: ir.Value, y: ir.Value) -> ir.Value:
        """C's fmod(x, y): the C library's own, which CPython calls (LLVM's frem would
        fold a constant's nan with other bits)."""
        return mathlib.c_fmod(self, x, y)

    # ------------------------------------------------------------ float tests
    def call_intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        fnty = ir.FunctionType(args[0].type, [a.type for a in args])
        fn = self.module.declare_intrinsic(name, [args[0].type], fnty)
        return self.b.call(fn, list(args))

    def fabs(self, x: ir.Value) -> ir.Value:
        return self.call_intrinsic("llvm.fabs", x)

    def copysign(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.call_intrinsic("llvm.copysign", x, y)

    def floor(self, x: ir.Value) -> ir.Value:
        return self.call_intrinsic("llvm.floor", x)

    def isnan(self, x: ir.Value) -> ir.Value:
        return self.b.fcmp_unordered("uno", x, x)

    def isinf(self, x: ir.Value) -> ir.Value:
        return self.b.fcmp_ordered("==", self.fabs(x), f64(float("inf")))

    def isfinite(self, x: ir.Value) -> ir.Value:
        return self.b.fcmp_ordered("!=", self.fabs(x), f64(float("inf")))

    def truthy(self, x: ir.Value) -> ir.Value:
        """C's ``if (x)`` on a double: true for nan and any nonzero value."""
        return self.b.fcmp_unordered("!=", x, f64(0.0))

    def is_odd_integer(self, x: ir.Value) -> ir.Value:
        """CPython's DOUBLE_IS_ODD_INTEGER: ``fmod(fabs(x), 2.0) == 1.0``."""
        return self.b.fcmp_ordered("==", self.b.frem(self.fabs(x), f64(2.0)), f64(1.0))




# ---------------------------------------------------------------- int


def _checked(e: Emitter, op: Callable[[ir.Value, ir.Value], ir.Value], plain: str) -> None:
    """``op`` with overflow; the result is recomputed as ``plain`` with ``nsw``.

    Past the overflow check the plain instruction computes the same value, and its
    no-signed-wrap flag tells LLVM what the check proved (``x * x`` is then known to
    be non-negative, for instance), which simplifies what follows.
    """
    a, b = e.args[0], e.args[1]
    pair = op(a, b)
    e.bail_if(e.b.extract_value(pair, 1), Status.INT64_OVERFLOW)
    e.ok(getattr(e.b, plain)(a, b, flags=["nsw"]))


@helper("int_add", (I64, I64), I64)
def _int_add(e: Emitter) -> None:
    """a + b; INT64_OVERFLOW when the exact sum leaves int64."""
    _checked(e, e.b.sadd_with_overflow, "add")


@helper("int_sub", (I64, I64), I64)
def _int_sub(e: Emitter) -> None:
    """a - b; INT64_OVERFLOW when the exact difference leaves int64."""
    _checked(e, e.b.ssub_with_overflow, "sub")


@helper("int_mul", (I64, I64), I64)
def _int_mul(e: Emitter) -> None:
    """a * b; INT64_OVERFLOW when the exact product leaves int64."""
    _checked(e, e.b.smul_with_overflow, "mul")


@helper("int_neg", (I64,), I64)
def _int_neg(e: Emitter) -> None:
    """-a; INT64_OVERFLOW for -(-2**63)."""
    (a,) = e.args
    e.bail_if(e.b.icmp_signed("==", a, i64(INT64_MIN)), Status.INT64_OVERFLOW)
    e.ok(e.b.sub(i64(0), a))


@helper("int_abs", (I64,), I64)
def _int_abs(e: Emitter) -> None:
    """abs(a); INT64_OVERFLOW for abs(-2**63)."""
    (a,) = e.args
    e.bail_if(e.b.icmp_signed("==", a, i64(INT64_MIN)), Status.INT64_OVERFLOW)
    e.ok(e.b.select(e.b.icmp_signed("<", a, i64(0)), e.b.sub(i64(0), a), a))


def _divisor_checks(e: Emitter) -> tuple[ir.Value, ir.Value]:
    a, d = e.args
    e.bail_if(e.b.icmp_signed("==", d, i64(0)), Status.ZERO_DIVISION)
    return a, d


@helper("int_floordiv", (I64, I64), I64)
def _int_floordiv(e: Emitter) -> None:
    """a // b rounded toward -inf (Python's floor division).

    ZERO_DIVISION for b == 0; OVERFLOW for -2**63 // -1 (2**63).  b == -1 is
    handled apart: LLVM's sdiv of -2**63 by -1 is undefined (x86 traps).
    """
    a, d = _divisor_checks(e)
    with e.when(e.b.icmp_signed("==", d, i64(-1))):
        e.bail_if(e.b.icmp_signed("==", a, i64(INT64_MIN)), Status.OVERFLOW)
        e.ok(e.b.sub(i64(0), a))
    q = e.b.sdiv(a, d)
    r = e.b.srem(a, d)
    # a remainder whose sign differs from the divisor's means C truncated upwards
    fix = e.b.and_(e.b.icmp_signed("!=", r, i64(0)),
                   e.b.icmp_signed("<", e.b.xor(r, d), i64(0)))
    e.ok(e.b.sub(q, e.b.zext(fix, I64)))


@helper("int_mod", (I64, I64), I64)
def _int_mod(e: Emitter) -> None:
    """a % b with the sign of b (Python's modulo); ZERO_DIVISION for b == 0."""
    a, d = _divisor_checks(e)
    with e.when(e.b.icmp_signed("==", d, i64(-1))):
        e.ok(i64(0))
    r = e.b.srem(a, d)
    fix = e.b.and_(e.b.icmp_signed("!=", r, i64(0)),
                   e.b.icmp_signed("<", e.b.xor(r, d), i64(0)))
    e.ok(e.b.select(fix, e.b.add(r, d), r))


@helper("int_pow", (I64, I64), I64)
def _int_pow(e: Emitter) -> None:
    """a ** n for n >= 0 by repeated squaring (0 ** 0 == 1).

    OVERFLOW when the result leaves int64 (a square is only taken when a higher
    exponent bit still needs it, so no intermediate overflows spuriously);
    UNSUPPORTED for n < 0, where CPython returns a float.
    """
    a, n = e.args
    b = e.b
    e.bail_if(b.icmp_signed("<", n, i64(0)), Status.UNSUPPORTED)
    entry = b.block
    loop = e.fn.append_basic_block("pow.loop")
    body = e.fn.append_basic_block("pow.body")
    done = e.fn.append_basic_block("pow.done")
    b.branch(loop)
    b.position_at_end(loop)
    acc = b.phi(I64, "acc")
    base = b.phi(I64, "base")
    exp = b.phi(I64, "exp")
    acc.add_incoming(i64(1), entry)
    base.add_incoming(a, entry)
    exp.add_incoming(n, entry)
    b.cbranch(b.icmp_signed("==", exp, i64(0)), done, body)
    b.position_at_end(body)
    bit = b.trunc(exp, I1)
    prod = b.smul_with_overflow(acc, base)
    rest = b.lshr(exp, i64(1))
    square = b.smul_with_overflow(base, base)
    overflow = b.or_(b.and_(bit, b.extract_value(prod, 1)),
                     b.and_(b.icmp_signed("!=", rest, i64(0)), b.extract_value(square, 1)))
    e.bail_if(overflow, Status.OVERFLOW, "pow.next")
    acc.add_incoming(b.select(bit, b.extract_value(prod, 0), acc), b.block)
    base.add_incoming(b.extract_value(square, 0), b.block)
    exp.add_incoming(rest, b.block)
    b.branch(loop)
    b.position_at_end(done)
    e.ok(acc)


@helper("int_lshift", (I64, I64), I64)
def _int_lshift(e: Emitter) -> None:
    """a << n: VALUE for n < 0 (ValueError); 0 << n is 0 for any n; OVERFLOW
    when any bit (or the sign) would be lost, i.e. the result leaves int64."""
    a, n = e.args
    b = e.b
    e.bail_if(b.icmp_signed("<", n, i64(0)), Status.VALUE)
    with e.when(b.icmp_signed("==", a, i64(0))):
        e.ok(i64(0))
    e.bail_if(b.icmp_signed(">=", n, i64(64)), Status.OVERFLOW)
    shifted = b.shl(a, n)
    e.bail_if(b.icmp_signed("!=", b.ashr(shifted, n), a), Status.OVERFLOW)
    e.ok(shifted)


@helper("int_rshift", (I64, I64), I64)
def _int_rshift(e: Emitter) -> None:
    """a >> n (floor of a / 2**n): VALUE for n < 0; n >= 64 gives 0 or -1."""
    a, n = e.args
    b = e.b
    e.bail_if(b.icmp_signed("<", n, i64(0)), Status.VALUE)
    e.ok(b.ashr(a, b.select(b.icmp_signed(">", n, i64(63)), i64(63), n)))


def _exact_double(e: Emitter, a: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(float(a), whether float(a) == a exactly)."""
    b = e.b
    d = b.sitofp(a, F64)
    in_range = b.fcmp_ordered("<", d, f64(TWO_63))  # float(2**63 - 1) rounds up to 2**63
    back = b.fptosi(b.select(in_range, d, f64(0.0)), I64)
    return d, b.and_(in_range, b.icmp_signed("==", back, a))


def _ctlz(e: Emitter, x: ir.Value) -> ir.Value:
    fnty = ir.FunctionType(I64, [I64, I1])
    fn = e.module.declare_intrinsic("llvm.ctlz", [I64], fnty)
    return e.b.call(fn, [x, ir.Constant(I1, 0)])  # ctlz(0) == 64


def _divide_rounded(e: Emitter, a: ir.Value, d: ir.Value) -> ir.Value:
    """a / d correctly rounded, for a != 0 and d != 0, by long division.

    With A = |a|, B = |d| (unsigned; B <= 2**63) and A shifted left by s so
    that A / B >= 1/2: Q = A // B, R = A % B, then one quotient bit per step
    (R < B, so 2R fits in 64 bits) until Q has at least 55 bits.  A nonzero R
    is folded into Q's lowest bit (a sticky bit, below the rounding bit), so
    converting Q to double rounds A / B * 2**(s + steps) to nearest-even
    exactly; scaling by 2**-(s + steps) (at most 2**-118) is then exact.
    """
    b = e.b
    negative = b.icmp_signed("<", b.xor(a, d), i64(0))
    big_a = b.select(b.icmp_signed("<", a, i64(0)), b.sub(i64(0), a), a)
    big_b = b.select(b.icmp_signed("<", d, i64(0)), b.sub(i64(0), d), d)
    shift = b.select(b.icmp_unsigned("<", big_a, big_b),
                     b.sub(_ctlz(e, big_a), _ctlz(e, big_b)), i64(0))
    num = b.shl(big_a, shift)
    quot0, rem0 = b.udiv(num, big_b), b.urem(num, big_b)
    bits = b.sub(i64(64), _ctlz(e, quot0))
    steps = b.select(b.icmp_unsigned("<", bits, i64(55)), b.sub(i64(55), bits), i64(0))
    entry = b.block
    loop = e.fn.append_basic_block("div.loop")
    body = e.fn.append_basic_block("div.step")
    done = e.fn.append_basic_block("div.done")
    b.branch(loop)
    b.position_at_end(loop)
    quot, rem, left = b.phi(I64, "quot"), b.phi(I64, "rem"), b.phi(I64, "left")
    quot.add_incoming(quot0, entry)
    rem.add_incoming(rem0, entry)
    left.add_incoming(steps, entry)
    b.cbranch(b.icmp_unsigned("==", left, i64(0)), done, body)
    b.position_at_end(body)
    twice = b.shl(rem, i64(1))
    bit = b.icmp_unsigned(">=", twice, big_b)
    quot.add_incoming(b.or_(b.shl(quot, i64(1)), b.zext(bit, I64)), body)
    rem.add_incoming(b.select(bit, b.sub(twice, big_b), twice), body)
    left.add_incoming(b.sub(left, i64(1)), body)
    b.branch(loop)
    b.position_at_end(done)
    sticky = b.zext(b.icmp_unsigned("!=", rem, i64(0)), I64)
    rounded = b.uitofp(b.or_(quot, sticky), F64)
    exponent = b.sub(i64(1023), b.add(shift, steps))
    scale = b.bitcast(b.shl(exponent, i64(52)), F64)  # 2.0**-(shift + steps)
    result = b.fmul(rounded, scale)
    return b.select(negative, b.fneg(result), result)


@helper("int_truediv", (I64, I64), F64)
def _int_truediv(e: Emitter) -> None:
    """a / b correctly rounded, as CPython's int true division is; ZERO_DIVISION for b == 0.

    When a and b are exact doubles (every |x| <= 2**53, larger ones with enough
    trailing zero bits; or a == 0, whose quotient is +-0.0 by the signs) one
    IEEE division is correctly rounded; otherwise a long division rounds.
    """
    a, d = _divisor_checks(e)
    b = e.b
    fa, exact_a = _exact_double(e, a)
    fd, exact_d = _exact_double(e, d)
    fast = b.and_(exact_a, b.or_(exact_d, b.icmp_signed("==", a, i64(0))))
    with e.when(fast):
        e.ok(b.fdiv(fa, fd))
    e.ok(_divide_rounded(e, a, d))


@helper("int_to_float", (I64,), F64)
def _int_to_float(e: Emitter) -> None:
    """float(a): sitofp rounds to nearest, ties to even, as PyLong_AsDouble does."""
    e.ok(e.b.sitofp(e.args[0], F64))


#: Every helper name :meth:`Numerics.get` accepts.
NAMES: frozenset[str] = frozenset(HELPERS)


class Numerics:
    """The helpers of one module, each defined on first use."""

    def __init__(self, module: ir.Module) -> None:
        self.module = module
        self._functions: dict[str, ir.Function] = {}

    def get(self, name: str) -> ir.Function:
        """Helper ``name`` (defined in the module now if it is not yet).

        Raises KeyError for a name not in :data:`NAMES`.
        """
        fn = self._functions.get(name)
        if fn is not None:
            return fn
        if name not in HELPERS:
            raise KeyError(f"no numerics helper named {name!r}")
        existing = self.module.globals.get(name)
        if isinstance(existing, ir.Function) and not existing.is_declaration:
            fn = existing  # defined by another Numerics of the same module
        else:
            inputs, out, emit = HELPERS[name]
            fnty = ir.FunctionType(I32, [*inputs, out.as_pointer()])
            fn = ir.Function(self.module, fnty, name)
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            fn.attributes.add("nounwind")
            fn.args[-1].name = "out"
            emit(Emitter(self.module, fn))
        self._functions[name] = fn
        return fn
