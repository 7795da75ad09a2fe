"""Lists (and tuples) of tuples of numbers (issue 10): ``for x, y in points``,
``p = pts[i]; a, b = p``, ``pts[i][0]``; lists of lists likewise (``m[i][j]``, rows
stored into).  A sequence sampled to hold tuples is
speculated to (``runtime.elements``), each load checks it loaded an exact tuple, and
each item load the item's kind; native code holds its own reference to a loaded tuple
(``docs/architecture.md``, "Owned references").

Differential through the frontend harness, which speculates tuples as a bead does:
every call against CPython, every deopt site forced; reference counts of the tuples.
"""

from __future__ import annotations

import pytest

from autotier.abi import Kind, Status
from autotier.frontend import lower
from autotier.runtime import elements
from tests.frontend.harness import (
    check,
    compile_function,
    force_every_site,
    forget,
    kinds_of,
    tuple_speculation,
)
from tests.frontend.kernels import pairs
from tests.window import measure


def picked(pts, i):
    p = pts[i]
    a, b = p
    return a - b + pts[i][0]


def enumerated(pts):
    s = 0
    for i, (a, b) in enumerate(pts):
        s += i * a + b
    return s


def zipped(pts, ws):
    s = 0.0
    for (a, b), w in zip(pts, ws):
        s += (a + b) * w
    return s


def first_items(pts):
    n = 0
    for i in range(len(pts)):
        n += pts[i][0] * len(pts[i])
    return n


def triples(pts):
    s = 0
    for a, b, c in pts:
        if a < b:
            s += c
    return s


def nearest(pts, x0, y0):
    best = -1
    dist = 1e300
    for i in range(len(pts)):
        x, y = pts[i]
        d = (x - x0) ** 2 + (y - y0) ** 2
        if d < dist:
            dist = d
            best = i
    return best


def _held(arg):
    if type(arg) is not list:
        return True
    kind = type(arg[0]) if arg else tuple
    if kind not in (tuple, list):
        return True  # numbers (zip's weights)
    return all(type(p) is kind and all(type(v) in (int, float, bool) and abs(v) < 2**63
                                        for v in p) for p in arg)


def lengths(pts):
    n = 0
    for p in pts:  # p: a tuple, unbound before the loop (NULL)
        n += len(p)
        for v in p:
            n += v
    return n


def last_first(pts):
    for p in pts:
        pass
    return p[0]  # UnboundLocalError when pts is empty


def nested_index(m, i, j):
    return m[i][j]


def rows_sum(rows):
    s = 0
    for row in rows:
        for x in row:
            s += x
    return s


def scale_rows(m, k):
    for row in m:  # a list of lists: each row held, stored into
        for j in range(len(row)):
            row[j] = row[j] * k
    return m


def tuple_local(a, b):
    t = (a, b, a * b)  # a tuple the function makes and holds
    return t[2] - t[0] + len(t)


def best_pair(n):
    best = (0, 0)
    for i in range(n):
        cand = (i, i * i % 7)  # rebound each iteration: the old one released
        if cand[1] > best[1]:
            best = cand
    return best


def unpacked_constant():
    t = 1, 2.5, True
    x, y, _ = t
    return x + y


POINTS = [(1.0, 2.0), (3.0, 4.5), (-0.0, 7.0)]
CASES = [
    (pairs, [(POINTS,), ([(1, 2), (3, 4)],), ([(1.0, 2.0, 3.0)],), ([(1.0, "a")],),
             ([(1.0, 2.0), 5],), ([(2**70, 1)],), ([(True, 1.5)],)]),
    (picked, [([(1, 2), (3, 4)], 1), ([(1, 2)], 5), ([(1, 2)], -1), ([(1, 2, 3)], 0),
              ([(1.5, 2)], 0), ([(1, 2), [3, 4]], 1)]),
    (enumerated, [([(1, 2), (3, 4), (5, 6)],), ([(1, 2), (3,)],)]),
    (zipped, [(POINTS, [1.0, 2.0]), (POINTS, [1.0, 2.0, 3.0, 4.0])]),
    (first_items, [([(1, 2), (3,), (4, 5, 6)],), ([(1,), ()],)]),
    (triples, [([(1, 2, 3), (2, 1, 4), (0, 5, 6)],), ([(1, 2)],)]),
    (nearest, [(POINTS, 3.0, 4.0), (POINTS, -1.0, 0.0), ([(1, 1)], 0, 0)]),
    (lengths, [([(1, 2), (3,), ()],), ([(1.5,)],)]),
    (last_first, [([(1, 2), (3, 4)],), ([(7,)],)]),
    (nested_index, [([[1, 2], [3, 4]], 1, 0), ([[1, 2]], 0, 5), ([[1, 2], [3]], -1, -1),
                    ([[1, 2], (3, 4)], 1, 0)]),
    (rows_sum, [([[1, 2], [3], []],), ([[1.5], [2]],), ([[1], 2],)]),
    (scale_rows, [([[1.0, 2.0], [3.0]], 2.0), ([[1, 2]], 3), ([[1.0], "a"], 2.0)]),
    (tuple_local, [(1, 2), (2.5, True), (2**62, 4)]),
    (best_pair, [(0,), (10,)]),
    (unpacked_constant, [()]),
]


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_tuple_elements_answer_as_cpython_and_every_site_resumes_exactly(func, inputs):
    for args in inputs:
        # an element native code does not hold (not a tuple, a str, an int past int64)
        # bails out: the interpreter's finish is still checked against CPython
        check(func, *args, may_bail=not all(_held(a) for a in args))
    force_every_site(func, inputs[:1])
    forget(func)


def test_a_tuple_local_unbound_on_some_paths_is_cpythons_unbound_local_error():
    assert check(last_first, [(5, 6)]) is Status.OK
    compiled = compile_function(last_first, kinds_of(([(5, 6)],)),
                                speculated=tuple_speculation(([(5, 6)],)))
    status, _, frames = compiled.run([])
    assert status is Status.VALUE and frames  # resumed: the interpreter raises
    check(last_first, [])


def test_tuples_are_speculated_and_each_load_checked():
    speculated = dict(tuple_speculation((POINTS,)))
    assert {k: v for k, v in speculated.items() if not elements.is_path_key(k)} == {
        0: frozenset({Kind.TUPLE}), -1: frozenset({Kind.INT, Kind.FLOAT, Kind.BOOL})}
    compiled = compile_function(pairs, kinds_of((POINTS,)), speculated=tuple(
        speculated.items()))
    assert compiled.call(POINTS) == (Status.OK, pairs(POINTS))
    assert compiled.call([(1.0, 2.0), [3.0, 4.0]])[0] is Status.ELEMENT  # a list, not one
    assert compiled.call([(1.0, "x")])[0] is Status.ELEMENT  # an item of another kind
    assert compiled.call([(1.0, 2.0, 3.0)])[0] is Status.VALUE  # CPython's ValueError


def test_the_tuples_reference_counts_stay_flat():
    pts = [(1.5, 2.5), (3.5, 4.5)]
    compiled = compile_function(picked, kinds_of((pts, 0)),
                                speculated=tuple_speculation((pts,)))
    for fn, args in ((picked, (pts, 1)), (picked, (pts, 7)), (pairs, (pts,)),
                     (nearest, (pts, 1.0, 1.0))):
        compiled = compile_function(fn, kinds_of(args), speculated=tuple_speculation(args))
        compiled.call(*args)

        def calls():
            for _ in [None] * 10_000:
                compiled.call(*args)

        w = measure(calls, *pts, pts, trace=False)
        assert w.after == w.before


def test_tuples_made_as_locals_leave_counts_flat():
    compiled = compile_function(best_pair, kinds_of((20,)))
    compiled.call(20)

    def calls():
        for _ in [None] * 10_000:
            assert compiled.call(20) == (Status.OK, best_pair(20))

    w = measure(calls, trace=False, objects=True)
    assert w.objects_after == w.objects_before


def test_a_list_mixing_tuples_and_numbers_is_not_speculated_to_hold_tuples():
    assert tuple_speculation(([(1, 2), 3],)) == ()
    assert elements.sample(pairs, ([(1, 2), 3.5],)) == {0: frozenset({Kind.FLOAT})}
    sampled = elements.sample(pairs, ([(1, 2.5), (True, 1)],))
    assert {k: v for k, v in sampled.items() if not elements.is_path_key(k)} == {
        0: frozenset({Kind.TUPLE}), -1: frozenset({Kind.INT, Kind.FLOAT, Kind.BOOL})}
    # by path too: each position of the tuples its own kinds (frontend.shapes)
    assert sampled["0>*/0"] == {Kind.INT, Kind.BOOL}
    assert sampled["0>*/1"] == {Kind.FLOAT, Kind.INT}


def test_sum_of_a_list_of_tuples_is_declined():
    from autotier.frontend import Unsupported

    def total(pts):
        return sum(pts)

    with pytest.raises(Unsupported, match="sequence of tuples"):
        lower(total, (Kind.LIST,), elements={0: frozenset({Kind.TUPLE})})
