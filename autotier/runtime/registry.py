"""The registry of beads, for stats(), reload_all() and prune().

It holds beads, never decorated functions: a bead refers to its function weakly, so
the registry keeps nothing alive.  ``_LOCK`` guards ``_BEADS``; it is held only to
copy or edit the list, never while calling into beads or user code.

Fork (wired in by the API): ``before_fork`` takes this lock and every bead's, so no
bead is copied into a child half-changed by another thread; ``after_fork_parent``
gives them back; ``after_fork_child`` gives the child fresh locks and resets the beads
whose compile was queued or running (``Bead.after_fork_child``).
"""

from __future__ import annotations

import threading

from autotier.runtime.bead import Bead, BeadState

_LOCK = threading.Lock()
_BEADS: list[Bead] = []
FORK_WAIT = 1.0  # seconds to wait for one bead's lock before a fork (held briefly)
_held_at_fork: list[Bead] = []


def add(bead: Bead) -> None:
    with _LOCK:
        _BEADS.append(bead)


def snapshot() -> list[Bead]:
    with _LOCK:
        return list(_BEADS)


def guarded_by_others(namespace: dict[str, object], name: str, value: object) -> bool:
    """Some bead's installed code assumes ``namespace[name]`` is ``value`` (a compiled
    caller calls that hot function natively, by its global name)."""
    for bead in snapshot():
        code = bead.code
        if code is not None and any(g.namespace is namespace and g.bindings.get(name) is value
                                    for g in code.guards):
            return True
    return False


def unwrapped_bead(func: object) -> Bead | None:
    """The bead that gave the decorator's name back to plain function ``func``."""
    for bead in snapshot():
        if bead.rebound is not None and bead.func is func:
            return bead
    return None


def prune() -> int:
    """Forget beads whose function was dropped or invalidated; how many went.

    A bead that gave its name back to the plain function holds the hot object; once
    that name no longer holds the plain function (rebound by the user, or its module
    or class gone) it lets go, and the hot object goes if nobody else holds it."""
    for bead in snapshot():
        bead.release_name()
        if bead.hf is None and bead.state is not BeadState.INVALID:
            bead.invalidate("the function was dropped")
    with _LOCK:
        keep = [b for b in _BEADS if b.state is not BeadState.INVALID]
        removed = len(_BEADS) - len(keep)
        _BEADS[:] = keep
    return removed


def before_fork() -> None:
    _LOCK.acquire()
    _held_at_fork[:] = [b for b in _BEADS if b._lock.acquire(timeout=FORK_WAIT)]


def after_fork_parent() -> None:
    for bead in reversed(_held_at_fork):
        bead._lock.release()
    _held_at_fork.clear()
    _LOCK.release()


def after_fork_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()
    _held_at_fork.clear()
    for bead in _BEADS:
        bead.after_fork_child()
