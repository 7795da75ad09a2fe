"""Making instances through ``@hot`` (issue 11): constructors called natively, their
instances used natively, a class mutated after the compile, ``__init__``'s errors and
traceback, reference counts and memory flat over many calls."""

from __future__ import annotations

import sys

import pytest

import autotier
from tests.frontend.instance_kernels import Body, Picky, Vec
from tests.runtime.helpers import interpreted_frames, make_hot, promote, settle
from tests.window import measure


class Slot:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def dot(a, b):
    u = Vec(a, b)
    w = Vec(b, a)
    return u.x * w.x + u.y * w.y


def made(a, b):
    s = Slot(a, b)
    s.x += 1.0
    return s


def state(v):
    return type(v).__name__, [getattr(v, n) for n in ("x", "y")]


def test_constructors_run_natively():
    hf = make_hot(dot)
    promote(hf, 1.0, 2.0)
    assert autotier.stats(hf).state == "compiled"
    with interpreted_frames(dot) as seen:
        answers = [hf(float(i), 0.5) for i in range(50)]
    assert seen == [0]
    assert answers == [dot(float(i), 0.5) for i in range(50)]
    hm = make_hot(made)
    promote(hm, 1.0, 2.0)
    with interpreted_frames(made) as seen:
        got = hm(3.0, 4.0)
    assert seen == [0]
    assert type(got) is Slot and state(got) == state(made(3.0, 4.0))


def twice(v):
    p = Picky(v)
    return p.v * 2.0


class Cell:
    def __init__(self, v):
        self.v = v


def use(v):
    c = Cell(v)
    return c.v + 1.0


def test_init_raising_propagates_as_cpython():
    hf = make_hot(twice)
    promote(hf, 1.0)
    assert autotier.stats(hf).state == "compiled"
    with pytest.raises(ValueError, match="^negative: -1.0$") as info:
        hf(-1.0)
    names = [entry.name for entry in info.traceback]
    assert names[-2:] == ["twice", "__init__"]
    assert info.traceback[-2].lineno + 1 == twice.__code__.co_firstlineno + 1
    with pytest.raises(TypeError) as wrong:
        Picky()
    settle()
    assert autotier.stats(hf).state == "compiled"  # an answer, not a failed speculation
    assert hf(2.0) == 4.0
    del wrong


def test_a_class_mutated_after_the_compile_answers_as_cpython():
    hf = make_hot(use)
    promote(hf, 1.0)
    assert autotier.stats(hf).state == "compiled"

    def new_init(self, v):
        self.v = v * 10.0

    Cell.__init__ = new_init
    assert hf(2.0) == use(2.0) == 21.0

    class Stand:
        def __init__(self, v):
            self.v = -v

    Cell.__new__ = lambda cls, v: Stand(v)  # not a Cell any more: resumed after the call
    assert hf(2.0) == use(2.0) == -1.0
    del Cell.__new__  # CPython's own quirk: object.__new__ now refuses the argument
    with pytest.raises(TypeError) as native:
        hf(3.0)
    with pytest.raises(TypeError) as interpreted:
        use(3.0)
    assert str(native.value) == str(interpreted.value)
    del Cell.__init__


def test_counts_and_memory_stay_flat():
    hf = make_hot(made)
    promote(hf, 1.0, 2.0)
    for _ in range(1000):
        hf(1.0, 2.0)
    assert autotier.wait_idle(timeout=300)
    assert autotier.stats(hf).state == "compiled"

    def calls():
        for _ in range(10_000):
            hf(1.0, 2.0)
            dot_hf(1.0, 2.0)

    w = measure(calls, Slot, Vec, warm=calls)
    assert w.after == w.before
    assert w.grown < 64 * 1024
    kept = hf(1.0, 2.0)
    assert sys.getrefcount(kept) == 2  # the caller's only


dot_hf = make_hot(dot)
promote(dot_hf, 1.0, 2.0)


# --- a helper's result speculated after its bailout -------------------------------------

class Moon:
    def __init__(self, x, m):
        self.x = x
        self.m = m


MAKES = {"kind": Body}


def bodies(n):
    return [MAKES["kind"](float(i), 2.0) for i in range(n)]


def weigh(n):
    system = bodies(n)
    total = 0.0
    for b in system:
        b.x += 1.0
        total += b.x * b.m
    return total


def test_a_helpers_result_is_speculated_after_its_bailout():
    hf = make_hot(weigh)
    promote(hf, 4)
    for _ in range(3):  # the first compile resumes after the call: the bead samples it
        assert hf(4) == weigh(4)
        settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.last_bailout == "element", row
    bailouts = row.bailouts
    with interpreted_frames(weigh) as seen:
        answers = [hf(n) for n in range(6)]
    assert seen == [0]
    assert answers == [weigh(n) for n in range(6)]
    assert autotier.stats(hf).bailouts == bailouts
    MAKES["kind"] = Moon  # another class: the check after the call fails, exactly
    try:
        for _ in range(3):
            assert hf(3) == weigh(3)
            settle()
        expected = weigh(5)
        with interpreted_frames(weigh) as seen:
            got = hf(5)
        assert got == expected
        assert seen == [0], autotier.stats(hf)  # resampled: speculated as Moons now
    finally:
        MAKES["kind"] = Body


def gather(n):
    xs = [Vec(0.0, 1.0)]
    for i in range(n):
        xs.append(Vec(float(i), 2.0))
    total = 0.0
    for v in xs:
        total += v.x * v.y
    return total


def listed(a, b):
    return [Slot(a, b), Slot(b, a)]


def test_lists_of_made_instances_keep_counts_flat():
    hg, hl = make_hot(gather), make_hot(listed)
    promote(hg, 4)
    promote(hl, 1.0, 2.0)
    assert autotier.stats(hg).state == autotier.stats(hl).state == "compiled"
    with interpreted_frames(gather, listed) as seen:
        got = hg(6), hl(1.0, 2.0)
    assert seen == [0]
    assert got[0] == gather(6)
    assert [state(s) for s in got[1]] == [state(s) for s in listed(1.0, 2.0)]
    mine, theirs = hl(1.0, 2.0), listed(1.0, 2.0)  # the counts CPython's list has
    assert sys.getrefcount(mine) == sys.getrefcount(theirs)
    assert [sys.getrefcount(s) for s in mine] == [sys.getrefcount(s) for s in theirs]
    del mine, theirs
    assert autotier.wait_idle(timeout=300)

    def calls():
        for _ in range(5000):
            hg(5)
            hl(1.0, 2.0)

    w = measure(calls, Slot, Vec, warm=calls)
    assert w.after == w.before
    assert w.grown < 64 * 1024


class Holder:
    def __init__(self, pos, k):
        self.pos = pos
        self.k = k


def reach(h):
    return h.pos.x * h.k + h.pos.y


def test_an_attributes_instance_replaced_by_another_class_answers_exactly():
    hf = make_hot(reach)
    h = Holder(Vec(1.0, 2.0), 3.0)
    promote(hf, h)
    assert autotier.stats(hf).state == "compiled"
    with interpreted_frames(reach) as seen:
        got = hf(h)
    assert seen == [0] and got == reach(h) == 5.0
    h.pos = Slot(4.0, 5.0)  # another class after the compile: resumed after the read
    for _ in range(3):
        assert hf(h) == reach(h) == 17.0
        settle()
    expected = reach(h)
    with interpreted_frames(reach) as seen:
        got = hf(h)
    assert got == expected and seen == [0], autotier.stats(hf)  # speculated there now
    h.pos = 2.0  # a number: CPython's AttributeError
    with pytest.raises(AttributeError, match="'float' object has no attribute 'x'"):
        hf(h)


def test_attributes_holding_instances_keep_counts_flat():
    hf = make_hot(reach)
    pos = Vec(1.0, 2.0)
    h = Holder(pos, 3.0)
    promote(hf, h)
    assert autotier.wait_idle(timeout=300)
    assert autotier.stats(hf).state == "compiled"

    def calls():
        for _ in range(10_000):
            hf(h)

    w = measure(calls, pos, h, Vec, warm=calls)
    assert w.after == w.before
    assert w.grown < 64 * 1024


# --- constructors made natively, __init__ compiled in (frontend.construct) -------------

class Ratio:
    def __init__(self, a, b=2.0):
        self.q = a / b  # a ZeroDivisionError: raised in __init__'s frame, resumed
        self.a = a


class Huge:
    def __init__(self, n):
        self.n = n
        if n > 10:
            return n * 100000000000000000000000  # noqa: PLE0101 - resumed: not None


def ratio(a, b):
    r = Ratio(a, b)
    s = Ratio(b)
    return r.q + s.q + r.a


def huge(n):
    return Huge(n).n


def test_native_constructors_run_no_init_frame():
    hf = make_hot(ratio)
    promote(hf, 1.0, 4.0)
    assert autotier.stats(hf).state == "compiled"
    assert "Ratio.__init__" in autotier.stats(hf).callees
    with interpreted_frames(ratio, Ratio.__init__) as seen:
        answers = [hf(float(i), 4.0) for i in range(1, 50)]
    assert seen == [0]
    assert answers == [ratio(float(i), 4.0) for i in range(1, 50)]


def test_a_native_inits_exception_has_cpythons_traceback():
    hf = make_hot(ratio)
    promote(hf, 1.0, 4.0)
    with pytest.raises(ZeroDivisionError, match="^float division by zero$") as info:
        hf(1.0, 0.0)
    names = [entry.name for entry in info.traceback]
    assert names[-2:] == ["ratio", "__init__"], names
    assert info.traceback[-2].lineno + 1 == ratio.__code__.co_firstlineno + 1
    assert info.traceback[-1].lineno + 1 == Ratio.__init__.__code__.co_firstlineno + 1
    settle()
    assert hf(1.0, 4.0) == ratio(1.0, 4.0)


def test_a_native_init_resumed_returning_a_value_raises_cpythons_type_error():
    hf = make_hot(huge)
    promote(hf, 3)
    assert autotier.stats(hf).state == "compiled"
    with pytest.raises(TypeError) as native:
        hf(30)
    with pytest.raises(TypeError) as interpreted:
        huge(30)
    assert str(native.value) == str(interpreted.value) == (
        "__init__() should return None, not 'int'")
    assert hf(4) == 4


def test_native_constructors_keep_counts_and_memory_flat():
    hf = make_hot(ratio)
    promote(hf, 1.0, 4.0)
    for _ in range(1000):
        hf(1.0, 4.0)
    assert autotier.wait_idle(timeout=300)

    def calls():
        for _ in range(10_000):
            hf(1.0, 4.0)

    w = measure(calls, Ratio, Ratio.__dict__["__init__"], warm=calls)
    assert w.after == w.before
    assert w.grown < 64 * 1024


class Scaled:
    def __init__(self, a, k=2.0):
        self.v = a * k


def scaled(a):
    return Scaled(a).v


def test_a_native_inits_defaults_and_code_changed_after_the_compile():
    hf = make_hot(scaled)
    promote(hf, 1.0)
    assert "Scaled.__init__" in autotier.stats(hf).callees
    assert hf(3.0) == 6.0
    init = Scaled.__dict__["__init__"]
    init.__defaults__ = (10.0,)  # the entry checks the defaults compiled in
    assert hf(3.0) == scaled(3.0) == 30.0

    def other(self, a, k=2.0):
        self.v = -a

    init.__code__ = other.__code__  # and __init__'s code
    assert hf(3.0) == scaled(3.0) == -3.0
    settle()
    assert hf(4.0) == scaled(4.0) == -4.0


def headroom(n=0):  # (a try: called through the C API, as deep as native code stands)
    try:
        return headroom(n + 1)
    except RecursionError:
        return n


class Deep:
    def __init__(self, x):
        self.room = headroom() + x


def deep_room(x):
    return Deep(x).room


def test_a_native_init_stands_as_deep_as_cpythons():
    # type.__call__'s C level counts a frame in CPython: native code counts it too
    hf = make_hot(deep_room)
    promote(hf, 1)
    assert "Deep.__init__" in autotier.stats(hf).callees
    assert hf(1) == deep_room(1)
