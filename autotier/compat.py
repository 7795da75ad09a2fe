"""Every CPython-version difference autotier depends on, in one place.

Two kinds live here: object layouts and interpreter-state offsets that native code
reads (section "layouts"), and bytecode differences the frontend decodes (section
"bytecode").  Each layout fact is checked against the running interpreter by
``check_layouts()`` at import, so a mismatch is a clear ImportError, never a crash.
"""

from __future__ import annotations

import ctypes
import sys

PY_VERSION = sys.version_info[:2]
SUPPORTED = (3, 11) <= PY_VERSION < (3, 13)

# ---------------------------------------------------------------- layouts
# PyObject: ob_refcnt at 0, ob_type at 8 (all 64-bit CPythons).
OB_REFCNT = 0
OB_TYPE = 8
# PyFloatObject.ob_fval
FLOAT_OB_FVAL = 16
# PyLongObject (3.11): ob_size (sign * number of 30-bit digits), then the digits.
# Native entries decode ints of up to two digits inline; longer ones go through
# PyLong_AsLongLongAndOverflow.  3.12 changed the layout: there, always call.
LONG_INLINE_UNBOX = PY_VERSION == (3, 11)
LONG_OB_SIZE = 16
LONG_DIGITS = 24
LONG_SHIFT = 30
# The cached small ints -5..256 are one array of equal-sized objects that live for
# the whole process; entries return them without calling PyLong_FromLongLong.
SMALL_INT_MIN = -5
SMALL_INT_MAX = 256
SMALL_INT_STRIDE = id(1) - id(0)
SMALL_INTS_CONTIGUOUS = all(
    id(i + 1) - id(i) == SMALL_INT_STRIDE for i in range(SMALL_INT_MIN, SMALL_INT_MAX)
)
# PyDictObject.ma_version_tag: changes on every mutation of the dict.
DICT_VERSION_TAG = 24
# Type flags (Include/object.h)
TPFLAGS_HAVE_VECTORCALL = 1 << 11
TPFLAGS_METHOD_DESCRIPTOR = 1 << 17
# PyTypeObject.tp_flags
TYPE_TP_FLAGS = 168
# PyThreadState: the int counting how many more Python frames may be entered
# (3.11: recursion_remaining; 3.12: py_recursion_remaining).  Found by probing.
TSTATE_RECURSION_REMAINING = 32 if PY_VERSION == (3, 11) else 44


def dict_version(d: dict[str, object]) -> int:
    """The ``ma_version_tag`` of a dict (changes whenever the dict changes)."""
    return ctypes.c_uint64.from_address(id(d) + DICT_VERSION_TAG).value


def type_flags(t: type) -> int:
    return ctypes.c_ulong.from_address(id(t) + TYPE_TP_FLAGS).value


def add_type_flags(t: type, flags: int) -> None:
    """Set extra ``tp_flags`` bits on a type we created ourselves."""
    cell = ctypes.c_ulong.from_address(id(t) + TYPE_TP_FLAGS)
    cell.value = cell.value | flags


def _recursion_remaining() -> int:
    get = ctypes.pythonapi.PyThreadState_Get
    get.restype = ctypes.c_void_p
    return ctypes.c_int.from_address(get() + TSTATE_RECURSION_REMAINING).value


def _probe_depth(n: int) -> int:
    return _recursion_remaining() if n == 0 else _probe_depth(n - 1)


def check_layouts() -> None:
    """Verify the layout facts above against this interpreter."""
    if not SUPPORTED:
        raise ImportError(f"autotier supports CPython 3.11 and 3.12, not {sys.version}")
    if sys.implementation.name != "cpython" or ctypes.sizeof(ctypes.c_void_p) != 8:
        raise ImportError("autotier needs 64-bit CPython")
    x = 1.5
    if ctypes.c_double.from_address(id(x) + FLOAT_OB_FVAL).value != 1.5:
        raise ImportError("unexpected PyFloatObject layout")
    if ctypes.c_void_p.from_address(id(x) + OB_TYPE).value != id(float):
        raise ImportError("unexpected PyObject layout")
    if type_flags(int) & (1 << 24) == 0:  # Py_TPFLAGS_LONG_SUBCLASS
        raise ImportError("unexpected PyTypeObject layout")
    d: dict[str, object] = {}
    before = dict_version(d)
    d["k"] = 1
    if dict_version(d) == before:
        raise ImportError("dict version tags are not available")
    if LONG_INLINE_UNBOX:
        for value in (0, 5, -7, 2**40 + 3, -(2**59)):
            size = ctypes.c_ssize_t.from_address(id(value) + LONG_OB_SIZE).value
            digits = [ctypes.c_uint32.from_address(id(value) + LONG_DIGITS + 4 * i).value
                      for i in range(abs(size))]
            decoded = sum(d << (LONG_SHIFT * i) for i, d in enumerate(digits))
            if (-decoded if size < 0 else decoded) != value:
                raise ImportError("unexpected PyLongObject layout")
    if _probe_depth(0) - _probe_depth(5) != 5:
        raise ImportError("cannot locate the thread state's recursion counter")


check_layouts()

# ---------------------------------------------------------------- bytecode
# (the frontend's section: opcode names and call sequences per version)
