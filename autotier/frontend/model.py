"""What the frontend hands back: the lowered module and the namespace entries it relied on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType, FunctionType

from autotier.abi import RECORD_HEADER, ArgKind


class _Missing:
    """Marks a name that was absent from a namespace at compile time."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class GlobalDep:
    """Something the compiled code assumed about a namespace.

    ``namespace`` is a module's globals dict, the builtins dict, or a module's
    ``__dict__`` (``math.__dict__``); ``value`` is the object bound to ``name`` at
    compile time (compared by identity), or :data:`MISSING` when the name was absent
    (the code relied on it being absent: a builtin not shadowed by a global).
    """

    namespace: dict[str, object]
    name: str
    value: object

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, GlobalDep)
            and self.namespace is other.namespace
            and self.name == other.name
            and self.value is other.value
        )

    def __hash__(self) -> int:
        return hash((id(self.namespace), self.name, id(self.value)))

    def __repr__(self) -> str:
        where = self.namespace.get("__name__", f"dict@{id(self.namespace):#x}")
        return f"GlobalDep({where}.{self.name} = {self.value!r})"

    def holds(self) -> bool:
        """True while the namespace still binds ``name`` to the same object."""
        return self.namespace.get(self.name, MISSING) is self.value


@dataclass(frozen=True)
class LoweredModule:
    ir: str  # textual LLVM IR of the whole module
    body: str  # symbol of the exported root body (external linkage)
    arg_kinds: tuple[ArgKind, ...]
    deps: tuple[GlobalDep, ...]
    dumps: Mapping[str, str]  # "bytecode", "ir", "llvm"
    # (callee, its __defaults__ tuple) for native calls compiled with a default
    defaults: tuple[tuple[FunctionType, tuple[object, ...]], ...] = ()
    # (callee, its __code__ as compiled) for every function native calls reach
    codes: tuple[tuple[FunctionType, CodeType], ...] = ()
    # the deopt sites (autotier.deopt.sites.Site) of the module, and the deopt record
    # words its body may write (autotier.abi, "Deopt records")
    sites: tuple[object, ...] = ()
    record_words: int = RECORD_HEADER
    finishes_callees: bool = False  # a body may ask the record's keeper (abi)
    # the functions called natively, then those called through the C API (with
    # " (interpreted)"), by qualname: ``stats().callees``
    callees: tuple[str, ...] = ()
