"""Lists and tuples through the whole runtime (issue 10): the element kinds the bead
speculates from the promoting calls, the bailout that widens them, reference counts,
and a list another thread empties while a native loop reads it.
"""

from __future__ import annotations

import sys
import threading

import autotier
from tests.frontend.kernels import at, bounds, scale, total
from tests.runtime.helpers import bead_of, make_hot, promote, settle
from tests.window import measure


def test_elements_are_speculated_from_the_promoting_calls_and_widened_on_a_miss():
    hf = make_hot(total)
    promote(hf, [1.5, 2.5])
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.backend == "llvm"
    assert bead_of(hf).elements == {0: frozenset({autotier.abi.Kind.FLOAT})}
    assert hf([0.5, 0.25]) == 0.75
    # an int element: the load deoptimises, the interpreter finishes the loop exactly
    assert hf([1.0, 2, 3.5]) == total([1.0, 2, 3.5])
    row = autotier.stats(hf)
    assert row.last_bailout == "element" and row.resumes == 1
    assert row.last_bailout_line == total.__code__.co_firstlineno + 2  # the for line
    settle()
    assert bead_of(hf).elements_widened
    resumes = autotier.stats(hf).resumes
    for xs in ([1.0, 2, True], (1, 2.5), [3, 4]):
        assert hf(xs) == total(xs) and type(hf(xs)) is float
    assert autotier.stats(hf).resumes == resumes  # mixed elements are native now
    # a str element: CPython's own TypeError, raised by the interpreter at that add
    try:
        hf([1.0, "a"])
    except TypeError as exc:
        assert str(exc) == "unsupported operand type(s) for +=: 'float' and 'str'"
    else:
        raise AssertionError("no TypeError")


def test_an_index_out_of_range_is_cpythons_index_error():
    hf = make_hot(at)
    promote(hf, [1, 2, 3], 1)
    hf((1, 2), 0)  # a tuple: one more specialisation
    settle()
    assert autotier.stats(hf).state == "compiled"
    assert autotier.stats(hf).signatures == (("list", "int"), ("tuple", "int"))
    for seq, i, message in (([1, 2, 3], 3, "list index out of range"),
                            ((1, 2), -3, "tuple index out of range")):
        try:
            hf(seq, i)
        except IndexError as exc:
            assert str(exc) == message
        else:
            raise AssertionError("no IndexError")
    assert hf([1, 2, 3], -1) == 3 and hf((4, 5), 0) == 4
    assert autotier.stats(hf).exceptions == 2 and autotier.stats(hf).state == "compiled"


def test_reading_elements_leaves_their_reference_counts_alone():
    hf = make_hot(total)
    promote(hf, [1.0, 2.0])
    xs = [float(i) + 0.5 for i in range(100)]

    def calls():
        for _ in range(10_000):
            hf(xs)

    w = measure(calls, *xs, trace=False, collect=False)
    assert w.after == w.before
    assert sys.getrefcount(xs) == 2


def spin(xs, n):
    s = 0.0
    for _ in range(n):
        for x in xs:
            s += x
    return s


def test_a_list_emptied_by_another_thread_during_a_native_loop():
    """The loop lets other threads run at its periodic check; the list it reads is
    emptied meanwhile: native code reads the length and items afresh, so it stops
    reading (no freed memory read), as the interpreter would."""
    hf = make_hot(spin)
    promote(hf, [1.0], 2)
    assert autotier.stats(hf).state == "compiled"
    xs = [1.0] * 1000
    started = threading.Event()

    def clear() -> None:
        started.wait()
        xs.clear()

    thread = threading.Thread(target=clear)
    thread.start()
    started.set()
    result = hf(xs, 200_000)  # about 2 * 10**8 element loads unless emptied
    thread.join()
    assert xs == []
    # emptied part-way (the thread got the GIL at a periodic check), never read after
    assert result == int(result) and 0 <= result < 2 * 10**8
    assert autotier.stats(hf).state == "compiled"


def test_stores_leave_the_list_as_cpython_does_and_return_none():
    hf = make_hot(scale)
    promote(hf, [1.0, 2.0], 2.0)
    assert autotier.stats(hf).state == "compiled"
    for xs, k in (([1.5, -0.0, 3.0], 2.0), ([1, 2], 3), ([], 1.0), ([1.0, "a"], 2.0),
                  ([2**62, 1], 4)):
        mine, theirs = list(xs), list(xs)
        try:
            got: object = ("value", hf(mine, k))
        except TypeError as exc:
            got = ("raise", str(exc))
        try:
            expected: object = ("value", scale(theirs, k))
        except TypeError as exc:
            expected = ("raise", str(exc))
        assert got == expected
        assert mine == theirs and [type(x) for x in mine] == [type(x) for x in theirs]


def test_a_million_stores_leak_nothing():
    hf = make_hot(scale)
    promote(hf, [1.0, 2.0], 1.0)
    xs = [float(i) for i in range(100)]
    hf(xs, 1.0)

    def calls():
        for _ in range(10_000):  # 10**6 floats boxed, stored and released
            hf(xs, 1.0)

    w = measure(calls, collect=False)
    assert w.grown < 64 * 1024, w.grown
    assert xs == [float(i) for i in range(100)]
    assert autotier.stats(hf).resumes == 0  # every call ran natively


def test_a_tuple_result_is_built_natively_and_owned_by_the_caller():
    hf = make_hot(bounds)
    promote(hf, [1.0, 2.0])
    assert autotier.stats(hf).state == "compiled"
    xs = [3.5, -1.0, 2.0]
    result = hf(xs)
    assert result == (-1.0, 3.5) and type(result) is tuple
    assert sys.getrefcount(result) == 2  # only ours
    try:
        hf([])
    except IndexError as exc:
        assert str(exc) == "list index out of range"
    else:
        raise AssertionError("no IndexError")

    def calls():
        for _ in range(10_000):
            hf(xs)

    w = measure(calls, collect=False)
    assert w.grown < 64 * 1024, w.grown
    assert autotier.stats(hf).resumes == 1  # the empty list's IndexError only
