"""``None`` as an argument (an optional parameter left None, chaos's
``linear_combination(other, l1, l2=None)``): ``abi.Kind.NONE``, which the entry checks
is the None object and the body takes as no value at all; ``x is None`` of it is a
constant, its uses as a number are CPython's TypeError (a deopt there).

Differential through the frontend harness (every call against CPython, every deopt
site forced), then through ``@hot``: the specialisation for None, keyword and default
None, another kind later (one more specialisation), a None handed to a helper.
"""

from __future__ import annotations

import pytest

import autotier
from autotier.abi import Kind, Status
from autotier.runtime.signature import call_kinds, why_not
from tests.frontend.harness import check, compile_function, force_every_site, forget, kinds_of
from tests.runtime.helpers import interpreted_frames, make_hot, promote, settle


def blend(a, b, l1, l2=None):  # chaos's GVector.linear_combination, on floats
    if l2 is None:
        l2 = 1 - l1
    return a * l1 + b * l2


def shifted(x, shift=None, scale=None):
    r = x if scale is None else x * scale
    if shift is not None:
        r += shift
    return r


def given_back(x, default):
    if x > 0:
        return default  # None itself, returned
    return None


def compared(x, y):
    return (x == None) + 2 * (x != y) + 4 * (y is not None)  # noqa: E711


def used_as_number(x, y):
    return x + y  # CPython's TypeError where y is None


def helper(v, w):
    return v if w is None else v * w


def calls_helper(v, w):
    return helper(v, w) + helper(w, v) if w is not None else helper(v, w)


CASES = [
    (blend, [(1.0, 3.0, 0.25, None), (1.0, 3.0, 0.25, 0.5), (2, 5, 1, None),
             (1.0, 3.0, True, None), (-0.0, 0.0, 0.0, None), (1e308, 1e308, -1.0, None)]),
    (shifted, [(1.5, None, None), (1.5, 2.0, None), (1.5, None, 3), (2**62, 2**62, None),
               (1.5, 2, 3.0)]),
    (given_back, [(1, None), (-1, None), (1.5, None)]),
    (compared, [(None, None), (1, None), (None, 2.5), (1.0, 1.0)]),
    (used_as_number, [(1.5, None), (None, None), (1, 2)]),
    (calls_helper, [(2.0, None), (2.0, 3.0), (3, None)]),
]


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_none_arguments_answer_as_cpython_and_every_site_resumes_exactly(func, inputs):
    for args in inputs:
        check(func, *args, may_bail=func is used_as_number)
    for args in inputs:  # one compile per signature: each forced with its own input
        force_every_site(func, [args])
    forget(func)


def test_none_is_an_argument_kind_the_signature_names():
    assert Kind.of(None) is Kind.NONE
    assert call_kinds(blend, (1.0, 2.0, 0.5)) == (Kind.FLOAT, Kind.FLOAT, Kind.FLOAT,
                                                  Kind.NONE)  # the default's
    assert "None" in why_not(blend, (1.0, 2.0, 0.5, "x"))  # what native code takes


def test_a_none_compile_runs_natively_with_the_parameter_typed_none():
    args = (1.0, 3.0, 0.25, None)
    compiled = compile_function(blend, kinds_of(args))
    assert compiled.call(*args) == (Status.OK, blend(*args))
    assert "%l2.4: none" in compiled.lowered.dumps["ir"]  # typed None: no value
    forget(blend)


def test_through_hot_none_defaults_keywords_and_other_kinds():
    hf = make_hot(blend, threshold=2)
    promote(hf, 1.0, 3.0, 0.25)
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.signatures == (
        ("float", "float", "float", "NoneType"),), row.reason
    with interpreted_frames(hf) as frames:
        got = [hf(1.0, 3.0, 0.25), hf(1.0, 3.0, 0.25, None), hf(1.0, 3.0, l1=0.5, l2=None)]
    assert frames == [0]
    assert got == [blend(1.0, 3.0, 0.25), blend(1.0, 3.0, 0.25), blend(1.0, 3.0, 0.5)]
    assert hf(1.0, 3.0, 0.25, 0.5) == blend(1.0, 3.0, 0.25, 0.5)  # a float: specialised
    settle()
    assert ("float", "float", "float", "float") in autotier.stats(hf).signatures
    try:
        hf(1.0, 3.0, None)  # 1 - None: CPython's TypeError, from the interpreter
    except TypeError as exc:
        assert str(exc) == "unsupported operand type(s) for -: 'int' and 'NoneType'"
    else:
        raise AssertionError("no TypeError")
    settle()  # (a specialisation for that call too)
    assert autotier.stats(hf).state == "compiled"
    assert hf(1.0, 3.0, 0.25) == blend(1.0, 3.0, 0.25)
