"""Complex numbers (issue 11, ``docs/architecture.md`` "Complex numbers"): held natively
as two doubles, every operation exactly CPython 3.11's.

Differential through the frontend harness: each function of the corpus is compiled for
its argument kinds (the compile must succeed: it runs natively), run natively and in
CPython on edge inputs (0j, -0.0 parts, nans with a sign and a payload, infinities,
huge and subnormal parts, ints past 2**53, bools) and compared exactly (the result's
type and both parts bit for bit, or CPython's exception where it raises: native code
deoptimises there and the interpreter raises it); every deopt site is forced with an
input that reaches it and resumed to CPython's answer.
"""

from __future__ import annotations

import cmath
import itertools
import struct

import pytest

from autotier.abi import Kind, Status
from autotier.frontend import Unsupported, lower
from tests.frontend.harness import check, compile_function, force_every_site, forget, kinds_of
from tests.frontend.kernels import magnitude, mandel

NAN = float("nan")
INF = float("inf")


def _bits(b: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<Q", b))[0]
    return value


NEG_NAN = _bits(0xFFF8000000000000)
PAYLOAD_NAN = _bits(0x7FF8000000000123)
SIGNALLING_NAN = _bits(0x7FF0000000000001)
TINY = 5e-324

EDGES = [
    0j, complex(-0.0, -0.0), complex(0.0, -0.0), complex(-0.0, 0.0), 1 + 2j, -3.5 + 0.25j,
    complex(NAN, 1.0), complex(1.0, NEG_NAN), complex(PAYLOAD_NAN, -2.0),
    complex(0.5, SIGNALLING_NAN), complex(INF, 0.0), complex(-INF, INF), complex(2.0, -INF),
    complex(1e308, 1e308), complex(1.7e308, -1.7e308), complex(-1e308, 1e-308),
    complex(TINY, -TINY), 1e-300j,
    complex(3.0, 4.0), complex(-2.0, 0.0),
]
FEW = [0j, complex(-0.0, -0.0), 1 + 2j, complex(NAN, 1.0), complex(INF, -0.0),
       complex(1e308, 1e308), complex(TINY, 3.0), complex(0.0, NEG_NAN)]
REALS = [0, 1, -7, 2**53 + 1, 2**62 + 3, -(2**63), True, False, 0.0, -0.0, 2.5, NAN, NEG_NAN,
         INF, -INF, 1e308, TINY]
G = 1.5 - 2j  # a global constant


# ------------------------------------------------------------------ the corpus


def add(z, w):
    return z + w


def sub(z, w):
    return z - w


def mul(z, w):
    return z * w


def div(z, w):
    return z / w


def power(z, w):
    return z ** w


def square(z):
    return z ** 2


def inverse_cube(z):
    return z ** -3


def root(z):
    return z ** 0.5


def power_100(z):
    return z ** 100


def power_101(z):
    return z ** 101.0


def negated(z):
    return -z


def unary_plus(z):
    return +z


def parts(z):
    return z.real - z.imag * 2.0


def conjugated(z):
    return z.conjugate()


def made(a, b):
    return complex(a, b)


def made_one(a):
    return complex(a)


def made_none():
    return complex() + 1  # noqa: UP018 (the call is what is tested)


def equal(z, w):
    return z == w


def unequal(z, w):
    return z != w


def truth(z):
    if z:
        return 1
    return not z


def horner(z):
    return ((3 * z + 2) * z - 1j) * z + 0.5


def quadratic(z, a, b, c):
    return a * z ** 2 + b * z + c


def range_sum(n, z):
    s = 0j
    for k in range(n):
        s += complex(k, -k) / (k + z)
    return s


def int_then_complex(n, z):
    s = 0
    for k in range(n):
        s = s * z + k
    return s


def mixed(z, x):
    return (z * x + x * z) - (x - z) / (z + 1j) + z / x


def reversed_ops(x, z):
    return x / z + x ** z


def cmath_calls(z):
    return cmath.sqrt(z) + cmath.exp(z) * cmath.phase(z) + cmath.log(z, 2.0)


def rect(r, phi):
    return cmath.rect(r, phi) * 2


def conjugate_loop(z, w, n):
    for _ in range(n):
        z = z.conjugate() * w + 0.25
    return z


def first_bound_in_loop(n, z):
    for k in range(n):
        w = z * k
    return w


def global_constant(z):
    return z * G - 2j


def big_constant(z):
    return z + 10**400


def big_int_mixed(z):
    return z * (2**53 + 1) + (2**63 - 1)  # each int rounded to a double (PyLong_AsDouble)


def real_numbers(x, n):
    return x.real + x.imag + x.conjugate() + n.real * 2 + n.imag + n.conjugate()


def through_capi(z):
    return hash(z) + 1


def zero_divisors(z, k):
    return z / k + z / float(k)


def int_equal(z, n):
    return z == n, z != n


def magnitude_loop(z, n):
    total = 0.0
    for k in range(n):
        total += abs(z * k) + abs(-z).real
    return total


def abs_bounds(z):
    n = 0
    if abs(z) > 2.0:  # each abs() only compared with a constant: decided from |z|**2
        n += 1
    if abs(z) >= 5:
        n += 2
    if 5.0 == abs(z):
        n += 4
    if abs(z) < 1e-50:
        n += 8
    if abs(z) != 3:
        n += 16
    return n


#: |z| at or a rounding away from the bounds abs_bounds compares with
NEAR_BOUNDS = [complex(1.2, 1.6), complex(2.0000000000000004, 0.0), 3 + 4j, 4 + 3j,
               complex(1.9999999999999998, 0.0), complex(0.0, -2.0), complex(-3.0, -0.0),
               complex(1.4142135623730951, 1.4142135623730951), complex(1e-50, 0.0),
               complex(7.0710678118654755e-51, 7.0710678118654755e-51),
               complex(3.0000000000000004, 0.0), complex(1.5e308, 1.5e308),
               complex(2.9999999999999996, 0.0), complex(0.6, 0.8) * 5]

def tuple_of_complex(z, w):
    t = (z + w, z * w, 1.5)
    a, b, c = t
    return t[0] - b * c, a, z.imag


CORPUS: list[tuple[object, list[tuple[object, ...]]]] = [
    (add, list(itertools.product(EDGES, repeat=2))),
    (sub, list(itertools.product(EDGES, repeat=2))),
    (mul, list(itertools.product(EDGES, repeat=2))),
    (div, list(itertools.product(EDGES, repeat=2))),
    (power, list(itertools.product(FEW, [*FEW, 2 + 0j, -3 + 0j, 100 + 0j, 101 + 0j, 0.5j]))),
    (power, [(z, n) for z in FEW for n in (0, 1, 2, 3, -1, -2, 7, 100, 101, -100, True)]),
    (power, [(z, x) for z in FEW for x in (0.0, 2.0, -2.0, 0.5, 100.0, 1e300, NAN, INF)]),
    (square, [(z,) for z in EDGES]),
    (inverse_cube, [(z,) for z in EDGES]),
    (root, [(z,) for z in EDGES]),
    (power_100, [(z,) for z in EDGES]),
    (power_101, [(z,) for z in EDGES]),
    (negated, [(z,) for z in EDGES]),
    (unary_plus, [(z,) for z in EDGES]),
    (magnitude, [(z,) for z in EDGES]),
    (parts, [(z,) for z in EDGES]),
    (conjugated, [(z,) for z in EDGES]),
    (made, [(a, b) for a in (*REALS[:10], 1 + 2j, complex(NAN, -0.0))
            for b in (0, -0.0, 2.5, NEG_NAN, True, 3 - 4j, complex(-0.0, INF))]),
    (made_one, [(a,) for a in (*REALS, *FEW)]),
    (made_none, [()]),
    (equal, list(itertools.product(FEW, FEW))),
    (equal, [(z, x) for z in (*FEW, 5 + 0j, complex(2**53, 0.0)) for x in REALS]),
    (unequal, list(itertools.product(FEW, FEW))),
    (unequal, [(x, z) for z in (*FEW, 1 + 0j) for x in REALS]),
    (truth, [(z,) for z in EDGES]),
    (mandel, [(c,) for c in (0j, 0.3 + 0.5j, -0.5 + 0.1j, -2 + 0j, 2 + 2j, -0.75 + 0.1j,
                             complex(NAN, 0.0), complex(INF, 0.0))]),
    (horner, [(z,) for z in EDGES]),
    (quadratic, [(z, a, b, c) for z in FEW[:4] for a, b, c in
                 ((1, -2, 1), (0.5, 1j, -3.0), (1 + 1j, True, 0), (2.0, -0.0, 1e308))]),
    # (k + z == 0: ZeroDivisionError at k = 0, 2)
    (range_sum, [(n, z) for n in (0, 1, 5, 40) for z in (1j, 0.5 + 0j, complex(-0.0, -1.0))]
     + [(2, 0j), (3, -2 + 0j)]),
    (int_then_complex, [(n, z) for n in (0, 1, 2, 6) for z in (1j, 0.5 - 0.5j, 0j)]),
    (mixed, [(z, x) for z in FEW for x in (1, -3, 2**62 + 1, True, 0.5, -0.0, NAN, INF, 1e-310)]),
    (reversed_ops, [(x, z) for x in (2, 0, -1.5, True, 0.0, 2**62 + 1) for z in FEW]),
    (cmath_calls, [(z,) for z in (1 + 2j, -1 + 0j, 0.5j, complex(NAN, 1.0), 1e308 + 0j)]),
    (rect, [(r, phi) for r in (1.0, 2, -0.0, INF) for phi in (0.0, 1, 3.14, NAN, INF)]),
    (conjugate_loop, [(z, w, n) for z in FEW[:4] for w in (1j, 0.5 + 0.5j) for n in (0, 3, 50)]),
    (first_bound_in_loop, [(n, z) for n in (0, 1, 4) for z in (1j, complex(NAN, 1.0))]),
    (global_constant, [(z,) for z in EDGES]),
    (big_constant, [(z,) for z in FEW]),
    (big_int_mixed, [(z,) for z in FEW]),
    (real_numbers, [(x, n) for x in (0.0, -0.0, 2.5, NAN) for n in (0, -3, True, False)]),
    # (a nan's hash is its object's address: CPython's own answers differ call by call)
    (through_capi, [(z,) for z in FEW if not cmath.isnan(z)]),
    (zero_divisors, [(z, k) for z in FEW for k in (0, 1, -2, True, False)]),
    (int_equal, [(z, n) for z in (2 + 0j, complex(2.0, -0.0), 2 + 1j, complex(2**53, 0.0),
                                  complex(NAN, 0.0)) for n in (2, 2**53, 2**53 + 1, -1)]),
    (magnitude_loop, [(z, n) for z in FEW for n in (0, 3)]),
    (abs_bounds, [(z,) for z in (*EDGES, *NEAR_BOUNDS)]),
    (tuple_of_complex, list(itertools.product(FEW, FEW))),
]

#: corpus functions a compile declines (an Unsupported reason), with the reason's words
DECLINED: dict[object, str] = {}


def _native_ok(func: object, inputs: list[tuple[object, ...]]) -> None:
    """Every input answers as CPython does; some input answers natively (no bailout)."""
    statuses = [check(func, *args, may_bail=_may_bail(func)) for args in inputs]
    assert Status.OK in statuses or func in _RAISES_ALWAYS, (
        f"{func.__name__} never answered natively: {set(statuses)}")


def _may_bail(func: object) -> bool:
    # an int constant past int64 deoptimises where it is loaded (CPython computes with it)
    return func is big_constant


_RAISES_ALWAYS = {big_constant}


@pytest.mark.parametrize(("func", "inputs"), CORPUS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CORPUS)])
def test_complex_corpus_answers_exactly_as_cpython(func, inputs):
    if func in DECLINED:
        with pytest.raises(Unsupported):
            lower(func, kinds_of(inputs[0]))
        return
    _native_ok(func, inputs)


@pytest.mark.parametrize(("func", "inputs"), CORPUS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CORPUS)])
def test_every_complex_site_resumes_exactly(func, inputs):
    if func in DECLINED:
        return
    groups: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    for args in inputs:
        groups.setdefault(kinds_of(args), []).append(args)
    for group in groups.values():
        force_every_site(func, group)
    forget(func)


def test_the_corpus_is_large_enough():
    assert len({f for f, _ in CORPUS} - set(DECLINED)) >= 25


def test_a_complex_argument_is_its_own_kind():
    assert Kind.of(1j) is Kind.COMPLEX
    compiled = compile_function(add, (Kind.COMPLEX, Kind.COMPLEX))
    assert compiled.call(1 + 2j, 3j) == (Status.OK, 1 + 5j)


# ------------------------------------------------------------------ native callees


def step(z, c):
    return z * z + c


def escape(z):
    c = z
    for n in range(80):
        if abs(z) > 2.0:
            return n
        z = step(z, c)
    return 80


def grid(reps):
    total = 0
    for _ in range(reps):
        for i in range(21):
            for r in range(26):
                total += escape(complex(-2.0 + 0.1 * r, -1.0 + 0.1 * i))
    return total


def twice_divided(z, w):
    return step(z / w, w) + step(w, z)


def test_native_callees_take_and_return_complex_numbers():
    for args in [(0,), (1,), (2,)]:
        assert check(grid, *args) is Status.OK
    assert grid(1) == 14791  # Julia's mandelperf sum
    lowered = lower(grid, (Kind.INT,))
    assert "escape" in lowered.callees and "step" in lowered.callees
    for args in itertools.product(FEW, FEW):
        check(twice_divided, *args)
    force_every_site(twice_divided, list(itertools.product(FEW, FEW)))
    force_every_site(grid, [(1,)])


def test_only_abs_results_compared_with_one_constant_skip_hypot():
    from autotier.frontend import cpower
    from autotier.frontend.program import build_program

    def bounds(func, kinds):
        program = build_program(func, kinds)
        return sorted(cpower.compared_abs(program.typed[program.root].func).values())

    assert bounds(abs_bounds, (Kind.COMPLEX,)) == [1e-50, 2.0, 3.0, 5.0, 5.0]
    assert bounds(mandel, (Kind.COMPLEX,)) == [2.0]
    assert bounds(magnitude, (Kind.COMPLEX,)) == []  # returned: hypot's own value
    assert bounds(magnitude_loop, (Kind.COMPLEX, Kind.INT)) == []  # added up
