"""A test hook: make native code deoptimise at a chosen site.

While forcing is on, every compile gives each frame state of each function a check
(:mod:`autotier.frontend.exits`): when the process-wide slot holds that state's site
id, the slot is cleared and the code deoptimises there with ``Status.FORCED``, as if
a guard had failed.  Tests compile with forcing on, then name every site in turn and
compare each call with CPython's answer: a resume at any instruction must be exact.
The checks cost a load per instruction: never on outside tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator

_slot = ctypes.c_int64(0)  # the site id to force next (0: none)
_lock = threading.Lock()
_enabled = False  # every thread's compiles (the broker's too)
_local = threading.local()  # this thread's compiles only (``on``)


def enabled() -> bool:
    return _enabled or bool(getattr(_local, "on", False))


def enable(on: bool = True) -> None:
    """Compiles from now on, on every thread, carry forcing checks (or do not)."""
    global _enabled
    with _lock:
        _enabled = on


@contextlib.contextmanager
def on(flag: bool = True) -> Iterator[None]:
    """Compiles on this thread carry forcing checks inside the block (if ``flag``)."""
    before = getattr(_local, "on", False)
    _local.on = flag
    try:
        yield
    finally:
        _local.on = before


def address() -> int:
    """The slot's address, which the checks read."""
    return ctypes.addressof(_slot)


def force(site_id: int) -> None:
    """The next time native code reaches site ``site_id``, it deoptimises there."""
    _slot.value = site_id


def pending() -> int:
    """The site still waiting to be forced (0 once it was)."""
    return int(_slot.value)
