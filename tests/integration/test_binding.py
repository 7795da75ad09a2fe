"""Keyword arguments and defaults, bound by the native entry as CPython binds them:
every call shape answers like the undecorated function (value or exception type), and
the ones CPython accepts run natively."""

from __future__ import annotations

import itertools

import pytest

import autotier
from tests.runtime.helpers import interpreted_frames, make_hot, promote, settle


def scaled(x, n=10, k=2.5):
    return x * n + k


def posonly(a, b=3, /, c=4):
    return a * 100 + b * 10 + c


def no_defaults(a, b):
    return a - b


def outcome(func, *args, **kwargs):
    try:
        value = func(*args, **kwargs)
    except TypeError:
        return ("TypeError",)
    return ("value", value, type(value))


SHAPES = {
    scaled: [((1.5,), {}), ((1.5, 3), {}), ((1.5, 3, 1.0), {}), ((1.5,), {"n": 4}),
             ((1.5,), {"k": 0.5}), ((1.5,), {"k": 0.5, "n": 2}), ((), {"x": 2.0}),
             ((), {"k": 1.0, "x": 2.0, "n": 1}), ((1.5, 3), {"k": 1.0}), ((2, 3), {}),
             # CPython refuses these: TypeError
             ((), {}), ((1.5,), {"x": 2.0}), ((1.5, 3, 1.0, 4), {}), ((1.5,), {"m": 1}),
             ((1.5, 3, 1.0), {"n": 2})],
    posonly: [((1,), {}), ((1, 2), {}), ((1, 2, 5), {}), ((1,), {"c": 7}), ((1, 2), {"c": 7}),
              ((1,), {"b": 2}), ((), {"a": 1}), ((1, 2, 3, 4), {})],
    no_defaults: [((5, 3), {}), ((5,), {"b": 3}), ((), {"b": 3, "a": 5}), ((5,), {}),
                  ((5,), {"a": 3}), ((5, 3), {"b": 1})],
}


@pytest.mark.parametrize("func", list(SHAPES), ids=lambda f: f.__name__)
def test_every_call_shape_answers_like_cpython(func):
    hf = make_hot(func)
    args, kwargs = SHAPES[func][0]
    for _ in range(5):
        hf(*args, **kwargs)
    settle()
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf)
    for _ in range(2):  # the second round: after any recompile the first one caused
        for args, kwargs in SHAPES[func]:
            assert outcome(hf, *args, **kwargs) == outcome(func, *args, **kwargs), (args, kwargs)
        settle()
    native = 0
    for args, kwargs in SHAPES[func]:
        expected = outcome(func, *args, **kwargs)
        with interpreted_frames(hf) as frames:
            got = outcome(hf, *args, **kwargs)
        assert got == expected
        if expected[0] == "value" and type(args[0] if args else 0) in (int, float):
            native += frames[0] == 0
    assert native >= 3  # the accepted shapes of the compiled kinds ran natively


def test_a_default_used_by_the_promoting_call_compiles():
    hf = make_hot(scaled)
    promote(hf, 1.5)  # n and k from the defaults: the signature is (float, int, float)
    assert autotier.stats(hf).signatures == (("float", "int", "float"),)
    expected = scaled(2.0), scaled(2.0, n=3)
    with interpreted_frames(hf) as frames:
        got = hf(2.0), hf(2.0, n=3)
    assert frames[0] == 0 and got == expected


def test_replacing_defaults_recompiles():
    def shifted(x, d=1):
        return x + d
    hf = make_hot(shifted)
    promote(hf, 1)
    assert hf(10) == 11
    hf.__defaults__ = (5,)
    assert shifted.__defaults__ == (5,)
    assert hf(10) == 15  # the interpreter answers, the bead recompiles
    settle()
    assert autotier.stats(hf).state == "compiled"
    with interpreted_frames(hf) as frames:
        assert hf(10) == 15 and hf(10, 2) == 12
    assert frames[0] == 0
    hf.__defaults__ = None
    with pytest.raises(TypeError):
        hf(10)


def test_keywords_reach_numba_bound():
    def mean3(x, scale=2.0, shift=0.5):
        return x if x > scale else shift  # comparisons: numba does no float arithmetic
    hf = make_hot(mean3, backend="numba")
    promote(hf, 4.0)
    assert autotier.stats(hf).backend == "numba"
    for args, kwargs in [((4.0,), {}), ((4.0,), {"shift": 1.5}), ((), {"x": 3.0, "scale": 1.0}),
                         ((4.0, 1.0, 2.0), {}), ((4.0,), {"x": 1.0})]:
        assert outcome(hf, *args, **kwargs) == outcome(mean3, *args, **kwargs)


def test_dynamic_keyword_names_are_bound_by_the_interpreter():
    hf = make_hot(scaled)
    promote(hf, 1.5)
    name = "".join(["n"])  # not interned: no identity with the parameter name
    for value in itertools.islice(itertools.count(), 5):
        assert hf(1.5, **{name: value}) == scaled(1.5, n=value)


def test_keyword_kinds_become_specialisations():
    """A keyword argument of another kind than its default: the bead binds the keyword
    (promotion) and the type bailout reports the bound arguments, so it specialises for
    what calls pass (it used to see only the positional ones, recompile for the same
    kinds and blacklist)."""
    def times(x, n=10):
        return x * n
    hf = make_hot(times)
    for _ in range(10):
        assert hf(1.5, n=2.5) == 3.75
        settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and ("float", "float") in row.signatures
    assert hf(2.0) == 20.0  # the default's kind: one more specialisation
    settle()
    assert set(autotier.stats(hf).signatures) == {("float", "float"), ("float", "int")}
    with interpreted_frames(hf) as frames:
        got = hf(1.5, n=2.5), hf(2.0)
    assert frames[0] == 0 and got == (3.75, 20.0)
    assert autotier.stats(hf).bailouts == 0


def test_promoting_calls_by_keyword_compile():
    """The promotion is told the call's keyword arguments and binds them (it used to see
    only the positional ones, compile the wrong arity and fail for good)."""
    def f(x, y):
        return x * y + 1.0
    hf = make_hot(f)
    for _ in range(6):
        assert hf(x=1.5, y=2.0) == 4.0
        settle()
    row = autotier.stats(hf)
    assert (row.state, row.signatures) == ("compiled", (("float", "float"),))
    with interpreted_frames(hf) as frames:
        got = hf(y=2.0, x=1.5), hf(1.5, y=4.0)
    assert frames[0] == 0 and got == (4.0, 7.0)
    def g(x, n=3):
        return x * n
    hg = make_hot(g)
    for _ in range(6):
        assert hg(x=1.5) == 4.5
        settle()
    assert autotier.stats(hg).signatures == (("float", "int"),)


def test_native_calls_take_defaults_and_see_them_replaced():
    """A hot function calling another with a default or a keyword compiles the call
    natively, with the default as a constant; replacing the callee's __defaults__
    makes the caller recompile (never a stale default)."""
    ns: dict[str, object] = {}
    exec("def offset(x, d=1):\n    return x + d\n"
         "def caller(x):\n    return offset(x) * 10 + offset(x, d=2)\n", ns)
    offset = make_hot(ns["offset"])
    ns["offset"] = offset
    caller = make_hot(ns["caller"])
    promote(caller, 5)
    assert autotier.stats(caller).state == "compiled"
    with interpreted_frames(caller, offset) as frames:
        assert caller(5) == 67
    assert frames[0] == 0  # the call of offset is native too
    offset.__defaults__ = (3,)
    assert caller(5) == 87  # the interpreter answers; the caller recompiles
    settle()
    assert caller(5) == 87
    settle()
    with interpreted_frames(caller, offset) as frames:
        assert caller(5) == 87
    assert frames[0] == 0


def test_native_calls_see_a_callee_code_replaced():
    """A caller compiled with a native call of g runs g's code as it was compiled;
    assigning g.__code__ (IPython's autoreload does) makes the caller's entry bail
    (Bail.CODE) and recompile: never the old g."""
    ns: dict[str, object] = {}
    exec("def g(a):\n    return a + 1\n"
         "def g_new(a):\n    return a + 100\n"
         "def f(a):\n    return g(a) * 2\n", ns)
    g = make_hot(ns["g"])
    ns["g"] = g
    f = make_hot(ns["f"])
    promote(f, 3)
    assert autotier.stats(f).state == "compiled"
    with interpreted_frames(f, g) as frames:
        assert f(3) == 8
    assert frames[0] == 0  # g is called natively
    g.__code__ = ns["g_new"].__code__
    assert g(3) == 103
    assert f(3) == 206  # never the old g's 8
    settle()
    assert f(3) == 206
    settle()
    with interpreted_frames(f, g) as frames:
        assert f(3) == 206
    assert frames[0] == 0  # recompiled with the new g, natively again


def all_posonly(a, b, /):
    return a * 10 - b


def test_a_function_of_positional_only_parameters_binds_nothing_natively():
    """No defaults and no parameter a keyword can name: the entry has no binder (an
    OSR entry's shape); a call of another shape goes to the interpreter, which raises
    CPython's TypeError, message included."""
    hf = make_hot(all_posonly)
    promote(hf, 5, 3)
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf)
    expected = all_posonly(7, 2)
    with interpreted_frames(hf) as frames:
        got = hf(7, 2)
    assert got == expected and frames[0] == 0
    for args, kwargs in [((5,), {"b": 3}), ((), {"a": 5, "b": 3}), ((5,), {}),
                         ((5, 3, 1), {}), ((5, 3), {"c": 1})]:
        with pytest.raises(TypeError) as native:
            hf(*args, **kwargs)
        with pytest.raises(TypeError) as plain:
            all_posonly(*args, **kwargs)
        assert str(native.value) == str(plain.value), (args, kwargs)
    assert hf(5.5, 1) == all_posonly(5.5, 1)
