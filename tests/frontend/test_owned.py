"""Owned references (``docs/architecture.md``, "Owned references"): lists native code
makes (``[a, b]``, ``[v] * n``) and the references every object value holds.

Differential through the frontend harness: every call compared with CPython (result,
its type, the arguments' state), every deopt site forced with an input that reaches
it (the record hands the frame's objects to the interpreter, which finishes exactly),
and reference counts: the elements', the arguments', and the objects native code made,
flat over many calls, on the returning and the deoptimising paths alike.
"""

from __future__ import annotations

import re
import sys
import tracemalloc

import numpy as np
import pytest

from autotier.abi import Status
from autotier.bench_containers import sieve
from autotier.deopt import forcing
from autotier.frontend import Unsupported, lower
from tests.frontend.harness import (
    check,
    compile_function,
    force_every_site,
    forget,
    fresh,
    hot,
    kinds_of,
)
from tests.window import measure


def literal_sum(a, b):
    xs = [a, b, 1.5]
    ys = [1.0, 2.0, 3.0]
    s = 0.0
    for x in xs:
        s += x
    for y in ys:
        s += y
    return s + len(xs) + ys[-1]


def doubled(n):
    out = []
    for i in range(n):
        out.append(i * 2)
    return out


def repeated(v, n):
    xs = [v, -v] * n
    return len(xs), xs[-1] if xs else v


def times_left(n, v):
    return n * [v]


def rebound(n):
    prev = [0]
    cur = prev
    s = 0
    for i in range(n):
        cur = [i, i + 1]
        s += prev[0] + cur[1]
        prev = cur
    return s + len(cur)


def first_bound_in_the_loop(n):
    s = 0
    for i in range(n):
        cur = [i, i + 1]  # unbound before the loop: NULL until then
        s += cur[0]
    return s + len(cur)  # UnboundLocalError when n <= 0


def stored_into(n, x):
    xs = [0] * n
    for i in range(n):
        xs[i] = x * i
    xs.append(x)
    return xs


def indexed(n, i):
    xs = [n, n + 1, n + 2]
    return xs[i]


def truth_and_contains(n):
    xs = []
    if not xs:
        xs.append(n)
    return bool(xs) and n in xs and len([n] * 3) == 3


def reduced(n):
    xs = [1.5] * n
    return sum(xs) + (max([n, 2, 3]) if n >= 0 else 0)


def from_argument(xs, k):
    ys = [k] * len(xs)
    for i in range(len(xs)):
        ys[i] = xs[i] * k
    return ys


def returned_argument(xs):
    for x in xs:
        if x > 2:
            return xs
    return [len(xs)]


def huge(n):
    return len([0, 1] * n)


CASES = [
    (sieve, [(0,), (1,), (2,), (30,), (-5,), (100,)]),
    (literal_sum, [(1, 2), (-7, 2**40), (0, 0)]),
    (doubled, [(0,), (5,), (-2,)]),
    (repeated, [(1, 3), (2, 0), (3, -4), (2**62, 2)]),
    (times_left, [(3, 1.5), (-1, 2.5), (0, -0.0)]),
    (rebound, [(0,), (1,), (7,)]),
    (first_bound_in_the_loop, [(3,), (0,), (1,)]),
    (stored_into, [(0, 1.5), (4, 2.5), (3, -1.0)]),
    (indexed, [(1, 0), (5, -1), (2, 3), (2, -4), (2**63 - 2, 2)]),
    (truth_and_contains, [(0,), (4,)]),
    (reduced, [(0,), (3,), (-1,)]),
    (from_argument, [([1.0, 2.0], 3.0), ([], 1.0), ([0.5, -0.0, 7.0], -1.0)]),
    (returned_argument, [([1, 2, 3],), ([0, 1],), ([],)]),
]


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_made_lists_answer_as_cpython_and_every_site_resumes_exactly(func, inputs):
    for args in inputs:
        check(func, *args)
    groups: dict[tuple, list] = {}
    for args in inputs:
        groups.setdefault(kinds_of(args), []).append(args)
    for group in groups.values():
        force_every_site(func, group)
    forget(func)


def test_a_huge_repeat_raises_cpythons_memory_error_through_the_interpreter():
    compiled = compile_function(huge, kinds_of((2**62,)))
    status, _, frames = compiled.run(2**62)
    assert status is Status.VALUE and frames
    check(huge, 2**62)  # the interpreter makes [0, 1] * n again: MemoryError
    check(huge, -(2**62))  # negative: []
    check(huge, 5)


@pytest.mark.parametrize("force", [False, True])
def test_reference_counts_stay_flat_over_many_calls(force):
    """Elements, arguments and everything made: the same counts after 10**4 calls
    of each function as after one, on returns and on (forced) deopts alike."""
    watched = [True, False, 1.5, 2.5]
    arg = [1.0, 2.0, 3.0]
    calls = [(sieve, (50,)), (literal_sum, (1, 2)), (doubled, (6,)), (rebound, (5,)),
             (first_bound_in_the_loop, (4,)),
             (stored_into, (3, 2.5)), (from_argument, (arg, 2.5)),
             (returned_argument, (arg,)), (indexed, (3, 7)), (reduced, (4,))]
    if force:  # every site of a few: each forced call builds nothing new after the first
        calls = [calls[0], calls[3], calls[4], calls[6], calls[7]]
    tracemalloc.start()  # its first start makes an object for good
    tracemalloc.stop()
    for func, args in calls:
        compiled = compile_function(func, kinds_of(args), force=force)
        sites = compiled.lowered.sites if force else [None]
        for site in sites:  # warm: any cache filled (a loop variable of no int)
            for _ in [None] * 3:
                if site is not None:
                    forcing.force(site.id)
                _finish(compiled, args)
        forcing.force(0)
        # one window over every site of the function (a window a site cost a full
        # collection and heap walk each: minutes late in a full run's large heap);
        # its collections: a resumed call leaves cycles (its partial and function)
        def calls():
            for site in sites:
                for _ in [None] * (100 if force else 10_000):
                    if site is not None:
                        forcing.force(site.id)
                    _finish(compiled, args)
            forcing.force(0)

        w = measure(calls, *watched, arg, objects=True)  # (a leaked list: one object more)
        assert w.objects_after == w.objects_before, func.__name__
        assert w.after == w.before, func.__name__
        assert w.grown < 2048, (func.__name__, w.grown)  # a float a call: 2.4 KB a 100 calls
        forget(func)


def _finish(compiled, args):
    from autotier.deopt import resume

    status, value, frames = compiled.run(*args)
    if frames:
        try:
            value = resume.finish(frames)()
        except (IndexError, UnboundLocalError):  # CPython's, raised by the interpreter
            value = None
    return value


def test_memory_stays_flat_over_many_calls_building_and_dropping_lists():
    compiled = compile_function(sieve, kinds_of((200,)))
    for _ in range(100):
        compiled.call(200)

    def warm():
        for _ in range(20_000):
            compiled.call(200)

    def calls():
        for _ in range(100_000):
            compiled.call(200)

    w = measure(calls, warm=warm)
    assert w.grown < 64 * 1024, w.grown


def test_the_returned_list_is_the_one_built_and_owned_by_the_caller_alone():
    compiled = compile_function(stored_into, kinds_of((3, 1.5)))
    status, value = compiled.call(3, 1.5)
    assert status is Status.OK and value == [0.0, 1.5, 3.0, 1.5]
    assert sys.getrefcount(value) == 2  # the local and the call's argument
    arg = [1.0, 2.0, 3.0]
    compiled = compile_function(returned_argument, kinds_of((arg,)))
    before = sys.getrefcount(arg)
    status, value = compiled.call(arg)
    assert value is arg and sys.getrefcount(arg) == before + 1
    del value
    assert sys.getrefcount(arg) == before


def makes_recursively(n):
    if n <= 0:
        return 0
    xs = [n]
    return xs[0] + hot_makes(n - 1)


hot_makes = hot(makes_recursively)


def test_recursive_programs_that_make_lists_are_declined():
    with pytest.raises(Unsupported, match="recursive program that makes lists"):
        lower(makes_recursively, kinds_of((3,)))


def test_the_arguments_state_after_stores_into_made_lists():
    mine, theirs = fresh(([1.0, 2.0],)), fresh(([1.0, 2.0],))
    compiled = compile_function(from_argument, kinds_of((mine[0], 2.0)))
    status, value = compiled.call(mine[0], 2.0)
    assert status is Status.OK and value == from_argument(theirs[0], 2.0)
    assert mine == theirs


def histogram_of(data, nbins):
    hist = np.zeros(nbins, dtype=np.int64)
    for x in data:  # the iterator takes a reference each iteration, the edge gives it back
        hist[int(x * nbins)] += 1
    return hist


def row_sums(m):
    t = 0.0
    for row in m:  # rows: new references (NULL past the iterator's end)
        t += row[0] + row[-1]
    return t


def _hot_refcount_calls(text: str) -> list[str]:
    """The calls of Py_IncRef/Py_DecRef in the blocks of the function's own code and
    its loop edges (``bbN``, ``edgeN_M``, an iterator's ``got_element``: the cold
    exits, a maker's failure and the result's boxing still call them)."""
    out, hot = [], False
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            label = line.strip().rstrip(":").strip('"')
            hot = re.fullmatch(r"bb\d+|edge\d+_\d+|got_element(\.\d+)?|start", label) is not None
        elif hot and ('@"Py_IncRef"' in line or '@"Py_DecRef"' in line):
            out.append(line.strip())
    return out


def test_reference_counts_are_inline_and_stay_flat():
    """On 3.11 the function's own increments and decrements are inline (LLVM cancels
    the iterator's per-iteration pair), the cold exits' calls; counts stay flat."""
    data, m = np.array([0.1, 0.5, 0.9, 0.3]), np.arange(12.0).reshape(4, 3)
    for func, args in ((histogram_of, (data, 4)), (row_sums, (m,)), (sieve, (50,))):
        compiled = compile_function(func, kinds_of(args))
        if sys.version_info[:2] == (3, 11):
            assert _hot_refcount_calls(compiled.lowered.ir) == [], func.__name__
        for _ in [None] * 3:
            check(func, *args)

        def calls():
            for _ in [None] * 10_000:
                _finish(compiled, args)

        w = measure(calls, *args, trace=False)
        assert w.after == w.before, func.__name__
        forget(func)
