"""List comprehensions (issue 11): on 3.11 a ``<listcomp>`` function made and called at
once, spliced into the outer code by :mod:`autotier.frontend.comprehensions` (its
cells plain locals), then compiled as any loop building a list.

Differential through the frontend harness: every call compared with CPython (a
bailout resumed in the interpreter must give CPython's answer, type and message), and
every deopt site forced once (:func:`tests.frontend.harness.forced_sites`), inside the
comprehension too (the resumed frame holds the partly built list and the iterator).
"""

from __future__ import annotations

import traceback

import pytest

from autotier import compat
from autotier.abi import Kind
from autotier.deopt import resume
from autotier.frontend import comprehensions, lower
from autotier.frontend.errors import Unsupported
from tests.frontend.harness import (
    check,
    compile_function,
    force_every_site,
    forced_sites,
    hot,
    kinds_of,
)
from tests.frontend.kernels import primes

pytestmark = pytest.mark.skipif(not compat.INLINE_COMPREHENSIONS,
                                reason="3.11's comprehension functions (3.12 inlines them)")

SCALE = 3


def squares(n):
    return [i * i for i in range(n)]


def scaled_total(xs, k):
    ys = [x * k for x in xs]  # k: an argument made a cell by 3.11
    s = 0
    for y in ys:
        s += y
    return s + len(ys)


def float_halves(xs):
    half = 0.5  # a local made a cell
    ys = [x * half for x in xs if x > 1]
    return sum(ys) + ys[0] if ys else -1.0


def flags(xs, limit):
    return [x > limit for x in xs]


def with_global(xs):
    return [x * SCALE for x in xs]


def pairs_sum(n):
    zs = [i * 10 + j for i in range(n) for j in range(i) if (i + j) % 2]
    return zs


def table(n, m):
    return [[i * j for j in range(m)] for i in range(n)]


def table_total(n):
    rows = [[i + j for j in range(i)] for i in range(n)]
    s = 0
    for row in rows:
        for v in row:
            s += v
    return s + len(rows)


def of_comprehension(n):
    return [x + 1 for x in [y * 2 for y in range(n)]]


def divided(xs, d):
    return [x // d for x in xs]


def indexed(xs, idx):
    return [xs[i] for i in idx]


def cubes(xs):
    return [x * x * x for x in xs]


def no_leak(n):
    x = -1
    ys = [x for x in range(n)]
    return x + len(ys)


def running(xs):
    t = 0
    ys = [(t := t + x) for x in xs]  # a walrus stores the outer local (its cell)
    return t * 1000 + len(ys)


def after_comprehension(xs):
    ys = [x + 0.5 for x in xs]
    total = 0.0
    for i in range(len(ys)):
        total += ys[i] * i
    return total


def two_comprehensions(n):
    a = [i for i in range(n)]
    b = [v * 2 for v in a if v % 3]
    return len(a) * 1000 + sum(b)


def enumerated(xs):
    return [i * x for i, x in enumerate(xs)]


def zipped(xs, ys):
    return [a - b for a, b in zip(xs, ys)]


def products(points):
    return [x * y for x, y in points]


def row_sums(rows):
    return [sum(r) for r in rows]  # CPython's sum, through the C API


def in_a_loop(n):
    s = 0
    for j in range(n):
        ys = [i * j for i in range(j) if i != 2]
        s += len(ys) * 100 + sum(ys)
    return s


def branchy(xs, lo, hi):
    return [x if x > 0 else -x for x in xs if lo < x < hi or x == 0]


def used_at_once(xs):
    return len([x for x in xs if x]) + sum([x * 2 for x in xs])


class Particle:
    def __init__(self, x, m):
        self.x = x
        self.m = m


def made_particles(n):
    ps = [Particle(i * 0.5, 1.0 + i % 3) for i in range(n)]  # constructors (issue 11)
    e = 0.0
    for p in ps:
        e += p.x * p.m
    return e


def made_or_raising(n, d):
    ps = [Particle(i // (d - i), 1.0) for i in range(n)]
    return len(ps)


def _tenth(x):
    return 10 // x * x


tenth = hot(_tenth)  # a native callee


def _comprehension_total(n, k):
    return sum([i * k for i in range(n)])


comprehension_total = hot(_comprehension_total)  # a native callee making a list


def totals(xs, k):
    return [comprehension_total(x, k) for x in xs]


def mapped(xs):
    return [tenth(x) for x in xs]


def mapped_rows(n, d):
    return [[tenth(i - d) for i in range(j)] for j in range(n)]


CASES = [
    (squares, (10,)), (squares, (0,)), (squares, (1,)),
    (primes, (50,)), (primes, (1,)),
    (scaled_total, ([1, 2, 3], 4)), (scaled_total, ([], 4)), (scaled_total, ((5, 6), -2)),
    (scaled_total, ([1.5, 2.5], 2.0)),
    (float_halves, ([1.0, 2.0, 3.0],)), (float_halves, ([0.5],)), (float_halves, ((2, 4),)),
    (flags, ([1, 5, 3], 2)), (flags, ([0.5, 2.5], 1.0)),
    (with_global, ([1, 2],)), (with_global, ((0.5, 1.5),)),
    (pairs_sum, (6,)), (pairs_sum, (0,)),
    (table, (3, 4)), (table, (0, 2)), (table, (2, 0)),
    (table_total, (6,)),
    (of_comprehension, (5,)),
    (divided, ([7, -7, 8], 2)), (divided, ([7.5, 1.0], 2.0)),
    (indexed, ([10, 20, 30], [2, 0, 1, -1])),
    (cubes, ([1, 2, 3],)), (cubes, ([True, False],)),
    (no_leak, (4,)), (no_leak, (0,)),
    (running, ([1, 2, 3],)), (running, ([],)),
    (after_comprehension, ([1.0, 2.0, 3.0],)),
    (two_comprehensions, (10,)),
    (mapped, ([1, 2, 5],)), (mapped_rows, (4, 7)),
    (enumerated, ([1, 2, 3],)), (enumerated, ((),)), (zipped, ([1, 2, 3], (3.5, 2.5))),
    (products, ([(1, 2), (3, 4)],)), (row_sums, ([[1], [2, 3], []],)),
    (totals, ([1, 3, 0],  2)),
    (in_a_loop, (6,)), (in_a_loop, (0,)),
    (branchy, ([3, -2, 0, 7, -9], -5, 5)), (branchy, ((1.5, -0.0, 0.0), -1.0, 2.0)),
    (used_at_once, ([0, 1, 2, True],)), (used_at_once, ([],)),
    (made_particles, (5,)), (made_particles, (0,)), (made_or_raising, (4, 9)),
]


@pytest.mark.parametrize(("func", "args"), CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)])
def test_comprehensions_answer_as_cpython(func, args):
    check(func, *args)


@pytest.mark.parametrize(("func", "args"), CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)])
def test_every_site_resumes_as_cpython(func, args):
    reached = forced_sites(func, args)
    if any(len(a) if hasattr(a, "__len__") else a for a in args):
        assert reached  # the call got to at least one site


@pytest.mark.parametrize(("func", "args"), [
    (divided, ([4, 5], 0)),  # ZeroDivisionError inside the comprehension
    (divided, ([4.0, 5.0], 0.0)),
    (indexed, ([10, 20], [0, 5])),  # IndexError on the second item
    (cubes, ([3, 2**21 + 1, 4],)),  # int64 overflow inside: the exact big int
    (cubes, ([1, 2.5],)),  # an element of another kind
    (scaled_total, ([1, 2**40, 3], 2**30)),
    (mapped, ([1, 0, 2],)),  # the callee raises: its frame, the comprehension's, the root's
    (mapped, ([1, 2**40],)),  # the callee overflows: a big int the comprehension appends
    (mapped_rows, (4, 2)),
    (row_sums, ([[1], [2, "a"]],)),  # sum raises TypeError: resumed after its call
    (enumerated, ([1, 2**62, 3],)),
    (totals, ([1, 5], 2**62)),  # the callee's comprehension overflows
    (made_or_raising, (4, 2)),  # ZeroDivisionError with two instances in the partial list
])
def test_bailouts_inside_resume_exactly(func, args):
    check(func, *args, may_bail=True)


def test_overflow_in_the_comprehension_resumes_with_the_partial_list():
    xs = [2, 3, 2**22, 5]
    assert check(cubes, xs, may_bail=True).name == "INT64_OVERFLOW"
    compiled = compile_function(cubes, kinds_of((xs,)))
    status, _, frames = compiled.run(xs)
    (frame,) = frames
    # the frame handed over holds the list built so far (two cubes) and the iterator
    assert [8, 27] in list(frame.values)
    assert resume.finish(frames)() == cubes(xs) == [8, 27, 2**66, 125]


def _raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return exc
    raise AssertionError("no exception")


def inner_divided(n, d):
    return [[i // (j - d) for j in range(3)] for i in range(n)]


def _frames(exc, names):
    """(function name, line) of the traceback's frames of those ``names``."""
    return [(f.name, f.lineno) for f in traceback.extract_tb(exc.__traceback__)
            if f.name in names]


@pytest.mark.parametrize(("func", "args", "depth"), [
    (divided, ([6, 3], 0), 2),
    (inner_divided, (3, 1), 3),  # inside a comprehension inside another
    (mapped, ([4, 0],), 3),  # in a native callee of the comprehension
    (mapped_rows, (4, 2), 4),
])
def test_an_exception_inside_shows_cpythons_frames(func, args, depth):
    compiled = compile_function(func, kinds_of(args))
    status, _, frames = compiled.run(*args)
    assert frames and status.name == "ZERO_DIVISION"
    mine = _raised(resume.finish(frames))
    theirs = _raised(lambda: func(*args))
    assert type(mine) is type(theirs) and str(mine) == str(theirs)
    # the function's frame at the comprehension's line, then <listcomp>'s (one per
    # level), as CPython 3.11 ran them
    names = (func.__name__, "<listcomp>", "_tenth")
    assert _frames(mine, names) == _frames(theirs, names)
    assert len(_frames(theirs, names)) == depth


def test_a_walrus_comprehension_resumes_as_one_frame():
    # its store is to the outer frame's variable: the spliced frame finishes it
    args = ([1, 2, 2**62, 2**62],)
    compiled = compile_function(running, kinds_of(args))
    status, _, frames = compiled.run(*args)
    assert status.name == "INT64_OVERFLOW"
    (frame,) = frames
    assert not frame.site.nest
    assert resume.finish(frames)() == running(*args)


def test_the_spliced_code_has_no_cells_and_a_hidden_variable():
    inlined = comprehensions.inline(scaled_total.__code__, "scaled_total")
    assert scaled_total.__code__.co_cellvars == ("k",)
    assert not inlined.code.co_cellvars and not inlined.code.co_freevars
    assert inlined.comprehensions == 1
    assert "x" not in inlined.code.co_varnames  # the comprehension's x is hidden
    assert any(name.endswith(">.x") for name in inlined.code.co_varnames)
    def plain(n):
        return n + 1
    assert comprehensions.inline(plain.__code__, "plain").code is plain.__code__


def make_adder(k):
    return lambda x: x + k


def keeps_a_closure(xs, k):
    f = lambda x: x * k  # noqa: E731 - a closure that could escape
    return [f(x) for x in xs]


def generator_total(xs):
    return max(x * x for x in xs)  # (sum/any/all of one compile: test_genexps.py)


def set_of(xs):
    return {x for x in xs}


def dict_of(xs):
    return {x: x for x in xs}


def inner_def(n):
    def g():
        return n
    return g() + 1


def maybe_unbound(n, flag):
    if flag:
        k = 2
    return [k * i for i in range(n)]


@pytest.mark.parametrize(("func", "kinds", "reason"), [
    (make_adder, (Kind.INT,), "closures are not supported"),
    (keeps_a_closure, (Kind.LIST, Kind.INT), "closures are not supported"),
    (inner_def, (Kind.INT,), "closures are not supported"),
    (generator_total, (Kind.LIST,), "generator expressions are compiled only as"),
    (set_of, (Kind.LIST,), "set comprehensions are not supported"),
    (dict_of, (Kind.LIST,), "dict comprehensions are not supported"),
    (maybe_unbound, (Kind.INT, Kind.BOOL), "reads 'k', which may be unbound"),
])
def test_declines_with_a_reason(func, kinds, reason):
    with pytest.raises(Unsupported, match=reason):
        lower(func, kinds)


def test_a_closure_of_an_enclosing_function_is_declined():
    def outer(k):
        def inner(xs):
            return [x + k for x in xs]
        return inner
    with pytest.raises(Unsupported, match="enclosing function"):
        lower(outer(1), (Kind.LIST,))


def test_maybe_unbound_cpython_raises_name_error():
    # what the decline keeps: CPython's error names a free variable
    exc = _raised(lambda: maybe_unbound(2, False))
    assert type(exc) is NameError and "free variable 'k'" in str(exc)


def test_every_site_is_reached_where_cpython_runs_its_instruction():
    # force_every_site reads from CPython's trace (the function's frame and its
    # comprehensions' frames) which inputs reach a site: a site inside a comprehension
    # is found in the comprehension's own code
    inputs = [([1, 2, 3], 4), ([], 2), ([2**40, 1], 2**30), ([5, 6], -1)]
    coverage = force_every_site(scaled_total, inputs)
    assert coverage.forced and not coverage.unexecuted, [
        s.describe() for s in coverage.unexecuted]
    inputs = [(3, 4), (0, 2), (2, 0)]
    coverage = force_every_site(table, inputs)
    assert len(coverage.forced) == len(coverage.sites)


def test_a_first_deopt_inside_builds_nothing_once_prepared():
    from autotier.deopt import nested

    def cubed(xs):
        return [x * x * x for x in xs]

    xs = [2, 3, 2**22, 5]
    compiled = compile_function(cubed, kinds_of((xs,)))
    built = resume.prepare(compiled.lowered.sites)  # as the broker does after a compile
    assert built >= sum(1 for s in compiled.lowered.sites if s.nest) > 0
    before = sum(len(codes) for codes in nested._codes.values())
    status, _, frames = compiled.run(xs)
    assert status.name == "INT64_OVERFLOW" and frames[0].site.nest
    assert resume.finish(frames)() == cubed(xs)
    assert sum(len(codes) for codes in nested._codes.values()) == before
