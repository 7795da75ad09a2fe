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


# How many specialisations a bead holds.  Bools ride on the int ones: a signature
# with bools where another has ints takes no slot of its own (``(bool, int)`` beside
# ``(int, int)``), so a function called with ints and bools still has room for floats;
# each is compiled with the bool kinds, so results keep CPython's types (``True + 1``
# an int, ``True & False`` a bool).  All signatures together stay below MAX_SIGNATURES.
MAX_SPECIALISATIONS = 4
MAX_SIGNATURES = 16


def slot(kinds: Signature) -> Signature:
    """The specialisation slot ``kinds`` takes: its bools counted as ints."""
    return tuple(Kind.INT if k is Kind.BOOL else k for k in kinds)


def has_room(signatures: tuple[Signature, ...], kinds: Signature) -> bool:
    """Whether a bead specialised for ``signatures`` may add ``kinds``."""
    if len(signatures) >= MAX_SIGNATURES:
        return False
    slots = {slot(s) for s in signatures}
    return slot(kinds) in slots or len(slots) < MAX_SPECIALISATIONS


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


_VARARGS, _VARKEYWORDS = 0x04, 0x08  # inspect.CO_VARARGS, inspect.CO_VARKEYWORDS
NATIVE_VALUES = ("native code takes int (within int64), float, bool, complex, None, list, "
                 "tuple and numpy.ndarray (of bool, int8-64, uint8-64, float32, float64 in native "
                 "order)")


def why_not(func: FunctionType, args: tuple[Any, ...],
            kwargs: dict[str, Any] | None = None) -> str:
    """Why ``call_kinds(func, args, kwargs)`` is None, naming what blocks it: a
    ``*args``/``**kwargs`` parameter, a call that does not bind, or the parameters
    (given or defaulted) whose values native code cannot take."""
    kwargs = kwargs or {}
    code = func.__code__
    star = [s for flag, s in ((_VARARGS, "*args"), (_VARKEYWORDS, "**kwargs"))
            if code.co_flags & flag]
    if star:
        return f"a {' and a '.join(star)} parameter cannot be compiled"
    if code.co_kwonlyargcount:  # (bind_positions binds positional parameters only)
        return "keyword-only parameters cannot be compiled"
    defaults = func.__defaults__ or ()
    try:
        sources = bind_positions(code, len(defaults), len(args), tuple(kwargs))
    except BindError as exc:
        return f"the call cannot be compiled: it does not bind ({exc}): CPython raises TypeError"
    given = (*args, *kwargs.values())
    bad = []
    for name, (where, i) in zip(code.co_varnames, sources, strict=False):
        value = given[i] if where == "arg" else defaults[i]
        if Kind.of(value) is None:
            what = "an int past int64" if type(value) is int else _a(type(value).__name__)
            bad.append(f"{name} is {what}" + (" (its default)" if where == "default" else ""))
    return "arguments cannot be compiled: " + ", ".join(bad) + f"; {NATIVE_VALUES}"


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun
