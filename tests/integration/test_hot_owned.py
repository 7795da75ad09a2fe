"""Objects native frames make or hold, through the whole runtime (issue 10): a list
the function builds and returns, lists of tuples the bead speculates from the
promoting calls, and a list of tuples another thread empties while a native loop
holds one of its tuples (``docs/architecture.md``, "Owned references").
"""

from __future__ import annotations

import sys
import threading

import autotier
from autotier.abi import Kind
from autotier.bench_containers import sieve
from autotier.runtime import elements
from tests.frontend.kernels import pairs
from tests.runtime.helpers import bead_of, make_hot, promote, settle
from tests.window import measure


def test_the_sieve_builds_its_list_natively_and_returns_it():
    hf = make_hot(sieve)
    promote(hf, 30)
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.backend == "llvm"
    for n in (0, 1, 2, 30, 1000, -3):
        try:
            want: object = sieve(n)
        except IndexError as exc:
            want = exc
        try:
            got: object = hf(n)
        except IndexError as exc:
            got = exc
        if isinstance(want, IndexError):
            assert isinstance(got, IndexError) and str(got) == str(want)
        else:
            assert type(got) is list and got == want
            assert all(type(v) is bool for v in got)  # type: ignore[attr-defined]
            assert sys.getrefcount(got) == 2
    # n = 0 and n = -3: flags[1] and flags[0] out of range, raised by the interpreter
    assert autotier.stats(hf).exceptions == 2 and autotier.stats(hf).resumes == 2


def test_a_million_calls_building_and_dropping_lists_leave_counts_flat():
    hf = make_hot(sieve)
    promote(hf, 10)
    for _ in range(1000):
        hf(10)

    def calls():
        for _ in range(1_000_000):
            hf(10)

    w = measure(calls, True, False, trace=False, objects=True)
    assert w.after == w.before
    # the runtime's own threads may make or drop an object meanwhile; a list leaked
    # per call would be a million
    assert abs(w.objects_after - w.objects_before) < 100


def test_lists_of_tuples_are_speculated_and_run_natively():
    hf = make_hot(pairs)
    pts = [(1.0, 2.0), (3.0, 4.5)]
    promote(hf, pts)
    assert autotier.stats(hf).state == "compiled"
    speculated = bead_of(hf).elements
    assert {k: v for k, v in speculated.items() if not elements.is_path_key(k)} == {
        0: frozenset({Kind.TUPLE}), ~0: frozenset({Kind.FLOAT})}
    assert speculated["0>*/0"] == speculated["0>*/1"] == {Kind.FLOAT}  # by position too
    resumes = autotier.stats(hf).resumes
    assert hf(pts) == pairs(pts) and hf([]) == 0.0
    assert autotier.stats(hf).resumes == resumes  # native

    def calls():
        for _ in range(10_000):
            hf(pts)

    w = measure(calls, *pts, trace=False, collect=False)
    assert w.after == w.before
    # an int item: the load deoptimises; then tuples of any items are native
    assert hf([(1, 2), (3.5, 1)]) == pairs([(1, 2), (3.5, 1)])
    assert autotier.stats(hf).last_bailout == "element"
    settle()
    speculated = bead_of(hf).elements
    assert {k: v for k, v in speculated.items() if not elements.is_path_key(k)} == {
        0: frozenset({Kind.TUPLE}), ~0: elements.ANY_SCALAR}
    assert speculated["0>*/0"] == speculated["0>*/1"] == elements.ANY_SCALAR
    resumes = autotier.stats(hf).resumes
    assert hf([(1, 2), (3.5, True)]) == pairs([(1, 2), (3.5, True)])
    assert autotier.stats(hf).resumes == resumes
    try:  # CPython's own ValueError, raised by the interpreter at the unpacking
        hf([(1.0, 2.0, 3.0)])
    except ValueError as exc:
        assert str(exc) == "too many values to unpack (expected 2)"
    else:
        raise AssertionError("no ValueError")


def spin_pairs(points, n):
    s = 0.0
    for _ in range(n):
        for p in points:
            s += p[0] * p[1]
    return s


def test_a_list_of_tuples_emptied_by_another_thread_during_a_native_loop():
    """The native loop holds the tuple it loaded (its own reference) while other
    threads run at the periodic check; another thread empties the list, freeing
    every tuple but the one native code holds, which it reads and then releases."""
    hf = make_hot(spin_pairs)
    promote(hf, [(1.0, 2.0)], 2)
    assert autotier.stats(hf).state == "compiled"
    pts = [(float(i), 2.0) for i in range(1000)]
    started = threading.Event()

    def clear() -> None:
        started.wait()
        pts.clear()

    thread = threading.Thread(target=clear)
    thread.start()
    started.set()
    result = hf(pts, 100_000)  # 10**8 tuple loads unless emptied
    thread.join()
    assert pts == []
    assert result == int(result) and 0 <= result < 2 * 999 * 1000 * 100_000
    assert autotier.stats(hf).state == "compiled"
