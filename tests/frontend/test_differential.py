"""Differential tests: every construct the frontend compiles, against CPython.

Each case compiles a kernel once per argument-kind signature (harness cache) and
checks every input: same value and exact type when CPython returns, a bailout when
CPython raises.
"""

from __future__ import annotations

import itertools
import math
import struct

import pytest

from autotier.abi import Status
from tests.frontend import kernels as k
from tests.frontend.harness import check, compile_function, kinds_of

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
INF = math.inf
NAN = math.nan
NEG_NAN = -math.nan
PAYLOAD_NAN = struct.unpack("<d", struct.pack("<Q", 0xFFF800000000BEEF))[0]

INTS = [0, 1, -1, 2, 7, -7, 3, 100, I64_MAX, I64_MIN]
FLOATS = [0.0, -0.0, 1.5, -2.5, 3.0, 1e308, -1e-300, INF, -INF, NAN, NEG_NAN, PAYLOAD_NAN]
BOOLS = [True, False]
SCALARS = INTS + FLOATS + BOOLS
SMALL = [0, 1, -1, 5, -3, 2.5, -0.0, 0.0, 7.0, True, False, NAN, NEG_NAN, INF]


def _pairs(values):
    return list(itertools.product(values, repeat=2))


# Binary kernels whose bail-outs must come only from CPython raising or big ints.
STRICT_BINARY = [k.add, k.sub, k.mul, k.truediv, k.floordiv, k.mod, k.band, k.bor, k.bxor,
                 k.lt, k.le, k.eq, k.ne, k.gt, k.ge, k.and_value, k.or_value, k.bool_arith,
                 k.bool_ops, k.minimum, k.maximum]


@pytest.mark.parametrize("func", STRICT_BINARY, ids=lambda f: f.__name__)
def test_binary_operators(func):
    for a, b in _pairs(SCALARS):
        check(func, a, b)


def test_power():
    for a, b in _pairs([0, 1, -1, 2, 3, -2, 10, 0.5, -0.5, 2.0, -0.0, INF, NAN, True, False]):
        check(k.power, a, b, may_bail=True)  # int ** negative int bails (CPython: float)
    for a, b in [(2, 10), (3, 3), (-2, 5), (2.0, 0.5), (2, 62), (7, 0), (1.5, 2)]:
        assert check(k.power, a, b) is Status.OK
    assert check(k.power, 2, 64) is not Status.OK  # a big int


def test_shifts():
    values = [0, 1, -1, 5, -5, 63, 64, 100, I64_MAX, I64_MIN, True, False, 1.5]
    for a, b in _pairs(values):
        check(k.lshift, a, b)
        check(k.rshift, a, b)
    for a, b in [(1, 3), (-8, 2), (5, 0), (True, True)]:
        assert check(k.shifts, a, b) is Status.OK


@pytest.mark.parametrize("func", [k.neg, k.pos, k.invert, k.logical_not, k.truthy, k.to_bool,
                                  k.absolute, k.to_int, k.to_float, k.rounded, k.sign,
                                  k.classify, k.no_arg_builtins, k.polynomial],
                         ids=lambda f: f.__name__)
def test_unary(func):
    for x in [*SCALARS, 0.5, 1.5, 2.5, -0.5, -1.5, 2.675, 1e18, 9.3e18, -9.3e18, 4.5e15 + 0.5]:
        if func is k.polynomial and type(x) is int and abs(x) > 10**9:
            check(func, x, may_bail=True)  # 3*x*x overflows int64
        else:
            check(func, x)


def test_mixed_and_augmented():
    for a, b in _pairs([0, 1, -3, 4, 2.5, -0.0, True, INF]):
        check(k.mixed, a, b)
        check(k.augmented, a, b)
    assert check(k.augmented, I64_MAX, 1, may_bail=True) is Status.INT64_OVERFLOW


def test_chained_comparisons():
    for a, b, c in itertools.product([0, 1, 2, 1.5, NAN, True, -1], repeat=3):
        check(k.chained, a, b, c)
        check(k.chained_long, a, b, c)


def test_int_float_comparisons_are_exact():
    big = 2**53 + 1
    for a, b in [(big, float(big)), (float(big), big), (I64_MAX, 9.223372036854776e18),
                 (I64_MIN, -9.223372036854776e18), (1, NAN), (NAN, 1), (3, INF), (-INF, 3)]:
        for func in (k.lt, k.le, k.eq, k.ne, k.gt, k.ge):
            check(func, a, b)


def test_and_or_return_operands():
    for a, b, c in itertools.product([0, 2, 0.0, -0.0, 1.5, NAN, True, False], repeat=3):
        check(k.and_or, a, b, c)
        check(k.conditional, a, b, c)


def test_if_elif_else_and_kinds_per_path():
    for x in SCALARS:
        check(k.sign, x)
        check(k.classify, x)
        check(k.early_return, 5) if x == 0 else None
    for n in [-2, 0, 1, 2, 10, 30]:
        check(k.early_return, n)


def test_while_break_continue_else():
    for n in [-1, 0, 1, 2, 3, 10, 49, 50, 51, 100]:
        check(k.while_loop, n)
    for n in [1, 2, 3, 7, 27, 97, 871]:
        check(k.collatz, n)


def test_for_range_one_two_three_arguments():
    for n in [-5, 0, 1, 2, 10, 1000, True, False]:
        check(k.sum_range1, n)
    for a, b in _pairs([-5, 0, 3, 10, True]):
        check(k.sum_range2, a, b)
    for a, b, step in itertools.product([-7, 0, 5, 12], [-7, 0, 5, 12], [-3, -1, 1, 2, 5]):
        check(k.sum_range3, a, b, step)
        check(k.count_range, a, b, step)
        check(k.last_of_range, a, b, step)


def test_range_edges():
    cases = [(I64_MIN, I64_MIN + 3, 1), (I64_MAX - 2, I64_MAX, 1), (I64_MAX, I64_MAX - 3, -1),
             (I64_MIN, I64_MAX, I64_MAX), (I64_MAX, I64_MIN, I64_MIN), (0, I64_MAX, 2**62),
             (I64_MAX, I64_MIN, -(2**62)), (5, 5, 1), (5, 6, I64_MAX), (6, 5, I64_MIN)]
    for a, b, step in cases:
        check(k.count_range, a, b, step)
        check(k.last_of_range, a, b, step)


def test_range_step_zero_bails():
    assert check(k.count_range, 0, 10, 0) is Status.VALUE
    assert check(k.sum_range1, 2.5) is not Status.OK  # range(float): TypeError


def test_for_else_and_nested_loops():
    for n, target in _pairs([-1, 0, 1, 3, 8]):
        check(k.for_else, n, target)
    for n in [0, 1, 5, 20]:
        check(k.nested_loops, n)


def test_float_loop():
    for n in [0, 1, 10, 1000]:
        check(k.float_loop, n)


def test_variable_changing_kind_keeps_python_type():
    assert check(k.changing_kind, 0) is Status.OK  # int 0
    for n in [0, 1, 2, 7]:
        check(k.changing_kind, n)
    for n, x in itertools.product([0, 2, 4, 5, 6, 7, 8], [1.5, -2, True, NAN]):
        check(k.changing_kind_twice, n, x)
    for n in [-1, 0, 5, 11, 20]:
        check(k.abs_of_union, n)
        check(k.calls_with_union, n)


def test_unbound_locals_bail():
    assert check(k.unbound_after_loop, 0) is Status.VALUE
    assert check(k.unbound_after_loop, 3) is Status.OK
    assert check(k.maybe_unbound, False) is Status.VALUE
    assert check(k.maybe_unbound, True) is Status.OK


def test_tuple_unpacking_and_swaps():
    for n in [0, 1, 2, 10, 50, 91]:
        check(k.fib_iter, n)
    check(k.fib_iter, 92, may_bail=True)  # fib(93), computed alongside, overflows
    assert check(k.fib_iter, 93) is Status.INT64_OVERFLOW
    for a, b, c in [(1, 2, 3), (1.5, 2, True), (0, -0.0, 5)]:
        check(k.swap3, a, b, c)
    for a, b in _pairs([0, 12, 18, -4, 7, I64_MIN]):
        check(k.gcd, a, b)


def test_globals_are_constants():
    for x in [0, 2, -1.5, True]:
        check(k.uses_globals, x)
    names = {(d.name, type(d.value).__name__) for d in compile_function(
        k.uses_globals, kinds_of((1,))).lowered.deps}
    assert {("SCALE", "int"), ("RATE", "float"), ("FLAG", "bool")} <= names


def test_min_max():
    values = [0, 1, -1, 1.0, -0.0, 0.0, NAN, True, False, I64_MAX, INF]
    for a, b in _pairs(values):
        check(k.minimum, a, b)
        check(k.maximum, a, b)
    for a, b, c in itertools.product([0, 1.0, NAN, True, -2], repeat=3):
        check(k.min3, a, b, c)
        check(k.max3, a, b, c)


def test_round_int_float_conversions():
    for x in [0.5, 1.5, 2.5, -0.5, -1.5, 1e300, NAN, INF, -INF, 9.2e18, -9.3e18, 3, True]:
        check(k.rounded, x)
        check(k.to_int, x)
        check(k.to_float, x)


def test_math_functions():
    for x in [0, 1, -1, 2, 0.5, -0.5, 3.7, -2.2, 100, True, 1e-300, -0.0]:
        check(k.math_one, x)
        check(k.math_rounding, x)
        check(k.math_predicates, x)
        check(k.math_constants, x)
        check(k.math_trig_inverse, x)
        check(k.math_logs, x)
        check(k.imported_function, x)
    for x in [NAN, INF, -INF, 1e308, 1e301]:
        check(k.math_predicates, x)
        check(k.math_rounding, x)
        check(k.math_constants, x)
        check(k.math_nan, x)
        check(k.math_logs, x)
    for x, y in _pairs([0, 1, -2, 0.5, -0.0, 3.25, INF, NAN, True]):
        check(k.math_two, x, y)
        check(k.sqrt_of_conditional, x, y)


def test_math_domain_errors_bail():
    assert check(k.math_logs, 0.0) is not Status.OK
    assert check(k.math_logs, -1) is not Status.OK
    assert check(k.imported_function, -1.0) is not Status.OK
    assert check(k.math_trig_inverse, 2.0) is not Status.OK


def test_hot_function_calls():
    for n in [0, 1, 2, 10, 20, True, False]:
        check(k.fib, n)
    for n in [0, 1, 7, 10, 50]:
        check(k.is_even, n)
    for n in [0, 3, -4, 2.5, True]:
        check(k.calls_halve, n)
    for n in [0, 1, 5]:
        check(k.countdown, n)
    for n in [0, 1, 2, 3, 8]:
        check(k.grow, n)
    for m, n in [(0, 0), (1, 2), (2, 3), (3, 3)]:
        check(k.ackermann, m, n)


def test_recursion_budget():
    assert check(k.fib, 2.5) is Status.OK
    assert check(k.countdown, 10_000) is Status.RECURSION
    compiled = compile_function(k.fib, kinds_of((10,)))
    assert compiled.call(10, budget=0) == (Status.RECURSION, None)
    assert compiled.call(10, budget=10) == (Status.OK, 55)  # fib(10) ... fib(1): 10 frames
    assert compiled.call(10, budget=9)[0] is Status.RECURSION
    assert check(k.forever, 1) is not Status.OK  # never returns: always bails


def test_bailouts_deep_in_a_recursion_unwind_to_the_body():
    """A program with native calls unwinds its bailouts (longjmp to the exported body):
    whatever the depth the guard fails at, the body bails with that guard's status."""
    for n in [0, 1, 5, 50, 127]:
        assert check(k.deep_sum, n) is Status.OK
    for n in [128, 200, 300]:  # 2**50 * n(n+1)/2 leaves int64 somewhere up the chain
        assert check(k.deep_sum, n) is Status.INT64_OVERFLOW
        assert check(k.deep_sum, n, int_bits=128) is Status.OK  # and fits in int128
    assert check(k.deep_sum, 499) is Status.INT64_OVERFLOW
    assert check(k.deep_sum, 600) is Status.RECURSION  # past the harness' 500 frames
    compiled = compile_function(k.loop_then_recurse, kinds_of((3, 10)))
    for budget in (3, 4, 100):  # a loop in every frame, then a bailout at depth 4
        status, value = compiled.call(3, 10, budget=budget)
        assert (status, value) == ((Status.OK, 13) if budget > 3 else (Status.RECURSION, None))
    for args in [(0, 0), (3, 10), (20, 1000), (5, -1), (2.5, 3), (True, 2)]:
        check(k.loop_then_recurse, *args)


def test_calls_of_hot_functions_bind_keywords_and_defaults():
    for x in [0, 1, -3, 2.5, -0.0, True, I64_MAX, NAN]:
        check(k.calls_with_defaults, x, may_bail=True)  # int64 overflow may bail
    assert check(k.calls_with_defaults, 1.5) is Status.OK
    for a in [0, 5, -7, 2.5, True]:
        assert check(k.calls_with_default, a) is Status.OK  # with_default(a): b=2
    for n in [0, 1, 10, 100]:
        assert check(k.power_sum, n, 2) is Status.OK and check(k.power_sum, n, 3) is Status.OK
    lm = compile_function(k.calls_with_defaults, kinds_of((1.5,))).lowered
    assert [(f.__name__, d) for f, d in lm.defaults] == [("_scaled", (2.0, 1))]


def test_calls_cpython_refuses_raise_cpythons_type_error():
    # made through the C API: CPython binds the call and raises its own TypeError
    assert check(k._calls_posonly_by_keyword, 3, may_bail=True) is Status.RAISED


def test_real_hot_objects_are_called_natively():
    from autotier.abi import hot_target

    assert hot_target(k.real_cube) is k._cube
    for n in [0, 1, 10, 100]:
        assert check(k.real_sum_cubes, n) is Status.OK
    check(k.real_sum_cubes, 10**5, may_bail=True)  # the sum overflows int64 eventually


def _big_constant_on_one_path(a):
    if a > 100:
        return 2**62 * 4 + a  # CPython folds this into one constant beyond int64
    return a + 1


def test_int_constant_beyond_int64_bails_only_where_reached():
    assert check(_big_constant_on_one_path, 5) is Status.OK
    assert check(_big_constant_on_one_path, 500) is not Status.OK  # CPython: a big int


def _maybe_unbound_in_chain(a, b, c):
    if b:
        v = 1
    return c != v != a  # the checked middle operand is copied across the chain's branch


def _maybe_unbound_in_loop(a, b, c):
    w = 0.0
    for i in range(3):
        if b:
            break
        elif i == 1:
            v = 1
        else:
            w = c != v != a
    return w


def test_maybe_unbound_locals_copied_on_the_stack():
    for args in ((1.0, 1.0, 3.0), (1.0, 2.0, 1.0), (1.0, 0.0, 3.0)):
        check(_maybe_unbound_in_chain, *args)
    for args in ((1.0, 0.0, 3.0), (1.0, 1.0, 3.0)):
        check(_maybe_unbound_in_loop, *args)
