"""The bead state machine: the table in code, every illegal move rejected, and every
legal move reached by a real sequence of calls, compiles, bailouts and API calls."""

from __future__ import annotations

import gc
import itertools

import pytest

import autotier
from autotier.broker import Broker
from autotier.runtime.bead import RETRY_AFTER_FULL_QUEUE, TRANSITIONS, BeadState, IllegalTransition
from tests.runtime.helpers import Gate, bead_of, make_hot, promote, settle, state

S = BeadState
LEGAL = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
REACHED: set[tuple[BeadState, BeadState]] = set()


def square(a):
    return a * a


def words(a):
    return a + a


def fresh(**kwargs):
    def sq(a):
        return a * a
    return make_hot(sq, **kwargs)


def fresh_concat(**kwargs):
    def twice(a):
        return a + a
    return make_hot(twice, **kwargs)


def record(hf) -> None:
    REACHED.update(bead_of(hf).history)


@pytest.mark.parametrize(("old", "new"), list(itertools.product(S, S)),
                         ids=lambda s: s.value)
def test_table_allows_exactly_the_legal_moves(old, new):
    hf = fresh()
    bead = bead_of(hf)
    bead.state = old
    if old is new:
        bead._move(new)  # staying put is not a transition
        assert not bead.history
    elif (old, new) in LEGAL:
        bead._move(new)
        assert bead.state is new and bead.history[-1] == (old, new)
    else:
        with pytest.raises(IllegalTransition):
            bead._move(new)
        assert bead.state is old


def test_invalid_is_final_and_everything_reaches_it():
    assert TRANSITIONS[S.INVALID] == frozenset()
    assert all(S.INVALID in TRANSITIONS[s] for s in S if s is not S.INVALID)


def test_promotion_path():
    hf = fresh()
    promote(hf, 5)
    assert state(hf) == "compiled" and hf(7) == 49
    assert list(bead_of(hf).history) == [(S.INTERPRETED, S.QUEUED), (S.QUEUED, S.COMPILING),
                                         (S.COMPILING, S.COMPILED)]
    record(hf)
    autotier.invalidate(hf)  # compiled -> invalid
    assert state(hf) == "invalid" and hf(7) == 49
    record(hf)


def test_failed_for_argument_types_retries_with_later_arguments():
    hf = fresh_concat()  # threshold 3: the promoting call has a str argument
    for _ in range(3):
        assert hf("ab") == "abab"
    assert state(hf) == "failed" and "cannot be compiled" in autotier.stats(hf).reason
    bead = bead_of(hf)
    calls = bead.calls
    for _ in range(calls):  # still strs: it looks again at 2x the calls, and fails again
        hf("x")
    assert state(hf) == "failed" and bead.retry_types
    for _ in range(2 * bead.calls):  # ints now: the next look compiles it
        assert hf(21) == 42
        if state(hf) != "failed":
            break
    settle()
    # failed -> interpreted -> queued -> compiling -> compiled
    assert state(hf) == "compiled" and autotier.stats(hf).reason is None
    assert hf(4) == 8 and hf("cd") == "cdcd"
    record(hf)


def test_uncompilable_arguments_fail_then_reload_then_invalidate():
    hf = fresh_concat()
    for _ in range(5):
        assert hf("ab") == "abab"
    assert state(hf) == "failed"  # interpreted -> failed: str arguments
    assert "cannot be compiled" in autotier.stats(hf).reason
    assert bead_of(hf).reload() is False  # failed -> interpreted (nothing to compile)
    assert state(hf) == "interpreted"
    autotier.invalidate(hf)  # interpreted -> invalid
    record(hf)


def test_compile_failure_then_invalidate():
    gate = Gate(fail=RuntimeError("backend exploded"))
    gate.open()
    hf = fresh(before_compile=gate)
    promote(hf, 3)
    assert state(hf) == "failed"  # compiling -> failed
    assert "backend exploded" in autotier.stats(hf).reason
    autotier.invalidate(hf)  # failed -> invalid
    record(hf)


def test_full_queue_cancel_and_compiling_moves():
    broker = Broker(maxsize=1)
    gate = Gate()
    blocker = fresh(broker=broker, before_compile=gate)
    promote_async(blocker)
    gate.wait_entered()  # the broker thread is busy with blocker: compiling
    waiting = fresh(broker=broker)
    promote_async(waiting)
    assert state(waiting) == "queued"
    refused = fresh(broker=broker)
    promote_async(refused)
    assert state(refused) == "interpreted"  # queued -> interpreted: the queue was full
    autotier.invalidate(waiting)  # queued -> invalid
    # blocker: compiling -> interpreted; the queue still holds waiting's (now stale)
    # job, so the recompile is refused and retried after RETRY_AFTER_FULL_QUEUE calls.
    assert bead_of(blocker).reload() is True
    assert state(blocker) == "interpreted"
    gate.open()
    settle(broker)
    assert state(blocker) == "interpreted" and state(waiting) == "invalid"
    for _ in range(RETRY_AFTER_FULL_QUEUE + 1):
        assert blocker(9) == 81
    settle(broker)
    assert state(blocker) == "compiled" and blocker(9) == 81
    for hf in (blocker, waiting, refused):
        record(hf)
    broker.shutdown()


def promote_async(hf):
    """Call until the bead leaves ``interpreted`` or the trigger was reached."""
    bead = bead_of(hf)
    for _ in range(10):
        hf(4)
        if bead.state is not S.INTERPRETED:
            return


def test_compiling_to_blacklisted_and_invalid():
    for final in ("invalidate", "drop"):
        gate = Gate()
        gate.open()
        hf = fresh(deopt=autotier.BlacklistPolicy(), before_compile=gate)
        promote(hf, 3)
        assert state(hf) == "compiled"
        bead = bead_of(hf)
        gate.close()
        bead.reload()  # compiled -> interpreted -> queued
        gate.wait_entered()  # compiling, no code installed
        if final == "invalidate":
            autotier.invalidate(hf)  # compiling -> invalid
        record(hf)
        gate.open()
        settle()
        if final == "drop":
            history = bead.history
            del hf
            gc.collect()
            autotier.prune()
            assert bead.state is S.INVALID
            REACHED.update(history)


def fresh_root(**kwargs):
    def root(a):
        return a ** 0.5  # a complex for a < 0: a failed speculation
    return make_hot(root, **kwargs)


def test_compiled_bailouts_queue_compile_and_blacklist():
    gate = Gate()
    gate.open()
    hf = fresh_root(deopt=autotier.ThresholdDeoptPolicy(recompile_limit=1),
                   before_compile=gate)
    promote(hf, 3)
    gate.close()
    assert hf(-4) == (-4) ** 0.5  # a bailout: recompile, compiled -> queued
    gate.wait_entered()  # queued -> compiling, the old code still serving
    assert state(hf) == "compiling"
    assert hf(-4) == (-4) ** 0.5  # second bailout: compiling -> blacklisted
    assert state(hf) == "blacklisted"
    gate.open()
    settle()
    assert state(hf) == "blacklisted"  # the stale compile did not install
    autotier.invalidate(hf)  # blacklisted -> invalid
    record(hf)

    hf2 = fresh(deopt=autotier.BlacklistPolicy())
    promote(hf2, 3)
    assert hf2(2**40) == 2**80 and state(hf2) == "blacklisted"  # compiled -> blacklisted
    record(hf2)


def test_queued_with_code_installed():
    """A tier-up waits in the queue while tier 1 serves: a bailout then blacklists it
    (queued -> blacklisted); at exit the broker cancels a queued recompile and the
    installed code stays (queued -> compiled)."""
    broker = Broker(maxsize=4, exit_timeout=0.1)
    gate = Gate()
    gate.open()
    tiered = fresh(broker=broker, policy=autotier.TieredPolicy((3, 10)),
                   deopt=autotier.BlacklistPolicy())
    promote(tiered, 3, broker=broker)
    recompiling = fresh(broker=broker, deopt=autotier.AlwaysRecompilePolicy())
    promote(recompiling, 3, broker=broker)
    assert state(tiered) == state(recompiling) == "compiled"
    gate.close()
    blocker = fresh(broker=broker, before_compile=gate)
    promote_async(blocker)
    gate.wait_entered()  # the broker thread is held
    for _ in range(10):
        tiered(4)
    assert state(tiered) == "queued" and autotier.stats(tiered).tier == 1
    assert tiered(2**40) == 2**80 and state(tiered) == "blacklisted"  # queued -> blacklisted
    assert recompiling(2**40) == 2**80 and state(recompiling) == "queued"
    broker.shutdown()  # cancels the queued job: queued -> compiled, old code kept
    assert state(recompiling) == "compiled" and recompiling(5) == 25
    gate.open()
    for f in (tiered, recompiling, blocker):
        record(f)


def test_pause_and_rebound_global_and_reload_from_compiled():
    ns = {"K": 3}
    exec("def scaled(a):\n    return a * K\n", ns)
    hf = make_hot(ns["scaled"], deopt=autotier.ExponentialBackoffPolicy(base_pause=5))
    promote(hf, 2)
    assert state(hf) == "compiled"
    ns["K"] = 4  # compiled -> interpreted: the code read K
    assert hf(2) == 8 and state(hf) == "interpreted"
    record(hf)

    hf2 = fresh(deopt=autotier.ExponentialBackoffPolicy(base_pause=5))
    promote(hf2, 3)
    assert hf2(2**40) == 2**80 and state(hf2) == "interpreted"  # pause: compiled -> interpreted
    record(hf2)

    hf3 = fresh()
    promote(hf3, 3)
    assert bead_of(hf3).reload()  # compiled -> interpreted -> queued
    settle()
    assert state(hf3) == "compiled"
    record(hf3)


def test_failed_reload_with_signatures_requeues():
    gate = Gate(fail=RuntimeError("once"))
    gate.open()
    hf = fresh(before_compile=gate)
    promote(hf, 3)
    assert state(hf) == "failed"
    gate.fail = None
    assert autotier.reload_all() >= 1  # failed -> interpreted -> queued
    settle()
    assert state(hf) == "compiled" and hf(6) == 36
    record(hf)


def test_zz_every_legal_transition_was_reached():
    """Runs last in this module (pytest keeps file order; see pyproject: no random)."""
    missing = sorted(f"{a.value}->{b.value}" for a, b in LEGAL - REACHED)
    assert not missing, f"legal transitions no scenario reached: {missing}"


def test_call_binding_positions_match_cpython():
    """bind_positions (shared by the bead and the frontend) against CPython's own binding
    of the same calls, TypeError included."""
    import inspect

    from autotier.callbinding import BindError, bind_positions

    def f(a, b, /, c, d=4, e=5):
        return (a, b, c, d, e)

    shapes = [((1, 2, 3), {}), ((1, 2), {"c": 3}), ((1, 2, 3), {"e": 9}), ((1, 2), {}),
              ((1,), {"b": 2, "c": 3}), ((1, 2, 3, 4, 5, 6), {}), ((1, 2, 3), {"c": 1}),
              ((1, 2), {"e": 1, "c": 2, "d": 3}), ((1, 2, 3), {"x": 1})]
    for args, kwargs in shapes:
        try:
            expected = inspect.signature(f).bind(*args, **kwargs)
        except TypeError:
            try:
                bind_positions(f.__code__, 2, len(args), tuple(kwargs))
            except BindError:
                continue
            raise AssertionError(f"{args} {kwargs}: CPython refuses, bind_positions binds")
        expected.apply_defaults()
        given = (*args, *kwargs.values())
        sources = bind_positions(f.__code__, 2, len(args), tuple(kwargs))
        got = tuple(given[i] if w == "arg" else f.__defaults__[i] for w, i in sources)
        assert got == tuple(expected.arguments.values()), (args, kwargs)
