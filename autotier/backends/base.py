"""The one protocol every compiling backend implements, and what flows through it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Protocol

from autotier.abi import RECORD_HEADER, ArgKind, Kind
from autotier.dispatch.guards import NamespaceGuard

if TYPE_CHECKING:
    from autotier.jit.engine import NativeCode

Signature = tuple[ArgKind, ...]


class CompileError(Exception):
    """A backend failed on a function it accepted (the reason is kept on the bead)."""


class Abandoned(CompileError):
    """The compile stopped for a reason outside the function; no other backend is
    tried (it would stop for the same reason)."""


class Stale(Abandoned):
    """What the compile assumed (a global's value, a callee's code) changed while it
    compiled: a race, not an error.  The bead compiles it again later."""


class Cancelled(Abandoned):
    """The interpreter is exiting: the compile was abandoned before LLVM ran."""


class LLVMUnavailable(Abandoned):
    """LLVM cannot be used in this process (it was busy in another thread when the
    process forked); the reason is kept on the bead."""


class Unsupported(CompileError):
    """The backend declines this function; ``reason`` says why, for ``stats()``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CompileRequest:
    """What the broker asks a backend for."""

    func: FunctionType
    signatures: tuple[Signature, ...]  # argument kinds to specialise for, in order
    tier: int
    opt: int  # LLVM optimisation level: 1 for a quick tier, 2 for the last (optimising) one
    dump: frozenset[str] = frozenset()  # stages to keep text for: bytecode, ir, llvm, asm
    # How native code holds Python ints: 64, or 128 once the function's 64-bit code
    # bailed out on an overflow (backends that cannot hold wide ints ignore it).
    int_bits: int = 64
    # The kinds speculated for the elements of each list or tuple parameter: (position,
    # kinds) pairs; a parameter not named is speculated to hold ints, floats and bools.
    # Every element load checks its element; a failed check deoptimises (ELEMENT).
    elements: tuple[tuple[int | str, frozenset[Kind]], ...] = ()
    # True for an OSR entry: called once per call, it runs the rest of the call (the
    # backend may compile its argument checks quickly, apart from the body)
    once: bool = False
    # func.__code__ when the compile was asked for: the entry guards this one
    # snapshot.  If __code__ is replaced while the backend works, the entry bails
    # (Bail.CODE) on its first call and the bead recompiles: never new guards over old
    # code.  The bead keeps it alive with the installed code (its address is embedded).
    code: CodeType = field(init=False)
    # func.__defaults__ likewise: the entry binds defaults from this tuple and guards
    # that the function still has it (Bail.CODE otherwise); kept alive by the bead.
    defaults: tuple[object, ...] | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", self.func.__code__)
        object.__setattr__(self, "defaults", self.func.__defaults__)


@dataclass(frozen=True, eq=False)
class NativeSpec:
    """A ctypes-callable native function for one specialisation (``autotier.native``)."""

    kinds: Signature
    address: int
    restype: type | None  # ctypes result type, None if the result is a tagged Result
    body: bool  # True: the body ABI of autotier.abi (status, out, budget)
    native: NativeCode | None = None  # owns the code at ``address``: hold it while calling
    record_words: int = RECORD_HEADER  # the deopt record a body may write (autotier.abi)


@dataclass(frozen=True, eq=False)
class CompiledCode:
    """A finished compile: the guarded entry to install and what it relies on.

    ``native`` owns the machine code (None: it is never freed): the code is freed once
    no CompiledCode (nor ``autotier.native`` function) holds it and no call is running
    it.  The ``keepalive`` objects and ``guards`` are retained by ``native`` itself, so
    they outlive every call still running the code.
    """

    entry: int  # address of a vectorcall-shaped guarded entry
    backend: str
    signatures: tuple[Signature, ...]
    guards: tuple[NamespaceGuard, ...]
    dumps: Mapping[str, str] = field(default_factory=dict)
    natives: tuple[NativeSpec, ...] = ()
    keepalive: tuple[object, ...] = ()  # objects the native code points at
    note: str | None = None  # e.g. why the preferred backend declined
    int_bits: int = 64  # how this code holds ints (CompileRequest.int_bits, if honoured)
    # the LLVM IR of the bodies and the optimisation level, for ``explain()``'s assembly
    # when the compile did not keep it (AUTOTIER_DUMP without asm)
    asm_source: tuple[tuple[str, ...], int] | None = None
    native: NativeCode | None = None
    # qualnames of the functions compiled into this code besides the root (hot or plain
    # callees, called natively), then of those called through the C API
    # ("name (interpreted)"), for ``stats()``
    callees: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.native is not None:  # replace() adds keepalive objects: retain them too
            self.native.retain(self.guards, self.keepalive)


class Backend(Protocol):
    """Compiles a function for the requested signatures, or raises Unsupported."""

    name: str

    def compile(self, request: CompileRequest) -> CompiledCode: ...
