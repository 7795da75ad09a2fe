"""Every CPython-version difference autotier depends on, in one place.

Two kinds live here: object layouts and interpreter-state offsets that native code
reads (section "layouts"), and bytecode differences the frontend decodes (section
"bytecode").  Each layout fact is checked against the running interpreter by
``check_layouts()`` at import, so a mismatch is a clear ImportError, never a crash.
"""

from __future__ import annotations

import ctypes
import dis
import importlib
import opcode
import platform
import sys
from types import CodeType, ModuleType
from typing import Any

import bytecode

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
# (3.12's sys.monitoring tools are per interpreter: see "sys.monitoring" below.)
TSTATE_C_PROFILEFUNC = 64
TSTATE_C_TRACEFUNC = 72
TSTATE_C_PROFILEOBJ = 80  # the object sys.setprofile was given
# The current thread state without a call (3.11): _PyRuntime.gilstate.tstate_current,
# the thread state of the thread holding the GIL (NULL while no thread holds it), which
# PyThreadState_Get itself reads.  Entries load it from its fixed address.  3.12 keeps
# it in a C thread-local (_Py_tss_tstate): there, entries call PyThreadState_Get.
RUNTIME_SYMBOL = "_PyRuntime"
RUNTIME_TSTATE_CURRENT = 576 if PY_VERSION == (3, 11) else None
# sys.monitoring (3.12+; 3.11 has none, and its entries read none of this).  A tool
# listens to an event everywhere (``set_events``: a bitset of the 8 tool ids per event
# in the interpreter's ``monitors.tools[]``) or in one code object
# (``set_local_events``: the same bitsets in ``code->_co_monitoring->local_monitors``,
# that pointer NULL until code is first instrumented, and kept once allocated).  Entries
# send a call to the interpreter while any byte of either, masked with
# MONITORING_TOOLS_MASK, is non-zero.  Tool ids 6 and 7 are CPython's own
# sys.setprofile and sys.settrace: they listen for every thread while any thread is
# traced, and the per-thread c_profilefunc / c_tracefunc check answers for them.
HAS_MONITORING = PY_VERSION >= (3, 12)
TSTATE_INTERP = 16  # PyThreadState.interp (after prev, next)
# PyInterpreterState.monitors: 15 bytes, one per ungrouped event (3.12.1's headers;
# probed at import within a window around it, see _locate_monitors).
INTERP_MONITORS = 381744
MONITORS_BYTES = 15  # _PY_MONITORING_UNGROUPED_EVENTS; local_monitors has as many
CODE_CO_MONITORING = 168  # PyCodeObject._co_monitoring (after _co_instrumentation_version)
MONITORING_LOCAL = 0  # _PyCoMonitoringData.local_monitors
MONITORING_TOOLS_MASK = 0x3F  # tool ids 0-5 (6, 7: sys.setprofile, sys.settrace)
# Why sys.monitoring's state could not be located on this interpreter, or None: then
# no entry is built (a compile fails with this reason), since native code could hide
# calls from a tool.
MONITORING_UNLOCATED: str | None = None


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


def _interpreter() -> int:
    """The calling thread's interpreter, read as entries read it (tstate->interp)."""
    return ctypes.c_void_p.from_address(_thread_state() + TSTATE_INTERP).value or 0


def _monitoring_bytes(address: int) -> bytes:
    return ctypes.string_at(address, MONITORS_BYTES)


def _local_monitors(code: CodeType) -> bytes | None:
    """The local event bitsets of ``code``, None while it has no monitoring data."""
    data = ctypes.c_void_p.from_address(id(code) + CODE_CO_MONITORING).value
    return _monitoring_bytes(data + MONITORING_LOCAL) if data else None


def _listening(bitsets: bytes | None) -> bool:
    return bitsets is not None and any(b & MONITORING_TOOLS_MASK for b in bitsets)


def monitoring_listens(code: CodeType) -> bool:
    """True while a sys.monitoring tool other than sys.settrace / sys.setprofile listens
    to some event everywhere or in ``code`` (as native entries read it); False where
    there is no sys.monitoring (3.11) or its state was not located."""
    if not HAS_MONITORING or MONITORING_UNLOCATED is not None:
        return False
    return (_listening(_monitoring_bytes(_interpreter() + INTERP_MONITORS))
            or _listening(_local_monitors(code)))


def _monitoring() -> Any:
    """The ``sys.monitoring`` namespace (3.12+; mypy checks against 3.11)."""
    return sys.monitoring  # type: ignore[attr-defined]


class _Unlocated(Exception):
    pass


# How far below and above the headers' offset the global bitsets are looked for: the
# interpreter state is larger than the low side; it has 1,808 bytes past the bitsets on
# 3.12.1, so the high side stays inside it.
_MONITORS_BELOW = 65536
_MONITORS_ABOVE = 256


def _event_index(event: int) -> int:
    return event.bit_length() - 1


def _locate_monitors(tool: int, hint: int) -> int:
    """The offset of ``monitors.tools[]`` in the interpreter state: the one window of
    15 bytes in which setting two sets of global events for ``tool`` sets its bit in
    exactly those events' bytes, and clearing them restores every byte."""
    mon = _monitoring()
    ev = mon.events
    patterns = (ev.PY_START | ev.LINE | ev.RERAISE, ev.CALL | ev.JUMP | ev.PY_UNWIND)
    interp = _interpreter()
    low = max(0, hint - _MONITORS_BELOW)
    size = hint + _MONITORS_ABOVE - low

    def snapshot() -> bytes:
        return ctypes.string_at(interp + low, size)

    mon.set_events(tool, 0)
    base = snapshot()
    seen = []
    for pattern in patterns:
        mon.set_events(tool, pattern)
        seen.append(snapshot())
    mon.set_events(tool, 0)
    after = snapshot()
    bit = 1 << tool
    first = _event_index(patterns[0] & -patterns[0])  # the lowest event set first

    def fits(at: int) -> bool:
        if at < 0 or at + MONITORS_BYTES > size or after[at:at + MONITORS_BYTES] != base[
                at:at + MONITORS_BYTES]:
            return False
        for pattern, bitsets in zip(patterns, seen, strict=True):
            for event in range(MONITORS_BYTES):
                was, now = base[at + event], bitsets[at + event]
                want = was | bit if pattern >> event & 1 else was
                if was & bit or now != want:
                    return False
        return True

    changed = (i for i in range(size) if base[i] != seen[0][i])
    found = {low + at for at in (i - first for i in changed) if fits(at)}
    if len(found) != 1:
        raise _Unlocated(f"the interpreter's global event bitsets ({len(found)} "
                         "candidate windows)")
    return found.pop()


def _check_local_monitors(tool: int) -> None:
    """Setting local events for ``tool`` on a fresh code object sets its bit in exactly
    those events' bytes of ``_co_monitoring->local_monitors``; clearing them clears it."""
    mon = _monitoring()
    ev = mon.events
    code = compile("pass", "<autotier monitoring probe>", "exec")
    bit = 1 << tool
    if _local_monitors(code) is not None:
        raise _Unlocated("a fresh code object's monitoring data")
    mon.set_local_events(tool, code, ev.LINE | ev.BRANCH)
    try:
        on = _local_monitors(code)
    finally:
        mon.set_local_events(tool, code, 0)
    off = _local_monitors(code)
    want = bytes(bit if i in (_event_index(ev.LINE), _event_index(ev.BRANCH)) else 0
                 for i in range(MONITORS_BYTES))
    if on != want or off != bytes(MONITORS_BYTES):
        raise _Unlocated("a code object's local event bitsets")


def _probe_monitoring() -> tuple[int, str | None]:
    """Locate and check sys.monitoring's state with a tool id nobody uses, leaving it
    as found (a freed id keeps the events it had on 3.12: they are put back).
    Returns the offset of the global bitsets, and why the state was not located, or
    None."""
    mon = _monitoring()
    get = ctypes.pythonapi.PyInterpreterState_Get
    get.restype = ctypes.c_void_p
    if _interpreter() != get():
        return INTERP_MONITORS, "cannot locate the thread state's interpreter"
    tool = next((t for t in range(6) if mon.get_tool(t) is None), None)
    if tool is None:
        return INTERP_MONITORS, ("every sys.monitoring tool id (0-5) was in use when "
                                 "autotier was imported: none was free to probe with")
    mon.use_tool_id(tool, "autotier layout probe")
    kept = mon.get_events(tool)
    try:
        offset = _locate_monitors(tool, INTERP_MONITORS)
        _check_local_monitors(tool)
    except _Unlocated as exc:
        return INTERP_MONITORS, f"cannot locate sys.monitoring's state: {exc}"
    finally:
        mon.set_events(tool, kept)
        mon.free_tool_id(tool)
    return offset, None


check_layouts()
if HAS_MONITORING:
    INTERP_MONITORS, MONITORING_UNLOCATED = _probe_monitoring()

# ---------------------------------------------------------------- imports
def module_initializing(module: object) -> bool:
    """True while a thread runs ``module``'s body (importlib sets
    ``__spec__._initializing`` around it, 3.4+; another thread importing the module
    meanwhile waits on its module lock)."""
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def imported(name: str) -> ModuleType | None:
    """``sys.modules[name]`` once its import has ended (waiting for another thread that
    runs it: a module half-initialised by a user's thread, numpy in the middle of
    ``import numba``, is not yet the module), or None if it was never imported."""
    module = sys.modules.get(name)
    if module is not None and module_initializing(module):
        module = importlib.import_module(name)  # returns once the other thread's import ends
    return module


def finish_imports(package: str) -> None:
    """Wait until no other thread is running the body of a module of ``package``.

    numba's modules import each other in cycles: a thread that starts importing one of
    them (say ``numba.core.compiler_lock``) while another thread is inside the cycle
    from another module gets a half-initialised module and an ImportError ("cannot
    import name ... from partially initialized module", importlib's deadlock
    avoidance). Blocking on each module another thread is initialising (its module
    lock; the caller holds no import lock, so this cannot deadlock) before importing
    one more keeps the broker's imports out of a user thread's."""
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] == package and module_initializing(module):
            importlib.import_module(name)  # returns once the other thread's import ends


# ---------------------------------------------------------------- bytecode
# (the frontend's section: opcode names and call sequences per version)

# Opcode names as the frontend's handlers know them: several CPython spellings of the
# same operation map to one canonical name (handler ``_op_<canonical>``).
OPCODE_ALIASES: dict[str, str] = {
    # 3.11 spells the jump direction; 3.12 does not.
    "POP_JUMP_FORWARD_IF_FALSE": "POP_JUMP_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_FALSE": "POP_JUMP_IF_FALSE",
    "POP_JUMP_FORWARD_IF_TRUE": "POP_JUMP_IF_TRUE",
    "POP_JUMP_BACKWARD_IF_TRUE": "POP_JUMP_IF_TRUE",
    "POP_JUMP_FORWARD_IF_NONE": "POP_JUMP_IF_NONE",
    "POP_JUMP_BACKWARD_IF_NONE": "POP_JUMP_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE": "POP_JUMP_IF_NOT_NONE",
    "POP_JUMP_BACKWARD_IF_NOT_NONE": "POP_JUMP_IF_NOT_NONE",
    "JUMP_FORWARD": "JUMP",
    "JUMP_BACKWARD": "JUMP",
    "JUMP_BACKWARD_NO_INTERRUPT": "JUMP",
    "JUMP_ABSOLUTE": "JUMP",
    # 3.12: LOAD_FAST_CHECK is LOAD_FAST for a local that may be unbound; the
    # frontend checks boundness on every read of a possibly-unbound local anyway.
    "LOAD_FAST_CHECK": "LOAD_FAST",
}

# 3.11 makes a list comprehension a nested function called at once (MAKE_FUNCTION of
# a ``<listcomp>`` code, GET_ITER, PRECALL 0, CALL 0), and the outer locals it reads
# cells: autotier.frontend.comprehensions splices it into the outer code.  3.12
# inlines comprehensions itself (PEP 709, with an exception-table entry the frontend
# declines as it declines try), so there is nothing to splice there.
INLINE_COMPREHENSIONS = PY_VERSION == (3, 11)

# Opcodes with no effect on the frontend's model of the stack and the locals.
# 3.11's PRECALL belongs to the PUSH_NULL/LOAD_GLOBAL ... PRECALL n; CALL n sequence:
# CALL alone does the work (3.12 dropped PRECALL).
NO_EFFECT_OPCODES = frozenset({"NOP", "RESUME", "PRECALL", "CACHE"})

# The instructions of a call of the callable under a NULL with ``nargs`` arguments,
# for the resume functions of autotier.deopt.resume.  3.11's CALL reads the call shape
# PRECALL (and KW_NAMES) set up, so a frame resumed at a call resumes at the first
# of those (the frontend's frame state for a CALL names it: CALL_PREFIX_OPCODES).
CALL_PREFIX_OPCODES = frozenset({"PRECALL", "KW_NAMES"})


def call_instructions(nargs: int, line: int,
                      location: bytecode.instr.InstrLocation | None = None) -> list[bytecode.Instr]:
    """A call of ``nargs`` arguments, at ``location`` (a traceback's columns) if given."""
    where: dict[str, object] = {"location": location} if location is not None else {
        "lineno": line}
    call = [bytecode.Instr("CALL", nargs, **where)]  # type: ignore[arg-type]
    if PY_VERSION < (3, 12):
        return [bytecode.Instr("PRECALL", nargs, **where), *call]  # type: ignore[arg-type]
    return call


# 3.11: an exhausted FOR_ITER pops the iterator and jumps past the loop.  3.12: the
# jump lands on END_FOR, which pops two values (the interpreter itself skips END_FOR
# after popping the iterator; the two models leave the same stack).
FOR_ITER_EXIT_PUSHES_PLACEHOLDER = PY_VERSION >= (3, 12)

# 3.12 deprecates ``~`` on a bool (a DeprecationWarning on every use, an error under
# -W error): the frontend leaves that combination to the interpreter.
INVERT_BOOL_WARNS = PY_VERSION >= (3, 12)

# 3.12's CALL_INTRINSIC_1 operands the frontend understands, by intrinsic number.
INTRINSIC_1_ALIASES: dict[int, str] = {5: "UNARY_POSITIVE"}


def instruction_count(code: CodeType) -> int:
    """How many instructions ``code`` has, as ``dis`` lists them (EXTENDED_ARG
    included).  3.11+ interleaves inline CACHE entries with the instructions in
    ``co_code``; they are not counted."""
    units = code.co_code[::2]  # one opcode byte per 2-byte code unit
    return len(units) - units.count(dis.opmap["CACHE"])


def load_global_arg(arg: object) -> tuple[bool, str]:
    """LOAD_GLOBAL's argument as ``(pushes NULL first, name)`` (3.11+: a tuple)."""
    if isinstance(arg, tuple):
        return bool(arg[0]), str(arg[1])
    return False, str(arg)


def load_attr_arg(arg: object) -> tuple[bool, str]:
    """LOAD_ATTR's argument as ``(method-call form, name)``.

    3.11: a plain name (method calls use LOAD_METHOD).  3.12: ``(is_method, name)``;
    the method form pushes NULL-or-method and self-or-attribute, like LOAD_METHOD.
    """
    if isinstance(arg, tuple):
        return bool(arg[0]), str(arg[1])
    return False, str(arg)

# Bytecode the numba backend's screen reads (backends/numba_semantics.prescreen): a
# slice is BUILD_SLICE on 3.11, and also BINARY_SLICE / STORE_SLICE from 3.12; an
# attribute a call is made of is LOAD_METHOD on 3.11, LOAD_ATTR (method flag) on 3.12.
SLICE_OPCODES = frozenset({"BUILD_SLICE", "BINARY_SLICE", "STORE_SLICE"})
ATTRIBUTE_OPCODES = frozenset({"LOAD_ATTR", "LOAD_METHOD"})


# ---------------------------------------------------------------- resume code
# (autotier.deopt.patching's section: a resume function's code made from the
# function's own co_code, a prologue spliced in; autotier.deopt.codetables reads and
# writes the location and exception tables, whose format is 3.11's to 3.13's.)

# Where the patching is used (tests/deopt run on 3.11.7 and 3.12.1); elsewhere
# autotier.deopt.resume assembles resume code with the ``bytecode`` package, as it
# did everywhere before (0.2 ms a build warm, the patching 15 us).  What differs
# between the two versions is the call sequence (call_units) and the cache units.
RAW_RESUME = PY_VERSION in ((3, 11), (3, 12))

# On-stack replacement (autotier.osr) splices its loop probes into 3.11's bytecode
# (FOR_ITER over an itertools.repeat countdown, PRECALL/CALL, JUMP_BACKWARD); 3.12's
# loops end differently (END_FOR) and are not instrumented: OSR is off there, calls
# still promote by their count.
OSR_UNSUPPORTED: str | None = (
    None if PY_VERSION == (3, 11) else
    f"on-stack replacement is built for CPython 3.11's bytecode, not {PY_VERSION}")

# The inline cache units after each opcode in co_code (3.11 and 3.12: a list).
CACHE_UNITS: tuple[int, ...] = tuple(opcode._inline_cache_entries)  # type: ignore[attr-defined]
EXTENDED_ARG = dis.EXTENDED_ARG


def call_units(nargs: int) -> list[tuple[int, int]]:
    """The (opcode, argument) pairs of a call of the callable under a NULL with
    ``nargs`` arguments (without their caches), as :func:`call_instructions`."""
    call = (dis.opmap["CALL"], nargs)
    if PY_VERSION < (3, 12):
        return [(dis.opmap["PRECALL"], nargs), call]
    return [call]


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
