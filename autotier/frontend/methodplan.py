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

from collections.abc import Sequence
from dataclasses import dataclass
from types import FunctionType

from autotier import compat
from autotier.abi import CalleeKind, Kind
from autotier.callbinding import BindError, bind_positions
from autotier.frontend.builtins_table import constant_ok

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
