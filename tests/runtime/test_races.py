"""A global rebound while its function compiles is a race, not an error: the compile
ends without a failure, a traceback or an 'internal error', and the function is
compiled again later, against the new value."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import autotier
from autotier import frontend
from autotier.dispatch import build
from autotier.runtime.bead import RETRY_AFTER_STALE
from tests.runtime.helpers import bead_of, interpreted_frames, make_hot, promote, settle, state


def scaled_function(backend: str) -> tuple[Any, dict[str, Any]]:
    ns: dict[str, Any] = {"K": 2}
    exec("def scaled(x):\n    return x * K\n", ns)
    return make_hot(ns["scaled"], backend=backend), ns


def assert_quiet(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    err = capfd.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err


@pytest.fixture(autouse=True)
def _no_compile_left() -> None:
    """These tests patch the compile pipeline: a compile an earlier test left on the
    broker must not run through the patch."""
    settle()


@pytest.mark.parametrize("backend", ["llvm", "auto"])
def test_global_rebound_mid_compile_compiles_again_later(
    backend: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    hf, ns = scaled_function(backend)
    real = build.build_entry
    rebinds: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        # the first compile of ``scaled`` (not a compile an earlier test left on the
        # broker): lowered with K == 2, then K is rebound
        if not rebinds and args[0] == "scaled":
            ns["K"] = 5
            rebinds.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "build_entry", racing)
    with caplog.at_level(logging.DEBUG, logger="autotier"):
        promote(hf, 3)
    row = autotier.stats(hf)
    assert rebinds and row.state == "interpreted"
    assert row.reason == "globals changed during the compile: K; compiling again later"
    assert row.backend is None and hf(3) == 15
    assert_quiet(caplog, capfd)
    for i in range(RETRY_AFTER_STALE + 5):  # the retry comes after some calls
        assert hf(i) == i * 5
    settle()
    row = autotier.stats(hf)
    assert (row.state, row.backend, row.reason) == ("compiled", "llvm", None)
    assert bead_of(hf).stale_streak == 0
    with interpreted_frames(hf) as frames:
        assert hf(7) == 35
    assert frames[0] == 0
    ns["K"] = 6  # the installed code's guard still sees a later rebinding
    assert hf(7) == 42


def test_rebound_between_two_signatures_keeps_the_installed_code(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A compile adding a specialisation lowers one body per signature; a global
    rebound between the two lowerings makes that compile stale, not failed."""
    hf, ns = scaled_function("llvm")
    promote(hf, 3)
    assert state(hf) == "compiled" and hf(3) == 6
    real = frontend.lower
    lowered: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        lowered.append(1)
        if len(lowered) == 2:  # between the int and the float body
            ns["K"] = 3
        return real(*args, **kwargs)

    monkeypatch.setattr(frontend, "lower", racing)
    with caplog.at_level(logging.DEBUG, logger="autotier"):
        assert hf(1.5) == 3.0  # a float: a second specialisation is compiled
        settle()
    assert len(lowered) == 2
    row = autotier.stats(hf)
    assert row.reason == "globals changed during the compile: K; compiling again later"
    assert row.state in ("compiled", "interpreted")  # the old code's guard decides
    assert_quiet(caplog, capfd)
    monkeypatch.setattr(frontend, "lower", real)
    for i in range(2 * RETRY_AFTER_STALE + 5):
        assert hf(i) == i * 3
        assert hf(i + 0.5) == (i + 0.5) * 3
    settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.reason is None
    assert set(row.signatures) == {("int",), ("float",)}
    with interpreted_frames(hf) as frames:
        assert hf(4) == 12 and hf(0.25) == 0.75
    assert frames[0] == 0


def test_callee_code_replaced_between_two_lowerings_is_stale(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The same race with a callee's ``__code__`` (replaced as IPython's autoreload
    does) between the lowerings of two signatures."""
    ns: dict[str, Any] = {}
    exec("def g(x):\n    return x + 1\n\ndef f(x):\n    return g(x) * 2\n", ns)
    ns["g"] = make_hot(ns["g"])
    hf = make_hot(ns["f"])
    promote(hf, 3)
    assert state(hf) == "compiled" and hf(3) == 8
    real = frontend.lower
    lowered: list[Any] = []

    def racing(func: Any, *args: Any, **kwargs: Any) -> Any:
        lowered.append(func)
        if len(lowered) == 2:  # between the int and the float body of f
            ns["g"].__code__ = (lambda x: x + 5).__code__
        return real(func, *args, **kwargs)

    monkeypatch.setattr(frontend, "lower", racing)
    with caplog.at_level(logging.DEBUG, logger="autotier"):
        assert hf(1.5) == 5.0
        settle()
    assert lowered[:2] == [hf.__wrapped__] * 2  # f's two bodies (g recompiles after)
    assert autotier.stats(hf).reason == (
        "the code of g changed during the compile; compiling again later")
    assert_quiet(caplog, capfd)
    monkeypatch.setattr(frontend, "lower", real)
    for i in range(2 * RETRY_AFTER_STALE + 5):
        assert hf(i) == (i + 5) * 2
        assert hf(i + 0.5) == (i + 5.5) * 2
    settle()
    row = autotier.stats(hf)
    assert row.state == "compiled" and row.reason is None
    assert set(row.signatures) == {("int",), ("float",)}
