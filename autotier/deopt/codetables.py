"""The two side tables of a 3.11+ code object, decoded and encoded.

:mod:`autotier.deopt.patching` builds a resume function's code by splicing a prologue
into the function's own ``co_code``; the instructions after it move by the prologue's
length, so the tables that name code units move with them:

- the *location table* (``co_linetable``, CPython's Objects/locations.md): entries of
  1 to 8 code units, each a first byte ``0x80 | code << 3 | (units - 1)`` and then,
  by ``code``: 0-9 the short form (same line; the column's high bits are the code, one
  byte of its low bits and the width), 10-12 the one-line form (line delta ``code -
  10``, start and end column bytes), 13 no columns (a signed line delta), 14 the long
  form (signed line delta, end-line delta, column + 1, end column + 1: 0 is none), 15
  no location (the running line unchanged).  Varints are 6-bit chunks, least
  significant first, 0x40 marking a further chunk; a signed one holds ``abs << 1 |
  sign``.  Line deltas are from the previous entry that had a line, starting at
  ``co_firstlineno``.  A table is decoded into its entries and written back entry by
  entry in the form the compiler writes (compile.c ``write_location_info_entry``):
  an unchanged entry is the same bytes, so tracebacks, carets, line events and
  ``co_lines()`` read the moved instructions as the original ones.
- the *exception table* (``co_exceptiontable``, Objects/exception_handling_notes.txt):
  entries of four varints (start, length, target, in code units; depth << 1 | lasti),
  6-bit chunks, most significant first, 0x40 marking a further chunk, 0x80 marking
  an entry's first byte.

The formats are those of CPython 3.11 to 3.13 (``compat.RAW_RESUME`` says where they
are relied on).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

Position = tuple[int | None, int | None, int | None, int | None]  # as co_positions()

_SHORT0, _ONE_LINE0, _NO_COLUMNS, _LONG, _NONE = 0, 10, 13, 14, 15
_MAX_UNITS = 8  # code units one location entry covers at most


class Location(NamedTuple):
    """One location table entry: ``units`` code units at ``position``."""

    units: int
    position: Position


def _varint(out: bytearray, value: int) -> None:
    while value >= 64:
        out.append(64 | (value & 63))
        value >>= 6
    out.append(value)


def _signed_varint(out: bytearray, value: int) -> None:
    _varint(out, (-value << 1) | 1 if value < 0 else value << 1)


def _read_varint(table: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = table[at]
        at += 1
        value |= (byte & 63) << shift
        shift += 6
        if not byte & 64:
            return value, at


def _read_signed_varint(table: bytes, at: int) -> tuple[int, int]:
    value, at = _read_varint(table, at)
    return (-(value >> 1) if value & 1 else value >> 1), at


def _walk(table: bytes, first_line: int) -> Iterator[tuple[int, Location]]:
    """Each entry of a location table, with the offset of the byte after it."""
    line, at, n = first_line, 0, len(table)
    while at < n:
        first = table[at]
        at += 1
        code, units = (first >> 3) & 15, (first & 7) + 1
        pos: Position
        if code == _NONE:
            pos = (None, None, None, None)
        elif code == _LONG:
            delta, at = _read_signed_varint(table, at)
            end, at = _read_varint(table, at)
            col, at = _read_varint(table, at)
            end_col, at = _read_varint(table, at)
            line += delta
            pos = (line, line + end, col - 1 if col else None, end_col - 1 if end_col else None)
        elif code == _NO_COLUMNS:
            delta, at = _read_signed_varint(table, at)
            line += delta
            pos = (line, line, None, None)
        elif code >= _ONE_LINE0:
            line += code - _ONE_LINE0
            pos = (line, line, table[at], table[at + 1])
            at += 2
        else:
            second = table[at]
            at += 1
            col = code << 3 | second >> 4
            pos = (line, line, col, col + (second & 15))
        yield at, Location(units, pos)


def decode_locations(table: bytes, first_line: int) -> list[Location]:
    """The entries of a location table, in order."""
    return [loc for _, loc in _walk(table, first_line)]


def splice_locations(table: bytes, first_line: int,
                     insertions: Sequence[tuple[int, Sequence[Location]]]) -> bytes:
    """The location table of code whose units had ``table``, once each ``(unit,
    entries)`` of ``insertions`` (in order) put ``entries``' units before unit
    ``unit``.  The entries up to the first one with a line after the last insertion
    are written again (that one's line delta changes), the rest copied."""
    pending = list(insertions)
    out: list[Location] = []
    unit = 0
    for end, (size, pos) in _walk(table, first_line):
        units = size
        while pending and pending[0][0] < unit + units:  # at this entry, or inside it
            at, entries = pending.pop(0)
            if at > unit:  # split the entry
                out.append(Location(at - unit, pos))
                units -= at - unit
                unit = at
            out.extend(entries)
        out.append(Location(units, pos))
        unit += units
        if not pending and pos[0] is not None:
            return encode_locations(out, first_line) + table[end:]
    for at, entries in pending:
        if at != unit:
            raise ValueError(f"autotier: no code unit {at} to insert at")
        out.extend(entries)
    return encode_locations(out, first_line)


def encode_locations(entries: Iterable[Location], first_line: int) -> bytes:
    """The location table of ``entries`` (each of 1 to 8 code units), written in the
    form the compiler chooses for each."""
    out = bytearray()
    line = first_line
    for units, (start, last, col, end_col) in entries:
        assert 1 <= units <= _MAX_UNITS
        first = 0x80 | (units - 1)
        if start is None:
            out.append(first | _NONE << 3)
            continue
        end = start if last is None else last
        delta = start - line
        line = start
        if col is None or end_col is None:
            if end == start and col is None and end_col is None:
                out.append(first | _NO_COLUMNS << 3)
                _signed_varint(out, delta)
                continue
        elif end == start:
            if delta == 0 and col < 80 and 0 <= end_col - col < 16:
                out.append(first | (_SHORT0 + (col >> 3)) << 3)
                out.append((col & 7) << 4 | (end_col - col))
                continue
            if 0 <= delta < 3 and col < 128 and end_col < 128:
                out.append(first | (_ONE_LINE0 + delta) << 3)
                out += bytes((col, end_col))
                continue
        out.append(first | _LONG << 3)
        _signed_varint(out, delta)
        _varint(out, end - start)
        _varint(out, 0 if col is None else col + 1)
        _varint(out, 0 if end_col is None else end_col + 1)
    return bytes(out)


class Handler(NamedTuple):
    """One exception table entry, in code units: ``[start, end)`` jumps to ``target``
    with the stack cut to ``depth`` (and the raising offset pushed when ``lasti``)."""

    start: int
    end: int
    target: int
    depth: int
    lasti: bool


def decode_handlers(table: bytes) -> list[Handler]:
    """The entries of an exception table."""
    values: list[int] = []
    value = 0
    for byte in table:
        value = (value << 6) | (byte & 63)
        if not byte & 64:
            values.append(value)
            value = 0
    handlers = []
    for at in range(0, len(values) - 3, 4):
        start, length, target, depth_lasti = values[at:at + 4]
        handlers.append(Handler(start, start + length, target, depth_lasti >> 1,
                                bool(depth_lasti & 1)))
    return handlers


def _except_varint(out: bytearray, value: int, first: bool) -> None:
    shift = 0
    while value >> (shift + 6):
        shift += 6
    mark = 0x80 if first else 0
    while shift:
        out.append(((value >> shift) & 63) | 64 | mark)
        mark = 0
        shift -= 6
    out.append((value & 63) | mark)


def encode_handlers(handlers: Iterable[Handler]) -> bytes:
    """The exception table of ``handlers``."""
    out = bytearray()
    for h in handlers:
        _except_varint(out, h.start, True)
        _except_varint(out, h.end - h.start, False)
        _except_varint(out, h.target, False)
        _except_varint(out, h.depth << 1 | h.lasti, False)
    return bytes(out)
