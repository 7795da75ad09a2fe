"""The decorated object: a callable CPython calls directly, through a vectorcall slot.

FINDINGS.md: only an object CPython calls without a Python frame can be cheaper to
call than a plain Python function.  ``HotFunction`` is such an object:

- ``_HotBase`` is a heap type made with ``PyType_FromSpec``.  Its instances carry raw
  machine words the native code reads and writes (layout below), exposed to Python
  as members; ``__vectorcalloffset__`` points CPython's call machinery at word 0.
- ``HotFunction`` is an ordinary Python subclass: it gets a ``__dict__`` (so
  ``functools.update_wrapper`` metadata, ``__wrapped__`` and ``inspect.signature``
  work), weak references, garbage-collector support, and ``__slots__`` for the
  object references native code needs (kept where the collector sees them).
  CPython 3.11 does not let a mutable subclass inherit the vectorcall flag, so it is
  set on the subclass after creation (``compat.add_type_flags``), together with
  ``Py_TPFLAGS_METHOD_DESCRIPTOR`` so that ``obj.method(x)`` calls it with ``obj``
  prepended and no bound-method object, exactly as for a Python function.

Instance layout (offsets in bytes)::

    0   PyObject header
    16  vectorcall   address of the native code CPython calls   (member _vectorcall)
    24  calls        calls counted by the native code            (member _calls)
    32  trigger      when calls >= trigger, call the slow path   (member _trigger)
    40  -            base ends; Python slots follow: _func, _run, _slow, _bead, ...

``_func`` is the decorated function; ``_run`` the function the trampoline forwards
an interpreted call to: ``_func`` itself, or its copy with loop probes for on-stack
replacement (:mod:`autotier.osr`), whose ``__code__`` the user never sees.

Swapping ``_vectorcall`` is one aligned 8-byte store made while holding the GIL:
every caller, on every thread, sees the old or the new code, never a mix.
"""

from __future__ import annotations

import ctypes
import importlib
import inspect
import sys
import types
from typing import Any

from autotier import compat

VECTORCALL_OFFSET = 16
CALLS_OFFSET = 24
TRIGGER_OFFSET = 32
BASE_SIZE = 40
NEVER = 2**63 - 1  # a trigger that never fires

# --- PyType_FromSpec through ctypes -------------------------------------------------
_T_LONGLONG = 17
_T_ULONGLONG = 18
_T_PYSSIZET = 19
_READONLY = 1
_PY_TP_CALL = 50
_PY_TP_MEMBERS = 72
_PY_TP_DOC = 56
_TPFLAGS_DEFAULT = 1 << 18  # Py_TPFLAGS_HAVE_VERSION_TAG
_TPFLAGS_BASETYPE = 1 << 10


class _MemberDef(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("type", ctypes.c_int),
        ("offset", ctypes.c_ssize_t),
        ("flags", ctypes.c_int),
        ("doc", ctypes.c_char_p),
    )


class _Slot(ctypes.Structure):
    _fields_ = (("slot", ctypes.c_int), ("pfunc", ctypes.c_void_p))


class _Spec(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("basicsize", ctypes.c_int),
        ("itemsize", ctypes.c_int),
        ("flags", ctypes.c_uint),
        ("slots", ctypes.POINTER(_Slot)),
    )


def _make_base() -> type:
    members = (_MemberDef * 5)(
        _MemberDef(b"__vectorcalloffset__", _T_PYSSIZET, VECTORCALL_OFFSET, _READONLY, None),
        _MemberDef(b"_vectorcall", _T_ULONGLONG, VECTORCALL_OFFSET, 0, None),
        _MemberDef(b"_calls", _T_LONGLONG, CALLS_OFFSET, 0, None),
        _MemberDef(b"_trigger", _T_LONGLONG, TRIGGER_OFFSET, 0, None),
        _MemberDef(None, 0, 0, 0, None),
    )
    vectorcall_call = ctypes.cast(ctypes.pythonapi.PyVectorcall_Call, ctypes.c_void_p).value
    doc = ctypes.c_char_p(b"native state of an autotier hot function")
    slots = (_Slot * 4)(
        _Slot(_PY_TP_CALL, vectorcall_call),
        _Slot(_PY_TP_MEMBERS, ctypes.cast(members, ctypes.c_void_p).value),
        _Slot(_PY_TP_DOC, ctypes.cast(doc, ctypes.c_void_p).value),
        _Slot(0, None),
    )
    spec = _Spec(
        b"autotier._HotBase",
        BASE_SIZE,
        0,
        _TPFLAGS_DEFAULT | _TPFLAGS_BASETYPE | compat.TPFLAGS_HAVE_VECTORCALL,
        slots,
    )
    from_spec = ctypes.pythonapi.PyType_FromSpec
    from_spec.restype = ctypes.py_object
    from_spec.argtypes = (ctypes.POINTER(_Spec),)
    base = from_spec(ctypes.byref(spec))
    # PyType_FromSpec copies the spec, the slots and the member table's contents
    # into the type, but the member names and the doc must outlive it.
    _KEEP.extend((members, doc, spec, slots))
    assert isinstance(base, type)
    return base


_KEEP: list[object] = []
_HotBase: Any = _make_base()


class HotFunction(_HotBase):
    """A function decorated with ``@autotier.hot``.

    Calls go straight to native code: while interpreted, a counting trampoline that
    forwards to the original function; once compiled, a guarded native entry.
    Everything not on the fast path goes to ``_slow(code, *args, **kwargs)``.
    """

    __slots__ = ("__dict__", "__weakref__", "_bead", "_func", "_run", "_slow")
    _autotier_hot_ = True

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        # Bind like a plain function, so @hot works on methods.
        if obj is None:
            return self
        return types.MethodType(self, obj)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self._func)

    # The function attributes tools read and reloaders write (IPython's autoreload
    # assigns __code__ and __defaults__): they are the original function's.  A new
    # __code__ makes the installed entry bail (Bail.CODE) and the bead recompile;
    # assigned here, the bead is told at once (a failed bead starts again too).
    @property
    def __code__(self) -> types.CodeType:
        return self._func.__code__

    @__code__.setter
    def __code__(self, code: types.CodeType) -> None:
        old = self._func.__code__
        self._func.__code__ = code
        if code is not old:
            self._bead.on_code_assigned()

    @property
    def __defaults__(self) -> tuple[Any, ...] | None:
        return self._func.__defaults__

    @__defaults__.setter
    def __defaults__(self, value: tuple[Any, ...] | None) -> None:
        self._func.__defaults__ = value

    @property
    def __kwdefaults__(self) -> dict[str, Any] | None:
        return self._func.__kwdefaults__

    @__kwdefaults__.setter
    def __kwdefaults__(self, value: dict[str, Any] | None) -> None:
        self._func.__kwdefaults__ = value

    @property
    def __globals__(self) -> dict[str, Any]:
        return self._func.__globals__

    @property
    def __closure__(self) -> tuple[Any, ...] | None:
        return self._func.__closure__

    def __repr__(self) -> str:
        return f"<autotier.hot function {self.__qualname__}>"

    def __reduce__(self) -> str | tuple[Any, tuple[str, str]]:
        # Pickle by reference, as plain functions are; by the same name once it holds
        # the plain function again (a declined bead gave it back: runtime.unwrap).
        module, qualname = self.__module__, str(self.__qualname__)
        if module in sys.modules and _by_name(module, qualname) is self._func:
            return (_by_name, (module, qualname))
        return qualname


def _by_name(module: str, qualname: str) -> Any:
    """What ``module.qualname`` names now (None if nothing): how a hot object whose
    name holds its plain function again is pickled, and unpickled."""
    obj: Any = sys.modules.get(module)
    if obj is None:
        obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


compat.add_type_flags(
    HotFunction, compat.TPFLAGS_HAVE_VECTORCALL | compat.TPFLAGS_METHOD_DESCRIPTOR
)


def _slot_offset(name: str) -> int:
    """Where ``HotFunction``'s slot ``name`` lives in an instance."""
    probe = object.__new__(HotFunction)
    marker = object()
    setattr(probe, name, marker)
    words = HotFunction.__basicsize__ // 8
    base = id(probe)
    hits = [
        i * 8
        for i in range(BASE_SIZE // 8, words)
        if ctypes.c_void_p.from_address(base + i * 8).value == id(marker)
    ]
    if len(hits) != 1:
        raise ImportError(f"cannot locate HotFunction.{name}")
    return hits[0]


FUNC_OFFSET = _slot_offset("_func")
RUN_OFFSET = _slot_offset("_run")
SLOW_OFFSET = _slot_offset("_slow")
BEAD_OFFSET = _slot_offset("_bead")
