"""Instances of user classes (issue 11): how attribute reads and writes are typed.

An instance parameter (``abi.InstanceKind``: the entry checked its exact class) is a
``VKind.INSTANCE`` value, a ``PyObject *`` it owns a reference to (:mod:`.owned`); its
class is kept beside its kind (``Typed.classes``), as an array's dtype is.  Its
attributes are read and written through the C API (:mod:`.attrs`), so the class's own
lookup decides every access: instance dict, slots, class attributes, properties,
``__getattr__``, ``__setattr__``.  What native code speculates is only the *kind* of
what a read answers: the kinds the promoting calls saw in that attribute
(``runtime.elements.attr_key``), by class and name, widened by the function's own
writes; every read checks it (a value of another kind resumes after the read with it,
``Status.ELEMENT``).  An attribute the promoting calls did not see (a property, a
missing one) or saw holding something other than a number or None is declined with a
reason.  Anything else done with an instance (arithmetic, truth, comparisons, calls
with it) is declined: a class may define each of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from autotier.frontend import ir
from autotier.frontend.errors import Unsupported, a, at_line
from autotier.frontend.ir import NO_KINDS, Kinds, Var, VKind
from autotier.frontend.kinds import SCALARS

#: the speculated kinds of instances' attributes, by (class, attribute name); an empty
#: set: seen, holding something other than a number or None
Attrs = Mapping[tuple[type, str], Kinds]
#: what an attribute may hold natively (read: unboxed after a check; written: boxed)
STORABLE = SCALARS | {VKind.NONE, VKind.COMPLEX}
#: what a method call passes (numbers boxed, the others borrowed: :mod:`.methods`)
METHOD_ARGUMENTS = STORABLE | {VKind.LIST, VKind.TUPLE, VKind.ARRAY, VKind.INSTANCE}
#: what a method call is taken to return (each result checked), as a call through the C
#: API is (``typeinfer.OPAQUE_RESULT``)
METHOD_RESULT = SCALARS | {VKind.NONE}
#: the kinds of a value a call through the C API answered (no object seen there yet): an
#: attribute or method of it is the interpreter's (a bailout there, after the call's own
#: check, which hands the bead the object to speculate: :mod:`.results`)
UNKNOWN_RESULT = METHOD_RESULT


def unknown_object(instr: ir.Instr, types: Mapping[Var, Kinds]) -> bool:
    """Whether ``instr`` is a method call of a value of kinds ``UNKNOWN_RESULT``."""
    return isinstance(instr, ir.CallMethod) and types[instr.obj] == UNKNOWN_RESULT


class AttrTable:
    """The attribute kinds of one function's typing, grown by its writes, and the class
    of each instance value (``classes``, shared with the typing)."""

    def __init__(self, kinds: dict[tuple[type, str], Kinds], classes: dict[Var, type],
                 func: str, held: Mapping[tuple[type, str], type] | None = None) -> None:
        self.kinds = kinds
        self.classes = classes
        self.func = func  # whose typing: reasons name it
        self.element_classes: dict[Var, type] = {}  # a sequence of instances: their class
        # an attribute seen holding instances of one class: that class
        self.held: dict[tuple[type, str], type] = dict(held or {})
        # the classes whose instances the bead sampled (an attribute of one it did not
        # see is declined); another's (an instance made here) may hold any number
        self.sampled: set[type] = {cls for cls, _ in kinds}

    def size(self) -> int:
        return sum(map(len, self.kinds.values()))

    def join(self, param: Var, arg: Var) -> bool:
        """A jump passes ``arg`` (an instance, or a sequence of them) to block parameter
        ``param``: its class; whether that is new."""
        changed = False
        for table in (self.classes, self.element_classes):
            if arg not in table or table.get(param) is table[arg]:
                continue
            if param in table:
                raise Unsupported(f"{self.func}: {param.hint or 'a value'} holds instances "
                                  "of two classes")
            table[param] = table[arg]
            changed = True
        return changed

    def before(self, instr: ir.GetAttr | ir.SetAttr, types: Mapping[Var, Kinds]) -> Kinds:
        """What a read of ``instr`` answers (a write: nothing, its value's kinds joining
        the attribute's); declines what native code does not take."""
        kinds = types[instr.obj]
        if kinds == UNKNOWN_RESULT:  # what a call through the C API answered, not yet
            return NO_KINDS  # seen to be an object: the interpreter reads it (a bailout)
        if kinds != {VKind.INSTANCE}:
            what = "|".join(sorted(k.name.lower() for k in kinds))
            raise self._fail(f"attribute .{instr.name} of a {what} value is not supported",
                             instr)
        cls = self.classes[instr.obj]
        key = (cls, instr.name)
        where = f"attribute .{instr.name} of a {cls.__qualname__}"
        if isinstance(instr, ir.SetAttr):
            stored = types[instr.value]
            if not stored <= STORABLE | {VKind.INSTANCE}:
                raise self._fail(f"storing a {ir.kinds_text(stored - STORABLE)} into {where} "
                                 "is not supported", instr)
            if VKind.INSTANCE in stored:  # an instance: its class, one per attribute
                inner = self.classes[instr.value]
                if self.held.get(key, inner) is not inner:
                    raise self._fail(f"{where} holds instances of two classes", instr)
                self.held[key] = inner
            self.kinds[key] = self.kinds.get(key, NO_KINDS) | stored
            return NO_KINDS
        seen = self.kinds.get(key)
        if seen is None and cls not in self.sampled:  # made here, or read from another:
            # any number or None, each read checked (an object resumes after the read
            # with it, and the bead speculates it there next time: frontend.results)
            return UNKNOWN_RESULT
        if seen is None:
            raise self._fail(f"{where}: the promoting calls saw no value of it (a property, "
                             "a method, missing)", instr)
        if not seen:
            raise self._fail(f"{where} holds something other than a number or None", instr)
        if VKind.INSTANCE in seen and (len(seen) > 1 or key not in self.held):
            raise self._fail(f"{where} holds instances and numbers", instr)
        return seen

    def _fail(self, what: str, instr: ir.Instr) -> Unsupported:
        return Unsupported(f"{at_line(what, instr.line)} (in {self.func})")


def result_kinds(instr: ir.Instr, combo: tuple[VKind, ...], speculated: Kinds,
                 unknown: bool = False) -> Kinds:
    """The kinds of ``instr`` with an instance operand (or an attribute access);
    ``speculated``: what a read answers (:meth:`AttrTable.before`); ``unknown``: the
    object's kinds are ``UNKNOWN_RESULT`` (a method of it is the interpreter's)."""
    if isinstance(instr, ir.GetAttr):
        return speculated if combo[0] is VKind.INSTANCE else NO_KINDS
    if isinstance(instr, ir.SetAttr):
        ok = combo[0] is VKind.INSTANCE and (combo[1] in STORABLE
                                             or combo[1] is VKind.INSTANCE)
        return frozenset({VKind.NONE}) if ok else NO_KINDS
    if isinstance(instr, ir.DelAttr):
        if combo[0] is not VKind.INSTANCE:
            raise Unsupported(at_line(f"del .{instr.name} of a {combo[0].name.lower()} is not "
                                      "supported", instr.line))
        return frozenset({VKind.NONE})
    if isinstance(instr, ir.CallMethod):
        what = combo[0].name.lower()
        if unknown:
            return NO_KINDS
        if combo[0] is not VKind.INSTANCE:
            raise Unsupported(at_line(f"method .{instr.name} of {a(what)} is not supported",
                                      instr.line))
        odd = [k for k in combo[1:] if k not in METHOD_ARGUMENTS]
        if odd:
            raise Unsupported(at_line(f"a call of method .{instr.name} with a "
                                      f"{odd[0].name.lower()} argument is not supported",
                                      instr.line))
        return speculated or METHOD_RESULT  # (an object speculated: frontend.results)
    if isinstance(instr, ir.IsNone):
        return frozenset({VKind.BOOL})
    raise Unsupported(at_line(f"{type(instr).__name__} of an instance is not supported "
                              "(its class may define it)", instr.line))
