"""On-stack replacement at loops over lists, tuples and numpy arrays (issue 12).

The header's live iterator is a list, tuple or ndarray iterator: the entry takes its
sequence and next index (``osr.entrycode``) and native code goes on from there,
reading the length at every step as CPython's iterator does.  Every answer is
compared with CPython's (the plain function), the arguments' state after the call
too; ``wait=True`` enters at the loop threshold's iteration.  The entry functions
themselves are also forced to deoptimise at every site (``tests/frontend/harness``),
each resumed answer against the entry run interpreted.
"""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest

import autotier
from autotier.osr import state as osr_state
from autotier.osr.instrument import screen
from tests.frontend import harness
from tests.integration.test_osr import children, entries, osr_hot
from tests.runtime.helpers import bead_of, make_hot


def same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), (a, b)
    else:
        assert a == b, (a, b)


def run_both(func, args, at, *, wait=True):
    """``func(*args)`` under OSR entered at iteration ``at``, and in CPython: the answers
    and the arguments after the call must agree; the hot object is returned."""
    hf = osr_hot(func, at, wait=wait)
    mine, theirs = copy.deepcopy(args), copy.deepcopy(args)
    same(hf(*mine), func(*theirs))
    for a, b in zip(mine, theirs, strict=True):
        same(a, b)
    return hf


# ------------------------------------------------------------ the kernels
def weighted(xs, w):
    s = 0.0
    for x in xs:
        s += x * w
    return s


def int_total(t):
    s = 0
    for x in t:
        s += x * x - 3
    return s


def array_sum(a):
    s = 0.0
    for v in a:
        s += v * 0.5
    return s


def int_array(a):
    s = 0
    for v in a:
        s += v
    return s


def rows(a):
    s = 0.0
    for row in a:
        for v in row:
            s += v * 1.5
    return s


def nested_lists(xss):
    s = 0
    for xs in xss:
        for x in xs:
            s += x
        s *= 3
    return s


def growing(xs):
    s = 0
    for x in xs:
        if x < 400:
            xs.append(x + 7)  # the iterator reads the length at every step
        s += x
    return s


def drop_last(xs):
    xs.pop()  # (not compiled: native code calls it through the C API)


def shrinking(xs):
    s = 0
    for x in xs:
        s += x
        if len(xs) > 3:
            drop_last(xs)
    return s + len(xs)


def first_over(xs, limit):
    k = -1
    for x in xs:
        if x > limit:
            k = x
            break
    else:
        k = -2
    return k


def range_in_list(xs, n):
    s = 0
    for x in xs:
        for i in range(n):
            s += x * i
    return s


def late_float(xs):
    s = 0
    for x in xs:
        if x == 150:
            xs.append(2.5)  # an element of another kind: the entered code deoptimises
        s += x
    return s


def enumerated(xs, start):
    s = 0.0
    for i, x in enumerate(xs):
        s += i * x - start
    return s


def enumerated_from(xs):
    s = 0
    for i, x in enumerate(xs, 7):
        s += i * x
        if x % 50 == 3:
            xs.append(i)  # the enumerate's list grows under it
    return s


def zipped(xs, t, a):
    s = 0.0
    for x, y, v in zip(xs, t, a):
        s += x * y - v
    return s


def backwards(xs):
    s = 0.0
    for x in reversed(xs):
        s = s * 0.5 + x
    return s


def backwards_shrinking(xs):
    s = 0
    for x in reversed(xs):
        s += x
        if len(xs) > 100:
            drop_last(xs)  # shorter than the reversed iterator's index: it ends
    return s, len(xs)


def enumerate_range(n):
    s = 0
    for i, k in enumerate(range(3, n, 2)):
        s += i * k
    return s


LIST = [0.25 * k - 3 for k in range(300)]
CASES = [
    (weighted, (LIST, 3)), (weighted, (LIST[:7], 0.5)), (int_total, (tuple(range(-50, 250)),)),
    (array_sum, (np.linspace(-2.0, 7.0, 300),)), (int_array, (np.arange(300),)),
    (rows, (np.arange(600.0).reshape(30, 20),)),
    (nested_lists, ([[k, k + 1, -k] * 9 for k in range(40)],)),
    (growing, ([1, 2, 3, 4],)), (shrinking, (list(range(400)),)),
    (first_over, (list(range(300)), 250)), (first_over, (list(range(300)), 10**6)),
    (range_in_list, (list(range(60)), 30)), (late_float, (list(range(300)),)),
    (enumerated, (LIST, 2)), (enumerated_from, (list(range(200)),)),
    (zipped, (LIST, tuple(range(250)), np.linspace(0.0, 1.0, 280))),
    (backwards, (LIST,)), (backwards, (tuple(LIST),)),
    (backwards_shrinking, (list(range(300)),)), (enumerate_range, (700,)),
]


def _id(case):
    return getattr(case, "__name__", "")


@pytest.mark.parametrize(("func", "args"), CASES, ids=_id)
@pytest.mark.parametrize("at", [1, 2, 5, 97])
def test_entered_at_an_iteration_the_answer_is_cpythons(func, args, at):
    hf = run_both(func, args, at)
    mine, theirs = copy.deepcopy(args), copy.deepcopy(args)
    same(hf(*mine), func(*theirs))  # a second call enters the same code
    for a, b in zip(mine, theirs, strict=True):
        same(a, b)


@pytest.mark.parametrize(("func", "args"), CASES, ids=_id)
def test_entered_at_random_iterations(func, args):
    rng = random.Random(func.__name__)
    for _ in range(3):
        run_both(func, args, rng.randint(1, 300))


def test_sequence_loops_are_entered():
    hf = run_both(weighted, (LIST, 3), 5)
    assert entries(hf) == 1
    hf = run_both(int_total, (tuple(range(300)),), 5)
    assert entries(hf) == 1
    hf = run_both(array_sum, (np.ones(300),), 5)
    assert entries(hf) == 1
    (child,) = children(hf)
    assert child.resumes == 0 and child.bailouts == 0


def test_nested_list_loops_enter_at_the_inner_loop_and_at_the_outer():
    first = nested_lists.__code__.co_firstlineno
    xss = [[k, k + 1, -k] * 9 for k in range(40)]
    inner = run_both(nested_lists, (xss,), 10)  # 27 inner iterations a row: inner first
    assert bead_of(inner).osr.lines == {first + 3: 1}
    # empty rows: each header counts one arrival a row, the outer's first
    outer = run_both(nested_lists, ([[]] * 200 + [[1, 2, 3]] * 50,), 150)
    assert bead_of(outer).osr.lines == {first + 2: 1}
    rows_first = rows.__code__.co_firstlineno
    a = np.arange(600.0).reshape(30, 20)
    assert bead_of(run_both(rows, (a,), 10)).osr.lines == {rows_first + 3: 1}
    b = np.arange(0.0).reshape(300, 0)
    assert bead_of(run_both(rows, (b,), 150)).osr.lines == {rows_first + 2: 1}


def test_a_list_grown_or_shrunk_inside_the_entered_loop():
    for at in (1, 3, 50):
        hf = run_both(growing, ([1, 2, 3, 4],), at)
        assert entries(hf) == 1
        hf = run_both(shrinking, (list(range(400)),), at)
        assert entries(hf) == 1


def test_an_element_of_another_kind_deoptimises_the_entered_loop_precisely():
    hf = run_both(late_float, (list(range(300)),), 10)
    assert entries(hf) == 1
    (child,) = children(hf)
    assert child.resumes == 1 and child.last_bailout == "element"


def test_break_and_else_of_an_entered_list_loop():
    for limit in (3, 150, 298, 10**6):
        hf = run_both(first_over, (list(range(300)), limit), 2)
        assert entries(hf) == (1 if limit > 2 else 0)


def test_enumerate_zip_and_reversed_loops_are_entered():
    for func, args in [(enumerated, (LIST, 2)), (zipped, (LIST, LIST, np.ones(300))),
                       (backwards, (LIST,)), (enumerate_range, (700,))]:
        hf = run_both(func, args, 5)
        assert entries(hf) == 1, bead_of(hf).osr.describe()

    def strict_zip(xs):
        s = 0
        for a, b in zip(xs, xs, strict=True):
            s += a * b
        return s

    hf = osr_hot(strict_zip, 5)
    same(hf(list(range(100))), strict_zip(list(range(100))))
    assert entries(hf) == 0 and "strict" in bead_of(hf).osr.describe()


def test_a_loop_over_something_else_is_not_entered():
    def over_dict_keys(d):
        s = 0
        for k in d:
            s += k
        return s

    hf = osr_hot(over_dict_keys, 5)
    d = {k: None for k in range(100)}
    same(hf(d), over_dict_keys(d))
    assert entries(hf) == 0
    assert "dict_keyiterator" in bead_of(hf).osr.describe()


def _captured(func, args, at, monkeypatch):
    """The OSR entry function and its arguments (copied) where ``func(*args)`` enters
    at iteration ``at``."""
    seen = []
    real = osr_state._enter

    def spy(child, values):
        seen.append((child._func, harness.fresh(tuple(values))))
        return real(child, values)

    monkeypatch.setattr(osr_state, "_enter", spy)
    run_both(func, args, at)
    monkeypatch.setattr(osr_state, "_enter", real)
    assert len(seen) == 1
    return seen[0]


FORCED = [(weighted, (LIST[:40], 3)), (int_total, (tuple(range(40)),)),
          (array_sum, (np.linspace(0.0, 1.0, 40),)), (rows, (np.arange(60.0).reshape(6, 10),)),
          (nested_lists, ([[1, 2, 3]] * 20,)), (growing, ([1, 2, 3],)),
          (first_over, (list(range(40)), 30)), (enumerated_from, (list(range(40)),)),
          (zipped, (LIST[:30], tuple(range(30)), np.ones(30))), (backwards, (LIST[:30],))]


@pytest.mark.parametrize(("func", "args"), FORCED, ids=_id)
def test_forced_deopts_at_every_site_of_an_entry(func, args, monkeypatch):
    entry, values = _captured(func, args, 3, monkeypatch)
    # the entry run interpreted is the rest of the call: CPython's answer
    same(entry(*harness.fresh(values)), func(*copy.deepcopy(args)))
    harness.check(entry, *values, force=True, may_bail=True)
    reached = harness.forced_sites(entry, values)
    assert len(reached) >= 3, reached
    harness.forget(entry)


def test_stats_show_the_sequence_loop_entered():
    hf = run_both(weighted, (LIST, 3), 5)
    assert autotier.stats(hf).osr_lines == (weighted.__code__.co_firstlineno + 2,)
    assert "iter_at" in autotier.explain(hf)["osr"]


SEQ_PROGRAMS = 150  # program numbers of tests/programs/seqgen tried (those that loop run)


def test_random_sequence_programs_entered_at_a_random_iteration():
    from tests.programs.seqgen import KS, SEQUENCES, program

    run = entered = 0
    mismatches: list[str] = []
    for number in range(SEQ_PROGRAMS):
        rng = random.Random(number)
        source = program(number)
        ns: dict = {}
        exec(compile(source, f"<osr seq program {number}>", "exec"), ns)
        func = ns["f"]
        if screen(func) is not None:
            continue
        run += 1
        at = rng.randint(1, 3)
        hf = make_hot(func, policy=autotier.ThresholdPolicy(threshold=10**9,
                                                            loop_threshold=at),
                      deopt=autotier.AlwaysRecompilePolicy())
        bead_of(hf).osr.wait_compile = True
        for _ in range(4):
            xs, k = rng.choice(SEQUENCES), rng.choice(KS)
            mine, theirs = copy.deepcopy(xs), copy.deepcopy(xs)
            expected = harness.outcome(lambda: func(theirs, k))  # noqa: B023
            got = harness.outcome(lambda: hf(mine, k))  # noqa: B023
            if not harness.same_outcome(got, expected) or not harness.same_state((mine,),
                                                                                 (theirs,)):
                mismatches.append(f"{source}({xs!r}, {k!r}) entered at {at}: autotier "
                                  f"{got!r} {mine!r}, CPython {expected!r} {theirs!r}")
        entered += autotier.stats(hf).osr_entries > 0
        autotier.invalidate(hf)
    assert not mismatches, "\n".join(mismatches[:10])
    assert run >= 20 and entered >= run // 4, (run, entered)
