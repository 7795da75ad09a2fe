"""Attribute guards proven once per stretch of a block (issue 11, ``frontend/attrguards``):
the fast path's type, version-tag and values checks of an instance are made by its
first access and trusted by the next ones until something may have run Python code.

Each function here runs code between two accesses of the same instance that changes
what those checks test (its class reassigned, a property put on the class, its dict
made by ``vars()``), from every kind of place the stretch must end at: a C-API
attribute access of another object (a ``__setattr__``, a property), a call, a
finaliser run by a release.  Differential through the frontend harness (the answer
and every object's state CPython's), every deopt site forced; a mutation keeping the
proofs past any of those places fails them.
"""

from __future__ import annotations

import pytest

from autotier.abi import Status
from autotier.deopt import resume
from tests.frontend.harness import (
    check,
    compile_function,
    force_every_site,
    kinds_of,
    outcome,
    same_outcome,
    tuple_speculation,
)


class Plain:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Other:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class OtherSlotted:
    __slots__ = ("x", "y")


class Meddler:
    """A ``__setattr__`` that changes another object when it runs; ``w`` is a plain
    value until a test makes it a property that does too (:func:`meddling_w`)."""

    def __init__(self, victim, how):
        object.__setattr__(self, "victim", victim)
        object.__setattr__(self, "how", how)
        object.__setattr__(self, "v", 0.0)
        object.__setattr__(self, "w", 2.0)

    def __setattr__(self, name, value):
        meddle(self.victim, self.how)
        object.__setattr__(self, name, value)


def meddling_w(self):
    meddle(self.victim, self.how)
    return 2.0


def meddle(victim, how):
    cls = type(victim)
    if how == "class":  # another class, of the same layout
        victim.__class__ = {Plain: Other, Other: Plain, Slotted: OtherSlotted,
                            OtherSlotted: Slotted}[cls]
    elif how == "dict":  # the values become a dict
        vars(victim)["x"] = 100.0
    elif how == "property":  # the class's version tag changes
        for name in ("x", "y"):
            _REPLACED.append((cls, name, vars(cls).get(name)))
            setattr(cls, name, property(lambda self: -1.0))
    elif how == "none":
        pass


#: (class, name, what it held before: a slot's member, or None) that meddle replaced
_REPLACED: list[tuple[type, str, object]] = []


def undo():
    while _REPLACED:
        cls, name, held = _REPLACED.pop()
        if held is None:
            delattr(cls, name)
        else:
            setattr(cls, name, held)
    if isinstance(vars(Meddler).get("w"), property):
        del Meddler.w


def native_outcome(compiled, *args):
    """What the native call answers, a bailout finished by the interpreter (as
    :func:`harness.outcome` says it)."""
    status, value, frames = compiled.run(*args)
    if status is Status.OK:
        return "value", value, []
    assert frames, status
    return outcome(resume.finish(frames))


@pytest.fixture(autouse=True)
def _classes_restored():
    yield
    undo()


def through_a_setattr(p, m):
    a = p.x + p.y
    m.v = 1.0  # Meddler.__setattr__ runs: the C API
    return a + p.x * 10.0 + p.y


def through_a_property(p, m):
    a = p.x * p.y
    b = m.w  # (a property added after the compile: it runs)
    return a + b + p.y + p.x * 10.0


def through_a_store(p, m):
    p.x = p.x + 1.0
    m.v = 2.0
    p.y = p.y * 2.0  # a store: its guards checked again
    return p.y


@pytest.mark.parametrize("how", ["class", "dict", "property", "none"])
@pytest.mark.parametrize("func", [through_a_setattr, through_a_property, through_a_store])
@pytest.mark.parametrize("cls", [Plain, Slotted])
def test_code_run_between_two_accesses_is_seen(func, how, cls):
    if cls is Slotted and how == "dict":
        return  # no dict to make
    check(func, cls(1.5, 2.0), Meddler(cls(0.0, 0.0), "none"), may_bail=True)
    compiled = compile_function(func, kinds_of((cls(1.5, 2.0), Meddler(None, "none"))),
                                speculated=tuple_speculation((cls(1.5, 2.0),
                                                              Meddler(None, "none"))))
    mine, theirs = cls(1.5, 2.0), cls(1.5, 2.0)
    m, n = Meddler(mine, how), Meddler(theirs, how)
    Meddler.w = property(meddling_w)
    got = native_outcome(compiled, mine, m)
    undo()
    Meddler.w = property(meddling_w)
    expected = outcome(lambda: func(theirs, n))
    undo()
    assert same_outcome(got, expected), (got, expected)
    assert type(mine) is type(theirs)
    assert [getattr(mine, n, None) for n in ("x", "y")] == \
        [getattr(theirs, n, None) for n in ("x", "y")]


#: what Dropper's finaliser does to its victim (set by the test)
DROP_HOW = ["class"]


class Dropper:
    """Its finaliser changes ``victim`` (:data:`DROP_HOW`)."""

    def __init__(self, victim):
        self.victim = victim
        self.weight = 1.0
        self.how = DROP_HOW[0]

    def __del__(self):
        meddle(self.victim, self.how)


def through_a_finaliser(p):
    d = Dropper(p)
    a = p.x + d.weight
    d = 0.0  # the Dropper is released here: its __del__ runs
    return a + p.x * 10.0 + d


def reclass(p):
    meddle(p, "class")


def redict(p):
    meddle(p, "dict")


def reprop(p):
    meddle(p, "property")


def through_a_call(p):
    a = p.x
    reclass(p)  # a call: anything may run
    return a + p.x * 10.0


def through_a_call_dict(p):
    a = p.x
    redict(p)
    return a + p.x * 10.0


def through_a_call_property(p):
    a = p.x
    reprop(p)
    return a + p.x * 10.0


@pytest.mark.parametrize("how", ["class", "dict", "property"])
@pytest.mark.parametrize("func", [through_a_finaliser, through_a_call, through_a_call_dict,
                                  through_a_call_property])
@pytest.mark.parametrize("cls", [Plain, Slotted])
def test_a_call_or_a_finaliser_ends_the_stretch(func, how, cls):
    if cls is Slotted and (how == "dict" or func is through_a_call_dict):
        return  # no dict to make
    if func is not through_a_finaliser and how != "class":
        return  # (the call says what it does)
    DROP_HOW[0] = how
    compiled = compile_function(func, kinds_of((cls(1.5, 2.0),)),
                                speculated=tuple_speculation((cls(1.5, 2.0),)))
    mine, theirs = cls(1.5, 2.0), cls(1.5, 2.0)
    got = native_outcome(compiled, mine)
    undo()
    expected = outcome(lambda: func(theirs))
    undo()
    assert same_outcome(got, expected), (got, expected)
    assert type(mine) is type(theirs)


def many_accesses(p, q, n):
    for _ in range(n):
        dx = p.x - q.x
        dy = p.y - q.y
        p.x -= dx * 0.25
        p.y -= dy * 0.25
        q.x += dx * 0.5
        q.y += dy * 0.5
    return p.x + p.y + q.x + q.y


@pytest.mark.parametrize("cls", [Plain, Slotted])
def test_a_stretch_of_accesses_answers_like_cpython(cls):
    check(many_accesses, cls(1.5, 2.0), cls(-1.0, 4.0), 10)
    check(many_accesses, cls(1.5, 2.0), cls(1, 4.0), 10, may_bail=True)  # an int: resumed


@pytest.mark.parametrize("func,args", [
    (many_accesses, (Plain(1.5, 2.0), Plain(-1.0, 4.0), 3)),
    (many_accesses, (Slotted(1.5, 2.0), Slotted(-1.0, 4.0), 3)),
    (through_a_setattr, (Plain(1.5, 2.0), Meddler(Plain(0.0, 0.0), "none"))),
    (through_a_store, (Slotted(1.5, 2.0), Meddler(Slotted(0.0, 0.0), "none"))),
])
def test_every_site_resumes_exactly(func, args):
    coverage = force_every_site(func, [args])
    assert not coverage.unexecuted


# ------------------------------------------------------------------ helpers compiled in


def halve(v):
    if v > 100.0:
        return v
    return v * 0.5


def count_up(v):
    total = 0.0
    for i in range(3):  # a loop: its periodic check may let other threads run
        total += v * i
    return total


def meddling(p, v):
    reprop(p)
    return v


def with_a_pure_helper(p):
    a = halve(p.x)
    return p.y + a


def with_a_looping_helper(p):
    a = count_up(p.x)
    return p.y + a


def with_a_pure_helper_of_pure_helpers(p):
    a = halve(halve(p.x) + 1.0)
    p.x = a
    return p.y + a


def _ir(func, args):
    return compile_function(func, kinds_of(args), speculated=tuple_speculation(args)
                            ).lowered.ir


@pytest.mark.parametrize("cls", [Plain, Slotted])
def test_a_helper_doing_arithmetic_keeps_the_stretch(cls):
    args = (cls(1.5, 2.0),)
    assert "attr_proven" in _ir(with_a_pure_helper, args)
    assert "attr_proven" in _ir(with_a_pure_helper_of_pure_helpers, args)
    assert "attr_proven" not in _ir(with_a_looping_helper, args)
    for func in (with_a_pure_helper, with_a_looping_helper,
                 with_a_pure_helper_of_pure_helpers):
        check(func, *args)
        check(func, cls(300.0, -1.0))
        coverage = force_every_site(func, [args, (cls(300.0, -1.0),)])
        assert not coverage.unexecuted


def test_a_helper_given_the_instance_ends_the_stretch():
    def caller(p):
        a = meddling(p, p.x)
        return p.x * 10.0 + a

    args = (Plain(1.5, 2.0),)
    compiled = compile_function(caller, kinds_of(args), speculated=tuple_speculation(args))
    mine, theirs = Plain(1.5, 2.0), Plain(1.5, 2.0)
    got = native_outcome(compiled, mine)
    undo()
    expected = outcome(lambda: caller(theirs))
    assert same_outcome(got, expected), (got, expected)
