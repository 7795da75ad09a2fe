"""Argument checks shared by ``@hot`` and the policies: one clear message each.

A wrong type is a TypeError, a value out of range a ValueError, both naming the
argument and what it must be.  ``bool`` is not accepted where an int count is meant
(``threshold=True`` is a mistake, not 1).
"""

from __future__ import annotations

from typing import Any


def require_int(what: str, value: Any, minimum: int) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, not {value}")
    return value
