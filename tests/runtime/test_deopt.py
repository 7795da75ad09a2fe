"""Deopt policies: every decision step by step (beadie's semantics and defaults), then
each policy driving a real compiled function through repeated bailouts."""

from __future__ import annotations

import enum
import re

import numpy as np
import pytest

import autotier
from autotier.abi import Kind
from autotier.deopt import Action, BailoutEvent, Decision, DeoptPolicy
from tests.runtime.helpers import bead_of, interpreted_frames, make_hot, promote, settle, state


def event(bailouts=1, tier=1, calls=5000, recompiles=0, reverts=0):
    return BailoutEvent(bailouts, tier, calls, recompiles, reverts, "overflow")


def test_defaults_are_beadies():
    assert autotier.ThresholdDeoptPolicy().recompile_limit == 3
    assert autotier.ExponentialBackoffPolicy().base_pause == 1000
    assert autotier.ExponentialBackoffPolicy().max_recompiles == 4
    tiered = autotier.TieredDeoptPolicy()
    assert (tiered.tier1_recompile_limit, tiered.tier2_revert_limit) == (3, 1)
    for policy in (autotier.AlwaysRecompilePolicy(), autotier.ThresholdDeoptPolicy(),
                   autotier.ExponentialBackoffPolicy(), tiered, autotier.BlacklistPolicy()):
        assert isinstance(policy, DeoptPolicy)


def test_always_recompile():
    policy = autotier.AlwaysRecompilePolicy()
    for n in range(1, 50):
        assert policy.decide(event(bailouts=n, recompiles=n - 1)).action is Action.RECOMPILE


def test_threshold_blacklists_after_the_limit():
    policy = autotier.ThresholdDeoptPolicy()
    actions = [policy.decide(event(bailouts=n)).action for n in range(1, 6)]
    assert actions == [Action.RECOMPILE] * 3 + [Action.BLACKLIST] * 2


def test_exponential_backoff_doubles_then_blacklists():
    policy = autotier.ExponentialBackoffPolicy()
    decisions = []
    for n in range(1, 6):
        decisions.append(policy.decide(event(bailouts=n, calls=10_000, recompiles=n - 1)))
    assert [d.action for d in decisions] == [Action.PAUSE] * 4 + [Action.BLACKLIST]
    assert [d.until_calls for d in decisions[:4]] == [11_000, 12_000, 14_000, 18_000]


def test_tiered_reverts_in_tier_two_and_recompiles_in_tier_one():
    policy = autotier.TieredDeoptPolicy()
    assert policy.decide(event(tier=2)).action is Action.REVERT_TIER
    assert policy.decide(event(tier=2, reverts=1)).action is Action.BLACKLIST
    tier1 = [policy.decide(event(tier=1, bailouts=n, recompiles=n - 1)).action
             for n in range(1, 5)]
    assert tier1 == [Action.RECOMPILE] * 3 + [Action.BLACKLIST]


def cube(a):
    return a * a * a


# cube(BIG) overflows int64, and int128 too (after the first overflow the bead
# recompiles with i128 ints): a bailout on every call, whatever the int width.
BIG = 2**43


def compiled_cube(deopt, **kwargs):
    def cube(a):
        return a * a * a
    hf = make_hot(cube, deopt=deopt, **kwargs)
    promote(hf, 3)
    assert state(hf) == "compiled"
    return hf


def test_threshold_policy_end_to_end():
    hf = compiled_cube(autotier.ThresholdDeoptPolicy(recompile_limit=3))
    for n in range(1, 4):
        assert hf(BIG) == BIG**3  # CPython's exact big int
        settle()
        assert state(hf) == "compiled" and autotier.stats(hf).bailouts == n
    assert hf(BIG) == BIG**3
    assert state(hf) == "blacklisted"
    assert "blacklisted after 4 bailouts (last: overflow)" in autotier.stats(hf).reason
    with interpreted_frames(hf) as frames:
        assert [hf(i) for i in range(10)] == [i**3 for i in range(10)]
    assert frames[0] == 10  # blacklisted: every call interprets


def test_always_recompile_end_to_end():
    hf = compiled_cube(autotier.AlwaysRecompilePolicy())
    for _ in range(6):
        assert hf(BIG) == BIG**3
        settle()
    assert state(hf) == "compiled" and autotier.stats(hf).bailouts == 6
    assert bead_of(hf).recompiles == 6


def test_backoff_pause_really_stops_native_code():
    hf = compiled_cube(autotier.ExponentialBackoffPolicy(base_pause=40, max_recompiles=2))
    with interpreted_frames(hf) as frames:
        hf(2)
    assert frames[0] == 0  # compiled: no Python frame
    bead = bead_of(hf)
    calls = bead.calls
    assert hf(BIG) == BIG**3  # bailout 1: pause for 40 calls
    assert state(hf) == "interpreted"
    with interpreted_frames(hf) as frames:
        for i in range(39):
            assert hf(i) == i**3
    assert frames[0] == 39  # every call during the pause ran in the interpreter
    assert state(hf) == "interpreted" and bead.calls == calls + 40
    hf(1)  # the 40th call after the bailout ends the pause: recompile
    settle()
    assert state(hf) == "compiled"
    with interpreted_frames(hf) as frames:
        hf(3)
    assert frames[0] == 0
    assert hf(BIG) == BIG**3  # bailout 2: pause 80 calls
    for _ in range(80):
        hf(2)
    settle()
    assert state(hf) == "compiled"
    assert hf(BIG) == BIG**3  # bailout 3: two paused recompiles were ordered: blacklist
    assert state(hf) == "blacklisted"


def root(a):
    return a ** 0.5  # a complex for a < 0: a failed speculation


def test_tiered_deopt_reverts_to_tier_one_then_blacklists():
    hf = make_hot(root, deopt=autotier.TieredDeoptPolicy(),
                  policy=autotier.TieredPolicy((3, 10)))
    for _ in range(12):
        hf(2)
        settle()
    assert autotier.stats(hf).tier == 2 and state(hf) == "compiled"
    assert hf(-4) == (-4) ** 0.5  # tier 2 bails: back to the kept tier-1 code
    assert autotier.stats(hf).tier == 1 and state(hf) == "compiled"
    assert hf(4) == 2.0
    assert hf(-4) == (-4) ** 0.5  # tier 1 bailouts: recompile (reverts are spent)
    assert bead_of(hf).reverts == 1


def test_tiered_revert_does_not_bring_back_64_bit_code_after_an_overflow():
    def square(a):
        return a * a
    hf = make_hot(square, deopt=autotier.TieredDeoptPolicy(),
                  policy=autotier.TieredPolicy((3, 10)))
    for _ in range(12):
        hf(2)
        settle()
    assert autotier.stats(hf).tier == 2
    assert hf(2**40) == 2**80  # int64 overflow at tier 2: the tier-1 code is 64-bit too
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.tier, row.int_bits) == ("compiled", 1, 128)  # wide, not reverted
    assert hf(2**40) == 2**80  # (the call that reaches tier 2's threshold again)
    settle()
    with interpreted_frames(hf) as frames:
        assert hf(2**40) == 2**80
    assert frames[0] == 0 and autotier.stats(hf).int_bits == 128


class CountingPolicy:
    """A user's own deopt policy: recompile twice, then blacklist."""

    def __init__(self) -> None:
        self.events: list[BailoutEvent] = []

    def decide(self, event: BailoutEvent) -> Decision:
        self.events.append(event)
        return Decision.recompile() if event.bailouts <= 2 else Decision.blacklist()


def test_custom_deopt_policy_sees_every_bailout():
    policy = CountingPolicy()
    hf = compiled_cube(policy)
    for _ in range(3):
        assert hf(BIG) == BIG**3
        settle()
    assert [e.bailouts for e in policy.events] == [1, 2, 3]
    assert {e.reason for e in policy.events} == {"overflow"}
    assert state(hf) == "blacklisted"


class MyInt(int):
    def __mul__(self, other):
        return MyInt(int(self) * int(other) + 1)  # a subclass may redefine arithmetic


class MyFloat(float):
    pass


class Colour(enum.IntEnum):
    RED = 3


@pytest.mark.parametrize("value", [2.5, True, 2**64, -(2**63) - 1, "x", None, MyInt(3),
                                   MyFloat(1.5), Colour.RED, float("nan"), 10**40])
def test_type_change_bailout_answers_like_cpython(value):
    def cube(a):
        return a * a * a
    hf = make_hot(cube, deopt=autotier.AlwaysRecompilePolicy())
    promote(hf, 3)
    try:
        expected = cube(value)
    except TypeError as exc:
        with pytest.raises(TypeError, match=re.escape(str(exc))):
            hf(value)
    else:
        got = hf(value)
        assert type(got) is type(expected)
        assert got == expected or (got != got and expected != expected)  # nan
    settle()
    # A float or a bool asks for a new specialisation (up to four of them: no failed
    # speculation, so not a bailout); a type native code never takes (a str, a
    # subclass, an int past 64 bits) is simply answered by the interpreter.
    row = autotier.stats(hf)
    assert row.bailouts == 0 and row.state == "compiled"
    kind = Kind.of(value)
    if kind is not None:
        assert (kind.pytype.__name__,) in row.signatures


def test_foreign_argument_types_never_blacklist():
    """numpy scalars (float subclasses) mixed with floats: the float calls stay native."""
    def scale(x, y):
        return x * y + 1.0
    hf = make_hot(scale)  # ThresholdDeoptPolicy(3): 4 bailouts would blacklist
    promote(hf, 1.5, 2.0)
    for i in range(50):
        assert hf(np.float64(i), 2.0) == scale(np.float64(i), 2.0)
        assert hf(MyFloat(i), 2.0) == scale(MyFloat(i), 2.0)
        assert hf(2**70, 1.0) == scale(2**70, 1.0)
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.bailouts) == ("compiled", 0)
    with interpreted_frames(hf) as frames:
        assert hf(1.5, 2.0) == 4.0
    assert frames[0] == 0


def test_types_bailout_adds_a_specialisation():
    def cube(a):
        return a * a * a
    hf = make_hot(cube, deopt=autotier.AlwaysRecompilePolicy())
    promote(hf, 3)
    assert hf(1.5) == 3.375
    settle()
    assert autotier.stats(hf).signatures == (("int",), ("float",))
    with interpreted_frames(hf) as frames:
        assert hf(2.0) == 8.0 and hf(3) == 27
    assert frames[0] == 0  # both now native


def test_new_argument_kinds_specialise_without_bailouts_up_to_four():
    """Kinds the code was not compiled for add a specialisation, up to four, without
    reaching the deopt policy (a ThresholdDeoptPolicy(3) would blacklist at the 4th
    bailout); only kinds beyond four are bailouts."""
    def clamp(x, lo, hi):
        return lo if x < lo else hi if x > hi else x
    hf = make_hot(clamp)
    promote(hf, 0.5, 0.0, 1.0)
    combos = [(0.5, 0.0, 1.0), (2, 0.0, 1.0), (0.5, 0, 1.0), (3, 0, 10)]
    for _ in range(3):
        for args in combos:
            assert hf(*args) == clamp(*args) and type(hf(*args)) is type(clamp(*args))
        settle()
    row = autotier.stats(hf)
    assert (row.state, row.bailouts, len(row.signatures)) == ("compiled", 0, 4)
    expected = [clamp(*args) for args in combos]
    with interpreted_frames(hf) as frames:
        assert [hf(*args) for args in combos] == expected
    assert frames[0] == 0
    assert hf(2.5, 0, 1) == 1  # a fifth combination: the deopt policy decides
    settle()
    assert autotier.stats(hf).bailouts == 1 and len(autotier.stats(hf).signatures) == 4


def _plus(a, b):
    return a + b


def _band(a, b):
    return a & b


def _pick(a, b):
    return a if a > b else b


@pytest.mark.parametrize(("func", "floats"), [(_plus, True), (_band, False), (_pick, True)])
def test_bools_ride_on_the_int_specialisations(func, floats):
    """(int, int), (bool, int), (int, bool) and (bool, bool) take one slot: float
    calls after them still specialise (the fifth combination used to blacklist), and
    each answer keeps CPython's type (True + 1 an int, True & False a bool, a itself)."""
    combos = [(2, 3), (True, 3), (4, False), (True, False), (False, False)]
    extra = [(1.5, 2), (2.5, 0.5)] if floats else []
    hf = make_hot(func, deopt=autotier.BlacklistPolicy())  # any bailout blacklists
    promote(hf, 2, 3)
    for _ in range(3):
        for args in combos + extra:
            got, want = hf(*args), func(*args)
            assert (got, type(got)) == (want, type(want))
        settle()
    row = autotier.stats(hf)
    assert (row.state, row.bailouts) == ("compiled", 0), row
    slots = {tuple("int" if k == "bool" else k for k in s) for s in row.signatures}
    assert len(slots) == 1 + len(extra), row.signatures
    expected = [func(*args) for args in combos + extra]
    with interpreted_frames(hf) as frames:
        got = [hf(*args) for args in combos + extra]
    assert frames[0] == 0
    assert [(g, type(g)) for g in got] == [(e, type(e)) for e in expected]


def test_kinds_asked_for_during_a_compile_are_compiled_next():
    """A type bailout while a compile is running (tier 1 serves, tier 2 compiles) adds
    its kinds; when that compile, built without them, installs, a follow-up compile
    takes them in."""
    from tests.runtime.helpers import Gate

    def twice(a):
        return a + a
    gate = Gate()
    gate.open()
    hf = make_hot(twice, policy=autotier.TieredPolicy((3, 10)), before_compile=gate)
    promote(hf, 3)
    assert autotier.stats(hf).tier == 1
    gate.close()
    while state(hf) == "compiled":  # up to tier 2's threshold: its compile is held
        hf(3)
    gate.wait_entered()
    assert hf(1.5) == 3.0 and hf(True) == 2  # new kinds, answered by the interpreter
    gate.open()
    settle()
    settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.bailouts == 0
    assert set(row.signatures) == {("int",), ("float",), ("bool",)}
    with interpreted_frames(hf) as frames:
        assert (hf(2), hf(2.5), hf(False)) == (4, 5.0, 0)
    assert frames[0] == 0
