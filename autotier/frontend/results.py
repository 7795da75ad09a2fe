"""Objects calls and attribute reads hand native code: constructors, speculated results.

A call through the C API (an opaque callee, a method, a builtin or C function) or an
attribute read answers a ``PyObject *``; native code takes it unboxed when it is a
number (:mod:`.boxes`), and, as built here (issue 11), *as an object* when its kind is
known or speculated:

- **Constructors.** A call of a class instances of which are taken
  (``abi.InstanceKind.takes``) and made by object's own ``__new__`` (no ``__new__`` on
  its MRO, metaclass ``type``: :func:`constructs`) answers an instance of exactly that
  class: ``type.__call__`` runs ``object.__new__`` and then ``__init__``.  The call is
  a vectorcall of the class (CPython runs ``__init__``, raises its errors, binds its
  arguments); the result is checked to be of exactly that class all the same (a
  ``__new__`` added after the compile, an ``__init__`` assigning ``__class__``: the
  frame resumes after the call with it, ``Status.ELEMENT``), so no guard on the class
  is needed beyond the global's binding: the one compare after the call is the guard.
- **Speculated results** (:class:`Speculated`). After an ``ELEMENT`` bailout at such a
  site hands the interpreter an object, the bead samples it
  (``runtime.elements.sample_result``: an instance of a taken class, or a list or tuple
  whose sampled elements are all instances of one, with their attributes' kinds) under
  the site's bytecode offset, and the next compile types that site's result as that
  kind, checked after the call (exact class, or exact list/tuple: another outcome is
  the same ``ELEMENT`` deopt, resampled).

A result taken as an object is a new reference the value owns (:mod:`.owned`: the C
API's result is one already; a borrowed attribute read from its slot takes one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import InstanceKind
from autotier.dispatch import unboxing
from autotier.frontend import boxes, ir
from autotier.frontend.ir import Kinds, VKind
from autotier.frontend.values import LV

if TYPE_CHECKING:
    from autotier.frontend.instances import AttrTable
    from autotier.frontend.lowering import FunctionLowering

INSTANCE: Kinds = frozenset({VKind.INSTANCE})
#: what a result taken as an object may be (anything else is unboxed)
OBJECT_RESULTS = (INSTANCE, frozenset({VKind.LIST}), frozenset({VKind.TUPLE}))


@dataclass(frozen=True)
class Speculated:
    """What a site's result was seen to be: an instance of ``cls`` (``kind`` INSTANCE),
    or a list or tuple of instances of ``cls``; ``kind`` None: something else (a call
    then answers what a call through the C API does, each result checked)."""

    kind: VKind | None
    cls: type | None = None

    @property
    def kinds(self) -> Kinds:
        return OPAQUE if self.kind is None else frozenset({self.kind})


#: what a call whose result was seen to be no such object is taken to answer
#: (``typeinfer.OPAQUE_RESULT``)
OPAQUE: Kinds = frozenset({VKind.INT, VKind.FLOAT, VKind.BOOL, VKind.NONE})
#: the instructions whose results are speculated by site
SITES = (ir.CallObject, ir.CallFunction, ir.CallMethod, ir.GetAttr)


def at(instr: ir.Instr, speculated: Mapping[int, Speculated]) -> Speculated | None:
    """What the result of ``instr`` was seen to be at its bytecode offset, if anything
    (a read seen to answer no object after all: any number, checked)."""
    if not speculated or not isinstance(instr, SITES) or instr.state is None:
        return None
    return speculated.get(instr.state.offset)


def made_class(instr: ir.Instr, spec: Speculated | None, attrs: AttrTable) -> type | None:
    """The class of the instances (or of the elements) ``instr``'s result holds when it
    is an object a call or attribute read answers: speculated, or a constructor's."""
    if spec is not None:
        return spec.cls
    if isinstance(instr, ir.CallObject) and instr.makes is None and constructs(instr.callee):
        assert isinstance(instr.callee, type)
        return instr.callee
    if isinstance(instr, ir.GetAttr) and instr.obj in attrs.classes:
        return attrs.held.get((attrs.classes[instr.obj], instr.name))
    return None


def constructs(callee: object) -> bool:
    """Whether calling ``callee`` makes an instance of exactly ``callee``: a class
    ``InstanceKind`` takes (metaclass ``type``) whose instances object's own
    ``__new__`` makes (no class on its MRO defines ``__new__``)."""
    if not isinstance(callee, type) or not InstanceKind.takes(callee):
        return False
    return all("__new__" not in vars(k) for k in callee.__mro__[:-1])


def takes_object(kinds: Kinds) -> bool:
    return kinds in OBJECT_RESULTS


def take(fl: FunctionLowering, obj: ll.Value, kinds: Kinds) -> tuple[ll.Value, LV]:
    """(i1: ``obj`` is of ``kinds``, its value): an instance of the class typed for the
    instruction being lowered, an exact list or tuple (each element load checks its
    elements), or a number unboxed.  An object taken keeps ``obj``'s reference."""
    if not takes_object(kinds):
        return boxes.unbox(fl, obj, kinds)
    dest = fl.cur_dest
    assert dest is not None
    (kind,) = kinds
    cls = (fl.typed.classes[dest] if kind is VKind.INSTANCE
           else list if kind is VKind.LIST else tuple)
    return unboxing.type_is(fl.b, obj, cls), (obj,)
