"""Property-based differential tests: random ints, floats and bools against CPython."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.frontend import kernels as k
from tests.frontend.harness import check

I64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SMALL = st.integers(min_value=-(2**31), max_value=2**31)
EDGES = st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 2**53, 2**53 + 1, -(2**53) - 1])
INTS = st.one_of(I64, SMALL, EDGES)
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
SCALARS = st.one_of(INTS, FLOATS, st.booleans())
PROFILE = settings(max_examples=150, derandomize=True, deadline=None, database=None)

STRICT = [k.add, k.sub, k.mul, k.truediv, k.floordiv, k.mod, k.lt, k.le, k.eq, k.ne, k.gt,
          k.ge, k.minimum, k.maximum, k.and_value, k.or_value, k.band, k.bor, k.bxor]


@PROFILE
@given(a=SCALARS, b=SCALARS)
def test_binary_kernels(a, b):
    for func in STRICT:
        check(func, a, b)


# Exponents and shift counts stay small or extreme: CPython itself needs seconds and
# gigabytes for 3 ** 2**35 or 1 << 2**33, and the native code bails on both anyway.
SMALL_EXPONENTS = st.one_of(st.integers(min_value=-70, max_value=70), FLOATS, st.booleans())


@PROFILE
@given(a=SCALARS, b=st.one_of(SMALL_EXPONENTS, EDGES))
def test_shifts(a, b):
    check(k.lshift, a, b)
    check(k.rshift, a, b)


@PROFILE
@given(a=SCALARS, b=SMALL_EXPONENTS)
def test_power(a, b):
    check(k.power, a, b, may_bail=True)  # int ** negative int bails (CPython gives a float)


@PROFILE
@given(x=SCALARS)
def test_unary_kernels(x):
    for func in (k.neg, k.pos, k.invert, k.logical_not, k.absolute, k.to_int, k.to_float,
                 k.to_bool, k.rounded, k.sign, k.math_rounding, k.math_predicates):
        check(func, x)


@PROFILE
@given(x=st.one_of(FLOATS, SMALL), y=st.one_of(FLOATS, SMALL))
def test_math_kernels(x, y):
    check(k.math_two, x, y)
    check(k.sqrt_of_conditional, x, y)


@PROFILE
@given(a=st.integers(-1500, 1500), b=st.integers(-1500, 1500), step=st.integers(-5, 5))
def test_range_small(a, b, step):
    check(k.count_range, a, b, step)
    check(k.sum_range3, a, b, step)


@PROFILE
@given(a=I64, b=I64, step=st.one_of(st.integers(2**52, 2**63 - 1),
                                     st.integers(-(2**63), -(2**52))))
def test_range_wide(a, b, step):
    check(k.count_range, a, b, step)  # at most 4096 items, counted without overflow
    check(k.last_of_range, a, b, step)
