"""Differential harness: compile with the frontend, call the native body, compare with CPython.

Reusable by any test::

    from tests.frontend.harness import check, hot
    check(func, 3, 4.5)            # compiled result == CPython's, same type, or fail

``check`` is strict by default: when CPython returns a value that native code can
hold (bool, float, int in int64 range) the body must return OK with exactly that
value and type (floats compared bit for bit: a nan's sign and payload too); when
CPython raises, or returns an int beyond 64 bits, the body must bail out (a non-OK
status).  CPython 3.11 answers one thing two ways: of two nan operands of ``+`` or ``*``
its generic code returns the second, the instructions it specialises a hot function's
code into the first (:mod:`autotier.frontend.floatarith`), and native code is a hot
function's.  So where the native value differs from the answer of CPython's first
call, the function is asked again once warmed up (:func:`warmed_answer`).
``may_bail=True`` relaxes the first rule for inputs where a bailout is legitimate
although CPython returns (an intermediate int64 overflow, for instance).

``int_bits=128`` compiles the function as a bead does after an overflow bailout, ints
held as i128 (:mod:`autotier.frontend.wideints`): an int result beyond int64 may then
come back natively (exactly) or bail, and a bailout is allowed only where the 64-bit
code of the same function bails too (wide code answers whatever narrow code answers).
"""

from __future__ import annotations

import copy
import ctypes
import struct
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import CodeType, FrameType, FunctionType
from typing import Any

from autotier import compat
from autotier.abi import RAISES, InstanceKind, Kind, Status, hot_target
from autotier.deopt import forcing, resume, sites
from autotier.frontend import LoweredModule, comprehensions, lower
from autotier.frontend.decode import byte_offsets
from autotier.jit import engine
from autotier.native import Result, ctype_of
from autotier.runtime import elements

DEFAULT_BUDGET = 500


class FakeHot:
    """Stands in for an ``@autotier.hot`` object: marked, callable, wraps ``_func``."""

    _autotier_hot_ = True

    def __init__(self, func: FunctionType) -> None:
        self._func = func
        self.__name__ = func.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._func(*args, **kwargs)


def hot(func: FunctionType) -> FakeHot:
    return FakeHot(func)


@dataclass(frozen=True)
class Compiled:
    lowered: LoweredModule
    cfunc: Any

    def call(self, *args: Any, budget: int = DEFAULT_BUDGET) -> tuple[Status, Any]:
        status, value, _ = self.run(*args, budget=budget)
        return status, value

    def run(self, *args: Any, budget: int = DEFAULT_BUDGET
            ) -> tuple[Status, Any, list[sites.Frame]]:
        """Status, value (if OK), and the frames a bailout left in the deopt record."""
        out = Result()
        record = (ctypes.c_int64 * self.lowered.record_words)()
        status = Status(self.cfunc(*args, ctypes.byref(out), budget, record))
        if status is not Status.OK:
            frames = sites.read_record(ctypes.addressof(record))[1] if record[1] else []
            return status, None, frames
        kind = Kind(out.kind)
        value = out.value()
        if kind is Kind.BOOL and out.ival not in (0, 1):
            raise AssertionError(f"bool result with ival {out.ival}")
        if kind is Kind.WIDE_INT and -(2**63) <= value < 2**63:
            raise AssertionError(f"WIDE_INT result {value} lies in int64")
        return status, value, []


_CACHE: dict[tuple[Any, ...], Compiled] = {}


def kinds_of(args: tuple[Any, ...]) -> tuple[Kind, ...]:
    kinds = tuple(Kind.of(a) for a in args)
    if None in kinds:
        raise ValueError(f"native code cannot take {args!r}")
    return kinds  # type: ignore[return-value]


def python_function(func: Any) -> FunctionType:
    target = hot_target(func)
    return target if target is not None else func


def tuple_speculation(args: tuple[Any, ...]) -> tuple[tuple[int | str, frozenset[Kind]], ...]:
    """What a bead speculates of ``args``' sequences of tuples (only those: any other
    sequence is compiled for elements of every kind, so one compile serves every input
    of the kinds): tuples, of items of any kind (``runtime.elements``), nested ones by
    path (their sequences' kinds, numbers of any kind: ``frontend.shapes``); and their
    instances (arguments and elements) and those's attributes, as the bead samples them."""
    out: elements.Elements = {
        k: v for k, v in elements.sample(_positional(len(args)), args).items()
        if isinstance(k, str) or any(isinstance(e, InstanceKind) for e in v)}
    for key, kinds in list(out.items()):  # nested sequences: their shape, numbers of
        if elements.is_path_key(key):  # any kind (frontend.shapes)
            out[key] = kinds if kinds & elements.SEQUENCES else elements.ANY_SCALAR
    for i, arg in enumerate(args):
        for inner, kinds in ((tuple, elements.TUPLES), (list, elements.LISTS)):
            if type(arg) in (list, tuple) and arg and all(type(v) is inner for v in arg):
                out[i], out[elements.items_key(i)] = kinds, elements.ANY_SCALAR
    return elements.as_request(out)


def _positional(n: int) -> FunctionType:
    """A function of ``n`` positional parameters (what ``elements.sample`` binds)."""
    names = ", ".join(f"a{i}" for i in range(n))
    scope: dict[str, Any] = {}
    exec(f"def f({names}): pass", scope)  # noqa: S102 - a fixed shape of parameters
    return scope["f"]  # type: ignore[no-any-return]


def compile_function(func: Any, kinds: tuple[Kind, ...], *, opt: int = 2,
                     int_bits: int = 64, force: bool = False,
                     speculated: tuple[tuple[int | str, frozenset[Kind]], ...] = ()
                     ) -> Compiled:
    """Lower and compile once per (function, kinds, opt, int_bits, forcing checks or
    not, element speculation); cached per session."""
    func = python_function(func)
    key = (func, kinds, opt, int_bits, force, speculated)
    if key not in _CACHE:
        with forcing.on(force):
            lowered = lower(func, kinds, int_bits=int_bits, elements=dict(speculated))
        address = engine.compile_ir(lowered.ir, [lowered.body], opt=opt).addresses[lowered.body]
        # PYFUNCTYPE: called with the GIL held, as bodies check for signals.
        proto = ctypes.PYFUNCTYPE(ctypes.c_int32,
                                  *(ctype_of(k) for k in kinds),
                                  ctypes.POINTER(Result), ctypes.c_int64,
                                  ctypes.POINTER(ctypes.c_int64))
        _CACHE[key] = Compiled(lowered, proto(address))  # type: ignore[index]
    return _CACHE[key]  # type: ignore[index]


def forget(func: Any) -> None:
    """Drop every compile of ``func`` from the cache (a test done with it: thousands of
    kept lowerings made each later ``gc.collect()`` of the session take a second)."""
    py = python_function(func)
    for key in [k for k in _CACHE if k[0] is py]:
        del _CACHE[key]


_RAISED: dict[Status, type[Exception] | tuple[type[Exception], ...]] = {
    Status.ZERO_DIVISION: ZeroDivisionError,
    Status.MATH_DOMAIN: ValueError,
    Status.FLOAT_OVERFLOW: OverflowError,
    # (MemoryError: ``[v] * n`` too large, which the interpreter makes again and raises)
    Status.VALUE: (ValueError, TypeError, UnboundLocalError, MemoryError),
    Status.INDEX: IndexError,
    Status.RAISED: Exception,  # whatever the call CPython made raised
}


def same(a: Any, b: Any) -> bool:
    """Exactly equal: same type; floats bit for bit (-0.0 != 0.0, a nan's sign and payload);
    numpy scalars by type and bytes, arrays by dtype, shape, strides, flags and bytes."""
    if type(a) is not type(b):
        return False
    if _is_numpy(a):
        import numpy as np

        if isinstance(a, np.ndarray):
            return bool(a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
                        and a.flags.writeable == b.flags.writeable
                        and a.tobytes() == b.tobytes())
        return bool(a.tobytes() == b.tobytes())
    if type(a) is float:
        return struct.pack("<d", a) == struct.pack("<d", b)
    if type(a) is complex:  # both parts bit for bit
        return struct.pack("<dd", a.real, a.imag) == struct.pack("<dd", b.real, b.imag)
    if type(a) in (tuple, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if InstanceKind.takes(type(a)):  # an instance: its dict (in order) and slots
        return same(_instance_state(a), _instance_state(b))
    return bool(a == b)


def _instance_state(value: Any) -> tuple[Any, ...]:
    own = compat.instance_values(value)  # (without making its dict)
    if own is None:
        try:
            own = object.__getattribute__(value, "__dict__")
        except AttributeError:
            own = {}
    slots = []
    for klass in type(value).__mro__[:-1]:
        names = vars(klass).get("__slots__", ())
        for name in (names,) if isinstance(names, str) else names:
            if name not in ("__dict__", "__weakref__"):
                try:
                    slots.append((name, vars(klass)[name].__get__(value, type(value))))
                except AttributeError:
                    slots.append((name, "unset slot"))
    return (tuple(own.keys()), tuple(own.values()), tuple(slots))


#: Calls after which CPython 3.11 has specialised every instruction a call runs for the
#: types it sees: 8 to quicken new code; an instruction specialised for other types
#: (ints) took 84 calls with floats to specialise again (measured).
WARM_CALLS = 200


def warmed_answer(func: Any, args: tuple[Any, ...]) -> Any:
    """What CPython returns for ``func(*args)`` once its code is specialised for them.

    For a pure function called with the same arguments often enough, as a hot
    function's interpreted calls are.
    """
    for _ in range(WARM_CALLS):
        func(*fresh(args))
    return func(*fresh(args))


def cold_answer(func: Any, args: tuple[Any, ...]) -> Any:
    """What CPython returns for ``func(*args)`` from code nothing has specialised yet (a
    copy of its code: ``replace`` starts from the unquickened bytes), as a resume
    function's first run does: where a specialised instruction computes a float
    operation with its operands swapped, the nan it answers has the other operand's
    sign (``-x + x`` of a nan, 3.11)."""
    fresh_func = FunctionType(func.__code__.replace(), func.__globals__, func.__name__,
                              func.__defaults__, func.__closure__)
    return fresh_func(*args)


def _representable(value: Any) -> bool:
    if type(value) is list or InstanceKind.takes(type(value)):  # an argument handed back
        return True
    if type(value) is tuple:
        return all(_representable(v) and type(v) is not tuple for v in value)
    if _is_numpy(value) or type(value) is complex:  # boxed natively (a numpy scalar, a
        return True  # complex), or an array argument handed back
    return value is None or Kind.of(value) in (Kind.INT, Kind.FLOAT, Kind.BOOL)


def _is_numpy(value: Any) -> bool:
    return type(value).__module__ == "numpy"


def copy_array(a: Any) -> Any:
    """A new array exactly like ``a``: its own memory, the same dtype, shape, strides
    (a reversed or transposed view stays one) and writeable flag."""
    import numpy as np

    span = [(n - 1) * s for n, s in zip(a.shape, a.strides, strict=True)] if a.size else []
    low = sum(min(0, d) for d in span)
    high = sum(max(0, d) for d in span) + a.itemsize
    memory = bytearray(high - low)
    out = np.ndarray(a.shape, a.dtype, buffer=memory, offset=-low, strides=a.strides)
    if a.size:
        out[...] = a
    out.flags.writeable = a.flags.writeable
    return out


def copy_instance(a: Any, memo: dict[int, Any]) -> Any:
    """A copy of instance ``a`` made as its class's own ``__init__`` would make it: its
    attributes set one by one, in order, so that it keeps its values in the class's
    shared keys, as instances do (``copy.deepcopy`` updates a new instance's
    ``__dict__``, which makes the dict: CPython's method and attribute fast paths, and
    autotier's, would never see the copy); read without making ``a``'s dict either."""
    if id(a) in memo:
        return memo[id(a)]
    cls = type(a)
    out = cls.__new__(cls)
    memo[id(a)] = out
    own = compat.instance_values(a)
    if own is None:
        own = dict(getattr(a, "__dict__", {}))
    for name, value in own.items():
        object.__setattr__(out, name, copy.deepcopy(value, memo))
    for klass in cls.__mro__[:-1]:
        names = vars(klass).get("__slots__", ())
        for name in (names,) if isinstance(names, str) else names:
            if name not in ("__dict__", "__weakref__"):
                try:
                    value = vars(klass)[name].__get__(a, cls)
                except AttributeError:
                    continue
                vars(klass)[name].__set__(out, copy.deepcopy(value, memo))
    return out


def _deep_copy(a: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy`` of a list, its instances copied by :func:`copy_instance`."""
    if InstanceKind.takes(type(a)):
        return copy_instance(a, memo)
    if type(a) is list:
        if id(a) not in memo:
            memo[id(a)] = out = []
            out.extend(_deep_copy(x, memo) for x in a)
        return memo[id(a)]
    if type(a) is tuple:
        return tuple(_deep_copy(x, memo) for x in a)
    return copy.deepcopy(a, memo)


def fresh(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A copy of ``args`` whose lists, instances and arrays are new (a call may store
    into them); one object passed twice (``f(a, a)``) is one copy passed twice."""
    copies: dict[int, Any] = {}
    memo: dict[int, Any] = {}

    def one(a: Any) -> Any:
        if id(a) not in copies:
            copies[id(a)] = (_deep_copy(a, memo) if isinstance(a, list)
                             or InstanceKind.takes(type(a)) else copy_array(a))
        return copies[id(a)]

    return tuple(one(a) if isinstance(a, list) or InstanceKind.takes(type(a))
                 or (type(a).__name__ == "ndarray" and _is_numpy(a)) else
                 _deep_copy(a, memo) if type(a) is tuple and _holds_mutable(a) else a
                 for a in args)


def _holds_mutable(t: tuple[Any, ...]) -> bool:
    """A tuple holding a list or an instance (a call may change it: copied too)."""
    return any(isinstance(x, list) or InstanceKind.takes(type(x))
               or (type(x) is tuple and _holds_mutable(x)) for x in t)


def same_state(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """The arguments after two calls hold the same (lists: element by element)."""
    def one(x: Any, y: Any) -> bool:
        if type(x) in (list, tuple):
            return (type(x) is type(y) and len(x) == len(y)
                    and all(one(p, q) for p, q in zip(x, y, strict=True)))
        return same(x, y)
    return all(one(x, y) for x, y in zip(a, b, strict=True))


def with_results(speculated: tuple[tuple[int | str, frozenset[Kind]], ...],
                 results: elements.Elements | None
                 ) -> tuple[tuple[int | str, frozenset[Kind]], ...]:
    """``speculated`` and what the bead would speculate of sites' results after
    ELEMENT bailouts there (``elements.sample_result``), in the request's form."""
    return elements.as_request({**dict(speculated), **(results or {})})


def check(func: Any, *args: Any, may_bail: bool = False, budget: int = DEFAULT_BUDGET,
          opt: int = 2, int_bits: int = 64, force: bool = False,
          results: elements.Elements | None = None) -> Status:
    """Run ``func(*args)`` natively and in CPython; fail unless they agree (module doc).

    ``force``: compile with forcing checks (as :func:`forced_sites` does, so both use
    one compile; unforced, the checks change no answer); ``results``: sites' results
    speculated (:func:`with_results`)."""
    py = python_function(func)
    compiled = compile_function(py, kinds_of(args), opt=opt, int_bits=int_bits, force=force,
                                speculated=with_results(tuple_speculation(args), results))
    mine = fresh(args)
    with warnings.catch_warnings(record=True) as native_warned:
        warnings.simplefilter("always")  # numpy warns inside a C-API call native code made
        status, value, frames = compiled.run(*mine, budget=budget)
    if frames:  # a precise bailout: the interpreter's finish must be CPython's answer
        check_resumed(py, args, frames, mine, native_warned)
    theirs = fresh(args)
    if status is Status.OK:  # what it stored is what CPython stores
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (compared below)
                py(*theirs)
        except Exception:  # noqa: S110 - the answer itself is compared below
            pass
        assert same_state(mine, theirs), (
            f"{py.__name__}{args}: native left {mine!r}, CPython {theirs!r}")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            expected = py(*fresh(args))
        except Exception as exc:
            expected, raised = None, exc
        else:
            raised = None
    if status is Status.OK:  # the warnings of a native answer are CPython's (numpy's own,
        # inside a call native code made), and none where CPython warned none
        ours = [(w.category, str(w.message)) for w in native_warned]
        assert ours == [(w.category, str(w.message)) for w in warned], (
            f"{py.__name__}{args}: CPython warned {[str(w.message) for w in warned]}, "
            f"native {[m for _, m in ours]} and returned {value!r}")
    try:
        if raised is not None:
            raise raised
    except Exception as exc:  # CPython raised: native code must not claim a result
        assert status is not Status.OK, (
            f"{py.__name__}{args}: CPython raised {exc!r}, native returned {value!r}")
        if status in RAISES:  # said "CPython raises": the kind of exception it raises
            assert isinstance(exc, _RAISED[status]), (
                f"{py.__name__}{args}: bailed with {status.name}, CPython raised {exc!r}")
        return status
    # a status saying "CPython raises" must never come where CPython answers
    assert status not in RAISES, (
        f"{py.__name__}{args}: bailed with {status.name}, but CPython returned {expected!r}")
    wide = int_bits > 64 and type(expected) is int and -(2**127) <= expected < 2**127
    if wide and not _representable(expected):
        assert status is not Status.OK or same(value, expected), (
            f"{py.__name__}{args}: CPython returned {expected!r}, native returned {value!r}")
        return status
    if not _representable(expected):
        assert status is not Status.OK, (
            f"{py.__name__}{args}: CPython returned {expected!r}, native returned {value!r}")
        return status
    if status is Status.NUMPY and frames:  # numpy answered (the resume was checked)
        return status
    if status is not Status.OK:
        if int_bits > 64 and not may_bail:  # wide code answers whatever 64-bit code does
            narrow = compile_function(py, kinds_of(args), opt=opt).call(*args, budget=budget)
            may_bail = narrow[0] is not Status.OK
        assert may_bail, f"{py.__name__}{args}: bailed with {status.name}, CPython {expected!r}"
        return status
    if not same(value, expected):
        expected = warmed_answer(py, fresh(args))  # the other of CPython's answers (module doc)
    assert same(value, expected), (
        f"{py.__name__}{args}: native {value!r} ({type(value).__name__}, {bits(value)}), "
        f"CPython {expected!r} ({type(expected).__name__}, {bits(expected)})")
    return status


def outcome(call: Any) -> tuple[str, Any, list[tuple[type, str]]]:
    """("value", v, warnings) or ("raise", (type, message), warnings) of ``call()``;
    the warnings it raised (category, message), each time (never deduplicated)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            result: tuple[str, Any] = "value", call()
        except Exception as exc:
            result = "raise", (type(exc), str(exc))
    return (*result, [(w.category, str(w.message)) for w in seen])


def same_outcome(a: tuple[str, Any, Any], b: tuple[str, Any, Any]) -> bool:
    return a[0] == b[0] and a[2] == b[2] and (
        same(a[1], b[1]) if a[0] == "value" else a[1] == b[1])


def check_resumed(py: FunctionType, args: tuple[Any, ...], frames: list[Any],
                  mine: tuple[Any, ...] | None = None,
                  before: list[warnings.WarningMessage] | None = None) -> None:
    """The interpreter, resuming the frames a bailout left, answers as CPython does;
    ``mine``: the arguments the native run had (left as CPython leaves them);
    ``before``: the warnings the native run raised (numpy's, in a C-API call), which
    with the resumed frames' make CPython's."""
    finish = resume.finish(frames)
    got = outcome(finish)
    got = (got[0], got[1], [(w.category, str(w.message)) for w in before or []] + got[2])
    theirs = fresh(args)
    expected = outcome(lambda: py(*theirs))
    if not same_outcome(got, expected) and got[0] == expected[0] == "value":
        expected = "value", warmed_answer(py, fresh(args)), expected[2]  # CPython's other nan
        if not same_outcome(got, expected):  # a resume function is fresh code: cold's
            expected = "value", cold_answer(py, fresh(args)), expected[2]
    described = [f.site.describe() for f in frames if isinstance(f, sites.Frame)]
    assert same_outcome(got, expected), (
        f"{py.__name__}{args}: resumed at {described} gave {got!r}, CPython {expected!r}")
    if mine is not None:
        assert same_state(mine, theirs), (
            f"{py.__name__}{args}: resumed at {described}, left {mine!r}, CPython {theirs!r}")


def forced_sites(func: Any, args: tuple[Any, ...], *, opt: int = 2, int_bits: int = 64,
                 budget: int = DEFAULT_BUDGET) -> set[int]:
    """Deoptimise ``func(*args)`` at each of its sites in turn (forcing checks compiled
    in, :mod:`autotier.deopt.forcing`), check each resume against CPython; return the
    sites (their state index) the call reached."""
    py = python_function(func)
    compiled = compile_function(py, kinds_of(args), opt=opt, int_bits=int_bits, force=True,
                                speculated=tuple_speculation(args))
    reached: set[int] = set()
    for site in compiled.lowered.sites:
        assert isinstance(site, sites.Site)
        forcing.force(site.id)
        mine = fresh(args)
        with warnings.catch_warnings(record=True) as before:
            warnings.simplefilter("always")  # numpy's, inside a C-API call
            status, _, frames = compiled.run(*mine, budget=budget)
        if forcing.pending():
            forcing.force(0)
            continue  # this call never got there
        reached.add(site.id)
        if status is Status.FORCED or frames:
            assert frames, f"{py.__name__}{args}: forced at {site.describe()}, no frames"
            check_resumed(py, args, frames, mine, before)
    return reached


def executed_offsets(func: Any, args: tuple[Any, ...], code: CodeType | None = None
                     ) -> set[int]:
    """The byte offsets (as ``dis`` shows them) of the instructions CPython executes in
    ``func``'s own frame for ``func(*args)``: ``sys.settrace`` with opcode events."""
    code = python_function(func).__code__
    return {offset for where, offset in executed_places(func, args) if where is code}


def _own_codes(code: CodeType) -> set[CodeType]:
    """``code`` and the list comprehensions' and generator expressions' codes in it
    (3.11: nested functions)."""
    out = {code}
    for const in code.co_consts:
        if isinstance(const, CodeType) and const.co_name in ("<listcomp>", "<genexpr>"):
            out |= _own_codes(const)
    return out


def executed_places(func: Any, args: tuple[Any, ...], callees: Iterable[CodeType] = ()
                    ) -> set[tuple[CodeType, int]]:
    """(code, byte offset) of the instructions CPython executes for ``func(*args)`` in
    ``func``'s frame and its list comprehensions' frames (and in the frames of
    ``callees``' codes: functions compiled into it)."""
    py = python_function(func)
    codes = _own_codes(py.__code__).union(*(_own_codes(c) for c in callees))
    seen: set[tuple[CodeType, int]] = set()

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code not in codes:
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            seen.add((frame.f_code, frame.f_lasti))
        return tracer

    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        outcome(lambda: py(*fresh(args)))
    finally:
        sys.settrace(before)
    return seen


def site_place(site: sites.Site) -> tuple[CodeType, int]:
    """The (code, byte offset) CPython runs a site's instruction at: in the function's
    own code, or in a list comprehension's the compiled code has spliced in."""
    code = site.func.__code__
    inlined = comprehensions.inline(code, site.func.__qualname__)
    if not inlined.regions:
        return code, site.offset
    region, position = inlined.origins[site.index]
    if region >= 0:
        code = inlined.regions[region].code
    return code, byte_offsets(code)[position]


@dataclass
class Coverage:
    """What :func:`force_every_site` forced of one compile's sites."""

    sites: list[sites.Site]
    forced: set[int] = field(default_factory=set)  # site ids
    #: sites CPython executes on some input tried, but only behind a bailout the
    #: native code takes first (an int64 overflow, say): native code cannot get there
    behind_bailout: set[int] = field(default_factory=set)

    @property
    def unexecuted(self) -> list[sites.Site]:
        """Sites at instructions CPython executed on none of the inputs tried."""
        return [s for s in self.sites if s.id not in self.forced | self.behind_bailout]


def force_every_site(func: Any, inputs: list[tuple[Any, ...]], *, opt: int = 2,
                     int_bits: int = 64, budget: int = DEFAULT_BUDGET,
                     coverage: Coverage | None = None,
                     results: elements.Elements | None = None) -> Coverage:
    """Force each site of ``func``'s compile (forcing checks in, for the kinds of
    ``inputs``, which must all have them) with an input that reaches it, and check
    the resumed answer against CPython's (:func:`check_resumed`).

    Which inputs reach a site is read from CPython: an input whose interpreted call
    executes the site's instruction.  Where that input's native call returns without
    a bailout, its native code must reach the site too (else fail: the site or its
    forcing check is lost); where native code bails out first on every such input,
    the site is ``behind_bailout``.  Sites already in ``coverage.forced`` are skipped,
    so a caller can call again with new inputs for the ``unexecuted`` ones.
    """
    py = python_function(func)
    compiled = compile_function(py, kinds_of(inputs[0]), opt=opt, int_bits=int_bits,
                                force=True, speculated=with_results(
                                    tuple_speculation(inputs[0]), results))
    if coverage is None:
        coverage = Coverage([s for s in compiled.lowered.sites if isinstance(s, sites.Site)])
    todo = [s for s in coverage.sites if s.id not in coverage.forced]
    if not todo:
        return coverage
    # a callee's sites: in its own frames
    callees = {s.func.__code__ for s in coverage.sites}
    executed = [executed_places(py, args, callees) for args in inputs]
    with warnings.catch_warnings():  # numpy's, inside C-API calls (check compares them)
        warnings.simplefilter("ignore")
        natural = [compiled.run(*fresh(args), budget=budget)[0] for args in inputs]
    for site in todo:
        for args, offsets, status in zip(inputs, executed, natural, strict=True):
            if site_place(site) not in offsets:
                continue
            forcing.force(site.id)
            mine = fresh(args)
            with warnings.catch_warnings(record=True) as before:
                warnings.simplefilter("always")  # numpy's, inside a C-API call
                got, _, frames = compiled.run(*mine, budget=budget)
            if forcing.pending():
                forcing.force(0)
                assert status is not Status.OK, (
                    f"{py.__name__}{args}: CPython executes {site.describe()}, native code "
                    f"returned {status.name} without reaching it")
                coverage.behind_bailout.add(site.id)
                continue
            if got is not Status.FORCED and got is status and frames:
                # the forced exit first resolved a pending deferred trap check (an
                # earlier numpy operation's: architecture "Deferred trap checks"), which
                # trapped as on the natural run: CPython warns there, before the site
                check_resumed(py, args, frames, mine, before)
                coverage.behind_bailout.add(site.id)
                continue
            assert got is Status.FORCED and frames, (
                f"{py.__name__}{args}: forced at {site.describe()}: {got.name}, {frames}")
            check_resumed(py, args, frames, mine, before)
            coverage.forced.add(site.id)
            coverage.behind_bailout.discard(site.id)
            break
    return coverage


def bits(value: Any) -> str:
    """A float's 64 bits in hex (what tells nans apart), a complex's parts', else ''."""
    if type(value) is complex:
        return f"{bits(value.real)}:{bits(value.imag)}"
    return struct.pack(">d", value).hex() if type(value) is float else ""
