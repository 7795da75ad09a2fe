"""Imports other threads may be running (not a version difference: it lives with
the module that every part of autotier imports first); see :mod:`autotier.compat`."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def module_initializing(module: object) -> bool:
    """True while a thread runs ``module``'s body (importlib sets
    ``__spec__._initializing`` around it, 3.4+; another thread importing the module
    meanwhile waits on its module lock)."""
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def imported(name: str) -> ModuleType | None:
    """``sys.modules[name]`` once its import has ended (waiting for another thread that
    runs it: a module half-initialised by a user's thread, numpy in the middle of
    ``import numba``, is not yet the module), or None if it was never imported."""
    module = sys.modules.get(name)
    if module is not None and module_initializing(module):
        module = importlib.import_module(name)  # returns once the other thread's import ends
    return module


def finish_imports(package: str) -> None:
    """Wait until no other thread is running the body of a module of ``package``.

    numba's modules import each other in cycles: a thread that starts importing one of
    them (say ``numba.core.compiler_lock``) while another thread is inside the cycle
    from another module gets a half-initialised module and an ImportError ("cannot
    import name ... from partially initialized module", importlib's deadlock
    avoidance). Blocking on each module another thread is initialising (its module
    lock; the caller holds no import lock, so this cannot deadlock) before importing
    one more keeps the broker's imports out of a user thread's."""
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] == package and module_initializing(module):
            importlib.import_module(name)  # returns once the other thread's import ends

