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

States (``BeadState``; every change goes through ``_move`` and the table below)::

    interpreted -> queued -> compiling -> compiled
         ^           |  ^        |  |         |  \\
         |           v  |        v  v         v   \\ bailout: recompile -> queued
         +----- (queue full, stale ticket, pause, reload) ----+   (old code serves)
    failed      : no backend could compile it (reason kept); reload retries
    blacklisted : the deopt policy gave up: interprets for good
    invalid     : invalidated by the user, or the function was dropped

Locks: ``Bead._lock`` guards every field below except the call counter, which lives
in the decorated object and is only touched while holding the GIL (by native code
or by member access).  The lock is never held while calling user code or a backend.
Installing code is one store of the entry address (``HotFunction._vectorcall``).

Code lifetime: the bead holds the CompiledCode it installed (``code``) and the ones it
may reinstall (``tier_code``); a CompiledCode nobody holds any more has its machine
code freed once no call is running it (``autotier.jit.engine``).  So the vectorcall
slot must never hold the entry of code the bead dropped: ``_install`` stores the new
entry before it lets go of the old code.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from types import FunctionType
from typing import Any

from autotier.abi import ANSWERS, Kind, Status
from autotier.backends.base import (
    Cancelled,
    CompiledCode,
    CompileError,
    CompileRequest,
    Signature,
    Stale,
)
from autotier.broker import pacing
from autotier.deopt import Action, BailoutEvent, DeoptPolicy, resume, sites
from autotier.dispatch import build
from autotier.dispatch.entry import Bail
from autotier.dispatch.hotobject import NEVER, HotFunction
from autotier.osr.state import OsrState
from autotier.runtime import elements
from autotier.runtime.policy import HotnessPolicy
from autotier.runtime.signature import call_kinds, has_room, why_not
from autotier.runtime.unwrap import Rebinding, unwrap

log = logging.getLogger("autotier")

RETRY_AFTER_FULL_QUEUE = 1000  # calls before retrying a submit the queue refused
# calls before compiling again after a compile raced with a rebound global; doubles
# (up to 2**10 times) while compiles keep going stale
RETRY_AFTER_STALE = 1000
# promotions failed on their argument types before the bead gives up (at the calls
# that reach 1, 2, 4 and 8 times the threshold): the name goes back to the function
TYPE_LOOKS = 4


class BeadState(Enum):
    INTERPRETED = "interpreted"
    QUEUED = "queued"
    COMPILING = "compiling"
    COMPILED = "compiled"
    BLACKLISTED = "blacklisted"
    FAILED = "failed"
    INVALID = "invalid"


S = BeadState
TRANSITIONS: dict[BeadState, frozenset[BeadState]] = {
    S.INTERPRETED: frozenset({S.QUEUED, S.FAILED, S.INVALID}),
    S.QUEUED: frozenset({S.COMPILING, S.INTERPRETED, S.COMPILED, S.BLACKLISTED, S.INVALID}),
    S.COMPILING: frozenset({S.COMPILED, S.FAILED, S.INTERPRETED, S.BLACKLISTED, S.INVALID}),
    S.COMPILED: frozenset({S.QUEUED, S.INTERPRETED, S.BLACKLISTED, S.INVALID}),
    S.FAILED: frozenset({S.INTERPRETED, S.INVALID}),
    S.BLACKLISTED: frozenset({S.INVALID}),
    S.INVALID: frozenset(),
}


class IllegalTransition(RuntimeError):
    pass


Compiler = Callable[[CompileRequest], CompiledCode]
Submit = Callable[["CompileJob"], bool]


@dataclass(frozen=True, eq=False)
class CompileJob:
    """One compile for the broker; installs only if ``ticket`` is still current."""

    bead: Bead
    ticket: int
    tier: int
    signatures: tuple[Signature, ...]
    int_bits: int = 64  # how native code is to hold ints (CompileRequest.int_bits)
    elements: tuple[tuple[int | str, frozenset[Kind]], ...] = ()  # CompileRequest.elements

    def run(self) -> None:
        self.bead._run_job(self)

    def cancel(self) -> None:
        self.bead._cancel_job(self)


class Bead:
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
        # (autotier.broker.pacing)
        self.paced = False
        self._arm(hotness.promote_at(0))

    def start_osr(self, loop_threshold: int) -> bool:
        """Count loop iterations too (``autotier.osr``): the hot object's trampoline
        runs the function's copy with loop probes, if the screen takes it.  Whether it
        did (the decorator then imports the compiler ahead: ``backends.prepare``)."""
        with self._lock:
            self.osr = OsrState(self, loop_threshold)
            self.osr.start()
            return self.osr.made is not None

    def compile_for(self, args: tuple[Any, ...]) -> None:
        """Queue a compile for these arguments' kinds now (an OSR child, which is
        compiled when its parent's probe asks, never by its calls)."""
        with self._lock:
            if self.state is not S.INTERPRETED:
                return
            kinds = call_kinds(self.func, args, {})
            if kinds is None:
                self._move(S.FAILED)
                self.reason = why_not(self.func, args, {})
                return
            self._speculate(args)
            self._queue(self.hotness.max_tier, (kinds,), self.calls)

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

    # ------------------------------------------------------------ slow path
    def on_bail(self, code: int, *args: Any, **kwargs: Any) -> Any:
        """Bookkeeping for a call that left the native fast path.

        Called by native code with the Bail code and the call's arguments (the bound
        ones for a type bailout); the native code then calls the original function
        itself, so the interpreter answers the call with exactly one Python frame, as
        undecorated.

        A body that ran out of native frames (``Status.RECURSION``: the recursion is
        deeper than the frame budget, the interpreter's remaining depth or the C stack
        left) made no failed speculation: that call finishes in the interpreter, the
        code stays installed, and only ``deep_calls`` counts it, never the deopt policy.
        """
        if code == Bail.DEOPT:
            return self._on_deopt(args[0])
        if code == Bail.CALLEE:
            return self._on_deopt(args[0])  # its caller makes the call and goes on
        if code == Bail.HOT:
            self._on_hot(args, kwargs)
            self._give_name_back()  # the promotion gave up for good (TYPE_LOOKS)
        elif code == Bail.CODE:
            self._on_new_code()
        elif Bail.status(code) is Status.RECURSION:
            with self._lock:
                self.deep_calls += 1
        else:
            self._on_bailout(code, args)
            self._give_name_back()

    def _on_deopt(self, address: int) -> Callable[[], Any]:
        """A body deoptimised precisely and left its frames in the deopt record at
        ``address``: decide as for any bailout (by the innermost frame's status), and
        return the call that finishes the call in the interpreter, from the failing
        instruction on (:mod:`autotier.deopt.resume`); the entry makes it."""
        status, frames = sites.read_record(address)
        finish = resume.finish(frames)
        reason = Status(status)
        if reason is Status.RESULT:  # a callee's outcome its native caller cannot take:
            return finish  # the callee's failure was decided (and counted) already
        if reason is Status.HANDBACK:  # an OSR entry's planned end: nothing failed
            return finish
        with self._lock:
            self.resumes += 1
        if reason is Status.FORCED:
            return finish  # a test's forced deopt: no speculation failed
        if reason is Status.RECURSION:  # a native callee found no frames left
            with self._lock:
                self.deep_calls += 1
            return finish
        # the frame that failed (after a C-API call's outcome, the call's own frame)
        innermost = next(f for f in frames if isinstance(f, sites.Frame))
        result: elements.Elements | None = None
        outcome = frames[0]
        if (reason is Status.ELEMENT and isinstance(outcome, sites.Outcome)
                and not outcome.raised and innermost.site.func is self.func):
            # a call's or read's object the code could not take: the next compile
            # speculates what it was (frontend.results)
            result = elements.sample_result(outcome.value, innermost.site.offset)
        elif reason is Status.ELEMENT and innermost.site.func is self.func:
            with self._lock:  # an element of a sequence a site answered, of another class
                speculated = dict(self.elements)
            result = elements.resample_held(speculated, innermost.values)
        self._on_bailout(Bail.GLOBALS if reason is Status.STALE else Bail.NATIVE + reason, (),
                         innermost.site, result)
        self._give_name_back()
        return finish

    def _on_new_code(self) -> None:
        """The function's ``__code__`` was replaced (IPython's autoreload does so): the
        installed code is stale.  Not a bailout (the user changed the function): it is
        recompiled from the new code, as by ``reload``."""
        with self._lock:
            if self.code is not None and self.state not in (S.BLACKLISTED, S.INVALID):
                log.debug("autotier: %s has new code: recompiling", self.qualname)
                self.reload()

    def on_code_assigned(self) -> None:
        """``__code__`` was assigned through the hot function: start again from the
        new code at once, as a reload does (a failed or interpreted bead too: a code
        object of another arity made it fail, and the old one may come back)."""
        with self._lock:
            if self.state not in (S.BLACKLISTED, S.INVALID):
                log.debug("autotier: %s was given new code", self.qualname)
                self.reload()

    def _on_hot(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        with self._lock:
            calls = self.calls
            if self.state is S.FAILED and self.retry_types:
                self._retry_promotion(args, kwargs, calls)
                return
            if self.state not in (S.INTERPRETED, S.COMPILED):
                self._arm(None)
                return
            if self.paused_tier is not None:  # a pause ended, or a full queue retries
                tier, self.paused_tier = self.paused_tier, None
                kinds = call_kinds(self.func, args, kwargs)
                signatures = self.signatures or ((kinds,) if kinds is not None else ())
                if signatures:
                    self._queue(tier, signatures, calls)
                    return
            if self.state is S.INTERPRETED:
                kinds = call_kinds(self.func, args, kwargs)
                if kinds is None:
                    self._move(S.FAILED)
                    self._fail_types(args, kwargs, calls)
                    return
                self._speculate(args, kwargs)
                self._queue(self.tier + 1, (kinds,), calls)
            elif self.tier < self.hotness.max_tier:
                self._queue(self.tier + 1, self.signatures, calls)
            else:
                self._arm(None)

    def _fail_types(self, args: tuple[Any, ...], kwargs: dict[str, Any], calls: int
                    ) -> None:
        """The promoting call's arguments cannot be compiled (lock held, FAILED): say
        why, and look again at the call twice as many calls from now; after
        ``TYPE_LOOKS`` such looks, give up (until a reload): the name the decorator
        bound goes back to the plain function, which then costs what it costs
        undecorated (a method whose ``self`` no backend takes, say)."""
        self.reason = why_not(self.func, args, kwargs)
        self.type_looks += 1
        if self.type_looks >= TYPE_LOOKS:
            self.retry_types = False
            self.reason += f" (looked {self.type_looks} times: not again until a reload)"
            self._arm(None)
            return
        self.retry_types = True
        self._arm(2 * max(calls, 1))

    def _retry_promotion(self, args: tuple[Any, ...], kwargs: dict[str, Any], calls: int
                         ) -> None:
        kinds = call_kinds(self.func, args, kwargs)
        if kinds is None:
            self._fail_types(args, kwargs, calls)
            return
        self.retry_types = False
        self.reason = None
        self._move(S.INTERPRETED)
        self._speculate(args, kwargs)
        self._queue(1, (kinds,), calls)

    def _speculate(self, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
        """Add what this call's list and tuple arguments hold to the element kinds the
        code speculates (lock held), unless an ELEMENT bailout ended speculating."""
        if not self.elements_widened:
            self.elements = elements.merge(self.elements, elements.sample(self.func, args,
                                                                          kwargs))

    def _queue(self, tier: int, signatures: tuple[Signature, ...], calls: int) -> None:
        """Submit a compile (lock held); on a full queue, retry some calls later."""
        self.paused_tier = None  # this compile is the one a pause waited for
        self.job_tier = tier
        self.ticket += 1
        self.signatures = signatures  # what the bead is (being) specialised for
        job = CompileJob(self, self.ticket, tier, signatures, self.int_bits,
                         elements.as_request(self.elements))
        self._move(S.QUEUED)
        self._arm(None)
        if not self._submit(job):
            self.ticket += 1
            self._move(S.COMPILED if self.code is not None else S.INTERPRETED)
            self.paused_tier = tier
            self._arm(calls + RETRY_AFTER_FULL_QUEUE)

    def _on_bailout(self, code: int, args: tuple[Any, ...], site: sites.Site | None = None,
                    result: elements.Elements | None = None) -> None:
        """Count and decide a failed speculation; ``result``: what an ELEMENT bailout's
        object at a site of the root was seen to be (``elements.sample_result``)."""
        with self._lock:
            installed = self.code
            if installed is None:
                return  # raced with an uninstall: nothing to decide
            if Bail.status(code) in ANSWERS:
                # CPython raises here: an answer of the function (one that sometimes
                # divides by zero is ordinary Python), not a failed speculation; no
                # recompile could answer it, so the code stays and the policy never hears
                self.exceptions += 1
                return
            if code == Bail.GLOBALS:
                stale = [n for g in installed.guards for n in g.revalidate()]
                if not stale:
                    return  # another global changed; the guard holds again
                self.ticket += 1
                self._install(None)
                self._move(S.INTERPRETED)
                reason = "rebound global " + ", ".join(sorted(stale))
            elif code == Bail.TYPES:
                kinds = call_kinds(self.func, args)
                if kinds is None:  # an int past 64 bits: no compile can take it
                    return  # not a guard failure; the interpreter answers the call
                if kinds in self.signatures or kinds in self.declined:
                    return  # a compile that serves them is on its way, or none can
                if has_room(self.signatures, kinds):
                    # more kinds to serve, not a failed speculation: specialise for
                    # them too (up to MAX_SPECIALISATIONS, bools riding on ints; past
                    # that the deopt policy decides)
                    self.signatures = (*self.signatures, kinds)
                    self._speculate(args)
                    log.debug("autotier: %s specialises for %s", self.qualname, kinds)
                    if self.state in (S.COMPILED, S.INTERPRETED):
                        self._queue(max(self.tier, 1), self.signatures, self.calls)
                    return
                reason = "types (" + ", ".join(type(a).__name__ for a in args) + ")"
            else:
                status = Bail.status(code)
                if (status is Status.INT64_OVERFLOW and installed.int_bits == 64
                        and not self.wide_failed):
                    if self.int_bits == 128 and self.state in (S.QUEUED, S.COMPILING):
                        return  # the i128 compile that answers it is on its way
                    self.int_bits = 128  # recompiles hold ints as i128
                if status is Status.ELEMENT:  # recompiles take any int, float or bool
                    self.elements_widened = True
                    self.elements = elements.widened(self.elements)
                    if result is not None:
                        self.elements = elements.with_result(self.elements, result)
                if status in (Status.OVERFLOW, Status.INT64_OVERFLOW):
                    reason = "overflow"
                else:
                    reason = status.name.lower() if status is not None else f"code {code}"
            self.bailouts += 1
            self.last_bailout = reason
            self.last_bailout_site = site
            event = BailoutEvent(self.bailouts, self.tier, self.calls, self.recompiles,
                                 self.reverts, reason)
            decision = self.deopt.decide(event)
            log.debug("autotier: %s bailout (%s): %s", self.qualname, reason,
                      decision.action.value)
            self._apply(decision.action, decision.until_calls)

    def _apply(self, action: Action, until: int | None) -> None:
        if action is Action.BLACKLIST:
            self.ticket += 1
            self._install(None)
            self._arm(None)
            self._move(S.BLACKLISTED)
            self.reason = f"blacklisted after {self.bailouts} bailouts (last: {self.last_bailout})"
        elif action is Action.PAUSE:
            self.recompiles += 1
            self.ticket += 1
            self._install(None)
            self._move(S.INTERPRETED)
            self.paused_tier = max(self.tier, 1)
            self._arm(until if until is not None else self.calls + 1)
        elif action is Action.REVERT_TIER:
            self.reverts += 1
            self.ticket += 1
            tier1 = self.tier_code.get(1)
            if (tier1 is not None and tier1.int_bits == self.int_bits
                    and not any(g.revalidate() for g in tier1.guards)):
                self._install(tier1)
                self.tier = 1
                self._move(S.COMPILED)
                self._arm(None)
            else:
                self._install(None)
                self._move(S.INTERPRETED)
                self._queue(1, self.signatures, self.calls)
        elif self.state in (S.COMPILED, S.INTERPRETED):  # RECOMPILE
            self.recompiles += 1
            self._queue(max(self.tier, 1), self.signatures, self.calls)

    # ------------------------------------------------------------ broker side
    def _run_job(self, job: CompileJob) -> None:
        with self._lock:
            if job.ticket != self.ticket or self.state is not S.QUEUED:
                return  # stale: a reload, invalidate or newer submit replaced it
            self._move(S.COMPILING)
            hf = self._hf()
        if hf is None:
            with self._lock:
                self._move(S.INVALID)
            return
        # A quick tier is O1: on this IR, O0 compiles slower than O1 (it leaves more
        # for code generation) and runs far slower.
        opt = 2 if job.tier >= self.hotness.max_tier else 1
        request = CompileRequest(self.func, job.signatures, job.tier, opt, self._dump,
                                 job.int_bits, job.elements)
        started = time.perf_counter()
        error: str | None = None
        compiled: CompiledCode | None = None
        later = False  # not a failure: compile again later
        try:
            with pacing.PACER.paced() if self.paced else contextlib.nullcontext():
                pacing.checkpoint()
                compiled = self._compiler(request)
        except Stale as exc:  # what it assumed changed meanwhile: a race, not an error
            error, later = str(exc), True
        except Cancelled:  # the interpreter is exiting
            later = True
        except CompileError as exc:
            error = str(exc) or type(exc).__name__
        except Exception as exc:  # a backend bug: record it, never kill the broker
            log.exception("autotier: compiling %s crashed", self.qualname)
            error = f"internal error: {type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000.0
        self._land(job, request, compiled, error, later, elapsed)
        self._give_name_back()

    def _land(self, job: CompileJob, request: CompileRequest,  # noqa: PLR0917
              compiled: CompiledCode | None, error: str | None, later: bool,
              elapsed: float) -> None:
        """Install what a compile made, or record why it made nothing."""
        with self._lock:
            self.compile_ms += elapsed
            if job.ticket != self.ticket or self.state is not S.COMPILING:
                return  # a reload or invalidate arrived mid-compile: discard
            if later:
                self._compile_later(job, error)
                return
            if compiled is None and self._keep_serving(job, error):
                return
            if compiled is None:
                self._install(None)
                self._arm(None)
                self._move(S.FAILED)
                self.reason = error
                self.tier = 0
                return
            # The entry embeds the addresses of request.code and request.defaults (and
            # the defaults' items): keep them alive with the code.
            compiled = replace(compiled, keepalive=(*compiled.keepalive, request.code,
                                                    request.defaults))
            # kinds type bailouts asked for while this compile ran: compile them next
            pending = [k for k in self.signatures if k not in compiled.signatures]
            self.tier = job.tier
            self.stale_streak = 0
            self.signatures = compiled.signatures
            self.tier_code[job.tier] = compiled
            self.reason = compiled.note
            self._install(compiled)
            self._move(S.COMPILED)
            self._arm(self.hotness.promote_at(job.tier) if job.tier < self.hotness.max_tier
                      else None)
            log.debug("autotier: %s compiled by %s at tier %d in %.1f ms", self.qualname,
                      compiled.backend, job.tier, elapsed)
            wanted = compiled.signatures
            for kinds in pending:
                if has_room(wanted, kinds):
                    wanted = (*wanted, kinds)
            if wanted != compiled.signatures:
                self._queue(job.tier, wanted, self.calls)

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
        from autotier.runtime import registry  # registry imports this module

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

    def _compile_later(self, job: CompileJob, stale: str | None) -> None:
        """The compile raced with a rebound global (``stale`` says which) or was
        cancelled at exit (None): no failure (lock held, COMPILING).  Installed code
        keeps serving (its own guards see a rebinding); the same compile is asked for
        again by a later call: after RETRY_AFTER_STALE calls, doubling while compiles
        keep going stale (a global rebound on every call never costs a compile each)."""
        self.ticket += 1
        self._move(S.COMPILED if self.code is not None else S.INTERPRETED)
        self.paused_tier = job.tier
        if stale is None:
            self._arm(self.calls + 1)
            return
        self.stale_streak += 1
        self.reason = f"{stale}; compiling again later"
        self._arm(self.calls + (RETRY_AFTER_STALE << min(self.stale_streak - 1, 10)))
        log.debug("autotier: %s: %s", self.qualname, self.reason)

    def _keep_serving(self, job: CompileJob, error: str | None) -> bool:
        """A compile that only added specialisations, or only widened the ints, failed
        (lock held): keep the installed code serving what it serves, leave the rest to
        the interpreter, and say so in the reason."""
        previous = self.code
        if previous is None:
            return False
        if job.int_bits > previous.int_bits and set(job.signatures) == set(previous.signatures):
            self.int_bits, self.wide_failed = previous.int_bits, True
            self.reason = f"not recompiled with {job.int_bits}-bit ints: {error}"
        elif set(previous.signatures) < set(job.signatures):
            added = [k for k in job.signatures if k not in previous.signatures]
            self.declined.update(added)
            self.signatures = previous.signatures
            names = ", ".join("(" + ", ".join(k.pytype.__name__ for k in sig) + ")"
                              for sig in added)
            self.reason = f"not specialised for {names}: {error}"
        else:
            return False
        self._move(S.COMPILED)
        self._arm(self.hotness.promote_at(self.tier) if self.tier < self.hotness.max_tier
                  else None)
        log.debug("autotier: %s keeps its code; %s", self.qualname, self.reason)
        return True

    def _cancel_job(self, job: CompileJob) -> None:
        with self._lock:
            if job.ticket == self.ticket and self.state is S.QUEUED:
                self.ticket += 1
                self._move(S.COMPILED if self.code is not None else S.INTERPRETED)

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

    def reload(self) -> bool:
        """Recompile from the function's current code; True if a compile was queued.

        The installed code was compiled from the old code, so it stops serving at
        once; the bead interprets until the new compile lands.  A compile still
        running is discarded when it finishes (its ticket is stale).
        """
        with self._lock:
            if self.state in (S.BLACKLISTED, S.INVALID):
                return False
            if self.rebound is not None:  # the decorator's name holds the hot object again
                self.rebound.restore()
                self.rebound = None
            self.ticket += 1
            self._install(None)
            self.tier_code.clear()
            self.paused_tier = None
            self.int_bits = 64
            self.wide_failed = False
            self.retry_types = False
            self.type_looks = 0
            self.declined.clear()
            if self.state is not S.INTERPRETED:
                self._move(S.INTERPRETED)
            self.reason = None
            if self.osr is not None:
                self.osr.restart()
            argcount = self.func.__code__.co_argcount
            if any(len(sig) != argcount for sig in self.signatures):
                # a __code__ of another arity: the kinds seen were for other parameters
                self.signatures = ()
            if not self.signatures:
                self.tier = 0
                self._arm(self.hotness.promote_at(0))
                return False
            self._queue(max(self.tier, 1), self.signatures, self.calls)
            return True

    def invalidate(self, reason: str = "invalidated") -> None:
        with self._lock:
            self.ticket += 1
            self._install(None)
            self._arm(None)
            self.tier_code.clear()
            self._move(S.INVALID)
            self.reason = reason


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


__all__ = ["TRANSITIONS", "Bead", "BeadState", "CompileJob", "IllegalTransition", "Status"]
