"""numpy scalar ``//``, ``%``, ``**``, ``<<``, ``>>`` lowered natively (frontend/npdivpow.py).

Differential: every operator over every pair of operand types (the eleven numpy kinds
and Python's int, float, bool; one numpy operand at least) and edge values of each (0,
-1, min, max, nan, -0.0, inf, the least subnormal, a signalling nan, Python ints past
the kind), run natively and by CPython (``harness.check``: value and exact numpy type,
exception type and message, warnings, resumed frames), under numpy's default error
state and under ``errstate(all='raise')``.  Beside the harness's comparison each call's
status is checked against npscalars: where its trap predicate (or the underflow guard
native code adds, since it never reads the error state) does not hold the call must
answer natively (``Status.OK``: it did compile and run natively), where it holds it
must deoptimise (``Status.NUMPY``).  What npscalars declines (float ``**`` on numpy's
ufunc path) must stay declined with its reason; what numpy refuses is its TypeError.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autotier.abi import Status
from autotier.frontend import Unsupported
from autotier.frontend import npscalars as ns
from autotier.frontend.kinds import BinOp
from tests.frontend.harness import check, compile_function, force_every_site, forget, kinds_of
from tests.frontend.test_npscalars import survey  # tools/npscalar_survey.py, loaded once


def floordiv(x, y):
    return x // y


def mod(x, y):
    return x % y


def power(x, y):
    return x ** y


def lshift(x, y):
    return x << y


def rshift(x, y):
    return x >> y


FUNCS: dict[BinOp, Callable[[Any, Any], Any]] = {
    BinOp.FLOORDIV: floordiv, BinOp.MOD: mod, BinOp.POW: power, BinOp.LSHIFT: lshift,
    BinOp.RSHIFT: rshift,
}
# The pairs every rule runs (all of them, under both error states), beside RANDOM ones
# drawn from every edge value (the survey's) under the default state; every one of
# those under AUTOTIER_STRESS=1.
STRESS = os.environ.get("AUTOTIER_STRESS") == "1"
RANDOM_PAIRS: int | None = None if STRESS else 10
I64 = (-(2**63), 2**63 - 1)


def core_values(x: ns.Operand) -> list[ns.Number]:
    """A few edge values of an operand (a Python int: those an argument can be)."""
    if x is bool or x == ns.BOOL:
        return [False, True]
    if x is int:
        return [0, 1, -1, 3, 8, 64, 200, -129, I64[1], I64[0]]
    if x is float:
        return [0.0, -0.0, -1.0, 2.5, 1e-300, math.inf, math.nan]
    assert isinstance(x, ns.NpKind)
    if x.is_int:
        return sorted({0, 1, 3, x.bits, x.max} | ({-1, -7, x.min} if x.min else set()))
    tiny = 1e-45 if x is ns.FLOAT32 else 5e-324
    vals = [0.0, -0.0, 1.0, -2.5, 7.0, 1e30, tiny, -math.inf, math.nan]
    return [ns.round_f32(v) if x is ns.FLOAT32 else v for v in vals]


def _arg(x: ns.Operand, v: ns.Number) -> bool:
    return x is not int or I64[0] <= int(v) <= I64[1]  # an argument native code takes


def pairs_for(left: ns.Operand, right: ns.Operand, rng: random.Random
              ) -> tuple[list[tuple[ns.Number, ns.Number]], list[tuple[ns.Number, ns.Number]]]:
    core = [(a, b) for a in core_values(left) for b in core_values(right)]
    every = [(a, b) for a in survey.edge_values(left) for b in survey.edge_values(right)
             if _arg(left, a) and _arg(right, b)]
    if RANDOM_PAIRS is None:
        return core, every
    return core, rng.sample(every, min(RANDOM_PAIRS, len(every)))


def _least_normal(kind: ns.NpKind) -> float:
    return 1.1754943508222875e-38 if kind is ns.FLOAT32 else 2.2250738585072014e-308


def deoptimises(rule: ns.BinaryRule, a: ns.Number, b: ns.Number) -> bool:
    """Where native code leaves the operation to numpy: npscalars' trap, or (floats) the
    underflow guard (npdivpow's doc): ``a / b`` below the least normal magnitude with
    ``a`` nonzero for ``//`` and ``%``, a power below it with a nonzero base."""
    if ns.evaluate(rule, a, b).trap is not None:
        return True
    k = rule.compute
    assert k is not None
    if not k.is_float:
        return False
    x = float(ns.convert(a, rule.left, k).value)
    y = float(ns.convert(b, rule.right, k).value)
    if rule.op is BinOp.POW:
        r = ns.c_pow(k, x, y)
    else:  # (y is nonzero: else the trap)
        r = ns.round_f32(x / y) if k is ns.FLOAT32 else x / y
    return abs(r) < _least_normal(k) and x != 0


def run_pair(fn: Callable[[Any, Any], Any], rule: ns.BinaryRule | None, left: ns.Operand,
             right: ns.Operand, a: ns.Number, b: ns.Number, int_bits: int = 64) -> Status:
    x, y = survey.make(left, a), survey.make(right, b)
    status = check(fn, x, y, int_bits=int_bits)
    where = f"{fn.__name__}({x!r}, {y!r})"
    if rule is None:  # numpy refuses: its TypeError, raised by the interpreter
        assert status is not Status.OK, where
    elif deoptimises(rule, a, b):
        assert status is Status.NUMPY, f"{where}: {status.name}, numpy traps"
    else:
        assert status is Status.OK, f"{where}: {status.name}, not answered natively"
    return status


def combos() -> list[tuple[ns.Operand, ns.Operand]]:
    return [(left, right) for left in survey.OPERANDS for right in survey.OPERANDS
            if isinstance(left, ns.NpKind) or isinstance(right, ns.NpKind)]


@pytest.mark.parametrize("op", list(FUNCS), ids=lambda op: op.name)
def test_every_kind_pair_against_cpython(op: BinOp) -> None:
    fn = FUNCS[op]
    rng = random.Random(f"npscalar ops {op.name}")
    native = declined = refused = 0
    statuses: set[Status] = set()
    for left, right in combos():
        core, sampled = pairs_for(left, right, rng)
        try:
            rule: ns.BinaryRule | None = ns.binary(op, left, right)
        except ns.NumpyRefuses:
            rule = None
            refused += 1
        except Unsupported as exc:  # float ** on numpy's ufunc path: declined, a reason
            assert op is BinOp.POW and "ufunc" in exc.reason, exc.reason
            x, y = survey.make(left, core[0][0]), survey.make(right, core[0][1])
            with pytest.raises(Unsupported, match="ufunc loop"):
                compile_function(fn, kinds_of((x, y)))
            declined += 1
            continue
        native += rule is not None
        for a, b in core + sampled:
            statuses.add(run_pair(fn, rule, left, right, a, b))
        with np.errstate(all="raise"):
            for a, b in core:
                statuses.add(run_pair(fn, rule, left, right, a, b))
        if int in (left, right):  # a Python int held as i128 (a bead's after an overflow)
            for a, b in core:
                run_pair(fn, rule, left, right, a, b, int_bits=128)
        forget(fn)
    assert native + declined + refused == 14 * 14 - 9
    assert statuses >= {Status.OK, Status.NUMPY}
    if op in (BinOp.LSHIFT, BinOp.RSHIFT):
        assert refused and not declined  # float shifts: numpy's TypeError
    if op is BinOp.POW:
        assert declined  # int8 ** 1.5 and the like
    assert native > 100


def test_the_issues_examples_in_loops() -> None:
    """``a[i] // 2`` of an int64 array, ``x % 1.0`` of a float64 element, ``a[i] ** 2``,
    ``a[i] << 3``: native (the call answers OK), numpy's results, every site forced."""
    inputs = [
        (np.arange(-5, 6), np.linspace(-3.0, 3.0, 11)),
        (np.array([-(2**31), 7, 0]), np.array([-0.0, 1e150, 2.5])),
    ]
    for args in inputs:
        assert check(kernel, *args) is Status.OK
    # a zero, an infinite element: numpy answers (and warns) from that iteration on
    for args in [(np.array([1, 2]), np.array([1.5, np.inf])),
                 (np.array([3, 4]), np.array([np.nan, 1.0]))]:
        assert check(kernel, *args) is Status.NUMPY
    coverage = force_every_site(kernel, inputs)
    assert not coverage.unexecuted, [s.describe() for s in coverage.unexecuted]


def kernel(a, f):
    total = 0
    rest = 0.0
    for i in range(len(a)):
        total += a[i] // 2 + a[i] % 5 + (a[i] << 3) + (a[i] >> 1) + a[i] ** 2
        rest += f[i] % 1.0 + f[i] // 0.5 + f[i] ** 2
    return total + rest


def test_results_of_each_kind_are_exact_numpy_types() -> None:
    cases = [
        (floordiv, np.int8(-7), 2, np.int8), (mod, np.uint16(7), np.uint8(3), np.uint16),
        (power, np.int32(3), 5, np.int32), (lshift, np.uint64(1), 63, np.uint64),
        (rshift, np.int16(-8), np.int8(1), np.int16), (floordiv, np.True_, np.True_, np.int8),
        (mod, np.float32(-7.5), 2, np.float32), (floordiv, np.int16(7), 2.0, np.float64),
        (power, np.float32(1.5), 3, np.float32), (power, 2.0, np.float64(0.5), np.float64),
        (mod, 7, np.int64(-3), np.int64), (lshift, True, np.int8(3), np.int8),
    ]
    for fn, x, y, t in cases:
        compiled = compile_function(fn, kinds_of((x, y)))
        status, value = compiled.call(x, y)
        assert status is Status.OK and type(value) is t, (fn.__name__, x, y, status, value)
        assert value == fn(x, y)


def test_traps_deoptimise_and_numpy_warns_or_raises() -> None:
    """numpy's own warnings and errors, by the interpreter after the deoptimisation."""
    cases: list[tuple[Callable[[Any, Any], Any], Any, Any, str]] = [
        (floordiv, np.int64(5), 0, "divide by zero encountered in scalar floor_divide"),
        (mod, np.int8(5), np.int8(0), "divide by zero encountered in scalar remainder"),
        (floordiv, np.int32(-(2**31)), -1, "overflow encountered in scalar floor_divide"),
        (power, np.int64(2), -1, "Integers to negative integer powers are not allowed."),
        (power, np.int8(2), 1000, "Python integer 1000 out of bounds for int8"),
        (floordiv, np.float64(1.0), 0.0, "divide by zero encountered in scalar floor_divide"),
        (power, np.float64(10.0), 400.0, "overflow encountered in scalar power"),
    ]
    for fn, x, y, message in cases:
        assert check(fn, x, y) is Status.NUMPY
        with np.errstate(all="raise"):
            assert check(fn, x, y) is Status.NUMPY
        with pytest.warns(RuntimeWarning, match=message) if "encountered" in message else \
                pytest.raises((ValueError, OverflowError), match=message):
            fn(x, y)
    # an underflow numpy ignores by default and raises under 'raise': native code
    # never reads the state, so it deoptimises either way
    for fn, x, y in ((floordiv, np.float64(1e-300), 1e300), (power, np.float64(1e-200), 2)):
        assert check(fn, x, y) is Status.NUMPY
        with np.errstate(under="raise"):
            with pytest.raises(FloatingPointError, match="underflow"):
                fn(x, y)
            assert check(fn, x, y) is Status.NUMPY


def big_floordiv(x):
    return x // 10**30


def big_pow(x):
    return x ** (2**64 + 1)


def big_lshift(x):
    return x << -(2**70)


def big_mod(x):
    return (2**100) % x


@pytest.mark.parametrize("fn", [big_floordiv, big_pow, big_lshift, big_mod],
                         ids=lambda f: f.__name__)
def test_huge_python_ints(fn: Callable[[Any], Any]) -> None:
    """A Python int past int64 (a constant: no argument native code takes is one), at 64
    and 128 bits: whatever native code does (the constant bails today), the answer, its
    exception and warnings are CPython's."""
    for x in (np.int64(5), np.uint8(3), np.float64(2.5), np.float32(-3.0), np.True_,
              np.float64(np.nan)):
        for bits in (64, 128):
            check(fn, x, may_bail=True, int_bits=bits)
            with np.errstate(all="raise"):
                check(fn, x, may_bail=True, int_bits=bits)


def test_integer_power_wraps_like_numpy() -> None:
    rng = random.Random("npscalar int power")
    for kind in ns.INT_KINDS:
        for _ in range(40):
            a = rng.randint(kind.min, kind.max)
            b = rng.randint(0, min(kind.max, 300))
            x, y = kind.type(a), kind.type(b)
            assert check(power, x, y) is Status.OK
            assert check(power, x, b) is (Status.OK if b <= kind.max else Status.NUMPY)


def _random(rng: random.Random, x: ns.Operand) -> ns.Number:
    if x is float or x == ns.FLOAT64:
        return rng.choice([1, -1]) * 10.0 ** rng.uniform(-30, 30)
    if x == ns.FLOAT32:
        return ns.round_f32(rng.choice([1, -1]) * 10.0 ** rng.uniform(-30, 30))
    if x is bool or x == ns.BOOL:
        return rng.random() < 0.5
    assert isinstance(x, ns.NpKind)
    return rng.randint(x.min, x.max)


# float // and % on numpy's scalar path and (a bool on the left, a result neither
# operand's kind) on its ufunc loop, which npscalars says computes the same
DIVMOD_PAIRS: list[tuple[ns.Operand, ns.Operand]] = [
    (ns.FLOAT32, ns.FLOAT32), (ns.FLOAT64, ns.FLOAT64), (ns.FLOAT32, float),
    (float, ns.FLOAT64), (ns.INT8, ns.FLOAT32), (ns.INT32, float), (ns.INT64, ns.FLOAT32),
    (ns.BOOL, ns.FLOAT64), (float, ns.UINT16),
]


def test_float_divmod_matches_numpy_on_random_values() -> None:
    rng = random.Random("npscalar float divmod")
    for left, right in DIVMOD_PAIRS:
        for op in (BinOp.FLOORDIV, BinOp.MOD):
            rule = ns.binary(op, left, right)
            for _ in range(40):
                a, b = _random(rng, left), _random(rng, right)
                x, y = survey.make(left, a), survey.make(right, b)
                status = check(FUNCS[op], x, y)
                assert status is (Status.NUMPY if deoptimises(rule, a, b) else Status.OK), (
                    op, x, y, status)
        assert rule.scalar_path or (left, right) not in DIVMOD_PAIRS[:5]


def test_float_pow_matches_numpy_on_random_values() -> None:
    """C's pow and powf, bit for bit numpy's scalar power: random magnitudes, negative
    bases with integral exponents, Python int and float exponents (NEP 50: in the
    numpy operand's kind)."""
    rng = random.Random("npscalar float pow")
    for kind in (ns.FLOAT32, ns.FLOAT64):
        for _ in range(150):
            a = rng.choice([1, -1]) * 10.0 ** rng.uniform(-5, 5)
            b = float(rng.randint(-12, 12)) if a < 0 else rng.uniform(-20, 20)
            x = survey.make(kind, a)
            for y in (survey.make(kind, b), b, int(b)):
                rule = ns.binary(BinOp.POW, kind, ns.kind_of(type(y)) or type(y))
                status = check(power, x, y)
                assert status is (Status.NUMPY if deoptimises(rule, float(x), y)
                                  else Status.OK), (x, y, status)
