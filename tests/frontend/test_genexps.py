"""``sum``/``any``/``all`` of a generator expression (3.11): the generator's body spliced
into the calling code as the builtin's loop (:mod:`autotier.frontend.genexps`).

Differential through the frontend harness: every call compared with CPython (value,
type, exception and message, each argument's state after the call: a list a helper
appends to shows which items were computed), and every deopt site forced
(:func:`tests.frontend.harness.forced_sites` for each input, and the union of the
sites reached must be all of them).
"""

from __future__ import annotations

import dis
import math
import types

import pytest

from autotier import compat
from autotier.abi import Kind
from autotier.deopt import forcing, resume
from autotier.frontend import comprehensions, lower
from autotier.frontend.errors import Unsupported
from tests.frontend.harness import (
    check,
    check_resumed,
    compile_function,
    forced_sites,
    fresh,
    kinds_of,
    python_function,
)

pytestmark = pytest.mark.skipif(not compat.INLINE_GENEXP_REDUCTIONS,
                                reason="3.11's generator functions and sum()")


def squares(xs):
    return sum(x * x for x in xs)


def total(xs):
    return sum(x for x in xs)


def filtered(xs, lo):
    return sum(x for x in xs if x > lo)


def nested(m):
    return sum(v * w for row in m for v in row if v % 2 for w in range(v))


def affine(xs, k, b):
    return sum(x * k + b for x in xs)  # k, b: outer locals (cells in 3.11)


def count_positive(xs):
    return sum(x > 0 for x in xs)  # bools: 0 + True is the int 1


def lengths(rows):
    return sum(len(r) for r in rows)


def negative(vals):
    return any(v < 0 for v in vals)


def ordered(a, n):
    return all(a[i] <= a[i + 1] for i in range(n - 1))


def truthy_any(xs):
    return any(x for x in xs)  # the item's own truth (PyObject_IsTrue)


def truthy_all(xs):
    return all(x for x in xs)


def big_in_rows(m, t):
    return any(y > t for r in m for y in r)


def three(xs, ys):
    # all three in one function, with a list comprehension between them
    zs = [x + 1 for x in xs]
    return sum(z for z in zs) * 100 + any(y > 2 for y in ys) * 10 + all(zs)


def sums_of_rows(m):
    return [sum(v for v in row) for row in m]  # inside a list comprehension


def row_totals_over(m, t):
    return sum(sum(v for v in row if v > t) for row in m)  # a genexp in a genexp


def pairs(xs, ys):
    return any(a > b for a, b in zip(xs, ys))


def weighted(xs):
    return sum(i * x for i, x in enumerate(xs))


def stepped(n):
    return sum(i for i in range(n, 0, -3)) + all(i % 7 for i in range(1, n))


def _noted(seen, x):
    seen.append(x)
    return 12 // x


def noted_sum(xs, seen):
    return sum(_noted(seen, x) for x in xs)


def noted_any(xs, seen):
    return any(_noted(seen, x) > 3 for x in xs)


def noted_all(xs, seen):
    return all(_noted(seen, x) > 3 for x in xs)


def divided(xs, d):
    return sum(x // d for x in xs)


NAN, INF = math.nan, math.inf

# (function, inputs): each site is forced with the first input whose call reaches it
CASES = [
    (squares, [([1, 2, 3],), ([],), ([True, False, True],), ((4, -5),)]),
    (squares, [([1.5, -2.0],), ([NAN, 1.0],), ([-0.0],)]),
    (total, [([1, 2.5, 3],), ([],), ([0.1] * 10,), ([-0.0, -0.0],), ([-0.0],),
             ([INF, -INF],), ([1e308, 1e308],)]),
    (total, [([True, True, 2],), ([2**62, 2**62 - 1, -(2**62)],)]),
    (total, [([1.0, 2, 3],), ([2.0, NAN],)]),
    (filtered, [([3, -1, 5, 0], 0), ([], 1), ([1, 2], 5)]),
    (filtered, [([0.5, 2.5, -1.5], 0.0)]),
    (nested, [([[1, 2], [3], []],), ([],)]),
    (affine, [([1, 2, 3], 4, -1), ([], 2, 3)]),
    (affine, [([0.5, 1.5], 2.0, 0.25)]),
    (lengths, [([[1, 2], [], [3]],), ([],)]),
    (count_positive, [([1, -2, 3, 0],), ([],)]),
    (count_positive, [([0.5, -0.0, NAN],)]),
    (negative, [([1, -2, 3],), ([1, 2, 3],), ([],)]),
    (negative, [([0.5, -0.0, -1.5],), ([NAN],)]),
    (ordered, [([3, 1, 2], 3), ([1, 2, 2, 5], 4), ([], 0), ([7], 1)]),
    (truthy_any, [([0, 0, 5, 0],), ([0, 0],), ([],)]),
    (truthy_any, [([0.0, -0.0, NAN],), ([0.0, -0.0],)]),
    (truthy_any, [([False, True],), ([False],)]),
    (truthy_all, [([1, 0, 2],), ([1, 2],), ([],)]),
    (truthy_all, [([1.0, -0.0],), ([NAN, 2.5],)]),
    (big_in_rows, [([[1, 2], [5, 1], [9]], 3), ([[1], []], 3), ([], 0)]),
    (three, [([1, 2, 3], [1, 5]), ([], []), ([0, -1], [1])]),
    (sums_of_rows, [([[1, 2], [], [3.5]],), ([],)]),
    (row_totals_over, [([[1, 5], [], [7, 2]], 1), ([], 0)]),
    (pairs, [([1, 5, 2], [2, 3, 9]), ([1], [2, 3]), ([], [1])]),
    (weighted, [([1, 2, 3],), ([],), ((0.5, -1.5),)]),
    (stepped, [(10,), (0,), (1,)]),
]
FLAT = [(f, args) for f, inputs in CASES for args in inputs]


def _id(case):
    f, args = case
    return f"{f.__name__}-{args!r}"[:60]


@pytest.mark.parametrize(("func", "args"), FLAT, ids=[_id(c) for c in FLAT])
def test_answers_as_cpython(func, args):
    check(func, *args)


def _force_each_site(func, inputs):
    """Force each site of one compile with the first input whose call reaches it,
    checking the resume against CPython; the sites no input reached."""
    compiled = compile_function(func, kinds_of(inputs[0]), force=True)
    missed = []
    for site in compiled.lowered.sites:
        for args in inputs:
            forcing.force(site.id)
            mine = fresh(args)
            status, _, frames = compiled.run(*mine)
            if forcing.pending():
                forcing.force(0)
                continue  # this input never got there
            assert status.name == "FORCED" and frames, site.describe()
            check_resumed(python_function(func), args, frames, mine, [])
            break
        else:
            missed.append(site)
    return compiled.lowered.sites, missed


def _opname(site):
    return next(i.opname for i in dis.get_instructions(site.code) if i.offset == site.offset)


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[_id((f, i[0])) for f, i in CASES])
def test_every_site_resumes_as_cpython(func, inputs):
    inputs = [a for a in inputs if kinds_of(a) == kinds_of(inputs[0])]
    every, missed = _force_each_site(func, inputs)
    # (the identity test's other way, the interpreter's for a rebound name, has none;
    # iterating over a list's element or taking its len() has a site no forcing
    # reaches, in a plain loop as here: `for r in rows: t = t + len(r)` misses it too)
    assert every
    assert all(_opname(s) in ("GET_ITER", "PRECALL") for s in missed), [
        s.describe() for s in missed]


@pytest.mark.parametrize(("func", "args"), [
    (squares, ([3, 2**31 + 1, 4],)),  # int64 overflow in an item: the exact big int
    (total, ([2**62, 2**62, 1],)),  # in the running total
    (total, ([1, 2.5, 2**62, 2**62],)),  # a float total then ints
    (total, ([1, "a"],)),  # TypeError of the `+`: CPython's message
    (divided, ([4, 5], 0)),  # ZeroDivisionError in the first item
    (divided, ([4.0, 5.0], 0.0)),
    (negative, ([1, "a"],)),  # TypeError of the comparison
    (truthy_any, ([0, 1.5, 2],)),  # an item of another kind
])
def test_bailouts_inside_resume_exactly(func, args):
    check(func, *args, may_bail=True)


@pytest.mark.parametrize("int_bits", [128])
def test_wide_ints_sum_past_int64(int_bits):
    # after an overflow the bead recompiles with 128-bit ints: the sum stays exact
    for xs in ([2**62, 2**62, 2**62], [-(2**63), -1], [2**40] * 5):
        check(total, xs, int_bits=int_bits, may_bail=True)


@pytest.mark.parametrize(("func", "xs", "computed"), [
    (noted_sum, [1, 2, 0, 4], [1, 2, 0]),  # the ZeroDivisionError at the third item
    (noted_sum, [3, 4], [3, 4]),
    (noted_any, [6, 3, 1, 2], [6, 3]),  # 12 // 3 > 3: stops at the second
    (noted_any, [6, 4], [6, 4]),
    (noted_all, [1, 2, 6, 1], [1, 2, 6]),  # 12 // 6 is 2: stops at the third
    (noted_all, [1, 2, 3], [1, 2, 3]),
    (noted_any, [6, 0, 1], [6, 0]),
])
def test_items_are_computed_as_cpython_computes_them(func, xs, computed):
    check(func, xs, [], may_bail=True)  # (compares the list's state after the call)
    seen: list[int] = []
    compiled = compile_function(func, kinds_of((xs, seen)))
    status, value, frames = compiled.run(xs, seen)
    if frames:
        try:
            resume.finish(frames)()
        except ZeroDivisionError:
            assert 0 in xs
    assert seen == computed


@pytest.mark.parametrize(("func", "xs"), [(noted_sum, [1, 2, 0, 4]), (noted_any, [6, 0])])
def test_forced_deopts_with_side_effects(func, xs):
    assert forced_sites(func, (xs, []))


def _interpreted_splice(func):
    """``func`` with its code as the frontend compiles it (what resumes run)."""
    code = comprehensions.inline(func.__code__, func.__qualname__).code
    return types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__)


def test_the_splice_calls_a_rebound_name_with_cpythons_generator(monkeypatch):
    spliced = _interpreted_splice(affine)
    assert spliced([1, 2], 3, 1) == affine([1, 2], 3, 1) == 11
    calls = []

    def fake(gen):
        calls.append(type(gen).__name__)
        return list(gen)

    monkeypatch.setitem(globals(), "sum", fake)
    assert spliced([1, 2], 3, 1) == affine([1, 2], 3, 1) == [4, 7]
    assert calls == ["generator", "generator"]
    monkeypatch.delitem(globals(), "sum")
    import builtins

    spliced = _interpreted_splice(negative)  # (splicing itself calls any())
    with monkeypatch.context() as patched:
        patched.setattr(builtins, "any", lambda gen: ("any", tuple(gen)))
        assert spliced([1, -2]) == negative([1, -2]) == ("any", (False, True))
    # inside a list comprehension, inside another generator expression: the cells
    # hold the hidden locals' values
    monkeypatch.setitem(globals(), "sum", fake)
    for func, args in ((sums_of_rows, ([[1, 2], [3]],)),
                       (row_totals_over, ([[1, 5], [7, 2]], 1))):
        assert _interpreted_splice(func)(*args) == func(*args)


def later_bound(xs, n):
    g = sum(x * n for x in xs)
    n = 10
    return g


def per_row(xs, k):
    gens = []
    for i in range(k):
        gens.append(sum(x * i for x in xs))
    return gens


def nested_later(m, t):
    g = sum(sum(v * t for v in row) for row in m)
    t = 100
    return g


def unbound_yet(xs, flag):
    if flag:
        n = 2
    return sum(x * n for x in xs)


def _drained(value):
    """A generator's items (each drained too), as a list, after the call returned."""
    if isinstance(value, types.GeneratorType):
        return [_drained(v) for v in value]
    if isinstance(value, list):
        return [_drained(v) for v in value]
    return value


@pytest.mark.parametrize(("func", "args"), [
    (later_bound, ([1, 2], 1)),
    (per_row, ([1, 2, 3], 4)),
    (nested_later, ([[1, 2], [3]], 1)),
    (affine, ([1, 2], 3, 1)),
])
def test_a_rebound_name_keeping_the_generator_sees_the_variables_stored_later(
        monkeypatch, func, args):
    """The rebound callable keeps the generator and it runs after the function stored
    the variables it reads again (or first): it reads their values then, as CPython's
    reads the cells it shares with the frame (the spliced code has no cells)."""
    monkeypatch.setitem(globals(), "sum", lambda gen: gen)
    spliced = _interpreted_splice(func)
    mine, theirs = _drained(spliced(*args)), _drained(func(*args))
    assert mine == theirs, (mine, theirs)
    assert "generator" not in repr(mine)


def test_a_rebound_name_running_the_generator_at_once_finds_a_variable_unbound(
        monkeypatch):
    monkeypatch.setitem(globals(), "sum", list)
    spliced = _interpreted_splice(unbound_yet)
    assert spliced([1, 2], True) == unbound_yet([1, 2], True) == [2, 4]
    errors = []
    for f in (spliced, unbound_yet):
        with pytest.raises(NameError) as info:
            f([1, 2], False)
        errors.append((str(info.value), info.value.name,
                       [t.name for t in info.traceback]))
    assert errors[0] == errors[1], errors
    assert errors[0][0] == ("cannot access free variable 'n' where it is not associated "
                            "with a value in enclosing scope")


def _rebinds_lazily():
    global sum
    sum = _kept  # noqa: A001 - the rebinding is the point
    return 0


def _kept(gen):
    return gen


def kept_by_the_rebound(xs, n):
    t = _rebinds_lazily()  # an opaque callee: native code stops here (STALE)
    g = sum(x * n for x in xs)
    n = 10
    return t, g


def test_a_generator_kept_by_a_name_rebound_during_the_call_reads_later_stores():
    args = ([1, 2], 1)
    compiled = compile_function(kept_by_the_rebound, kinds_of(args))
    try:
        status, _, frames = compiled.run(*args)
        assert status.name == "STALE" and frames
        mine = resume.finish(frames)()
    finally:
        globals().pop("sum", None)
    try:
        theirs = kept_by_the_rebound(*args)
    finally:
        globals().pop("sum", None)
    assert (mine[0], list(mine[1])) == (theirs[0], list(theirs[1])) == (0, [10, 20])


def _rebinds():
    global sum
    sum = _fake_sum  # noqa: A001 - the rebinding is the point
    return 1


def _fake_sum(gen):
    return -sum_of(gen)


def sum_of(gen):
    t = 0
    for v in gen:
        t += v
    return t


def rebound_in_the_middle(xs):
    t = _rebinds()  # an opaque callee that rebinds `sum` before the call reads it
    return t + sum(x * 2 for x in xs)


def test_a_name_rebound_during_the_call_is_what_gets_called():
    args = ([1, 2, 3],)
    compiled = compile_function(rebound_in_the_middle, kinds_of(args))
    try:
        status, _, frames = compiled.run(*args)
        assert status.name == "STALE" and frames  # the callee changed a binding
        mine = resume.finish(frames)()
    finally:
        globals().pop("sum", None)
    try:
        theirs = rebound_in_the_middle(*args)
    finally:
        globals().pop("sum", None)
    assert mine == theirs == 1 - 12


def test_sites_inside_resume_as_one_frame():
    args = ([3, 2**32 + 1, 5],)
    compiled = compile_function(squares, kinds_of(args))
    status, _, frames = compiled.run(*args)
    assert status.name == "INT64_OVERFLOW"
    (frame,) = frames
    assert not frame.site.nest
    assert resume.finish(frames)() == squares(*args)


def test_the_splice_has_no_generator_and_hidden_locals():
    inlined = comprehensions.inline(affine.__code__, "affine")
    assert set(affine.__code__.co_cellvars) == {"b", "k"}
    assert not inlined.code.co_cellvars and not inlined.code.co_freevars
    assert inlined.comprehensions == 1 and inlined.regions[0].writes
    assert "x" not in inlined.code.co_varnames
    assert {"<genexpr1>.x", "<genexpr1>..acc"} <= set(inlined.code.co_varnames)


def minimum(xs):
    return min(x for x in xs)


def started(xs):
    return sum((x for x in xs), 10)


def stored(xs):
    g = (x for x in xs)
    return sum(g)


def listed(xs):
    return len(list(x for x in xs))


def walrus(xs):
    t = 0
    return sum((t := t + x) for x in xs) + t


def walrus_inside(m):
    t = 0
    return sum(len([(t := x) for x in r]) for r in m) + t


def _own_sum(gen):
    return 0


def shadowed(xs):
    return _own_sum(x for x in xs)


@pytest.mark.parametrize(("func", "reason"), [
    (minimum, "only argument of a call of sum"),
    (started, "passed with other arguments"),
    (stored, "only argument of a call of sum"),
    (listed, "only argument of a call of sum"),
    (walrus, "stores a variable of the function"),
    (walrus_inside, "stores a variable of the function"),
    (shadowed, "only argument of a call of sum"),
])
def test_declines_with_a_reason(func, reason):
    with pytest.raises(Unsupported, match=reason):
        lower(func, (Kind.LIST,))


def test_a_global_sum_bound_at_compile_time_is_declined(monkeypatch):
    monkeypatch.setitem(globals(), "sum", _own_sum)
    with pytest.raises(Unsupported, match="_own_sum.* is called with a generator"):
        lower(total, (Kind.LIST,))


def firsts(rows):
    return sum(next(iter(r)) for r in rows)  # next() of an empty row: StopIteration


class Stops:
    """An item whose `+` and truth raise StopIteration: sum and any run those outside
    the generator, so CPython lets it through as it is."""

    def __radd__(self, other):
        raise StopIteration(7)

    def __bool__(self):
        raise StopIteration(8)


def items_of(xs):
    return sum(x for x in xs)


def any_of(xs):
    return any(x for x in xs)


def _stops(xs):
    raise StopIteration(len(xs))


def helper_stops(xs):
    return all(_stops(xs) for _ in xs)  # raised in a (compiled) helper inside


def _outcome(call):
    try:
        return ("value", call())
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return (type(exc), str(exc), type(exc.__cause__), type(exc.__context__),
                exc.__suppress_context__)


@pytest.mark.parametrize(("func", "args"), [
    (firsts, ([[1], [2, 3], [], [4]],)),
    (firsts, ([[1], [2]],)),
    (items_of, ([1, Stops()],)),
    (any_of, ([0, Stops()],)),
    (helper_stops, ([1, 2],)),
])
def test_a_stop_iteration_in_the_body_is_cpythons_runtime_error(func, args):
    # PEP 479: raised in the generator's body it becomes RuntimeError("generator raised
    # StopIteration") caused by it; raised by the builtin's own `+` or truth test, it
    # goes on as it is
    check(func, *args, may_bail=True)
    compiled = compile_function(func, kinds_of(args))
    status, value, frames = compiled.run(*args)
    mine = _outcome(resume.finish(frames)) if frames else ("value", value)
    assert mine == _outcome(lambda: func(*args))


def test_every_site_resumes_with_the_handler():
    for args in ([[1], [2, 3], [], [4]],), ([[5]],):
        assert forced_sites(firsts, args)


def _guarded(a):
    try:
        a()
    except ValueError:
        pass
    return 1


def test_covers_is_the_exception_tables_half_open_ranges():
    # an entry's end is the offset after its last instruction (CPython's
    # get_exception_handler: start <= offset < end)
    from autotier.deopt import generators

    code = _guarded.__code__
    entries = dis.Bytecode(code).exception_entries
    first = entries[0]  # the try's body; the JUMP_FORWARD over the handler after it
    after = next(i for i in dis.get_instructions(code) if i.offset == first.end)
    assert after.opname == "JUMP_FORWARD"
    assert not any(e.start <= first.end < e.end for e in entries)
    assert generators.covers(code, first.start)
    assert generators.covers(code, first.end - 2)
    assert not generators.covers(code, first.end)
