"""The measuring window the leak tests share: reference counts, traced memory and the
collector's objects before and after a stretch of calls.

    def calls():
        for _ in range(10_000):
            hf(body, 0.001)

    w = measure(calls, body, Body, warm=calls)  # counts of body and Body around it
    assert w.after == w.before                  # each test keeps its own assertions
    assert w.grown < 64 * 1024                  # bytes traced memory grew over calls()

A function, not a ``with`` block: the interpreter holds a bound ``__exit__`` while a
block's ``__enter__`` runs and drops it before ``__exit__`` runs, one object fewer
in the collector's count at the end than at the start.  tracemalloc traces every
thread: a test waits for the broker (``autotier.wait_idle``) before it measures, so no
compile allocates meanwhile.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass


def refcounts(*objects: object) -> list[int]:
    """``sys.getrefcount`` of each object (as a list, to compare with ``==``)."""
    return [sys.getrefcount(o) for o in objects]


@dataclass(frozen=True)
class Window:
    """What :func:`measure` read: the watched objects' counts ``before`` and ``after``,
    the bytes traced memory ``grown`` over the measured calls (0 when not traced), and
    how many objects the collector tracked before and after (None when not asked)."""

    before: list[int]
    after: list[int]
    grown: int
    objects_before: int | None
    objects_after: int | None


def measure(calls: Callable[[], object], *watched: object,
            warm: Callable[[], object] | None = None, trace: bool = True,
            collect: bool = True, objects: bool = False) -> Window:
    """Read ``watched``'s reference counts (and with ``objects`` the collector's object
    count), run ``warm()`` then ``calls()`` with tracemalloc on (unless not ``trace``),
    then read them again; ``grown`` is measured over ``calls()`` alone (``warm`` fills
    the caches and free lists first).

    With ``collect``, ``gc.collect()`` runs before each reading (a resumed call's cycles,
    its traceback and frames, are not a leak), the objects' count its own.
    """
    if collect:
        gc.collect()
    before = refcounts(*watched)
    objects_before = _tracked(collect) if objects else None
    grown = 0
    if trace:
        tracemalloc.start()
    try:
        if warm is not None:
            warm()
        if collect and warm is not None:
            gc.collect()
        base = tracemalloc.get_traced_memory()[0] if trace else 0
        calls()
        if collect:
            gc.collect()
        if trace:
            grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        if trace:
            tracemalloc.stop()
    objects_after = _tracked(collect) if objects else None
    return Window(before, refcounts(*watched), grown, objects_before, objects_after)


def _tracked(collect: bool) -> int:
    """How many objects the collector tracks, after a collection of its own with
    ``collect`` (the one before may have run finalizers and weakref callbacks that
    leave more garbage: measured, a window counting after one collection at each end
    saw one to 29 objects fewer at the end)."""
    if collect:
        gc.collect()
    return len(gc.get_objects())
