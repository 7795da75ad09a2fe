"""Object layouts and thread-state offsets native code reads, each checked against
the running interpreter by ``check_layouts()`` at import (a mismatch is a clear
ImportError, never a crash); see :mod:`autotier.compat`."""

from __future__ import annotations

import ctypes
import platform
import sys

PY_VERSION = sys.version_info[:2]
SUPPORTED = (3, 11) <= PY_VERSION < (3, 13)

# ---------------------------------------------------------------- layouts
# PyObject: ob_refcnt at 0, ob_type at 8 (all 64-bit CPythons).
OB_REFCNT = 0
OB_TYPE = 8
# PyFloatObject.ob_fval
FLOAT_OB_FVAL = 16
# PyComplexObject.cval: {double real, double imag}
COMPLEX_CVAL = 16
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
# The C function that makes an int from little-endian two's-complement bytes,
# ``PyObject *f(const unsigned char *, size_t n, int little_endian, int is_signed)``
# (private but exported on 3.11 and 3.12): entries box an int128 result with it.
LONG_FROM_BYTES = "_PyLong_FromByteArray"
# PyDictObject.ma_version_tag: changes on every mutation of the dict.
DICT_VERSION_TAG = 24
# Type flags (Include/object.h)
TPFLAGS_HAVE_VECTORCALL = 1 << 11
TPFLAGS_METHOD_DESCRIPTOR = 1 << 17
TPFLAGS_HEAPTYPE = 1 << 9  # a class statement's class (abi.InstanceKind)
# PyTypeObject.tp_flags, tp_base, tp_alloc (3.11 and 3.12)
TYPE_TP_FLAGS = 168
TYPE_TP_BASE = 256
TYPE_TP_ALLOC = 304
TYPE_TP_NEW = 312  # PyTypeObject.tp_new (object.__new__'s C function in object's)
TYPE_TP_NAME = 24  # PyTypeObject.tp_name (a C string)
# PyFunctionObject.func_code (after globals, builtins, name, qualname in 3.11 and 3.12),
# then func_defaults (a tuple, or NULL)
FUNC_CODE = 48
FUNC_DEFAULTS = 56
# PyTupleObject: ob_size (the length), then the items
TUPLE_SIZE = 16
TUPLE_ITEMS = 24
# PyListObject: ob_size (the length), then ob_item (the PyObject ** array of items)
LIST_SIZE = 16
LIST_ITEMS = 24
# PyThreadState: the int counting how many more Python frames may be entered
# (3.11: recursion_remaining; 3.12: py_recursion_remaining).  Found by probing.
TSTATE_RECURSION_REMAINING = 32 if PY_VERSION == (3, 11) else 28
# PyThreadState.c_profilefunc and c_tracefunc: non-NULL while sys.setprofile or
# sys.settrace (or a C tool: cProfile, coverage's CTracer) watches the thread.  Entries
# then send every call to the interpreter, so the tool sees what it sees undecorated.
# (3.12's sys.monitoring tools are per interpreter: see compat.monitoring.)
TSTATE_C_PROFILEFUNC = 64
TSTATE_C_TRACEFUNC = 72
TSTATE_C_PROFILEOBJ = 80  # the object sys.setprofile was given
# The current thread state without a call (3.11): _PyRuntime.gilstate.tstate_current,
# the thread state of the thread holding the GIL (NULL while no thread holds it), which
# PyThreadState_Get itself reads.  Entries load it from its fixed address.  3.12 keeps
# it in a C thread-local (_Py_tss_tstate): there, entries call PyThreadState_Get.
RUNTIME_SYMBOL = "_PyRuntime"
RUNTIME_TSTATE_CURRENT = 576 if PY_VERSION == (3, 11) else None


def dict_version(d: dict[str, object]) -> int:
    """The ``ma_version_tag`` of a dict (changes whenever the dict changes)."""
    return ctypes.c_uint64.from_address(id(d) + DICT_VERSION_TAG).value


def type_flags(t: type) -> int:
    return ctypes.c_ulong.from_address(id(t) + TYPE_TP_FLAGS).value


def add_type_flags(t: type, flags: int) -> None:
    """Set extra ``tp_flags`` bits on a type we created ourselves."""
    cell = ctypes.c_ulong.from_address(id(t) + TYPE_TP_FLAGS)
    cell.value = cell.value | flags


def tstate_current_address() -> int:
    """The address of the word holding the current thread state (the GIL holder's),
    or 0 where there is none to read (3.12): then call ``PyThreadState_Get``."""
    if RUNTIME_TSTATE_CURRENT is None:
        return 0
    runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, RUNTIME_SYMBOL))
    return runtime + RUNTIME_TSTATE_CURRENT


def _check_tstate_current() -> None:
    """The word holds this thread's state while it holds the GIL, and NULL while it
    does not (read by a C call that releases the GIL): that tells it apart from the
    GIL's ``last_holder``, which keeps the state of the thread that released it."""
    address = tstate_current_address()
    if not address:
        return
    held = ctypes.c_void_p.from_address(address).value
    libc = ctypes.CDLL(None)  # a CDLL call releases the GIL
    libc.memmove.restype = ctypes.c_void_p
    libc.memmove.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    released = ctypes.c_uint64(1)
    libc.memmove(ctypes.addressof(released), address, 8)
    if held != _thread_state() or released.value != 0:
        raise ImportError("cannot locate the current thread state (_PyRuntime.gilstate)")


def _recursion_remaining() -> int:
    get = ctypes.pythonapi.PyThreadState_Get
    get.restype = ctypes.c_void_p
    return ctypes.c_int.from_address(get() + TSTATE_RECURSION_REMAINING).value


def _probe_depth(n: int) -> int:
    return _recursion_remaining() if n == 0 else _probe_depth(n - 1)


def _probe_defaults(a: int = 1) -> int:
    return a


def check_layouts() -> None:
    """Verify the layout facts above against this interpreter."""
    if not SUPPORTED:
        raise ImportError(f"autotier supports CPython 3.11 and 3.12, not {sys.version}")
    if sys.implementation.name != "cpython" or ctypes.sizeof(ctypes.c_void_p) != 8:
        raise ImportError("autotier needs 64-bit CPython")
    if platform.machine() not in ("x86_64", "AMD64") or not sys.platform.startswith("linux"):
        # native code uses the C library's _setjmp/longjmp with a buffer sized for
        # glibc on x86-64, and the System V calling convention
        raise ImportError(f"autotier runs on x86-64 Linux, not {platform.machine()} "
                          f"{sys.platform}")
    x = 1.5
    if ctypes.c_double.from_address(id(x) + FLOAT_OB_FVAL).value != 1.5:
        raise ImportError("unexpected PyFloatObject layout")
    z = complex(1.5, -2.5)
    if (ctypes.c_double.from_address(id(z) + COMPLEX_CVAL).value,
            ctypes.c_double.from_address(id(z) + COMPLEX_CVAL + 8).value) != (1.5, -2.5):
        raise ImportError("unexpected PyComplexObject layout")
    if ctypes.c_void_p.from_address(id(x) + OB_TYPE).value != id(float):
        raise ImportError("unexpected PyObject layout")
    if type_flags(int) & (1 << 24) == 0:  # Py_TPFLAGS_LONG_SUBCLASS
        raise ImportError("unexpected PyTypeObject layout")
    generic_alloc = ctypes.cast(ctypes.pythonapi.PyType_GenericAlloc, ctypes.c_void_p).value
    if (ctypes.c_void_p.from_address(id(float) + TYPE_TP_BASE).value != id(object)
            or ctypes.c_void_p.from_address(id(object) + TYPE_TP_ALLOC).value != generic_alloc):
        raise ImportError("unexpected PyTypeObject layout (tp_base, tp_alloc)")

    class _Made:
        pass

    new = ctypes.c_void_p.from_address(id(object) + TYPE_TP_NEW).value
    if (ctypes.c_char_p.from_address(id(float) + TYPE_TP_NAME).value != b"float" or not new
            or ctypes.c_void_p.from_address(id(_Made) + TYPE_TP_NEW).value != new
            or ctypes.c_void_p.from_address(id(float) + TYPE_TP_NEW).value == new):
        raise ImportError("unexpected PyTypeObject layout (tp_name, tp_new)")
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
    if ctypes.c_void_p.from_address(id(check_layouts) + FUNC_CODE).value != id(
            check_layouts.__code__):
        raise ImportError("unexpected PyFunctionObject layout")
    probe = (1, 2)
    if (ctypes.c_void_p.from_address(id(_probe_defaults) + FUNC_DEFAULTS).value
            != id(_probe_defaults.__defaults__)
            or ctypes.c_ssize_t.from_address(id(probe) + TUPLE_SIZE).value != 2
            or ctypes.c_void_p.from_address(id(probe) + TUPLE_ITEMS + 8).value != id(2)):
        raise ImportError("unexpected PyFunctionObject or PyTupleObject layout")
    listed = [3, 4, 5]
    items = ctypes.c_void_p.from_address(id(listed) + LIST_ITEMS).value or 0
    if (ctypes.c_ssize_t.from_address(id(listed) + LIST_SIZE).value != 3
            or ctypes.c_void_p.from_address(items + 16).value != id(5)):
        raise ImportError("unexpected PyListObject layout")
    if _probe_depth(0) - _probe_depth(5) != 5:
        raise ImportError("cannot locate the thread state's recursion counter")
    _check_tracing_fields()
    _check_tstate_current()


def _thread_state() -> int:
    get = ctypes.pythonapi.PyThreadState_Get
    get.restype = ctypes.c_void_p
    return int(get())


def thread_is_traced() -> bool:
    """True while a profile or trace function watches the calling thread (as the
    native entries read it)."""
    tstate = _thread_state()
    return any(ctypes.c_void_p.from_address(tstate + offset).value
               for offset in (TSTATE_C_PROFILEFUNC, TSTATE_C_TRACEFUNC))


def _check_tracing_fields() -> None:
    """Verify the two offsets by setting a profile and a trace function, unless a tool
    already watches this thread (replacing its C-level hook from Python would change
    what it records): then check only that one of the fields is set."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        if not thread_is_traced():
            raise ImportError("cannot locate the thread state's trace and profile hooks")
        return
    tstate = _thread_state()

    def word(offset: int) -> int:
        return ctypes.c_void_p.from_address(tstate + offset).value or 0

    def hook(*_: object) -> None:
        return None

    seen = [word(TSTATE_C_PROFILEFUNC), word(TSTATE_C_TRACEFUNC)]
    sys.setprofile(hook)
    try:
        seen += [word(TSTATE_C_PROFILEFUNC), word(TSTATE_C_TRACEFUNC)]
        profiled_by_hook = word(TSTATE_C_PROFILEOBJ) == id(hook)
    finally:
        sys.setprofile(None)
    sys.settrace(hook)
    try:
        seen += [word(TSTATE_C_PROFILEFUNC), word(TSTATE_C_TRACEFUNC)]
    finally:
        sys.settrace(None)
    if [bool(w) for w in seen] != [False, False, True, False, False, True] or not (
            profiled_by_hook):
        raise ImportError("cannot locate the thread state's trace and profile hooks")


check_layouts()
