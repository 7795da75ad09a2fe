"""A call's argument kinds: the signature a bead specialises for.

Bound as CPython binds a call (positional arguments, then keywords by name, then
defaults), so that ``f(x=1.5)`` of ``def f(x, n=3)`` asks for ``(float, int)``.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any

from autotier.abi import Kind
from autotier.backends.base import Signature

_UNBOUND = object()  # a parameter no argument or default bound yet


def kinds_of(args: tuple[Any, ...]) -> Signature | None:
    """The kinds of ``args``; None if native code cannot take one of them."""
    kinds = tuple(Kind.of(a) for a in args)
    return None if any(k is None for k in kinds) else kinds  # type: ignore[return-value]


def call_kinds(func: FunctionType, args: tuple[Any, ...],
               kwargs: dict[str, Any] | None = None) -> Signature | None:
    """The kinds of ``func``'s parameters for the call ``func(*args, **kwargs)``; None if
    the call does not bind (CPython raises TypeError) or a value is not native."""
    code = func.__code__
    count = code.co_argcount
    if len(args) > count:
        return None
    values: list[Any] = [*args, *[_UNBOUND] * (count - len(args))]
    names = code.co_varnames[:count]
    for name, value in (kwargs or {}).items():
        if name not in names[code.co_posonlyargcount:]:
            return None
        index = names.index(name)
        if values[index] is not _UNBOUND:
            return None
        values[index] = value
    defaults = func.__defaults__ or ()
    first = count - len(defaults)
    for i in range(count):
        if values[i] is _UNBOUND:
            if i < first:
                return None
            values[i] = defaults[i - first]
    return kinds_of(tuple(values))
