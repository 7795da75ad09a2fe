"""A call's argument kinds: the signature a bead specialises for.

Bound as CPython binds a call (positional arguments, then keywords by name, then
defaults), so that ``f(x=1.5)`` of ``def f(x, n=3)`` asks for ``(float, int)``.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any

from autotier.abi import Kind
from autotier.backends.base import Signature
from autotier.callbinding import BindError, bind_positions


def kinds_of(args: tuple[Any, ...]) -> Signature | None:
    """The kinds of ``args``; None if native code cannot take one of them."""
    kinds = tuple(Kind.of(a) for a in args)
    return None if any(k is None for k in kinds) else kinds  # type: ignore[return-value]


def call_kinds(func: FunctionType, args: tuple[Any, ...],
               kwargs: dict[str, Any] | None = None) -> Signature | None:
    """The kinds of ``func``'s parameters for the call ``func(*args, **kwargs)``; None if
    the call does not bind (CPython raises TypeError) or a value is not native."""
    kwargs = kwargs or {}
    defaults = func.__defaults__ or ()
    try:
        sources = bind_positions(func.__code__, len(defaults), len(args), tuple(kwargs))
    except BindError:
        return None
    given = (*args, *kwargs.values())
    return kinds_of(tuple(given[i] if where == "arg" else defaults[i] for where, i in sources))
