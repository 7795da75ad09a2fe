"""The llvm backend's modules, imported ahead of the first OSR compile (issue 12).

A process's first compile imports the frontend and the llvm backend (about 50
modules: 60-70 ms of CPU with bytecode caches, ~155 ms without, where every module's
source is compiled, holding the GIL for tens of ms at a time).  For an OSR compile that
import sat on the path from the loop's threshold to its entry, and on the broker it
shared the GIL with the very loop waiting for it (a source compile is not preempted by
the switch interval: the loop stopped for its whole length).  So the first decoration
whose function gets loop probes imports them, on the decorating thread, once per
process (:func:`import_compiler`); a compile finds them imported.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger("autotier")

#: what a compile imports beyond ``import autotier``, by the modules that import the
#: rest (tests/runtime/test_pacing.py checks that a compile after them imports no
#: module of autotier's)
ROOTS = (
    "autotier.frontend.decode",
    "autotier.backends.llvm_backend",
    "autotier.frontend.program",
    "autotier.frontend.lowering",
    "autotier.deopt.forcing",
)

_lock = threading.Lock()
_done = False


def import_compiler() -> None:
    """Import :data:`ROOTS`, once per process (a failure is left to the compile, which
    raises it where it shows)."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        try:
            for name in ROOTS:
                importlib.import_module(name)
        except Exception:  # the compile imports it again and reports it
            log.debug("autotier: importing the compiler ahead failed", exc_info=True)
        _done = True
