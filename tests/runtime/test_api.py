"""The public surface: decoration, metadata, methods, calls that are not the fast
path, stats, lifecycle (invalidate, reload_all, prune), hotness policies, env vars."""

from __future__ import annotations

import gc
import inspect
import json
import logging
import math
import pickle
import weakref

import pytest

import autotier
from autotier.runtime import registry
from tests.runtime.helpers import (
    LOGGED,
    bead_of,
    interpreted_frames,
    make_hot,
    promote,
    run_python,
    settle,
    state,
)


def documented(a: int, b: int = 2) -> int:
    """Multiply-add."""
    return a * b + 1


hot_documented = autotier.hot(threshold=5)(documented)


@autotier.hot(threshold=5)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def test_metadata_and_signature():
    hf = hot_documented
    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        assert getattr(hf, attr) == getattr(documented, attr)
    assert hf.__wrapped__ is documented
    assert inspect.signature(hf) == inspect.signature(documented)
    assert callable(hf) and "documented" in repr(hf)
    assert pickle.loads(pickle.dumps(fib)) is fib  # by reference, as plain functions


def test_decorator_forms_and_bad_arguments():
    def f(x):
        return x

    assert autotier.hot(f)(3) == 3
    assert autotier.hot()(f)(4) == 4
    with pytest.raises(TypeError, match="threshold= or policy="):
        autotier.hot(threshold=3, policy=autotier.ThresholdPolicy(3))
    with pytest.raises(ValueError, match="unknown backend"):
        autotier.hot(backend="gcc")
    with pytest.raises(TypeError, match="needs a Python function"):
        autotier.hot(len)
    with pytest.raises(ValueError):
        autotier.ThresholdPolicy(0)
    with pytest.raises(TypeError, match="not an @autotier.hot function"):
        autotier.stats(f)
    hf = autotier.hot(f)
    assert autotier.hot(hf) is hf  # decorating twice is harmless


def test_calls_off_the_fast_path_behave_like_the_plain_function():
    promote(hot_documented, 3, 4)
    assert state(hot_documented) == "compiled"
    assert hot_documented(3) == documented(3)  # default argument: another arity
    assert hot_documented(a=3, b=5) == documented(a=3, b=5)  # keywords
    for call in (lambda f: f(), lambda f: f(1, 2, 3), lambda f: f(1, c=2),
                 lambda f: f(1, a=1), lambda f: f("x", 2.5)):
        with pytest.raises(TypeError) as plain:
            call(documented)
        with pytest.raises(TypeError) as hot:
            call(hot_documented)
        assert str(hot.value) == str(plain.value)
    for value in (2**63 - 1, -(2**63), 2**64, 10**30, -0.0, float("inf"), float("nan"),
                  True, False, 7.5):
        got, want = hot_documented(value, 3), documented(value, 3)
        assert type(got) is type(want)
        assert got == want or (got != got and want != want)


def test_recursion_through_the_module_global():
    promote(fib, 10)
    assert state(fib) == "compiled"
    assert fib(20) == 6765
    with interpreted_frames(fib) as frames:
        assert fib(15) == 610
    assert frames[0] == 0  # recursive calls are native too


class Shape:
    def __init__(self, scale):
        self.scale = scale

    @autotier.hot(threshold=3)
    def area(self, w, h):
        """Scaled area."""
        return self.scale * w * h

    @staticmethod
    @autotier.hot(threshold=3)
    def static_area(w, h):
        return w * h

    @autotier.hot(threshold=3)
    @staticmethod
    def static_outer(w, h):
        return w + h

    @classmethod
    @autotier.hot(threshold=3)
    def make(cls, scale):
        return cls(scale)


def test_methods_bind_like_plain_functions():
    s = Shape(2)
    for i in range(10):
        assert s.area(i, 3) == 6 * i
        assert Shape.area(s, i, 2) == 4 * i
        assert s.static_area(i, 2) == Shape.static_area(i, 2) == 2 * i
        assert s.static_outer(i, 2) == Shape.static_outer(i, 2) == i + 2
        assert Shape.make(i).scale == i
    assert Shape.area.__doc__ == "Scaled area."
    assert list(inspect.signature(s.area).parameters) == ["w", "h"]
    settle()
    assert state(Shape.static_area) == "compiled"
    assert state(Shape.area) == "compiled"  # self, an instance of a plain class (issue 11)
    assert autotier.stats(Shape.area).signatures == (("Shape", "int", "int"),)
    assert Shape.area(Shape(3), 2, 2) == 12
    assert state(Shape.make) == "failed"  # cls, a class: native code cannot take it
    assert "cannot be compiled" in autotier.stats(Shape.make).reason


def test_custom_hotness_policy():
    class EveryThird:
        max_tier = 1

        def promote_at(self, tier):
            return 7 if tier == 0 else None

    assert isinstance(EveryThird(), autotier.HotnessPolicy)

    def add(a, b):
        return a + b

    hf = make_hot(add, policy=EveryThird())
    for i in range(6):
        hf(i, 1)
    settle()
    assert state(hf) == "interpreted"
    hf(1, 1)
    settle()
    assert state(hf) == "compiled" and autotier.stats(hf).calls == 7


def test_threshold_with_queue_ahead_submits_early():
    def add(a, b):
        return a + b

    hf = make_hot(add, policy=autotier.ThresholdPolicy(10, queue_ahead=4))
    for i in range(6):
        hf(i, 1)
    assert state(hf) in ("queued", "compiling", "compiled")


def test_tiered_policy_promotes_twice():
    def add(a, b):
        return a + b

    hf = make_hot(add, policy=autotier.TieredPolicy((3, 8)))
    for i in range(4):
        hf(i, 1)
    settle()
    assert (state(hf), autotier.stats(hf).tier) == ("compiled", 1)
    for i in range(5):
        hf(i, 1)
    settle()
    assert (state(hf), autotier.stats(hf).tier) == ("compiled", 2)
    assert hf(40, 2) == 42


def muladd(a: int, b: int = 2) -> int:
    return a * b + 1


hot_muladd = autotier.hot(threshold=5)(muladd)


def test_stats_table_dict_and_json():
    promote(hot_muladd, 3, 4)
    row = autotier.stats(hot_muladd)
    assert (row.name, row.state, row.tier, row.backend) == ("muladd", "compiled", 1, "llvm")
    assert row.calls >= 5 and row.compile_ms > 0 and row.signatures == (("int", "int"),)
    table = str(autotier.stats())
    header = table.splitlines()[0].split()
    assert header == ["qualname", "state", "tier", "backend", "calls", "compile_ms",
                      "bailouts", "exceptions", "signatures", "ints", "reason"]
    assert any(line.startswith("muladd ") and "compiled" in line
               for line in table.splitlines())
    data = json.loads(autotier.stats().to_json())
    mine = [f for f in data["functions"] if f["qualname"] == "muladd"]
    assert mine and mine[0]["signatures"] == [["int", "int"]]
    assert autotier.stats()["muladd"].state == "compiled"


def test_invalidate_reload_and_prune():
    def add(a, b):
        return a + b

    hf = make_hot(add)
    promote(hf, 1, 2)
    autotier.invalidate(hf)
    assert state(hf) == "invalid" and hf(1, 2) == 3
    with interpreted_frames(hf) as frames:
        hf(1, 2)
    assert frames[0] == 1

    def mul(a, b):
        return a * b

    other = make_hot(mul)
    promote(other, 2, 3)
    assert autotier.reload_all() >= 1
    settle()
    assert state(other) == "compiled" and other(4, 5) == 20

    ref = weakref.ref(other)
    bead = bead_of(other)
    del other
    gc.collect()
    assert ref() is None  # the registry did not keep it alive
    assert autotier.prune() >= 2  # the invalidated one and the dropped one
    assert bead not in registry.snapshot() and bead_of(hf) not in registry.snapshot()


def test_reload_picks_up_new_code():
    def f(a):
        return a + 1

    hf = make_hot(f)
    promote(hf, 1)
    assert hf(1) == 2
    f.__code__ = (lambda a: a + 100).__code__
    autotier.reload_all()
    assert hf(1) == 101  # never the stale native code
    settle()
    assert state(hf) == "compiled" and hf(1) == 101


def test_numba_failure_keeps_numbas_first_error_line():
    def f(a):
        t = (a, "s")
        return t[a]  # numba cannot index a tuple of an int and a str by a variable

    hf = make_hot(f, backend="numba")
    promote(hf, 0)
    row = autotier.stats(hf)
    assert row.state == "failed" and row.reason.startswith("numba: ")
    assert row.reason == ("numba: No implementation of function Function(<built-in "
                          "function getitem>) found for signature:")
    assert hf(0) == 0 and hf(1) == "s"


def test_numba_backend_compiles_and_guards_types():
    def f(a, b):
        return a if a > b else b

    hf = make_hot(f, backend="numba", deopt=autotier.AlwaysRecompilePolicy())
    promote(hf, 2.0, 3.0)
    row = autotier.stats(hf)
    assert (row.state, row.backend) == ("compiled", "numba")
    assert hf(2.0, 4.0) == 4.0
    assert hf(2, 4) == 4 and type(hf(2, 4)) is int  # ints: not the float code
    assert hf(2, 4.5) == 4.5  # mixing ints and floats: numba declines, CPython answers
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.backend) == ("compiled", "numba")
    assert ("float", "float") in row.signatures and ("int", "float") not in row.signatures
    with interpreted_frames(hf) as frames:
        assert hf(2.0, 4.0) == 4.0
    assert frames[0] == 0
    assert hf(2, 4.5) == 4.5 and row.bailouts == 0


def test_logger_is_autotier():
    assert logging.getLogger("autotier") is autotier.api.log


def test_autotier_disable_returns_the_function_untouched():
    proc = run_python("""
        import autotier
        def f(a):
            return a
        assert autotier.hot(f) is f and autotier.hot(threshold=3)(f) is f
        print("ok")
    """, AUTOTIER_DISABLE="1")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_autotier_log_debug_shows_transitions():
    proc = run_python(LOGGED, AUTOTIER_LOG="debug")
    assert proc.returncode == 0, proc.stderr
    assert "interpreted -> queued" in proc.stderr and "compiled by llvm" in proc.stderr


def test_auto_falls_back_to_numba_and_says_why():
    def total(n):
        xs = [1.5, 2.5]  # list.pop: the llvm frontend declines, numba compiles
        return xs.pop() if xs[0] < n else xs[0]

    hf = make_hot(total, backend="auto")
    promote(hf, 4.0)
    row = autotier.stats(hf)
    assert (row.state, row.backend) == ("compiled", "numba")
    assert row.reason.startswith("llvm declined: ")
    assert hf(2.0) == total(2.0)
    assert hf(2) == total(2)  # an int: a bailout, the interpreter answers


@pytest.mark.parametrize(("source", "args", "risk"), [
    # arithmetic and math calls: seen in the bytecode, declined before numba runs
    ("def f(n):\n    xs = [n]\n    return xs.pop() * n\n", (3,), "* on numbers"),
    ("def f(n):\n    xs = [1.5]\n    return xs.pop() < n\n", (3,), "< mixing ints and floats"),
    ("def f(x):\n    xs = [x]\n    return math.sqrt(xs.pop())\n", (3.0,), "call of math.sqrt"),
    ("def f(x):\n    xs = [x]\n    return xs.pop() ** 0.5\n", (3.0,), "** on numbers"),
    ("def f(b):\n    xs = [b]\n    return ~xs.pop()\n", (True,), "~ on bool"),
])
def test_numba_declines_what_could_differ_from_cpython(source, args, risk):
    ns = {"math": math}
    exec(source, ns)
    hf = make_hot(ns["f"], backend="auto")
    promote(hf, *args)
    row = autotier.stats(hf)
    assert row.state == "failed" and row.backend is None
    assert "numba could differ from CPython: " + risk in row.reason
    assert hf(*args) == ns["f"](*args)


def test_auto_survives_an_llvm_frontend_crash(monkeypatch, caplog):
    from autotier import frontend

    def broken(func, kinds, **options):
        raise RuntimeError("frontend bug")

    monkeypatch.setattr(frontend, "lower", broken)

    def add3(a):
        return a if a > 3.0 else 3.0

    hf = make_hot(add3, backend="auto")
    with caplog.at_level(logging.ERROR, logger="autotier"):
        promote(hf, 4.0)
    row = autotier.stats(hf)
    assert (row.state, row.backend) == ("compiled", "numba")
    assert row.reason == "llvm internal error: RuntimeError: frontend bug"
    assert "the llvm backend crashed" in caplog.text
    assert hf(5.0) == 5.0 and hf(1.0) == 3.0


def test_a_new_code_object_never_leaves_stale_native_code():
    """IPython's autoreload assigns __code__ (and __defaults__) on the module's object,
    which is the hot function: the installed entry must notice."""

    def f(a, b=1):
        return a + b

    hf = make_hot(f)
    promote(hf, 1, 2)
    assert state(hf) == "compiled" and hf(1, 2) == 3
    assert hf.__code__ is f.__code__ and hf.__defaults__ == (1,)
    assert hf.__globals__ is f.__globals__ and hf.__closure__ is None

    def g(a, b=1):
        return a * b * 100

    hf.__code__, hf.__defaults__ = g.__code__, (7,)  # what autoreload does
    assert f.__code__ is g.__code__
    assert hf(1, 2) == 200  # at once, never the stale native code
    assert hf(3) == 2100
    settle()
    assert state(hf) == "compiled" and autotier.stats(hf).bailouts == 0
    with interpreted_frames(hf) as frames:
        assert hf(2, 3) == 600
    assert frames[0] == 0  # the new code runs natively

    f.__code__ = (lambda a, b=1: a - b).__code__  # the original function, directly
    assert hf(5, 2) == 3


def test_code_replaced_during_the_compile_never_runs_stale():
    """The entry guards the code object snapshotted when the compile was asked for."""
    from tests.runtime.helpers import Gate

    def f(a):
        return a + 1

    gate = Gate()
    hf = make_hot(f, before_compile=gate)
    for _ in range(3):
        hf(1)
    gate.wait_entered()  # the request (and its code snapshot) exists; hold the compile
    f.__code__ = (lambda a: a * 10).__code__
    gate.open()
    settle()
    assert hf(4) == 40  # whatever landed, the answer is the new code's
    settle()
    assert state(hf) == "compiled" and hf(5) == 50
    with interpreted_frames(hf) as frames:
        assert hf(6) == 60
    assert frames[0] == 0
