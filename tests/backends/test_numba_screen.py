"""A decline by numba is cheap: what the bytecode shows is declined before numba runs,
what the typed IR shows before numba lowers it, and a compile stops at a stage
boundary past its CPU budget (issue 8).

numba once spent 11 s of the broker's CPU on a fannkuch-like function it then
declined.  Nothing here is timed: the tests check that numba was never asked (its
``njit`` is not called), never lowered (its lowering pass never ran), or stopped
where the budget says, with the reason on the bead.
"""

from __future__ import annotations

from typing import Any

import pytest

import autotier
from autotier.backends import numba_pipeline, numba_semantics
from tests.runtime.helpers import make_hot, settle


def fannkuch(n):
    perm1 = list(range(n))
    count = [0] * n
    max_flips = 0
    r = n
    while True:
        while r != 1:
            count[r - 1] = r
            r -= 1
        perm = perm1[:]
        flips = 0
        k = perm[0]
        while k:
            perm[:k + 1] = perm[k::-1]
            flips += 1
            k = perm[0]
        max_flips = max(max_flips, flips)
        while True:
            if r == n:
                return max_flips
            perm1.insert(r, perm1.pop(0))
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1


def sorts_floats(n):
    # nothing in the bytecode is certain to be declined: numba types it, and its typed
    # IR shows list.sort on floats (CPython sorts nans its own way)
    perm = [0, 1, 2, 3]
    for _ in range(n):
        perm.reverse()
    fs = [0.5, 0.25]
    fs.sort()
    return perm[0] if fs[0] < 1.0 else perm[1]


def compares(x):
    xs = [0.5, 1.5, 2.5]
    xs.pop()  # a list method: the llvm frontend declines it
    return xs[0] if x < xs[0] else xs[1]


@pytest.fixture
def njit_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every call of ``numba.njit`` meanwhile."""
    import numba

    calls: list[Any] = []
    real = numba.njit

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", recording)
    return calls


@pytest.fixture
def lowerings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions numba's native lowering pass ran on meanwhile."""
    from numba.core import typed_passes

    seen: list[str] = []
    real = typed_passes.NativeLowering.run_pass

    def recording(self: Any, state: Any) -> Any:
        seen.append(state.func_id.func_name)
        return real(self, state)

    monkeypatch.setattr(typed_passes.NativeLowering, "run_pass", recording)
    return seen


def _declined(f: Any, *args: Any) -> str:
    hf = make_hot(f, threshold=2, backend="auto")
    for _ in range(4):
        assert hf(*args) == f(*args)
    settle()
    row = autotier.stats(hf)
    assert row.state == "failed", row
    assert hf(*args) == f(*args)
    return row.reason or ""


def test_fannkuch_is_declined_before_numba_runs(njit_calls: list[Any]) -> None:
    reason = _declined(fannkuch, 5)
    assert "llvm declined" in reason
    assert "numba could differ from CPython: call of list at line" in reason
    assert "(seen before compiling)" in reason
    assert njit_calls == []


@pytest.mark.parametrize(("source", "blocks"), [
    ("def f(x):\n    return x * 2\n", "* on numbers"),
    ("def f(x):\n    y = x\n    y **= 2\n    return y\n", "** on numbers"),
    ("def f(x):\n    return len({x, 1})\n", "a set"),
    ("def f(x):\n    return [x, 1][1:]\n", "a slice"),
    ("def f(x):\n    return abs(x)\n", "call of abs"),
    ("import math\ndef f(x):\n    return math.sqrt(x)\n", "call of math.sqrt"),
    ("def f(x):\n    return 'ab'.upper() < 'b'\n", "method upper"),
])
def test_what_the_bytecode_shows_is_declined_before_numba(source: str, blocks: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102
    f = namespace["f"]
    risk = numba_semantics.prescreen(f.__code__, namespace)
    assert risk is not None and blocks in risk, risk


@pytest.mark.parametrize("f", [compares, sorts_floats])
def test_what_may_compile_reaches_numba(f: Any) -> None:
    assert numba_semantics.prescreen(f.__code__, f.__globals__) is None


def test_bitwise_operators_reach_numba() -> None:
    namespace: dict[str, Any] = {}
    exec("def f(a, b):\n    c = a & b\n    c |= a ^ b\n    return c\n", namespace)  # noqa: S102
    assert numba_semantics.prescreen(namespace["f"].__code__, namespace) is None


def test_the_typed_screen_declines_before_lowering(lowerings: list[str]) -> None:
    reason = _declined(sorts_floats, 3)
    assert "numba could differ from CPython: list.sort" in reason
    assert "sorts_floats" not in lowerings  # numba never lowered nor LLVM-compiled it


def test_a_function_the_screen_passes_is_still_compiled(lowerings: list[str]) -> None:
    hf = make_hot(compares, threshold=2, backend="auto")
    for _ in range(4):
        hf(1.0)
    settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.backend == "numba", row
    assert "compares" in lowerings
    for x in (0.0, 1.0, 2.0, float("nan")):
        assert hf(x) == compares(x)


def test_a_compile_past_its_budget_stops_at_a_stage_boundary(
        monkeypatch: pytest.MonkeyPatch, lowerings: list[str]) -> None:
    monkeypatch.setattr(numba_pipeline, "BUDGET_S", 0.0)

    def compares_too(x):
        xs = [0.5, 1.5, 2.5]
        xs.pop()  # a list method: the llvm frontend declines it
        return xs[1] if x < xs[0] else xs[0]

    reason = _declined(compares_too, 1.0)
    assert "numba's compile was stopped after typing" in reason, reason
    assert "compares_too" not in lowerings


def test_a_function_too_large_for_numba_is_not_offered(njit_calls: list[Any]) -> None:
    n = numba_semantics.NUMBA_MAX_INSTRUCTIONS // 6 + 10  # ~6 instructions per `if`
    source = "def big(x):\n    y = 0\n" + "".join(
        f"    if x > {k}:\n        y = {k}\n" for k in range(n)) + "    return y\n"
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102
    big = namespace["big"]
    hf = make_hot(big, threshold=2, backend="numba")
    for _ in range(4):
        assert hf(n // 2) == big(n // 2)
    settle()
    row = autotier.stats(hf)
    assert row.state == "failed" and "too large for numba" in (row.reason or ""), row
    assert njit_calls == []
