"""Instances of user classes (issue 11, ``docs/architecture.md`` "Instances"): attribute
reads and writes through the C API, differential through the frontend harness.

Each function is compiled for its arguments' kinds (an instance's exact class) with the
attribute kinds the bead would sample from them, run natively and in CPython on fresh
copies and compared exactly: the result, CPython's exception where it raises, and every
instance's state after the call (its dict in order, its slots).  Every deopt site is
forced with an input that reaches it and resumed to CPython's answer (a store that ran
natively never runs again).
"""

from __future__ import annotations

import math

import pytest

from autotier.abi import InstanceKind, Kind, Status
from autotier.frontend import Unsupported, lower
from autotier.runtime import elements
from tests.frontend.harness import check, force_every_site, kinds_of
from tests.frontend.instance_kernels import Runner, Walker, divided, gap_of, kicked, walk, walk_by


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


class Base:
    scale = 2.0  # a class attribute

    def __init__(self, v):
        self.v = v


class Derived(Base):
    scale = 3.0


class Guarded:
    """A ``__setattr__`` that refuses negative values (and counts the stores)."""

    def __init__(self, v):
        object.__setattr__(self, "v", v)
        object.__setattr__(self, "stores", 0)

    def __setattr__(self, name, value):
        if value < 0:
            raise ValueError(f"{name} must not be negative")
        object.__setattr__(self, "stores", self.stores + 1)
        object.__setattr__(self, name, value)


class Prop:
    def __init__(self, c):
        self.c = c

    @property
    def f(self):
        return self.c * 9 / 5 + 32


def norm(p):
    return math.sqrt(p.x * p.x + p.y * p.y)


def scale_inplace(p, k):
    p.x *= k
    p.y = p.y * k
    return p.x + p.y


def returns_self(p, k):
    p.x = p.x + k
    return p


def slotted_sum(s):
    s.a += 1
    return s.a + s.b


def class_attr(o):
    return o.v * o.scale


def guarded_store(g, v):
    g.v = v
    g.v = g.v - 1.0
    return g.v


def loop_moves(p, n):
    for i in range(n):
        p.x += p.y
        p.y -= 0.5
    return p.x


def two_points(p, q):
    dx = p.x - q.x
    dy = p.y - q.y
    return dx * dx + dy * dy


def set_none(p):
    p.x = None
    return p.y


POINTS = [Point(3.0, 4.0), Point(-0.0, 0.0), Point(float("nan"), 1e308), Point(1e308, 1e308)]


def _kind(obj: object) -> str:
    """A test id that is the same in every process (a repr holds the address: pytest-xdist
    workers would collect different tests); pytest numbers the repeats."""
    return type(obj).__name__


@pytest.mark.parametrize("p", POINTS, ids=_kind)
def test_reads_answer_like_cpython(p):
    assert check(norm, p) is Status.OK


@pytest.mark.parametrize("func,args", [
    (scale_inplace, (Point(1.5, 2.0), 3.0)),
    (scale_inplace, (Point(1.5, -2.0), -0.0)),
    (returns_self, (Point(1.0, 2.0), 0.5)),
    (slotted_sum, (Slotted(1, 2),)),
    (slotted_sum, (Slotted(2**62, 2**62),)),  # an overflow: resumed, stored once
    (class_attr, (Base(1.5),)),
    (class_attr, (Derived(1.5),)),
    (loop_moves, (Point(0.0, 3.0), 10)),
    (two_points, (Point(1.0, 2.0), Point(4.0, 6.0))),
    (set_none, (Point(1.0, 2.0),)),
    (guarded_store, (Guarded(1.0), 2.0)),
    (guarded_store, (Guarded(1.0), -2.0)),  # __setattr__ raises: CPython's ValueError
    (guarded_store, (Guarded(1.0), 0.5)),  # the second store raises, the first ran once
])
def test_writes_leave_cpythons_state(func, args):
    check(func, *args, may_bail=True)


@pytest.mark.parametrize("func,inputs", [
    (norm, [(Point(3.0, 4.0),)]),
    (scale_inplace, [(Point(1.5, 2.0), 3.0)]),
    (slotted_sum, [(Slotted(1, 2),)]),
    (guarded_store, [(Guarded(1.0), 2.0)]),
    (loop_moves, [(Point(0.0, 3.0), 3)]),
])
def test_every_site_resumes_exactly(func, inputs):
    coverage = force_every_site(func, inputs)
    assert not coverage.unexecuted


def test_the_speculated_kinds_come_from_the_sample():
    sampled = elements.sample(norm, (Point(1, 2.5),))
    assert sampled == {"0.x": frozenset({Kind.INT}), "0.y": frozenset({Kind.FLOAT})}
    assert elements.sample(class_attr, (Derived(1),))["0.scale"] == frozenset({Kind.FLOAT})
    slots = elements.sample(slotted_sum, (Slotted(True, None),))
    assert slots == {"0.a": frozenset({Kind.BOOL}), "0.b": frozenset({Kind.NONE})}
    assert elements.sample(norm, (Point("a", 2**70),)) == {"0.x": frozenset(),
                                                            "0.y": frozenset()}
    assert elements.sample(lambda o: o.f, (Prop(1.0),)) == {"0.c": frozenset({Kind.FLOAT})}


def test_what_is_declined_says_why():
    kinds = (InstanceKind(Prop),)
    speculated = dict(elements.sample(lambda o: o.f, (Prop(1.0),)))

    def fahrenheit(o):
        return o.f

    def add(p, q):
        return p + q

    def text(p):
        return p.x

    with pytest.raises(Unsupported, match="attribute .f of a Prop: the promoting calls saw"):
        lower(fahrenheit, kinds, elements=speculated)
    with pytest.raises(Unsupported, match="BinaryOp of an instance is not supported"):
        lower(add, kinds_of((Point(1, 2), Point(1, 2))))
    with pytest.raises(Unsupported, match="holds something other than a number"):
        lower(text, kinds_of((Point("a", 1),)),
              elements=dict(elements.sample(text, (Point("a", 1),))))


def test_instances_of_builtin_subclasses_and_metaclasses_are_not_taken():
    class Meta(type):
        pass

    class WithMeta(metaclass=Meta):
        pass

    class MyInt(int):
        pass

    class MyList(list):
        pass

    assert Kind.of(Point(1, 2)) == InstanceKind(Point)
    assert Kind.of(WithMeta()) is None
    assert Kind.of(MyInt(3)) is None
    assert Kind.of(MyList()) is None
    assert Kind.of(ValueError("x")) is None


# ------------------------------------------------------------------ the fast path


class Plain:
    def __init__(self, a, b):
        self.a = a
        self.b = b


class Hooked:
    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return 0.5


class Viewed:
    def __init__(self, a, b):
        self.a = a
        self.b = b

    @property
    def b(self):  # a data descriptor: the instance's value never answers
        return 7.0

    @b.setter
    def b(self, value):
        self.__dict__["b"] = value


def weigh(o):
    return o.a * 2.0 + o.b


def _plan(cls, name):
    from autotier.frontend import attrfast

    return attrfast.plan(cls, name)


def test_the_fast_path_is_planned_for_plain_classes_only():
    Plain(1.0, 2.0)
    assert _plan(Plain, "a") is not None and _plan(Plain, "a").index == 0
    assert _plan(Plain, "b").index == 1
    assert _plan(Slotted, "b") is not None and _plan(Slotted, "b").slot is not None
    assert _plan(Hooked, "a") is None  # __getattr__: the C API
    assert _plan(Viewed, "b") is None  # a property
    assert _plan(Plain, "missing") is None  # no entry in the shared keys


def _compiled(func, args):
    from tests.frontend.harness import compile_function, tuple_speculation

    return compile_function(func, kinds_of(args), speculated=tuple_speculation(args))


def test_the_fast_path_answers_exactly_whatever_happens_to_the_class():
    compiled = _compiled(weigh, (Plain(1.0, 2.0),))
    assert "version_tag" in compiled.lowered.ir
    plain = Plain(1.5, 0.25)
    assert compiled.run(plain) == (Status.OK, weigh(plain), [])
    vars(plain)  # the dict is made: the values are gone, the C API answers
    assert compiled.run(plain) == (Status.OK, weigh(plain), [])
    deleted = Plain(1.0, 2.0)
    del deleted.b  # a NULL value: the C API raises CPython's AttributeError
    status, _, frames = compiled.run(deleted)
    assert status is Status.RAISED and frames
    try:
        Plain.b = property(lambda self: 100.0)  # the version tag changes
        shadowed = Plain.__new__(Plain)
        shadowed.__dict__["a"] = 1.0
        assert weigh(shadowed) == 102.0
        assert compiled.run(shadowed) == (Status.OK, 102.0, [])
    finally:
        del Plain.b
    assert compiled.run(Plain(3.0, 1.0)) == (Status.OK, 7.0, [])
    unset = Slotted.__new__(Slotted)
    unset.a = 1
    slot_compiled = _compiled(slotted_sum, (Slotted(1, 2),))
    status, _, frames = slot_compiled.run(unset)  # an unset slot: the C API raises
    assert status is Status.RAISED and frames


@pytest.mark.parametrize("obj", [Hooked(1.0, 2.0), Viewed(1.0, 2.0), Plain(1, 2.5)], ids=_kind)
def test_classes_off_the_fast_path_answer_exactly(obj):
    assert check(weigh, obj) is Status.OK


# ------------------------------------------------------------------ method calls


def twinned(w):
    return w.twin()


def impure_argument(w, v):
    return w.gap(v.twin())


@pytest.mark.parametrize("func,args", [
    (walk, (Walker(0.0, 0.5), 5)),
    (walk, (Runner(0.0, 0.5), 5)),
    (walk_by, (Walker(1.0, 2.0), 0.25)),
    (gap_of, (Walker(1.0, 0.0), Walker(4.5, 0.0))),
    (divided, (Walker(1.0, 0.0), 2.0)),
    (divided, (Walker(1.0, 0.0), 0.0)),  # the method raises: CPython's ZeroDivisionError
    (twinned, (Walker(1.0, 0.0),)),  # a result of another kind: resumed after the call
])
def test_method_calls_answer_like_cpython(func, args):
    check(func, *args, may_bail=True)


@pytest.mark.parametrize("func,inputs", [
    (walk, [(Walker(0.0, 0.5), 3)]),
    (gap_of, [(Walker(1.0, 0.0), Walker(4.5, 0.0))]),
    (divided, [(Walker(1.0, 0.0), 2.0)]),
])
def test_every_site_of_a_method_call_resumes_exactly(func, inputs):
    assert not force_every_site(func, inputs).unexecuted


def test_a_method_looked_up_before_code_that_may_run_python_answers_exactly():
    # the method is planned and checked where CPython looks it up (test_inlined_methods)
    # twin() makes an instance: compiled in, its new reference owned by the caller
    assert check(impure_argument, Walker(1.0, 0.0), Walker(2.0, 0.0)) is Status.OK
    assert not force_every_site(impure_argument, [(Walker(1.0, 0.0), Walker(2.0, 0.0))]
                                ).unexecuted


def test_a_helper_given_an_instance_is_called_through_the_c_api():
    assert check(kicked, Walker(1.0, 0.5), 0.25) is Status.OK
    assert not force_every_site(kicked, [(Walker(1.0, 0.5), 0.25)]).unexecuted


# ------------------------------------------------------------------ sequences of instances


def centroid(ps):
    sx = sy = 0.0
    for p in ps:
        sx += p.x
        sy += p.y
    return sx / len(ps), sy / len(ps)


def scale_all(ps, k):
    for i in range(len(ps)):
        ps[i].x *= k
    return ps[0].x


def walk_all(ws):
    t = 0.0
    for w in ws:
        t += w.advance()
    return t


def test_sequences_of_instances_are_speculated_so():
    sampled = elements.sample(centroid, ([Point(1, 2.0), Point(3, 4.0)],))
    assert sampled == {0: frozenset({InstanceKind(Point)}), "0[].x": frozenset({Kind.INT}),
                       "0[].y": frozenset({Kind.FLOAT})}
    assert elements.sample(centroid, ([Point(1, 2.0), Walker(1.0, 2.0)],)) == {}


@pytest.mark.parametrize("func,args", [
    (centroid, ([Point(1.0, 2.0), Point(3.0, 4.5)],)),
    (centroid, ((Point(1.0, 2.0), Point(-3.0, 0.5), Point(0.0, 0.0)),)),
    (scale_all, ([Point(1.0, 2.0), Point(3.0, 4.5)], -2.0)),
    (walk_all, ([Walker(1.0, 2.0), Walker(3.0, 4.5)],)),
])
def test_sequences_of_instances_answer_like_cpython(func, args):
    assert check(func, *args) is Status.OK
    assert not force_every_site(func, [args]).unexecuted


def test_an_element_of_another_class_resumes_exactly():
    from tests.frontend.harness import check_resumed, compile_function, tuple_speculation

    args = ([Walker(1.0, 2.0), Walker(3.0, 4.5)],)
    compiled = compile_function(walk_all, kinds_of(args), speculated=tuple_speculation(args))
    mixed = [Walker(1.0, 2.0), Runner(3.0, 4.5), Walker(0.0, 1.0)]
    status, _, frames = compiled.run(mixed)
    assert status is Status.ELEMENT and frames
    check_resumed(walk_all, ([Walker(1.0, 2.0), Runner(3.0, 4.5), Walker(0.0, 1.0)],),
                  frames, (mixed,), [])


def drop(p):
    v = p.x
    del p.x
    return v + p.y


@pytest.mark.parametrize("p", [Point(1.0, 2.0), Point(1.0, float("nan"))], ids=_kind)
def test_del_of_an_attribute_is_cpythons(p):
    assert check(drop, p) is Status.OK
    assert not force_every_site(drop, [(p,)]).unexecuted
    from tests.frontend.harness import compile_function, tuple_speculation

    compiled = compile_function(drop, kinds_of((p,)), speculated=tuple_speculation((p,)))
    gone = Point(1.0, 2.0)
    vars(gone).pop("y")
    status, _, frames = compiled.run(gone)  # p.y missing: CPython's AttributeError
    assert status is Status.RAISED and frames
    twice = Point(1.0, 2.0)
    compiled.run(twice)
    twice.x = 1.0
    del twice.y
    twice.y = 2.0
    assert compiled.run(twice)[0] is Status.OK and vars(twice) == {"y": 2.0}


def drop_missing(p):
    del p.z
    return p.x


def test_del_of_a_missing_attribute_raises_cpythons_error():
    p = Point(1.0, 2.0)
    p.z = 3.0
    assert check(drop_missing, p) is Status.OK
    from tests.frontend.harness import check_resumed, compile_function, tuple_speculation

    compiled = compile_function(drop_missing, kinds_of((p,)),
                                speculated=tuple_speculation((p,)))
    mine = Point(1.0, 2.0)
    status, _, frames = compiled.run(mine)
    assert status is Status.RAISED and frames
    check_resumed(drop_missing, (Point(1.0, 2.0),), frames, (mine,), [])


def test_writes_replace_numbers_in_place_only_for_plain_classes():
    from autotier.frontend import attrfast

    Plain(1.0, 2.0)
    assert attrfast.plan(Plain, "a", write=True) is not None
    assert attrfast.plan(Slotted, "a", write=True) is not None
    assert attrfast.plan(Guarded, "v", write=True) is None  # __setattr__: the C API
    compiled = _compiled(scale_inplace, (Point(1.5, 2.0), 3.0))
    assert "attr_replace" in compiled.lowered.ir
    odd = Point("a", 2.0)  # a str replaced: the C API (its release may run code)
    ours, theirs = Point("a", 2.0), Point("a", 2.0)
    status, _, frames = compiled.run(ours, 3.0)
    assert status is not Status.OK and frames  # "a" * 3.0 raises: resumed
    del odd
    unset = Slotted.__new__(Slotted)  # an empty slot: the C API sets it
    unset.b = 1
    slot_compiled = _compiled(slotted_sum, (Slotted(1, 2),))
    status, _, frames = slot_compiled.run(unset)
    assert status is Status.RAISED and frames  # reading the unset a raises first
    with pytest.raises(TypeError):
        scale_inplace(theirs, 3.0)


def test_sampling_leaves_the_instance_layout_alone():
    from autotier import compat

    p = Point(1.0, 2.5)
    assert compat.instance_values(p) == {"x": 1.0, "y": 2.5}
    elements.sample(norm, (p,))  # vars(p) would make a dict: CPython's fast path lost
    assert compat.instance_values(p) == {"x": 1.0, "y": 2.5}
    vars(p)
    assert compat.instance_values(p) is None
    assert elements.sample(norm, (p,)) == {"0.x": frozenset({Kind.FLOAT}),
                                           "0.y": frozenset({Kind.FLOAT})}
