"""Float attributes overwritten in place (issue 11, ``docs/architecture.md`` "Instances"):
a store of a float into an attribute whose exact float only the instance holds (its
count is 1) writes the new double into that float instead of making a new one.

Differential through the frontend harness: every function runs natively and in CPython
on fresh copies and must leave every object as CPython does.  The harness's copies
share their floats with the arguments (``copy.deepcopy`` of a float is the float), so
an argument's own float is never the instance's alone: each function first stores a
float it computed (a new object, held by the instance only), then reads, shares and
overwrites it, which is where the in-place store applies and where a wrong one would
show (a local, another instance, a list, a code object's constant holding the old
float).  Every deopt site is forced and resumed too.
"""

from __future__ import annotations

import math
import struct
import sys

import pytest

from autotier.abi import Status
from tests.frontend.harness import (
    check,
    compile_function,
    force_every_site,
    kinds_of,
    tuple_speculation,
)


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class Zeroed:
    """Attributes from ``__init__``'s constants: the code object holds the same floats."""

    def __init__(self):
        self.x = 0.0
        self.y = 1.5


class ClassZero:
    """``x`` from the class body until an instance stores its own."""

    x = 0.0

    def __init__(self, y):
        self.y = y


class Half(float):
    pass


def kept_by_a_local(p):
    p.x = p.x + 1.0  # a new float, the instance's alone
    v = p.x  # CPython: v holds that float; native code: a copy of its value
    p.x += 1.0
    p.x *= 3.0
    return v + p.x * 0.0 + v


def kept_by_another_instance(p, q):
    p.x = p.x * 2.0
    q.x = p.x  # CPython: one float in both
    p.x += 1.0
    return q.x - p.x


def kept_by_a_list(p, xs):
    p.x = p.x * 2.0
    xs[0] = p.x
    p.x += 1.0
    return xs[0]


def kept_by_the_stack(p):
    p.x = p.x * 2.0
    p.x = p.x + (p.y - p.x)  # the old float is an operand while the new one is stored
    return p.x


def overwritten_in_a_loop(p, n):
    for i in range(n):
        p.x = p.x * 0.5 + p.y
        p.y -= 0.25 * i
    return p.x + p.y


def from_init_constants(z):
    z.x += 1.0  # the constant 0.0 of __init__ is shared: a new float
    z.x += 2.0  # the new float is the instance's alone: in place
    z.y = z.y * 2.0
    z.y -= 1.0
    return z.x + z.y


def from_the_class_body(c):
    c.x += 1.0  # reads the class's 0.0, stores the instance's own float
    c.x += 2.0  # that float is the instance's alone: in place
    c.y = c.x * c.y
    return c.x


def int_where_float_was(p):
    p.x = 1.5  # over an int: a new float replaces it
    p.x += 1.0
    p.y = 3  # an int over the fresh float: not in place
    return p.x


def signed_nans(p):
    p.x = p.x + 0.0
    p.x = p.y * -1.0  # a nan's sign and payload, stored in place
    p.x = -p.x
    return math.copysign(1.0, p.x)


def made_here(n, k):
    p = Point(1.5, k)  # a class made here: its attributes any number (tagged)
    for i in range(n):
        p.x = p.x * 0.5 + i
        p.x = p.y  # a tagged value stored: its float case in place, its int case not
        p.y = p.x + 0.25 * i
    return p.x + p.y


def one_store(p):
    p.x = p.x * 2.0
    p.x += 1.0
    return p.x


def store_only(p):
    p.x = p.y * 2.0  # over whatever x holds
    p.x += 1.0
    return p.y


INPUTS = [
    (kept_by_a_local, (Point(1.5, 2.0),)),
    (kept_by_a_local, (Slotted(1.5, 2.0),)),
    (kept_by_another_instance, (Point(1.5, 2.0), Point(-3.0, 1.0))),
    (kept_by_another_instance, (Slotted(1.5, 2.0), Slotted(-3.0, 1.0))),
    (kept_by_a_list, (Point(1.5, 2.0), [0.5, 0.25])),
    (kept_by_the_stack, (Point(1.5, 2.0),)),
    (overwritten_in_a_loop, (Point(1.0, 2.0), 20)),
    (overwritten_in_a_loop, (Slotted(1.0, 2.0), 20)),
    (from_init_constants, (Zeroed(),)),
    (from_the_class_body, (ClassZero(1.5),)),
    (int_where_float_was, (Point(3, 2.0),)),
    (int_where_float_was, (Point(3.0, 2.0),)),
    (signed_nans, (Point(1.0, struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0123))[0]),)),
    (signed_nans, (Point(1.0, -math.nan),)),
    (store_only, (Point(Half(0.5), 1.0),)),  # over a float subclass: CPython's store
    (store_only, (Point(2, 1.0),)),
    (made_here, (5, 2.0)),
    (made_here, (5, 3)),
]


@pytest.mark.parametrize("func,args", INPUTS, ids=lambda v: getattr(v, "__name__", ""))
def test_in_place_stores_leave_cpythons_state(func, args):
    check(func, *args, may_bail=True)


@pytest.mark.parametrize("func,args", INPUTS[:10] + INPUTS[-2:],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_every_site_resumes_exactly(func, args):
    coverage = force_every_site(func, [args])
    assert not coverage.unexecuted


def _compiled(func, args):
    return compile_function(func, kinds_of(args), speculated=tuple_speculation(args))


def test_the_float_only_the_instance_holds_is_the_one_written():
    compiled = _compiled(one_store, (Point(0.5, 1.0),))
    p = Point(0.5, 1.0)
    assert compiled.run(p) == (Status.OK, 2.0, [])
    alone = id(p.x)  # a float made by the last call's store, the instance's alone
    count = sys.getrefcount(p.x)  # (outside an assert: pytest's rewrite holds values)
    assert count == 2  # the instance's and getrefcount's argument
    assert compiled.run(p) == (Status.OK, 5.0, [])
    assert id(p.x) == alone and p.x == 5.0  # written in place: no float made
    kept = p.x  # now shared: a new float is stored, the kept one keeps its value
    assert compiled.run(p) == (Status.OK, 11.0, [])
    assert kept == 5.0 and p.x == 11.0 and p.x is not kept
    count = sys.getrefcount(kept)
    assert count == 2


def test_a_float_subclass_is_replaced_not_written():
    compiled = _compiled(store_only, (Point(1.0, 3.0),))
    p = Point(Half(0.5), 3.0)  # the Half is the instance's alone
    assert compiled.run(p) == (Status.OK, 3.0, [])
    assert type(p.x) is float and p.x == 7.0


def test_the_constants_of_init_are_never_written():
    compiled = _compiled(from_init_constants, (Zeroed(),))
    for _ in range(3):
        z = Zeroed()
        assert compiled.run(z) == (Status.OK, from_init_constants(Zeroed()), [])
    assert 0.0 in Zeroed.__init__.__code__.co_consts
    assert 1.5 in Zeroed.__init__.__code__.co_consts
    fresh = Zeroed()
    assert (fresh.x, fresh.y) == (0.0, 1.5)
    compiled = _compiled(from_the_class_body, (ClassZero(1.5),))
    for _ in range(3):
        c = ClassZero(1.5)
        assert compiled.run(c) == (Status.OK, from_the_class_body(ClassZero(1.5)), [])
        assert c.x == 3.0 and "x" in vars(ClassZero)
    assert ClassZero.x == 0.0 and ClassZero(1.0).x == 0.0


def test_counts_stay_flat():
    compiled = _compiled(overwritten_in_a_loop, (Point(1.0, 2.0), 20))
    p, q = Point(1.0, 2.0), Point(1.0, 2.0)
    compiled.run(p, 5)
    overwritten_in_a_loop(q, 5)
    before = sys.getrefcount(p), sys.getrefcount(p.x), sys.getrefcount(p.y)
    for _ in range(1000):
        assert compiled.run(p, 5) == (Status.OK, overwritten_in_a_loop(q, 5), [])
    after = sys.getrefcount(p), sys.getrefcount(p.x), sys.getrefcount(p.y)
    assert after == before
    assert (p.x, p.y) == (q.x, q.y)
