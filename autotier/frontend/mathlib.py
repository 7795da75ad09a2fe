"""``math`` module helpers for :mod:`autotier.frontend.numerics`, and the C library.

Same convention as there: ``i32 @name(inputs..., T* out)`` returning a Status,
OK only with exactly CPython's result.  The helpers follow Modules/mathmodule.c
of CPython 3.11, whose wrappers call the C library and turn its outcome into
exceptions:

- ``math_1`` (one argument): a nan result from a non-nan argument is a domain
  error; an infinite result from a finite argument is a range (or domain)
  error; a finite result with errno set is an error unless errno is ERANGE and
  the result is below 1.5 in magnitude (an underflow).
- ``math_2`` (two arguments) likewise, with nan/inf judged on both arguments.

Each error becomes a bailout (MATH_DOMAIN or FLOAT_OVERFLOW; the exact exception type
does not matter, the interpreter re-runs the call).  The C library is the one
this process runs CPython with: its functions are called through private symbol
names bound to their addresses, so LLVM cannot recognise them as builtins and
rewrite or constant-fold them into something that rounds differently
(``pow(2.0, y)`` into ``exp2(y)``, for instance).  errno is cleared before and
read after each call, as CPython does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import threading
from typing import TYPE_CHECKING

from llvmlite import ir

from autotier.abi import Status
from autotier.frontend.helperdefs import F64, I1, I32, f64, helper, i32
from autotier.jit import engine

if TYPE_CHECKING:
    from autotier.frontend.numerics import Emitter

ERANGE = errno.ERANGE
EDOM = errno.EDOM
PI = 3.141592653589793
INF = float("inf")

# ---------------------------------------------------------------- the C library

_PREFIX = "__autotier_libm_"
_REGISTERED: set[str] = set()
_REGISTER_LOCK = threading.Lock()


def _fresh_lock_in_child() -> None:  # a thread holding it at os.fork() is not there
    global _REGISTER_LOCK
    _REGISTER_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_in_child)


def _c_address(symbol: str) -> int:
    """Where ``symbol`` resolves in this process (libm is linked into CPython)."""
    for lib in (ctypes.CDLL(None), ctypes.CDLL(ctypes.util.find_library("m"))):
        try:
            address = ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value
        except AttributeError:
            continue
        if address:
            return address
    raise RuntimeError(f"C library symbol {symbol!r} not found")


def _c_function(module: ir.Module, symbol: str, fnty: ir.FunctionType) -> ir.Function:
    """A declaration of C function ``symbol`` under a private name bound to it."""
    name = _PREFIX + symbol
    with _REGISTER_LOCK:
        if name not in _REGISTERED:
            engine.register_symbol(name, _c_address(symbol))
            _REGISTERED.add(name)
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, fnty, name)
        fn.attributes.add("nounwind")
    assert isinstance(fn, ir.Function)
    return fn


#: for other modules: a C function (libm's, CPython's) LLVM cannot take for a builtin
c_function = _c_function


def call_libm(e: Emitter, symbol: str, *args: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Call libm's ``symbol`` on doubles with errno cleared: (result, errno after)."""
    errno_location = _c_function(e.module, "__errno_location",
                                 ir.FunctionType(I32.as_pointer(), []))
    # The address of this thread's errno never changes (glibc declares the function
    # const): LLVM may then compute it once per body instead of once per call.
    if "readnone" not in errno_location.attributes:
        errno_location.attributes.add("readnone")
    where = e.b.call(errno_location, [])
    e.b.store(i32(0), where)
    fn = _c_function(e.module, symbol, ir.FunctionType(F64, [F64] * len(args)))
    result = e.b.call(fn, list(args))
    return result, e.b.load(where)


def call_c(module: ir.Module, b: ir.IRBuilder, symbol: str, *args: ir.Value) -> ir.Value:
    """Call the C library's ``symbol`` (its parameters and result of the arguments' one
    type: ``pow`` on doubles, ``powf`` on floats) without touching errno."""
    t = args[0].type
    fn = _c_function(module, symbol, ir.FunctionType(t, [t] * len(args)))
    return b.call(fn, list(args))


def c_fmod(e: Emitter, x: ir.Value, y: ir.Value) -> ir.Value:
    """The C library's fmod(x, y) (exact; errno is never read after it)."""
    return call_c(e.module, e.b, "fmod", x, y)


def _check_errno(e: Emitter, r: ir.Value, err: ir.Value) -> None:
    """CPython's ``if (Py_IS_FINITE(r) && errno && is_error(r))``.

    EDOM (or any unexpected errno) is an error; ERANGE is one unless |r| < 1.5
    (underflow).
    """
    b = e.b
    underflow = b.and_(b.icmp_signed("==", err, i32(ERANGE)),
                       b.fcmp_ordered("<", e.fabs(r), f64(1.5)))
    error = b.and_(b.and_(e.isfinite(r), b.icmp_signed("!=", err, i32(0))), b.not_(underflow))
    status = b.select(b.icmp_signed("==", err, i32(ERANGE)),
                      i32(Status.FLOAT_OVERFLOW), i32(Status.MATH_DOMAIN))
    e.bail_if(error, status)


# Functions whose errno never decides CPython's outcome, so it is neither cleared nor
# read (two calls to __errno_location and a store per call).  Their results lie in
# [-1, 1], so an ERANGE (an underflow) is never an error (|r| < 1.5), and the C
# library sets EDOM for them only on an infinite argument, whose nan result the
# nan rule of math_1 already turns into a domain error.
_ERRNO_FREE = frozenset({"sin", "cos", "tanh"})


def _math_1(e: Emitter, symbol: str, x: ir.Value, can_overflow: bool) -> ir.Value:
    """libm ``symbol``(x) with math_1's checks; the result when CPython returns one."""
    b = e.b
    if symbol in _ERRNO_FREE:
        # Results in [-1, 1]: math_1's inf rule never fires, and its nan rule exactly
        # for an infinite argument of sin or cos (sin(nan) is nan without an error;
        # tanh(+-inf) is +-1).  So the argument is checked, before the call: LLVM can
        # often prove it finite (an int converted to float) and drop the check.
        if symbol != "tanh":
            e.bail_if(e.isinf(x), Status.MATH_DOMAIN)
        fn = _c_function(e.module, symbol, ir.FunctionType(F64, [F64]))
        return b.call(fn, [x])
    r, err = call_libm(e, symbol, x)
    e.bail_if(b.and_(e.isnan(r), b.not_(e.isnan(x))), Status.MATH_DOMAIN)
    e.bail_if(b.and_(e.isinf(r), e.isfinite(x)),
              Status.FLOAT_OVERFLOW if can_overflow else Status.MATH_DOMAIN)
    _check_errno(e, r, err)
    return r


def _math_2_checks(e: Emitter, x: ir.Value, y: ir.Value, r: ir.Value) -> None:
    """math_2's nan and inf rules (the errno rule is :func:`_check_errno`)."""
    b = e.b
    no_nan = b.not_(b.or_(e.isnan(x), e.isnan(y)))
    e.bail_if(b.and_(e.isnan(r), no_nan), Status.MATH_DOMAIN)
    e.bail_if(b.and_(e.isinf(r), b.and_(e.isfinite(x), e.isfinite(y))), Status.FLOAT_OVERFLOW)


# ---------------------------------------------------------------- math, one argument

# name -> whether an infinite result from a finite argument is an overflow (math_1's
# can_overflow; otherwise a domain error).  Each is libm's function of that name
# (log, log2, log10 and log1p: CPython's m_log* wrappers only special-case zero,
# negative and non-finite arguments, with the outcomes C99 gives them).
_MATH_1 = {
    "sin": False, "cos": False, "tan": False, "asin": False, "acos": False, "atan": False,
    "sinh": True, "cosh": True, "tanh": False, "exp": True, "expm1": True,
    "log": False, "log1p": False, "log2": False, "log10": False,
}


# CPython's m_log, m_log2 and m_log10 return a nan argument itself, not the C library's
# answer (which quiets a signalling nan).
_NAN_UNCHANGED = frozenset({"log", "log2", "log10"})


def _register_math_1() -> None:
    for name, can_overflow in _MATH_1.items():
        def emit(e: Emitter, name: str = name, can_overflow: bool = can_overflow) -> None:
            if name in _NAN_UNCHANGED:
                with e.when(e.isnan(e.args[0])):
                    e.ok(e.args[0])
            e.ok(_math_1(e, name, e.args[0], can_overflow))

        emit.__doc__ = f"math.{name}(x) with math_1's error rules."
        helper(f"math_{name}", (F64,), F64)(emit)


_register_math_1()


@helper("math_sqrt", (F64,), F64)
def _math_sqrt(e: Emitter) -> None:
    """math.sqrt(x): correctly rounded; MATH_DOMAIN for x < 0 (sqrt(-0.0) is -0.0)."""
    (x,) = e.args
    r = e.sqrt(x)
    e.bail_if(e.b.and_(e.isnan(r), e.b.not_(e.isnan(x))), Status.MATH_DOMAIN)
    e.ok(r)


@helper("math_fabs", (F64,), F64)
def _math_fabs(e: Emitter) -> None:
    """math.fabs(x): never raises."""
    e.ok(e.fabs(e.args[0]))


@helper("math_isnan", (F64,), I1)
def _math_isnan(e: Emitter) -> None:
    """math.isnan(x)."""
    e.ok(e.isnan(e.args[0]))


@helper("math_isinf", (F64,), I1)
def _math_isinf(e: Emitter) -> None:
    """math.isinf(x)."""
    e.ok(e.isinf(e.args[0]))


@helper("math_isfinite", (F64,), I1)
def _math_isfinite(e: Emitter) -> None:
    """math.isfinite(x)."""
    e.ok(e.isfinite(e.args[0]))


@helper("math_log_base", (F64, F64), F64)
def _math_log_base(e: Emitter) -> None:
    """math.log(x, base): log(x) / log(base), each with math_1's rules.

    ZERO_DIVISION when log(base) == 0 (base 1); the quotient itself never
    raises (math.log(inf, inf) is nan).
    """
    x, base = e.args
    num = _math_1(e, "log", x, False)
    den = _math_1(e, "log", base, False)
    e.bail_if(e.b.fcmp_ordered("==", den, f64(0.0)), Status.ZERO_DIVISION)
    e.ok(e.fdiv(num, den))


# ---------------------------------------------------------------- math, two arguments


@helper("math_copysign", (F64, F64), F64)
def _math_copysign(e: Emitter) -> None:
    """math.copysign(x, y): |x| with y's sign bit; never raises."""
    e.ok(e.copysign(e.args[0], e.args[1]))


@helper("math_atan2", (F64, F64), F64)
def _math_atan2(e: Emitter) -> None:
    """math.atan2(y, x): m_atan2's special cases, then libm atan2; never raises.

    nan in -> nan; y infinite -> +-pi/4, +-3pi/4 or +-pi/2; x infinite or
    y == 0 -> +-0 (x positive, by sign bit) or +-pi (x negative), y's sign.
    """
    y, x = e.args
    b = e.b
    with e.when(b.or_(e.isnan(x), e.isnan(y))):
        e.ok(f64(float("nan")))
    x_positive = b.fcmp_ordered("==", e.copysign(f64(1.0), x), f64(1.0))
    with e.when(e.isinf(y)):
        angle = b.select(e.isinf(x), b.select(x_positive, f64(0.25 * PI), f64(0.75 * PI)),
                         f64(0.5 * PI))
        e.ok(e.copysign(angle, y))
    with e.when(b.or_(e.isinf(x), b.fcmp_ordered("==", y, f64(0.0)))):
        e.ok(e.copysign(b.select(x_positive, f64(0.0), f64(PI)), y))
    r, err = call_libm(e, "atan2", y, x)
    _math_2_checks(e, y, x, r)
    _check_errno(e, r, err)
    e.ok(r)


@helper("math_fmod", (F64, F64), F64)
def _math_fmod(e: Emitter) -> None:
    """math.fmod(x, y): C's fmod (exact); x itself for finite x and infinite y.

    MATH_DOMAIN for a nan result from non-nan arguments (y == 0, x infinite).
    """
    x, y = e.args
    b = e.b
    with e.when(b.and_(e.isinf(y), e.isfinite(x))):
        e.ok(x)
    r = e.fmod(x, y)
    e.bail_if(b.and_(e.isnan(r), b.not_(b.or_(e.isnan(x), e.isnan(y)))), Status.MATH_DOMAIN)
    e.ok(r)


@helper("math_pow", (F64, F64), F64)
def _math_pow(e: Emitter) -> None:
    """math.pow(x, y) as math_pow_impl: IEEE special values, then libm pow.

    Non-finite arguments never raise (nan**0 == 1, 1**nan == 1, 0**-inf == inf
    ...).  For finite ones: a nan result (negative x, non-integer y) and
    0**negative are MATH_DOMAIN, other infinite results OVERFLOW, and errno is
    judged as math_1 does.
    """
    x, y = e.args
    b = e.b
    with e.when(b.or_(e.isnan(x), e.isnan(y))):
        e.ok(b.select(e.isnan(x),
                      b.select(b.fcmp_ordered("==", y, f64(0.0)), f64(1.0), x),
                      b.select(b.fcmp_ordered("==", x, f64(1.0)), f64(1.0), y)))
    with e.when(e.isinf(x)):
        odd_y = b.and_(e.isfinite(y), e.is_odd_integer(y))
        positive = b.select(odd_y, x, e.fabs(x))
        negative = b.select(odd_y, e.copysign(f64(0.0), x), f64(0.0))
        e.ok(b.select(b.fcmp_ordered(">", y, f64(0.0)), positive,
                      b.select(b.fcmp_ordered("==", y, f64(0.0)), f64(1.0), negative)))
    with e.when(e.isinf(y)):
        ax = e.fabs(x)
        big = b.or_(b.and_(b.fcmp_ordered(">", y, f64(0.0)), b.fcmp_ordered(">", ax, f64(1.0))),
                    b.and_(b.fcmp_ordered("<", y, f64(0.0)), b.fcmp_ordered("<", ax, f64(1.0))))
        e.ok(b.select(b.fcmp_ordered("==", ax, f64(1.0)), f64(1.0),
                      b.select(big, f64(INF), f64(0.0))))
    r, err = call_libm(e, "pow", x, y)
    e.bail_if(e.isnan(r), Status.MATH_DOMAIN)
    e.bail_if(e.isinf(r), b.select(b.fcmp_ordered("==", x, f64(0.0)),
                                   i32(Status.MATH_DOMAIN), i32(Status.OVERFLOW)))
    _check_errno(e, r, err)
    e.ok(r)


_T27 = 134217729.0  # 2**27 + 1, Veltkamp-Dekker's splitter


def _split(e: Emitter, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Veltkamp-Dekker: hi + lo == x exactly, hi with half the bits."""
    b = e.b
    t = b.fmul(x, f64(_T27))
    hi = b.fsub(t, b.fsub(t, x))
    return hi, b.fsub(x, hi)


def _add_compensated(e: Emitter, csum: ir.Value, frac: ir.Value,
                     x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """csum += x, with the rounding error added to frac (Neumaier, |csum| >= |x|)."""
    b = e.b
    new = b.fadd(csum, x)
    return new, b.fadd(frac, b.fadd(b.fsub(csum, new), x))


@helper("math_hypot", (F64, F64), F64)
def _math_hypot(e: Emitter) -> None:
    """math.hypot(x, y): CPython 3.11's vector_norm for two coordinates, op by op.

    inf if either is infinite (even with a nan), else nan if either is nan;
    never raises (an overflowing result is returned as inf).  The norm is
    scaled by a power of two, squared with Veltkamp-Dekker splitting, summed
    with compensation and corrected once after the square root.
    """
    b = e.b
    ax, ay = (e.fabs(v) for v in e.args)
    top = b.select(b.fcmp_ordered(">", ax, f64(0.0)), ax, f64(0.0))  # nan is never > max
    top = b.select(b.fcmp_ordered(">", ay, top), ay, top)
    with e.when(e.isinf(top)):
        e.ok(top)
    with e.when(b.or_(e.isnan(ax), e.isnan(ay))):
        e.ok(f64(float("nan")))
    with e.when(b.fcmp_ordered("==", top, f64(0.0))):
        e.ok(top)
    one = f64(1.0)
    with e.when(b.fcmp_ordered("<", top, f64(2.0**-1024))):  # frexp exponent < -1023
        csum, frac1 = one, f64(0.0)
        for v in (ax, ay):
            q = b.fdiv(v, top)
            csum, frac1 = _add_compensated(e, csum, frac1, b.fmul(q, q))
        root = e.call_intrinsic("llvm.sqrt", b.fadd(b.fsub(csum, one), frac1))
        e.ok(b.fmul(top, root))
    frexp = e.module.declare_intrinsic(
        "llvm.frexp", [F64, I32], ir.FunctionType(ir.LiteralStructType([F64, I32]), [F64]))
    exponent = b.extract_value(b.call(frexp, [top]), 1)
    ldexp = e.module.declare_intrinsic("llvm.ldexp", [F64, I32], ir.FunctionType(F64, [F64, I32]))
    scale = b.call(ldexp, [one, b.sub(i32(0), exponent)])
    csum, frac1, frac2, frac3 = one, f64(0.0), f64(0.0), f64(0.0)
    for v in (ax, ay):
        hi, lo = _split(e, b.fmul(v, scale))
        csum, frac1 = _add_compensated(e, csum, frac1, b.fmul(hi, hi))
        csum, frac2 = _add_compensated(e, csum, frac2, b.fmul(b.fmul(f64(2.0), hi), lo))
        frac3 = b.fadd(frac3, b.fmul(lo, lo))
    fracs = b.fadd(b.fadd(frac1, frac2), frac3)
    h = e.call_intrinsic("llvm.sqrt", b.fadd(b.fsub(csum, one), fracs))
    hi, lo = _split(e, h)
    csum, frac1 = _add_compensated(e, csum, frac1, b.fmul(b.fneg(hi), hi))
    csum, frac2 = _add_compensated(e, csum, frac2, b.fmul(b.fmul(f64(-2.0), hi), lo))
    csum, frac3 = _add_compensated(e, csum, frac3, b.fmul(b.fneg(lo), lo))
    x = b.fadd(b.fsub(csum, one), b.fadd(b.fadd(frac1, frac2), frac3))
    e.ok(b.fdiv(b.fadd(h, b.fdiv(x, b.fmul(f64(2.0), h))), scale))
