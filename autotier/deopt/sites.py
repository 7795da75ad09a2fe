"""Deopt sites: where native code may hand a running call to the interpreter.

The lowering registers one :class:`Site` per bytecode instruction at which its code
can leave (a guard, a call, an instruction CPython may raise at, a loop's back edge):
which function, which instruction, and how the frame's values are laid out in the
*deopt record* (:mod:`autotier.abi`, "Deopt records").  Site ids are unique in the
process; the registry holds each site weakly, for as long as the compiled code that
can name it is alive (the code retains its sites).

This module decodes a record into frames (:func:`read_record`); :mod:`.resume` turns
them into the call that finishes the call in the interpreter.
"""

from __future__ import annotations

import ctypes
import itertools
import struct
import threading
import weakref
from dataclasses import dataclass, field
from types import CodeType, FunctionType
from typing import Any

from autotier.abi import (
    ARRAY_DTYPES,
    FORM_WORDS,
    NUMPY_TAG,
    RECORD_HEADER,
    RESULT_FRAME_WORDS,
    SlotForm,
    SlotTag,
)


@dataclass(frozen=True)
class Slot:
    """A stack entry whose value is the next slot of the record."""


@dataclass(frozen=True)
class NullEntry:
    """The NULL below a callable (PUSH_NULL, LOAD_GLOBAL's NULL)."""


@dataclass(frozen=True)
class ConstEntry:
    """A stack entry the compiler knew: a builtin, ``math``, a math function, None."""

    value: object


@dataclass(frozen=True)
class GlobalEntry:
    """A stack entry loaded from the frame's globals (a hot function the code calls)."""

    name: str


@dataclass(frozen=True)
class TupleEntry:
    """A tuple of the ``size`` entries pushed just before it."""

    size: int


@dataclass(frozen=True)
class CallEntry:
    """The result of calling the entry ``nargs + 1`` before it (a builtin, after a NULL)
    with the ``nargs`` entries just before it: an ``enumerate`` or ``zip`` object."""

    nargs: int


StackEntry = Slot | NullEntry | ConstEntry | GlobalEntry | TupleEntry | CallEntry


@dataclass(frozen=True)
class Form:
    """How one value of a frame is held in the record (:class:`autotier.abi.SlotForm`):
    in ``FORM_WORDS[form]`` words from ``word`` (counted from the frame's first word,
    its site id), or, for CONST and UNBOUND, in none."""

    form: SlotForm
    word: int = 0
    value: object = None  # a CONST's value


@dataclass(frozen=True)
class Level:
    """One frame a site inside a list comprehension resumes as (the frontend compiles
    3.11's comprehensions spliced into the function's code, ``frontend/comprehensions``;
    the interpreter finishes each in a frame of its own code, as CPython ran it).

    The outermost level is the function's own code, the others ``<listcomp>`` codes,
    each resuming after the call (at ``index``, the call's PRECALL) of the next one
    in; the innermost resumes at ``index``.  A level's stack is the spliced frame's
    stack entries from ``entries`` up to the next level's; ``names``: each local of
    ``code`` (its varnames, then cells that are no parameter) with the position in the
    site's varnames holding its value (None: unbound); ``free``: the same for each of
    ``code.co_freevars`` (the resumed frame gets cells holding those values).  ``dot0``
    (the innermost only, resuming at or before its ``LOAD_FAST .0``): the entry at
    ``entries`` is the iterator, which is its ``.0`` rather than a stack entry.
    """

    code: CodeType
    index: int
    name: str
    entries: int
    names: tuple[tuple[str, int | None], ...]
    free: tuple[int | None, ...] = ()
    dot0: bool = False


@dataclass(frozen=True, eq=False)
class Site:
    """One place native code may deoptimise, just before instruction ``index`` runs.

    ``varnames``: the locals, one record slot each, in ``co_varnames`` order; then one
    slot per :class:`Slot` of ``stack`` (the value stack, bottom first, in pushes: a
    :class:`TupleEntry` pops the entries before it).  ``call``: for a call of a
    native callee, how many stack entries the CALL consumes (NULL, callee, arguments):
    when the callee's own frame deoptimised too, the caller resumes with the callee's
    finished frame in their place.
    """

    id: int
    func: FunctionType
    code: CodeType  # the code compiled (the function's __code__ may change later)
    index: int  # instruction position, in the ``bytecode`` package's order
    offset: int  # byte offset (as ``dis`` shows), -1 if unknown
    line: int
    varnames: tuple[str, ...]
    stack: tuple[StackEntry, ...]
    call: int = 0
    forms: tuple[Form, ...] = ()  # one per slot: the locals, then the stack's Slots
    #: inside a spliced list comprehension: the frames it resumes as, outermost first
    nest: tuple[Level, ...] = ()

    @property
    def slots(self) -> int:
        return len(self.varnames) + sum(isinstance(e, Slot) for e in self.stack)

    words: int = field(init=False)  # record words of a frame: its id, then the slots'

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", 1 + sum(FORM_WORDS[f.form] for f in self.forms))

    def describe(self) -> str:
        return f"line {self.line}, offset {self.offset}"


_ids = itertools.count(1)
_lock = threading.Lock()  # guards _registry (compiles run on the broker thread)
_registry: weakref.WeakValueDictionary[int, Site] = weakref.WeakValueDictionary()


def new_site_id() -> int:
    with _lock:
        return next(_ids)


def register(site: Site) -> None:
    with _lock:
        _registry[site.id] = site


def lookup(site_id: int) -> Site | None:
    with _lock:
        return _registry.get(site_id)


#: The value of a local that is not bound (the resume function leaves it unbound).
UNBOUND = object()


_decref = ctypes.pythonapi.Py_DecRef
_decref.argtypes = [ctypes.py_object]
_decref.restype = None


def take(address: int) -> object:
    """The object at ``address``, whose reference the record owned (now ours)."""
    obj = ctypes.cast(address, ctypes.py_object).value
    _decref(obj)
    return obj


def _float(bits: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<q", bits))[0]
    return value


def _range(w: list[int], at: int) -> object:
    return range(w[at], w[at + 1], w[at + 2])


def _iter(w: list[int], at: int) -> object:  # next value, items left, step
    a, b, c = w[at:at + 3]
    return iter(range(a, a + b * c, c))


def _object(w: list[int], at: int) -> object:  # the record's reference: ours now
    return take(w[at]) if w[at] else UNBOUND  # NULL: a local not bound yet


def _seq_iter(w: list[int], at: int) -> object:  # the sequence, the next index
    seq = _object(w, at)  # a list, a tuple or a 1-d ndarray (a sequence iterator)
    it: Any = iter(seq)  # type: ignore[call-overload]
    it.__setstate__(w[at + 1])
    return it


def _seq_riter(w: list[int], at: int) -> object:  # reversed(): the sequence, the index
    seq: Any = _object(w, at)
    it: Any = reversed(seq)
    # past the end (a list another thread shortened): exhausted, as its next() would be
    # (__setstate__ would clamp it to the last item)
    it.__setstate__(w[at + 1] if w[at + 1] < len(seq) else -1)
    return it


_DECODERS = {
    SlotForm.UNBOUND: lambda w, at: UNBOUND,
    SlotForm.INT: lambda w, at: w[at],
    SlotForm.WIDE: lambda w, at: (w[at + 1] << 64) | (w[at] & (2**64 - 1)),  # low unsigned
    SlotForm.FLOAT: lambda w, at: _float(w[at]),
    SlotForm.BOOL: lambda w, at: w[at] != 0,
    SlotForm.TAGGED: lambda w, at: decode_tagged(w[at:at + 4]),
    SlotForm.RANGE: _range,
    SlotForm.ITER: _iter,
    SlotForm.OBJECT: _object,
    SlotForm.SEQ_ITER: _seq_iter,
    SlotForm.SEQ_RITER: _seq_riter,
    SlotForm.COMPLEX: lambda w, at: complex(_float(w[at]), _float(w[at + 1])),
}


def numpy_scalar(dtype: str, bits: int) -> object:
    """The ``numpy.<dtype>`` whose bits are the low bytes of the word ``bits``."""
    import numpy

    dt = numpy.dtype(dtype)
    return numpy.frombuffer((bits & (2**64 - 1)).to_bytes(8, "little")[:dt.itemsize], dt)[0]


def decode(form: Form, words: list[int]) -> object:
    """The Python value of one slot, ``words`` the frame's words (site id first)."""
    if form.form is SlotForm.CONST:
        return form.value
    if form.form is SlotForm.NUMPY:
        assert isinstance(form.value, str)
        return numpy_scalar(form.value, words[form.word])
    return _DECODERS[form.form](words, form.word)


def decode_tagged(words: list[int]) -> object:
    """A value of several possible kinds: ``{tag, a, b, c}`` (abi.SlotTag)."""
    tag, a, b, c = words
    if tag == SlotTag.UNBOUND:
        return UNBOUND
    if tag == SlotTag.INT:
        return (c << 64) | (a & (2**64 - 1))  # high word signed, low word unsigned
    if tag == SlotTag.FLOAT:
        return _float(b)
    if tag == SlotTag.BOOL:
        return a != 0
    if tag == SlotTag.RANGE:
        return range(a, b, c)
    if tag == SlotTag.ITER:  # next value, items left, step
        return iter(range(a, a + b * c, c))
    if tag == SlotTag.NONE:
        return None
    if tag == SlotTag.COMPLEX:  # the real part's bits in b, the imaginary part's in a
        return complex(_float(b), _float(a))
    if NUMPY_TAG <= tag < NUMPY_TAG + len(ARRAY_DTYPES):
        dtype = ARRAY_DTYPES[tag - NUMPY_TAG]
        return numpy_scalar(dtype, b if dtype == "float64" else a)
    raise ValueError(f"autotier: deopt record slot with tag {tag}")


@dataclass(frozen=True)
class Frame:
    """One deoptimised frame: its site, and the values of its slots."""

    site: Site
    values: tuple[object, ...]


@dataclass(frozen=True)
class Outcome:
    """A result frame: what a native callee, finished in the interpreter, returned
    (or raised, ``raised``) that its native caller could not take."""

    value: object
    raised: bool


def read_record(address: int) -> tuple[int, list[Frame | Outcome]]:
    """The status and the frames (innermost first) of the record at ``address``
    (read once: it takes the references a result frame owns)."""
    status, count, free = struct.unpack("<3q", ctypes.string_at(address, 8 * 3))
    if not count:
        return status, []
    words = memoryview(ctypes.string_at(address, 8 * free)).cast("q").tolist()
    frames: list[Frame | Outcome] = []
    at = RECORD_HEADER
    for _ in range(count):
        if words[at] == 0:  # a result frame
            frames.append(Outcome(take(words[at + 2]), raised=words[at + 1] != 0))
            at += RESULT_FRAME_WORDS
            continue
        site = _registry.get(words[at])
        if site is None:
            raise RuntimeError(f"autotier: deopt record names unknown site {words[at]}")
        mine = words[at:at + site.words]
        frames.append(Frame(site, tuple(decode(form, mine) for form in site.forms)))
        at += site.words
    return status, frames
