"""What the elements of a call's list and tuple arguments are: the bead's speculation.

Native code never scans a list at the entry (an O(1) type check only): it speculates
the kinds of each list or tuple parameter's elements from the calls that promoted the
function, and checks each element it loads (a wrong kind deoptimises precisely,
``Status.ELEMENT``).  The speculation is a sample (at most ``SAMPLE`` elements, spread
over the sequence), taken only on the bead's slow path, never per call.  After an
ELEMENT bailout the bead stops speculating (every element may be an int, a float or a
bool), so one more compile serves mixed lists.

A sequence whose sampled elements are all tuples is speculated to hold tuples
(``Kind.TUPLE``; all lists: ``Kind.LIST``, likewise), and the kinds of those tuples'
items are speculated too, under the
key ``items_key(i)`` (``~i``: negative keys never name a parameter): ``for x, y in
points`` loads each tuple (checked to be one) and each item (checked to be of those
kinds).  After an ELEMENT bailout a list of tuples stays one, of items of any kind.

A sequence whose elements are sequences too (``pairs`` of tuples of two tuples of two
lists and a float, say) has its contents sampled as deep as ``DEPTH`` levels, under
path keys (:func:`path_key`: ``"i>*/0/*"``, the elements of position 0 of any element
of parameter i): ``*`` any element, a number one position of tuples that all have that
length where sampled; the frontend speculates each load by its path
(``frontend.shapes``), every load still checked.

An instance argument's attributes are sampled too (:func:`attr_key`: ``"i.name"``):
what its ``__dict__``, its slots and its class's plain attributes (numbers, not
functions or descriptors) hold, an int, float, bool, complex or None each, or an
instance of a taken class (its ``InstanceKind``; anything else an empty set: the
frontend declines reading it).  A property or ``__getattr__`` is
never run here (it may have effects): an attribute only such code answers is not
sampled, and reading it is declined.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any

from autotier import compat
from autotier.abi import InstanceKind, Kind
from autotier.callbinding import BindError, bind_positions

SAMPLE = 64  # elements looked at per sequence argument

ITEMS = 8  # items looked at per sampled tuple element

DEPTH = 4  # levels of nested sequences sampled by path (path_key)

#: parameter position -> speculated element kinds; ``items_key(i)`` -> the kinds of
#: the items of parameter i's tuple elements; ``attr_key(i, name)`` -> the kinds of
#: instance parameter i's attribute ``name``
Elements = dict[int | str, frozenset[Kind]]
ANY_SCALAR = frozenset({Kind.INT, Kind.FLOAT, Kind.BOOL})
TUPLES = frozenset({Kind.TUPLE})
LISTS = frozenset({Kind.LIST})
SEQUENCES = TUPLES | LISTS


def items_key(position: int) -> int:
    """The key of the item kinds of parameter ``position``'s tuple elements."""
    return ~position


def path_key(position: int, path: str) -> str:
    """The key of the kinds at ``path`` inside sequence parameter ``position``
    (``path``: steps joined by ``/``, each ``*`` for any element or a tuple position)."""
    return f"{position}>{path}"


def is_path_key(key: int | str) -> bool:
    return isinstance(key, str) and ">" in key


def _path_kinds(values: list[Any]) -> frozenset[Kind]:
    kinds = {Kind.of(v) for v in values}
    return frozenset(k for k in kinds if isinstance(k, Kind)
                     and (k.scalar or k in (Kind.LIST, Kind.TUPLE)))


def _contents(seqs: list[Any], prefix: str, out: Elements, depth: int) -> None:
    """The kinds inside ``seqs`` (sequences met at one path) under ``prefix``'s keys."""
    seen = [v for seq in seqs for v in _seen(seq)][:SAMPLE]
    kinds = _path_kinds(seen)
    if kinds:
        out[prefix + "*"] = out.get(prefix + "*", frozenset()) | kinds
    inner = [v for v in seen if type(v) in (list, tuple)]
    if depth > 1 and inner:
        _contents(inner, prefix + "*/", out, depth - 1)
    lengths = {len(seq) if type(seq) is tuple else -1 for seq in seqs}
    if len(lengths) != 1 or not 0 < (n := lengths.pop()) <= ITEMS:
        return
    for k in range(n):
        items = [seq[k] for seq in seqs[:SAMPLE]]
        out[f"{prefix}{k}"] = _path_kinds(items)  # (empty: a str, say; the load takes a
        # number, checked)
        inner = [v for v in items if type(v) in (list, tuple)]
        if depth > 1 and inner:
            _contents(inner, f"{prefix}{k}/", out, depth - 1)


def paths(seq: list[Any] | tuple[Any, ...], position: int) -> Elements:
    """The path keys of a sequence argument whose sampled elements are all tuples or
    all lists, or of a tuple holding one (a record: ``(r, v, m) = ref``); else none
    (the element kinds say all)."""
    seen = _seen(seq)
    if not seen or not (all(type(v) is tuple for v in seen)
                        or all(type(v) is list for v in seen)
                        or (type(seq) is tuple and len(seq) <= ITEMS
                        and any(type(v) in (list, tuple) for v in seq))):
        return {}
    out: Elements = {}
    _contents([seq], path_key(position, ""), out, DEPTH)
    return out


def attr_key(position: int, name: str) -> str:
    """The key of the kinds of instance parameter ``position``'s attribute ``name``."""
    return f"{position}.{name}"


def parse_attr_key(key: str) -> tuple[int, str]:
    position, name = key.split(".", 1)
    return int(position), name


_ATTR_TYPES = {int: Kind.INT, float: Kind.FLOAT, bool: Kind.BOOL, complex: Kind.COMPLEX,
               type(None): Kind.NONE}


def _attr_kind(value: Any) -> frozenset[Kind]:
    kind = _ATTR_TYPES.get(type(value))
    if kind is Kind.INT and not -(2**63) <= value < 2**63:
        kind = None
    if kind is None and isinstance(held := Kind.of(value), InstanceKind):
        return frozenset({held})  # type: ignore[arg-type]  # (an instance of a taken class)
    return frozenset() if kind is None else frozenset({kind})


def _attributes(value: Any, depth: int = 1) -> dict[str, frozenset[Kind]]:
    """The kinds an instance's attributes hold, read past its class's lookup (no
    property, ``__getattr__`` or ``__getattribute__`` runs): class attributes that are
    plain values, then its ``__dict__`` (which a class attribute does not shadow), then
    its slots (data descriptors: they win).  An attribute holding an instance has its
    own attributes sampled under ``"name.inner"`` (``depth`` levels: ``a.pos.x``)."""
    out = _own_attributes(value)
    if depth > 0:
        for name, kinds in list(out.items()):
            if len(kinds) == 1 and isinstance(next(iter(kinds)), InstanceKind):
                inner = _attribute_value(value, name)
                if inner is not None:
                    out.update((f"{name}.{k}", v)
                               for k, v in _attributes(inner, depth - 1).items())
    return out


def _attribute_value(value: Any, name: str) -> Any:
    """The instance attribute ``name`` holds (its dict's or its slot's), or None."""
    own = compat.instance_values(value)
    if own is None:
        try:
            own = object.__getattribute__(value, "__dict__")
        except AttributeError:
            own = {}
    if name in own:
        return own[name]
    for klass in type(value).__mro__[:-1]:
        member = vars(klass).get(name)
        if member is not None and hasattr(member, "__get__") and name in (
                vars(klass).get("__slots__", ()) or ()):
            try:
                return member.__get__(value, type(value))
            except AttributeError:
                return None
    return None


def _own_attributes(value: Any) -> dict[str, frozenset[Kind]]:
    t = type(value)
    out: dict[str, frozenset[Kind]] = {}
    for klass in reversed(t.__mro__[:-1]):  # the nearest class's wins
        for name, attr in vars(klass).items():
            if name.startswith("__") and name.endswith("__"):
                continue  # __doc__, __module__ ...
            if type(attr) in _ATTR_TYPES:
                out[name] = _attr_kind(attr)
            else:
                out.pop(name, None)  # a function, a descriptor: not sampled
    own = compat.instance_values(value)  # never vars(): it would make the dict
    if own is None:
        try:
            own = object.__getattribute__(value, "__dict__")
        except AttributeError:
            own = {}
    for name, attr in own.items():
        if type(name) is str:
            out[name] = _attr_kind(attr)
    for klass in t.__mro__[:-1]:
        slots = vars(klass).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            member = vars(klass).get(name)
            if name in ("__dict__", "__weakref__") or member is None:
                continue
            try:
                out[name] = _attr_kind(member.__get__(value, t))
            except AttributeError:  # an unset slot
                out.pop(name, None)
    return out


def _scalars(values: Any) -> frozenset[Kind]:
    kinds = {Kind.of(v) for v in values}
    return frozenset(k for k in kinds if isinstance(k, Kind) and k.scalar)


def _sample(seq: list[Any] | tuple[Any, ...]) -> tuple[frozenset[Kind], frozenset[Kind]]:
    """(the element kinds, the item kinds of tuple elements) seen in ``seq``."""
    seen = _seen(seq)
    for inner, kinds in ((tuple, TUPLES), (list, LISTS)):
        if seen and all(type(v) is inner for v in seen):
            return kinds, _scalars(item for v in seen for item in v[:ITEMS])
    return _scalars(seen), frozenset()


def _seen(seq: list[Any] | tuple[Any, ...]) -> list[Any]:
    n = len(seq)
    step = max(1, n // SAMPLE)
    return [seq[i] for i in range(0, n, step)]


def element_key(position: int) -> str:
    """The position part of the attribute keys of parameter ``position``'s instance
    elements (``"i[]"``: ``attr_key(i, name)`` is the parameter's own attributes)."""
    return f"{position}[]"


def _instances(value: list[Any] | tuple[Any, ...], position: int) -> Elements:
    """A sequence whose sampled elements are all instances of one class taken as
    ``InstanceKind``: that kind, and their attributes' kinds (all the samples')."""
    seen = _seen(value)
    kinds = {Kind.of(v) for v in seen}
    if len(kinds) != 1 or not isinstance(kind := next(iter(kinds)), InstanceKind):
        return {}
    out: Elements = {position: frozenset({kind})}  # type: ignore[arg-type]
    for v in seen:
        for name, attr in _attributes(v).items():
            key = f"{element_key(position)}.{name}"
            out[key] = out.get(key, frozenset()) | attr
    return out


def sample(func: FunctionType, args: tuple[Any, ...],
           kwargs: dict[str, Any] | None = None) -> Elements:
    """The element kinds seen in each list or tuple argument of ``func(*args, **kwargs)``
    (parameters whose sample found no int, float or bool are left out)."""
    kwargs = kwargs or {}
    defaults = func.__defaults__ or ()
    try:
        sources = bind_positions(func.__code__, len(defaults), len(args), tuple(kwargs))
    except BindError:
        return {}
    given = (*args, *kwargs.values())
    out: Elements = {}
    for i, (where, j) in enumerate(sources):
        value = given[j] if where == "arg" else defaults[j]
        if type(value) in (list, tuple) and (held := _instances(value, i)):
            out.update(held)
        elif type(value) in (list, tuple):
            seen, items = _sample(value)
            if seen:
                out[i] = seen
            if items:
                out[items_key(i)] = items
            out.update(paths(value, i))
        elif isinstance(Kind.of(value), InstanceKind):
            for name, kinds in _attributes(value).items():
                out[attr_key(i, name)] = kinds
    return out


def result_key(offset: int) -> str:
    """The key of what the call or attribute read at bytecode ``offset`` of the root
    answered, seen by an ELEMENT bailout there (``"@offset"``: its attributes under
    ``"@offset.name"``, its instance elements' under ``"@offset[].name"``, their class
    under ``"@offset[]"``)."""
    return f"@{offset}"


def sample_result(value: Any, offset: int) -> Elements:
    """What an ELEMENT bailout's object at ``offset`` tells the next compile: an
    instance of a taken class (its kind, its attributes' kinds), a list or tuple whose
    sampled elements are all instances of one (``Kind.LIST``/``TUPLE``, their class,
    their attributes' kinds); anything else is an empty set (the site's result is then
    taken as a call's through the C API is: a number, checked)."""
    key = result_key(offset)
    kind = Kind.of(value)
    if isinstance(kind, InstanceKind):
        out: Elements = {key: frozenset({kind})}  # type: ignore[arg-type]
        out.update((f"{key}.{name}", kinds) for name, kinds in _attributes(value).items())
        return out
    if type(value) in (list, tuple):
        held = _instances(value, 0)
        if held:
            out = {key: LISTS if type(value) is list else TUPLES, f"{key}[]": held.pop(0)}
            prefix = f"{element_key(0)}."
            out.update((f"{key}[].{k.removeprefix(prefix)}", kinds)  # type: ignore[union-attr]
                       for k, kinds in held.items())
            return out
    return {key: frozenset()}


def _result_sites(old: Elements) -> list[str]:
    return [k for k in old if isinstance(k, str) and k.startswith("@") and "." not in k
            and "[" not in k]


def resample_held(old: Elements, values: tuple[Any, ...]) -> Elements | None:
    """An ELEMENT bailout at an element load (no object handed over): where a site's
    result is speculated to be a sequence of instances and the failing frame holds a
    sequence (a local, an iterator's) of instances of one other class, that site's new
    speculation (the first such sequence's sample: a sound guess, each load checks it);
    None when there is none."""
    sites = [k for k in _result_sites(old) if old[k] in (LISTS, TUPLES)]
    if not sites:
        return None
    held = []
    for value in values:
        seq = (value.__reduce__()[1][0]
               if type(value).__name__ in ("list_iterator", "tuple_iterator") else value)
        if type(seq) in (list, tuple):
            held.append(seq)
    for key in sites:
        speculated = old.get(f"{key}[]")
        for seq in held:
            new = sample_result(seq, int(key[1:]))
            if new[key] == old[key] and new.get(f"{key}[]") not in (None, speculated):
                return new
    return None


def with_result(old: Elements, new: Elements) -> Elements:
    """``old`` with the result speculation of ``new``'s site replaced by ``new``'s."""
    (key,) = _result_sites(new)
    out = {k: v for k, v in old.items()
           if not (isinstance(k, str) and (k == key or k.startswith((f"{key}.", f"{key}["))))}
    out.update(new)
    return out


def widened(old: Elements) -> Elements:
    """What an ELEMENT bailout leaves speculated: a sequence of tuples stays one (of
    items of any kind); any other takes every int, float and bool (the default).  A
    site's result speculation stays (:func:`with_result` replaces it)."""
    out: Elements = {}
    for i, kinds in old.items():
        if isinstance(i, str) and ((i.startswith("@") and "." not in i) or any(
                isinstance(k, InstanceKind) for k in kinds)):
            out[i] = kinds  # a site's object, an attribute's instances: resampled there
        elif is_path_key(i):  # nested sequences stay so; numbers: any number
            out[i] = kinds if kinds & SEQUENCES else ANY_SCALAR
        elif isinstance(i, str):  # an attribute: any number too (unless never one)
            out[i] = kinds | ANY_SCALAR if kinds else kinds
        elif i >= 0 and any(isinstance(k, InstanceKind) for k in kinds):
            out[i] = kinds  # instances stay speculated (their attributes widened above)
        elif i >= 0 and kinds in (TUPLES, LISTS):
            out[i] = kinds
            out[items_key(i)] = ANY_SCALAR
    return out


def merge(old: Elements, new: Elements) -> Elements:
    """Both speculations' kinds, per parameter."""
    out = dict(old)
    for i, kinds in new.items():
        out[i] = out.get(i, frozenset()) | kinds
    return out


def as_request(elements: Elements) -> tuple[tuple[int | str, frozenset[Kind]], ...]:
    """The form ``CompileRequest.elements`` takes (positions, then attributes)."""
    return tuple(sorted(elements.items(), key=lambda item: (
        isinstance(item[0], str), item[0] if isinstance(item[0], int) else 0, str(item[0]))))
