"""Deopt policies: what a bead does after a bailout."""

from autotier.deopt.policies import (
    Action,
    AlwaysRecompilePolicy,
    BailoutEvent,
    BlacklistPolicy,
    Decision,
    DeoptPolicy,
    ExponentialBackoffPolicy,
    ThresholdDeoptPolicy,
    TieredDeoptPolicy,
)

__all__ = [
    "Action",
    "AlwaysRecompilePolicy",
    "BailoutEvent",
    "BlacklistPolicy",
    "Decision",
    "DeoptPolicy",
    "ExponentialBackoffPolicy",
    "ThresholdDeoptPolicy",
    "TieredDeoptPolicy",
]
