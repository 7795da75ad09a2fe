"""numpy arrays and numpy scalars in the llvm frontend (issue 10): shape, element loads
and stores through the strides, iteration, NEP 50 arithmetic and numpy's traps.

Differential through the frontend harness: every call compared with CPython (value and
exact type, numpy scalars by type and bytes, arrays by dtype, shape, strides, flags and
bytes, the warnings raised, the arguments' state after the call; a bailout resumed in
the interpreter must give CPython's answer and warnings), and every deopt site of each
function forced (:func:`tests.frontend.harness.force_every_site`).  Where numpy warns or
raises, native code must not answer (the harness fails a native answer where CPython
warned): it deoptimises and numpy does it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from autotier.abi import ArrayKind, Kind, NumpyKind, Status
from tests.frontend.harness import check, compile_function, force_every_site, forget, fresh
from tests.frontend.kernels import at, contains, dot, first, int_total, total, weighted

DTYPES = ("float64", "float32", "int64", "int32", "int16", "int8", "uint8", "uint16",
          "uint32", "uint64", "bool")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def vectors() -> list[np.ndarray]:
    out = [np.array([3, 1, 4, 1, 5], dtype=dt) if dt != "bool" else np.array([1, 0, 1], dt)
           for dt in DTYPES]
    return out + [np.arange(10.0)[::-1], np.arange(12, dtype=np.int32)[1::3],
                  np.array([np.nan, -0.0, np.inf]), np.array([127, -128], np.int8),
                  np.array([2**64 - 1, 0], np.uint64), np.array([], np.float64)]


def cell(a, i, j):
    return a[i, j]


def cube(a, i, j, k):
    return a[i, j, k]


def shape_of(a):
    n, m = a.shape
    return n * 100 + m * 10 + a.ndim + a.size + a.shape[-1] + len(a)


def axis(a, k):
    return a.shape[k]


def mixed(a, x):
    return a[0] * x + 1


def ops(a, b):
    x, y = a[0], b[0]
    return (x + y) - (x * y) + (x < y) + (x == y) - (-x)


def truth_count(a):
    n = 0
    for x in a:
        if x:
            n += 1
        if x > 1:
            n += 10
    return n


def store(a, i, v):
    a[i] = v
    return a[i]


def aug(a, i, v):
    a[i] += v


def store_cell(a, i, j, v):
    a[i, j] = v


def to_int(a):
    return int(a[0]) + 1


def to_float(a):
    return float(a[0]) / 2


@pytest.mark.parametrize("a", vectors(), ids=lambda a: f"{a.dtype}{a.shape}")
def test_loads_every_dtype_and_index(a: np.ndarray) -> None:
    for i in (0, 1, -1, 2, -3, 4, 5, -6, True):
        check(at, a, i)
    check(first, a)


def test_an_element_load_is_native_and_a_numpy_scalar() -> None:
    a = np.array([1.5, 2.5])
    compiled = compile_function(at, (Kind.of(a), Kind.INT))
    status, value = compiled.call(a, -1)
    assert status is Status.OK and type(value) is np.float64 and value == 2.5
    status, value = compiled.call(a, 2)
    assert status is Status.INDEX
    b = np.array([7, 8], np.int8)
    status, value = compile_function(at, (Kind.of(b), Kind.INT)).call(b, 1)
    assert status is Status.OK and type(value) is np.int8 and value == 8


def test_views_read_through_their_strides() -> None:
    base = np.arange(24.0).reshape(2, 3, 4)
    for m in (np.arange(12.0).reshape(3, 4), np.arange(12.0).reshape(3, 4).T,
              np.asfortranarray(np.arange(6.0).reshape(2, 3)),
              np.arange(20.0).reshape(4, 5)[::2, ::-1], np.arange(6, dtype=np.int16).reshape(2, 3),
              np.zeros((0, 3))):
        for i, j in ((0, 0), (1, 2), (-1, -1), (2, 0), (0, 5), (True, 0)):
            check(cell, m, i, j)
        check(shape_of, m)
        for k in (0, 1, -1, 2, -3):
            check(axis, m, k)
    for c in (base, base[:, ::-1, ::2]):
        for ijk in ((0, 0, 0), (1, 2, 1), (-1, -1, -1), (2, 0, 0)):
            check(cube, c, *ijk)


def test_zero_and_three_dimensional_shapes() -> None:
    for a in (np.array(5.0), np.arange(24).reshape(2, 3, 4), np.zeros((2, 0, 3), np.float32)):
        check(shape_of, a)  # 0-d and 3-d: numpy's ValueError and TypeError, resumed
        for k in (0, 1, -1, 3):
            check(axis, a, k)
    check(first, np.array(5.0))  # IndexError: too many indices


def test_iteration_enumerate_and_reductions() -> None:
    for a in vectors():
        check(total, a)
        check(int_total, a)
        check(truth_count, a)
        check(weighted, a)
        check(to_int, a) if len(a) else None
        check(to_float, a) if len(a) else None


def test_nep50_arithmetic_and_traps() -> None:
    """Python numbers take the numpy operand's kind; where numpy warns (an overflow, a
    division by zero, an invalid value) the call deoptimises and numpy warns."""
    for a in vectors():
        for x in (2, 2.5, -0.0, np.nan, True, 300, -1, 2**62):
            check(mixed, a, x)
    pairs = [(np.array([1e308]), np.array([10.0])), (np.array([np.inf]), np.array([np.inf])),
             (np.array([127], np.int8), np.array([1], np.int8)),
             (np.array([2**63 - 1]), np.array([1])), (np.array([0.1], np.float32),
                                                       np.array([3e38], np.float32)),
             (np.array([1.5]), np.array([2], np.int32)),
             (np.array([200], np.uint8), np.array([100], np.uint8)),
             (np.array([True]), np.array([False])), (np.array([3], np.uint64), np.array([-2]))]
    for a, b in pairs:
        check(ops, a, b)
        check(dot, a, b)


def test_a_trap_warns_once_from_numpy() -> None:
    a = np.array([1e308, 1e308])
    compiled = compile_function(dot, (Kind.of(a), Kind.of(a)))
    status, value, frames = compiled.run(*fresh((a, a)))
    assert status is Status.NUMPY and frames  # numpy itself multiplies, and warns
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        from autotier.deopt import resume
        assert resume.finish(frames)() == np.inf
    # the interpreter finishes the loop: both products warn, as undecorated
    assert [str(w.message) for w in seen] == ["overflow encountered in scalar multiply"] * 2


def test_underflow_under_the_users_error_state() -> None:
    """numpy's default ignores underflow; a tiny product deoptimises so that numpy
    decides under the user's state (here: it raises)."""
    a, b = np.array([1e-200]), np.array([1e-200])
    check(dot, a, b)
    with np.errstate(under="raise"):
        with pytest.raises(FloatingPointError):
            dot(a, b)
        compiled = compile_function(dot, (Kind.of(a), Kind.of(b)))
        status, _, frames = compiled.run(a, b)
        assert status is Status.NUMPY
        from autotier.deopt import resume
        with pytest.raises(FloatingPointError, match="underflow"):
            resume.finish(frames)()


def test_stores_convert_as_numpy_or_deoptimise() -> None:
    for a in vectors() + [_readonly(np.array([1.5, 2.5])), _readonly(np.arange(3))]:
        for i in (0, -1, 7):
            for v in (7, 2.5, np.nan, True, 300, -1, np.inf, 2**53 + 1, 1e300):
                check(store, a, i, v)
                check(aug, a, i, v)
    for m in (np.zeros((2, 3)), np.zeros((2, 3), np.int32), np.zeros((4, 4))[::2, ::-2],
              _readonly(np.ones((2, 2)))):
        for i, j in ((0, 0), (-1, 1), (2, 0), (0, -3)):
            for v in (5, 2.5, np.nan, 300):
                check(store_cell, m, i, j, v)


def test_a_store_of_an_element_of_another_array() -> None:
    def copy_into(a, out):
        for i in range(len(a)):
            out[i] = a[i]
    for dt in DTYPES:
        a = np.array([1, 0, 3], dt)
        for out_dt in ("float64", "int64", "float32", "int8", "bool"):
            check(copy_into, a, np.zeros(3, out_dt))


def test_every_site_resumes() -> None:
    inputs = {at: [(a, i) for a in vectors()[:3] for i in (0, -1, 9)],
              dot: [(np.array([1.0, 2.0]), np.array([3.0, 4.0])),
                    (np.array([1e308]), np.array([10.0])), (np.array([1.0]), np.array([]))],
              store: [(np.array([1.0, 2.0]), 0, 2.5), (np.array([1.0, 2.0]), 5, 2.5),
                      (_readonly(np.array([1.0])), 0, 1.0)],
              shape_of: [(np.zeros((2, 3)),), (np.zeros((0, 4)),)],
              weighted: [(np.array([1.0, 2.0]),), (np.array([1e308, 1e308]),)]}
    for func, args in inputs.items():
        coverage = force_every_site(func, args)
        assert coverage.forced, func.__name__
        forget(func)


def test_signature_kinds() -> None:
    assert Kind.of(np.zeros((2, 3), np.int16)) == ArrayKind("int16", 2)
    assert Kind.of(np.zeros(3, ">f8")) is None  # another byte order
    assert Kind.of(np.zeros(3, np.complex128)) is None
    assert Kind.of(np.zeros(3, np.dtype("q"))) is None  # numpy.longlong: another type_num
    assert Kind.of(np.float64(1.0)) == NumpyKind("float64")  # its machine value
    assert Kind.of(np.longlong(1)) is None and Kind.of(np.float16(1)) is None


def roots(a):
    s = 0.0
    for x in a:
        s += math.sqrt(x) + math.floor(x) + math.isnan(x)
    return s


def trunc_first(a):
    return math.trunc(a[0])


def test_math_of_numpy_scalars_sees_their_float() -> None:
    for a in vectors():
        check(roots, a, may_bail=True)  # floor past int64: a big int, the interpreter
        if len(a):
            check(trunc_first, a)


def plus(a, b):
    return a[0] + b[0]


def minus(a, b):
    return a[0] - b[0]


def times(a, b):
    return a[0] * b[0]


def over(a, b):
    return a[0] / b[0]


def test_nan_bits_are_numpys() -> None:
    """Of two nan operands numpy returns the right one's for + and * and the left
    one's for - and / (its compiled scalar math): native code, bit for bit."""
    nan, neg = np.nan, -np.nan
    for dt in ("float64", "float32"):
        for x, y in ((nan, neg), (neg, nan), (nan, 1.0), (2.0, neg)):
            a, b = np.array([x], dt), np.array([y], dt)
            for f in (plus, minus, times, over):
                assert check(f, a, b) in (Status.OK, Status.NUMPY)
                forget(f)


def array_sum(a):
    return sum(a)


def array_min(a):
    return min(a)


def array_max(a):
    return max(a)


def test_sum_min_max_and_in_are_cpythons_over_numpy_scalars() -> None:
    """CPython's own builtins, called with the array: their answer (a numpy scalar, or
    the int 0 of an empty sum), numpy's warnings inside them, ValueError of an empty
    min resumed after the call."""
    for a in vectors() + [np.array([100, 100], np.int8), np.array([1e308, 1e308])]:
        for f in (array_sum, array_min, array_max):
            check(f, a)
        for v in (1, 1.0, np.nan, True, 2**40):
            check(contains, a, v)
    compiled = compile_function(array_sum, (Kind.of(np.arange(3.0)),))
    status, value = compiled.call(np.arange(4.0))
    assert status is Status.OK and type(value) is np.float64 and value == 6.0
    status, value = compiled.call(np.arange(0.0))
    assert status is Status.OK and type(value) is int and value == 0


def shape_itself(a):
    return a.shape


def test_returning_the_shape_builds_its_tuple() -> None:
    for a in (np.array(5.0), np.arange(3), np.zeros((2, 0, 4)), np.arange(12.0).reshape(3, 4).T):
        assert check(shape_itself, a) is Status.OK


def scaled(x, k):
    return x * k + 1


def test_numpy_scalar_arguments() -> None:
    """An exact numpy scalar argument is its machine value (the entry reads it):
    NEP 50 with the Python numbers it meets, numpy's traps."""
    for x in (np.float64(1.5), np.float32(0.1), np.int8(100), np.uint64(2**64 - 1),
              np.bool_(True), np.int64(2**62), np.float64(np.nan)):
        for k in (2, 2.5, True, np.float64(3.0), np.int8(2)):
            check(scaled, x, k)
    compiled = compile_function(scaled, (Kind.of(np.float32(1)), Kind.INT))
    status, value = compiled.call(np.float32(0.5), 3)
    assert status is Status.OK and type(value) is np.float32 and value == 2.5


def _freeze_at(a, i, at):
    if i == at:
        a.flags.writeable = False
    return 0


def fills_while_a_helper_freezes(a, at):
    for i in range(len(a)):
        _freeze_at(a, i, at)  # a call through the C API (it takes an array)
        a[i] = i + 0.5
    return a[0]


def test_an_array_made_read_only_by_a_call_mid_loop_raises_numpys_error() -> None:
    """The writeable flag is a held field: a call that clears it is noticed after the
    call, and the store is the interpreter's (numpy's ValueError) at that iteration."""
    for when in (-1, 0, 3):
        check(fills_while_a_helper_freezes, np.zeros(5), when)
    status = check(fills_while_a_helper_freezes, np.zeros(5), 3)
    assert status is not Status.OK


def max_of_maybe_numpy(a, k):
    s = 1
    if k > 0:
        s = a[0]  # s: a Python int or a numpy scalar
    return max(s, k) * 10 + min(k, 2.5, s)


def test_min_and_max_of_a_number_that_may_be_a_numpy_scalar() -> None:
    """Found by the random array programs (tests/programs/arraygen.py): min/max's
    comparison of a value that is a Python int or a numpy scalar is a bool or a
    numpy.bool_ (tagged, two words) and its Select took it for one word (a ValueError
    inside the lowering, no compile); it is a branch's condition now."""
    inputs = [(np.array(a, dt), k) for a, dt in (([3, 1], np.uint16), ([3.5, 1], np.float64),
                                                 ([np.nan], np.float32), ([0], np.int8))
              for k in (2, 0, -1, 5)]
    for a, k in inputs:
        assert check(max_of_maybe_numpy, a, k, force=True) is Status.OK
    coverage = force_every_site(max_of_maybe_numpy, inputs)
    assert not coverage.unexecuted
    forget(max_of_maybe_numpy)
