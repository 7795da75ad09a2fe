"""The registry of beads, for stats(), reload_all() and prune().

It holds beads, never decorated functions: a bead refers to its function weakly, so
the registry keeps nothing alive.  ``_LOCK`` guards ``_BEADS``; it is held only to
copy or edit the list, never while calling into beads or user code.
"""

from __future__ import annotations

import threading

from autotier.runtime.bead import Bead, BeadState

_LOCK = threading.Lock()
_BEADS: list[Bead] = []


def add(bead: Bead) -> None:
    with _LOCK:
        _BEADS.append(bead)


def snapshot() -> list[Bead]:
    with _LOCK:
        return list(_BEADS)


def prune() -> int:
    """Forget beads whose function was dropped or invalidated; how many went."""
    for bead in snapshot():
        if bead.hf is None and bead.state is not BeadState.INVALID:
            bead.invalidate("the function was dropped")
    with _LOCK:
        keep = [b for b in _BEADS if b.state is not BeadState.INVALID]
        removed = len(_BEADS) - len(keep)
        _BEADS[:] = keep
    return removed
