"""Calls that left a bead's native fast path (see :mod:`autotier.runtime.bead`).

Native code calls ``on_bail`` with a ``Bail`` code: a promotion at the trigger, new
code, a deep recursion, or a bailout, which the deopt policy decides (``_apply``);
a precise deopt also returns the call that finishes the call in the interpreter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from autotier.abi import ANSWERS, Status
from autotier.deopt import Action, BailoutEvent, resume, sites
from autotier.dispatch.entry import Bail
from autotier.runtime import elements
from autotier.runtime.beadcore import S
from autotier.runtime.compiles import Compiles
from autotier.runtime.signature import call_kinds, has_room, why_not

log = logging.getLogger("autotier")

# promotions failed on their argument types before the bead gives up (at the calls
# that reach 1, 2, 4 and 8 times the threshold): the name goes back to the function
TYPE_LOOKS = 4


class SlowPath(Compiles):
    """What a call that left native code decides (``on_bail``), and the deopt
    policy's actions."""

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
