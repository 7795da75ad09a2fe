"""Objects an OSR entry's code names that the frontend reads as instructions of its own.

Both are ordinary Python in the interpreter (an entry's code may run interpreted: a
deopt resumes in it), and the frontend (:mod:`autotier.frontend.stackflow`) lowers
each as what it means, never as a call:

- :func:`iter_at` ``(seq, index)``: the iterator of a list, tuple or ndarray that
  yields ``seq[index]`` next (``iter(seq)`` set to ``index``, as a list iterator's
  ``__reduce__`` describes it): the IR's ``GetIter`` of ``seq`` starting at ``index``.
- :func:`reversed_at` ``(seq, index)``: ``reversed(seq)`` about to yield ``seq[index]``
  (a ``GetIter`` with ``reverse`` and a start); :func:`enumerate_at` ``(it, count)``
  and :func:`zip_of` ``(*its)``: ``enumerate`` and ``zip`` objects over iterators
  already made (the frontend's enumerate or zip in iteration).
- :data:`HANDBACK`: ``LOAD_CONST HANDBACK; POP_TOP`` (nothing, in the interpreter)
  ends the code native code runs: there the compiled entry hands its frame to the
  interpreter (``ir.HandBack``, ``Status.HANDBACK``), which resumes at the marker and
  runs the rest of the call, code the frontend need not compile (:mod:`.entrycode`).
"""

from __future__ import annotations

from typing import Any


class _HandBack:
    def __repr__(self) -> str:
        return "<autotier: the interpreter goes on here>"


HANDBACK = _HandBack()


def iter_at(seq: Any, index: int) -> Any:
    """``iter(seq)`` about to yield ``seq[index]``: a list iterator reads the length at
    each step, so a list grown or shrunk since goes on as CPython's iterator does."""
    it = iter(seq)
    it.__setstate__(index)
    return it


def reversed_at(seq: Any, index: int) -> Any:
    """``reversed(seq)`` about to yield ``seq[index]``; past the end of a list shortened
    since, exhausted (as its ``next`` would find it: ``__setstate__`` would clamp)."""
    it = reversed(seq)
    it.__setstate__(index if index < len(seq) else -1)
    return it


def enumerate_at(it: Any, count: Any) -> enumerate[Any]:
    """An ``enumerate`` whose next item is ``(count, next(it))``."""
    return enumerate(it, count)


def zip_of(*its: Any) -> zip[Any]:
    """``zip`` of iterators already made."""
    return zip(*its, strict=False)  # (a strict zip is never entered)
