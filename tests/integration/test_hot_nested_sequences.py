"""pyperformance's nbody (bodies as tuples of two lists and a float, pairs as tuples of
two bodies) through the whole runtime: the bead samples its arguments by path
(``runtime.elements.paths``), the compile speculates each load by its path
(``frontend.shapes``), and the function compiles once and stays compiled, every call
native and CPython's answer bit for bit; a body of another shape deoptimises at its
load and CPython's own exception comes out.
"""

from __future__ import annotations

import autotier
from tests.frontend.test_nested_sequences import _bodies, _energy, _nbody, advance, energy
from tests.runtime.helpers import bead_of, interpreted_frames, make_hot, promote, settle


def test_nbody_compiles_once_stays_compiled_and_answers_bit_for_bit():
    hf = make_hot(advance, threshold=2)
    promote(hf, *_nbody(1))
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.backend == "llvm", row.reason
    assert bead_of(hf).elements["3>*/0/0"] == {autotier.abi.Kind.LIST}
    steps = (0, 1, 7, 50)
    mine = [_nbody(n) for n in steps]
    with interpreted_frames(hf) as frames:
        for args in mine:
            assert hf(*args) is None
    assert frames == [0]  # no Python frame of advance: native throughout
    for n, args in zip(steps, mine, strict=True):
        theirs = _nbody(n)
        advance(*theirs)
        assert repr(args) == repr(theirs)  # every float of every body (repr: bits)
    settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.bailouts == 0 and row.resumes == 0


def test_a_body_of_another_shape_is_cpythons_answer_and_exception():
    hf = make_hot(advance, threshold=2)
    promote(hf, *_nbody(1))
    # a velocity that is a tuple: the load deoptimises, the interpreter answers
    mine = (0.01, 1, [([1.0, 2.0, 3.0], (0.5, 0.0, 0.0), 1.0)], [])
    theirs = (0.01, 1, [([1.0, 2.0, 3.0], (0.5, 0.0, 0.0), 1.0)], [])
    assert hf(*mine) is None
    advance(*theirs)
    assert repr(mine) == repr(theirs)
    assert autotier.stats(hf).last_bailout == "element"
    # ... or raises CPython's TypeError where it stores into it
    bad = (0.01, 1, [], [(([1.0, 2.0, 3.0], (0.0, 0.0, 0.0), 1.0),
                          ([0.0] * 3, [0.0] * 3, 1.0))])
    try:
        hf(*bad)
    except TypeError as exc:
        assert str(exc) == "'tuple' object does not support item assignment"
    else:
        raise AssertionError("no TypeError")
    assert autotier.stats(hf).last_bailout == "element"
    settle()
    # ints where floats were: a number of another kind, native after the recompile
    ints = (0.01, 3, [([1, 2, 3], [1, 0, -1], 2)], [])
    mine, theirs = (0.01, 3, [([1, 2, 3], [1, 0, -1], 2)], []), ints
    hf(*mine)
    advance(*theirs)
    assert repr(mine) == repr(theirs)
    settle()
    for n in (1, 5):
        mine, theirs = _nbody(n), _nbody(n)
        hf(*mine)
        advance(*theirs)
        assert repr(mine) == repr(theirs)
    assert autotier.stats(hf).state == "compiled"


def test_energy_reads_positions_of_tuples_in_tuples():
    hf = make_hot(energy, threshold=2)
    promote(hf, *_energy())
    assert autotier.stats(hf).state == "compiled", autotier.stats(hf).reason
    args = _energy()
    with interpreted_frames(hf) as frames:
        got = hf(*args)
    assert frames == [0]
    expected = energy(*_energy())
    assert type(got) is float and repr(got) == repr(expected)
    bodies, pairs = _bodies(2)
    pairs = [((a[0], a[1], a[2]), (b[0], b[1], 0)) for a, b in pairs]  # a mass of 0
    assert repr(hf(bodies, pairs, 0.0)) == repr(energy(bodies, pairs, 0.0))
