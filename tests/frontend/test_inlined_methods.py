"""Methods and helpers given instances compiled into their callers (issue 11,
``docs/architecture.md`` "Instances": method calls).

Differential through the frontend harness: each function is compiled for its
arguments' kinds, run natively and in CPython on fresh copies (made attribute by
attribute, as ``__init__`` makes instances, so they keep their values in the class's
shared keys) and compared exactly: result, exception, every instance's state.  Where a
method is compiled in, a profile function sees no frame of it run natively; where its
guards fail (the method reassigned, shadowed by the instance, the instance's dict made)
CPython's own method call answers.  Every deopt site, the callees' included, is forced
with an input that reaches it and resumed to CPython's answer.
"""

from __future__ import annotations

import gc
import math
import sys
from types import CodeType
from typing import Any

import pytest

from autotier.abi import Status
from autotier.deopt import resume
from autotier.frontend import Unsupported, methodplan
from tests.frontend.harness import (
    check,
    compile_function,
    force_every_site,
    fresh,
    kinds_of,
    tuple_speculation,
)
from tests.frontend.instance_kernels import (
    Runner,
    Walker,
    _kick,
    clamp,
    divided,
    gap_of,
    kicked,
    walk,
    walk_by,
)
from tests.window import measure


class Slim:
    __slots__ = ("x", "v")

    def __init__(self, x, v):
        self.x = x
        self.v = v

    def push(self, dv):
        self.v += dv
        self.x += self.v
        return self.x


def ahead(w, n):
    return w.ahead(n) + w.x


def bounded(w, lo, hi):
    w.x += 5.0
    return w.bounded(lo, hi)


def counted(w, n):
    last = 0
    for _ in range(n):
        last = w.counted()
    return last


def pushed(s, n):
    for _ in range(n):
        s.push(0.25)
    return s.v


def statics(w):
    return w.twice(3) + w.plus(4)


def selfish(w):
    return w.me()


def deep(w):
    return w.depth(5)


def _energy(w):
    return 0.5 * w.step * w.step


def energies(ws):  # a helper given each instance of a list
    e = 0.0
    for w in ws:
        e += _energy(w)
    return e


CASES = [
    (walk, (Walker(0.0, 0.5), 5)),
    (walk, (Runner(0.0, 0.5), 5)),
    (walk_by, (Walker(1.0, 2.0), 0.25)),
    (ahead, (Walker(1.0, 2.0), 3)),
    (gap_of, (Walker(1.0, 0.0), Walker(4.5, 0.0))),
    (bounded, (Walker(1.0, 0.0), -2.0, 3.0)),
    (divided, (Walker(1.0, 0.0), 2.0)),
    (divided, (Walker(1.0, 0.0), 0.0)),  # the method raises: CPython's ZeroDivisionError
    (counted, (Walker(1.0, 0.0), 3)),
    (counted, (Walker(1.0, 0.0), 60)),  # overflows int64 inside the method: resumed there
    (pushed, (Slim(0.0, 1.0), 4)),
    (statics, (Walker(0.0, 0.0),)),
    (selfish, (Walker(0.0, 0.0),)),
    (deep, (Walker(2.0, 0.0),)),
    (kicked, (Walker(1.0, 0.5), 0.25)),
    (energies, ([Walker(1.0, 0.5), Walker(2.0, 1.5)],)),
]


@pytest.mark.parametrize("func,args", CASES)
def test_answers_like_cpython(func, args):
    check(func, *args, may_bail=True)


def _compiled(func, args):
    return compile_function(func, kinds_of(args), speculated=tuple_speculation(args))


def _frames_run(func, args, code: CodeType, compiled=None) -> tuple[Status, Any, int]:
    """Run ``func`` natively (compiled for ``args`` unless ``compiled``); how many frames
    of ``code`` Python ran meanwhile."""
    compiled = compiled or _compiled(func, args)
    seen = [0]

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is code:
            seen[0] += 1

    sys.setprofile(profile)
    try:
        status, value, _ = compiled.run(*args)
    finally:
        sys.setprofile(None)
    return status, value, seen[0]


@pytest.mark.parametrize("func,args,callees", [
    (walk, (Walker(0.0, 0.5), 5), ("Walker.advance",)),
    (walk, (Runner(0.0, 0.5), 5), ("Runner.advance",)),
    (walk_by, (Walker(1.0, 2.0), 0.25), ("Walker.advance",)),
    (ahead, (Walker(1.0, 2.0), 3), ("Walker.ahead", "Walker.advance", "Walker.gap")),
    (bounded, (Walker(1.0, 0.0), -2.0, 3.0), ("Walker.bounded", "clamp")),
    (pushed, (Slim(0.0, 1.0), 4), ("Slim.push",)),
    (kicked, (Walker(1.0, 0.5), 0.25), ("_kick",)),
    (energies, ([Walker(1.0, 0.5)],), ("_energy",)),
    (statics, (Walker(0.0, 0.0),), ()),  # staticmethod, classmethod: CPython's call
    (deep, (Walker(2.0, 0.0),), ()),  # a recursion: CPython's call (its bailouts unwind)
    (selfish, (Walker(0.0, 0.0),), ("Walker.me",)),  # returns self: an owned instance
])
def test_what_is_compiled_in(func, args, callees):
    compiled = _compiled(func, args)
    assert set(compiled.lowered.callees) == set(callees)


@pytest.mark.parametrize("func,args,method", [
    (walk, (Walker(0.0, 0.5), 5), Walker.advance),
    (walk, (Runner(0.0, 0.5), 5), Runner.advance),
    (ahead, (Walker(1.0, 2.0), 3), Walker.gap),
    (pushed, (Slim(0.0, 1.0), 4), Slim.push),
    (kicked, (Walker(1.0, 0.5), 0.25), _kick),
])
def test_methods_compiled_in_run_no_python_frame(func, args, method):
    status, value, frames = _frames_run(func, fresh(args), method.__code__)
    assert status is Status.OK and frames == 0
    assert value == func(*fresh(args))


@pytest.mark.parametrize("func,inputs", [
    (walk, [(Walker(0.0, 0.5), 3)]),
    (walk_by, [(Walker(1.0, 2.0), 0.25)]),
    (ahead, [(Walker(1.0, 2.0), 2)]),
    (bounded, [(Walker(1.0, 0.0), -2.0, 3.0)]),
    (divided, [(Walker(1.0, 0.0), 2.0)]),
    (counted, [(Walker(1.0, 0.0), 2)]),
    (pushed, [(Slim(0.0, 1.0), 2)]),
    (kicked, [(Walker(1.0, 0.5), 0.25)]),
])
def test_every_site_inside_the_callees_resumes_exactly(func, inputs):
    coverage = force_every_site(func, inputs)
    assert not coverage.unexecuted
    codes = {s.code for s in coverage.sites if s.id in coverage.forced}
    assert len(codes) >= 2  # the caller's and a callee's


def _fresh_class():
    class Cell:
        def __init__(self, v):
            self.v = v

        def bump(self, k):
            self.v += k
            return self.v

    def bumps(c, n):
        t = 0.0
        for _ in range(n):
            t += c.bump(1.5)
        return t

    return Cell, bumps


def test_a_method_reassigned_on_the_class_after_the_compile_is_cpythons():
    cell, bumps = _fresh_class()
    compiled = _compiled(bumps, (cell(0.0), 3))
    assert compiled.lowered.callees == ("_fresh_class.<locals>.Cell.bump",)
    assert compiled.run(cell(0.0), 3)[:2] == (Status.OK, bumps(cell(0.0), 3))
    cell.bump = lambda self, k: -k  # the version tag changes: CPython's call
    assert bumps(cell(0.0), 3) == -4.5
    assert compiled.run(cell(0.0), 3)[:2] == (Status.OK, -4.5)


def test_an_instance_attribute_shadowing_the_method_is_cpythons():
    cell, bumps = _fresh_class()
    compiled = _compiled(bumps, (cell(0.0), 3))
    shadowed = cell(0.0)
    shadowed.bump = lambda k: 100.0  # a new name in the shared keys
    assert compiled.run(shadowed, 2)[:2] == (Status.OK, 200.0)
    with_dict = cell(0.0)
    vars(with_dict)["bump"] = lambda k: 10.0  # the instance's dict made
    assert compiled.run(with_dict, 2)[:2] == (Status.OK, 20.0)
    plain = cell(1.0)  # the shared keys hold "bump" now: its method is still found
    assert compiled.run(plain, 2)[:2] == (Status.OK, bumps(cell(1.0), 2))


def test_an_instance_whose_dict_was_made_calls_the_method_natively():
    cell, bumps = _fresh_class()
    compiled = _compiled(bumps, (cell(0.0), 3))
    made = cell(0.0)
    vars(made)  # its values become a dict: looked up, the name is not in it
    assert _frames_run(bumps, (made, 3), cell.bump.__code__, compiled) == (Status.OK, 9.0, 0)
    odd = cell(0.0)
    vars(odd)[1] = "one"  # a key of another type (its lookup may run code): CPython's
    assert _frames_run(bumps, (odd, 3), cell.bump.__code__, compiled) == (Status.OK, 9.0, 3)
    assert odd.v == made.v == 4.5


def _checked_class():
    class Box:
        def __init__(self, v):
            self.v = v

        def put(self, k):
            self.v = k
            return self.v

    def puts(b, n):  # the argument runs code: the lookup is checked before it
        t = 0.0
        for _ in range(n):
            t += b.put(abs(b.v) + 1.0)
        return t

    return Box, puts


def test_a_checked_lookup_takes_instances_with_dicts_without_deoptimising():
    box, puts = _checked_class()
    compiled = _compiled(puts, (box(0.0), 2))
    made = box(0.0)
    vars(made)
    status, value, frames = compiled.run(made, 3)
    assert (status, value, frames) == (Status.OK, 6.0, [])
    shadowed = box(0.0)
    vars(shadowed)["put"] = lambda k: -k  # found by CPython's lookup: resumed there
    status, value, frames = compiled.run(shadowed, 3)
    assert status is Status.STALE and frames
    assert resume.finish(frames)() == -3.0 == puts(_shadowed(box), 3)


def _shadowed(cls):
    shadowed = cls(0.0)
    vars(shadowed)["put"] = lambda k: -k
    return shadowed


def test_an_instance_whose_class_changed_is_cpythons():
    cell, bumps = _fresh_class()
    compiled = _compiled(bumps, (cell(0.0), 3))

    class Other:
        def __init__(self, v):
            self.v = v

        def bump(self, k):
            return 7.0

    moved = cell(0.0)
    assert compiled.run(moved, 1)[:2] == (Status.OK, 1.5)
    moved.__class__ = Other  # (native code checks the type at each call)
    status, value, _ = compiled.run(moved, 1)
    assert status is not Status.OK or value == 7.0


def test_the_plan_takes_only_plain_functions_an_instance_cannot_shadow():
    class Hooked:
        def __init__(self):
            self.a = 1

        def __getattr__(self, name):
            return 0

        def m(self):
            return 1

    class Holds:
        def __init__(self):
            self.m = 1  # the name is among the shared keys already

        def m(self):  # noqa: F811, E301 - shadowed by the instances' own
            return 1

    class Wide:
        m = len  # a builtin: not a function

        def __init__(self):
            self.a = 1

    class Spread:
        def m(self, *args):
            return 1

    assert methodplan.plan(Walker, "advance", 0) is not None
    assert methodplan.plan(Walker, "advance", 1, ("k",)) is not None
    assert methodplan.plan(Walker, "advance", 2) is None  # CPython's TypeError
    assert methodplan.plan(Walker, "advance", 1, ("j",)) is None
    assert methodplan.plan(Walker, "twice", 1) is None  # staticmethod
    assert methodplan.plan(Walker, "plus", 1) is None  # classmethod
    assert methodplan.plan(Walker, "x", 0) is None  # an attribute
    assert methodplan.plan(Hooked, "m", 0) is None
    Holds()
    assert methodplan.plan(Holds, "m", 0) is None
    assert methodplan.plan(Wide, "m", 1) is None
    assert methodplan.plan(Spread, "m", 1) is None
    slim = methodplan.plan(Slim, "push", 1)
    assert slim is not None and slim.keys == 0  # __slots__ only: nothing to shadow it
    runner = methodplan.plan(Runner, "gap", 1)
    assert runner is not None and runner.func is Walker.gap  # found on the MRO


def test_counts_of_self_and_its_class_stay_flat():
    w = Walker(0.0, 0.001)
    compiled = _compiled(walk, (w, 3))
    compiled.run(w, 3)

    def calls():
        for _ in range(2000):
            assert compiled.run(w, 3)[0] is Status.OK

    counts = measure(calls, w, Walker, Walker.advance, trace=False, collect=False)
    assert counts.after == counts.before
    assert math.isclose(w.x, 2001 * 3 * 0.001)


# ------------------------------------------------------------------ arguments that run code


def impure(w, v):  # the arguments call methods (which may run any Python code)
    return w.bounded(w.gap(v) - 1.0, w.advance() + v.advance(2.0))


def particles_step(ws, n):  # the bench's shape: calls inside a method call's arguments
    for _ in range(n):
        for w in ws:
            w.bounded(clamp(w.x, -1.0, 1.0) - 5.0, w.advance(0.1))
    return ws[0].x


@pytest.mark.parametrize("func,args", [
    (impure, (Walker(1.0, 2.0), Walker(4.0, 0.5))),
    (impure, (Runner(1.0, 2.0), Walker(-4.0, 0.5))),
    (particles_step, ([Walker(0.5, 1.0), Walker(3.0, -1.0)], 3)),
])
def test_a_method_looked_up_before_arguments_that_run_code(func, args):
    assert check(func, *args) is Status.OK
    assert "Walker.bounded" in _compiled(func, args).lowered.callees
    coverage = force_every_site(func, [args])
    assert not coverage.unexecuted


def _swapping_class():
    class Swapper:
        def __init__(self, v):
            self.v = v

        def value(self, k, m):
            return self.v + k + m

        def swap(self):  # a lookup of .value after this finds another function
            type(self).value = lambda self, k, m: -1.0
            return 1.0

    def swapped(s, n):  # CPython calls the .value it found before swap() ran
        return s.value(s.swap(), n * n)

    return Swapper, swapped


@pytest.mark.parametrize("n", [3, 2**40])  # 2**80 overflows: a deopt between the
def test_the_method_found_before_the_arguments_is_the_one_called(n):  # lookup and call
    cls, swapped = _swapping_class()
    compiled = _compiled(swapped, (cls(0.5), 3))
    status, value, frames = compiled.run(cls(0.5), n)
    expected = swapped(_swapping_class()[0](0.5), n)
    assert expected == 0.5 + 1.0 + n * n
    if status is Status.OK:
        assert value == expected
    else:  # resumed in the interpreter with the method found (not a lookup now)
        assert status is Status.INT64_OVERFLOW and frames and n == 2**40
        assert resume.finish(frames)() == expected


def statically(w, v):
    return w.twice(w.gap(v))


def test_a_call_whose_arguments_run_code_of_an_unplanned_method_is_declined():
    args = (Walker(1.0, 0.0), Walker(2.0, 0.0))
    with pytest.raises(Unsupported, match="whose arguments may run Python code"):
        _compiled(statically, args)


def test_counts_stay_flat_through_checked_lookups_and_dicts():
    ws = [Walker(0.5, 1.0), Walker(3.0, -1.0)]
    compiled = _compiled(particles_step, (ws, 2))
    made = Walker(1.0, 0.5)
    vars(made)  # a dict: looked up at each call
    both = [ws[0], made]
    compiled.run(both, 2)
    watched = (*both, both, Walker, Walker.bounded, Walker.advance)

    def calls():
        for _ in range(1000):
            assert compiled.run(both, 2)[0] is Status.OK

    counts = measure(calls, *watched, trace=False, collect=False)
    assert counts.after == counts.before


# ------------------------------------------------------------------ sequences of instances


def _energy_all(ws):
    e = 0.0
    for w in ws:
        e += 0.5 * w.step * w.step
    return e


def _advance_all(ws, k):
    for w in ws:
        w.advance(k)
    return ws[0].x


def given_sequences(ws):  # a list or tuple of instances passed to helpers
    return _energy_all(ws) + _advance_all(ws, 0.5)


@pytest.mark.parametrize("ws", [
    [Walker(1.0, 0.5), Walker(2.0, 1.5)],
    (Walker(1.0, 0.5), Walker(2.0, 1.5)),
])
def test_helpers_given_sequences_of_instances_are_compiled_in(ws):
    assert check(given_sequences, ws) is Status.OK
    callees = _compiled(given_sequences, (ws,)).lowered.callees
    assert callees == ("_energy_all", "_advance_all", "Walker.advance")
    assert not force_every_site(given_sequences, [(ws,)]).unexecuted
    mixed = type(ws)([Walker(1.0, 0.5), Runner(2.0, 1.5)])  # an element of a subclass:
    compiled = _compiled(given_sequences, (ws,))  # the callee's load resumes with it
    (mine,) = fresh((mixed,))
    status, _, frames = compiled.run(mine)
    assert status is Status.ELEMENT and frames
    (theirs,) = fresh((mixed,))
    assert resume.finish(frames)() == given_sequences(theirs)
    assert [vars(w) for w in mine] == [vars(w) for w in theirs]


def test_a_method_found_before_its_arguments_is_kept_alive_by_the_compiled_code():
    class Swapper:
        def __init__(self, v):
            self.v = v

        def value(self, k):  # (a try: called through the C API, by its address)
            try:
                return self.v + k
            finally:
                self.v += 0.0

        def swap(self):  # drops the class's reference to value
            type(self).value = lambda self, k: -1.0
            return 1.0

    def swapped(s):
        return s.value(s.swap())

    compiled = _compiled(swapped, (Swapper(0.5),))
    found = Swapper.value
    assert "Swapper.value (interpreted)" in " ".join(compiled.lowered.callees)
    assert any(f is found for f, _ in compiled.lowered.codes)  # kept, its code checked
    del found
    gc.collect()
    assert compiled.run(Swapper(0.5))[:2] == (Status.OK, 1.5)  # the one found, as CPython
    gc.collect()
    status, value, frames = compiled.run(Swapper(0.5))  # looked up again: the lambda's
    answer = value if status is Status.OK else resume.finish(frames)()
    assert answer == -1.0


# ------------------------------------------------------------------ callees making objects


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def sub(self, other):  # returns an instance: CPython's call, its result speculated
        return Vec(self.x - other.x, self.y - other.y)

    def dist2(self, other):
        d = self.sub(other)
        return d.x * d.x + d.y * d.y

    def norm2(self):
        return self.x * self.x + self.y * self.y


def dist2_of(a, b):
    return a.dist2(b) + 1.0


def test_a_method_calling_one_that_returns_an_instance_is_compiled_in():
    # (sub returns a new reference to the instance it made natively: its caller owns it)
    args = (Vec(1.0, 2.0), Vec(4.0, 6.0))
    assert check(dist2_of, *args) is Status.OK
    callees = _compiled(dist2_of, args).lowered.callees
    assert set(callees) == {"Vec.dist2", "Vec.sub", "Vec.__init__"}
    coverage = force_every_site(dist2_of, [args])
    assert not coverage.unexecuted


class Maybe:
    def __init__(self, v):
        self.v = v

    def either(self, k):  # an instance or None: an object, CPython's call
        return self if k > 0.0 else None

    def twice(self, k):
        e = self.either(k)
        return e.v * 2.0


def either_of(m, k):
    return m.twice(k)


def test_a_method_returning_an_instance_or_none_is_cpythons_call():
    args = (Maybe(1.5), 1.0)
    check(either_of, *args, may_bail=True)
    assert "Maybe.either (interpreted)" in _compiled(either_of, args).lowered.callees


def made_then_measured(x):  # an instance the root makes, handed to its method
    v = Vec(x, 2.0)
    return v.norm2() + v.x


def test_a_method_of_an_instance_made_natively_is_compiled_in():
    # (its attributes any number, each read checked: the bead sampled no Vec)
    assert check(made_then_measured, 3.0) is Status.OK
    assert check(made_then_measured, 7) is Status.OK
    assert "Vec.norm2" in _compiled(made_then_measured, (3.0,)).lowered.callees
    assert not force_every_site(made_then_measured, [(3.0,)]).unexecuted
