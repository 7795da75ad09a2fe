"""The native calling contract between a compiled body and its guarded entry.

Every backend that produces native code for the llvm path exports one *body*
function per compiled Python function, with this C signature::

    int32_t body(<params>, Result *out, int64_t budget, int64_t *record);

- ``<params>``: one per Python parameter, in order, typed by :class:`Kind`
  (``INT`` -> i64, ``FLOAT`` -> double, ``BOOL`` -> i1, ``LIST``, ``TUPLE`` and an
  :class:`ArrayKind` (an ndarray), an :class:`InstanceKind` (an instance of a user
  class) and ``COMPLEX`` -> the borrowed ``PyObject *``).
- ``out``: where the body writes its result on success, a :data:`RESULT_IR`
  struct ``{i64 kind, i64 ival, double fval, i64 high}``; ``kind`` is a :class:`Kind`
  (``BOOL`` uses ``ival`` 0/1, ``INT`` uses ``ival``, ``FLOAT`` uses ``fval``,
  ``WIDE_INT`` -- an int beyond int64 from code that holds ints as i128 -- is
  ``high * 2**64 + (ival as unsigned)``; ``NONE`` is None; ``OBJECT`` is a new
  reference in ``ival``: a tuple the body built, or a list or tuple argument).
- ``budget``: how many more native frames (calls of bodies) may be entered.
  A body whose budget is <= 0 on entry returns ``Status.RECURSION`` without doing
  anything; a body calls another body with ``budget - 1``.
- ``record``: where a bailout leaves the frames it deoptimises (below), at least
  the compile's ``record_words`` long.
- return value: a :class:`Status`. ``OK`` means ``*out`` holds exactly CPython's
  result.  Anything else is a *bailout*: native code could not promise CPython's
  answer (an int64 overflow, a zero divisor, a math domain error, ...).  If the
  record holds frames, the interpreter continues the call where native code left
  it (*precise deoptimisation*, :mod:`autotier.deopt.resume`): the failing
  instruction runs in the interpreter, and nothing that ran natively runs again.
  If it holds none (a program whose bailouts unwind, a frame budget exhausted
  at the first call), the entry re-runs the call in the interpreter, which is
  exact because such bodies have no effects.

Deopt records
-------------
An array of int64 words::

    record[0]   the Status of the innermost failure
    record[1]   the number of frames that follow (0: re-run the call instead)
    record[2]   the index of the first free word
    record[3]   the bookkeeping callable (a borrowed ``PyObject *``, 0 if none):
                ``keeper(Bail.CALLEE, address)`` decides for a native callee's
                deopt and returns the call that finishes its frames
    record[4]   the frame budget the root body was given (a frame's depth below
                the root is that minus its own budget)
    record[5:]  the frames, innermost first; each is its site id
                (:mod:`autotier.deopt.sites`) and then the words of the values
                the site lists (its locals in ``co_varnames`` order, then its
                value-stack entries)

A *result frame* (site id 0, then ``{flag, PyObject *}``: flag 0 a value, 1 a
raised exception; the record owns the reference) stands for a native callee the
caller already finished in the interpreter whose outcome native code could not take
(a big int, a different type, an exception): the caller's frame follows it and
resumes after its call with that outcome.

Each value has a :class:`SlotForm` the site records, known at compile time from
its kinds, so the record holds only what is not: an int64 in one word, an int held
as i128 in two (low, high), a float's IEEE bits in one, a bool (0/1) in one, a
range's start, stop, step and a range iterator's next value, items left, step in
three, a complex's two parts' bits in two, and a value of several possible kinds as
``{tag, a, b, c}`` (``tag`` a :class:`SlotTag`: an int ``c * 2**64 + (a as
unsigned)``, a float's bits in ``b``, a bool in ``a``, a complex's real part's bits in
``b`` and its imaginary part's in ``a``, tag 0 an unbound local); a constant and an
unbound local take no words.  The innermost frame's native code
writes words 0-2 of the header (the entry words 3-4); a native caller whose callee
deoptimised has the callee's frames finished in the interpreter (through the
keeper) and goes on natively when the result has a kind it takes; otherwise it
writes a result frame, appends its own frame at its call instruction, and fails in
turn.  Where the keeper cannot run (none, or no Python frames left for it) the caller
appends its frame after the callee's (it then resumes with the callee's finished frame
as the result of that call).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import IntEnum
from types import FunctionType
from typing import Any

#: The dtypes an ndarray argument may have (native byte order), by name.
ARRAY_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float32", "float64")


@dataclass(frozen=True)
class ArrayKind:
    """An exact ``numpy.ndarray`` argument of one dtype and number of dimensions, passed
    as its borrowed ``PyObject *``; the entry checks its type, its descr's ``type_num``
    and byte order and its ``nd`` (O(1)); strides, shape and data are read at each
    access.  It answers ``Kind``'s protocol where signatures need it."""

    dtype: str  # one of ARRAY_DTYPES
    ndim: int

    @property
    def name(self) -> str:
        return f"ARRAY_{self.dtype.upper()}_{self.ndim}D"

    @property
    def scalar(self) -> bool:
        return False

    @property
    def pytype(self) -> type:
        import numpy

        return numpy.ndarray

    @staticmethod
    def of(value: Any) -> ArrayKind | None:
        """The kind of an exact ndarray, None for another dtype or byte order."""
        import numpy

        dt = value.dtype
        name = dt.name
        if name not in ARRAY_DTYPES or not dt.isnative or dt.fields is not None:
            return None
        exact = numpy.dtype(name)
        if dt.num != exact.num or dt.type is not exact.type or dt.metadata is not None:
            return None  # numpy.longlong's int64, say: another type_num and scalar type
        return ArrayKind(name, value.ndim)


@dataclass(frozen=True)
class NumpyKind:
    """An exact numpy scalar argument (``numpy.float64`` ...) of one of ARRAY_DTYPES,
    passed as its machine value (double, float, iN, i1), read by the entry from the
    object.  Not ``scalar``: no other backend is offered it (numba answers floats)."""

    dtype: str

    @property
    def name(self) -> str:
        return f"NP_{self.dtype.upper()}"

    @property
    def scalar(self) -> bool:
        return False

    @property
    def pytype(self) -> type:
        import numpy

        t: type = numpy.dtype(self.dtype).type
        return t

    @staticmethod
    def of(value: Any) -> NumpyKind | None:
        import numpy

        name = numpy.dtype(type(value)).name
        if name in ARRAY_DTYPES and numpy.dtype(name).type is type(value):
            return NumpyKind(name)
        return None


@dataclass(frozen=True)
class InstanceKind:
    """An instance of exactly one user class ``cls`` (a class statement's: a heap type
    whose metaclass is ``type``), passed as its borrowed ``PyObject *``; the entry checks
    ``type(arg) is cls`` (O(1)): a subclass's or another class's instance takes the
    specialisation path again.  Its attributes are read and written through the C API
    (the class's own lookup: descriptors, ``__getattr__``, ``__setattr__`` included), each
    read's value checked against the kinds the promoting calls saw.  The kind holds the
    class (a signature keeps it alive: the entry embeds its address)."""

    cls: type

    @property
    def name(self) -> str:
        return "INST_" + "".join(c if c.isalnum() else "_" for c in self.cls.__qualname__)

    @property
    def scalar(self) -> bool:
        return False

    @property
    def pytype(self) -> type:
        return self.cls

    @staticmethod
    def takes(t: type) -> bool:
        """Whether instances of ``t`` are taken: a class defined by a class statement
        (a heap type of metaclass ``type``) whose bases are all such classes or
        ``object`` (no builtin base: an int or list subclass is not an instance of a
        plain class)."""
        if type(t) is not type or not t.__flags__ & _HEAPTYPE:  # Py_TPFLAGS_HEAPTYPE
            return False
        return all(k is object or (type(k) is type and k.__flags__ & _HEAPTYPE)
                   for k in t.__mro__)


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE (Include/object.h)


@dataclass(frozen=True)
class InstancesKind:
    """A list or tuple (``seq``) whose elements are instances of exactly ``cls``, each
    load checking it: how a native call passes one to a callee compiled in (never an
    entry's signature: the bead speculates the root's elements, ``runtime.elements``)."""

    seq: Kind
    cls: type

    @property
    def name(self) -> str:
        return f"{self.seq.name}_OF_" + InstanceKind(self.cls).name

    @property
    def scalar(self) -> bool:
        return False


class Kind(IntEnum):
    """Unboxed value kinds native code computes with."""

    INT = 1  # exact ``int`` in int64 range, LLVM i64
    FLOAT = 2  # exact ``float``, LLVM double
    BOOL = 3  # exact ``bool``, LLVM i1
    WIDE_INT = 4  # results only: an int beyond int64, in ``ival`` and ``high``
    # arguments only: an exact ``list`` / ``tuple``, passed as its borrowed PyObject *
    # (the entry checks the type, never the elements: each element load checks its own)
    LIST = 6
    TUPLE = 7
    # ``None``: a result (a function that only stores, say) or an argument (an optional
    # one left None: the entry checks the object is None, the body needs no value)
    NONE = 10
    OBJECT = 11  # results only: a new reference to an object in ``ival`` (a tuple)
    # arguments only: an exact ``complex``, passed as its borrowed PyObject * (the entry
    # checks the type; the root body reads the two doubles, ``PyComplexObject``'s
    # ``cval`` after the object header); a complex result is boxed (OBJECT)
    COMPLEX = 14

    @classmethod
    def of(cls, value: object) -> Kind | ArrayKind | NumpyKind | InstanceKind | None:
        """The kind of a Python argument, or None when native code cannot take it."""
        t = type(value)
        if value is None:  # an argument native code knows without looking at it
            return cls.NONE
        if t is bool:
            return cls.BOOL
        if t is int:
            return cls.INT if -(2**63) <= value < 2**63 else None  # type: ignore[operator]
        if t is float:
            return cls.FLOAT
        if t is list:
            return cls.LIST
        if t is tuple:
            return cls.TUPLE
        if t is complex:
            return cls.COMPLEX
        if t.__name__ == "ndarray" and "numpy" in sys.modules and t is sys.modules[
                "numpy"].ndarray:
            return ArrayKind.of(value)
        if t.__module__ == "numpy" and "numpy" in sys.modules and issubclass(
                t, sys.modules["numpy"].generic):
            return NumpyKind.of(value)
        if InstanceKind.takes(t):
            return InstanceKind(t)
        return None

    @property
    def pytype(self) -> type:
        return {Kind.INT: int, Kind.FLOAT: float, Kind.BOOL: bool, Kind.WIDE_INT: int,
                Kind.LIST: list, Kind.TUPLE: tuple, Kind.NONE: type(None),
                Kind.OBJECT: object, Kind.COMPLEX: complex}[self]

    @property
    def scalar(self) -> bool:
        """An int, float or bool (held unboxed), not a container."""
        return self in (Kind.INT, Kind.FLOAT, Kind.BOOL)


class Status(IntEnum):
    """What a body returns: OK, or why it bailed out."""

    OK = 0
    OVERFLOW = 1  # int64 overflow: the exact result is a big int
    ZERO_DIVISION = 2  # int or float division/modulo by zero
    MATH_DOMAIN = 3  # math function domain/range error, complex result, ...
    RECURSION = 4  # native frame budget exhausted
    VALUE = 5  # any other case where CPython raises (range() step 0, ...)
    UNSUPPORTED = 6  # reached code the compiler chose not to compile
    SIGNAL = 7  # a signal handler raised (Ctrl-C): the exception is set, propagate it
    STALE = 8  # a namespace the code read changed while it ran (a signal handler did)
    # + - * unary- abs left int64: the exact result is a big int, and code holding ints
    # as i128 (frontend.wideints) may answer it: the bead recompiles so
    INT64_OVERFLOW = 9
    FLOAT_OVERFLOW = 10  # a float result out of range: CPython raises OverflowError
    COMPLEX = 11  # a negative float to a fractional power: CPython returns a complex
    FORCED = 12  # a test made this site deoptimise (autotier.deopt.forcing)
    # a native callee's outcome, finished in the interpreter, was not a kind its caller
    # takes (the record's result frame holds it); the callee's failure was decided already
    RESULT = 13
    INDEX = 14  # an index out of range: CPython raises IndexError
    # a list or tuple element of a kind the code did not speculate (a str, a float
    # where ints were seen, an int past int64): the bead widens what it speculates
    ELEMENT = 15
    # a call native code made through the C API (``sum(xs)``) raised: the frame resumes
    # after the call with that exception (the record's result frame holds it)
    RAISED = 16
    # numpy answers this operation itself: it may warn (an int overflow, a division by
    # zero, an invalid value, an underflow under the user's error state), raise (a
    # read-only array, an int out of a dtype's range) or cast as native code does not
    NUMPY = 17
    # an OSR entry hands its frame to the interpreter (osr.markers.HANDBACK): the rest
    # of the call is code the entry does not compile; no speculation failed
    HANDBACK = 18


class SlotTag(IntEnum):
    """What a deopt record slot holds (equal to the frontend's VKind values)."""

    UNBOUND = 0
    INT = 1
    FLOAT = 2
    BOOL = 3
    RANGE = 4
    ITER = 5
    NONE = 10
    COMPLEX = 14  # the real part's bits in ``b``, the imaginary part's in ``a``


class SlotForm(IntEnum):
    """How a deopt record holds one value of a frame (the site records which)."""

    UNBOUND = 0  # no words: the local is unbound
    CONST = 1  # no words: the site holds the value
    INT = 2  # an int64
    WIDE = 3  # an int held as i128: low, high
    FLOAT = 4  # IEEE bits
    BOOL = 5  # 0 or 1
    TAGGED = 6  # {tag, a, b, c}, tag a SlotTag
    RANGE = 7  # start, stop, step
    ITER = 8  # next value, items left, step
    OBJECT = 9  # a PyObject * (a list, tuple or array) the record owns a reference to
    SEQ_ITER = 10  # a list, tuple or 1-d array iterator: the sequence (a reference), the index
    NUMPY = 11  # a numpy scalar's bits, zero-extended (the site's Form names the dtype)
    COMPLEX = 12  # a complex: the real part's IEEE bits, then the imaginary part's
    SEQ_RITER = 13  # ``reversed()`` of a list or tuple: the sequence (a reference), the index


FORM_WORDS = {SlotForm.UNBOUND: 0, SlotForm.CONST: 0, SlotForm.INT: 1, SlotForm.WIDE: 2,
              SlotForm.FLOAT: 1, SlotForm.BOOL: 1, SlotForm.TAGGED: 4, SlotForm.RANGE: 3,
              SlotForm.ITER: 3, SlotForm.OBJECT: 1, SlotForm.SEQ_ITER: 2, SlotForm.NUMPY: 1,
              SlotForm.COMPLEX: 2, SlotForm.SEQ_RITER: 2}
#: a tagged slot's tag for a numpy scalar: NUMPY_TAG + the dtype's place in ARRAY_DTYPES
#: (equal to the frontend's VKind.NP_*); its bits in the slot's ``a`` word (float64:
#: ``b``)
NUMPY_TAG = 20
RECORD_HEADER = 5  # words before the first frame of a deopt record
RECORD_KEEPER = 3  # the header word of the bookkeeping callable
RECORD_BUDGET = 4  # the header word of the root's frame budget
RESULT_FRAME_WORDS = 3  # a result frame: site id 0, flag, the owned object


#: Statuses whose CPython answer is an exception (ZeroDivisionError, ValueError,
#: OverflowError, UnboundLocalError ...): the call raises, which is an answer of the
#: function, not a failed speculation; no recompile could answer it natively.
RAISES = frozenset({Status.ZERO_DIVISION, Status.MATH_DOMAIN, Status.VALUE,
                    Status.FLOAT_OVERFLOW, Status.INDEX, Status.RAISED})
#: Statuses that are an answer of the function, not a failed speculation: RAISES, and
#: NUMPY (numpy warns, raises or answers there, whatever the compile)
ANSWERS = RAISES | {Status.NUMPY}


# The LLVM type of the ``out`` struct, for llvmlite: ``{i64, i64, double, i64}``.
RESULT_IR = "{i64, i64, double, i64}"

#: A signature entry: a Kind, an ndarray's ArrayKind, a numpy scalar's NumpyKind or an
#: instance's InstanceKind.
ArgKind = Kind | ArrayKind | NumpyKind | InstanceKind
#: A native callee's parameter: a signature entry, or a sequence of instances.
CalleeKind = ArgKind | InstancesKind

#: Attribute that marks a decorated object; its value is the original function.
HOT_MARKER = "_autotier_hot_"


def hot_target(obj: Any) -> FunctionType | None:
    """The Python function behind an ``@autotier.hot`` object, else None.

    Frontends call this on globals to find callees they may compile natively.
    """
    if getattr(type(obj), HOT_MARKER, False):
        func = obj._func
        if isinstance(func, FunctionType):
            return func
    return None
