"""numba's nopython pipeline with autotier's screen between its stages.

numba types a function, then lowers it to LLVM IR and compiles it; the checks of
:mod:`autotier.backends.numba_semantics` need only the typed IR.  So the screen runs
inside numba's pipeline: right after type inference (on the typed IR before numba's
rewrites: a risk seen there declines at once, which is never wrong) and again once
numba annotated the types (the very typed IR a finished compile keeps, which decides).
A function it declines is never lowered nor compiled by LLVM: on generated chains of
200 and 400 ``if`` statements that is 0.79 of 1.19 s and 2.19 of 2.96 s of CPU
(typing itself, which compiles the overloads of list methods a function uses, takes
the rest).

numba cannot be interrupted (it runs in the broker thread, holding LLVM's lock), so
its time is bounded at the stage boundaries: after typing and after the screen, a
compile that has used more than ``BUDGET_S`` seconds of the thread's CPU stops
(:class:`Stopped`, the reason recorded on the bead), before the next, longer stage.
What a stage may cost is bounded before numba starts: by the bytecode screen and its
size limit (``numba_semantics.prescreen``).

The screen and the budget of the compile running on this thread are thread-local
(numba's passes are instantiated by its pass manager, with no arguments).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import AnalysisPass, register_pass
from numba.core.typed_passes import AnnotateTypes, NopythonTypeInference

#: CPU seconds a numba compile may use before a stage boundary stops it
BUDGET_S = 3.0

Screen = Callable[[Any, Any], "str | None"]  # (return type, type annotation) -> risk


class Stopped(Exception):
    """The screen declined the function (``risk``), or the compile ran out of time."""

    def __init__(self, reason: str, risk: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.risk = risk


class _Current(threading.local):
    screen: Screen | None = None
    started: float = 0.0
    budget: float = BUDGET_S


_CURRENT = _Current()


@contextmanager
def screened(screen: Screen, budget: float | None = None) -> Iterator[None]:
    """Compiles on this thread meanwhile run ``screen`` and stop past ``budget``
    CPU seconds (default ``BUDGET_S``)."""
    _CURRENT.screen, _CURRENT.started = screen, time.thread_time()
    _CURRENT.budget = BUDGET_S if budget is None else budget
    try:
        yield
    finally:
        _CURRENT.screen = None


def spent() -> float:
    """CPU seconds the compile running on this thread has used."""
    return time.thread_time() - _CURRENT.started


def _check_budget(stage: str) -> None:
    used = spent()
    if _CURRENT.screen is not None and used > _CURRENT.budget:
        raise Stopped(f"numba's compile was stopped after {stage}: {used:.1f} s of CPU > "
                      f"{_CURRENT.budget:.1f} s", risk=False)


def _screen(result: Any, annotation: Any) -> None:
    screen = _CURRENT.screen
    if screen is not None:
        risk = screen(result, annotation)
        if risk is not None:
            raise Stopped(risk, risk=True)


@register_pass(mutates_CFG=False, analysis_only=True)
class AutotierAfterTyping(AnalysisPass):
    _name = "autotier_after_typing"

    def __init__(self) -> None:
        AnalysisPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        # the typed IR before numba's rewrites: a risk seen here declines at once
        # (declining is never wrong); the screen after AnnotateTypes sees the final IR
        _screen(state.return_type, SimpleNamespace(
            blocks=state.func_ir.blocks, typemap=state.typemap, calltypes=state.calltypes))
        _check_budget("typing")
        return False


@register_pass(mutates_CFG=False, analysis_only=True)
class AutotierScreen(AnalysisPass):
    _name = "autotier_screen"

    def __init__(self) -> None:
        AnalysisPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        _screen(state.return_type, state.type_annotation)
        _check_budget("typing and the screen")
        return False


class ScreenedCompiler(CompilerBase):
    """numba's nopython pipeline, with the budget checked after typing and the
    screen run once the types are annotated, before lowering."""

    def define_pipelines(self) -> list[Any]:
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(AutotierAfterTyping, NopythonTypeInference)
        pm.add_pass_after(AutotierScreen, AnnotateTypes)
        pm.finalize()
        return [pm]


__all__ = ["BUDGET_S", "ScreenedCompiler", "Stopped", "screened", "spent"]
