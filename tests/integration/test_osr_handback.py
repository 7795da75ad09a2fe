"""OSR entries that hand the frame back to the interpreter (issue 12).

When the rest of a call does not compile (a ``print``, an f-string, a generator
expression, a str local after the loop), the entry is compiled to run the loop that
holds the header natively and, where an edge leaves that loop, to hand its frame to
the interpreter, which runs the rest as CPython would (``osr.entrycode.Plan``).  Each
test compares the output, the return value, the exception (type, message, the
traceback's last line) and the arguments with CPython's.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import traceback

import pytest

import autotier
from autotier.osr import entrycode
from autotier.osr import state as osr_state
from autotier.osr.instrument import headers, screen
from tests.frontend import harness
from tests.integration.test_osr import children, entries, osr_hot
from tests.runtime.helpers import bead_of


def main(n):
    s = 0
    label = "total"  # a str local: live at the header, never named by the loop
    for i in range(n):
        s += i * i % 7
    print(f"{label}: {s}")
    return sum(x for x in range(s % 10)), label


def rows_printed(n, m):
    out = 0
    for i in range(n):
        for j in range(m):
            out += i ^ j
        print(i, out, end=";")  # inside the outer loop: the inner is handed back
    print()
    return out


def kept_changed_outside(n, m):
    a, b = 0, 1
    out = 0
    for i in range(n):
        a, b = b, (a + b) % 1000  # the outer loop changes what the inner never names
        for j in range(m):
            out += i ^ j
            if j == m - 3:
                break
        print(i, a, end=";")  # the inner loop is handed back, a and b kept
    print()
    return out, a, b


def raises_after(n):
    s = 0
    for i in range(n):
        s += i
    name = "x" + str(s)
    return name + 1  # TypeError, from the interpreter's frame


def while_then_print(n):
    i = 0
    acc = 0.0
    while i < n:
        acc += i * 0.5
        i += 1
    print("acc", acc)
    return acc


def break_else(xs, limit):
    found = None
    for x in xs:
        if x > limit:
            found = x
            break
    else:
        print("none over", limit)
        return -1
    print("found", found)
    return found


def overflow_then_print(n):
    s = 1
    label = "digits"  # kept: unbound in the frame the deopt resumes, restored at the exit
    for i in range(n):
        if i > n - 5:
            s = s * 10**6 + i  # past int64: a precise deopt inside the entered loop
        else:
            s = (s + i) & 0xFFFF
    text = str(s)
    print(label, len(text))
    return text


def genexpr_after(xs):
    t = 0.0
    for x in xs:
        t += x * x
    return tuple(round(v, 3) for v in (t, t / 2))


def outcome(func, args, capsys):
    try:
        result = ("value", func(*args))
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        result = ("raise", type(exc), str(exc), tb.name, tb.lineno, tb.line)
    return result, capsys.readouterr().out


CASES = [
    (main, (3000,)), (rows_printed, (30, 40)), (kept_changed_outside, (30, 40)),
    (raises_after, (500,)),
    (while_then_print, (2000,)), (break_else, (list(range(300)), 250)),
    (break_else, (list(range(300)), 10**6)), (overflow_then_print, (3000,)),
    (genexpr_after, ([0.5 * k for k in range(200)],)),
]


def _id(case):
    return getattr(case, "__name__", "")


@pytest.mark.parametrize(("func", "args"), CASES, ids=_id)
@pytest.mark.parametrize("at", [1, 5, 97])
def test_the_rest_of_the_call_is_handed_back_exactly(func, args, at, capsys):
    hf = osr_hot(func, at)
    mine, theirs = copy.deepcopy(args), copy.deepcopy(args)
    expected = outcome(func, theirs, capsys)
    got = outcome(hf, mine, capsys)
    assert got == expected
    assert mine == theirs
    assert entries(hf) == 1, bead_of(hf).osr.describe()
    assert got == outcome(hf, copy.deepcopy(args), capsys)  # entered again, same code


def test_a_hand_back_is_no_bailout():
    hf = osr_hot(main, 10)
    hf(5000)
    (child,) = children(hf)
    assert child.bailouts == 0 and child.resumes == 0 and child.exceptions == 0
    assert child.state.value == "compiled"
    entry = next(iter(bead_of(hf).osr.table.values()))
    assert entry.plan.level == 1 and entry.plan.kept == ("label",)
    assert "not compile" not in bead_of(hf).osr.describe()


def test_an_inner_entry_hands_back_at_the_inner_loops_exits():
    hf = osr_hot(rows_printed, 10)
    hf(5, 40)
    entry = next(iter(bead_of(hf).osr.table.values()))
    assert entry.plan.level == 2  # the outer loop prints: only the inner is native
    assert entry.failed is not None and "print" in entry.failed or "str" in entry.failed


def test_a_deopt_inside_a_handed_back_entry_is_precise(capsys):
    hf = osr_hot(overflow_then_print, 50)
    assert outcome(hf, (3000,), capsys) == outcome(overflow_then_print, (3000,), capsys)
    (child,) = children(hf)
    assert child.resumes == 1 and child.bailouts == 1
    entry = next(iter(bead_of(hf).osr.table.values()))
    assert entry.plan.kept == ("label",)


def test_the_traceback_ends_at_the_functions_own_line():
    hf = osr_hot(raises_after, 20)
    with pytest.raises(TypeError) as info:
        hf(100)
    last = info.traceback[-1]
    assert last.lineno + 1 == raises_after.__code__.co_firstlineno + 5
    assert last.name == "raises_after"


def test_plans_hand_back_at_each_enclosing_loop():
    header = next(h for h in headers(rows_printed.__code__) if h.depth == 2)
    plans = entrycode.plans(rows_printed.__code__, header, ("n", "m", "out", "i"))
    assert [p.level for p in plans] == [0, 1, 2]
    outer, inner = entrycode.loops(rows_printed.__code__, header)
    assert inner < outer
    assert plans[2].exits and not plans[2].exits & inner
    # range(n) is evaluated before the outer loop, range(m) before the inner one
    assert plans[1].kept == ("n",) and plans[2].kept == ("n", "m")


def _captured(func, args, at, monkeypatch):
    seen = []
    real = osr_state._enter

    def spy(child, values):
        seen.append((child._func, harness.fresh(tuple(values))))
        return real(child, values)

    monkeypatch.setattr(osr_state, "_enter", spy)
    hf = osr_hot(func, at)
    with contextlib.suppress(TypeError):  # (raises_after's own)
        hf(*copy.deepcopy(args))
    monkeypatch.setattr(osr_state, "_enter", real)
    assert len(seen) == 1
    return seen[0]


@pytest.mark.parametrize(("func", "args"), [(genexpr_after, ([0.5, 1.5, 2.5] * 10,)),
                                            (raises_after, (60,))], ids=_id)
def test_forced_deopts_at_every_site_of_a_hand_back_entry(func, args, monkeypatch):
    entry, values = _captured(func, args, 3, monkeypatch)
    harness.check(entry, *values, force=True, may_bail=True)
    reached = harness.forced_sites(entry, values)
    assert len(reached) >= 3, reached
    harness.forget(entry)


def test_tracing_a_handed_back_call_sees_cpythons_lines():
    def lines_of(call):
        seen = []

        def tracer(frame, event, arg):
            if frame.f_code.co_name == "while_then_print" and event == "line":
                seen.append(frame.f_lineno)
            return tracer

        sys.settrace(tracer)
        try:
            call()
        finally:
            sys.settrace(None)
        return seen

    hf = osr_hot(while_then_print, 5)
    assert lines_of(lambda: hf(50)) == lines_of(lambda: while_then_print(50))


HANDBACK_PROGRAMS = 200  # tests/programs/seqgen's programs, each ending in a str


def test_random_sequence_programs_ending_in_a_str_are_handed_back_exactly():
    """seqgen's programs with ``tag = repr(s)`` before their return (a str: the rest of
    the call never compiles, so every entry hands back), entered at a random iteration:
    the outcome and the list's state against CPython's."""
    import random

    from tests.programs.seqgen import KS, SEQUENCES, program

    run = handed = 0
    mismatches: list[str] = []
    for number in range(HANDBACK_PROGRAMS):
        rng = random.Random(number)
        lines = program(number).splitlines()
        ret = lines[-1].removeprefix("    return ")
        source = "\n".join([*lines[:-1], "    tag = repr(s)", f"    return ({ret}), tag"]) + "\n"
        ns: dict = {}
        exec(compile(source, f"<osr hand-back program {number}>", "exec"), ns)
        func = ns["f"]
        if screen(func) is not None:
            continue
        run += 1
        at = rng.randint(1, 3)
        hf = osr_hot(func, at)
        for _ in range(4):
            xs, k = rng.choice(SEQUENCES), rng.choice(KS)
            mine, theirs = copy.deepcopy(xs), copy.deepcopy(xs)
            expected = harness.outcome(lambda: func(theirs, k))  # noqa: B023
            got = harness.outcome(lambda: hf(mine, k))  # noqa: B023
            if not harness.same_outcome(got, expected) or not harness.same_state((mine,),
                                                                                 (theirs,)):
                mismatches.append(f"{source}({xs!r}, {k!r}) entered at {at}: autotier "
                                  f"{got!r} {mine!r}, CPython {expected!r} {theirs!r}")
        handed += any(e.plan.level > 0 and e.child._bead.state.value == "compiled"
                      for e in bead_of(hf).osr.table.values()) and entries(hf) > 0
        autotier.invalidate(hf)
    assert not mismatches, "\n".join(mismatches[:10])
    print(f"\n{handed} of {run} programs entered and handed back")
    assert run >= 20 and handed >= run // 4, (run, handed)
