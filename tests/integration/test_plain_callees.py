"""Helpers nobody decorated (issue 11): a decorated function's calls of plain Python
functions bound to module globals are compiled together with it, recursively, guarded
as hot callees are (the global's identity, the function's ``__code__`` and
``__defaults__``), and answer exactly as CPython does."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

import autotier
from tests.runtime.helpers import interpreted_frames, make_hot, promote, settle

SOURCE = '''
import math

def sq(x):
    return x * x

def norm(a, b):
    return math.sqrt(sq(a) + sq(b))

def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)

def offset(x, d=1):
    return x + d

def ratio(a, b):
    return a // b

def outer(a, b):
    return norm(a, b) + sq(a)

def factorial_of(n):
    return fact(n)

def uses_offset(x):
    return offset(x) * 10 + offset(x, d=2)

def divides(a, b):
    return ratio(a, b) + 1
'''


def _frames(tb: Any) -> list[tuple[str, int | None]]:
    """A traceback's frames below the test's own: (function, line)."""
    return [(f.name, f.lineno) for f in traceback.extract_tb(tb)[1:]]


def _namespace() -> dict[str, Any]:
    ns: dict[str, Any] = {}
    exec(compile(SOURCE, "<plain callees>", "exec"), ns)
    return ns


def _hot(ns: dict[str, Any], name: str, *args: Any) -> Any:
    hf = make_hot(ns[name])
    ns[name] = hf
    promote(hf, *args)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    return hf


def test_helpers_two_deep_run_natively_and_are_listed():
    ns = _namespace()
    outer = _hot(ns, "outer", 3.0, 4.0)
    with interpreted_frames(outer, ns["norm"], ns["sq"]) as frames:
        assert outer(3.0, 4.0) == 14.0
        assert outer(-0.0, 0.0) == 0.0
    assert frames[0] == 0  # neither the caller nor its helpers ran a Python frame
    assert set(autotier.stats(outer).callees) == {"norm", "sq"}
    assert autotier.stats(outer).to_dict()["callees"]


def test_a_recursive_helper_answers_exactly_past_int64():
    ns = _namespace()
    factorial_of = _hot(ns, "factorial_of", 10)
    assert autotier.stats(factorial_of).callees == ("fact",)
    with interpreted_frames(factorial_of, ns["fact"]) as frames:
        assert factorial_of(20) == 2432902008176640000
    assert frames[0] == 0
    for n in (21, 25, 40):  # past int64: the interpreter's exact big int
        assert factorial_of(n) == ns["fact"](n)


def test_a_helper_rebound_after_the_compile_is_called_as_rebound():
    ns = _namespace()
    outer = _hot(ns, "outer", 3.0, 4.0)
    assert outer(3.0, 4.0) == 14.0
    ns["sq"] = lambda x: x * x * x
    assert outer(3.0, 4.0) == (27 + 64) ** 0.5 + 27  # the new sq, never the old one
    settle()
    assert outer(2.0, 1.0) == (8 + 1) ** 0.5 + 8


def test_a_helper_whose_code_is_replaced_never_runs_its_old_code():
    ns = _namespace()
    outer = _hot(ns, "outer", 3.0, 4.0)
    ns["sq"].__code__ = (lambda x: x + 1.0).__code__
    assert outer(3.0, 4.0) == (4.0 + 5.0) ** 0.5 + 4.0
    settle()
    assert outer(3.0, 4.0) == 7.0
    with interpreted_frames(outer) as frames:
        assert outer(3.0, 4.0) == 7.0
    assert frames[0] == 0  # recompiled with the new code, natively again


def test_a_helper_whose_defaults_change_is_called_with_the_new_ones():
    ns = _namespace()
    uses_offset = _hot(ns, "uses_offset", 5)
    assert uses_offset(5) == 67
    ns["offset"].__defaults__ = (3,)
    assert uses_offset(5) == 87
    settle()
    assert uses_offset(5) == 87


def test_an_exception_in_a_helper_is_cpythons_through_both_lines():
    ns = _namespace()
    divides = _hot(ns, "divides", 7, 2)
    assert divides(7, 2) == 4
    with pytest.raises(ZeroDivisionError, match="integer division or modulo by zero") as info:
        divides(7, 0)
    plain = _namespace()
    with pytest.raises(ZeroDivisionError) as expected:
        plain["divides"](7, 0)
    assert _frames(info.tb) == _frames(expected.tb) == [("divides", 29), ("ratio", 17)]
    assert autotier.stats(divides).state == "compiled"  # an answer, not a bailout


def test_a_helper_that_cannot_be_called_names_itself_in_the_reason():
    ns: dict[str, Any] = {}
    exec("def pair(x):\n    return x, x\n"
         "def f(n):\n    return pair(n)\n", ns)
    hf = make_hot(ns["f"])
    promote(hf, 1)
    st = autotier.stats(hf)
    assert st.state == "failed"
    assert "a call of pair, which returns a tuple" in (st.reason or ""), st.reason
    assert hf(4) == (4, 4)


# ---------------------------------------------------------------- through the C API

OPAQUE = '''
import sys

def make(k):
    def inner(x):
        return x + k
    return inner

addk = make(3)

def careful(x):
    try:
        return 1.0 / x
    except ZeroDivisionError:
        return None

def fill(xs, v):
    xs.append(v)

def gen_sum(n):
    items = (i for i in range(n))  # a generator stored: not compiled
    return sum(items)

def word(n):
    return 2**64 * n if n > 3 else n

def fails(x):
    try:
        pass
    finally:
        pass
    return 10 // x

def deep(n):
    try:
        return 0 if n == 0 else 1 + deep(n - 1)
    finally:
        pass

def rebind(x):
    global addk
    if x == 5:
        addk = make(100)
    return x

def sums(n):
    s = 0
    for i in range(n):
        s += addk(i)
    return s

def reciprocals(n):
    t = 0.0
    for i in range(n):
        r = careful(i)
        if r is not None:
            t += r
    return t

def fills(xs, n):
    for i in range(n):
        fill(xs, i)
    return len(xs) + xs[-1]

def doubled(n):
    return gen_sum(n) * 2

def words(n):
    out = 0
    for i in range(n):
        out += word(i)
    return out

def divides(x):
    return fails(x) + 1

def depth_of(n):
    return deep(n) + 1

def rebinds(n):
    a = addk(n)
    rebind(n)
    return a + addk(n)
'''


def _opaque(name: str, *args: Any) -> tuple[Any, Any]:
    """(the hot function promoted with ``args``, the same function undecorated, in a
    namespace of its own)."""
    ns: dict[str, Any] = {}
    exec(compile(OPAQUE, "<opaque callees>", "exec"), ns)
    plain: dict[str, Any] = {}
    exec(compile(OPAQUE, "<opaque callees>", "exec"), plain)
    hf = make_hot(ns[name])
    ns[name] = hf
    promote(hf, *args)
    return hf, plain[name]


@pytest.mark.parametrize(("name", "promote_with", "inputs"), [
    ("sums", (5,), [(0,), (10,), (1000,)]),
    ("reciprocals", (5,), [(0,), (1,), (50,)]),
    ("doubled", (10,), [(0,), (10**4,), (3 * 10**9 // 10**6,)]),
])
def test_a_helper_it_cannot_compile_is_called_through_the_c_api(name, promote_with, inputs):
    hf, plain = _opaque(name, *promote_with)
    st = autotier.stats(hf)
    assert st.state == "compiled", st.reason
    assert any(c.endswith("(interpreted)") for c in st.callees), st.callees
    for args in inputs:
        got, want = hf(*args), plain(*args)
        assert type(got) is type(want) and got == want, (args, got, want)
    assert autotier.stats(hf).bailouts == 0


def test_a_helper_through_the_c_api_mutates_the_list_native_code_reads():
    hf, plain = _opaque("fills", [0], 3)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    mine, theirs = [7], [7]
    assert hf(mine, 100) == plain(theirs, 100) == 200
    assert mine == theirs


def test_a_result_native_code_cannot_hold_resumes_after_the_call():
    hf, plain = _opaque("words", 3)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    assert hf(8) == plain(8) == 6 + 2**64 * (4 + 5 + 6 + 7)  # past int64 from i > 3
    assert autotier.stats(hf).resumes >= 1


def test_an_exception_in_a_helper_through_the_c_api_is_cpythons():
    hf, plain = _opaque("divides", 5)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    assert hf(5) == plain(5) == 3
    with pytest.raises(ZeroDivisionError) as got:
        hf(0)
    with pytest.raises(ZeroDivisionError) as want:
        plain(0)
    assert str(got.value) == str(want.value)
    assert _frames(got.tb) == _frames(want.tb)
    assert autotier.stats(hf).state == "compiled"


def test_a_helper_through_the_c_api_stands_as_deep_as_from_the_interpreter():
    import sys

    hf, plain = _opaque("depth_of", 5)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    limit = sys.getrecursionlimit()
    deepest = None
    for n in range(limit - 60, limit + 5):  # where CPython starts raising
        try:
            plain(n)
        except RecursionError:
            deepest = n
            break
    assert deepest is not None
    assert hf(deepest - 1) == plain(deepest - 1)
    with pytest.raises(RecursionError):
        hf(deepest)


def test_a_helper_through_the_c_api_that_rebinds_a_global_resumes_after_it():
    hf, plain = _opaque("rebinds", 1)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    assert hf(1) == plain(1) == 8
    # addk(5) is 8; rebind(5) makes addk make(100): the second call is the new one's
    assert hf(5) == plain(5) == 8 + 105
    st = autotier.stats(hf)
    assert st.resumes == 1 and st.last_bailout == "rebound global addk", st


def test_a_module_function_rebound_after_the_compile_is_called_as_rebound():
    import types

    helpers = types.ModuleType("helpers")
    exec("def step(x):\n    return x + 1\nSCALE = 3\n", helpers.__dict__)
    ns: dict[str, Any] = {"helpers": helpers}
    exec("def f(n):\n    s = 0\n    for i in range(n):\n        s += helpers.step(i)\n"
         "    return s * helpers.SCALE\n", ns)
    hf = make_hot(ns["f"])
    promote(hf, 3)
    st = autotier.stats(hf)
    assert st.state == "compiled", st.reason
    assert st.callees == ("helpers.step (interpreted)",)
    assert hf(10) == 55 * 3
    exec("def step(x):\n    return x * 2\n", helpers.__dict__)  # rebound in its module
    assert hf(10) == 90 * 3
    helpers.SCALE = 5  # a module constant the code read
    assert hf(10) == 90 * 5
    settle()
    assert hf(10) == 90 * 5
