"""Deopt policies with beadie's semantics and defaults (see shared BEADIE.md).

A bailout is a guard failure at run time: argument types the code was not compiled
for, an int64 overflow, a zero divisor, a rebound global, ...  The call that bailed
is always answered by the interpreter; the policy decides the bead's future:

- ``RECOMPILE``: compile again (with the new argument kinds, or from current globals);
  the installed code keeps serving calls it can answer until the new code lands.
- ``PAUSE``: stop using native code at once; interpret until ``until_calls``, then
  recompile.
- ``REVERT_TIER``: go back to tier-1 code (reinstalled if kept, else recompiled).
- ``BLACKLIST``: interpret forever.

Policies are stateless: every count they need is in the :class:`BailoutEvent`, so one
policy object can serve many beads and every decision is testable step by step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from autotier.runtime.checks import require_int


class Action(Enum):
    RECOMPILE = "recompile"
    PAUSE = "pause"
    REVERT_TIER = "revert_tier"
    BLACKLIST = "blacklist"


@dataclass(frozen=True)
class Decision:
    action: Action
    until_calls: int | None = None  # for PAUSE: interpret until the call count reaches it

    @classmethod
    def recompile(cls) -> Decision:
        return cls(Action.RECOMPILE)

    @classmethod
    def blacklist(cls) -> Decision:
        return cls(Action.BLACKLIST)


@dataclass(frozen=True)
class BailoutEvent:
    """One bailout, with the bead's history including it."""

    bailouts: int  # bailouts so far, this one included (>= 1)
    tier: int  # tier of the code that bailed
    calls: int  # the bead's call count now
    recompiles: int  # recompiles the deopt policy has ordered so far
    reverts: int  # tier reverts ordered so far
    reason: str  # "types", "overflow", "zero_division", "globals", ...


@runtime_checkable
class DeoptPolicy(Protocol):
    def decide(self, event: BailoutEvent) -> Decision: ...


@dataclass(frozen=True)
class AlwaysRecompilePolicy:
    """Recompile after every bailout."""

    def decide(self, event: BailoutEvent) -> Decision:
        return Decision.recompile()


@dataclass(frozen=True)
class ThresholdDeoptPolicy:
    """Recompile while bailouts <= ``recompile_limit``; the next one blacklists."""

    recompile_limit: int = 3

    def __post_init__(self) -> None:
        require_int("ThresholdDeoptPolicy recompile_limit", self.recompile_limit, 0)

    def decide(self, event: BailoutEvent) -> Decision:
        if event.bailouts <= self.recompile_limit:
            return Decision.recompile()
        return Decision.blacklist()


@dataclass(frozen=True)
class ExponentialBackoffPolicy:
    """Bailout n interprets for ``base_pause * 2**(n-1)`` calls, then recompiles.

    Bailout 1 pauses 1000 calls, bailout 2 pauses 2000, ...; after
    ``max_recompiles`` paused recompiles, the next bailout blacklists.
    """

    base_pause: int = 1000
    max_recompiles: int = 4

    def __post_init__(self) -> None:
        require_int("ExponentialBackoffPolicy base_pause", self.base_pause, 1)
        require_int("ExponentialBackoffPolicy max_recompiles", self.max_recompiles, 0)

    def decide(self, event: BailoutEvent) -> Decision:
        if event.recompiles >= self.max_recompiles:
            return Decision.blacklist()
        pause = self.base_pause * 2 ** (event.bailouts - 1)
        return Decision(Action.PAUSE, until_calls=event.calls + pause)


@dataclass(frozen=True)
class TieredDeoptPolicy:
    """In tier 2+: revert to tier 1 (up to ``tier2_revert_limit`` times), then
    blacklist.  In tier 1: recompile up to ``tier1_recompile_limit`` times, then
    blacklist."""

    tier1_recompile_limit: int = 3
    tier2_revert_limit: int = 1

    def __post_init__(self) -> None:
        require_int("TieredDeoptPolicy tier1_recompile_limit", self.tier1_recompile_limit, 0)
        require_int("TieredDeoptPolicy tier2_revert_limit", self.tier2_revert_limit, 0)

    def decide(self, event: BailoutEvent) -> Decision:
        if event.tier >= 2:
            if event.reverts < self.tier2_revert_limit:
                return Decision(Action.REVERT_TIER)
            return Decision.blacklist()
        if event.recompiles < self.tier1_recompile_limit:
            return Decision.recompile()
        return Decision.blacklist()


@dataclass(frozen=True)
class BlacklistPolicy:
    """Blacklist at the first bailout."""

    def decide(self, event: BailoutEvent) -> Decision:
        return Decision.blacklist()
