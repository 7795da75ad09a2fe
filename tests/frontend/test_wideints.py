"""Wide ints (ints held as i128 after an int64 overflow), against CPython.

Two levels: the i128 helpers of :mod:`autotier.frontend.wideints` called one by one
(ctypes has no 128-bit int, so each is wrapped in a function taking and giving 64-bit
halves), and whole functions -- every function of the end-to-end corpus, and kernels
that overflow int64 -- compiled with ``int_bits=128`` and swept with edge inputs by the
differential harness (exact results; a bailout only where 64-bit code bails too, or
where a result or an operand of a narrowed operation leaves int64).
"""

from __future__ import annotations

import ctypes
import itertools
import operator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llvmlite import ir

from autotier.abi import Kind, Status
from autotier.frontend import numerics
from autotier.frontend.numerics import Numerics
from autotier.frontend.wideints import WIDE_VERSIONS
from autotier.jit import engine
from tests.e2e import corpus
from tests.e2e.test_corpus import NAMES as CORPUS_NAMES
from tests.e2e.test_corpus import inputs as corpus_inputs
from tests.frontend.harness import check, compile_function, hot
from tests.frontend.kernels import factorial, sum_cubes

I64 = ir.IntType(64)
I128 = ir.IntType(128)
INT128_MIN, INT128_MAX = -(2**127), 2**127 - 1
WIDE = sorted(WIDE_VERSIONS.values())
ORACLE = {"int_add_wide": operator.add, "int_sub_wide": operator.sub,
          "int_mul_wide": operator.mul, "int_neg_wide": operator.neg, "int_abs_wide": abs}


def _halves(x: int) -> tuple[int, int]:
    return x & (2**64 - 1), x >> 64


@pytest.fixture(scope="module")
def wide_helpers() -> dict[str, Any]:
    """Each i128 helper as ``f(lo0, hi0, [lo1, hi1,] out[2]) -> status`` via ctypes."""
    module = ir.Module(name=engine.unique_name("wideints_test"))
    nums = Numerics(module)
    names = {}
    for name in WIDE:
        helper = nums.get(name)
        arity = len(helper.function_type.args) - 1
        fnty = ir.FunctionType(ir.IntType(32), [I64] * (2 * arity) + [I64.as_pointer()])
        wrapper = ir.Function(module, fnty, engine.unique_name(f"t_{name}"))
        b = ir.IRBuilder(wrapper.append_basic_block())
        args = []
        for i in range(arity):
            lo, hi = (b.zext(wrapper.args[2 * i + j], I128) for j in (0, 1))
            args.append(b.or_(lo, b.shl(hi, ir.Constant(I128, 64))))
        out = b.alloca(I128)
        status = b.call(helper, [*args, out])
        value = b.load(out)
        b.store(b.trunc(value, I64), wrapper.args[-1])
        high = b.gep(wrapper.args[-1], [ir.Constant(ir.IntType(32), 1)])
        b.store(b.trunc(b.lshr(value, ir.Constant(I128, 64)), I64), high)
        b.ret(status)
        names[name] = (wrapper.name, arity)
    compiled = engine.compile_ir(str(module), [w for w, _ in names.values()])
    out: dict[str, Any] = {}
    for name, (symbol, arity) in names.items():
        proto = ctypes.CFUNCTYPE(ctypes.c_int32, *[ctypes.c_uint64] * (2 * arity),
                                 ctypes.POINTER(ctypes.c_int64 * 2))
        out[name] = (proto(compiled.addresses[symbol]), arity)
    return out


def call_wide(helpers: dict[str, Any], name: str, *args: int) -> tuple[Status, int | None]:
    cfunc, arity = helpers[name]
    assert len(args) == arity
    out = (ctypes.c_int64 * 2)()
    status = Status(cfunc(*(h for a in args for h in _halves(a)), ctypes.byref(out)))
    if status is not Status.OK:
        return status, None
    return status, out[1] * 2**64 + (out[0] & (2**64 - 1))


def must_answer(name: str, args: tuple[int, ...], expected: int) -> bool:
    """Where the helper must return OK: the result fits in int128, except that the
    multiply may bail on an operand or a result of magnitude 2**127 (it works on
    magnitudes below 2**127)."""
    if not INT128_MIN <= expected <= INT128_MAX:
        return False
    if name == "int_mul_wide":
        return all(abs(a) < 2**127 for a in args) and abs(expected) < 2**127
    return True


def check_wide(helpers: dict[str, Any], name: str, *args: int) -> Status:
    status, got = call_wide(helpers, name, *args)
    expected = ORACLE[name](*args)
    if status is Status.OK:
        assert got == expected, f"{name}{args}: {got}, CPython {expected}"
    else:
        assert status is Status.OVERFLOW, f"{name}{args}: {status!r}"
        assert not must_answer(name, args, expected), f"{name}{args} bailed; CPython {expected}"
    return status


EDGES = sorted({0, 1, -1, 2, -2, 3, 7, -7, 2**31, 2**32, 2**53 + 1, 2**62, -(2**62),
                2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, -(2**64),
                3**40, -(3**40), 2**100, -(2**100), 2**126, -(2**126), 2**126 + 1,
                INT128_MAX, INT128_MIN, INT128_MIN + 1, INT128_MAX - 1, 2**127 // 3,
                13407807929942597099, 2**64 + 2**63})


def test_every_wide_helper_is_tested_and_registered():
    assert set(ORACLE) == set(WIDE) and set(WIDE) <= numerics.NAMES
    for name in WIDE:
        fnty = Numerics(ir.Module()).get(name).function_type
        assert all(t == I128 for t in fnty.args[:-1]) and fnty.args[-1].pointee == I128


@pytest.mark.parametrize("name", WIDE)
def test_wide_helpers_on_edges(wide_helpers, name):
    arity = wide_helpers[name][1]
    answered = 0
    for args in itertools.product(EDGES, repeat=arity):
        answered += check_wide(wide_helpers, name, *args) is Status.OK
    assert answered > len(EDGES) ** arity // 3


_I128 = st.one_of(st.integers(INT128_MIN, INT128_MAX), st.sampled_from(EDGES),
                  st.integers(0, 127).flatmap(lambda k: st.integers(-(2**k), 2**k - 1)))


@settings(max_examples=3000, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(WIDE), _I128, _I128)
def test_wide_helpers_hypothesis(wide_helpers, name, a, b):
    check_wide(wide_helpers, name, *(a, b)[:wide_helpers[name][1]])


# ---------------------------------------------------------------- whole functions


def _corpus_namespace() -> dict[str, Any]:
    """The corpus run again with each function behind a stand-in hot object, so that
    calls between corpus functions compile as native calls."""
    source = Path(corpus.__file__).read_text()
    ns: dict[str, Any] = {"__name__": "tests.e2e.corpus_wide"}
    exec(compile(source, corpus.__file__, "exec"), ns)
    for name in CORPUS_NAMES:
        ns[name] = hot(ns[name])
    return ns


CORPUS = _corpus_namespace()


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_with_wide_ints(name):
    """Every corpus function, ints held as i128, on the corpus' edge inputs: CPython's
    answers, and a bailout only where the 64-bit code bails too (the harness' rule)."""
    func = CORPUS[name]
    for args in corpus_inputs(name):
        if any(Kind.of(a) is None for a in args):
            continue  # the entry would not call native code (an int beyond 64 bits)
        check(func, *args, int_bits=128)


def dot3(a, b, c):
    return a * b + b * c - c * a


def overflow_then_narrow(a, b):
    x = a * b  # may leave int64
    return x // 7 + (x % 5)  # // and % narrow x: beyond int64, they bail


def wide_compare(a, b):
    return a * a > b * b or -(a * b) == abs(a) * abs(b)


def test_sums_and_products_beyond_int64_are_native():
    for n in (0, 1, 77_937, 77_938, 100_000, 1_000_000):
        assert check(sum_cubes, n, int_bits=128) is Status.OK
    for n in range(34):  # 33! < 2**127 <= 34!
        assert check(factorial, n, int_bits=128) is Status.OK, n
    for n in (34, 35, 60):
        assert check(factorial, n, int_bits=128) is Status.OVERFLOW
    big = 2**63 - 1
    for args in itertools.product([0, 1, -1, 3, big, -big - 1, 2**40], repeat=3):
        check(dot3, *args, int_bits=128)
    assert check(dot3, big, big, big, int_bits=128) is Status.OK


def test_narrowed_operations_bail_beyond_int64():
    assert check(overflow_then_narrow, 2**40, 2**40, int_bits=128) is Status.OVERFLOW
    assert check(overflow_then_narrow, 2**30, 2**30, int_bits=128) is Status.OK
    for a, b in itertools.product([0, 1, -7, 2**62, -(2**63), 2**63 - 1], repeat=2):
        check(overflow_then_narrow, a, b, int_bits=128, may_bail=True)
        check(wide_compare, a, b, int_bits=128)


def test_results_cross_the_entry_as_wide_ints():
    """A result beyond int64 is returned as WIDE_INT; one within it as INT."""
    from autotier.native import Result

    compiled = compile_function(sum_cubes, (Kind.INT,), int_bits=128)
    for n, kind in ((10, Kind.INT), (100_000, Kind.WIDE_INT)):
        out = Result()
        record = (ctypes.c_int64 * compiled.lowered.record_words)()
        assert compiled.cfunc(n, ctypes.byref(out), 100, record) == Status.OK
        assert Kind(out.kind) is kind and out.value() == sum_cubes(n)
