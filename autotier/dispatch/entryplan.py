"""What a guarded entry is built from (``EntryPlan``: its specialisations and the
namespaces it checks) and the codes its slow path tells the bead (``Bail``); see
:mod:`autotier.dispatch.entry`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from autotier import compat
from autotier.abi import (
    RECORD_HEADER,
    ArgKind,
    Status,
)
from autotier.dispatch.binding import BindingPlan


class Bail(IntEnum):
    """Why a call left the fast path (the first argument of ``_slow``)."""

    HOT = 1  # the call counter reached the trigger
    ARGS = 2  # keyword arguments or another arity: not a guard failure
    FOREIGN = 6  # an argument of a type native code never takes (str, numpy.float64 ...)
    TYPES = 3  # no specialisation matches the argument types
    GLOBALS = 4  # a namespace the code read changed (before the call or during a loop)
    CODE = 5  # the function's __code__ was replaced (autoreload): the code is stale
    TRACED = 7  # a trace or profile function or a monitoring tool: the interpreter runs it
    # the body deoptimised precisely: ``_slow(DEOPT, record address)`` returns the call
    # that finishes the call in the interpreter (autotier.deopt.resume)
    DEOPT = 8
    # a native callee deoptimised precisely: ``_slow(CALLEE, record address)`` decides
    # (as for DEOPT) and returns the call that finishes the callee's frames, which its
    # native caller makes and then goes on (autotier.frontend.finishing)
    CALLEE = 9
    NATIVE = 16  # NATIVE + Status: the native body bailed out

    @staticmethod
    def status(code: int) -> Status | None:
        """The body's Status for a NATIVE code, else None."""
        return Status(code - Bail.NATIVE) if code > Bail.NATIVE else None


@dataclass(frozen=True)
class Specialisation:
    """One set of exact argument kinds and what runs for it.

    Exactly one of ``body`` (the symbol of a native body obeying autotier.abi) and
    ``target`` (the address of a live Python callable that takes the same arguments
    and has no effects: when it raises an Exception, the interpreter re-runs the call)
    is set.
    """

    kinds: tuple[ArgKind, ...]
    body: str | None = None
    target: int | None = None
    record_words: int = RECORD_HEADER  # the deopt record the body may write (autotier.abi)
    # the body may ask the record's keeper to finish a deoptimised native callee: the
    # entry fills the header's keeper and budget words (autotier.abi, "Deopt records")
    finishes_callees: bool = False


@dataclass(frozen=True)
class NamespaceCheck:
    """A namespace the compiled code read: its dict's address, and the bindings the
    code assumed there, as (name, value or 0 for absent) addresses."""

    namespace: int
    bindings: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class EntryPlan:
    """Everything needed to generate one guarded entry."""

    name: str
    nargs: int
    specs: tuple[Specialisation, ...]
    namespaces: tuple[NamespaceCheck, ...]  # dicts whose version tag is checked
    code: int = 0  # address of the code object compiled (0: not checked)
    binding: BindingPlan | None = None  # None: positional calls of the right arity only
    # (function address, field offset, expected object address): a callee's
    # ``__defaults__`` or ``__code__`` that native calls were compiled with
    callee_fields: tuple[tuple[int, int, int], ...] = ()

    @property
    def arrays(self) -> bool:
        """Whether ndarray arguments may ask for a specialisation: numpy is imported
        (an entry built before it was treats them as foreign, as every other type)."""
        return compat.imported("numpy") is not None


def version_global_name(entry: str, index: int) -> str:
    """The LLVM global holding the expected version tag of namespace ``index``."""
    return f"{entry}__ver{index}"
