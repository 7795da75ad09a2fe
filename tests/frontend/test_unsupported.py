"""What the frontend declines, and that it says why."""

from __future__ import annotations

import pytest

from autotier.abi import Kind
from autotier.frontend import Unsupported, lower
from tests.frontend import kernels as k
from tests.frontend.harness import check

INT, FLT = Kind.INT, Kind.FLOAT

CASES = [
    (k.uses_dict, (INT,), "BUILD_MAP at line .*: dicts are not supported"),
    (k.uses_string, (INT,), "a str constant used as a function argument is not supported"),
    (k.uses_attribute, (FLT,), r"attribute \.numerator of a float value"),
    (k.uses_try, (INT,), "try/except"),
    (k.generator, (INT,), "generators"),
    (k.make_closure, (INT,), "closures"),
    (k.keyword_call, (FLT,), r"keyword arguments to builtin round\(\)"),
    (k.star_args, (), r"\*args"),
    (k.calls_partial, (INT,), "global '_PARTIAL' is a partial"),
    (k.uses_big, (INT,), "beyond 64 bits"),
    (k.round_ndigits, (FLT,), r"round\(\) with 2 arguments"),
    (k.math_unsupported, (FLT,), r"math\.gamma is not supported"),
    (k.add, (INT,), "takes 2 arguments, not 1"),
]


@pytest.mark.parametrize(("func", "kinds", "reason"), CASES,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_unsupported_with_reason(func, kinds, reason):
    with pytest.raises(Unsupported, match=reason) as info:
        lower(func, kinds)
    assert info.value.reason == str(info.value)
    assert func.__qualname__ in info.value.reason  # says which function


def _slice_stored(xs):
    xs[1:] = xs


def _deleted(xs):
    del xs[0]


def _starred(xs):
    a, *rest = xs
    return a


def _matched(xs):
    match xs:
        case [a, _]:
            return a
    return 0


def _set_comprehension(xs):
    return len({x for x in xs})


@pytest.mark.parametrize(("func", "reason"), [
    (_slice_stored, r"slice assignment \(`xs\[a:b\] = ys`\) is not supported at line \d+"),
    (_deleted, r"DELETE_SUBSCR at line \d+: `del xs\[i\]` is not supported"),
    (_starred, r"UNPACK_EX at line \d+: starred unpacking"),
    (_matched, r"MATCH_SEQUENCE at line \d+: match statements are not supported"),
    (_set_comprehension, r"set comprehensions are not supported"),
], ids=lambda c: getattr(c, "__name__", ""))
def test_an_instruction_not_compiled_is_named_with_its_construct_and_line(func, reason):
    """Never a bare 'not supported': the reason says what (the survey groups by it)."""
    with pytest.raises(Unsupported, match=reason) as info:
        lower(func, (Kind.LIST,))
    assert func.__name__ in info.value.reason
    assert not info.value.reason.split(" (in ")[0].endswith(": not supported")


def test_unsupported_reasons_name_the_line():
    with pytest.raises(Unsupported, match=r"at line \d+"):
        lower(k.uses_dict, (INT,))


def test_not_a_function():
    with pytest.raises(Unsupported, match="not a Python function"):
        lower(len, (INT,))  # type: ignore[arg-type]


def test_a_plain_helper_is_compiled_with_its_caller():
    for a in (3, -(2**62), 2**62):  # the last overflows inside the helper: resumed there
        check(k.calls_plain_function, a, may_bail=True)


def test_a_callee_it_cannot_compile_is_called_through_the_c_api():
    def uses_bad_callee(n):
        return bad(n)  # noqa: F821  (a global, bound below)

    uses_bad_callee.__globals__["bad"] = k.hot(k.uses_dict)
    try:
        assert lower(uses_bad_callee, (INT,)).callees == ("uses_dict (interpreted)",)
        for n in (0, 3, -2):
            check(uses_bad_callee, n, may_bail=True)
    finally:
        del uses_bad_callee.__globals__["bad"]


def test_a_callee_returning_a_tuple_is_reported_through_the_caller():
    def uses_pair(n):
        return pair(n) + 1  # noqa: F821  (a global, bound below)

    uses_pair.__globals__["pair"] = k.hot(k.returns_pair)
    try:
        with pytest.raises(Unsupported, match="a call of returns_pair, which returns a tuple"):
            lower(uses_pair, (INT,))
    finally:
        del uses_pair.__globals__["pair"]


def test_a_function_without_a_return_value_compiles_and_answers_none():
    from autotier.abi import Status
    from tests.frontend.harness import check

    assert check(k.returns_none, 3) is Status.OK


def test_a_float_in_a_list_is_declined_for_a_nans_identity():
    """``nan in [nan]`` is true when both are one object, which an unboxed float no
    longer is: the frontend declines ``in`` of a float rather than answer it wrongly."""
    import math

    from autotier import frontend
    from autotier.abi import Kind

    def member(x, ys):
        return x in ys

    nan = math.nan
    assert member(nan, [nan]) and not member(float("nan"), [nan])  # identity decides
    with pytest.raises(frontend.Unsupported, match="identity|int or bool"):
        frontend.lower(member, (Kind.FLOAT, Kind.LIST))
