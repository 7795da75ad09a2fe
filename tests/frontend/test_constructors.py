"""Making instances (issue 11, ``docs/architecture.md`` "Instances"): a call of a class
native code knows is made by object's own ``__new__`` is a vectorcall of the class
whose result is an instance of exactly that class (:mod:`autotier.frontend.results`),
used natively: its attributes read and written, returned, passed on.  Differential
through the frontend harness: results, exceptions (``__init__``'s own, CPython's
TypeError for a wrong arity), every argument's state, every deopt site forced.
"""

from __future__ import annotations

import pytest

from autotier.abi import InstanceKind, Kind, Status
from autotier.deopt import sites
from autotier.frontend import Unsupported, lower, results
from autotier.runtime import elements
from tests.frontend.harness import (
    check,
    compile_function,
    force_every_site,
    fresh,
    kinds_of,
    tuple_speculation,
)
from tests.frontend.instance_kernels import Body, Picky, Vec


class Slot:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


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


# --- results speculated from a bailout's object (frontend.results) ---------------------

class Other:
    def __init__(self, x, m):
        self.x = x
        self.m = m


MADE = {"kind": Body}


def system(n):
    cls = MADE["kind"]  # (a dict read: the helper is not compiled in)
    return [cls(float(i), 2.0) for i in range(n)]


def weigh(n):
    bodies = system(n)
    total = 0.0
    for b in bodies:
        total += b.x * b.m
    return total


def lone(n):
    return [MADE["kind"](float(i), 2.0) for i in range(n + 1)][-1]


def picked(n):
    b = lone(n)
    b.x += 1.0
    return b.x * b.m


def speculation(func, *args):
    """What the bead speculates after the ELEMENT bailout of ``func(*args)``'s first
    compile: ``elements.sample_result`` of the object at the failing site."""
    compiled = compile_function(func, kinds_of(args), speculated=tuple_speculation(args))
    status, _, frames = compiled.run(*fresh(args))
    assert status is Status.ELEMENT, status
    outcome = frames[0]
    assert isinstance(outcome, sites.Outcome)
    site = next(f for f in frames if isinstance(f, sites.Frame)).site
    return elements.sample_result(outcome.value, site.offset), site.offset


def test_a_bailouts_object_is_sampled_by_its_site():
    spec, offset = speculation(weigh, 3)
    key = elements.result_key(offset)
    assert spec[key] == elements.LISTS and spec[f"{key}[]"] == {InstanceKind(Body)}
    assert spec[f"{key}[].x"] == spec[f"{key}[].m"] == {Kind.FLOAT}
    spec, offset = speculation(picked, 2)
    assert spec[elements.result_key(offset)] == {InstanceKind(Body)}
    assert elements.sample_result(3, 10) == {"@10": frozenset()}
    assert elements.sample_result([Body(1, 2), Other(1, 2)], 10) == {"@10": frozenset()}
    widened = elements.widened({**spec, "0.x": frozenset({Kind.INT})})
    assert widened[elements.result_key(offset)] == {InstanceKind(Body)}


@pytest.mark.parametrize("func,n", [(weigh, 3), (weigh, 0), (picked, 2), (picked, 0)])
def test_a_speculated_result_runs_natively_and_exactly(func, n):
    spec, _ = speculation(func, 3)
    assert check(func, n, results=spec) is Status.OK


def test_a_result_of_another_kind_resumes_after_the_call():
    spec, _ = speculation(weigh, 3)
    one, _ = speculation(picked, 2)
    MADE["kind"] = Other
    try:  # a list of another class: the check after the call fails, exactly
        assert check(weigh, 3, results=spec, may_bail=True) is Status.ELEMENT
        assert check(picked, 2, results=one, may_bail=True) is Status.ELEMENT
    finally:
        MADE["kind"] = Body


@pytest.mark.parametrize("func,inputs", [(weigh, [(3,)]), (picked, [(2,)])])
def test_every_site_of_a_speculated_result_resumes_exactly(func, inputs):
    spec, _ = speculation(func, *inputs[0])
    coverage = force_every_site(func, inputs, results=spec)
    assert not coverage.unexecuted


# --- instances stored into lists -------------------------------------------------------

def pair(a, b):
    return [Vec(a, b), Vec(b, a)]


def appended(n):
    xs = []
    for i in range(n):
        xs.append(Vec(float(i), 1.0))
    total = 0.0
    for v in xs:
        total += v.x * v.y
    return total


def stored(xs, p):
    xs[0] = p  # into a list speculated to hold numbers
    return xs


def stored_over(n):
    xs = [Vec(1.0, 2.0), Vec(3.0, 4.0)]
    xs[1] = Vec(float(n), 0.5)  # replaces an instance: the interpreter does it
    return xs[1].x + xs[0].y


def made_list_returned(n):
    out = [Slot(1, 2)]
    for i in range(n):
        out.append(Slot(i, i + 1))
    return out


def listed(v):
    ps = [v, v]
    ps.append(v)
    return len(ps)


@pytest.mark.parametrize("func,args", [
    (pair, (1.0, 2.0)),
    (appended, (5,)),
    (appended, (0,)),
    (stored_over, (3,)),
    (made_list_returned, (3,)),
    (listed, (Vec(1, 2),)),
])
def test_lists_of_instances_answer_like_cpython(func, args):
    check(func, *args, may_bail=True)


def test_lists_of_instances_run_natively():
    for func, args in ((pair, (1.0, 2.0)), (appended, (5,)), (made_list_returned, (3,)),
                       (listed, (Vec(1, 2),))):
        assert check(func, *args) is Status.OK, func


@pytest.mark.parametrize("func,inputs", [
    (pair, [(1.0, 2.0)]),
    (appended, [(3,)]),
    (stored_over, [(3,)]),
    (made_list_returned, [(2,)]),
])
def test_every_site_of_a_list_of_instances_resumes_exactly(func, inputs):
    coverage = force_every_site(func, inputs)
    assert not coverage.unexecuted


def test_a_list_of_two_classes_is_declined():
    def mixed(a):
        return [Vec(a, a), Slot(a, a)]

    def numbers(a):
        xs = [a]
        xs.append(Vec(a, a))
        return xs

    with pytest.raises(Unsupported, match="two classes"):
        lower(mixed, (Kind.FLOAT,))
    with pytest.raises(Unsupported, match="instances and numbers"):
        lower(numbers, (Kind.FLOAT,))
    with pytest.raises(Unsupported, match="instances and numbers"):  # a list of numbers
        lower(stored, kinds_of(([1.0], Vec(1.0, 2.0))))


# --- attributes holding instances ------------------------------------------------------

class Sphere:
    def __init__(self, centre, radius):
        self.centre = centre
        self.radius = radius


class Other3:
    def __init__(self, x, y):
        self.x = x
        self.y = y


def centre_x(s):
    return s.centre.x + s.radius


def moved(s, dx):
    c = s.centre
    c.x += dx
    return s.centre.x


def recentred(s, x):
    s.centre = Vec(x, x)
    return s.centre.y * s.radius


def made_sphere(x):
    s = Sphere(Vec(x, 1.0), 2.0)
    return s.centre.x * s.radius


def test_an_attributes_instance_is_sampled():
    seen = elements.sample(centre_x, (Sphere(Vec(1.0, 2.0), 3.0),))
    assert seen["0.centre"] == {InstanceKind(Vec)} and seen["0.radius"] == {Kind.FLOAT}
    assert seen["0.centre.x"] == seen["0.centre.y"] == {Kind.FLOAT}  # one level deeper
    assert elements.widened(seen)["0.centre"] == {InstanceKind(Vec)}
    text = lower(centre_x, kinds_of((Sphere(Vec(1.0, 2.0), 3.0),)),
                 elements=dict(seen)).dumps["ir"]
    assert "float = getattr %centre" in text  # unboxed, as sampled


@pytest.mark.parametrize("func,args", [
    (centre_x, (Sphere(Vec(1.0, 2.0), 3.0),)),
    (moved, (Sphere(Vec(1.0, 2.0), 3.0), 0.5)),
    (recentred, (Sphere(Vec(1.0, 2.0), 3.0), 4.0)),
])
def test_attributes_holding_instances_run_natively(func, args):
    assert check(func, *args) is Status.OK


def test_an_attribute_of_a_made_instance_is_speculated_after_its_bailout():
    spec, _ = speculation(made_sphere, 2.0)  # (Sphere was never sampled: any number)
    assert check(made_sphere, 2.0, results=spec) is Status.OK
    assert not force_every_site(made_sphere, [(2.0,)], results=spec).unexecuted


def test_an_attribute_of_another_class_resumes_after_the_read():
    sphere = Sphere(Vec(1.0, 2.0), 3.0)
    spec = dict(tuple_speculation((sphere,)))
    other = Sphere(Other3(5.0, 6.0), 3.0)  # the compile's speculation, another class now
    status, _, frames = compile_function(centre_x, kinds_of((other,)),
                                         speculated=elements.as_request(spec)).run(other)
    assert status is Status.ELEMENT and isinstance(frames[0], sites.Outcome)
    assert type(frames[0].value) is Other3
    # the harness compares the resumed answer with CPython's
    from tests.frontend.harness import check_resumed
    mine = fresh((other,))
    status, _, frames = compile_function(centre_x, kinds_of((other,)),
                                         speculated=elements.as_request(spec)).run(*mine)
    check_resumed(centre_x, (other,), frames, mine, [])
    numbers = Sphere(7.0, 3.0)  # a number where an instance was seen
    mine = fresh((numbers,))
    status, _, frames = compile_function(centre_x, kinds_of((numbers,)),
                                         speculated=elements.as_request(spec)).run(*mine)
    assert status is Status.ELEMENT
    check_resumed(centre_x, (numbers,), frames, mine, [])


@pytest.mark.parametrize("func,inputs", [
    (centre_x, [(Sphere(Vec(1.0, 2.0), 3.0),)]),
    (moved, [(Sphere(Vec(1.0, 2.0), 3.0), 0.5)]),
    (recentred, [(Sphere(Vec(1.0, 2.0), 3.0), 4.0)]),
])
def test_every_site_of_an_attributes_instance_resumes_exactly(func, inputs):
    coverage = force_every_site(func, inputs)
    assert not coverage.unexecuted


def built(a):
    return [Body(a, 2.0), Body(a + 1.0, 3.0)]


def uses_built(a):
    total = 0.0
    for b in built(a):
        total += b.x * b.m
    return total


def test_a_helper_returning_instances_is_called_through_the_c_api():
    assert lower(uses_built, (Kind.FLOAT,)).callees == ("built (interpreted)",)
    spec, _ = speculation(uses_built, 1.0)
    assert check(uses_built, 1.5, results=spec) is Status.OK
