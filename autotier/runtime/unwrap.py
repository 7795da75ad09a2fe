"""Giving a declined function's name back to the plain function.

CPython 3.11 runs a called function's frame inside the caller's eval loop only when
the callee is an exact ``PyFunction``; any other callable, the hot object included,
costs a C call that starts an eval loop of its own (a tiny method: 49 -> 80 ns
through the trampoline).  So once a bead has given up *for good* (blacklisted, or
failed on the code itself), the name the decorator bound is rebound to the original
function, where that is simple and safe:

- the module global ``func.__globals__[func.__name__]``, when it holds the hot
  object and the globals are a module's namespace (a module in ``sys.modules``);
- the class attribute ``cls.__dict__[name]`` of a method, the class found from the
  module by ``__qualname__`` (no ``<locals>`` in it), holding the hot object or a
  ``staticmethod`` / ``classmethod`` of it (rebound to one of the function), when
  the class's metaclass does not define its own ``__setattr__``.

Anything else (a local function, a name bound to another object, a decorator
stacked over the hot object, a namespace that is no module's) keeps the hot object.
A :class:`Rebinding` remembers the place: the owner (module or class) weakly, what
was there and what was put there.  It holds the hot object, so references held
elsewhere (``from m import f`` before the rebinding, bound methods) keep working
through the trampoline and the bead keeps its record; :meth:`Rebinding.restore` puts
the hot object back (a reload), if the place still holds what was put there.

Nothing here runs user code: a module dict store, or ``type.__setattr__`` on a class
whose metaclass does not override it.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass
from types import FunctionType, ModuleType
from typing import Any


@dataclass(eq=False)
class Rebinding:
    """Where a declined function's name was given back to the plain function."""

    owner: weakref.ref[Any]  # the module or class whose namespace holds the name
    key: str
    hot: object  # what the decorator had put there: the hot object, or a wrapper of it
    placed: object  # what is there now: the function, or a wrapper of it
    where: str  # "module.name" or "module.Class.name", for stats()

    def _namespace(self) -> dict[str, Any] | None:
        owner = self.owner()
        return None if owner is None else vars(owner)

    def holds(self) -> bool:
        """The place still holds what was put there (its owner alive)."""
        ns = self._namespace()
        return ns is not None and ns.get(self.key) is self.placed

    def restore(self) -> bool:
        """Put the hot object back, if the place still holds the plain function."""
        if not self.holds():
            return False
        _store(self.owner(), self.key, self.hot)
        return True


def _store(owner: Any, key: str, value: object) -> None:
    if isinstance(owner, ModuleType):
        vars(owner)[key] = value
    else:
        type.__setattr__(owner, key, value)


def _module_of(func: FunctionType) -> ModuleType | None:
    module = sys.modules.get(func.__module__) if isinstance(func.__module__, str) else None
    if module is None or getattr(module, "__dict__", None) is not func.__globals__:
        return None
    return module


def _settable(cls: type) -> bool:
    return type.__setattr__ is type(cls).__setattr__


def _unwrapped(value: object, hot: object, func: FunctionType) -> object | None:
    """What to put in place of ``value`` (the hot object or a static/class method
    of it): the function, or the same wrapper of it; None if ``value`` is neither."""
    if value is hot:
        return func
    if type(value) is staticmethod and value.__func__ is hot:
        return staticmethod(func)
    if type(value) is classmethod and value.__func__ is hot:
        return classmethod(func)
    return None


def unwrap(hot: object, func: FunctionType) -> Rebinding | None:
    """Rebind the name the decorator gave ``hot`` (wrapping ``func``) to ``func``;
    the Rebinding, or None where that is not simple (the hot object stays)."""
    module = _module_of(func)
    qualname = func.__qualname__
    if module is None or "<locals>" in qualname:
        return None
    *path, key = qualname.split(".")
    owner: Any = module
    for part in path:
        owner = vars(owner).get(part)
        if not isinstance(owner, type) or not _settable(owner):
            return None
    there = vars(owner).get(key)
    placed = _unwrapped(there, hot, func)
    if placed is None:
        return None
    _store(owner, key, placed)
    return Rebinding(weakref.ref(owner), key, there, placed, f"{module.__name__}.{qualname}")


__all__ = ["Rebinding", "unwrap"]
