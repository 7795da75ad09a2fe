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
from autotier.broker import pacing
from autotier.deopt.sites import Site
from autotier.frontend import shapes
from autotier.frontend.errors import Unsupported
from autotier.frontend.kinds import VKind
from autotier.frontend.model import MISSING, GlobalDep, LoweredModule
from autotier.frontend.results import Speculated
from autotier.lazytexts import LazyTexts

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
    speculated_elements = {i: frozenset({VKind.INSTANCE}) if i in held else
                  frozenset(VKind(k) for k in given.get(i, _ANY_SCALAR))
                  for i, k in enumerate(kinds) if k in (Kind.LIST, Kind.TUPLE)}
    # a sequence of tuples: its tuples' items (runtime.elements.items_key)
    items = {i: frozenset(VKind(k) for k in given.get(~i, _ANY_SCALAR))
             for i, kinds_ in speculated_elements.items()
             if kinds_ & {VKind.TUPLE, VKind.LIST}}
    attrs: dict[tuple[type, str], frozenset[VKind]] = {}
    # an attribute seen holding instances of one class: that class
    attr_classes: dict[tuple[type, str], type] = {}
    speculated = _speculated_results(given, attrs, attr_classes)
    for key, seen in sorted(given.items(), key=_by_depth):  # `a.pos` before `a.pos.x`
        if isinstance(key, str) and not key.startswith("@") and ">" not in key:
            position, name = key.split(".", 1)
            where = int(position.removesuffix("[]"))
            kind = kinds[where] if where < len(kinds) else None
            cls = (held.get(where) if position.endswith("[]") else
                   kind.cls if isinstance(kind, InstanceKind) else None)
            if cls is not None:  # (two parameters of one class: both's)
                _add_attr(attrs, attr_classes, cls, name, seen)
    contents = {i: c for i, c in shapes.from_paths(given).items()
                if i < len(kinds) and kinds[i] in (Kind.LIST, Kind.TUPLE) and i not in held}
    program = build_program(func, kinds, speculated_elements, items, attrs, held=held,
                            speculated=speculated, attr_classes=attr_classes,
                            contents=contents)
    pacing.checkpoint()  # an OSR compile: the loop it is for gets its share of the GIL
    body = engine.unique_name(f"body_{func.__qualname__}")
    try:
        lowering = ModuleLowering(program, body, int_bits)
    except Unsupported:
        if not program.passes_instances:
            raise
        # a recursion through methods or helpers given instances, whose bailouts would
        # unwind past their attribute accesses: those calls made through the C API
        program = build_program(func, kinds, speculated_elements, items, attrs, held=held,
                                speculated=speculated, attr_classes=attr_classes,
                                instance_calls=False, contents=contents)
        lowering = ModuleLowering(program, body, int_bits)
    module = lowering.run()
    pacing.checkpoint()
    text = str(module)
    # the typed IR and the sites made when read (autotier.explain, AUTOTIER_DUMP): not
    # on the compile's time (0.5-0.8 ms of mandel's OSR compile; what they hold, the
    # typed functions and the sites, is kept anyway or small); the listing now (0.1 ms:
    # the decoded bytecode it reads is three times the size of its text)
    typed, made_sites = tuple(program.typed.values()), lowering.sites
    listing = "\n\n".join(s.decoded.listing() for s in program.sources.values())
    dumps = LazyTexts({
        "bytecode": lambda: listing,
        "ir": lambda: "\n\n".join(t.dump() for t in typed),
        "llvm": lambda: text,
        "sites": lambda: _sites_text(made_sites),
    })
    return LoweredModule(ir=text, body=body, arg_kinds=kinds, deps=program.deps, dumps=dumps,
                         defaults=program.defaults,
                         codes=(*program.callee_codes, *((f, c) for f, c in lowering.found.items()
                                                         if f not in dict(program.callee_codes))),
                         sites=lowering.sites, record_words=lowering.record_words(),
                         finishes_callees=lowering.finishes_callees,
                         callees=program.native_callees())


def _add_attr(attrs: dict[tuple[type, str], frozenset[VKind]],
              attr_classes: dict[tuple[type, str], type], cls: type, name: str,
              seen: frozenset[Kind]) -> None:
    """Join what attribute ``name`` of ``cls`` was seen holding: numbers (their kinds),
    or instances of one taken class (``INSTANCE``, the class in ``attr_classes``);
    both, or two classes: an empty set (reading it is declined)."""
    if "." in name:  # an attribute of the instance an attribute holds (``a.pos.x``)
        head, rest = name.split(".", 1)
        if (cls, head) in attr_classes:
            _add_attr(attrs, attr_classes, attr_classes[cls, head], rest, seen)
        return
    key = (cls, name)
    inner = {k.cls for k in seen if isinstance(k, InstanceKind)}
    numbers = {VKind(k) for k in seen if not isinstance(k, InstanceKind)}
    if inner or key in attr_classes:
        classes = inner | ({attr_classes[key]} if key in attr_classes else set())
        if len(classes) == 1 and not numbers and attrs.get(key, _INSTANCE) == _INSTANCE:
            attrs[key] = _INSTANCE
            attr_classes[key] = classes.pop()
        else:
            attrs[key] = frozenset()
            attr_classes.pop(key, None)
        return
    attrs[key] = attrs.get(key, frozenset()) | numbers


_INSTANCE = frozenset({VKind.INSTANCE})


def _by_depth(item: tuple[int | str, frozenset[Kind]]) -> tuple[int, str]:
    """Speculation keys ordered so an attribute comes before its own attributes."""
    key = item[0]
    return (key.count("."), key) if isinstance(key, str) else (-1, str(key))


def _speculated_results(given: Mapping[int | str, frozenset[Kind]],
                        attrs: dict[tuple[type, str], frozenset[VKind]],
                        attr_classes: dict[tuple[type, str], type]
                        ) -> dict[int, Speculated]:
    """The results speculated at bytecode offsets of the root (after ELEMENT bailouts
    there: ``runtime.elements.sample_result``), their attributes' kinds added to
    ``attrs``."""
    out: dict[int, Speculated] = {}
    for key, seen in given.items():
        if not isinstance(key, str) or not key.startswith("@") or "." in key or "[" in key:
            continue
        offset = int(key[1:])
        inner = given.get(f"{key}[]", frozenset())
        if len(seen) == 1 and isinstance(kind := next(iter(seen)), InstanceKind):
            out[offset] = Speculated(VKind.INSTANCE, kind.cls)
            prefix = f"{key}."
        elif seen in ({Kind.LIST}, {Kind.TUPLE}) and len(inner) == 1 and isinstance(
                element := next(iter(inner)), InstanceKind):
            out[offset] = Speculated(VKind(next(iter(seen))), element.cls)
            prefix = f"{key}[]."
        else:
            out[offset] = Speculated(None)
            continue
        cls = out[offset].cls
        assert cls is not None
        for name_key, kinds in sorted(given.items(), key=_by_depth):
            if isinstance(name_key, str) and name_key.startswith(prefix):
                _add_attr(attrs, attr_classes, cls, name_key.removeprefix(prefix), kinds)
    return out


def _sites_text(sites: tuple[Site, ...]) -> str:
    """The deopt sites, one line each: where native code may hand its frame on."""
    import dis

    lines = []
    names: dict[object, dict[int, str]] = {}  # per code object: offset -> opname
    for site in sites:
        if site.code not in names:
            names[site.code] = {i.offset: i.opname for i in dis.get_instructions(site.code)}
        what = names[site.code].get(site.offset, "?")
        inside = ""
        if site.nest:  # the code compiled has the comprehension spliced in: say where
            level = site.nest[-1]  # in the comprehension's own code the frame resumes
            own = [i for i in dis.get_instructions(level.code) if i.opname != "EXTENDED_ARG"]
            inside = (f", in {level.code.co_qualname} at offset {own[level.index].offset}"
                      if level.index < len(own) else "")
        lines.append(f"{site.func.__qualname__}: line {site.line}, offset {site.offset} "
                     f"({what}){inside}, {len(site.stack)} stack entries")
    return "\n".join(lines)
