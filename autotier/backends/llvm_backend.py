"""The llvm backend: autotier's frontend lowers the function, the entry guards it.

One lowering per signature (argument kinds); the bodies and the entry are linked into
one LLVM module, so the optimiser can inline each body into the entry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from types import CodeType, FunctionType
from typing import TYPE_CHECKING

from autotier.abi import ArrayKind, InstanceKind, Kind, NumpyKind
from autotier.backends.base import (
    CompiledCode,
    CompileRequest,
    NativeSpec,
    Signature,
    Stale,
    Unsupported,
)
from autotier.broker import pacing
from autotier.deopt import resume
from autotier.dispatch import build
from autotier.dispatch.entry import Specialisation
from autotier.dispatch.guards import MISSING
from autotier.lazytexts import LazyTexts

if TYPE_CHECKING:
    from autotier.frontend.model import LoweredModule


def _merge_bindings(
    deps: Iterable[object],
) -> list[tuple[dict[str, object], dict[str, object]]]:
    from autotier import frontend

    by_ns: dict[int, tuple[dict[str, object], dict[str, object]]] = {}
    for dep in deps:
        assert isinstance(dep, frontend.GlobalDep)
        _, names = by_ns.setdefault(id(dep.namespace), (dep.namespace, {}))
        value = MISSING if dep.value is frontend.MISSING else dep.value
        if names.get(dep.name, value) is not value:
            # rebound between the lowerings of two signatures: one guard cannot
            # vouch for both bodies
            raise Stale(f"globals changed during the compile: {dep.name}")
        names[dep.name] = value
    return list(by_ns.values())


def _merge_codes(codes: Iterable[tuple[FunctionType, CodeType]]
                 ) -> list[tuple[FunctionType, CodeType]]:
    """One (callee, code) per callee; a callee whose ``__code__`` was replaced between
    the lowerings of two signatures makes the compile stale, as a rebound global does."""
    merged: dict[int, tuple[FunctionType, CodeType]] = {}
    for func, code in codes:
        if merged.setdefault(id(func), (func, code))[1] is not code:
            raise Stale(f"the code of {func.__qualname__} changed during the compile")
    return list(merged.values())


class LLVMBackend:
    name = "llvm"

    def compile(self, request: CompileRequest) -> CompiledCode:
        from autotier import frontend

        func = request.func
        lowered = []
        for kinds in request.signatures:
            pacing.checkpoint()  # an OSR compile: the loop it is for gets its share
            try:
                lowered.append(frontend.lower(func, kinds, int_bits=request.int_bits,
                                              elements=dict(request.elements)))
            except frontend.Unsupported as exc:
                raise Unsupported(exc.reason) from None
        specs = [Specialisation(lm.arg_kinds, body=lm.body, record_words=lm.record_words,
                                finishes_callees=lm.finishes_callees)
                 for lm in lowered]
        bindings = _merge_bindings(dep for lm in lowered for dep in lm.deps)
        built = build.build_entry(
            func.__name__,
            request.code.co_argcount,
            specs,
            bindings,
            [lm.ir for lm in lowered],
            opt=request.opt,
            want_asm="asm" in request.dump,
            extra_symbols=[lm.body for lm in lowered],
            code=request.code,
            defaults=request.defaults,
            # by identity: a defaults tuple may hold unhashable values of other parameters
            callee_defaults=list({(id(f), id(d)): (f, d) for lm in lowered
                                  for f, d in lm.defaults}.values()),
            callee_codes=_merge_codes(c for lm in lowered for c in lm.codes),
            once=request.once,
        )
        dumps = _dumps(lowered, built.asm)
        pacing.checkpoint()
        # the deopt sites' resume functions, off the path of the call that first deopts
        resume.prepare(site for lm in lowered for site in lm.sites)
        natives = tuple(NativeSpec(lm.arg_kinds, built.extras[lm.body], None, True,
                                   built.native, lm.record_words) for lm in lowered)
        return CompiledCode(
            entry=built.entry,
            backend=self.name,
            signatures=tuple(lm.arg_kinds for lm in lowered),
            guards=built.guards,
            dumps=dumps,
            natives=natives,
            int_bits=request.int_bits,
            asm_source=(tuple(lm.ir for lm in lowered), request.opt),
            # the periodic checks embed the addresses of the names and values read
            # and the deopt sites its records name (autotier.deopt.sites holds them weakly)
            keepalive=tuple((lm.deps, lm.defaults, lm.codes, lm.sites) for lm in lowered),
            native=built.native,
            callees=tuple(dict.fromkeys(c for lm in lowered for c in lm.callees)),
        )


def _dumps(lowered: Sequence[LoweredModule], asm: str | None) -> LazyTexts:
    """Each stage's text over the signatures, made when read (``LazyTexts``)."""
    def stage_text(stage: str) -> str:
        return "".join(f"; {_sig_text(lm.arg_kinds)}\n{lm.dumps[stage]}\n"
                       for lm in lowered if stage in lm.dumps)

    stages = dict.fromkeys(stage for lm in lowered for stage in lm.dumps)
    makers: dict[str, Callable[[], str]] = {
        stage: functools.partial(stage_text, stage) for stage in stages}
    if asm:
        makers["asm"] = lambda: asm
    return LazyTexts(makers)


def _sig_text(kinds: Signature) -> str:
    return "(" + ", ".join(k.pytype.__name__ if isinstance(k, ArrayKind | NumpyKind | InstanceKind)
                           else Kind(k).pytype.__name__ for k in kinds) + ")"
