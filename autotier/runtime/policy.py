"""Hotness policies: when a bead is promoted, and to which tier.

A policy answers one question, ``promote_at(tier)``: at how many calls should a
function now running at ``tier`` (0 = interpreter) be promoted to ``tier + 1``?
``None`` means never.  The answer becomes the bead's native *trigger*: the call
counter in the decorated object is compared with it on every call, in native code,
so a policy costs nothing between decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from autotier.runtime.checks import require_int

#: the default ``loop_threshold`` (docs/architecture.md, "On-stack replacement":
#: chosen from the interpreted iteration's time and an OSR compile's)
LOOP_THRESHOLD = 100_000


@runtime_checkable
class HotnessPolicy(Protocol):
    """Anything with ``promote_at`` and ``max_tier`` is a hotness policy."""

    @property
    def max_tier(self) -> int:
        """The highest tier this policy promotes to (>= 1)."""
        ...

    def promote_at(self, tier: int) -> int | None:
        """Calls after which a bead at ``tier`` is promoted to ``tier + 1``, or None."""
        ...


@dataclass(frozen=True)
class ThresholdPolicy:
    """Promote once, to tier 1, after ``threshold`` calls.

    ``queue_ahead`` submits the compile that many calls early, so the compile's
    latency is hidden: the job is queued at ``threshold - queue_ahead`` calls.
    ``loop_threshold``: back edges of one loop (over all calls) after which an OSR
    compile for its header is queued (``autotier.osr``); None: no loop probes.
    """

    threshold: int = 1000
    queue_ahead: int = 0
    loop_threshold: int | None = LOOP_THRESHOLD

    def __post_init__(self) -> None:
        require_int("ThresholdPolicy threshold", self.threshold, 1)
        require_int("ThresholdPolicy queue_ahead", self.queue_ahead, 0)
        if self.loop_threshold is not None:
            require_int("ThresholdPolicy loop_threshold", self.loop_threshold, 1)
        if self.queue_ahead >= self.threshold:
            raise ValueError(f"ThresholdPolicy queue_ahead must be below the threshold "
                             f"({self.threshold}), not {self.queue_ahead}")

    @property
    def max_tier(self) -> int:
        return 1

    def promote_at(self, tier: int) -> int | None:
        return self.threshold - self.queue_ahead if tier == 0 else None


@dataclass(frozen=True)
class TieredPolicy:
    """One threshold per tier: tier 1 (a quick compile) at ``thresholds[0]`` calls,
    tier 2 (optimising) at ``thresholds[1]``, and so on."""

    thresholds: Sequence[int] = (500, 10_000)
    queue_ahead: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.thresholds, str | bytes) or not isinstance(self.thresholds,
                                                                        Sequence):
            raise TypeError("TieredPolicy thresholds must be a sequence of ints, not "
                            f"{type(self.thresholds).__name__} ({self.thresholds!r})")
        ts = tuple(self.thresholds)
        for i, t in enumerate(ts):
            require_int(f"TieredPolicy thresholds[{i}]", t, 1)
        if not ts or list(ts) != sorted(set(ts)):
            raise ValueError("TieredPolicy thresholds must be one or more strictly "
                             f"increasing counts, not {ts!r}")
        require_int("TieredPolicy queue_ahead", self.queue_ahead, 0)
        object.__setattr__(self, "thresholds", ts)

    @property
    def max_tier(self) -> int:
        return len(self.thresholds)

    def promote_at(self, tier: int) -> int | None:
        if 0 <= tier < len(self.thresholds):
            return max(1, self.thresholds[tier] - self.queue_ahead)
        return None
