"""sys.monitoring tools (CPython 3.12+) see a compiled function as they see it undecorated.

While a tool listens to an event everywhere (``set_events``) or in a code object native
code would run (``set_local_events``), every call of a hot function runs in the
interpreter; when it stops listening, native calls resume without a recompile.  Each
test first checks that the function really runs natively, then runs a real tool.

Runs on 3.12 directly; on 3.11 (no sys.monitoring) ``test_monitoring_on_312.py`` runs
this file under a CPython 3.12 in a subprocess.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any

import pytest

if sys.version_info < (3, 12):
    pytest.skip("sys.monitoring is CPython 3.12+ (test_monitoring_on_312.py runs this "
                "file under 3.12)", allow_module_level=True)

import autotier
from autotier import compat
from tests.runtime.helpers import bead_of, interpreted_frames, make_hot, promote

MON: Any = getattr(sys, "monitoring", None)
EV: Any = getattr(MON, "events", None)


def poly(x):
    y = x * 3
    if y > 10:
        y -= 1
    return y + 2


CALLER_SOURCE = """
def scale(x):
    y = x * 2
    return y + 1


def outer(x):
    return scale(x) + 3
"""


def _compiled(func: Callable[..., Any] = poly) -> Any:
    hf = make_hot(func)
    promote(hf, 5)
    assert autotier.stats(hf).state == "compiled"
    _assert_native(hf)
    return hf


def _assert_native(*funcs: Any, arg: int = 5) -> None:
    hf = funcs[0]
    with interpreted_frames(*funcs) as frames:
        hf(arg)
    assert frames[0] == 0, "the call ran in the interpreter"


def _free_tool() -> int:
    return next(t for t in range(6) if MON.get_tool(t) is None)


@contextmanager
def _tool(events: int = 0) -> Iterator[tuple[int, list[tuple[str, str, int]]]]:
    """A real tool: PY_START, LINE and PY_RETURN callbacks recording (event, code name,
    offset or line) of every code object but this file's own (``poly`` aside), the
    context manager's and gc callbacks other libraries install; global ``events``."""
    tool = _free_tool()
    seen: list[tuple[str, str, int]] = []

    def recorder(name: str) -> Callable[..., None]:
        def record(code: CodeType, where: int, *_: object) -> None:
            mine = (code.co_filename == __file__ and code.co_name != "poly"
                    or code.co_filename == contextlib.__file__)  # _tool's own exit
            if not mine and not code.co_name.startswith("gc_"):
                seen.append((name, code.co_name, where))
        return record

    MON.use_tool_id(tool, "autotier test tool")
    for event, name in ((EV.PY_START, "start"), (EV.LINE, "line"), (EV.PY_RETURN, "return")):
        MON.register_callback(tool, event, recorder(name))
    MON.set_events(tool, events)
    try:
        yield tool, seen
    finally:
        _release(tool)


def _release(tool: int) -> None:
    """Clear the tool's events (3.12's free_tool_id keeps them), callbacks and id."""
    if MON.get_tool(tool) is None:
        MON.use_tool_id(tool, "autotier test cleanup")
    MON.set_events(tool, 0)
    for event in (EV.PY_START, EV.LINE, EV.PY_RETURN):
        MON.register_callback(tool, event, None)
    MON.free_tool_id(tool)


def _no_autotier_code(seen: list[tuple[str, str, int]]) -> None:
    from autotier.runtime import bead

    ours = {name for name in dir(bead.Bead) if not name.startswith("__")}
    assert not ours & {name for _, name, _ in seen}


def test_global_events_are_seen_as_from_the_undecorated_function():
    hf = _compiled()
    before = autotier.stats(hf)
    with _tool(EV.PY_START | EV.LINE | EV.PY_RETURN) as (_, seen):
        assert compat.monitoring_listens(poly.__code__)
        seen.clear()
        results = [hf(i) for i in range(5)]
        mine = list(seen)
        seen.clear()
        expected = [poly(i) for i in range(5)]
        theirs = list(seen)
        during = autotier.stats(hf)
    assert results == expected
    assert mine == theirs
    assert [e[:2] for e in mine if e[0] == "start"] == [("start", "poly")] * 5
    assert len([e for e in mine if e[0] == "line"]) == 3 * 4 + 4  # x < 4: 3 lines; x = 4: 4
    _no_autotier_code(mine)
    assert during.calls == before.calls  # the interpreter ran them, straight
    # the tool stopped listening: native calls again, counted, with no recompile
    assert not compat.monitoring_listens(poly.__code__)
    _assert_native(hf)
    after = autotier.stats(hf)
    assert after.calls == before.calls + 1
    assert (after.state, after.compile_ms, after.bailouts) == ("compiled", before.compile_ms, 0)


def test_set_events_zero_resumes_native_calls_with_the_tool_still_registered():
    hf = _compiled()
    with _tool(EV.PY_START) as (tool, seen):
        hf(1)
        assert [e[:2] for e in seen] == [("start", "poly")]
        MON.set_events(tool, 0)
        _assert_native(hf)
        seen.clear()
        hf(2)
        assert seen == []
        MON.set_events(tool, EV.LINE)  # on again: the next call is interpreted
        hf(2)
        assert [e[0] for e in seen] == ["line"] * 3


def test_local_events_on_the_function_code():
    hf = _compiled()
    compile_ms = autotier.stats(hf).compile_ms
    with _tool() as (tool, seen):
        assert not compat.monitoring_listens(poly.__code__)
        _assert_native(hf)  # a registered tool with no events: native
        MON.set_local_events(tool, poly.__code__, EV.LINE | EV.PY_RETURN)
        assert compat.monitoring_listens(poly.__code__)
        seen.clear()
        results = [hf(i) for i in range(5)]
        mine = list(seen)
        seen.clear()
        assert results == [poly(i) for i in range(5)]
        assert mine == seen and len(mine) == 16 + 5
        MON.set_local_events(tool, poly.__code__, 0)
        _assert_native(hf)
    assert autotier.stats(hf).compile_ms == compile_ms


def test_local_events_on_another_code_object_leave_the_function_native():
    hf = _compiled()
    with _tool() as (tool, _):
        MON.set_local_events(tool, _compiled.__code__, EV.LINE)
        _assert_native(hf)


def _caller_pair(hot_callee: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    plain: dict[str, Any] = {}
    exec(compile(CALLER_SOURCE, "<monitoring callers>", "exec"), plain)
    hot: dict[str, Any] = {}
    exec(compile(CALLER_SOURCE, "<monitoring callers>", "exec"), hot)
    if hot_callee:
        hot["scale"] = make_hot(hot["scale"])
        promote(hot["scale"], 4)
    hot["outer"] = make_hot(hot["outer"])
    promote(hot["outer"], 4)
    row = autotier.stats(hot["outer"])
    assert row.state == "compiled" and row.callees == ("scale",)  # compiled in
    return plain, hot


@pytest.mark.parametrize("hot_callee", [True, False], ids=["hot", "plain"])
def test_local_events_on_a_native_callee_code(hot_callee):
    """A callee native code runs (a hot one, or a plain helper compiled in with its
    caller) is code a tool may listen on alone."""
    plain, hot = _caller_pair(hot_callee)
    outer, scale = hot["outer"], hot["scale"]
    calls = autotier.stats(scale).calls if hot_callee else 0
    _assert_native(outer, scale)
    if hot_callee:  # native code ran scale's body, not its entry
        assert autotier.stats(scale).calls == calls
    with _tool() as (tool, seen):
        MON.set_local_events(tool, scale.__code__, EV.LINE)
        MON.set_local_events(tool, plain["scale"].__code__, EV.LINE)
        assert outer(4) == plain["outer"](4) == 12
        seen.clear()
        assert outer(4) == 12
        mine = list(seen)
        seen.clear()
        plain["outer"](4)
        assert mine == seen == [("line", "scale", 3), ("line", "scale", 4)]
        MON.set_local_events(tool, scale.__code__, 0)
        _assert_native(outer, scale)


def test_a_freed_tool_id_keeps_its_events_as_cpython_does():
    """3.12's free_tool_id leaves the tool's events and callbacks in place: the
    undecorated function still reports to them, and so does the decorated one."""
    hf = _compiled()
    with _tool(EV.PY_START) as (tool, seen):
        MON.free_tool_id(tool)
        poly(1)
        theirs = list(seen)
        seen.clear()
        hf(1)
        assert seen == theirs
        if not theirs:  # a CPython that clears them: native again
            _assert_native(hf)


def test_a_tool_sees_the_calls_of_every_thread():
    hf = _compiled()
    with _tool(EV.PY_START) as (_, seen):
        worker = threading.Thread(target=lambda: [hf(i) for i in range(3)])
        worker.start()
        worker.join(30)
        del worker
        gc.collect()  # the thread's weak references go now, not in a later test's run
    assert [e[:2] for e in seen if e[1] == "poly"] == [("start", "poly")] * 3


def test_settrace_on_another_thread_leaves_this_one_native():
    """sys.settrace sets CPython's own tool 7 for every thread while any thread is
    traced; the thread-state check answers for it, so other threads stay native."""
    hf = _compiled()
    started, stop = threading.Event(), threading.Event()

    def traced_worker() -> None:
        sys.settrace(lambda *_: None)
        try:
            started.set()
            stop.wait(30)
        finally:
            sys.settrace(None)

    worker = threading.Thread(target=traced_worker)
    worker.start()
    try:
        assert started.wait(30)
        _assert_native(hf)
    finally:
        stop.set()
        worker.join(30)
    del worker
    gc.collect()  # the thread's weak references go now, not in a later test's run


def test_an_interpreted_function_is_not_promoted_while_a_tool_listens():
    """The trigger call's bookkeeping is Python code a tool would see."""
    hf = make_hot(poly)
    with _tool(EV.PY_START) as (_, seen):
        for i in range(30):  # make_hot's threshold is below this
            hf(i)
    assert {name for _, name, _ in seen} == {"poly"}
    assert bead_of(hf).state.value == "interpreted"
    promote(hf, 5)
    assert autotier.stats(hf).state == "compiled"


def test_coverage_with_its_sys_monitoring_core_records_the_lines(tmp_path, monkeypatch):
    coverage = pytest.importorskip("coverage")
    hf = _compiled()
    monkeypatch.setenv("COVERAGE_CORE", "sysmon")
    cov = coverage.Coverage(data_file=str(tmp_path / ".coverage"), branch=False,
                            include=[__file__])
    cov.start()
    try:
        assert dict(cov.sys_info())["core"] == "SysMonitor"  # a sys.monitoring tool
        for i in range(100):
            hf(i)
    finally:
        cov.stop()
    lines = set(cov.get_data().lines(__file__) or ())
    first = poly.__code__.co_firstlineno
    assert {first + 1, first + 2, first + 3, first + 4} <= lines
    assert autotier.stats(hf).state == "compiled"
    # coverage frees its tool id but leaves its local events on the code it saw (3.12's
    # free_tool_id keeps them, and its callbacks, which CPython would still call for a
    # line they did not disable): the function stays interpreted until they are cleared
    left = [t for t in range(6) if MON.get_local_events(t, poly.__code__)]
    with interpreted_frames(hf) as frames:
        hf(5)
    assert frames[0] == (1 if left else 0)
    for tool in left:
        MON.use_tool_id(tool, "autotier test cleanup")
        MON.set_local_events(tool, poly.__code__, 0)
        for event in range(17):
            MON.register_callback(tool, 1 << event, None)
        MON.free_tool_id(tool)
    _assert_native(hf)


def test_the_probe_found_the_state_and_left_no_tool_behind():
    assert compat.HAS_MONITORING and compat.MONITORING_UNLOCATED is None
    assert all(MON.get_tool(t) is None for t in range(6)), "the probe left a tool id in use"
    tool = _free_tool()
    MON.use_tool_id(tool, "autotier probe check")
    try:  # the global bitsets are found from a hint off by a few hundred bytes too
        for hint in (compat.INTERP_MONITORS - 200, compat.INTERP_MONITORS + 4000):
            assert compat._locate_monitors(tool, hint) == compat.INTERP_MONITORS
    finally:
        MON.free_tool_id(tool)


def test_the_probe_puts_back_the_events_of_a_freed_tool_id():
    tool = _free_tool()  # the one the probe takes
    MON.use_tool_id(tool, "stale")
    MON.set_events(tool, EV.RAISE)
    MON.free_tool_id(tool)  # 3.12: the events stay
    kept = MON.get_events(tool)
    try:
        assert compat._probe_monitoring() == (compat.INTERP_MONITORS, None)
        assert MON.get_events(tool) == kept and MON.get_tool(tool) is None
    finally:
        _release(tool)


def test_unlocated_state_means_no_native_code(monkeypatch):
    monkeypatch.setattr(compat, "MONITORING_UNLOCATED", "(a test) nowhere to be found")
    hf = make_hot(poly)
    promote(hf, 5)
    row = autotier.stats(hf)
    assert row.state == "failed" and "(a test) nowhere to be found" in (row.reason or "")
    assert hf(5) == poly(5)
