"""``autotier.native(f)``: the ctypes-callable native code of a compiled function."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from autotier.abi import (
    RECORD_BUDGET,
    RECORD_HEADER,
    RECORD_KEEPER,
    ArgKind,
    Kind,
    NumpyKind,
    Status,
)
from autotier.backends.base import NativeSpec
from autotier.deopt import resume, sites

_CTYPE: dict[ArgKind, Any] = {  # an ndarray: a py_object
    Kind.INT: ctypes.c_int64, Kind.FLOAT: ctypes.c_double, Kind.BOOL: ctypes.c_bool,
    Kind.LIST: ctypes.py_object, Kind.TUPLE: ctypes.py_object
}


_NUMPY_CTYPES = {"float64": ctypes.c_double, "float32": ctypes.c_float, "bool": ctypes.c_bool,
                 "int8": ctypes.c_int8, "int16": ctypes.c_int16, "int32": ctypes.c_int32,
                 "int64": ctypes.c_int64, "uint8": ctypes.c_uint8, "uint16": ctypes.c_uint16,
                 "uint32": ctypes.c_uint32, "uint64": ctypes.c_uint64}


def ctype_of(kind: ArgKind) -> Any:
    """The ctypes type a body's parameter of ``kind`` is (an ndarray: the object)."""
    if isinstance(kind, NumpyKind):
        return _NUMPY_CTYPES[kind.dtype]
    return _CTYPE.get(kind, ctypes.py_object)


class Result(ctypes.Structure):
    """ctypes view of the body's out struct (autotier.abi)."""

    _fields_ = (("kind", ctypes.c_int64), ("ival", ctypes.c_int64), ("fval", ctypes.c_double),
                ("high", ctypes.c_int64))

    def value(self) -> object:
        """The Python value a body stored here (after returning Status.OK)."""
        kind = Kind(self.kind)
        if kind is Kind.NONE:
            return None
        if kind is Kind.OBJECT:  # a new reference: ours now
            return sites.take(self.ival)
        if kind is Kind.FLOAT:
            return float(self.fval)
        if kind is Kind.BOOL:
            return bool(self.ival)
        if kind is Kind.WIDE_INT:
            return int(self.high) * 2**64 + (int(self.ival) & (2**64 - 1))
        return int(self.ival)


@dataclass(frozen=True, eq=False)
class NativeFunction:
    """One specialisation's native body, callable through ctypes.

    ``cfunc`` is the raw ctypes function with the body ABI of autotier.abi
    (``int32 body(args..., Result *out, int64 budget, int64 *record)``), called with
    the GIL held (a body checks for signals in long loops); calling the NativeFunction
    itself converts the arguments, runs the body and returns the Python value; when the
    body bails out, the interpreter finishes the call from where the body left it (or,
    when the body left no frames, re-runs it with the Python function), so its
    answers are CPython's.
    """

    kinds: tuple[ArgKind, ...]
    address: int
    cfunc: Any
    fallback: Any
    budget: int = 1000
    owner: object = None  # the machine code's owner (engine.NativeCode): alive while this is
    record_words: int = RECORD_HEADER  # the deopt record the body may write

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.kinds):
            raise TypeError(f"expected {len(self.kinds)} arguments, got {len(args)}")
        if any(Kind.of(a) != k for a, k in zip(args, self.kinds, strict=True)):
            return self.fallback(*args)
        out = Result()
        record = (ctypes.c_int64 * self.record_words)()
        record[RECORD_KEEPER], record[RECORD_BUDGET] = id(resume.keep), self.budget
        status = self.cfunc(*args, ctypes.byref(out), self.budget, record)
        if status != Status.OK:
            if record[1]:  # frames: the interpreter goes on where the body stopped
                return resume.finish(sites.read_record(ctypes.addressof(record))[1])()
            return self.fallback(*args)
        return out.value()


def make(spec: NativeSpec, fallback: Any) -> NativeFunction:
    # PYFUNCTYPE: called with the GIL held (a body checks for signals, a C-API call),
    # and an exception the body left set (Status.SIGNAL) is raised after the call.
    proto = ctypes.PYFUNCTYPE(
        ctypes.c_int32, *(ctype_of(k) for k in spec.kinds),
        ctypes.POINTER(Result),
        ctypes.c_int64, ctypes.POINTER(ctypes.c_int64))
    return NativeFunction(spec.kinds, spec.address, proto(spec.address), fallback,
                          owner=spec.native, record_words=spec.record_words)
