"""How CPython binds a call's arguments to a function's parameters, as positions.

Shared by the bead (which kinds a call asks for, :mod:`autotier.runtime.signature`)
and the frontend (native calls of hot functions, :mod:`autotier.frontend.calls`); the
native entry binds the same way in LLVM IR (:mod:`autotier.dispatch.binding`).
"""

from __future__ import annotations

from types import CodeType
from typing import Literal

#: Where parameter i's value comes from: ("arg", index into the call's arguments,
#: keywords' values following the positional ones) or ("default", index into
#: ``__defaults__``).
Source = tuple[Literal["arg", "default"], int]


class BindError(Exception):
    """The call does not bind: CPython raises TypeError for it."""


def bind_positions(code: CodeType, ndefaults: int, npositional: int,
                   kw_names: tuple[str, ...]) -> list[Source]:
    """The source of each of ``code``'s positional parameters for a call with
    ``npositional`` positional arguments and keywords ``kw_names`` (whose values follow
    them), ``ndefaults`` being ``len(__defaults__)``.  Raises BindError."""
    count = code.co_argcount
    if npositional + len(kw_names) > count:
        raise BindError(f"{npositional + len(kw_names)} arguments for {count} parameters")
    sources: list[Source | None] = [("arg", i) for i in range(npositional)]
    sources += [None] * (count - npositional)
    names = code.co_varnames[:count]
    for j, keyword in enumerate(kw_names):
        if keyword not in names[code.co_posonlyargcount:]:
            raise BindError(f"no parameter {keyword!r} to pass by keyword")
        index = names.index(keyword)
        if sources[index] is not None:
            raise BindError(f"parameter {keyword!r} given twice")
        sources[index] = ("arg", npositional + j)
    first = count - ndefaults
    out: list[Source] = []
    for i, source in enumerate(sources):
        if source is not None:
            out.append(source)
        elif i < first:
            raise BindError(f"no argument for parameter {names[i]!r}")
        else:
            out.append(("default", i - first))
    return out
