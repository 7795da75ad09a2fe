"""What the elements of a call's list and tuple arguments are: the bead's speculation.

Native code never scans a list at the entry (an O(1) type check only): it speculates
the kinds of each list or tuple parameter's elements from the calls that promoted the
function, and checks each element it loads (a wrong kind deoptimises precisely,
``Status.ELEMENT``).  The speculation is a sample (at most ``SAMPLE`` elements, spread
over the sequence), taken only on the bead's slow path, never per call.  After an
ELEMENT bailout the bead stops speculating (every element may be an int, a float or a
bool), so one more compile serves mixed lists.

A sequence whose sampled elements are all tuples is speculated to hold tuples
(``Kind.TUPLE``; all lists: ``Kind.LIST``, likewise), and the kinds of those tuples'
items are speculated too, under the
key ``items_key(i)`` (``~i``: negative keys never name a parameter): ``for x, y in
points`` loads each tuple (checked to be one) and each item (checked to be of those
kinds).  After an ELEMENT bailout a list of tuples stays one, of items of any kind.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any

from autotier.abi import Kind
from autotier.callbinding import BindError, bind_positions

SAMPLE = 64  # elements looked at per sequence argument

ITEMS = 8  # items looked at per sampled tuple element

#: parameter position -> speculated element kinds; ``items_key(i)`` -> the kinds of
#: the items of parameter i's tuple elements
Elements = dict[int, frozenset[Kind]]
ANY_SCALAR = frozenset({Kind.INT, Kind.FLOAT, Kind.BOOL})
TUPLES = frozenset({Kind.TUPLE})
LISTS = frozenset({Kind.LIST})


def items_key(position: int) -> int:
    """The key of the item kinds of parameter ``position``'s tuple elements."""
    return ~position


def _scalars(values: Any) -> frozenset[Kind]:
    kinds = {Kind.of(v) for v in values}
    return frozenset(k for k in kinds if isinstance(k, Kind) and k.scalar)


def _sample(seq: list[Any] | tuple[Any, ...]) -> tuple[frozenset[Kind], frozenset[Kind]]:
    """(the element kinds, the item kinds of tuple elements) seen in ``seq``."""
    n = len(seq)
    step = max(1, n // SAMPLE)
    seen = [seq[i] for i in range(0, n, step)]
    for inner, kinds in ((tuple, TUPLES), (list, LISTS)):
        if seen and all(type(v) is inner for v in seen):
            return kinds, _scalars(item for v in seen for item in v[:ITEMS])
    return _scalars(seen), frozenset()


def sample(func: FunctionType, args: tuple[Any, ...],
           kwargs: dict[str, Any] | None = None) -> Elements:
    """The element kinds seen in each list or tuple argument of ``func(*args, **kwargs)``
    (parameters whose sample found no int, float or bool are left out)."""
    kwargs = kwargs or {}
    defaults = func.__defaults__ or ()
    try:
        sources = bind_positions(func.__code__, len(defaults), len(args), tuple(kwargs))
    except BindError:
        return {}
    given = (*args, *kwargs.values())
    out: Elements = {}
    for i, (where, j) in enumerate(sources):
        value = given[j] if where == "arg" else defaults[j]
        if type(value) in (list, tuple):
            seen, items = _sample(value)
            if seen:
                out[i] = seen
            if items:
                out[items_key(i)] = items
    return out


def widened(old: Elements) -> Elements:
    """What an ELEMENT bailout leaves speculated: a sequence of tuples stays one (of
    items of any kind); any other takes every int, float and bool (the default)."""
    out: Elements = {}
    for i, kinds in old.items():
        if i >= 0 and kinds in (TUPLES, LISTS):
            out[i] = kinds
            out[items_key(i)] = ANY_SCALAR
    return out


def merge(old: Elements, new: Elements) -> Elements:
    """Both speculations' kinds, per parameter."""
    out = dict(old)
    for i, kinds in new.items():
        out[i] = out.get(i, frozenset()) | kinds
    return out


def as_request(elements: Elements) -> tuple[tuple[int, frozenset[Kind]], ...]:
    """The form ``CompileRequest.elements`` takes."""
    return tuple(sorted(elements.items()))
