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

    def frames(tb: Any) -> list[tuple[str, int | None]]:
        return [(f.name, f.lineno) for f in traceback.extract_tb(tb)[1:]]

    assert frames(info.tb) == frames(expected.tb) == [("divides", 29), ("ratio", 17)]
    assert autotier.stats(divides).state == "compiled"  # an answer, not a bailout


def test_a_helper_that_cannot_be_compiled_names_itself_in_the_reason():
    ns: dict[str, Any] = {}
    exec("def make(k):\n    def inner(x):\n        return x + k\n    return inner\n"
         "addk = make(3)\n"
         "def f(n):\n    return addk(n)\n", ns)
    hf = make_hot(ns["f"])
    promote(hf, 1)
    st = autotier.stats(hf)
    assert st.state == "failed"
    assert "in make.<locals>.inner, called by f" in (st.reason or ""), st.reason
    assert hf(4) == 7
