"""Python's own tools see a compiled function as they see it undecorated.

While a trace or profile function is set on the calling thread (sys.settrace,
sys.setprofile, cProfile, coverage.py, pdb), every call of a hot function runs in the
interpreter; when the tool goes, native calls resume without a recompile.  Each test
first checks that the function really runs natively, then runs the real tool.
"""

from __future__ import annotations

import cProfile
import io
import pdb
import pstats
import sys
import threading

import coverage

import autotier
from tests.runtime.helpers import bead_of, interpreted_frames, make_hot, promote


def poly(x):
    y = x * 3
    if y > 10:
        y -= 1
    return y + 2


def _compiled():
    hf = make_hot(poly)
    promote(hf, 5)
    assert autotier.stats(hf).state == "compiled"
    with interpreted_frames(hf) as frames:
        assert hf(5) == 16
    assert frames[0] == 0  # native, untraced
    return hf


def _lines_seen(tracer_events, code):
    return [line for event, c, line in tracer_events if c is code and event == "line"]


def test_settrace_sees_every_line_of_every_call():
    hf = _compiled()
    events = []

    def tracer(frame, event, arg):
        events.append((event, frame.f_code, frame.f_lineno))
        return tracer

    plain = []

    def plain_tracer(frame, event, arg):
        plain.append((event, frame.f_code, frame.f_lineno))
        return plain_tracer

    sys.settrace(tracer)
    try:
        results = [hf(i) for i in range(100)]
    finally:
        sys.settrace(None)
    sys.settrace(plain_tracer)
    try:
        expected = [poly(i) for i in range(100)]
    finally:
        sys.settrace(None)
    assert results == expected
    code = poly.__code__
    mine = [(e, line) for e, c, line in events if c is code]
    theirs = [(e, line) for e, c, line in plain if c is code]
    assert mine == theirs and len([e for e, _ in mine if e == "call"]) == 100
    # nothing of autotier's own shows up: the same code as the undecorated run's
    # (gc callbacks other libraries install may run in either run: not counted)
    def ours(run):
        return {c.co_name for _, c, _ in run if not c.co_name.startswith("gc_")}
    assert ours(events) == ours(plain)
    assert not any("autotier" in c.co_filename for _, c, _ in events)
    with interpreted_frames(hf) as frames:  # the tracer is gone: native again
        assert hf(5) == 16
    assert frames[0] == 0
    assert autotier.stats(hf).state == "compiled" and autotier.stats(hf).bailouts == 0


def test_setprofile_sees_every_call():
    hf = _compiled()
    calls = []

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code is poly.__code__:
            calls.append(frame.f_locals["x"])

    sys.setprofile(profiler)
    try:
        for i in range(100):
            hf(i)
    finally:
        sys.setprofile(None)
    assert calls == list(range(100))


def test_cprofile_counts_every_call():
    hf = _compiled()
    profile = cProfile.Profile()
    profile.enable()
    try:
        for i in range(100):
            hf(i)
    finally:
        profile.disable()
    stats = pstats.Stats(profile)
    counts = {func[2]: row[1] for func, row in stats.stats.items()}  # type: ignore[attr-defined]
    assert counts.get("poly") == 100
    assert not any("on_bail" in name or "_on_" in name for name in counts)


def test_coverage_records_the_lines(tmp_path):
    hf = _compiled()
    cov = coverage.Coverage(data_file=str(tmp_path / ".coverage"), branch=False,
                            include=[__file__])
    cov.start()
    try:
        for i in range(100):
            hf(i)
    finally:
        cov.stop()
    lines = set(cov.get_data().lines(__file__) or ())
    first = poly.__code__.co_firstlineno
    body = {first + 1, first + 2, first + 3, first + 4}
    assert body <= lines
    assert autotier.stats(hf).state == "compiled"


def test_tracing_one_thread_leaves_the_others_native():
    hf = _compiled()
    native_elsewhere = []

    def other():
        with interpreted_frames(hf) as frames:
            hf(5)
        native_elsewhere.append(frames[0])

    seen = []

    def tracer(frame, event, arg):
        if frame.f_code is poly.__code__ and event == "call":
            seen.append(1)
        return None

    sys.settrace(tracer)
    try:
        worker = threading.Thread(target=other)
        worker.start()
        worker.join(30)
        hf(5)
    finally:
        sys.settrace(None)
    assert native_elsewhere == [0] and seen == [1]


def test_a_function_called_only_while_traced_is_not_promoted_by_the_tool():
    """The trigger call's bookkeeping is Python code a profiler would see: while
    profiled, an interpreted function forwards every call and promotes later."""
    hf = make_hot(poly)
    names = []

    def profiler(frame, event, arg):
        if event == "call":
            names.append(frame.f_code.co_name)

    sys.setprofile(profiler)
    try:
        for i in range(3 * 10):  # make_hot's threshold is below this
            hf(i)
    finally:
        sys.setprofile(None)
    assert set(names) == {"poly"}
    assert bead_of(hf).state.value == "interpreted"
    promote(hf, 5)
    assert autotier.stats(hf).state == "compiled"


def test_a_pdb_breakpoint_inside_stops():
    hf = _compiled()
    out = io.StringIO()
    commands = "continue\np ('y is', y)\ncontinue\n"  # first stop: the call's first line
    debugger = pdb.Pdb(stdin=io.StringIO(commands), stdout=out)
    line = poly.__code__.co_firstlineno + 4  # return y + 2
    assert debugger.set_break(poly.__code__.co_filename, line) is None
    try:
        assert debugger.runcall(hf, 5) == 16
    finally:
        debugger.clear_all_breaks()
        sys.settrace(None)
    assert f"({line})poly()" in out.getvalue() and "('y is', 14)" in out.getvalue()
