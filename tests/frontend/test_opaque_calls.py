"""Calls native code makes through the C API because the frontend does not bind or
compile the callee (keyword-only parameters, ``*args``, a default native code cannot
hold, a call CPython refuses, a closure, a ``try``): CPython binds and runs them, and
each answer, exception and resume is CPython's."""

from __future__ import annotations

import random
import sys

import pytest

from autotier.abi import Kind, Status
from autotier.frontend import lower
from tests.frontend import kernels as k
from tests.frontend.harness import check, force_every_site


def kwonly(a, *, scale=2):
    return a * scale


def star(*xs):
    s = 0
    for x in xs:
        s += x
    return s


def listdef(a, acc=[]):  # noqa: B006 - the default is what is tested
    return a + len(acc)


def guarded(x):
    try:
        return 10 // x
    except ZeroDivisionError:
        return None


def binds(a, b):
    return kwonly(a) + kwonly(a, scale=b) + star(a, b, 3) + listdef(a)


def refused(a):
    return kwonly(a, 1)  # CPython's TypeError: 2 positional arguments


def none_or_number(a):
    r = guarded(a)
    return -1 if r is None else r * 2


INPUTS = [(1, 2), (2.5, 3), (2**62, 2**62), (True, -0.0), (-3, float("nan"))]


@pytest.mark.parametrize("args", INPUTS)
def test_calls_cpython_binds(args):
    check(binds, *args, may_bail=True)


def test_they_are_listed_as_interpreted():
    callees = lower(binds, (Kind.INT, Kind.INT)).callees
    assert set(callees) == {"kwonly (interpreted)", "star (interpreted)",
                            "listdef (interpreted)"}, callees


def test_a_call_cpython_refuses_raises_its_type_error():
    assert check(refused, 1, may_bail=True) is Status.RAISED


@pytest.mark.parametrize("a", [0, 3, -7, 2**62])
def test_a_helper_with_a_try_answering_none_or_a_number(a):
    assert check(none_or_number, a) is Status.OK


def test_a_default_of_none():
    assert check(k.calls_with_none_default, 4) is Status.OK


def test_every_site_resumes_exactly():
    force_every_site(binds, [(1, 2), (2**62, 2**62)])
    force_every_site(none_or_number, [(0,), (3,)])


# ------------------------------------------------- builtins and module functions





def prints(n):
    s = 0
    for i in range(n):
        s += i
    print(s, n)
    return s


def modular(a, b):
    return pow(a, b, 7) + hash(a) % 100


def pairs(a, b):
    q = divmod(a, b)  # a tuple: not held natively, so the call resumes after it
    return q


def random_walk(n):
    random.seed(n)
    t = 0.0
    for _ in range(n):
        t += random.random() - 0.5
    return t


def module_constant(a):
    return a % sys.maxsize


def test_builtins_cpython_runs(capsys):
    assert check(prints, 5) is Status.OK
    assert capsys.readouterr().out == "10 5\n" * 3  # native, then CPython twice
    for args in ((3, 4), (2**62, 2), (-5, 3)):
        assert check(modular, *args) is Status.OK
    assert check(pairs, 7, 2, may_bail=True) is Status.ELEMENT


@pytest.mark.parametrize("n", [0, 1, 100])
def test_module_functions_and_constants(n):
    assert check(random_walk, n) is Status.OK
    assert check(module_constant, n - 3) is Status.OK
    callees = lower(random_walk, (Kind.INT,)).callees
    assert set(callees) == {"random.seed (interpreted)", "random.random (interpreted)"}


def test_builtins_that_need_a_frame_are_declined():
    from autotier.frontend import Unsupported

    def asks_locals(a):
        return len(locals()) + a

    with pytest.raises(Unsupported, match=r"builtin locals\(\) is not supported"):
        lower(asks_locals, (Kind.INT,))


def test_every_site_of_the_module_calls_resumes_exactly():
    force_every_site(random_walk, [(10,), (0,)])
    force_every_site(modular, [(3, 4)])
