"""Nested sequences' speculated contents: what each load from a list or tuple parameter
whose elements are sequences too is expected to be, by its path.

The bead samples such a parameter as deep as ``runtime.elements.DEPTH`` levels under
path keys (``"i>*/0/*"``: ``*`` any element, a number one position of tuples that all
had that length where sampled; ``runtime.elements.path_key``).  :func:`from_paths` makes
them a tree of :class:`Contents`; type inference gives each sequence value its tree and
each element load the :class:`Slot` its path reaches (a constant index or an unpacking
of a tuple reaches one position, any other load ``any``), so ``for ((x1, y1), v1, m1)
in pairs`` loads a list from position 0 and a float from position 2 of one tuple.  A
speculation is never trusted: every load checks its kinds (``sequences.element``: an
exact list or tuple, or a number unboxed) and deoptimises with ELEMENT on a miss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from autotier.abi import Kind
from autotier.frontend.ir import NO_KINDS, Kinds
from autotier.frontend.kinds import VKind

_SEQUENCES = frozenset({VKind.LIST, VKind.TUPLE})


@dataclass(frozen=True)
class Slot:
    """A value inside a sequence: its kinds, and its own contents when a sequence."""

    kinds: Kinds
    contents: Contents | None = None


@dataclass(frozen=True)
class Contents:
    """What a sequence holds: ``any`` element, and (tuples of one length) each position."""

    any: Slot
    at: tuple[Slot, ...] = ()


def join_slot(a: Slot, b: Slot) -> Slot:
    return Slot(a.kinds | b.kinds, join(a.contents, b.contents))


def join(a: Contents | None, b: Contents | None) -> Contents | None:
    """What either may hold (positions only where both have the same length)."""
    if a is None or b is None:
        return a if b is None else b
    if a == b:
        return a
    at = (tuple(join_slot(x, y) for x, y in zip(a.at, b.at, strict=True))
          if len(a.at) == len(b.at) else ())
    return Contents(join_slot(a.any, b.any), at)


def item(contents: Contents, index: int | None) -> Slot:
    """What a load at constant ``index`` (None: any other) is speculated to be."""
    if index is not None and -len(contents.at) <= index < len(contents.at):
        return contents.at[index]
    return contents.any


def stored(contents: Contents, kinds: Kinds, inner: Contents | None) -> Contents:
    """A list's contents after a store or append of a value of ``kinds`` (``inner``:
    its own contents): any element may be it, no position is known."""
    return Contents(Slot(contents.any.kinds | kinds, join(contents.any.contents, inner)))


def _vkinds(kinds: frozenset[Kind]) -> Kinds:
    return frozenset(VKind(k) for k in kinds)


def _build(keys: Mapping[str, frozenset[Kind]], prefix: str) -> Contents | None:
    """The contents under ``prefix`` (None when nothing was sampled there)."""
    at: list[Slot] = []
    while (key := f"{prefix}{len(at)}") in keys:
        at.append(Slot(_vkinds(keys[key]), _inner(keys, key)))
    if f"{prefix}*" not in keys and not at:
        return None
    anything = Slot(_vkinds(keys.get(f"{prefix}*", frozenset())),
                    _build(keys, f"{prefix}*/"))
    for slot in at:  # any element is one of the positions' too
        anything = join_slot(anything, slot)
    return Contents(anything, tuple(at))


def _inner(keys: Mapping[str, frozenset[Kind]], key: str) -> Contents | None:
    return _build(keys, f"{key}/") if _vkinds(keys[key]) & _SEQUENCES else None


def from_paths(given: Mapping[int | str, frozenset[Kind]]) -> dict[int, Contents]:
    """The contents of each sequence parameter sampled by path, by position."""
    by_position: dict[int, dict[str, frozenset[Kind]]] = {}
    for key, kinds in given.items():
        if isinstance(key, str) and ">" in key:
            position, path = key.split(">", 1)
            by_position.setdefault(int(position), {})[path] = kinds
    out: dict[int, Contents] = {}
    for at, keys in by_position.items():
        built = _build(keys, "")
        if built is not None and built.any.kinds:
            out[at] = built
    return out


def inner_kinds(contents: Contents | None) -> Kinds:
    """The kinds of any element of any element (``Typed``'s tuple item table)."""
    if contents is None or contents.any.contents is None:
        return NO_KINDS
    return contents.any.contents.any.kinds
