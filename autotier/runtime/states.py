"""A bead's states and the transitions between them (``autotier.runtime.bead``'s
docstring draws the machine).  A module of its own, importing nothing of autotier's:
the OSR slow path (``autotier.osr.state``) reads its children's states on every slow
path, and ``beadcore`` imports ``autotier.osr.state``, so the enum cannot live there
without a function-level import on that path."""

from __future__ import annotations

from enum import Enum


class BeadState(Enum):
    INTERPRETED = "interpreted"
    QUEUED = "queued"
    COMPILING = "compiling"
    COMPILED = "compiled"
    BLACKLISTED = "blacklisted"
    FAILED = "failed"
    INVALID = "invalid"


S = BeadState
TRANSITIONS: dict[BeadState, frozenset[BeadState]] = {
    S.INTERPRETED: frozenset({S.QUEUED, S.FAILED, S.INVALID}),
    S.QUEUED: frozenset({S.COMPILING, S.INTERPRETED, S.COMPILED, S.BLACKLISTED, S.INVALID}),
    S.COMPILING: frozenset({S.COMPILED, S.FAILED, S.INTERPRETED, S.BLACKLISTED, S.INVALID}),
    S.COMPILED: frozenset({S.QUEUED, S.INTERPRETED, S.BLACKLISTED, S.INVALID}),
    S.FAILED: frozenset({S.INTERPRETED, S.INVALID}),
    S.BLACKLISTED: frozenset({S.INVALID}),
    S.INVALID: frozenset(),
}


class IllegalTransition(RuntimeError):
    pass
