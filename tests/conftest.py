"""Settings every test starts from."""

from __future__ import annotations

import pytest

from autotier.broker import pacing


@pytest.fixture(autouse=True)
def _osr_queues_at_its_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop queues its OSR entry at its threshold however soon it is foreseen to
    end: the tests choose the loops and the iterations their entries are made at
    (short loops, mostly), so the deferral of a loop about to end
    (``OsrState._defers``) is off, and tests/runtime/test_forecast.py turns it on."""
    monkeypatch.setattr(pacing, "DEFER_S", 0.0)
