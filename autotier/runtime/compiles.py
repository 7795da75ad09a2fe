"""Compiles a bead asks for and lands (see :mod:`autotier.runtime.bead`).

A ``CompileJob`` goes to the broker (``_queue``, lock held); the broker thread runs it
without the bead lock (``_run_job``) and takes the lock again only to install what it
made or record why it made nothing (``_land``).  A reload asks for the compile again
from the function's current code.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from autotier.abi import Kind
from autotier.backends.base import (
    Cancelled,
    CompiledCode,
    CompileError,
    CompileRequest,
    Signature,
    Stale,
)
from autotier.broker import pacing
from autotier.runtime import elements
from autotier.runtime.beadcore import BeadCore, S
from autotier.runtime.signature import call_kinds, has_room, why_not

log = logging.getLogger("autotier")

RETRY_AFTER_FULL_QUEUE = 1000  # calls before retrying a submit the queue refused
# calls before compiling again after a compile raced with a rebound global; doubles
# (up to 2**10 times) while compiles keep going stale
RETRY_AFTER_STALE = 1000

@dataclass(frozen=True, eq=False)
class CompileJob:
    """One compile for the broker; installs only if ``ticket`` is still current."""

    bead: Compiles
    ticket: int
    tier: int
    signatures: tuple[Signature, ...]
    int_bits: int = 64  # how native code is to hold ints (CompileRequest.int_bits)
    elements: tuple[tuple[int | str, frozenset[Kind]], ...] = ()  # CompileRequest.elements

    def run(self) -> None:
        self.bead._run_job(self)

    def cancel(self) -> None:
        self.bead._cancel_job(self)


class Compiles(BeadCore):
    """Queueing a compile, running it on the broker thread, landing its result."""

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
                                 job.int_bits, job.elements,
                                 once=self.paced)  # an OSR entry: called once a call
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
