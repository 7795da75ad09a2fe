"""The loop iterators an OSR entry takes: their state, and the code that rebuilds them.

Each iterator on a header's stack (the enclosing ``for`` loops', the loop's own
included) is passed to the entry as plain values and rebuilt by its prologue:

- a range iterator: its next value, stop and step, ``iter(range(next, stop, step))``
  (``LOAD_GLOBAL range``: the probe enters only where ``range`` is the builtin);
- a list, tuple or ndarray iterator (an ndarray's is CPython's iterator over
  ``__getitem__``): its sequence and next index (``__reduce__``: ``(iter, (seq,),
  index)``; an exhausted one, ``(iter, ((),))``, as an empty tuple's),
  ``markers.iter_at(seq, index)``;
- a reversed list or tuple iterator: its sequence and next index,
  ``markers.reversed_at(seq, index)``;
- an ``enumerate`` of one of those: its iterator's values and the next count,
  ``markers.enumerate_at(it, count)``; a ``zip`` of several (not ``strict``): each
  one's values, ``markers.zip_of(*its)``.

The frontend lowers each marker as the iterator it makes (a ``GetIter`` from a start
index, an enumerate or zip in iteration), so native code goes on from there, reading a
list's length at every step as CPython's iterators do.  A *shape* names what was
passed: ``"range"``, ``"seq"``, ``"rev"``, ``("enumerate", leaf)`` or ``("zip",
(leaf, ...))``; an entry's code depends on its iterators' shapes.
"""

from __future__ import annotations

import operator
import sys
from typing import Any

from bytecode import Instr

from autotier import compat
from autotier.osr import markers

RANGE = "range"
SEQUENCE = "seq"
REVERSED = "rev"
Shape = str | tuple[Any, ...]

_WIDTHS = {RANGE: 3, SEQUENCE: 2, REVERSED: 2}


class _Indexed:
    def __getitem__(self, index: int) -> None:
        raise IndexError(index)


_RANGE_ITER = type(iter(range(0)))
#: list and tuple iterators, and CPython's iterator over ``__getitem__`` (an ndarray's)
_SEQ_ITERS: tuple[type, ...] = (type(iter([])), type(iter(())), type(iter(_Indexed())))
_REV_ITERS: tuple[type, ...] = (type(reversed([])), type(reversed(())))


def progress(it: Any) -> tuple[int, int] | None:
    """(iterations begun, iterations left) of a range, list or tuple iterator (or
    CPython's over ``__getitem__``), None for any other or an exhausted one: how far
    the loop it drives has come (the pacer's forecast of a loop's length)."""
    if type(it) is not _RANGE_ITER and type(it) not in _SEQ_ITERS:
        return None
    state = it.__reduce__()
    if len(state) < 3 or not isinstance(state[2], int):
        return None
    return state[2], operator.length_hint(it)


def _is_ndarray(obj: object) -> bool:
    numpy = sys.modules.get("numpy")  # (an ndarray exists only once numpy is imported)
    return numpy is not None and type(obj) is numpy.ndarray


def _leaf(it: Any) -> tuple[str, list[Any]] | str:
    if type(it) is _RANGE_ITER:
        reduced: Any = it.__reduce__()
        span, index = reduced[1][0], reduced[2]
        return RANGE, [span.start + index * span.step, span.stop, span.step]
    if type(it) in _SEQ_ITERS or type(it) in _REV_ITERS:
        reduced = it.__reduce__()
        seq = reduced[1][0]
        if len(reduced) < 3:  # exhausted: an empty tuple's iterator
            return SEQUENCE, [(), 0]
        reverse = type(it) in _REV_ITERS
        if type(seq) in (list, tuple) or (_is_ndarray(seq) and not reverse):
            return (REVERSED if reverse else SEQUENCE), [seq, reduced[2]]
        return f"a loop over a {type(seq).__name__} (not a list, tuple or ndarray)"
    return (f"a loop over a {type(it).__name__} (only range, list, tuple and ndarray "
            "loops, their reversed, enumerate and zip, are entered)")


def state(it: Any) -> tuple[Shape, list[Any]] | str:
    """How an entry rebuilds iterator ``it``: its shape and values, or why it cannot."""
    if type(it) is enumerate:
        reduced: Any = it.__reduce__()
        inner, count = reduced[1]
        found = _leaf(inner)
        if isinstance(found, str):
            return found
        return ("enumerate", found[0]), [*found[1], count]
    if type(it) is zip:
        reduced = it.__reduce__()  # (zip, its) or (zip, its, strict)
        if len(reduced) > 2 and reduced[2]:
            return "a loop over a zip(strict=True)"
        shapes: list[str] = []
        flat: list[Any] = []
        for inner in reduced[1]:
            found = _leaf(inner)
            if isinstance(found, str):
                return found
            shapes.append(found[0])
            flat += found[1]
        return ("zip", tuple(shapes)), flat
    return _leaf(it)


def width(shape: Shape) -> int:
    """How many values an iterator of ``shape`` is passed as."""
    if isinstance(shape, str):
        return _WIDTHS[shape]
    if shape[0] == "enumerate":
        return width(shape[1]) + 1
    return sum(width(s) for s in shape[1])


def uses_range(shape: Shape) -> bool:
    if isinstance(shape, str):
        return shape == RANGE
    return uses_range(shape[1]) if shape[0] == "enumerate" else any(map(uses_range, shape[1]))


def names(shapes: tuple[Shape, ...]) -> tuple[str, ...]:
    """The entry's parameters for the iterators: ``.it<k>_<j>``, the ``j``-th value of
    iterator ``k``."""
    return tuple(f".it{k}_{j}" for k, shape in enumerate(shapes) for j in range(width(shape)))


def _call(marker: object, args: list[Instr], n: int, line: int) -> list[Instr]:
    return [Instr("PUSH_NULL", lineno=line),
            Instr("LOAD_CONST", marker, lineno=line),  # type: ignore[arg-type]
            *args, *compat.call_instructions(n, line)]


def rebuild(shape: Shape, params: list[str], line: int) -> list[Instr]:
    """The prologue's instructions that push an iterator of ``shape`` from the
    parameters ``params`` (consumed from the front)."""
    def load(n: int) -> list[Instr]:
        taken = [params.pop(0) for _ in range(n)]
        return [Instr("LOAD_FAST", name, lineno=line) for name in taken]

    if shape == RANGE:
        return [Instr("LOAD_GLOBAL", (True, "range"), lineno=line), *load(3),
                *compat.call_instructions(3, line), Instr("GET_ITER", lineno=line)]
    if shape == SEQUENCE:
        return _call(markers.iter_at, load(2), 2, line)
    if shape == REVERSED:
        return _call(markers.reversed_at, load(2), 2, line)
    assert isinstance(shape, tuple)
    if shape[0] == "enumerate":
        inner = rebuild(shape[1], params, line)
        return _call(markers.enumerate_at, [*inner, *load(1)], 2, line)
    parts = [ins for s in shape[1] for ins in rebuild(s, params, line)]
    return _call(markers.zip_of, parts, len(shape[1]), line)
