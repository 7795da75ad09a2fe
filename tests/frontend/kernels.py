"""Functions the differential tests compile, one construct (or a few) each."""

from __future__ import annotations

import functools
import math
from math import sqrt as imported_sqrt

from tests.frontend.harness import hot

SCALE = 3
RATE = 0.25
FLAG = True
BIG = 2**70  # not an int64: functions reading it are Unsupported

# ------------------------------------------------------------------ arithmetic


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def truediv(a, b):
    return a / b


def floordiv(a, b):
    return a // b


def mod(a, b):
    return a % b


def power(a, b):
    return a**b


def bitwise(a, b):
    return (a & b) ^ (a | b)


def band(a, b):
    return a & b


def bor(a, b):
    return a | b


def bxor(a, b):
    return a ^ b


def shifts(a, b):
    return (a << b) + (a >> b)


def lshift(a, b):
    return a << b


def rshift(a, b):
    return a >> b


def neg(a):
    return -a


def pos(a):
    return +a


def invert(a):
    return ~a


def logical_not(a):
    return not a


def polynomial(x):
    return 3 * x * x - 2 * x + 1


def mixed(a, b):
    return (a + 1) * b - a / 4


def augmented(a, b):
    a += b
    a *= 2
    a -= b
    a //= 3
    return a


# ------------------------------------------------------------------ comparisons, logic


def lt(a, b):
    return a < b


def le(a, b):
    return a <= b


def eq(a, b):
    return a == b


def ne(a, b):
    return a != b


def gt(a, b):
    return a > b


def ge(a, b):
    return a >= b


def chained(a, b, c):
    return a < b < c


def chained_long(a, b, c):
    return a <= b == c < 10


def and_value(a, b):
    return a and b


def or_value(a, b):
    return a or b


def and_or(a, b, c):
    return a and b or c


def conditional(c, a, b):
    return a if c else b


def truthy(x):
    if x:
        return 1
    return 0


def bool_ops(a, b):
    return (a & b) | (a ^ b)


def bool_arith(a, b):
    return a + b


# ------------------------------------------------------------------ control flow


def sign(x):
    if x > 0:
        return 1
    elif x < 0:
        return -1
    else:
        return 0


def classify(x):
    if x < 0:
        return -1.0
    if x == 0:
        return 0
    return True


def while_loop(n):
    total = 0
    i = 0
    while i < n:
        i += 1
        if i % 3 == 0:
            continue
        if i > 50:
            break
        total += i
    else:
        total = -total
    return total


def collatz(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def sum_range1(n):
    s = 0
    for i in range(n):
        s += i
    return s


def sum_range2(a, b):
    s = 0
    for i in range(a, b):
        s += i * i
    return s


def sum_range3(a, b, step):
    s = 0
    for i in range(a, b, step):
        s = s * 3 + i
        s = s % 1000003
    return s


def count_range(a, b, step):
    count = 0
    for _ in range(a, b, step):
        count += 1
    return count


def last_of_range(a, b, step):
    last = 0
    for i in range(a, b, step):
        last = i
    return last


def for_else(n, target):
    for i in range(n):
        if i == target:
            found = i * 10
            break
    else:
        found = -1
    return found


def nested_loops(n):
    total = 0
    for i in range(n):
        for j in range(i):
            if j % 2:
                continue
            total += i * j
    return total


def float_loop(n):
    s = 0.0
    for i in range(n):
        s += i * 0.5
    return s


def changing_kind(n):
    s = 0
    for _ in range(n):
        s += 0.5
    return s


def changing_kind_twice(n, x):
    v = 1
    if n > 3:
        v = x
    if n > 5:
        v = n > 6
    return v + v if n % 2 else v


def unbound_after_loop(n):
    for i in range(n):
        pass
    return i  # unbound when n <= 0: UnboundLocalError


def maybe_unbound(flag):
    if flag:
        y = 1.5
    return y


def early_return(n):
    for i in range(n):
        if i * i > n:
            return i
    return -1.0


def fib_iter(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def swap3(a, b, c):
    a, b, c = c, a, b
    return a * 100 + b * 10 + c


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


# ------------------------------------------------------------------ globals, builtins, math


def uses_globals(x):
    return x * SCALE + RATE if FLAG else x


def uses_big(x):
    return x + BIG


def absolute(x):
    return abs(x)


def minimum(a, b):
    return min(a, b)


def maximum(a, b):
    return max(a, b)


def min3(a, b, c):
    return min(a, b, c)


def max3(a, b, c):
    return max(a, b, c)


def to_int(x):
    return int(x)


def to_float(x):
    return float(x)


def to_bool(x):
    return bool(x)


def rounded(x):
    return round(x)


def no_arg_builtins(x):
    return int() + float() + bool() + x  # noqa: UP018  (the builtins with no argument)


def math_one(x):
    return (math.sqrt(abs(x)) + math.sin(x) + math.cos(x) + math.atan(x) + math.exp(x / 1000)
            + math.log1p(abs(x)) + math.fabs(x) + math.tanh(x) + math.sinh(x / 1000)
            + math.cosh(x / 1000) + math.expm1(x / 1000))


def math_logs(x):
    return math.log(x) + math.log2(x) + math.log10(x) + math.log(x, 3)


def math_trig_inverse(x):
    return math.asin(x) + math.acos(x) + math.tan(x)


def math_two(x, y):
    return (math.atan2(x, y) + math.hypot(x, y) + math.copysign(x, y) + math.pow(x, 2)
            + math.fmod(x, 7.5))


def math_rounding(x):
    return math.floor(x) * 100 + math.ceil(x) * 10 + math.trunc(x)


def math_predicates(x):
    return math.isnan(x) or math.isinf(x) or not math.isfinite(x)


def math_constants(x):
    return x * math.pi + math.e - math.tau + (math.inf if x > 1e300 else 0.0)


def math_nan(x):
    return math.nan if x else x


def imported_function(x):
    return imported_sqrt(x)


def sqrt_of_conditional(x, y):
    return math.sqrt(x if x > y else y)


def abs_of_union(n):
    v = n
    if n > 10:
        v = n * 0.5
    return abs(v)


# ------------------------------------------------------------------ calls of hot functions


def _fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


fib = hot(_fib)


def _is_even(n):
    if n == 0:
        return True
    return is_odd(n - 1)


def _is_odd(n):
    if n == 0:
        return False
    return is_even(n - 1)


is_even = hot(_is_even)
is_odd = hot(_is_odd)


def _halve(x):
    return x / 2


halve = hot(_halve)


def calls_halve(n):
    return halve(n) + halve(n * 1.0)


def _countdown(n):
    if n <= 0:
        return 0.5
    return countdown(n - 1)


countdown = hot(_countdown)


def _grow(n):
    if n == 0:
        return 1
    return grow(n - 1) * 2.5 if n % 2 else grow(n - 1) * 2


grow = hot(_grow)


def _ackermann(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


ackermann = hot(_ackermann)


def _forever(n):
    return forever(n + 1)


forever = hot(_forever)


def calls_with_union(n):
    v = n
    if n > 5:
        v = n * 1.5
    return halve(v)


# ------------------------------------------------------------------ unsupported


def uses_dict(n):
    return {n: 1}[n]


def returns_pair(n):
    return n, n + 1


def uses_string(n):
    return len("abc") + n


def uses_attribute(x):
    return x.numerator


def uses_try(x):
    try:
        return 1 // x
    except ZeroDivisionError:
        return 0


def generator(n):
    yield n


def make_closure(n):
    def inner():
        return n

    return inner


def keyword_call(x):
    return round(x, ndigits=2)


def star_args(*args):
    return 1


def returns_none(x):
    x += 1


def _with_default(a, b=2):
    return a + b


with_default = hot(_with_default)


def calls_with_default(a):
    return with_default(a)


def _with_none_default(a, b=None):
    return a if b is None else a + b


with_none_default = hot(_with_none_default)


def calls_with_none_default(a):
    return with_none_default(a)  # None: no native value


def calls_plain_function(a):
    return add(a, a)  # a helper nobody decorated: compiled in with its caller


_PARTIAL = functools.partial(max, 0)


def calls_partial(a):
    return _PARTIAL(a)  # a callable that is no Python function


def uses_len(x):
    return len(x)


def round_ndigits(x):
    return round(x, 2)


def math_unsupported(x):
    return math.gamma(x)


# ------------------------------------------------------------------ real @autotier.hot objects


def _cube(x):
    return x * x * x


def _sum_cubes(n):
    total = 0
    for i in range(n):
        total += real_cube(i)
    return total


def _make_real_hot():
    import autotier

    hot_forever = autotier.hot(threshold=10**9)  # stays interpreted in CPython's runs
    return hot_forever(_cube), hot_forever(_sum_cubes)


real_cube, real_sum_cubes = _make_real_hot()


def _deep_sum(n):
    if n == 0:
        return 0
    return n * 2**50 + deep_sum(n - 1)  # from n = 128 on, leaves int64 part-way up


deep_sum = hot(_deep_sum)


def _loop_then_recurse(n, stop):
    i = 0
    while i < stop:
        i += 1
    return i if n == 0 else 1 + loop_then_recurse(n - 1, stop)


loop_then_recurse = hot(_loop_then_recurse)


def sum_cubes(n):
    s = 0
    for i in range(n):
        s += i * i * i  # leaves int64 from n = 77 938 on
    return s


def factorial(n):
    result = 1
    for i in range(2, n + 1):
        result *= i  # leaves int64 from 21!, int128 from 34!
    return result


def _scaled(x, k=2.0, shift=1):
    return x * k + shift


scaled = hot(_scaled)


def _calls_with_defaults(x):
    return scaled(x) + scaled(x, 3.0) + scaled(x, shift=5) + scaled(shift=2, x=x, k=0.5)


calls_with_defaults = hot(_calls_with_defaults)


def _power_sum(n, p=2):
    return 0 if n == 0 else n**p + power_sum(n - 1)  # recursion taking a default


power_sum = hot(_power_sum)


def _posonly(a, b=1, /):
    return a - b


posonly = hot(_posonly)


def _calls_posonly_by_keyword(x):
    return posonly(x, b=2)  # a TypeError in CPython


calls_posonly_by_keyword = hot(_calls_posonly_by_keyword)


# ------------------------------------------------------------------ sequences and arrays
# (kernels more than one test file compiles: a frontend test's and its integration
# test's through @hot, a list's and an array's, the llvm backend's and numba's)


def at(xs, i):
    return xs[i]


def first(a):
    return a[0]


def contains(a, v):
    return v in a


def total(xs):
    s = 0.0
    for x in xs:
        s += x
    return s


def int_total(xs):
    s = 0
    for x in xs:
        s += x
    return s


def dot(xs, ys):
    s = 0.0
    for i in range(len(xs)):
        s += xs[i] * ys[i]
    return s


def scale(xs, k):
    for i in range(len(xs)):
        xs[i] = xs[i] * k


def pairs(points):
    s = 0.0
    for x, y in points:
        s += x * y
    return s


def bounds(xs):
    lo = hi = xs[0]
    for x in xs:
        if x < lo:
            lo = x
        if x > hi:
            hi = x
    return lo, hi


def primes(n):
    sieve = [True] * (n + 1)
    for i in range(2, n + 1):
        if sieve[i]:
            for j in range(i * i, n + 1, i):
                sieve[j] = False
    return [i for i in range(2, n + 1) if sieve[i]]


# ------------------------------------------------------------------ complex numbers


def magnitude(z):
    return abs(z)


def mandel(c):
    z = c
    for n in range(80):
        if abs(z) > 2.0:
            return n
        z = z * z + c
    return 80


def weighted(xs):
    s = 0.0
    for i, x in enumerate(xs):
        s += i * x
    return s
