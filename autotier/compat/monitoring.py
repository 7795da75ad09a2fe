"""sys.monitoring's state as native entries read it (3.12+; 3.11 has none), located
and checked at import with a tool id nobody uses; see :mod:`autotier.compat`."""

from __future__ import annotations

import ctypes
import sys
from types import CodeType
from typing import Any

from autotier.compat.layouts import PY_VERSION, _thread_state

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


if HAS_MONITORING:
    INTERP_MONITORS, MONITORING_UNLOCATED = _probe_monitoring()
