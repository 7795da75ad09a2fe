"""Sequences of sequences of sequences (pyperformance's nbody holds its bodies as
tuples of two lists and a float, its pairs as tuples of two bodies): each load is
speculated by its path (``frontend.shapes``, sampled by ``runtime.elements.paths``),
one position of a tuple its own kinds, and checked; a miss deoptimises (ELEMENT).

Differential through the frontend harness (which speculates nested sequences by path,
numbers of any kind, as a bead does after a bailout): every call against CPython with
every argument's state after it, every deopt site forced; then compiles speculated
from one input and run on another whose shape differs (each resumed to CPython's
answer); reference counts of the inner lists and tuples flat.
"""

from __future__ import annotations

import pytest

from autotier.abi import Kind, Status
from autotier.frontend import Unsupported, lower
from autotier.frontend.kinds import VKind
from autotier.frontend.shapes import Contents, Slot, from_paths, item, join
from autotier.runtime import elements
from tests.frontend.harness import (
    check,
    check_resumed,
    compile_function,
    force_every_site,
    forget,
    fresh,
    kinds_of,
    tuple_speculation,
)
from tests.window import measure


def advance(dt, n, bodies, pairs):  # pyperformance's nbody, as written there
    for _ in range(n):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m = m1 * mag
            b2m = m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], _m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def energy(bodies, pairs, e):  # nbody's report_energy
    for (((x1, y1, z1), _v1, m1), ((x2, y2, z2), _v2, m2)) in pairs:
        dx = x1 - x2
        dy = y1 - y2
        dz = z1 - z2
        e -= (m1 * m2) / ((dx * dx + dy * dy + dz * dz) ** 0.5)
    for (_r, [vx, vy, vz], m) in bodies:
        e += m * (vx * vx + vy * vy + vz * vz) / 2.
    return e


def offset_momentum(ref, bodies, px, py, pz):  # nbody's, the reference body a tuple
    for (_r, [vx, vy, vz], m) in bodies:
        px -= vx * m
        py -= vy * m
        pz -= vz * m
    (_r, v, m) = ref
    v[0] = px / m
    v[1] = py / m
    v[2] = pz / m
    return v


def indexed(rows, i):  # constant and variable indices, from the end too
    t = rows[i]
    return t[0][1] + t[-1] * len(t[1]) + rows[-1][1][0]


def three_deep(grid):  # a list of lists of tuples of an int and a float
    s = 0.0
    for plane in grid:
        for row in plane:
            k, w = row
            s += k * w
    return s


def stored_rows(m, k):  # rows loaded from a tuple, stored into, returned from
    (a, b) = m
    for j in range(len(a)):
        a[j] = a[j] * k + b[j]
    return a[0]


def _bodies(n=5):
    bodies = [([0.5 * i, 1.0 - i, 0.25 * i * i], [0.01 * i, -0.02 * i, 0.003], 1.0 + i)
              for i in range(n)]
    pairs = [(bodies[i], bodies[j]) for i in range(n) for j in range(i + 1, n)]
    return bodies, pairs


def _nbody(n):
    bodies, pairs = _bodies()
    return 0.01, n, bodies, pairs


def _energy():
    bodies, pairs = _bodies()
    pairs = [((tuple(a[0]), a[1], a[2]), (tuple(b[0]), b[1], b[2])) for a, b in pairs]
    return bodies, pairs, 0.0


CASES = [
    (advance, [_nbody(3), _nbody(0), (0.01, 2, [], []),
               (0.01, 1, *_bodies(2)),
               (0.01, 1, [([1.0, 2.0, 3.0], [1, 2, 3], 2)], []),  # ints where floats were
               (0.01, 1, [([1.0, 2.0], [0.0, 0.0, 0.0], 1.0)], []),  # a short position
               (0.01, 1, [([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 1.0, 4)], []),  # a long tuple
               (0.01, 1, [([1.0, 2.0, 3.0], (0.0, 0.0, 0.0), 1.0)], []),  # a tuple velocity
               (0.01, 1, [([1.0, 2.0, 3.0], [0.0, "a", 0.0], 1.0)], []),
               (0.01, 1, [], [(([0.0] * 3, [0.0] * 3, 1.0), ([0.0] * 3, [0.0] * 3, 1.0))])]),
    (energy, [_energy(), ([], [], 1.5), (*_energy()[:2], 2**62)]),
    (offset_momentum, [(_bodies()[0][0], _bodies()[0], 0.0, 0.0, 0.0),
                       (([0.0], [0.0, 0.0, 0.0], 0.0), [], 1.0, 2.0, 3.0),  # / 0.0
                       (([0.0], [0.0, 0.0], 2.0), [], 1.0, 2.0, 3.0)]),  # IndexError
    (indexed, [([((1, 2), [3, 4], 5), ((6, 7.5), [8], 9.5)], 0),
               ([((1, 2), [3, 4], 5), ((6, 7.5), [8], 9.5)], -1),
               ([((1, 2), [3, 4], 5)], 3), ([((1,), [3, 4], 5)], 0),
               ([((1, 2), [], 5)], 0)]),
    (three_deep, [([[(1, 2.5), (2, -0.0)], []],), ([],), ([[(True, 1.5)], [(3, 2.0)]],),
                  ([[(1, 2.5, 3)]],)]),
    (stored_rows, [(([1.0, 2.0], [0.5, 0.5]), 2.0), (([1, 2], [3, 4]), 3),
                   (([1.0, 2.0], [0.5]), 2.0), (([], []), 1.0), (([2**62], [2**62]), 2)]),
]


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_nested_sequences_answer_as_cpython_and_every_site_resumes_exactly(func, inputs):
    statuses = [check(func, *args, may_bail=True) for args in inputs]
    assert statuses[0] is Status.OK  # the first input native throughout
    force_every_site(func, inputs[:1])
    forget(func)


#: inputs whose own shape no compile takes (a body of two positions read at its third:
#: its load typed a list, multiplied), run on the compile for the case's first input
OTHERS = {advance: [(0.01, 1, [], [(([1.0, 0.0, 0.0], [0.0] * 3, 1.0),
                                    ([0.0] * 3, [0.0] * 3))])],
          indexed: [([((1, 2), [3, 4])], 0)],
          three_deep: [([[(1, 2.5), [2, 3.0]]],)]}  # a tuple and a list in one row's place


@pytest.mark.parametrize(("func", "inputs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_compile_speculated_from_one_input_answers_every_other(func, inputs):
    """A bead compiles for the calls that promoted the function; later calls of another
    shape deoptimise where they differ, and the interpreter finishes them."""
    speculated = tuple_speculation(inputs[0])
    compiled = compile_function(func, kinds_of(inputs[0]), speculated=speculated)
    native = 0
    for args in [*inputs, *OTHERS.get(func, [])]:
        if kinds_of(args) != kinds_of(inputs[0]):
            continue
        mine = fresh(args)
        status, value, frames = compiled.run(*mine)
        if status is Status.OK:
            native += 1
            theirs = fresh(args)
            assert value == func(*theirs) and type(value) is type(func(*fresh(args)))
            assert mine == theirs
        else:
            assert frames, (args, status)
            check_resumed(func, args, frames, mine)
    assert native >= 1
    forget(func)


def test_a_body_read_past_its_sampled_positions_as_a_number_is_declined_with_its_line():
    (args,) = OTHERS[advance]
    with pytest.raises(Unsupported, match=r"`\*` of a list is not supported at line 4\d"):
        lower(advance, kinds_of(args), elements=dict(tuple_speculation(args)))


def test_nbody_is_native_with_each_position_its_own_kind():
    args = _nbody(2)
    speculated = dict(tuple_speculation(args))
    assert speculated["3>*/0/0"] == {Kind.LIST}  # a body's position: its own kinds
    assert speculated["3>*/0/2"] == elements.ANY_SCALAR
    compiled = compile_function(advance, kinds_of(args), speculated=tuple(speculated.items()))
    mine, theirs = fresh(args), fresh(args)
    assert compiled.call(*mine) == (Status.OK, None)
    advance(*theirs)
    assert repr(mine) == repr(theirs)  # every float of every body, bit for bit (repr)
    # a body whose velocity is a tuple: the load checks an exact list
    bad = (0.01, 1, [([1.0, 2.0, 3.0], (0.0, 0.0, 0.0), 1.0)], [])
    assert compiled.call(*fresh(bad))[0] is Status.ELEMENT
    forget(advance)


def test_the_inner_sequences_reference_counts_stay_flat():
    args = _nbody(1)
    compiled = compile_function(advance, kinds_of(args), speculated=tuple_speculation(args))
    _, n, bodies, pairs = args
    watched = [x for b in bodies for x in b] + [b for b in bodies] + pairs

    def calls():
        for _ in range(2_000):
            assert compiled.call(0.01, 1, bodies, pairs)[0] is Status.OK
        bad = (0.01, 1, [([1.0, 2.0, 3.0], (0.0, 0.0, 0.0), 1.0)], [])
        for _ in range(200):  # bailing out at the tuple: every held reference released
            assert compiled.call(*bad)[0] is Status.ELEMENT

    w = measure(calls, *watched, trace=False, objects=True)
    assert w.after == w.before
    assert w.objects_after == w.objects_before
    forget(advance)


def test_shapes_from_paths_and_their_joins():
    sampled = elements.sample(advance, _nbody(1))
    contents = from_paths(sampled)
    pair = contents[3].any.contents
    assert pair is not None and len(pair.at) == 2
    body = pair.at[0].contents
    assert body is not None and [s.kinds for s in body.at] == [
        {VKind.LIST}, {VKind.LIST}, {VKind.FLOAT}]
    assert body.any.kinds == {VKind.LIST, VKind.FLOAT}  # a load at no constant position
    assert item(body, -1).kinds == {VKind.FLOAT} and item(body, 3) is body.any
    two = Contents(Slot(frozenset({VKind.INT})), (Slot(frozenset({VKind.INT})),) * 2)
    three = Contents(Slot(frozenset({VKind.FLOAT})), (Slot(frozenset({VKind.FLOAT})),) * 3)
    joined = join(two, three)
    assert joined is not None and joined.at == () and joined.any.kinds == {
        VKind.INT, VKind.FLOAT}
    # widened after an ELEMENT bailout: the sequences stay, the numbers any number
    widened = elements.widened(sampled)
    assert widened["3>*/0/0"] == {Kind.LIST} and widened["3>*/0/2"] == elements.ANY_SCALAR


def test_a_load_of_mixed_sequences_and_numbers_is_declined_with_its_line():
    def loose(bodies):
        s = 0.0
        for body in bodies:
            for part in body:  # a list, a list, then a float
                s += len(part)
        return s

    with pytest.raises(Unsupported, match="list, tuple, range or iterator"):
        lower(loose, (Kind.LIST,), elements=dict(tuple_speculation((_bodies()[0],))))
