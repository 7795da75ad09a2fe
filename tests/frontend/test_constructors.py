"""Making instances (issue 11, ``docs/architecture.md`` "Instances"): a call of a class
native code knows is made by object's own ``__new__`` is a vectorcall of the class
whose result is an instance of exactly that class (:mod:`autotier.frontend.results`),
used natively: its attributes read and written, returned, passed on.  Differential
through the frontend harness: results, exceptions (``__init__``'s own, CPython's
TypeError for a wrong arity), every argument's state, every deopt site forced.
"""

from __future__ import annotations

import pytest

from autotier.abi import Kind, Status
from autotier.frontend import lower, results
from tests.frontend.harness import check, force_every_site


class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slot:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


class Picky:
    def __init__(self, v):
        if v < 0:
            raise ValueError(f"negative: {v}")
        self.v = v


class Child(Vec):
    def __init__(self, x, y):
        super().__init__(x, y)
        self.z = x * y


class WithNew:
    def __new__(cls, v):
        return v  # not an instance at all

    def __init__(self, v):
        self.v = v


class Shifty:
    """An ``__init__`` that makes its instance a ``Vec``."""

    def __init__(self, x):
        self.__class__ = Vec
        self.x = x
        self.y = x


def length2(x, y):
    v = Vec(x, y)
    return v.x * v.x + v.y * v.y


def made_and_returned(x, y):
    v = Vec(x, y)
    v.x = v.x + 1.0
    return v


def slotted(a, b):
    s = Slot(a, b)
    s.a += s.b
    return s.a


def picky(v):
    p = Picky(v)
    return p.v * 2.0


def wrong_arity(x):
    v = Vec(x)
    return v.x


def child(x, y):
    c = Child(x, y)
    return c.x + c.z


def with_new(v):
    w = WithNew(v)
    return w


def shifty(x):
    s = Shifty(x)
    return s.x


def loop_made(n):
    total = 0.0
    for i in range(n):
        v = Vec(float(i), 2.0)
        total += v.x * v.y
    return total


def keywords(x, y):
    v = Vec(y=y, x=x)
    return v.x - v.y


def test_a_constructor_is_known_to_make_its_class():
    assert results.constructs(Vec) and results.constructs(Slot) and results.constructs(Child)
    assert not results.constructs(WithNew)  # its own __new__
    assert not results.constructs(int) and not results.constructs(Exception)

    class Meta(type):
        pass

    class WithMeta(metaclass=Meta):
        pass

    assert not results.constructs(WithMeta)
    text = lower(length2, (Kind.FLOAT, Kind.FLOAT)).dumps["ir"]
    assert "instance = callobject" in text


@pytest.mark.parametrize("func,args", [
    (length2, (3.0, 4.0)),
    (length2, (3, 4)),
    (made_and_returned, (1.5, 2.0)),
    (slotted, (1, 2)),
    (slotted, (2**62, 2**62)),  # an overflow after the constructor: resumed exactly
    (picky, (1.5,)),
    (picky, (-1.5,)),  # __init__ raises: CPython's ValueError
    (wrong_arity, (1.0,)),  # CPython's TypeError
    (child, (2.0, 3.0)),
    (with_new, (2.0,)),  # not a constructor: its result through the C API
    (shifty, (2.0,)),  # another class after all: resumed after the call with it
    (loop_made, (10,)),
    (keywords, (1.0, 4.0)),
])
def test_constructors_answer_like_cpython(func, args):
    check(func, *args, may_bail=True)


def test_a_made_instance_answers_natively():
    assert check(length2, 3.0, 4.0) is Status.OK
    assert check(made_and_returned, 1.5, 2.0) is Status.OK
    assert check(loop_made, 5) is Status.OK
    assert check(slotted, 1, 2) is Status.OK


@pytest.mark.parametrize("func,inputs", [
    (length2, [(3.0, 4.0)]),
    (made_and_returned, [(1.5, 2.0)]),
    (slotted, [(1, 2)]),
    (picky, [(1.5,), (-1.5,)]),
    (loop_made, [(3,)]),
])
def test_every_site_resumes_exactly(func, inputs):
    coverage = force_every_site(func, inputs)
    assert not coverage.unexecuted
