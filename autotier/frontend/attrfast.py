"""The fast path of an attribute read (issue 11), guarded as CPython's own LOAD_ATTR
specialisation is: what the compile found, and what the read assumes of it.

For a class whose lookup is object's own (no ``__getattr__`` or ``__getattribute__``:
``compat.generic_getattr``) with a version tag (``tp_version_tag``: any change to the
class or a base, a method or attribute reassigned, a property added, drops it):

- a ``__slots__`` member found first on the MRO: the object pointer at its offset
  (``compat.slot_offset``);
- a name no data descriptor of the MRO claims, held in the instance's values
  (3.11's managed dict: the values array before the object, in the order of the
  class's shared keys, ``compat.split_key_index``): that entry.

At run time the read checks the instance's type is still the class and the class's
version tag still the compile's (two loads, two compares), and the pointer it reads is
not NULL (an unset slot, a deleted attribute, an instance whose dict was made: then
the C API answers, ``attrs.get_attr``).  Anything else (a property, a data descriptor,
``__getattr__``, a metaclass, a class without a tag, 3.12's layouts) plans no fast
path: every read is the C API's.

A write takes the same path (and needs object's own assignment: no ``__setattr__``)
when the slot or entry holds an exact int or float (``boxes.is_number``: releasing it
runs no Python code): the new value's reference replaces it, as CPython's
STORE_ATTR_INSTANCE_VALUE and a slot's member setter do; an empty slot takes the
value's reference as the member setter does (nothing to release: a fresh instance's
``__init__``), an empty entry of the values (their insertion order would change)
takes the C API.
"""

from __future__ import annotations

from dataclasses import dataclass

from autotier import compat


@dataclass(frozen=True)
class FastRead:
    cls: type
    version: int  # the class's tp_version_tag at the compile
    slot: int | None = None  # a slot's offset in the object
    index: int | None = None  # the entry in the instance's values


def _data_descriptor(attr: object) -> bool:
    t = type(attr)
    return hasattr(t, "__set__") or hasattr(t, "__delete__")


def plan(cls: type, name: str, *, write: bool = False) -> FastRead | None:
    """The fast path of ``obj.name`` (``write``: of ``obj.name = v``, which needs
    object's own assignment too: no ``__setattr__``) for an instance of exactly ``cls``,
    if any."""
    if compat.INSTANCE_LAYOUT_UNKNOWN is not None or type(cls) is not type:
        return None
    if write and not compat.generic_setattr(cls):
        return None
    version = compat.type_version(cls)  # before the lookup below: a change after it
    if not version or not compat.generic_getattr(cls):  # shows in the tag
        return None
    found = next((vars(k)[name] for k in cls.__mro__ if name in vars(k)), None)
    fast: FastRead | None = None
    if found is not None and type(found).__name__ == "member_descriptor":
        offset = compat.slot_offset(found)
        if offset is not None:
            fast = FastRead(cls, version, slot=offset)
    elif found is None or not _data_descriptor(found):  # the instance's value wins
        index = compat.split_key_index(cls, name)
        if index is not None:
            fast = FastRead(cls, version, index=index)
    if fast is None or compat.type_version(cls) != version:
        return None
    return fast
