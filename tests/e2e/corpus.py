"""The end-to-end differential corpus: ordinary functions, one construct or a few each.

``test_corpus.py`` runs each twice: as this module (plain CPython, the oracle) and as
a copy of this module's source in which every function is replaced by its
``@autotier.hot`` object (so recursion and calls between corpus functions go through
the hot objects and run natively).  ``@sample(...)`` names the argument set a
function is promoted with and the edge inputs it is swept with.
"""

import math

SCALE = 3
RATE = 0.25
FLAG = True
LIMIT = 10


def sample(promote, sweep):
    """Record the promoting arguments and the sweep's input family on the function."""

    def mark(func):
        func.promote = promote
        func.sweep = sweep
        return func

    return mark


# ------------------------------------------------------------ arithmetic operators
@sample((7, 3), "int2")
def add(a, b):
    return a + b


@sample((7, 3), "int2")
def sub(a, b):
    return a - b


@sample((7, 3), "int2")
def mul(a, b):
    return a * b


@sample((7, 3), "int2")
def truediv(a, b):
    return a / b


@sample((7, 3), "int2")
def floordiv(a, b):
    return a // b


@sample((7, 3), "int2")
def mod(a, b):
    return a % b


@sample((7, 3), "int2")
def power(a, b):
    return a ** b


@sample((7.5, 2.5), "float2")
def fadd(a, b):
    return a + b


@sample((7.5, 2.5), "float2")
def fdiv(a, b):
    return a / b


@sample((7.5, 2.5), "float2")
def ffloordiv(a, b):
    return a // b


@sample((7.5, 2.5), "float2")
def fmod_op(a, b):
    return a % b


@sample((7.5, 2.5), "float2")
def fpower(a, b):
    return a ** b


@sample((7, 2.5), "mixed2")
def mixed(a, b):
    return a * b - a / 3 + b // 2


@sample((7,), "int1")
def unary(a):
    return -a + (+a) - ~a


@sample((7,), "int1")
def negate(a):
    return -a


@sample((7,), "int1")
def logical_not(a):
    return not a


@sample((7.5,), "float1")
def fnegate(a):
    return -a


# ------------------------------------------------------------ bitwise
@sample((12, 10), "int2")
def bitwise(a, b):
    return (a & b) | (a ^ b)


@sample((12, 3), "int2")
def lshift(a, b):
    return a << b


@sample((12, 3), "int2")
def rshift(a, b):
    return a >> b


@sample((12,), "int1")
def invert(a):
    return ~a


# ------------------------------------------------------------ comparisons and logic
@sample((3, 4), "int2")
def compare(a, b):
    return a < b


@sample((3, 4.5), "mixed2")
def compare_mixed(a, b):
    return a < b if a != b else a <= b


@sample((1, 2, 3), "int3")
def chained(a, b, c):
    return a < b <= c


@sample((1, 2, 3), "int3")
def chained_ne(a, b, c):
    return a != b != c == c


@sample((3, 0), "int2")
def and_or(a, b):
    return a and b or a - b


@sample((3.0, 0.0), "float2")
def f_and_or(a, b):
    return (a or b) and a + b


@sample((3, 4), "int2")
def conditional(a, b):
    return a if a > b else b * 1.5


@sample((3, 4), "int2")
def bool_result(a, b):
    return (a > b) == (b > a)


# ------------------------------------------------------------ control flow
@sample((5,), "int1")
def sign(x):
    if x > 0:
        return 1
    elif x < 0:
        return -1
    else:
        return 0


@sample((5,), "int1")
def classify(x):
    if x % 15 == 0:
        r = 15
    elif x % 5 == 0:
        r = 5
    elif x % 3 == 0:
        r = 3
    else:
        r = x
    return r


@sample((5,), "small1")
def while_loop(n):
    s = 0
    i = 0
    while i < n:
        s += i
        i += 1
    return s


@sample((20,), "small1")
def while_break_continue(n):
    s = 0
    i = 0
    while True:
        i += 1
        if i > n:
            break
        if i % 3 == 0:
            continue
        s += i
    return s


@sample((20,), "small1")
def while_else(n):
    i = 2
    while i * i <= n:
        if n % i == 0:
            break
        i += 1
    else:
        return -1
    return i


@sample((10,), "small1")
def for_range1(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


@sample((3, 10), "small2")
def for_range2(a, b):
    s = 0
    for i in range(a, b):
        s = s * 3 + i
    return s


@sample((10, 0, -3), "range3")
def for_range3(a, b, c):
    s = 0
    for i in range(a, b, c):
        s += i
    return s


@sample((10, 3), "small2")
def for_break_else(n, k):
    for i in range(n):
        if i == k:
            break
    else:
        return -1
    return i


@sample((10,), "small1")
def for_continue(n):
    s = 0
    for i in range(n):
        if i % 2:
            continue
        s += i
    return s


@sample((6, 4), "small2")
def nested_loops(n, m):
    s = 0
    for i in range(n):
        for j in range(i, m):
            if j == 3:
                break
            s += i * j
    return s


@sample((9,), "small1")
def early_return(n):
    for i in range(2, n):
        if n % i == 0:
            return False
    return n > 1


@sample((5,), "int1")
def mixed_returns(x):
    if x > 3:
        return x * 0.5
    if x < -3:
        return True
    return x


@sample((27,), "small1")
def collatz(n):
    steps = 0
    while n > 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


# ------------------------------------------------------------ assignments
@sample((3, 4), "int2")
def augmented(a, b):
    a += b
    a *= 2
    a -= b
    a //= 3
    a %= 7
    a **= 2
    a <<= 1
    a >>= 1
    a &= 255
    a |= 16
    a ^= 5
    return a


@sample((3, 4), "int2")
def swap(a, b):
    a, b = b, a
    return a - b


@sample((10,), "small1")
def fib_iter(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@sample((3, 4, 5), "int3")
def unpack3(a, b, c):
    x, y, z = c, a, b
    return x * 100 + y * 10 + z


# ------------------------------------------------------------ globals
@sample((4,), "int1")
def use_globals(x):
    return x * SCALE + RATE if FLAG else x


@sample((4,), "small1")
def use_limit(x):
    s = 0
    for i in range(LIMIT):
        s += x + i
    return s


# ------------------------------------------------------------ calls and recursion
@sample((4, 5), "int2")
def calls_add(a, b):
    return add(a, b) * mul(a, b)


@sample((12,), "small1")
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@sample((10,), "small1")
def factorial(n):
    return 1 if n <= 1 else n * factorial(n - 1)


@sample((48, 18), "int2")
def gcd(a, b):
    return a if b == 0 else gcd(b, a % b)


@sample((2, 2), "tiny2")
def ackermann(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


@sample((10,), "small1")
def is_even(n):
    return True if n == 0 else is_odd(n - 1)


@sample((10,), "small1")
def is_odd(n):
    return False if n == 0 else is_even(n - 1)


@sample((3.0, 4.0), "float2")
def calls_hypot(a, b):
    return norm2(a, b) ** 0.5


@sample((3.0, 4.0), "float2")
def norm2(a, b):
    return a * a + b * b


# ------------------------------------------------------------ builtins
@sample((-7,), "int1")
def absolute(x):
    return abs(x)


@sample((-7.5,), "float1")
def fabsolute(x):
    return abs(x)


@sample((3, 4), "int2")
def min_max2(a, b):
    return min(a, b) * 10 + max(a, b)


@sample((3, 4, 5), "int3")
def min_max3(a, b, c):
    return min(a, b, c) - max(c, b, a, 0)


@sample((3.5, 4), "mixed2")
def min_max_mixed(a, b):
    return min(a, b) * 10 + max(a, b)


@sample((7.7,), "float1")
def conversions(x):
    return int(x) + float(int(x)) + bool(x)


@sample((7,), "int1")
def int_conversions(x):
    return float(x) / 2 + int(x) + bool(x)


@sample((7.45,), "float1")
def rounding(x):
    return round(x)


@sample((7,), "int1")
def int_round(x):
    return round(x)


# ------------------------------------------------------------ math
@sample((2.0,), "float1")
def math_basic(x):
    return math.sqrt(x) + math.exp(x) + math.log(x) + math.log10(x) + math.log2(x)


@sample((0.5,), "float1")
def math_trig(x):
    return math.sin(x) + math.cos(x) + math.tan(x) + math.atan(x)


@sample((0.5,), "float1")
def math_inverse(x):
    return math.asin(x) + math.acos(x)


@sample((0.5,), "float1")
def math_hyperbolic(x):
    return math.sinh(x) + math.cosh(x) + math.tanh(x)


@sample((0.5,), "float1")
def math_small(x):
    return math.expm1(x) + math.log1p(x)


@sample((8.0, 2.0), "float2")
def math_two(x, y):
    return math.atan2(x, y) + math.pow(x, y) + math.hypot(x, y) + math.fmod(x, y)


@sample((8.0, 2.0), "float2")
def math_log_base(x, y):
    return math.log(x, y)


@sample((-8.5, 2.0), "float2")
def math_copysign(x, y):
    return math.copysign(x, y) + math.fabs(x)


@sample((7.5,), "float1")
def math_rounding(x):
    return math.floor(x) + math.ceil(x) + math.trunc(x)


@sample((7.5,), "float1")
def math_predicates(x):
    return math.isnan(x) or math.isinf(x) and math.isfinite(x) or x


@sample((7.5,), "float1")
def math_constants(x):
    return x * math.pi + math.e - math.tau + (x < math.inf) + (x == math.nan)  # noqa: PLW0177


@sample((9,), "int1")
def math_on_int(x):
    return math.sqrt(x) + math.floor(x)
