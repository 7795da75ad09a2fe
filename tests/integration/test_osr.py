"""On-stack replacement (issue 12): a long call enters native code at a hot loop header.

Each test compares the hot function's answer with the plain function's (CPython, the
oracle).  ``osr_hot`` sets the call threshold out of reach, so only a loop's count
can make native code run; with ``wait=True`` the probe that queues the OSR compile
waits for it and enters at that very iteration (the loop threshold's), so a test
chooses where the call goes native.
"""

from __future__ import annotations

import _thread
import random
import sys
import threading
import time

import pytest

import autotier
from tests.runtime.helpers import bead_of, make_hot, settle

NEVER_BY_CALLS = 10**9


def osr_hot(func, loop_threshold, *, wait=True, deopt=None):
    hf = make_hot(func, policy=autotier.ThresholdPolicy(threshold=NEVER_BY_CALLS,
                                                        loop_threshold=loop_threshold),
                  deopt=deopt)
    osr = bead_of(hf).osr
    assert osr is not None and osr.made is not None, osr and osr.declined
    osr.wait_compile = wait
    return hf


def entries(hf):
    return bead_of(hf).osr.entries


def children(hf):
    return [e.child._bead for e in bead_of(hf).osr.table.values()]


def same(a, b):
    assert type(a) is type(b) and a == b, (a, b)


# ------------------------------------------------------------ the kernels
def long_sum(n):
    s = 0
    for i in range(n):
        s += i ^ (s & 1023)
    r = s + 1
    return r


def overflowing(n):
    s = 1
    for i in range(n):
        if i > n - 40:
            s = s * 7 + i  # past int64 near the end: a precise deopt, then big ints
        else:
            s = (s + i) & 0xFFFF
    return s


def one_arg(n):
    t = 0
    for i in range(n):
        t += i * 3
    return t


def two_args(a, b):
    t = 0
    for i in range(a, b):
        t += i * i - 3
    return t


def three_args(a, b, c):
    t = 0.5
    for i in range(a, b, c):
        t = t * 0.999 + i
    return t


def while_loop(n):
    i = 0
    acc = 0
    while i < n:
        acc += i % 7
        i += 1
    return acc * 2


def with_break(n, stop):
    k = -1
    for i in range(n):
        if i * i > stop:
            k = i
            break
    else:
        k = -2
    return k


def while_else(n):
    i = 0
    while i < n:
        i += 3
        if i == 31:
            break
    else:
        i = -i
    return i


def nested(n, m):
    s = 0
    for i in range(n):
        for j in range(m):
            s += i * j + 1
    return s


def nested_over_list(n, xs):
    s = 0.0
    for i in range(n):
        for x in xs:
            s += x * i
    return s


CASES = [
    (one_arg, (2000,)), (two_args, (-50, 3000)), (two_args, (10, 5)),
    (three_args, (0, 4000, 3)), (three_args, (4000, -17, -5)), (three_args, (10, -10, -1)),
    (while_loop, (3000,)), (with_break, (5000, 90_000)), (with_break, (200, 10**9)),
    (while_else, (100,)), (while_else, (50,)), (nested, (40, 60)),
    (nested_over_list, (300, [0.5, 1.5, -2.0])),
]


# ------------------------------------------------------------ tests
def test_a_call_made_once_enters_its_loop_natively():
    hf = osr_hot(long_sum, 1000, wait=False)
    n = 10**7
    same(hf(n), long_sum(n))
    assert entries(hf) == 1
    (child,) = children(hf)
    assert child.state.value == "compiled"
    assert autotier.stats(hf).calls == 1
    assert hf.__code__ is long_sum.__code__  # the user sees the original code


def test_an_int64_overflow_in_the_osr_code_deoptimises_precisely():
    hf = osr_hot(overflowing, 100)
    n = 20_000
    same(hf(n), overflowing(n))
    assert entries(hf) == 1
    (child,) = children(hf)
    assert child.resumes == 1 and child.bailouts == 1


@pytest.mark.parametrize(("func", "args"), CASES, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize("at", [1, 2, 5, 97])
def test_entered_at_an_iteration_the_answer_is_cpythons(func, args, at):
    hf = osr_hot(func, at)
    same(hf(*args), func(*args))
    same(hf(*args), func(*args))  # a second call enters the same code


def test_nested_loops_enter_at_the_inner_loop_and_at_the_outer():
    inner = osr_hot(nested, 50)
    same(inner(40, 60), nested(40, 60))
    assert bead_of(inner).osr.lines == {nested.__code__.co_firstlineno + 3: 1}
    outer = osr_hot(nested_over_list, 20)
    xs = []  # each header counts one arrival an outer iteration, the outer's first
    same(outer(300, xs), nested_over_list(300, xs))
    assert bead_of(outer).osr.lines == {nested_over_list.__code__.co_firstlineno + 2: 1}
    at_inner = osr_hot(nested_over_list, 20)  # a list loop inside a range loop
    xs = [0.5, 1.5, -2.0]
    same(at_inner(300, xs), nested_over_list(300, xs))
    assert bead_of(at_inner).osr.lines == {nested_over_list.__code__.co_firstlineno + 3: 1}


def test_the_function_is_still_compiled_at_its_call_threshold():
    hf = make_hot(one_arg, policy=autotier.ThresholdPolicy(threshold=5, loop_threshold=50))
    bead_of(hf).osr.wait_compile = True
    for _ in range(10):
        same(hf(300), one_arg(300))
    settle()
    assert autotier.stats(hf).state == "compiled"
    same(hf(300), one_arg(300))
    assert entries(hf) >= 1


def _when(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.0005)


@pytest.mark.parametrize("what", ["reload", "invalidate"])
def test_a_reload_or_invalidate_during_a_long_osr_call(what):
    hf = osr_hot(long_sum, 1000)
    bead = bead_of(hf)

    def meanwhile():
        _when(lambda: bead.osr.entries == 1)
        if what == "reload":
            bead.reload()
        else:
            autotier.invalidate(hf)

    thread = threading.Thread(target=meanwhile)
    thread.start()
    n = 6 * 10**7
    same(hf(n), long_sum(n))
    thread.join()
    assert bead.osr.table == {}
    if what == "reload":  # probes again, a new table
        assert hf._run is not long_sum and bead.osr.made is not None
        same(hf(5000), long_sum(5000))
        assert bead.osr.entries == 2
    else:  # the original function, no probe
        assert hf._run is long_sum and bead.osr.made is None
        same(hf(5000), long_sum(5000))


STOP = False


def until_stopped(n):
    done = 0
    for i in range(n):
        if STOP:
            break
        done = i
    return done


def test_another_thread_rebinding_a_global_the_osr_loop_reads():
    global STOP
    STOP = False
    hf = osr_hot(until_stopped, 1000)
    bead = bead_of(hf)

    def meanwhile():
        global STOP
        _when(lambda: bead.osr.entries == 1)
        time.sleep(0.05)
        STOP = True

    thread = threading.Thread(target=meanwhile)
    thread.start()
    n = 10**12
    try:
        done = hf(n)
    finally:
        STOP = False
        thread.join()
    assert 1000 <= done < n
    (child,) = children(hf)
    assert child.resumes == 1  # the loop deoptimised and saw the new binding


def spin(n):
    s = 0
    for i in range(n):
        s += i & 7
    return s


def test_ctrl_c_inside_the_osr_loop():
    hf = osr_hot(spin, 1000)
    bead = bead_of(hf)

    def meanwhile():
        _when(lambda: bead.osr.entries == 1)
        time.sleep(0.05)
        _thread.interrupt_main()

    thread = threading.Thread(target=meanwhile)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        hf(10**13)
    thread.join()


def squares(a):
    for _ in range(3):
        a = a * a
    return a


def test_giving_up_gives_the_original_function_back():
    hf = make_hot(squares, policy=autotier.ThresholdPolicy(threshold=3, loop_threshold=10**6),
                  deopt=autotier.BlacklistPolicy())
    bead = bead_of(hf)
    assert hf._run is not squares
    for _ in range(5):
        same(hf(3), squares(3))
    settle()
    assert autotier.stats(hf).state == "compiled"
    same(hf(2**40), squares(2**40))  # an overflow: blacklisted
    assert autotier.stats(hf).state == "blacklisted"
    assert hf._run is squares and bead.osr.made is None
    assert "blacklisted" in bead.osr.describe()


def with_try(n):
    s = 0
    for i in range(n):
        try:
            s += i
        except ValueError:
            pass
    return s


def generator(n):
    for i in range(n):
        yield i * 2


def closure(n):
    k = 3

    def add(x):
        return x + k

    s = 0
    for i in range(n):
        s = add(s)
    return s


def straight(a):
    return a + 1


@pytest.mark.parametrize("func", [with_try, generator, closure, straight])
def test_functions_the_screen_declines_are_never_instrumented(func):
    hf = make_hot(func, policy=autotier.ThresholdPolicy(threshold=1000, loop_threshold=1))
    assert hf._run is func
    assert bead_of(hf).osr.declined


def test_code_assigned_behind_the_hot_object_runs_the_new_code():
    def plain(n):
        s = 0
        for i in range(n):
            s += i
        return s

    def other(n):
        s = 1
        for i in range(n):
            s += 2 * i
        return s

    hf = osr_hot(plain, 10**6, wait=False)
    same(hf(100), plain(100))
    plain.__code__ = other.__code__
    assert hf(100) == other(100)
    assert hf._run is plain


def test_tracing_sees_the_lines_of_the_undecorated_function():
    hf = osr_hot(nested, 3)

    def lines(f):
        seen = []

        def tracer(frame, event, arg):
            if frame.f_code.co_name == "nested":
                seen.append((event, frame.f_lineno))
            else:
                seen.append((event, frame.f_code.co_name))
            return tracer

        sys.settrace(tracer)
        try:
            result = f(5, 7)
        finally:
            sys.settrace(None)
        return seen, result

    got, answer = lines(hf)
    expected, plain = lines(nested)
    assert answer == plain and got == expected
    assert entries(hf) == 0  # a traced call never calls the probe


def test_random_iterations_over_the_cases():
    rng = random.Random(12)
    for func, args in CASES:
        at = rng.randint(1, 300)
        hf = osr_hot(func, at)
        same(hf(*args), func(*args))


def test_stats_and_explain_show_the_osr_entries():
    hf = osr_hot(nested, 30)
    same(hf(20, 30), nested(20, 30))
    row = autotier.stats(hf)
    line = nested.__code__.co_firstlineno + 3
    assert row.osr_entries == 1 and row.osr_lines == (line,)
    assert row.to_dict()["osr_lines"] == [line]
    text = autotier.explain(hf)["osr"]
    assert f"line {line}, offset" in text and "entry compiled" in text
    # n and j are dead at the inner header (range(n) was evaluated, j is stored first)
    assert f"OSR entry at line {line} (compiled), parameters m, s, i, .it0_0, .it0_1" in text
    assert "LOAD_GLOBAL NULL + range" in text
    assert autotier.explain(autotier.hot(straight))["osr"] == "no loop probes: no loop"


def over_a_dict(d):
    s = 0
    for x in d:
        s += x
    return s


def declined_by_the_frontend(n):
    seen = {}
    for i in range(n):
        seen[i % 3] = i
    return len(seen)


@pytest.mark.parametrize(("func", "args", "why"), [
    (over_a_dict, (dict.fromkeys(range(150)),), "dict_keyiterator"),
    (declined_by_the_frontend, (200,), "OSR compile failed"),
])
def test_once_no_header_can_be_entered_the_original_code_comes_back(func, args, why):
    hf = osr_hot(func, 5)
    same(hf(*args), func(*args))
    assert hf._run is func and why in bead_of(hf).osr.describe()
    same(hf(*args), func(*args))


LONG_BODY = "\n".join(f"        s {'+' if k % 2 else '-'}= i * {k} + {k // 2}" for k in range(40))
_made: dict = {}
exec(f"def long_jumps(n):\n    s = 0\n    for i in range(n):\n{LONG_BODY}\n    return s\n",
     _made)
long_jumps = _made["long_jumps"]


def test_a_loop_whose_jumps_need_an_extended_arg():
    import dis

    assert any(i.opname == "EXTENDED_ARG" for i in dis.get_instructions(long_jumps))
    hf = osr_hot(long_jumps, 7)
    same(hf(500), long_jumps(500))
    assert entries(hf) == 1


TRACED_LINES: list[int] = []


def _line_tracer(frame, event, arg):
    if event == "line":
        TRACED_LINES.append(frame.f_lineno)
    return _line_tracer


def start_tracing():
    sys.settrace(_line_tracer)
    sys._getframe(1).f_trace = _line_tracer  # the caller's frame too, as pdb does


def traced_midway(n):
    s = 0
    for i in range(n):
        if i == 50:
            start_tracing()
        s += i
    return s


def test_a_tracer_set_during_the_call_turns_the_probe_off():
    hf = osr_hot(traced_midway, 20, wait=False)
    del TRACED_LINES[:]
    try:
        got = hf(300)
    finally:
        sys.settrace(None)
    plain_lines = list(TRACED_LINES)
    del TRACED_LINES[:]
    try:
        expected = traced_midway(300)
    finally:
        sys.settrace(None)
    assert got == expected
    header = traced_midway.__code__.co_firstlineno + 2
    # the same lines, but the header's line once more (the slow block's jump back)
    assert sorted(plain_lines) == sorted([*TRACED_LINES, header])
    assert entries(hf) == 0


def how_deep(k):
    try:
        return how_deep(k + 1)
    except RecursionError:
        return k


def loop_then_recurse(n):
    s = 0
    for i in range(n):
        s += i
    return s + how_deep(0)  # after the loop: in the OSR code, as deep as in CPython


def test_the_rest_of_the_call_recurses_exactly_as_deep_as_in_cpython():
    hf = osr_hot(loop_then_recurse, 10)
    same(hf(200), loop_then_recurse(200))
    assert entries(hf) == 1


def nested_deep(d, n):
    if d > 0:
        return nested_deep(d - 1, n)
    s = 0
    for i in range(n):
        s += i
    return s


def test_a_loop_at_the_recursion_limit_is_not_refused_by_its_probe():
    def deepest(f):
        reached = 0
        for d in range(limit - 60, limit):
            try:
                f(d, 300)
            except RecursionError:
                break
            reached = d
        return reached

    limit = sys.getrecursionlimit()
    plain = deepest(nested_deep)
    hf = osr_hot(nested_deep, 10)
    saved = nested_deep.__globals__["nested_deep"]
    nested_deep.__globals__["nested_deep"] = hf  # the recursion through the hot object
    try:
        assert deepest(hf) == plain
    finally:
        nested_deep.__globals__["nested_deep"] = saved


def main_like(path, n):
    name = path.upper()  # a str: dead in the loop, so not passed to the OSR entry
    total = len(name)
    for i in range(n):
        total += i % 5
    return total


def main_like_live(path, n):
    total = 0
    for i in range(n):
        total += i % 5
    return path + str(total)  # the str is live after the loop: handed back, kept


def test_only_the_locals_live_at_the_header_are_passed():
    hf = osr_hot(main_like, 20)
    same(hf("abc", 500), main_like("abc", 500))
    assert entries(hf) == 1
    live = osr_hot(main_like_live, 20)
    same(live("abc", 500), main_like_live("abc", 500))
    # entered all the same: the loop runs natively, and hands the frame back after it
    # with ``path`` carried unread (osr.entrycode.Plan, tests/integration/test_osr_handback)
    assert entries(live) == 1
    entry = next(iter(bead_of(live).osr.table.values()))
    assert entry.plan.level == 1 and entry.plan.kept == ("path",)


def deletes_after(n):
    x = 3
    s = 0
    for i in range(n):
        s += i
    del x  # a del reads: x stays live, so the OSR code has it bound
    return s


def test_a_del_after_the_loop_keeps_its_local_live():
    from autotier.osr.instrument import headers

    (header,) = headers(deletes_after.__code__)
    assert header.live == {"x", "s"}
    hf = osr_hot(deletes_after, 10)
    same(hf(100), deletes_after(100))
    assert entries(hf) == 1


def test_one_osr_compile_at_a_time():
    """An outer loop crossing its threshold while the inner loop's entry compiles asks
    for no entry of its own (it would compile behind the inner one, beside the native
    code entered meanwhile, for an entry never used); the answer stays CPython's."""
    from tests.runtime.helpers import Gate

    gate = Gate()
    hf = make_hot(nested, policy=autotier.ThresholdPolicy(threshold=NEVER_BY_CALLS,
                                                          loop_threshold=50),
                  before_compile=gate)
    bead_of(hf).osr.wait_compile = False
    got = []
    caller = threading.Thread(target=lambda: got.append(hf(300, 300)))
    caller.start()
    gate.wait_entered()  # the inner loop's entry, held on the broker
    caller.join(60)
    assert not caller.is_alive()
    same(got[0], nested(300, 300))  # interpreted to the end
    counts = bead_of(hf).osr.counts
    assert len(counts) == 2 and min(counts.values()) >= 50, counts  # both crossed
    assert len(children(hf)) == 1, bead_of(hf).osr.describe()
    gate.open()
    settle()
    same(hf(300, 300), nested(300, 300))
    assert entries(hf) == 1


def phased(n, m):
    s = 0
    for i in range(n):
        if m:
            for j in range(m):
                s += i * j
    return s


def test_an_entry_refused_by_a_full_queue_is_asked_for_again():
    """The entry's compile finds the broker's queue full (the child stays interpreted,
    and nothing calls it): a later slow path at its header queues it again, and the
    call after that enters it."""
    from autotier.broker.broker import Broker
    from tests.runtime.helpers import Gate

    broker = Broker(maxsize=1)
    gate = Gate()
    held = make_hot(long_sum, threshold=1, broker=broker, before_compile=gate)
    held(3)
    gate.wait_entered()  # the broker's thread is busy
    queued = make_hot(long_sum, threshold=1, broker=broker)
    queued(3)  # the queue is full
    hf = make_hot(long_sum, policy=autotier.ThresholdPolicy(threshold=NEVER_BY_CALLS,
                                                            loop_threshold=50),
                  broker=broker)
    osr = bead_of(hf).osr
    osr.wait_compile = False
    same(hf(500), long_sum(500))
    assert [c.state.value for c in children(hf)] == ["interpreted"], osr.describe()
    gate.open()
    settle(broker)
    same(hf(500), long_sum(500))  # the slow path asks again
    settle(broker)
    assert [c.state.value for c in children(hf)] == ["compiled"], osr.describe()
    same(hf(500), long_sum(500))
    assert entries(hf) == 1, osr.describe()


def loops_side_by_side(n):
    s = 0
    for i in range(n):
        while s > i:
            s -= 1
            for j in range(3):
                s += j
    for k in range(n):
        s += k
    return s


def test_a_header_knows_the_headers_nested_in_its_loop():
    from autotier.osr import instrument

    found = instrument.headers(loops_side_by_side.__code__)
    assert [h.inner for h in found] == [{1, 2}, {2}, set(), set()]
    assert [h.inner for h in instrument.headers(phased.__code__)] == [{1}, set()]


def test_outer_loop_waits_one_slow_path_for_a_compiled_inner_entry():
    """Once an entry at the inner loop is compiled, the outer loop's next slow path
    past its threshold queues nothing (the inner probe, reached within ``k`` more outer
    iterations while the inner loop runs, enters it; an outer entry would be compiled
    for nothing); the one after queues the outer entry (the inner loop may have
    stopped running), which is then entered.  Answers stay CPython's."""
    hf = osr_hot(phased, 50, wait=False)
    osr = bead_of(hf).osr
    same(hf(1, 5000), phased(1, 5000))  # the inner loop queues its entry
    settle()
    assert [c.state.value for c in children(hf)] == ["compiled"], osr.describe()
    same(hf(60, 0), phased(60, 0))  # one outer slow path: it waits for the inner
    settle()
    assert len(children(hf)) == 1 and osr.yielded == {0}, osr.describe()
    same(hf(60, 0), phased(60, 0))  # the next queues the outer entry
    settle()
    assert len(children(hf)) == 2, osr.describe()
    same(hf(60, 0), phased(60, 0))
    same(hf(60, 7), phased(60, 7))
    assert entries(hf) == 2, osr.describe()
    bead_of(hf).invalidate("test")
    assert osr.yielded == set()
