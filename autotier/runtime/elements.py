"""What the elements of a call's list and tuple arguments are: the bead's speculation.

Native code never scans a list at the entry (an O(1) type check only): it speculates
the kinds of each list or tuple parameter's elements from the calls that promoted the
function, and checks each element it loads (a wrong kind deoptimises precisely,
``Status.ELEMENT``).  The speculation is a sample (at most ``SAMPLE`` elements, spread
over the sequence), taken only on the bead's slow path, never per call.  After an
ELEMENT bailout the bead stops speculating (every element may be an int, a float or a
bool), so one more compile serves mixed lists.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any

from autotier.abi import Kind
from autotier.callbinding import BindError, bind_positions

SAMPLE = 64  # elements looked at per sequence argument

Elements = dict[int, frozenset[Kind]]  # parameter position -> speculated element kinds


def _sample(seq: list[Any] | tuple[Any, ...]) -> frozenset[Kind]:
    n = len(seq)
    step = max(1, n // SAMPLE)
    kinds = {Kind.of(seq[i]) for i in range(0, n, step)}
    return frozenset(k for k in kinds if isinstance(k, Kind) and k.scalar)


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
            seen = _sample(value)
            if seen:
                out[i] = seen
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
