"""Differential tests of the numerics helpers against CPython.

Every helper is compiled once (module-scoped fixtures), wrapped in an exported
function and called through ctypes on edge inputs and on hypothesis' inputs.
The rule checked for each call: when CPython raises, or returns something the
helper's out type cannot hold (a float from ``int ** -1``, an int beyond int64),
the helper must return a non-OK status; when CPython returns a value, the helper
must return OK with the identical value (floats bit for bit: a nan's sign and
payload too).  A bailout on such an input is a failure too: no helper bails where
CPython returns a value its out type holds.
"""

from __future__ import annotations

import ctypes
import math
import operator
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import llvmlite.binding as llvm
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llvmlite import ir

from autotier.abi import Status
from autotier.frontend import numerics
from autotier.frontend.numerics import Numerics
from autotier.frontend.wideints import WIDE_VERSIONS
from autotier.jit import engine

# The helpers over i64 and double; the i128 ones are tested in test_wideints.py.
NAMES = numerics.NAMES - set(WIDE_VERSIONS.values())

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INF, NAN = math.inf, math.nan
BIG = 2**64  # stands for an int CPython computes that is beyond int64

_CTYPES: dict[str, Any] = {"i64": ctypes.c_int64, "double": ctypes.c_double,
                           "i1": ctypes.c_bool}
_PYTYPES = {"i64": int, "double": float, "i1": bool}


# ---------------------------------------------------------------- CPython, the oracle


def _pow_int(a: int, n: int) -> Any:
    if n >= 64 and abs(a) >= 2:
        return BIG  # too large to compute quickly; certainly beyond int64
    return a**n


def _lshift(a: int, n: int) -> int:
    if n >= 64 and a != 0:
        return BIG
    return a << n


_CMP_OPS = {"lt": operator.lt, "le": operator.le, "eq": operator.eq, "ne": operator.ne,
            "gt": operator.gt, "ge": operator.ge}

ORACLE: dict[str, Callable[..., Any]] = {
    "int_add": operator.add, "int_sub": operator.sub, "int_mul": operator.mul,
    "int_neg": operator.neg, "int_abs": abs, "int_floordiv": operator.floordiv,
    "int_mod": operator.mod, "int_pow": _pow_int, "int_lshift": _lshift,
    "int_rshift": operator.rshift, "int_truediv": operator.truediv, "int_to_float": float,
    "float_div": operator.truediv, "float_floordiv": operator.floordiv,
    "float_mod": operator.mod, "float_pow": operator.pow,
    "float_to_int": int, "float_floor_to_int": math.floor, "float_ceil_to_int": math.ceil,
    "float_round_to_int": round,
    **{f"cmp_int_float_{n}": op for n, op in _CMP_OPS.items()},
    **{f"cmp_float_int_{n}": op for n, op in _CMP_OPS.items()},
    "math_log_base": math.log,
    **{f"math_{n}": getattr(math, n) for n in (
        "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
        "exp", "expm1", "log", "log1p", "log2", "log10", "pow", "fabs", "hypot", "copysign",
        "fmod", "isnan", "isinf", "isfinite")},
}


# ---------------------------------------------------------------- compiled helpers


@dataclass
class Helper:
    name: str
    cfunc: Any
    arg_types: tuple[str, ...]
    out_ctype: Any
    out_type: str

    def __call__(self, *args: Any) -> tuple[int, Any]:
        out = self.out_ctype()
        status = self.cfunc(*args, ctypes.byref(out))
        return status, out.value


def compile_helpers(names: Iterable[str], opt: int = 2) -> dict[str, Helper]:
    """One module with an exported wrapper per helper, compiled once."""
    module = ir.Module(name=engine.unique_name("numerics_test"))
    numerics = Numerics(module)
    wrappers: dict[str, ir.Function] = {}
    for name in names:
        helper = numerics.get(name)
        wrapper = ir.Function(module, helper.function_type, engine.unique_name(f"t_{name}"))
        builder = ir.IRBuilder(wrapper.append_basic_block())
        builder.ret(builder.call(helper, list(wrapper.args)))
        wrappers[name] = wrapper
    compiled = engine.compile_ir(str(module), [w.name for w in wrappers.values()], opt=opt)
    helpers = {}
    for name, wrapper in wrappers.items():
        params = wrapper.function_type.args
        out_type = str(params[-1].pointee)
        argtypes = [_CTYPES[str(t)] for t in params[:-1]]
        proto = ctypes.CFUNCTYPE(ctypes.c_int32, *argtypes, ctypes.POINTER(_CTYPES[out_type]))
        helpers[name] = Helper(name, proto(compiled.addresses[wrapper.name]),
                               tuple(str(t) for t in params[:-1]), _CTYPES[out_type], out_type)
    return helpers


@pytest.fixture(scope="module")
def helpers() -> dict[str, Helper]:
    return compile_helpers(sorted(NAMES))


@pytest.fixture(scope="module")
def helpers_o0() -> dict[str, Helper]:
    return compile_helpers(sorted(NAMES), opt=0)


def same(got: Any, expected: Any) -> bool:
    if type(got) is not type(expected):
        return False
    if isinstance(expected, float):  # bit for bit: a nan's sign and payload too
        return struct.pack("<d", got) == struct.pack("<d", expected)
    return bool(got == expected)


def bits(*values: Any) -> str:
    """Floats as their 64 bits in hex (what tells nans apart)."""
    return ", ".join(struct.pack(">d", v).hex() if type(v) is float else repr(v) for v in values)


def representable(value: Any, out_type: str) -> bool:
    if type(value) is not _PYTYPES[out_type]:
        return False
    return out_type != "i64" or INT64_MIN <= value <= INT64_MAX


@dataclass
class Outcome:
    returned: int = 0  # calls where CPython returned a value the helper must match


def check(helper: Helper, *args: Any, outcome: Outcome | None = None) -> None:
    """Assert the helper agrees with CPython on ``args`` (see the module docstring)."""
    status, got = helper(*args)
    assert status in set(Status), f"{helper.name}{args}: unknown status {status}"
    try:
        expected = ORACLE[helper.name](*args)
    except (ArithmeticError, ValueError) as exc:
        assert status != Status.OK, (
            f"{helper.name}{args} returned OK {got!r}; CPython raises {exc!r}")
        return
    if not representable(expected, helper.out_type):
        assert status != Status.OK, (
            f"{helper.name}{args} returned OK {got!r}; CPython gives {expected!r}")
        return
    assert status == Status.OK, (
        f"{helper.name}{args} bailed with {Status(status)!r}; CPython gives {expected!r}")
    if outcome is not None:
        outcome.returned += 1
    assert same(got, expected), (
        f"{helper.name}{args} ({bits(*args)}) gave {got!r} ({bits(got)}); "
        f"CPython gives {expected!r} ({bits(expected)})")


# ---------------------------------------------------------------- inputs

EDGE_INTS = sorted({
    0, 1, -1, 2, -2, 3, -3, 5, 7, -7, 10, 31, 62, 63, 64, 65, 100, -100, 1000,
    2**31, -(2**31), 2**32 - 1, 2**32, 3037000499, 3037000500, -3037000500,
    2**52, 2**53 - 1, 2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 2**54 + 2, 2**62, -(2**62),
    2**63 - 1, 2**63 - 1024, 2**63 - 512, -(2**63), -(2**63) + 1, 12345678901234567,
    2**54 + 2, 2**54 + 6, -(2**54) - 2, 3 * 2**53 + 1, 2**55 + 4, 2**55 + 12, 3**39, -(3**39),
    (2**53 - 1) * 1024 + 512, 2**62 + 2**9, 2**62 + 2**9 + 1, 6 * 2**52 + 3,
})
EDGE_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, 2.0, -2.0, 3.0, -3.0, 0.1,
    1 / 3, 10.0, 100.0, 0.49999999999999994, 4503599627370495.5, 4503599627370497.0,
    2.0**52, 2.0**53, 2.0**53 + 2, -(2.0**53), 2.0**62, 2.0**63, -(2.0**63), 2.0**63 - 1024,
    -(2.0**63) - 2048, 2.0**64, 1e16, 1e300, 1e308, -1e308, 1.7976931348623157e308,
    2.2250738585072014e-308, 1e-310, 5e-324, -5e-324, 709.78, 710.0, -745.2, -746.0,
    math.pi, -math.pi / 2, math.e, 0.7, -0.9, 1.0000000000000002, 0.9999999999999999,
    INF, -INF, NAN, -NAN,
    struct.unpack("<d", struct.pack("<Q", 0x7FF800000000BEEF))[0],  # a payload
    struct.unpack("<d", struct.pack("<Q", 0xFFF0000000000005))[0],  # signalling
]


def helpers_of(*arg_types: str) -> list[str]:
    """Names of the helpers whose inputs have these LLVM types."""
    return [n for n in sorted(NAMES) if _signature(n) == arg_types]


def _signature(name: str) -> tuple[str, ...]:
    fn = Numerics(ir.Module()).get(name)
    return tuple(str(t) for t in fn.function_type.args[:-1])


_VALUES = {"i64": EDGE_INTS, "double": EDGE_FLOATS}
_SIGNATURES = [("i64",), ("double",), ("i64", "i64"), ("double", "double"), ("i64", "double"),
               ("double", "i64")]


def test_every_helper_has_a_tested_signature() -> None:
    tested = {n for sig in _SIGNATURES for n in helpers_of(*sig)}
    assert tested == NAMES
    assert set(ORACLE) == NAMES
    assert numerics.NAMES == NAMES | set(WIDE_VERSIONS.values())


@pytest.mark.parametrize("signature", _SIGNATURES, ids="-".join)
@pytest.mark.parametrize("opt", [2, 0])
def test_edge_inputs(signature: tuple[str, ...], opt: int, helpers: dict[str, Helper],
                     helpers_o0: dict[str, Helper]) -> None:
    compiled = helpers if opt else helpers_o0
    grids: list[tuple[Any, ...]] = [()]
    for t in signature:
        grids = [(*g, v) for g in grids for v in _VALUES[t]]
    for name in helpers_of(*signature):
        for args in grids:
            check(compiled[name], *args)


# ---------------------------------------------------------------- hypothesis

_ANY_INT = st.integers(INT64_MIN, INT64_MAX)
INTS = st.one_of(_ANY_INT, st.integers(-1000, 1000), st.sampled_from(EDGE_INTS),
                 st.integers(0, 63).flatmap(lambda k: st.integers(-(2**k), 2**k - 1)))
FLOATS = st.one_of(
    st.floats(), st.floats(-1e3, 1e3), st.sampled_from(EDGE_FLOATS),
    st.integers(-(2**60), 2**60).map(float),
    st.integers(-(2**20), 2**20).map(lambda i: i + 0.5),
    st.tuples(st.floats(0.5, 1.0), st.integers(-1080, 1023)).map(lambda p: math.ldexp(*p)),
)
_COUNTS = st.integers(-2, 70)  # exponents and shift counts
_STRATEGIES = {"i64": INTS, "double": FLOATS}
_OFFSETS = st.sampled_from([0.0, 0.5, -0.5, 1.0, -1.0, 1024.0, 2048.0])
_NEAR = st.tuples(INTS, _OFFSETS).map(lambda p: (p[0], float(p[0]) + p[1]))  # int, float near it
_COUNTED = ("int_pow", "int_lshift", "int_rshift")

# helper groups sharing their inputs: (names, strategy of argument tuples)
GROUPS: dict[str, tuple[list[str], st.SearchStrategy[tuple[Any, ...]]]] = {
    "int": (helpers_of("i64"), st.tuples(INTS)),
    "int_int": ([n for n in helpers_of("i64", "i64") if n not in _COUNTED],
                st.tuples(INTS, INTS)),
    "int_count": (list(_COUNTED), st.tuples(INTS, st.one_of(_COUNTS, INTS))),
    "float": (helpers_of("double"), st.tuples(FLOATS)),
    "float_float": (helpers_of("double", "double"), st.tuples(FLOATS, FLOATS)),
    "int_float": (helpers_of("i64", "double"), st.one_of(st.tuples(INTS, FLOATS), _NEAR)),
    "float_int": (helpers_of("double", "i64"),
                  st.one_of(st.tuples(FLOATS, INTS), _NEAR.map(lambda p: (p[1], p[0])))),
}


def test_groups_cover_every_helper() -> None:
    assert sorted(n for names, _ in GROUPS.values() for n in names) == sorted(NAMES)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_random_inputs(group: str, helpers: dict[str, Helper]) -> None:
    names, strategy = GROUPS[group]
    outcomes = {name: Outcome() for name in names}
    calls = []

    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(strategy)
    def run(args: tuple[Any, ...]) -> None:
        calls.append(args)
        for name in names:
            check(helpers[name], *args, outcome=outcomes[name])

    run()
    assert len(calls) >= 250
    for name, outcome in outcomes.items():
        assert outcome.returned >= 10, (name, outcome)  # the inputs reach the value paths


ORDINARY_INTS = [-1000, -17, -3, -2, -1, 0, 1, 2, 3, 5, 12, 100, 4096, 999_983]
ORDINARY_FLOATS = [-123.25, -3.5, -1.0, -0.75, -0.0, 0.0, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 7.0,
                   42.125, 1e-5, 1e5]


@pytest.mark.parametrize("name", sorted(NAMES))
def test_ordinary_inputs_do_not_bail(name: str, helpers: dict[str, Helper]) -> None:
    """Wherever CPython returns a value on ordinary inputs, the helper returns OK."""
    values = {"i64": ORDINARY_INTS, "double": ORDINARY_FLOATS}
    grid: list[tuple[Any, ...]] = [()]
    for t in helpers[name].arg_types:
        grid = [(*g, v) for g in grid for v in values[t]]
    ok = 0
    for args in grid:
        try:
            expected = ORACLE[name](*args)
        except (ArithmeticError, ValueError):
            continue
        if not representable(expected, helpers[name].out_type):
            continue
        status, got = helpers[name](*args)
        assert status == Status.OK, f"{name}{args} bailed with {Status(status)!r}"
        assert same(got, expected), f"{name}{args} gave {got!r}; CPython gives {expected!r}"
        ok += 1
    assert ok >= len(grid) // 4


# ---------------------------------------------------------------- the interface


def test_get_defines_each_helper_once_with_the_convention() -> None:
    module = ir.Module()
    numerics = Numerics(module)
    for name in sorted(NAMES):
        fn = numerics.get(name)
        assert numerics.get(name) is fn
        assert fn.name == name
        assert fn.linkage == "internal"
        assert "alwaysinline" in fn.attributes
        fnty = fn.function_type
        assert fnty.return_type == ir.IntType(32)
        assert isinstance(fnty.args[-1], ir.PointerType)
        assert str(fnty.args[-1].pointee) in _PYTYPES
        assert all(str(t) in ("i64", "double") for t in fnty.args[:-1])
    assert Numerics(module).get("int_add") is numerics.get("int_add")


def test_unknown_helper_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        Numerics(ir.Module()).get("int_frobnicate")
    assert "int_frobnicate" not in NAMES


@pytest.mark.parametrize("name", sorted(NAMES))
def test_each_helper_alone_is_valid_ir(name: str) -> None:
    module = ir.Module()
    Numerics(module).get(name)
    llvm.parse_assembly(str(module)).verify()


def test_modules_with_the_same_helpers_link_into_one() -> None:
    texts, symbols = [], []
    for _ in range(2):
        module = ir.Module(name=engine.unique_name("numerics_link"))
        numerics = Numerics(module)
        add, sin = numerics.get("int_add"), numerics.get("math_sin")
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(64).as_pointer(),
                                                ir.DoubleType().as_pointer()])
        fn = ir.Function(module, fnty, engine.unique_name("linked"))
        b = ir.IRBuilder(fn.append_basic_block())
        s1 = b.call(add, [ir.Constant(ir.IntType(64), 40), ir.Constant(ir.IntType(64), 2),
                          fn.args[0]])
        s2 = b.call(sin, [b.sitofp(b.load(fn.args[0]), ir.DoubleType()), fn.args[1]])
        b.ret(b.or_(s1, s2))
        texts.append(str(module))
        symbols.append(fn.name)
    compiled = engine.compile_ir_modules(texts, symbols)
    proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(ctypes.c_int64),
                             ctypes.POINTER(ctypes.c_double))
    for symbol in symbols:
        i, f = ctypes.c_int64(), ctypes.c_double()
        assert proto(compiled.addresses[symbol])(ctypes.byref(i), ctypes.byref(f)) == 0
        assert (i.value, f.value) == (42, math.sin(42.0))


# ---------------------------------------------------------------- constants: LLVM's folding


def _constant(t: str, value: Any) -> ir.Constant:
    return ir.Constant(ir.IntType(64) if t == "i64" else ir.DoubleType(), value)


def test_constant_arguments_fold_to_cpython_results() -> None:
    """The optimiser sees constant operands once a helper is inlined: its folding
    (frem, floor, round, pow ...) must agree with CPython too."""
    module = ir.Module(name=engine.unique_name("numerics_fold"))
    numerics = Numerics(module)
    cases: list[tuple[str, tuple[Any, ...], str]] = []
    for name in sorted(NAMES):
        helper = numerics.get(name)
        types = [str(t) for t in helper.function_type.args[:-1]]
        grid: list[tuple[Any, ...]] = [()]
        for t in types:
            grid = [(*g, v) for g in grid for v in _VALUES[t]]
        for args in grid[:: max(1, len(grid) // 10)]:
            fnty = ir.FunctionType(ir.IntType(32), [helper.function_type.args[-1]])
            fn = ir.Function(module, fnty, engine.unique_name(f"fold_{name}"))
            b = ir.IRBuilder(fn.append_basic_block())
            b.ret(b.call(helper, [*(_constant(t, v) for t, v in zip(types, args)), fn.args[0]]))
            cases.append((name, args, fn.name))
    compiled = engine.compile_ir(str(module), [c[2] for c in cases])
    for name, args, symbol in cases:
        out_type = str(numerics.get(name).function_type.args[-1].pointee)
        proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(_CTYPES[out_type]))
        cfunc = proto(compiled.addresses[symbol])
        helper = Helper(name, lambda *a, f=cfunc: f(a[-1]), (), _CTYPES[out_type], out_type)
        check(helper, *args)  # the arguments are in the code; the wrapper takes only out


def test_pow_of_a_constant_base_is_libm_pow() -> None:
    """LLVM would rewrite pow(2.0, y) as exp2(y), which may round differently."""
    module = ir.Module(name=engine.unique_name("numerics_pow2"))
    numerics = Numerics(module)
    symbols = {}
    for name in ("float_pow", "math_pow"):
        for base in (2.0, 10.0):
            helper = numerics.get(name)
            fnty = ir.FunctionType(ir.IntType(32), [ir.DoubleType(), ir.DoubleType().as_pointer()])
            fn = ir.Function(module, fnty, engine.unique_name(f"{name}_base"))
            b = ir.IRBuilder(fn.append_basic_block())
            b.ret(b.call(helper, [ir.Constant(ir.DoubleType(), base), *fn.args]))
            symbols[name, base] = fn.name
    compiled = engine.compile_ir(str(module), list(symbols.values()))
    proto = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_double, ctypes.POINTER(ctypes.c_double))
    exponents = [i / 64 for i in range(-4000, 4000, 7)] + [0.5, 1 / 3, -1022.5, 1023.9, 1e-9]
    for (name, base), symbol in symbols.items():
        cfunc = proto(compiled.addresses[symbol])
        helper = Helper(name, lambda _base, y, out, f=cfunc: f(y, out), ("double", "double"),
                        ctypes.c_double, "double")
        for y in exponents:
            check(helper, base, y)


def test_int_truediv_rounds_ties_to_even(helpers: dict[str, Helper]) -> None:
    """Quotients exactly halfway between two doubles, and just off halfway."""
    for k in range(1, 10):
        for m in (2**52, 2**52 + 1, 2**52 + 12345, 2**53 - 1):
            tie = (2 * m + 1) << (k - 1)  # halfway between m << k and (m + 1) << k
            for divisor in (1, 3, 7, 255, -5, 1000003):
                for a in (tie * divisor, tie * divisor + 1, tie * divisor - 1, -tie * divisor):
                    if INT64_MIN <= a <= INT64_MAX:
                        check(helpers["int_truediv"], a, divisor)
