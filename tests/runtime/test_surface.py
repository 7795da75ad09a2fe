"""What the user reads says what is true (issue 8): the inspecting functions under
AUTOTIER_DISABLE, AUTOTIER_LOG's values, ``@hot``'s and the policies' argument checks,
explain()'s keys, the reasons a function is not compiled, a replaced ``__code__``."""

from __future__ import annotations

import logging
import textwrap

import pytest

import autotier
from autotier import api
from tests.runtime.helpers import (
    LOGGED,
    interpreted_frames,
    make_hot,
    promote,
    run_python,
    settle,
    state,
)

# --- AUTOTIER_DISABLE ----------------------------------------------------------------

def test_disabled_functions_can_still_be_inspected():
    proc = run_python("""
        import autotier

        @autotier.hot(threshold=3)
        def f(a):
            return a + 1

        class C:
            @autotier.hot
            def m(self, x):
                return x

        assert f(1) == 2
        row = autotier.stats(f)
        assert (row.state, row.backend, row.calls, row.qualname) == ("disabled", None, 0, "f")
        assert "AUTOTIER_DISABLE" in row.reason
        assert autotier.stats(C().m).state == "disabled"
        assert len(autotier.stats()) == 0
        stages = autotier.explain(f)
        assert set(stages) == {"bytecode", "ir", "llvm", "asm", "sites", "osr", "state",
                               "reason"}
        assert "BINARY_OP" in stages["bytecode"] and stages["state"] == "disabled"
        try:
            autotier.native(f, int)
        except LookupError as exc:
            assert "AUTOTIER_DISABLE" in str(exc), exc
        else:
            raise AssertionError("native() of a disabled function answered")
        try:
            autotier.stats(len)
        except TypeError:
            pass  # not a Python function at all: still refused
        else:
            raise AssertionError("stats(len) answered")
        print("ok")
    """, AUTOTIER_DISABLE="1")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_undecorated_functions_are_refused_when_not_disabled():
    def plain(a):
        return a

    for inspect_ in (autotier.stats, autotier.explain, autotier.native):
        with pytest.raises(TypeError, match="not an @autotier.hot function"):
            inspect_(plain)


# --- AUTOTIER_LOG --------------------------------------------------------------------

@pytest.mark.parametrize("value", ["debug", "DEBUG", " Debug "])
def test_autotier_log_debug_in_any_case(value):
    proc = run_python(LOGGED, AUTOTIER_LOG=value)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert "DEBUG autotier: f interpreted -> queued" in lines, proc.stderr
    assert not any(line.startswith("autotier DEBUG") for line in lines)  # one prefix


def test_autotier_log_levels_filter():
    proc = run_python(LOGGED, AUTOTIER_LOG="warning")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # nothing went wrong: nothing at WARNING


@pytest.mark.parametrize("value", ["debgu", "verbose", "1"])
def test_autotier_log_refuses_what_is_not_a_level(value):
    proc = run_python(LOGGED, AUTOTIER_LOG=value)
    assert proc.returncode == 0, proc.stderr
    assert f"AUTOTIER_LOG={value!r} is not a logging level" in proc.stderr
    assert "debug, info, warning, error, critical" in proc.stderr
    assert "interpreted -> queued" not in proc.stderr  # refused: it did not log


def test_setup_logging_sets_the_named_level():
    log = logging.getLogger("autotier")
    level = log.level
    handler = api._setup_logging("Error")
    try:
        assert handler is not None and log.level == logging.ERROR
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    with pytest.warns(RuntimeWarning, match="not a logging level"):
        assert api._setup_logging("trace") is None
    assert api._setup_logging("") is None


# --- argument checks -----------------------------------------------------------------

def _f(x):
    return x


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"threshold": 0}, ValueError, "threshold must be >= 1, not 0"),
    ({"threshold": -1}, ValueError, "threshold must be >= 1, not -1"),
    ({"threshold": "10"}, TypeError, "threshold must be an int, not str"),
    ({"threshold": 2.5}, TypeError, "threshold must be an int, not float"),
    ({"threshold": True}, TypeError, "threshold must be an int, not bool"),
    ({"backend": "gcc"}, ValueError, "unknown backend"),
    ({"backend": None}, TypeError, "backend must be a str"),
    ({"policy": 10}, TypeError, "policy must be a hotness policy"),
    ({"policy": autotier.ThresholdDeoptPolicy()}, TypeError, "policy must be a hotness"),
    ({"deopt": "never"}, TypeError, "deopt must be a deopt policy"),
    ({"deopt": autotier.ThresholdPolicy()}, TypeError, "deopt must be a deopt policy"),
])
def test_hot_checks_its_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        autotier.hot(**kwargs)
    with pytest.raises(error, match=message):
        autotier.hot(_f, **kwargs)


def test_hot_accepts_good_arguments():
    assert autotier.hot(threshold=1)(_f)(3) == 3
    assert autotier.hot(_f, policy=autotier.TieredPolicy((2, 5)),
                        deopt=autotier.BlacklistPolicy(), backend="numba")(4) == 4


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: autotier.ThresholdPolicy(0), ValueError, "threshold must be >= 1"),
    (lambda: autotier.ThresholdPolicy("5"), TypeError, "threshold must be an int"),
    (lambda: autotier.ThresholdPolicy(5, queue_ahead=-1), ValueError, "queue_ahead must be >="),
    (lambda: autotier.ThresholdPolicy(5, queue_ahead=5), ValueError, "below the threshold"),
    (lambda: autotier.ThresholdPolicy(5, queue_ahead=1.0), TypeError, "queue_ahead must be an"),
    (lambda: autotier.TieredPolicy(10), TypeError, "sequence of ints"),
    (lambda: autotier.TieredPolicy("12"), TypeError, "sequence of ints"),
    (lambda: autotier.TieredPolicy(()), ValueError, "strictly increasing"),
    (lambda: autotier.TieredPolicy((10, 5)), ValueError, "strictly increasing"),
    (lambda: autotier.TieredPolicy((5, 5)), ValueError, "strictly increasing"),
    (lambda: autotier.TieredPolicy((0, 5)), ValueError, r"thresholds\[0\] must be >= 1"),
    (lambda: autotier.TieredPolicy((5, "9")), TypeError, r"thresholds\[1\] must be an int"),
    (lambda: autotier.TieredPolicy((5, 9), queue_ahead=-2), ValueError, "queue_ahead"),
    (lambda: autotier.ThresholdDeoptPolicy(-1), ValueError, "recompile_limit must be >= 0"),
    (lambda: autotier.ThresholdDeoptPolicy("3"), TypeError, "recompile_limit must be an"),
    (lambda: autotier.ExponentialBackoffPolicy(0), ValueError, "base_pause must be >= 1"),
    (lambda: autotier.ExponentialBackoffPolicy(10, -1), ValueError, "max_recompiles"),
    (lambda: autotier.ExponentialBackoffPolicy(None), TypeError, "base_pause must be an"),
    (lambda: autotier.TieredDeoptPolicy(-1), ValueError, "tier1_recompile_limit"),
    (lambda: autotier.TieredDeoptPolicy(3, 0.5), TypeError, "tier2_revert_limit"),
])
def test_policies_check_their_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_policies_accept_their_edges():
    assert autotier.ThresholdPolicy(1).promote_at(0) == 1
    assert autotier.ThresholdPolicy(5, queue_ahead=4).promote_at(0) == 1
    assert autotier.TieredPolicy([3, 8]).thresholds == (3, 8)
    assert autotier.ThresholdDeoptPolicy(0).recompile_limit == 0
    assert autotier.ExponentialBackoffPolicy(1, 0).max_recompiles == 0
    assert autotier.TieredDeoptPolicy(0, 0).tier2_revert_limit == 0


# --- explain() -----------------------------------------------------------------------

def test_explain_has_the_documented_keys_in_every_state():
    def hyp2(x, y):
        return x * x + y * y

    hf = make_hot(hyp2)
    before = autotier.explain(hf)
    assert set(before) == {"bytecode", "ir", "llvm", "asm", "sites", "osr", "state", "reason"}
    assert before["state"] == "interpreted" and before["reason"] == ""
    assert "BINARY_OP" in before["bytecode"]
    assert before["ir"] == before["llvm"] == before["asm"] == ""
    promote(hf, 3.0, 4.0)
    after = autotier.explain(hf)
    assert set(after) == set(before)
    assert after["state"] == "compiled" and after["llvm"] and after["asm"]


def test_explain_of_a_numba_compile_and_a_failed_one():
    def total(n):
        xs = [1.5, 2.5]
        return xs.pop() if xs[0] < n else xs[0]

    hf = make_hot(total, backend="auto")
    promote(hf, 4.0)
    stages = autotier.explain(hf)
    assert (stages["state"], stages["ir"]) == ("compiled", "")
    assert "BUILD_LIST" in stages["bytecode"] and stages["reason"].startswith("llvm declined")

    def first(xs):
        return xs["k"]

    hf = make_hot(first)
    for _ in range(5):
        hf({"k": 1})
    settle()
    stages = autotier.explain(hf)
    assert stages["state"] == "failed" and "dict" in stages["reason"]
    assert "BINARY_SUBSCR" in stages["bytecode"]


# --- reasons -------------------------------------------------------------------------

def _fail(hf, *args, **kwargs):
    for _ in range(5):
        hf(*args, **kwargs)
    settle()
    row = autotier.stats(hf)
    assert row.state == "failed", row
    return row.reason


def test_reason_names_a_default_that_blocks_the_compile():
    def scaled(x, n=2, xs={"a": 1.0}):  # noqa: B006 - the point of the test
        return x * n + xs["a"]

    reason = _fail(make_hot(scaled), 1.5)
    assert reason.startswith("arguments cannot be compiled: xs is a dict (its default)")
    assert "float" in reason and "(float, int)" not in reason


def test_reason_names_the_arguments_that_block_the_compile():
    def pair(a, b, c=0):
        return a

    reason = _fail(make_hot(pair), "s", 2**70, c={1})
    assert reason == ("arguments cannot be compiled: a is a str, b is an int past int64, "
                      "c is a set; native code takes int (within int64), float, bool, "
                      "complex, None, list, tuple and numpy.ndarray (of bool, int8-64, uint8-64, "
                      "float32, float64 in native order)")


def test_reason_names_star_args():
    def total(*args):
        return args[0] + 1

    assert _fail(make_hot(total), 1, 2) == "a *args parameter cannot be compiled"

    def both(x, *args, **kwargs):
        return x

    assert _fail(make_hot(both), 1, 2) == ("a *args and a **kwargs parameter cannot be "
                                           "compiled")


def test_reason_says_when_the_call_does_not_bind():
    def one(a):
        return a

    hf = make_hot(one)
    for _ in range(5):
        with pytest.raises(TypeError):
            hf(1, 2)
    settle()
    reason = autotier.stats(hf).reason
    assert state(hf) == "failed" and "does not bind" in reason, reason


def test_reason_names_keyword_only_parameters_for_a_call_that_binds():
    def scaled(a, *, scale=2):
        return a * scale

    hf = make_hot(scaled)
    for _ in range(5):
        assert hf(1, scale=3) == 3  # a call CPython binds
    settle()
    reason = autotier.stats(hf).reason
    assert "keyword-only" in reason and "does not bind" not in reason, reason


# --- a replaced __code__ -------------------------------------------------------------

def _two(a, b):
    return a + b


def _one(a):
    return a * 2


def test_code_of_another_arity_compiles_and_so_does_the_old_one_back():
    def f(a, b):
        return a + b

    hf = make_hot(f)
    promote(hf, 1, 2)
    assert state(hf) == "compiled"
    original = hf.__code__
    hf.__code__ = _one.__code__
    for i in range(10):
        assert hf(i) == 2 * i
    with pytest.raises(TypeError, match="1 positional argument but 2"):
        hf(1, 2)
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.signatures) == ("compiled", (("int",),)), row
    hf.__code__ = original
    for i in range(10):
        assert hf(i, 1) == i + 1
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.signatures) == ("compiled", (("int", "int"),)), row
    with interpreted_frames(hf) as frames:
        assert hf(3, 4) == 7
    assert frames[0] == 0  # native again


def test_code_of_another_arity_assigned_behind_the_hot_function():
    def f(a, b):
        return a + b

    hf = make_hot(f)
    promote(hf, 1, 2)
    hf.__wrapped__.__code__ = _one.__code__  # the entry's code guard notices it
    with pytest.raises(TypeError, match="1 positional argument but 2"):
        hf(1, 2)
    settle()
    for i in range(10):
        assert hf(i) == 2 * i
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.signatures) == ("compiled", (("int",),)), row


def _larger(a, b):
    return a if a > b else b


def test_reason_for_a_numba_caller_of_a_hot_function_is_not_recursion():
    ns: dict = {}
    exec(textwrap.dedent("""
        def pick(x):
            xs = [x, 2.0]  # list.pop: llvm declines, numba is asked
            return larger(xs[0], xs.pop())
    """), ns)
    ns["larger"] = make_hot(_larger)
    hf = make_hot(ns["pick"], backend="auto")
    reason = _fail(hf, 1.0)
    assert reason.startswith("llvm declined: "), reason
    assert "numba backend: calls hot function 'larger'" in reason
    assert "recursion" not in reason  # nothing here is recursive


def test_a_missing_optional_package_is_a_reason_not_a_crash():
    proc = run_python("""
        import sys
        sys.modules["scipy"] = None  # as if scipy were not installed
        import numpy as np
        import autotier

        @autotier.hot(threshold=3)
        def dot(n):
            a = np.ones(3)
            return np.dot(a, a) < n  # no arithmetic: numba is asked, and wants scipy

        for _ in range(5):
            assert dot(20.0)
        autotier.wait_idle(120)
        row = autotier.stats(dot)
        print(row.state)
        print(row.reason)
    """)
    assert proc.returncode == 0, proc.stderr
    state_, reason = proc.stdout.splitlines()
    assert state_ == "failed"
    assert reason.startswith("llvm declined: "), reason  # the llvm reason is kept
    assert "numba needs a package that is not installed: scipy" in reason, reason
    assert "internal error" not in reason
    assert "Traceback" not in proc.stderr, proc.stderr
