"""autotier's frontend: a Python function and its argument kinds -> an LLVM IR module.

The pipeline, one stage per module, each a plain function::

    decode      code object -> CFG of bytecode blocks          (decode.decode)
    stackflow   value-stack simulation -> SSA IR               (stackflow.build_ir)
    typeinfer   argument kinds -> kinds of every value         (typeinfer.infer)
    program     the callees, typed to a fixpoint               (program.build_program)
    lowering    typed IR -> llvmlite module                    (lowering.ModuleLowering)

:func:`lower` runs them all.  (The lowering stage is ``lowering.py``, not ``lower.py``:
a submodule named ``lower`` would replace this package's ``lower`` function as an
attribute once imported.)  The module it returns exports one *body* obeying
:mod:`autotier.abi`; anything the frontend cannot compile exactly raises
:class:`Unsupported` with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import FunctionType

from autotier.abi import ArgKind, ArrayKind, InstanceKind, Kind, NumpyKind
from autotier.deopt.sites import Site
from autotier.frontend.errors import Unsupported
from autotier.frontend.kinds import VKind
from autotier.frontend.model import MISSING, GlobalDep, LoweredModule

_ANY_SCALAR = frozenset({Kind.INT, Kind.FLOAT, Kind.BOOL})

__all__ = ["MISSING", "GlobalDep", "LoweredModule", "Unsupported", "lower"]


def lower(func: FunctionType, arg_kinds: tuple[ArgKind, ...], *, int_bits: int = 64,
          elements: Mapping[int | str, frozenset[Kind]] | None = None) -> LoweredModule:
    """Lower ``func`` specialised for ``arg_kinds``; raises Unsupported.

    ``int_bits`` is how native code holds Python ints: 64, or 128 for a function
    that overflowed int64 before (:mod:`autotier.frontend.wideints`).  ``elements``:
    the kinds speculated for the elements of each list or tuple parameter (by
    position; every element load checks it), int, float and bool by default; under
    ``~i``, the kinds of the items of parameter i's tuple elements; under ``"i.name"``,
    those of instance parameter i's attribute ``name`` (``runtime.elements.attr_key``).
    """
    from autotier.frontend.lowering import ModuleLowering
    from autotier.frontend.program import build_program
    from autotier.jit import engine

    if not isinstance(func, FunctionType):
        raise Unsupported(f"{func!r} is not a Python function")
    kinds = tuple(k if isinstance(k, ArrayKind | NumpyKind | InstanceKind) else Kind(k)
                  for k in arg_kinds)
    given = elements or {}
    # a sequence of instances of one class (runtime.elements._instances): INSTANCE
    # elements, their class beside
    held = {i: next(iter(given[i])).cls for i, k in enumerate(kinds)  # type: ignore[attr-defined]
            if k in (Kind.LIST, Kind.TUPLE) and len(given.get(i, ())) == 1
            and isinstance(next(iter(given[i])), InstanceKind)}
    speculated = {i: frozenset({VKind.INSTANCE}) if i in held else
                  frozenset(VKind(k) for k in given.get(i, _ANY_SCALAR))
                  for i, k in enumerate(kinds) if k in (Kind.LIST, Kind.TUPLE)}
    # a sequence of tuples: its tuples' items (runtime.elements.items_key)
    items = {i: frozenset(VKind(k) for k in given.get(~i, _ANY_SCALAR))
             for i, kinds_ in speculated.items() if kinds_ & {VKind.TUPLE, VKind.LIST}}
    attrs: dict[tuple[type, str], frozenset[VKind]] = {}
    for key, seen in given.items():
        if isinstance(key, str):
            position, name = key.split(".", 1)
            where = int(position.removesuffix("[]"))
            kind = kinds[where] if where < len(kinds) else None
            cls = (held.get(where) if position.endswith("[]") else
                   kind.cls if isinstance(kind, InstanceKind) else None)
            if cls is not None:  # (two parameters of one class: both's)
                attrs[cls, name] = attrs.get((cls, name), frozenset()) | {
                    VKind(k) for k in seen}
    program = build_program(func, kinds, speculated, items, attrs, held=held)
    body = engine.unique_name(f"body_{func.__qualname__}")
    try:
        lowering = ModuleLowering(program, body, int_bits)
    except Unsupported:
        if not program.passes_instances:
            raise
        # a recursion through methods or helpers given instances, whose bailouts would
        # unwind past their attribute accesses: those calls made through the C API
        program = build_program(func, kinds, speculated, items, attrs, held=held,
                                instance_calls=False)
        lowering = ModuleLowering(program, body, int_bits)
    text = str(lowering.run())
    dumps = {
        "bytecode": "\n\n".join(s.decoded.listing() for s in program.sources.values()),
        "ir": "\n\n".join(t.dump() for t in program.typed.values()),
        "llvm": text,
        "sites": _sites_text(lowering.sites),
    }
    return LoweredModule(ir=text, body=body, arg_kinds=kinds, deps=program.deps, dumps=dumps,
                         defaults=program.defaults,
                         codes=(*program.callee_codes, *((f, c) for f, c in lowering.found.items()
                                                         if f not in dict(program.callee_codes))),
                         sites=lowering.sites, record_words=lowering.record_words(),
                         finishes_callees=lowering.finishes_callees,
                         callees=program.native_callees())


def _sites_text(sites: tuple[Site, ...]) -> str:
    """The deopt sites, one line each: where native code may hand its frame on."""
    import dis

    lines = []
    names: dict[object, dict[int, str]] = {}  # per code object: offset -> opname
    for site in sites:
        if site.code not in names:
            names[site.code] = {i.offset: i.opname for i in dis.get_instructions(site.code)}
        what = names[site.code].get(site.offset, "?")
        lines.append(f"{site.func.__qualname__}: line {site.line}, offset {site.offset} "
                     f"({what}), {len(site.stack)} stack entries")
    return "\n".join(lines)
