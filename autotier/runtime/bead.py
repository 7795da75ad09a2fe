"""Beads: the runtime's record of one decorated function, and its lifecycle.

Glossary
--------
bead        this record: counters, state, installed native entry, bailout history.
trigger     a call count stored in the decorated object; native code calls the slow
            path when the counter reaches it (promotion, pause end, tier-up).
ticket      a number bumped by every submit, reload and invalidate; a compile job
            installs its result only if its ticket is still the bead's.
bailout     a guard failed (types, overflow, zero divisor, rebound global, ...); the
            call is answered by the interpreter and the deopt policy decides.

States (``BeadState``; every change goes through ``_move`` and its table
``TRANSITIONS``, drawn below)::

    interpreted -> queued -> compiling -> compiled
         ^           |  ^        |  |         |  \\
         |           v  |        v  v         v   \\ bailout: recompile -> queued
         +----- (queue full, stale ticket, pause, reload) ----+   (old code serves)
    failed      : no backend could compile it (reason kept); reload retries
    blacklisted : the deopt policy gave up: interprets for good
    invalid     : invalidated by the user, or the function was dropped

Locks: ``Bead._lock`` guards every field (``BeadCore.__init__``) except the call
counter, which lives in the decorated object and is only touched while holding the
GIL (by native code or by member access).  The lock is never held while calling
user code or a backend.  Installing code is one store of the entry address
(``HotFunction._vectorcall``).

Code lifetime: the bead holds the CompiledCode it installed (``code``) and the ones it
may reinstall (``tier_code``); a CompiledCode nobody holds any more has its machine
code freed once no call is running it (``autotier.jit.engine``).  So the vectorcall
slot must never hold the entry of code the bead dropped: ``_install`` stores the new
entry before it lets go of the old code.

Modules: the record, its state machine and the hot object's slots are
:mod:`autotier.runtime.beadcore`; the compiles it asks for and lands,
:mod:`autotier.runtime.compiles`; the calls that leave native code (promotions,
bailouts, deopts and what the deopt policy decides), :mod:`autotier.runtime.slowpath`.
``Bead`` is the three together, with ``start_osr``; this module re-exports their names.
"""

from __future__ import annotations

from types import FunctionType

from autotier.abi import Status
from autotier.dispatch import build
from autotier.dispatch.hotobject import HotFunction
from autotier.osr.state import OsrState
from autotier.runtime.beadcore import TRANSITIONS, BeadState, IllegalTransition
from autotier.runtime.compiles import RETRY_AFTER_FULL_QUEUE, RETRY_AFTER_STALE, CompileJob
from autotier.runtime.policy import HotnessPolicy
from autotier.runtime.slowpath import TYPE_LOOKS, SlowPath


class Bead(SlowPath):
    """One decorated function's record (:mod:`.beadcore`), the compiles it asks for
    and lands (:mod:`.compiles`) and the calls that left its native code
    (:mod:`.slowpath`)."""

    def start_osr(self, loop_threshold: int) -> bool:
        """Count loop iterations too (``autotier.osr``): the hot object's trampoline
        runs the function's copy with loop probes, if the screen takes it.  Whether it
        did (the decorator then imports the compiler ahead: ``backends.prepare``)."""
        with self._lock:
            self.osr = OsrState(self, loop_threshold)
            self.osr.start()
            return self.osr.made is not None


def child_of(parent: Bead, func: FunctionType, hotness: HotnessPolicy) -> HotFunction:
    """A hidden bead for ``func`` (an OSR entry of ``parent``'s function): compiled and
    decided as ``parent`` is (its compiler, broker and deopt policy), in no registry."""
    import functools

    hf: HotFunction = object.__new__(HotFunction)
    functools.update_wrapper(hf, func)
    hf._func = func
    hf._run = func
    child = Bead(hf, func, hotness, parent.deopt, parent._compiler, parent._submit,
                 parent._dump)
    child.paced = True
    hf._bead = child
    hf._slow = child.on_bail
    hf._vectorcall = build.trampoline_address()
    return hf


__all__ = ["RETRY_AFTER_FULL_QUEUE", "RETRY_AFTER_STALE", "TRANSITIONS", "TYPE_LOOKS", "Bead",
           "BeadState", "CompileJob", "IllegalTransition", "Status"]
