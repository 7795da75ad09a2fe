"""Issue 3's inspection and call-path features: explain(), AUTOTIER_DUMP, native(),
several specialisations, mutual recursion as native calls, rebound globals."""

from __future__ import annotations

import ctypes
import sys

import pytest

import autotier
from autotier.abi import Kind, Status
from autotier.native import Result
from tests.runtime.helpers import (
    bead_of,
    interpreted_frames,
    make_hot,
    promote,
    run_python,
    settle,
    state,
)

from . import mutual_mod


def hyp(x, y):
    return (x * x + y * y) ** 0.5


def test_explain_returns_every_stage():
    hf = make_hot(hyp)
    before = autotier.explain(hf)
    assert before["state"] == "interpreted"
    promote(hf, 3.0, 4.0)
    stages = autotier.explain(hf)
    assert set(stages) >= {"bytecode", "ir", "llvm", "asm"}
    assert "body_hyp" in stages["asm"] and "ret" in stages["asm"]  # made now, not kept
    assert "BINARY_OP" in stages["bytecode"]
    assert "define" in stages["llvm"] and "(float, float)" in stages["llvm"]
    assert stages["ir"].strip()


def test_autotier_dump_prints_the_stages():
    proc = run_python("""
        import autotier
        @autotier.hot(threshold=2)
        def f(a, b):
            return a * b + 1
        for i in range(4):
            f(i, 2)
        autotier.wait_idle(60)
        assert autotier.stats(f).state == "compiled"
        assert "asm" in autotier.explain(f)
    """, AUTOTIER_DUMP="bytecode,ir,llvm,asm")
    assert proc.returncode == 0, proc.stderr
    for stage in ("bytecode", "ir", "llvm", "asm"):
        assert f"--- autotier {stage}: f ---" in proc.stderr
    assert "retq" in proc.stderr or "ret" in proc.stderr


def test_native_returns_a_ctypes_callable_body():
    hf = make_hot(hyp, deopt=autotier.AlwaysRecompilePolicy())
    promote(hf, 3.0, 4.0)
    with pytest.raises(LookupError, match="no native body"):
        autotier.native(hf, int, int)
    nf = autotier.native(hf, float, float)
    assert nf(3.0, 4.0) == 5.0 and type(nf(3.0, 4.0)) is float
    assert nf(-3.0, 4.0) == hyp(-3.0, 4.0)
    assert nf(3, 4) == 5.0  # other types: the Python function answers
    # The raw ctypes function, with the body ABI of autotier.abi.
    out = Result()
    record = (ctypes.c_int64 * nf.record_words)()  # where a bailout leaves its frames
    status = nf.cfunc(ctypes.c_double(6.0), ctypes.c_double(8.0), ctypes.byref(out), 100,
                      record)
    assert status == Status.OK and out.kind == Kind.FLOAT and out.fval == 10.0
    proto = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_double, ctypes.c_double,
                              ctypes.POINTER(Result), ctypes.c_int64,
                              ctypes.POINTER(ctypes.c_int64))
    raw = proto(nf.address)
    assert raw(5.0, 12.0, ctypes.byref(out), 100, record) == Status.OK and out.fval == 13.0
    # no frame budget: a bailout that leaves no frames (the call is re-run)
    assert raw(5.0, 12.0, ctypes.byref(out), 0, record) == Status.RECURSION
    assert record[1] == 0


def test_native_of_a_numba_compile_is_a_lookup_error():
    def mul(a, b):
        return a if a > b else b

    hf = make_hot(mul, backend="numba")
    promote(hf, 2.0, 3.0)
    assert autotier.stats(hf).backend == "numba"
    with pytest.raises(LookupError, match="backend numba"):
        autotier.native(hf)


def poly(a, b):
    return a * b - a


def test_up_to_four_specialisations_bools_riding_on_ints():
    hf = make_hot(poly, deopt=autotier.AlwaysRecompilePolicy())
    promote(hf, 2, 3)
    for args in ((2.0, 3.0), (True, 3), (2, 3.5)):
        assert hf(*args) == poly(*args)
        settle()
    row = autotier.stats(hf)
    assert row.signatures == (("int", "int"), ("float", "float"), ("bool", "int"),
                              ("int", "float"))
    calls = ((4, 5), (4.0, 5.0), (False, 5), (4, 5.5))
    expected = [poly(*args) for args in calls]
    with interpreted_frames(hf) as frames:
        got = [hf(*args) for args in calls]
    assert frames[0] == 0  # all four run natively
    assert got == expected and [type(g) for g in got] == [type(e) for e in expected]
    # (bool, int) rides on (int, int): a fourth slot is left, for (float, int); every
    # kind of two arguments now has one (a fifth slot: tests/runtime/test_deopt.py)
    assert hf(2.0, 3) == poly(2.0, 3)
    settle()
    row = autotier.stats(hf)
    assert row.bailouts == 0 and len(row.signatures) == 5
    calls = (*calls, (2.0, 3), (2.0, True), (True, False))
    expected = [poly(*args) for args in calls]
    with interpreted_frames(hf) as frames:
        got = [hf(*args) for args in calls]
    settle()
    assert got == expected and [type(g) for g in got] == [type(e) for e in expected]
    assert autotier.stats(hf).bailouts == 0
    assert row.state == "compiled"


def test_mutual_recursion_runs_natively():
    for i in range(5):
        mutual_mod.is_even(i)
        mutual_mod.is_odd(i)
    assert autotier.wait_idle(60)
    assert state(mutual_mod.is_even) == state(mutual_mod.is_odd) == "compiled"
    with interpreted_frames(mutual_mod.is_even, mutual_mod.is_odd) as frames:
        even, odd = mutual_mod.is_even(500), mutual_mod.is_odd(301)
    assert frames[0] == 0  # 800 calls between the two, all native
    assert even is True and odd is True
    with pytest.raises(RecursionError):
        mutual_mod.is_even(sys.getrecursionlimit() + 100)


def test_rebound_globals_never_leave_stale_code():
    for i in range(5):
        mutual_mod.uses_helper(i)
    assert autotier.wait_idle(60)
    assert state(mutual_mod.uses_helper) == "compiled"
    assert mutual_mod.uses_helper(10) == 23
    old_limit, old_helper = mutual_mod.LIMIT, mutual_mod.helper
    try:
        mutual_mod.LIMIT = 100
        assert mutual_mod.uses_helper(10) == 120
        mutual_mod.helper = lambda x: x * 3  # a different callee
        assert mutual_mod.uses_helper(10) == 130
        mutual_mod.LIMIT = 2.5  # a float now
        assert mutual_mod.uses_helper(10) == 32.5
    finally:
        mutual_mod.LIMIT, mutual_mod.helper = old_limit, old_helper
    assert mutual_mod.uses_helper(10) == 23
    settle()
    row = autotier.stats(mutual_mod.uses_helper)
    assert row.bailouts >= 1  # each stale rebinding reached the deopt policy
    assert bead_of(mutual_mod.uses_helper).last_bailout.startswith("rebound global")
    for _ in range(3):
        mutual_mod.uses_helper(1)
    settle()
    assert state(mutual_mod.uses_helper) in ("compiled", "blacklisted")
    assert mutual_mod.uses_helper(10) == 23
