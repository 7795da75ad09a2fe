"""autotier: interpreter-to-native tiering for ordinary CPython functions.

>>> import autotier
>>> @autotier.hot(threshold=10)
... def add(a, b):
...     return a + b
>>> [add(i, 1) for i in range(20)][-1]
20
>>> autotier.wait_idle(60)
True
>>> autotier.stats(add).state
'compiled'
"""

from autotier.api import (
    explain,
    hot,
    invalidate,
    native,
    prune,
    reload_all,
    stats,
    wait_idle,
)
from autotier.deopt import (
    AlwaysRecompilePolicy,
    BlacklistPolicy,
    DeoptPolicy,
    ExponentialBackoffPolicy,
    ThresholdDeoptPolicy,
    TieredDeoptPolicy,
)
from autotier.runtime.policy import HotnessPolicy, ThresholdPolicy, TieredPolicy
from autotier.runtime.stats import FunctionStats, Stats

__version__ = "0.1.0"

__all__ = [
    "AlwaysRecompilePolicy",
    "BlacklistPolicy",
    "DeoptPolicy",
    "ExponentialBackoffPolicy",
    "FunctionStats",
    "HotnessPolicy",
    "Stats",
    "ThresholdDeoptPolicy",
    "ThresholdPolicy",
    "TieredDeoptPolicy",
    "TieredPolicy",
    "explain",
    "hot",
    "invalidate",
    "native",
    "prune",
    "reload_all",
    "stats",
    "wait_idle",
]
