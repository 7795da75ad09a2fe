"""Constructors native code makes itself (issue 11, ``docs/architecture.md``
"Instances", :mod:`autotier.frontend.construct`): ``object.__new__`` called natively
and the compiled ``__init__`` given the new instance.  Differential through the frontend
harness: results, exceptions (``__init__``'s own, CPython's TypeErrors), every
instance's state after the call (its values, their shared keys' layout, its slots),
every deopt site forced, the caller's and ``__init__``'s."""

from __future__ import annotations

import sys

import pytest

from autotier import compat
from autotier.abi import InstanceKind, Kind, Status
from autotier.deopt import forcing, resume
from autotier.frontend import lower, methodplan
from tests.frontend.harness import check, compile_function, force_every_site


class Vec:
    def __init__(self, x, y=2.0, z=0.5):
        self.x = x
        self.y = y
        self.z = z


class Slot:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


class Half:
    """An ``__init__`` that leaves a slot unset."""

    __slots__ = ("a", "b")

    def __init__(self, a):
        self.a = a


class Sub(Vec):
    pass  # Vec's __init__, for instances of Sub


class Picky:
    def __init__(self, v):
        if v < 0:
            raise ValueError(f"negative: {v}")
        self.v = v


class Returns:
    def __init__(self, v):
        self.v = v
        if v > 5.0:
            return 5  # noqa: PLE0101 - typed not None only: CPython constructs


class Wide:
    """Its ``__init__`` returns None natively, and a big int once resumed."""

    def __init__(self, n):
        self.n = n
        if n > 10:
            return n * 100000000000000000000000  # noqa: PLE0101 - once resumed


class WithNew:
    def __new__(cls, v):
        return object.__new__(cls)

    def __init__(self, v):
        self.v = v


class Rebinds:
    def __init__(self, v):
        self = Vec(v)  # noqa: PLW0642, F841 - the case init_plan declines


class Grows:
    """An ``__init__`` that calls a method and a helper (compiled in with it)."""

    def __init__(self, x):
        self.x = x
        self.sq = square(x)
        self.double()

    def double(self):
        self.x = self.x * 2.0


def square(v):
    return v * v


def made(x, y):
    v = Vec(x, y)
    return v


def defaults(x):
    v = Vec(x)
    return v.x + v.y + v.z


def keywords(x, y):
    v = Vec(y=y, x=x)
    w = Vec(x, z=y)
    return v.x - v.y + w.z


def slotted(a, b):
    s = Slot(a, b)
    s.a += s.b
    return s


def half(a):
    return Half(a)


def sub(x):
    return Sub(x, x)


def picky(v):
    p = Picky(v)
    return p.v * 2.0


def returns(v):
    return Returns(v).v


def wide(n):
    return Wide(n).n


def with_new(v):
    return WithNew(v).v


def grows(x):
    g = Grows(x)
    return g.x + g.sq


def loop(n):
    total = 0.0
    for i in range(n):
        v = Vec(float(i), 2.0)
        total += v.x * v.y + v.z
    return total


def _native_init(func, kinds) -> bool:
    """Whether ``func``'s compile constructs natively (calls object.__new__'s C code)."""
    text = lower(func, kinds).dumps["llvm"]
    return "__init__" in text and '%"instance" = call' in text


def test_the_plan_takes_plain_inits_only():
    assert methodplan.init_plan(Vec, 1) is not None
    assert methodplan.init_plan(Vec, 1).defaults == (2.0, 0.5)
    assert methodplan.init_plan(Sub, 2).func is Vec.__dict__["__init__"]
    assert methodplan.init_plan(Vec, 4) is None  # CPython's TypeError for the arity
    assert methodplan.init_plan(WithNew, 1) is None  # its own __new__
    assert methodplan.init_plan(Rebinds, 1) is None  # self rebound: a resume needs it

    class Bare:
        pass

    assert methodplan.init_plan(Bare, 0) is None  # object's own __init__


@pytest.mark.parametrize("func,kinds", [
    (made, (Kind.FLOAT, Kind.FLOAT)), (defaults, (Kind.FLOAT,)),
    (keywords, (Kind.FLOAT, Kind.FLOAT)), (slotted, (Kind.INT, Kind.INT)),
    (sub, (Kind.FLOAT,)), (grows, (Kind.FLOAT,)), (loop, (Kind.INT,)),
    (wide, (Kind.INT,)), (half, (Kind.INT,)),
])
def test_constructors_are_made_natively(func, kinds):
    assert _native_init(func, kinds)


@pytest.mark.parametrize("func,kinds", [
    (returns, (Kind.FLOAT,)), (with_new, (Kind.FLOAT,)),
])
def test_others_stay_cpythons(func, kinds):
    assert not _native_init(func, kinds)


@pytest.mark.parametrize("func,args", [
    (made, (1.5, 2.0)), (made, (1, 2)), (defaults, (1.0,)), (keywords, (1.0, 4.0)),
    (slotted, (1, 2)), (slotted, (2**62, 2**62)),  # an overflow after the constructor
    (half, (3,)), (sub, (2.0,)), (picky, (1.5,)), (picky, (-1.5,)),
    (returns, (1.0,)), (returns, (6.0,)),  # CPython's TypeError, through the C API
    (wide, (3,)), (wide, (30,)),  # resumed: __init__ returned a big int: the TypeError
    (with_new, (2.0,)), (grows, (3.0,)), (loop, (10,)),
])
def test_constructors_answer_like_cpython(func, args):
    check(func, *args, may_bail=True)


def test_made_natively_without_a_bailout():
    for func, args in [(made, (1.5, 2.0)), (defaults, (1.0,)), (keywords, (1.0, 4.0)),
                       (slotted, (1, 2)), (sub, (2.0,)), (grows, (3.0,)), (loop, (5,))]:
        assert check(func, *args) is Status.OK, func


def _layout(obj):
    """What CPython's later specialisation sees of an instance: its class, whether it
    has values (no dict made), their shared keys' address and the values' order."""
    values = compat.instance_values(obj)
    keys = compat.shared_keys(type(obj))
    return type(obj), values is not None, keys and keys[0], values and tuple(values.items())


def test_a_made_instance_is_laid_out_as_cpythons():
    compiled = compile_function(made, (Kind.FLOAT, Kind.FLOAT))
    status, mine, _ = compiled.run(1.5, 2.5)
    theirs = made(1.5, 2.5)
    assert status is Status.OK and _layout(mine) == _layout(theirs)
    assert _layout(mine)[1]  # values, not a dict
    assert sys.getsizeof(vars(mine)) == sys.getsizeof(vars(theirs))  # shared keys still
    assert vars(mine) == vars(theirs) == {"x": 1.5, "y": 2.5, "z": 0.5}
    status, s, _ = compile_function(half, (Kind.INT,)).run(3)
    assert status is Status.OK and s.a == 3 and not hasattr(s, "b")
    assert sys.getrefcount(mine) == 2  # the caller's only


@pytest.mark.parametrize("func,inputs", [
    (made, [(1.5, 2.0)]), (defaults, [(1.0,)]), (keywords, [(1.0, 4.0)]),
    (slotted, [(1, 2)]), (sub, [(2.0,)]), (wide, [(3,), (30,)]), (grows, [(3.0,)]),
    (loop, [(3,)]),
])
def test_every_site_resumes_exactly(func, inputs):
    coverage = force_every_site(func, inputs)
    assert not coverage.unexecuted
    assert any(s.func.__name__ == "__init__" for s in coverage.sites)  # __init__'s too


def test_a_deopt_in_init_resumes_with_the_half_built_instance():
    compiled = compile_function(made, (Kind.FLOAT, Kind.FLOAT), force=True)
    second = Vec.__init__.__code__.co_firstlineno + 2  # self.y = y
    site = next(s for s in compiled.lowered.sites
                if s.func.__name__ == "__init__" and s.line == second)
    forcing.force(site.id)
    status, _, frames = compiled.run(1.5, 2.5)
    assert status is Status.FORCED and len(frames) == 2
    half_built = frames[0].values[0]
    assert type(half_built) is Vec and compat.instance_values(half_built) == {"x": 1.5}
    got = resume.finish(frames)()
    assert got is half_built and vars(got) == {"x": 1.5, "y": 2.5, "z": 0.5}
    del frames, half_built
    assert sys.getrefcount(got) == 2


class Mutable:
    def __init__(self, v):
        self.v = v


def use(v):
    return Mutable(v).v + 1.0


class Shape:
    def __init__(self, v):
        self.v = v


def make(v):
    return Shape(v).v


def test_a_class_changed_after_the_compile_is_cpythons_call():
    compiled = compile_function(use, (Kind.FLOAT,))
    assert compiled.run(2.0)[:2] == (Status.OK, 3.0)

    def tenfold(self, v):
        self.v = v * 10.0

    Mutable.__init__ = tenfold  # a new version tag: the vectorcall of the class
    assert compiled.run(2.0)[:2] == (Status.OK, 21.0) == (Status.OK, use(2.0))
    Mutable.__init__ = lambda self, v: 7  # CPython's TypeError, raised after the call
    status, _, frames = compiled.run(2.0)
    assert status is Status.RAISED
    with pytest.raises(TypeError, match=r"^__init__\(\) should return None, not 'int'$"):
        resume.finish(frames)()


def test_an_abstract_class_raises_cpythons_type_error():
    compiled = compile_function(make, (Kind.FLOAT,))
    Shape.__abstractmethods__ = frozenset({"area"})  # object.__new__ refuses it
    status, _, frames = compiled.run(1.0)
    assert status is Status.RAISED
    with pytest.raises(TypeError) as native:
        resume.finish(frames)()
    with pytest.raises(TypeError) as interpreted:
        make(1.0)
    assert str(native.value) == str(interpreted.value)
    assert "abstract" in str(native.value)


def test_a_subclass_is_made_for_its_own_class():
    status, got, _ = compile_function(sub, (Kind.FLOAT,)).run(2.0)
    assert status is Status.OK and type(got) is Sub and vars(got) == vars(sub(2.0))


# --- callees returning instances: owned references handed to native callers -----------

class P:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def shifted(self, dx):  # (float(): one __init__ of floats, whatever the slots hold)
        return P(float(self.x) + dx, float(self.y))

    def me(self):
        return self

    def norm2(self):
        return self.x * self.x + self.y * self.y


def point(x, y):  # a helper returning the instance it made
    return P(x, y)


def chained(x, y):
    p = point(x, y)
    q = p.shifted(1.5).me()
    return q.norm2() + p.norm2()


def kept(x, y):
    return point(x, y).shifted(y)


def test_callees_returning_instances_are_compiled_in():
    compiled = compile_function(chained, (Kind.FLOAT, Kind.FLOAT))
    assert set(compiled.lowered.callees) == {"point", "P.shifted", "P.me", "P.norm2",
                                             "P.__init__"}


@pytest.mark.parametrize("func,args", [
    (chained, (1.0, 2.0)), (chained, (3, 4)), (kept, (0.5, 2.5)),
])
def test_returned_instances_answer_like_cpython(func, args):
    assert check(func, *args) is Status.OK


def test_a_returned_instance_is_the_callers_only_reference():
    status, got, _ = compile_function(kept, (Kind.FLOAT, Kind.FLOAT)).run(0.5, 2.5)
    assert status is Status.OK and type(got) is P and (got.x, got.y) == (3.0, 2.5)
    assert sys.getrefcount(got) == 2


@pytest.mark.parametrize("func,inputs", [
    (chained, [(1.0, 2.0)]), (kept, [(0.5, 2.5)]),
])
def test_every_site_of_callees_returning_instances_resumes_exactly(func, inputs):
    coverage = force_every_site(func, inputs)
    assert not coverage.unexecuted
    assert {"shifted", "point"} <= {s.func.__name__ for s in coverage.sites}


def rec(n):  # a recursion: instances passed as objects, the helper CPython's call
    if n <= 0:
        return 0.0
    return point(float(n), 1.0).norm2() + rec(n - 1)


def test_a_recursion_calling_a_helper_returning_instances_still_compiles():
    compiled = compile_function(rec, (Kind.INT,))
    assert "point (interpreted)" in compiled.lowered.callees
    check(rec, 4, may_bail=True)


class Pair:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left  # empty slots: stored natively (attrs.set_attr)
        self.right = right


def paired(a, b):
    return Pair(a, b)


def restored(s, v):
    del s.a
    s.a = v  # an empty slot again
    return s.a + s.b


def test_empty_slots_are_stored_as_the_member_setter_stores():
    inner = P(1.0, 2.0)
    before = sys.getrefcount(inner)
    status, got, _ = compile_function(paired, (InstanceKind(P), Kind.FLOAT)).run(inner, 2.5)
    assert status is Status.OK and got.left is inner and got.right == 2.5
    assert sys.getrefcount(inner) == before + 1  # the slot's reference
    del got
    assert sys.getrefcount(inner) == before
    assert check(restored, Slot(1, 2), 5) is Status.OK
