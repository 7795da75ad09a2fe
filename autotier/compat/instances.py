"""3.11's instance, type and dict-keys layouts the attribute fast path reads, probed
at import (``INSTANCE_LAYOUT_UNKNOWN``); see :mod:`autotier.compat`."""

from __future__ import annotations

import ctypes

from autotier.compat.layouts import PY_VERSION, type_flags

# ------------------------------------------------------------------ instances (issue 11)
# 3.11's layouts the attribute fast path reads (frontend/attrfast.py); checked at import
# by _probe_instances: where they do not hold (3.12 keeps an instance's values
# elsewhere), INSTANCE_LAYOUT_UNKNOWN says why and every access takes the C API.
TYPE_GETATTRO = 144  # PyTypeObject.tp_getattro
TYPE_SETATTRO = 152  # PyTypeObject.tp_setattro
TYPE_VERSION_TAG = 384  # PyTypeObject.tp_version_tag (unsigned int; 0: none assigned)
TPFLAGS_MANAGED_DICT = 1 << 4  # the instance's dict (or its values) before the object
TPFLAGS_VALID_VERSION_TAG = 1 << 19
HEAPTYPE_CACHED_KEYS = 872  # PyHeapTypeObject.ht_cached_keys (after ht_qualname)
_HEAPTYPE_NAME, _HEAPTYPE_QUALNAME = 848, 864
OBJECT_VALUES = -32  # _PyObject_ValuesPointer(obj): the PyDictValues * (NULL: a dict)
OBJECT_DICT = -24  # _PyObject_ManagedDictPointer(obj): its dict, once made (else NULL)
DICT_MA_KEYS = 32  # PyDictObject.ma_keys
DICT_KEYS_GENERAL = 0  # dk_kind of keys that may be other than str (a lookup may run __eq__)
_DK_LOG2_INDEX_BYTES, _DK_KIND, _DK_NENTRIES, _DK_INDICES = 9, 10, 24, 32
DK_NENTRIES, DK_KIND = _DK_NENTRIES, _DK_KIND  # PyDictKeysObject's (Py_ssize_t, uint8)
_DICT_KEYS_SPLIT = 2
_MEMBER_DESCR_MEMBER, _MEMBER_TYPE, _MEMBER_OFFSET = 40, 8, 16  # PyMemberDescrObject
_T_OBJECT_EX = 16  # a __slots__ member


def type_version(t: type) -> int:
    """``t``'s version tag, assigned first by a lookup (0: none could be)."""
    getattr(t, "__autotier_no_such_attribute__", None)  # _PyType_Lookup assigns one
    if not type_flags(t) & TPFLAGS_VALID_VERSION_TAG:
        return 0
    return ctypes.c_uint32.from_address(id(t) + TYPE_VERSION_TAG).value


def generic_getattr(t: type) -> bool:
    """``t``'s attribute lookup is object's own (no ``__getattr__``, no
    ``__getattribute__``)."""
    slot = ctypes.c_void_p.from_address(id(t) + TYPE_GETATTRO).value
    return slot == ctypes.c_void_p.from_address(id(object) + TYPE_GETATTRO).value


def generic_setattr(t: type) -> bool:
    """``t``'s attribute assignment is object's own (no ``__setattr__``)."""
    slot = ctypes.c_void_p.from_address(id(t) + TYPE_SETATTRO).value
    return slot == ctypes.c_void_p.from_address(id(object) + TYPE_SETATTRO).value


def split_key_index(t: type, name: str) -> int | None:
    """Where instances of ``t`` keep attribute ``name`` among their values: its entry
    in the class's shared keys (None: not there yet, or no shared keys)."""
    if INSTANCE_LAYOUT_UNKNOWN is not None or not type_flags(t) & TPFLAGS_MANAGED_DICT:
        return None
    keys = ctypes.c_void_p.from_address(id(t) + HEAPTYPE_CACHED_KEYS).value
    if not keys or ctypes.c_uint8.from_address(keys + _DK_KIND).value != _DICT_KEYS_SPLIT:
        return None
    log2_index_bytes = ctypes.c_uint8.from_address(keys + _DK_LOG2_INDEX_BYTES).value
    entries = keys + _DK_INDICES + (1 << log2_index_bytes)
    for i in range(ctypes.c_ssize_t.from_address(keys + _DK_NENTRIES).value):
        key = ctypes.c_void_p.from_address(entries + 16 * i).value  # {me_key, me_value}
        if key and ctypes.cast(key, ctypes.py_object).value == name:
            return i
    return None


def shared_keys(t: type) -> tuple[int, int] | None:
    """The address of the shared keys instances of ``t`` keep their values in, and
    how many names they hold (they only grow: a name is never removed); None: no
    shared keys (no managed dict, or a combined one)."""
    if INSTANCE_LAYOUT_UNKNOWN is not None or not type_flags(t) & TPFLAGS_MANAGED_DICT:
        return None
    keys = ctypes.c_void_p.from_address(id(t) + HEAPTYPE_CACHED_KEYS).value
    if not keys or ctypes.c_uint8.from_address(keys + _DK_KIND).value != _DICT_KEYS_SPLIT:
        return None
    return keys, ctypes.c_ssize_t.from_address(keys + _DK_NENTRIES).value


def instance_values(obj: object) -> dict[str, object] | None:
    """An instance's attributes read from its values (3.11's managed dict, in the
    shared keys' order), without making its ``__dict__`` (``vars()`` would: the
    instance would lose the values layout, CPython's own fast path and autotier's);
    None when it has no values (a dict made already, or another layout)."""
    t = type(obj)
    if INSTANCE_LAYOUT_UNKNOWN is not None or not type_flags(t) & TPFLAGS_MANAGED_DICT:
        return None
    values = ctypes.c_void_p.from_address(id(obj) + OBJECT_VALUES).value
    keys = ctypes.c_void_p.from_address(id(t) + HEAPTYPE_CACHED_KEYS).value
    if not values or not keys:
        return None
    log2_index_bytes = ctypes.c_uint8.from_address(keys + _DK_LOG2_INDEX_BYTES).value
    entries = keys + _DK_INDICES + (1 << log2_index_bytes)
    out: dict[str, object] = {}
    for i in range(ctypes.c_ssize_t.from_address(keys + _DK_NENTRIES).value):
        key = ctypes.c_void_p.from_address(entries + 16 * i).value
        value = ctypes.c_void_p.from_address(values + 8 * i).value
        if key and value:
            out[ctypes.cast(key, ctypes.py_object).value] = ctypes.cast(
                value, ctypes.py_object).value
    return out


def slot_offset(member: object) -> int | None:
    """The offset of a ``__slots__`` member descriptor's object pointer."""
    if INSTANCE_LAYOUT_UNKNOWN is not None or type(member).__name__ != "member_descriptor":
        return None
    pointer = ctypes.c_void_p.from_address(id(member) + _MEMBER_DESCR_MEMBER).value
    if not pointer or ctypes.c_int.from_address(pointer + _MEMBER_TYPE).value != _T_OBJECT_EX:
        return None
    return ctypes.c_ssize_t.from_address(pointer + _MEMBER_OFFSET).value


def _probe_instances() -> str | None:
    """Why the layouts above do not hold on this CPython (None: they do)."""
    if PY_VERSION != (3, 11):
        return f"the instance layouts are 3.11's, not {PY_VERSION}'s"

    class Probe:
        c = 0

        def __init__(self) -> None:
            self.a = 1.5
            self.b = 2.5

    class Slotted:
        __slots__ = ("a", "b")
        a: float
        b: float

    probe = Probe()
    address = id(Probe)
    names = (ctypes.c_void_p.from_address(address + _HEAPTYPE_NAME).value,
             ctypes.c_void_p.from_address(address + _HEAPTYPE_QUALNAME).value)
    if names != (id(Probe.__name__), id(Probe.__qualname__)):
        return "unexpected PyHeapTypeObject layout"
    version = type_version(Probe)
    Probe.c = 1  # modified: the tag is dropped, a new one assigned at the next lookup
    if not version or type_version(Probe) in (0, version):
        return "unexpected tp_version_tag"
    values = ctypes.c_void_p.from_address(id(probe) + OBJECT_VALUES).value
    global INSTANCE_LAYOUT_UNKNOWN
    INSTANCE_LAYOUT_UNKNOWN = None  # for the readers, while probing
    try:
        index = split_key_index(Probe, "b")
        if not values or index != 1 or ctypes.c_void_p.from_address(
                values + 8 * index).value != id(probe.b):
            return "unexpected split-keys instance values"
        if instance_values(probe) != {"a": 1.5, "b": 2.5} or ctypes.c_void_p.from_address(
                id(probe) + OBJECT_VALUES).value != values:
            return "unexpected instance values"
        s = Slotted()
        s.b = 0.5
        offset = slot_offset(vars(Slotted)["b"])
        if offset is None or ctypes.c_void_p.from_address(id(s) + offset).value != id(s.b):
            return "unexpected member descriptor layout"
        if not generic_getattr(Probe) or not generic_setattr(Probe):
            return "unexpected tp_getattro or tp_setattro"
        made = Probe()
        own = vars(made)  # its values become a dict, kept before the object

        def kind(d: object) -> int:
            keys = ctypes.c_void_p.from_address(id(d) + DICT_MA_KEYS).value
            return ctypes.c_uint8.from_address((keys or 0) + _DK_KIND).value

        if ctypes.c_void_p.from_address(id(made) + OBJECT_DICT).value != id(own) or (
                ctypes.c_void_p.from_address(id(made) + OBJECT_VALUES).value) or (
                kind(own) == DICT_KEYS_GENERAL or kind({1: 2}) != DICT_KEYS_GENERAL):
            return "unexpected managed dict layout"

        class Hooked:
            def __setattr__(self, name: str, value: object) -> None:
                pass

        if generic_setattr(Hooked):
            return "unexpected tp_setattro"
    finally:
        INSTANCE_LAYOUT_UNKNOWN = "probing"
    return None


INSTANCE_LAYOUT_UNKNOWN: str | None = "probing"
INSTANCE_LAYOUT_UNKNOWN = _probe_instances()
