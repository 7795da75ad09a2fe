"""Which method an instance's ``obj.name(*args)`` calls, when native code may call it
directly (issue 11: methods compiled into their callers).

CPython's method call (``_PyObject_GetMethod``, as LOAD_METHOD's specialisation
LOAD_METHOD_WITH_VALUES) finds ``name`` on the type's MRO and then looks in the
instance's own dict, whose entry wins over a function (a non-data descriptor).  The
compile plans a direct call for an instance of exactly ``cls`` when:

- the class's lookup is object's own (no ``__getattr__``/``__getattribute__``:
  ``compat.generic_getattr``), its metaclass ``type``, and it has a version tag;
- the first entry of ``name`` on the MRO is a plain ``FunctionType``;
- the instance cannot hold ``name`` itself: instances keep their attributes in
  values indexed by the class's shared keys (3.11's managed dict), and ``name`` is
  not among those keys; or instances have no dict at all (``__slots__`` only);
- the call binds to the function's positional parameters (no ``*args``,
  ``**kwargs`` or keyword-only parameters); defaults used must be numbers native code
  holds (the entry checks the ``__defaults__`` tuple is still the compile's).

At run time the call checks (:mod:`.methods`) the instance's type is still ``cls``,
the class's version tag still the compile's (a method reassigned on the class or a
base, a property added: any change drops it), and that the instance does not hold the
name: it has values and the shared keys hold no more names than at the compile (keys
only grow, so none of them is ``name``), or its dict (made by ``vars()``) has only str
keys (its lookup runs no code) and not ``name``; where any fails, the call is
CPython's own method call through the C API.  The function's
``__code__`` is checked by the entry, as every native callee's.
"""

from __future__ import annotations

import dis
from collections.abc import Sequence
from dataclasses import dataclass
from types import CodeType, FunctionType

from autotier import compat
from autotier.abi import CalleeKind, Kind
from autotier.callbinding import BindError, bind_positions
from autotier.frontend.builtins_table import constant_ok
from autotier.frontend.results import constructs

#: CO_VARARGS | CO_VARKEYWORDS
_STAR_ARGS = 0x0C


@dataclass(frozen=True)
class MethodPlan:
    """A direct call of ``func`` for ``obj.name(*args)`` on an instance of ``cls``."""

    cls: type
    func: FunctionType
    version: int  # the class's tp_version_tag at the compile
    keys: int  # the address of the class's shared keys (0: instances have no dict)
    entries: int  # how many names the shared keys held at the compile
    # for each parameter of ``func``: the index into (obj, *args) it takes, or, past
    # them, ``1 + len(args) + j``: ``defaults[j]``
    order: tuple[int, ...]
    defaults: tuple[object, ...]  # ``func.__defaults__`` at the compile (or ())
    nargs: int  # the call's arguments, ``obj`` not counted
    name: str  # the method's name, as the call looks it up

    def default(self, position: int) -> object:
        """The default a parameter takes, ``order`` saying ``position``."""
        return self.defaults[position - 1 - self.nargs]

    @property
    def takes_defaults(self) -> bool:
        return any(p > self.nargs for p in self.order)


def _order(func: FunctionType, nargs: int, kw_names: tuple[str, ...]
           ) -> tuple[tuple[int, ...], tuple[object, ...]] | None:
    code = func.__code__
    if code.co_kwonlyargcount or code.co_flags & _STAR_ARGS:
        return None
    defaults = func.__defaults__ or ()
    try:
        sources = bind_positions(code, len(defaults), 1 + nargs - len(kw_names), kw_names)
    except BindError:  # CPython's TypeError: raised by CPython's own call
        return None
    order: list[int] = []
    for where, i in sources:
        if where == "arg":
            order.append(i)
            continue
        value = defaults[i]
        if type(value) is complex or not constant_ok(value):
            return None
        order.append(1 + nargs + i)
    return tuple(order), defaults


def plan(cls: type, name: str, nargs: int, kw_names: tuple[str, ...] = ()
         ) -> MethodPlan | None:
    """The direct call of method ``name`` of an instance of exactly ``cls`` with
    ``nargs`` arguments (the last ``len(kw_names)`` by those keywords), if any."""
    if compat.INSTANCE_LAYOUT_UNKNOWN is not None or type(cls) is not type:
        return None
    version = compat.type_version(cls)  # before the lookup: a change after it shows
    if not version or not compat.generic_getattr(cls):
        return None
    found = next((vars(k)[name] for k in cls.__mro__ if name in vars(k)), None)
    if type(found) is not FunctionType:  # a staticmethod, classmethod, builtin ...
        return None
    if compat.type_flags(cls) & compat.TPFLAGS_MANAGED_DICT:
        shared = compat.shared_keys(cls)
        if shared is None or compat.split_key_index(cls, name) is not None:
            return None  # an instance may hold the name itself
        keys, entries = shared
    elif cls.__dictoffset__ == 0:  # __slots__ only: no instance holds anything else
        keys, entries = 0, 0
    else:
        return None
    bound = _order(found, nargs, kw_names)
    if bound is None or compat.type_version(cls) != version:
        return None
    return MethodPlan(cls, found, version, keys, entries, *bound, nargs, name)


def init_plan(cls: type, nargs: int, kw_names: tuple[str, ...] = ()) -> MethodPlan | None:
    """The direct call of ``cls.__init__`` for a constructor call ``cls(*args)`` that
    native code makes itself (:mod:`.construct`): ``type.__call__`` runs ``cls.__new__``
    and then ``cls.__init__`` found on the type (``slot_tp_init``: never the instance's
    own attribute).  Planned when object's own ``__new__`` makes the instances (no
    ``__new__`` on the MRO, metaclass ``type``: ``results.constructs``), the class has a
    version tag (which changes when ``__init__`` or ``__new__`` is assigned on it or a
    base), and the first ``__init__`` on the MRO is a plain function the call binds to
    (as :func:`plan`)."""
    if compat.INSTANCE_LAYOUT_UNKNOWN is not None or not constructs(cls):
        return None
    version = compat.type_version(cls)
    if not version or cls.__new__ is not object.__new__:
        return None
    found = next((vars(k)["__init__"] for k in cls.__mro__ if "__init__" in vars(k)), None)
    if type(found) is not FunctionType or _rebinds_self(found.__code__):
        return None  # object's own __init__, a builtin's; a resume finds self unbound
    bound = _order(found, nargs, kw_names)
    if bound is None or compat.type_version(cls) != version:
        return None
    return MethodPlan(cls, found, version, 0, 0, *bound, nargs, "__init__")


def _rebinds_self(code: CodeType) -> bool:
    """Whether ``code`` stores into or deletes its first parameter (a deoptimised
    ``__init__``'s frame is where its instance is found: ``deopt.resume``)."""
    if not code.co_argcount:
        return True
    return any(i.opname in ("STORE_FAST", "DELETE_FAST") and i.arg == 0
               for i in dis.get_instructions(code))


def callee_kinds(plan: MethodPlan, given: Sequence[CalleeKind]) -> tuple[CalleeKind, ...]:
    """The kinds of ``plan.func``'s parameters for a call passing (obj, *args) of
    kinds ``given``: the defaults' kinds where it takes them."""
    out: list[CalleeKind] = []
    for position in plan.order:
        if position <= plan.nargs:
            out.append(given[position])
        else:
            kind = Kind.of(plan.default(position))
            assert isinstance(kind, Kind)
            out.append(kind)
    return tuple(out)
