"""A bead's record and its state machine (see :mod:`autotier.runtime.bead`).

``BeadCore`` holds every field of a bead, makes every state change (``_move`` and
``TRANSITIONS``), arms the trigger and installs entries in the hot object, and gives
the decorator's name back once the bead gave up for good.  What asks for compiles and
lands them is :mod:`autotier.runtime.compiles`; what decides a call that left the
native fast path is :mod:`autotier.runtime.slowpath`.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable
from types import FunctionType
from typing import TYPE_CHECKING, Any

from autotier.backends.base import CompiledCode, CompileRequest, Signature
from autotier.deopt import DeoptPolicy, sites
from autotier.dispatch import build
from autotier.dispatch.hotobject import NEVER, HotFunction
from autotier.osr.state import OsrState
from autotier.runtime import elements
from autotier.runtime.policy import HotnessPolicy
from autotier.runtime.states import TRANSITIONS, BeadState, IllegalTransition, S
from autotier.runtime.unwrap import Rebinding, unwrap

if TYPE_CHECKING:
    from autotier.runtime.compiles import CompileJob

log = logging.getLogger("autotier")


Compiler = Callable[[CompileRequest], CompiledCode]
Submit = Callable[["CompileJob"], bool]


class BeadCore:
    """A bead's fields (all guarded by ``_lock``), its state changes, and the slots
    of the hot object it writes (trigger, entry address)."""

    def __init__(  # noqa: PLR0917 - the runtime wires all of these in one place
        self,
        hf: HotFunction,
        func: FunctionType,
        hotness: HotnessPolicy,
        deopt: DeoptPolicy,
        compiler: Compiler,
        submit: Submit,
        dump: frozenset[str] = frozenset(),
    ) -> None:
        self._lock = threading.RLock()
        self._hf = weakref.ref(hf)
        self.func = func
        self.name = func.__name__
        self.qualname = func.__qualname__
        self.hotness = hotness
        self.deopt = deopt
        self._compiler = compiler
        self._submit = submit
        self._dump = dump
        self.state = BeadState.INTERPRETED
        self.tier = 0
        self.ticket = 0
        self.code: CompiledCode | None = None  # installed, serving calls
        self.tier_code: dict[int, CompiledCode] = {}
        self.signatures: tuple[Signature, ...] = ()
        # 64, or 128 once 64-bit native code bailed out on an int overflow: the next
        # compiles hold ints as i128 (frontend.wideints); a reload starts over at 64.
        self.int_bits = 64
        self.elements: elements.Elements = {}  # speculated list/tuple element kinds
        self.elements_widened = False  # an ELEMENT bailout: speculate nothing
        self.wide_failed = False  # a compile with i128 ints failed: stay at 64 bits
        self.bailouts = 0
        self.exceptions = 0  # native calls CPython (or numpy) answered itself (abi.ANSWERS)
        # calls native code left to the interpreter for want of native frames (a deep
        # recursion): no bailout, the code stays (see on_bail)
        self.deep_calls = 0
        self.recompiles = 0
        self.reverts = 0
        self.compile_ms = 0.0
        self.reason: str | None = None
        self.last_bailout: str | None = None
        self.last_bailout_site: sites.Site | None = None  # where it deoptimised, if precise
        self.resumes = 0  # calls the interpreter finished where native code left them
        self.paused_tier: int | None = None
        # FAILED only because the promoting call's arguments were of types native code
        # never takes: try again, at doubling call counts, with a later call's arguments.
        self.retry_types = False
        self.type_looks = 0  # promotions that failed on the argument types (TYPE_LOOKS)
        # argument kinds a compile declined to add to working code: the interpreter
        # answers those calls, the code keeps serving the others (a reload retries)
        self.declined: set[Signature] = set()
        self.stale_streak = 0  # compiles in a row that raced with a rebound global
        self.job_tier = 0  # the tier of the compile last queued
        self.history: deque[tuple[BeadState, BeadState]] = deque(maxlen=64)
        # where the name the decorator bound was given back to the plain function once
        # the bead gave up for good (autotier.runtime.unwrap); it holds the hot object
        self.rebound: Rebinding | None = None
        # on-stack replacement (autotier.osr): loop probes, counts and the OSR table;
        # None for a policy without a loop threshold, and for OSR's own children
        self.osr: OsrState | None = None
        # an OSR entry's bead: its compiles are paced against the loop they are for
        # (autotier.broker.pacing) and urgent on the broker (run before normal jobs)
        self.paced = False
        self._arm(hotness.promote_at(0))

    # ------------------------------------------------------------ state machine
    def _move(self, new: BeadState) -> None:
        old = self.state
        if new is old:
            return
        if new not in TRANSITIONS[old]:
            raise IllegalTransition(f"{self.qualname}: {old.value} -> {new.value}")
        self.state = new
        self.history.append((old, new))
        if self.osr is not None and new in (S.BLACKLISTED, S.FAILED, S.INVALID):
            self.osr.stop(f"the function is {new.value}")
        log.debug("autotier: %s %s -> %s", self.qualname, old.value, new.value)

    # ------------------------------------------------------------ native state
    @property
    def hf(self) -> HotFunction | None:
        return self._hf()

    @property
    def calls(self) -> int:
        hf = self._hf()
        return int(hf._calls) if hf is not None else 0

    def _arm(self, at: int | None) -> None:
        hf = self._hf()
        if hf is not None:
            hf._trigger = NEVER if at is None else at

    def _install(self, code: CompiledCode | None) -> None:
        hf = self._hf()
        address = build.trampoline_address() if code is None else code.entry
        old, self.code = self.code, code
        if hf is not None:
            hf._vectorcall = address
        # only now may the old code go (with the last reference, here or in tier_code):
        # no call can enter it any more; one still running it keeps it until it returns
        del old

    def _speculate(self, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
        """Add what this call's list and tuple arguments hold to the element kinds the
        code speculates (lock held), unless an ELEMENT bailout ended speculating."""
        if not self.elements_widened:
            self.elements = elements.merge(self.elements, elements.sample(self.func, args,
                                                                          kwargs))

    # ------------------------------------------------------------ giving up for good
    def given_up(self) -> bool:
        """No later call can make this bead compile (until a reload): blacklisted, or
        failed on the code itself rather than on the argument types seen."""
        return self.state is S.BLACKLISTED or (self.state is S.FAILED
                                               and not self.retry_types)

    def _give_name_back(self) -> None:
        """Once the bead has given up for good, rebind the name the decorator bound to
        the plain function (``runtime.unwrap``): a call of it then costs what it costs
        undecorated.  Called with the bead lock not held; a compiled caller whose
        guards assume the name holds the hot object keeps it so (rebinding would stop
        that caller's native code)."""
        hf = self._hf()
        if hf is None or self.rebound is not None or not self.given_up():
            return
        from autotier.runtime import registry  # registry imports the bead

        if registry.guarded_by_others(self.func.__globals__, self.name, hf):
            return
        with self._lock:
            if self.rebound is None and self.given_up():
                self.rebound = unwrap(hf, self.func)
                if self.rebound is not None:
                    log.debug("autotier: %s: %s is the plain function again",
                              self.qualname, self.rebound.where)

    def release_name(self) -> None:
        """Forget the rebinding if the place no longer holds the plain function (the
        user rebound it, or its module or class is gone): the hot object is then
        held by whoever else holds it, or dropped (``registry.prune``)."""
        with self._lock:
            if self.rebound is not None and not self.rebound.holds():
                self.rebound = None

    # ------------------------------------------------------------ lifecycle
    def after_fork_child(self) -> None:
        """In the child of ``os.fork()``, where only the forking thread is left: a
        fresh lock, and a compile queued or running in the parent (the child's broker
        starts empty, the parent's thread is gone) is asked for again by the next call.
        Installed code keeps serving: it is in the child's memory too."""
        self._lock = threading.RLock()
        if self.osr is not None:
            self.osr.after_fork_child()
        if self.state in (S.QUEUED, S.COMPILING):
            self.ticket += 1
            self._move(S.COMPILED if self.code is not None else S.INTERPRETED)
            self.paused_tier = self.job_tier
            self._arm(self.calls + 1)

    def invalidate(self, reason: str = "invalidated") -> None:
        with self._lock:
            self.ticket += 1
            self._install(None)
            self._arm(None)
            self.tier_code.clear()
            self._move(S.INVALID)
            self.reason = reason

