"""A bead that gives up for good gives the decorator's name back to the plain function.

CPython 3.11 runs an exact ``PyFunction``'s frame inside its caller's eval loop, and
no other callable's: once a function is blacklisted, or failed on its code, its name
(the module global, the class attribute) is rebound to the original function, so a
call costs what it costs undecorated (the bench's call-path table shows it; nothing
here is timed).  Every test builds real modules (registered in ``sys.modules``, as an
import would) and compares every answer with the undecorated function's.
"""

from __future__ import annotations

import gc
import itertools
import pickle
import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Any

import pytest

import autotier
from autotier.dispatch.hotobject import HotFunction
from autotier.runtime import unwrap as unwrap_module
from tests.runtime.helpers import settle

_COUNTER = itertools.count()


@pytest.fixture
def make_module() -> Iterator[Any]:
    """``make_module(source)``: a fresh module executing ``source``, in sys.modules."""
    made: list[str] = []

    def make(source: str) -> types.ModuleType:
        name = f"_autotier_unwrap_{next(_COUNTER)}"
        module = types.ModuleType(name)
        sys.modules[name] = module
        made.append(name)
        exec(compile(textwrap.dedent(source), f"<{name}>", "exec"), vars(module))  # noqa: S102
        return module

    yield make
    for name in made:
        sys.modules.pop(name, None)


HEADER = """
import autotier
HOT = autotier.hot(threshold=3, backend="llvm", deopt=autotier.BlacklistPolicy())
"""

OVERFLOW = HEADER + """
@HOT
def mul(a, b):
    return a * b

def mul_plain(a, b):
    return a * b
"""

BUILDS_A_DICT = HEADER + """
@HOT
def total(n):
    xs = {0: n, 1: n + 1}
    return xs[0] + xs[1]

def total_plain(n):
    xs = {0: n, 1: n + 1}
    return xs[0] + xs[1]
"""


def _blacklist(mod: types.ModuleType) -> HotFunction:
    """Compile ``mod.mul``, then overflow int64 once: BlacklistPolicy gives up."""
    hot = mod.mul
    assert isinstance(hot, HotFunction)
    for _ in range(5):
        assert hot(3, 4) == 12
    settle()
    assert autotier.stats(hot).state == "compiled"
    big = 2**62
    assert hot(big, 4) == big * 4  # the interpreter answers; the bead blacklists
    assert autotier.stats(hot).state == "blacklisted"
    return hot


def _fail(mod: types.ModuleType) -> HotFunction:
    hot = mod.total
    for _ in range(5):
        assert hot(2) == 5
    settle()
    assert autotier.stats(hot).state == "failed", autotier.stats(hot)
    return hot


def test_a_blacklisted_function_is_plain_again(make_module: Any) -> None:
    mod = make_module(OVERFLOW)
    hot = _blacklist(mod)
    plain = mod.mul
    assert type(plain) is types.FunctionType
    assert plain is hot.__wrapped__
    row = autotier.stats(hot)
    assert row.unwrapped == f"{mod.__name__}.mul"
    # differential: the name, the held hot object and the undecorated function agree
    for a, b in [(3, 4), (2**62, 4), (-(2**63), -1), (1.5, 2), (True, 3), ("ab", 3)]:
        want = mod.mul_plain(a, b)
        for f in (plain, hot):
            got = f(a, b)
            assert got == want and type(got) is type(want), (f, a, b)
    with pytest.raises(TypeError) as plain_error:
        mod.mul_plain("a", "b")
    for f in (plain, hot):
        with pytest.raises(TypeError) as error:
            f("a", "b")
        assert str(error.value) == str(plain_error.value)


def test_inspection_answers_for_the_plain_function(make_module: Any) -> None:
    mod = make_module(OVERFLOW)
    hot = _blacklist(mod)
    plain = mod.mul
    assert autotier.stats(plain) == autotier.stats(hot)
    assert autotier.stats(plain).state == "blacklisted"
    assert autotier.stats()[hot.__qualname__] is not None
    shown = autotier.explain(plain)
    assert shown["state"] == "blacklisted" and "BINARY_OP" in shown["bytecode"]
    with pytest.raises(LookupError):
        autotier.native(plain)
    assert autotier.reload_all() >= 0  # a blacklisted bead stays as it is
    assert mod.mul is plain and autotier.stats(plain).state == "blacklisted"
    autotier.invalidate(plain)
    assert autotier.stats(hot).state == "invalid"
    assert mod.mul is plain and hot(3, 4) == 12


def test_a_function_failed_on_its_code_is_plain_again_and_reload_restores(
        make_module: Any) -> None:
    mod = make_module(BUILDS_A_DICT)
    hot = _fail(mod)
    assert "BUILD_CONST_KEY_MAP" in (autotier.stats(hot).reason or "")
    assert type(mod.total) is types.FunctionType
    for n in (0, 7, -3, 2**62, 2.5, True):
        assert mod.total(n) == mod.total_plain(n) == hot(n)
    # reload: the name holds the hot object again and the bead starts over
    assert autotier.reload_all() >= 0
    assert mod.total is hot
    assert autotier.stats(hot).unwrapped is None
    assert autotier.stats(hot).state in ("queued", "compiling", "failed")  # compiles again
    settle()
    assert autotier.stats(hot).state == "failed"
    assert type(mod.total) is types.FunctionType  # given up again


def test_new_code_through_the_hot_object_restores_the_name(make_module: Any) -> None:
    mod = make_module(BUILDS_A_DICT + """
def compilable(n):
    return n + n + 1
""")
    hot = _fail(mod)
    plain = mod.total
    hot.__code__ = mod.compilable.__code__  # as IPython's autoreload assigns it
    assert mod.total is hot
    for _ in range(5):
        assert mod.total(2) == 5
    settle()
    assert autotier.stats(hot).state == "compiled"
    assert plain(10) == hot(10) == 21


def test_new_code_on_the_plain_function_is_answered_by_it(make_module: Any) -> None:
    mod = make_module(BUILDS_A_DICT + """
def other(n):
    return -n
""")
    hot = _fail(mod)
    mod.total.__code__ = mod.other.__code__
    assert mod.total(4) == hot(4) == -4
    assert "UNARY_NEGATIVE" in autotier.explain(mod.total)["bytecode"]


def test_failed_on_argument_types_keeps_the_hot_object(make_module: Any) -> None:
    mod = make_module(HEADER + """
@HOT
def first(xs):
    return xs["k"]
""")
    hot = mod.first
    for _ in range(5):
        assert hot({"k": 4}) == 4
    settle()
    assert autotier.stats(hot).state == "failed"
    assert mod.first is hot  # a later call may bring ints: it looks again
    assert autotier.stats(hot).unwrapped is None


def test_a_method_whose_self_no_backend_takes_gives_its_name_back(make_module: Any) -> None:
    """Promotion fails on ``self`` at 1, 2, 4 and 8 times the threshold; then the bead
    gives up (until a reload) and the class attribute is the plain function again, so
    the method costs what it costs undecorated (issue 8: a tiny method 49 -> 80 ns)."""
    mod = make_module(HEADER + """
class Meta(type):  # an instance of a plain class is taken (issue 11); of this, never
    pass


class Point(metaclass=Meta):
    def __init__(self, x):
        self.x = x

    @HOT
    def scaled(self, k):
        return self.x * k
""")
    hot = mod.Point.__dict__["scaled"]
    p = mod.Point(2.0)
    calls = 0
    while mod.Point.__dict__["scaled"] is hot and calls < 200:
        assert p.scaled(3) == 6.0
        calls += 1
        settle()
    assert mod.Point.__dict__["scaled"] is hot._func  # the plain function
    assert calls > 3 * 8 - 5  # four looks: the last at about 8 x the threshold
    row = autotier.stats(hot)
    assert row.state == "failed" and "looked 4 times" in row.reason
    assert row.unwrapped is not None
    assert p.scaled(4) == 8.0 and autotier.stats(hot).calls == row.calls  # not counted
    assert autotier.reload_all() >= 1  # a reload starts over: the decorator's name again
    assert mod.Point.__dict__["scaled"] is hot


def test_methods_and_static_methods(make_module: Any) -> None:
    mod = make_module(HEADER + """
class Outer:
    class Inner:
        @HOT
        @staticmethod
        def pair(n):
            return {0: n}[0] * 2

    @staticmethod
    def plain_pair(n):
        return {0: n}[0] * 2
""")
    inner = mod.Outer.Inner
    wrapper = inner.__dict__["pair"]
    assert isinstance(wrapper, staticmethod) and isinstance(wrapper.__func__, HotFunction)
    hot = wrapper.__func__
    for _ in range(5):
        assert inner.pair(3) == 6
    settle()
    assert autotier.stats(hot).state == "failed"
    now = inner.__dict__["pair"]
    assert type(now) is staticmethod and now.__func__ is hot.__wrapped__
    for n in (1, -7, 2**62, 0.5):
        want = mod.Outer.plain_pair(n)
        assert inner.pair(n) == want and inner().pair(n) == want and hot(n) == want
    assert autotier.stats(inner.pair).unwrapped == f"{mod.__name__}.Outer.Inner.pair"


@pytest.mark.parametrize("kind", [None, staticmethod, classmethod])
def test_unwrap_rebinds_each_kind_of_class_attribute(make_module: Any, kind: Any) -> None:
    mod = make_module("""
class A:
    def m(*args):
        return args
""")
    func = mod.A.__dict__["m"]
    hot = autotier.hot(func)
    mod.A.m = kind(hot) if kind else hot
    rebinding = unwrap_module.unwrap(hot, func)
    assert rebinding is not None
    placed = mod.A.__dict__["m"]
    if kind is None:
        assert placed is func
    else:
        assert type(placed) is kind and placed.__func__ is func
    assert mod.A.m(1) == (func(1) if kind is staticmethod else
                          (mod.A, 1) if kind is classmethod else (1,))
    assert rebinding.restore()
    back = mod.A.__dict__["m"]
    assert back is hot if kind is None else back.__func__ is hot


def test_places_it_leaves_alone(make_module: Any) -> None:
    mod = make_module(HEADER + """
import functools

def logged(f):
    @functools.wraps(f)
    def wrapper(*args):
        return f(*args)
    return wrapper

@logged
@HOT
def stacked(n):
    return {0: n}[0]

class Meta(type):
    def __setattr__(cls, name, value):
        raise AttributeError("frozen")

class Frozen(metaclass=Meta):
    @HOT
    @staticmethod
    def s(n):
        return {0: n}[0]
""")
    stacked_hot = mod.stacked.__wrapped__
    frozen_hot = mod.Frozen.__dict__["s"].__func__

    def local(n: int) -> int:
        return {0: n}[0]

    local_hot = autotier.hot(threshold=3, backend="llvm")(local)
    for _ in range(5):
        assert mod.stacked(1) == mod.Frozen.s(1) == local_hot(1) == 1
    settle()
    for hot in (stacked_hot, frozen_hot, local_hot):
        assert autotier.stats(hot).state == "failed" and autotier.stats(hot).unwrapped is None
    assert mod.stacked.__wrapped__ is stacked_hot
    assert mod.Frozen.__dict__["s"].__func__ is frozen_hot


def test_a_name_a_compiled_caller_calls_natively_stays_hot(make_module: Any) -> None:
    mod = make_module(OVERFLOW + """
@HOT
def twice(a, b):
    return mul(a, b) + mul(a, b)
""")
    for _ in range(5):
        assert mod.twice(3, 4) == 24
    settle()
    assert autotier.stats(mod.twice).state == "compiled"
    hot = _blacklist(mod)
    assert mod.mul is hot  # twice's native code assumes it; rebinding would stop it
    assert autotier.stats(mod.twice).state == "compiled" and mod.twice(3, 4) == 24


def test_a_held_hot_object_pickles_as_the_name(make_module: Any) -> None:
    mod = make_module(OVERFLOW)
    hot = _blacklist(mod)
    assert pickle.loads(pickle.dumps(hot)) is mod.mul
    mod2 = make_module(OVERFLOW)
    assert pickle.loads(pickle.dumps(mod2.mul)) is mod2.mul  # not rebound: itself


def test_prune_lets_go_once_the_name_holds_something_else(make_module: Any) -> None:
    mod = make_module(BUILDS_A_DICT)
    _fail(mod)
    qualname = f"{mod.__name__}.total"
    assert any(r.unwrapped == qualname for r in autotier.stats())
    autotier.prune()
    assert any(r.unwrapped == qualname for r in autotier.stats())  # still in its place
    mod.total = None
    gc.collect()
    autotier.prune()
    assert not any(r.unwrapped == qualname for r in autotier.stats())
