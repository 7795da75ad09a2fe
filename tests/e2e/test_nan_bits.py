"""The sign and payload of a nan, through ``@hot`` with the llvm backend.

Each function below is compiled natively and called with nans of both signs, with
payloads and signalling ones; every result must be CPython's bit for bit
(``struct.pack``; ``math.copysign(1.0, r)`` shows the sign).  The shapes are the
ones LLVM's optimiser would rewrite into a sign flip or an identity (``y * -1.0``,
``-0.0 - y``, ``y + -0.0``, ``(-x) * (-y)`` ...), constants that reach an operation
indirectly (a local, an int, a default argument after inlining, a loop), constant
nans and infinities folded at compile time, and the sign-bit operations (``-y``,
``abs``, ``math.fabs``, ``math.copysign``, selects).  See autotier/frontend/floatarith.py.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterator
from typing import Any

import pytest

import autotier
from tests.frontend.harness import warmed_answer
from tests.runtime.helpers import interpreted_frames


def from_bits(word: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", word))[0]


def bits(x: Any) -> str:
    return struct.pack(">d", x).hex() if type(x) is float else repr(x)


NANS = [math.nan, -math.nan, from_bits(0x7FF8000000000123), from_bits(0xFFF800000000BEEF),
        from_bits(0x7FF0000000000003), from_bits(0xFFF0000000000005)]  # the last two signal
OTHERS = [1.5, -0.0, 0.0, math.inf, -math.inf, 1e308, -5e-324, 2.2250738585072014e-308]

SOURCE = '''
import math

def mul_minus_one(y):
    return y * -1.0

def minus_one_mul(y):
    return -1.0 * y

def div_minus_one(y):
    return y / -1.0

def minus_zero_sub(y):
    return -0.0 - y

def zero_sub(y):
    return 0.0 - y

def local_constant(y):
    k = -1.0
    return y * k

def int_constant(y):
    return y * -1

def negated_times_one(y):
    return -(y) * 1.0

def mul_minus_two(y):
    return y * -2.0

def div_two(y):
    return y / 2.0

def div_minus_half(y):
    return y / -0.5

def twice(y):
    return 2.0 * y

def twice_right(y):
    return y * 2.0

def div_power_of_two(y):
    return y / 0.25

def div_tiny_power_of_two(y):
    return y / 2.0 ** -1000

def div_huge_power_of_two(y):
    return y / 2.0 ** 1023

def add_minus_zero(y):
    return y + -0.0

def add_zero(y):
    return y + 0.0

def mul_one(y):
    return y * 1.0

def minus_of_minus(y):
    return -(-y * -1.0)

def sub_negated(y):
    return 1.0 - (-y)

def negated_products(y):
    return (-y) * (-2.0)

def negated_product(y):
    return -(y * 3.0)

def augmented(y):
    s = 0.0
    s -= y
    return s

def abs_select(y):
    return y if y > 0 else -y

def abs_select_negative(y):
    return -y if y < 0 else y

def negate(y):
    return -y

def builtin_abs(y):
    return abs(y) * -1.0

def fabs(y):
    return math.fabs(y) * -1.0

def sign_of_product(y):
    return math.copysign(1.0, y * -1.0)

def copysign_onto_nan(y):
    return math.copysign(y * -1.0, -1.0)

def maximum(y):
    return max(y * -1.0, -1.0)

def minimum(y):
    return min(-y, 1.0)

def modulo(y):
    return y % -2.0

def floor_division(y):
    return y // -3.0

def power(y):
    return y ** 1.0

def square_root(y):
    return math.sqrt(y * 1.0)

def logarithm(y):
    return math.log(y)

def loop(y):
    s = y
    for _ in range(3):
        s = s * -1.0
    return s

def callee(y, k=-1.0):
    return y * k

def caller(y):
    return callee(y, -1.0) + callee(y)

def folded_default_nan(y):
    k = 1e308 * 10.0
    return k * 0.0 + y * 0.0

def folded_inf_minus_inf(y):
    k = 1e308 * 10.0
    return (k - k) * y

def folded_constant_nan(y):
    return math.nan * -1.0 + y

def fma_like(a, b):
    return a * b + -0.0

def fma_three(a, b, c):
    return a * -b + c

def difference(a, b):
    return a - b

def quotient(a, b):
    return a / b

def total(a, b):
    return a + b

def product(a, b):
    return a * b
'''


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "tests.e2e.nan_bits_source"}
    exec(compile(SOURCE, "<nan bits>", "exec"), ns)
    return ns


REFERENCE = _namespace()
NAMES = [name for name, f in REFERENCE.items()
         if callable(f) and getattr(f, "__module__", None) == "tests.e2e.nan_bits_source"]


def inputs(name: str) -> list[tuple[float, ...]]:
    arity = REFERENCE[name].__code__.co_argcount
    if arity == 1:
        return [(x,) for x in NANS + OTHERS]
    if arity == 2:
        return list(itertools.product(NANS + [2.0, math.inf], repeat=2))
    return list(itertools.product([math.nan, -math.nan, NANS[5], 2.0, math.inf], repeat=3))


@pytest.fixture(scope="module")
def hot() -> Iterator[dict[str, Any]]:
    ns = _namespace()
    for name in NAMES:
        ns[name] = autotier.hot(threshold=2, backend="llvm",
                                deopt=autotier.AlwaysRecompilePolicy())(ns[name])
    for name in NAMES:
        for _ in range(3):
            ns[name](*[1.5] * REFERENCE[name].__code__.co_argcount)
    assert autotier.wait_idle(300)
    yield ns
    for name in NAMES:
        autotier.invalidate(ns[name])
    autotier.prune()


def test_the_shapes_are_all_here():
    assert len(NAMES) >= 50


def outcome(f: Any, args: tuple[float, ...]) -> tuple[str, Any]:
    try:
        return ("value", bits(f(*args)))
    except ArithmeticError as exc:  # noqa: PERF203 - compared with CPython's below
        return ("raise", f"{type(exc).__name__}: {exc}")
    except ValueError as exc:
        return ("raise", f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("name", NAMES)
def test_nan_bits_are_cpythons(hot, name):
    f = hot[name]
    row = autotier.stats(f)
    assert (row.state, row.backend) == ("compiled", "llvm"), row
    mismatches = []
    for args in inputs(name):
        with interpreted_frames(f) as frames:
            got = outcome(f, args)
        # CPython's answer once its code is specialised, as a hot function's is: of two
        # nan operands of + and *, its unspecialised code answers the other one
        expected = outcome(lambda *a: warmed_answer(REFERENCE[name], a), args)
        if got != expected:
            mismatches.append(f"{name}{tuple(map(bits, args))}: native {got}, "
                              f"CPython {expected}")
        elif got[0] == "value" and frames[0]:
            mismatches.append(f"{name}{tuple(map(bits, args))} did not run natively")
    assert not mismatches, "\n".join(mismatches[:20])


def test_two_nans_give_the_first_as_specialised_cpython_does(hot):
    """x86 returns the first nan operand, quieted: CPython's specialised ``+`` and
    ``*`` and every ``-`` and ``/``.  Its generic float_add and float_mul give the
    second (the C compiler swapped the operands): a fresh function's first call."""
    a, b = from_bits(0x7FF8000000000001), from_bits(0xFFF0000000000002)
    quiet_a, quiet_b = "7ff8000000000001", "fff8000000000002"
    for name in ("total", "product", "difference", "quotient"):
        assert bits(hot[name](a, b)) == quiet_a, name
        assert bits(warmed_answer(REFERENCE[name], (a, b))) == quiet_a, name
    for name in ("total", "product"):
        fresh = _namespace()[name]
        assert bits(fresh(a, b)) == quiet_b, name  # CPython's other answer
