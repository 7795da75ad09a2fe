"""Resume code patched from the function's own co_code (autotier.deopt.patching) and
the code tables it moves (autotier.deopt.codetables), checked against CPython's own
tables and against the resume code the ``bytecode`` package assembles (the path the
patching replaced, kept where it does not apply)."""

from __future__ import annotations

import dis
import importlib
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from autotier import compat
from autotier.deopt import codetables, patching, resume
from autotier.deopt.codetables import Location
from autotier.deopt.sites import Slot

pytestmark = pytest.mark.skipif(not compat.RAW_RESUME, reason="patching is 3.11 and 3.12 only")

STDLIB = ("argparse", "ast", "collections", "dataclasses", "decimal", "difflib", "email",
          "enum", "fractions", "inspect", "json", "pathlib", "pydoc", "statistics",
          "string", "tarfile", "textwrap", "typing", "unittest", "zipfile")


def codes_in(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from codes_in(const)


def stdlib_codes() -> list[types.CodeType]:
    out: list[types.CodeType] = []
    for name in STDLIB:
        module = importlib.import_module(name)
        path = module.__file__
        assert path is not None
        with open(path, encoding="utf-8") as f:
            out.extend(codes_in(compile(f.read(), path, "exec")))
    return out


CODES = stdlib_codes()


def test_tables_round_trip_byte_for_byte() -> None:
    """Every code object of 20 stdlib modules (2,188 on 3.11.7): the decoded location entries give
    exactly co_positions(), re-encoded they are the compiler's bytes; the exception
    table decodes as dis reads it and re-encodes to the same bytes."""
    assert len(CODES) > 2000
    for code in CODES:
        entries = codetables.decode_locations(code.co_linetable, code.co_firstlineno)
        assert [p for units, p in entries for _ in range(units)] == list(code.co_positions())
        assert codetables.encode_locations(entries, code.co_firstlineno) == code.co_linetable
        handlers = codetables.decode_handlers(code.co_exceptiontable)
        assert [(2 * h.start, 2 * h.end, 2 * h.target, h.depth, h.lasti) for h in handlers] \
            == [tuple(e) for e in dis._parse_exception_table(code)]  # type: ignore[attr-defined]
        assert codetables.encode_handlers(handlers) == code.co_exceptiontable


def test_splice_puts_entries_between_units() -> None:
    """Entries spliced in at any unit (inside an entry too) sit exactly there, and the
    rest of the table reads as before (its first line delta rewritten)."""
    new = [Location(3, (7, 7, None, None)), Location(2, (1, 3, 4, 5))]
    for code in CODES[:400]:
        positions = list(code.co_positions())
        for at in {0, 1, 2, len(positions) // 2, len(positions) - 1}:
            table = codetables.splice_locations(code.co_linetable, code.co_firstlineno,
                                                [(at, new)])
            spliced = code.replace(co_code=code.co_code[:2 * at] + b"\x09\x00" * 5
                                   + code.co_code[2 * at:], co_linetable=table)
            want = positions[:at] + [(7, 7, None, None)] * 3 + [(1, 3, 4, 5)] * 2 \
                + positions[at:]
            assert list(spliced.co_positions()) == want, (code.co_name, at)


# ---------------------------------------------------------------- patched code

def late_overflow(start: int, n: int) -> int:
    s = start
    for i in range(n):
        s += i
    return s


def guarded(a: int, b: int) -> int:
    r = 0
    try:
        r = a // b
    except ZeroDivisionError:
        r = -1
    return r + 1


def maybe(flag: bool) -> int:
    if flag:
        x = 1
    return x  # noqa: F821 (unbound when not flag)


def long_body(n: int) -> int:  # jumps of more than 255 code units: EXTENDED_ARGs
    t = 0
    for i in range(n):
        t += i * 1 + i * 2 + i * 3 + i * 4 + i * 5 + i * 6 + i * 7 + i * 8 + i * 9
        t += i * 1 + i * 2 + i * 3 + i * 4 + i * 5 + i * 6 + i * 7 + i * 8 + i * 9
        t += i * 1 + i * 2 + i * 3 + i * 4 + i * 5 + i * 6 + i * 7 + i * 8 + i * 9
        t += i * 1 + i * 2 + i * 3 + i * 4 + i * 5 + i * 6 + i * 7 + i * 8 + i * 9
        t += i * 1 + i * 2 + i * 3 + i * 4 + i * 5 + i * 6 + i * 7 + i * 8 + i * 9
        t -= i
    return t


def callee() -> int:
    return 10 // 0


def calls(a: int) -> int:
    b = a + 1
    c = callee() + b
    return c


def instructions(code: types.CodeType) -> list[dis.Instruction]:
    return [i for i in dis.get_instructions(code) if i.opname != "EXTENDED_ARG"]


def both(func: Callable[..., Any], index: int, bound: tuple[bool, ...],
         stack: tuple[object, ...], after_call: bool = False
         ) -> tuple[types.CodeType, types.CodeType]:
    """The patched code and the bytecode package's, for one layout."""
    code = func.__code__
    at = instructions(code)[index]
    line = at.positions.lineno if at.positions and at.positions.lineno else 0
    patched = patching.patch_resume_code(code, index, at.offset, bound, stack, line=line,
                                         after_call=after_call)
    names = tuple(n for n, has in zip(code.co_varnames, bound, strict=True) if has)
    assembled = resume.build_resume_code(code, index, names, stack, line=line,
                                         after_call=after_call)
    return patched, assembled


def run(code: types.CodeType, func: Callable[..., Any], *args: object
        ) -> tuple[object, list[int], list[str]]:
    """What a resume function of ``code`` returns or raises (its type, message and
    traceback's last frame lines), with the lines a tracer sees it run."""
    assert isinstance(func, types.FunctionType)
    made = types.FunctionType(code, func.__globals__, func.__name__)
    lines: list[int] = []

    def tracer(frame: types.FrameType, event: str, arg: object) -> Any:
        if frame.f_code is code and event == "line":
            lines.append(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    try:
        return made(*args), lines, []
    except Exception as exc:
        sys.settrace(None)
        return (type(exc), str(exc)), lines, frames_of(exc)
    finally:
        sys.settrace(None)


def frames_of(exc: BaseException) -> list[str]:
    """A traceback's entries (line, source, carets) below the test's helpers."""
    return [t for t in traceback.format_exception(exc) if t.startswith("  File")
            and t.splitlines()[0].rsplit(" in ", 1)[1] not in ("run", "<lambda>")
            and not t.splitlines()[0].rsplit(" in ", 1)[1].startswith("test_")]


@pytest.mark.parametrize("func", [late_overflow, guarded, maybe, long_body, calls])
def test_every_instruction_moves_unchanged(func: Callable[..., Any]) -> None:
    """For each instruction of the function: the patched code is the original after
    the prologue (same instructions, arguments, positions, jump targets moved with
    them, handlers moved with them), and its prologue jumps to that instruction."""
    code = func.__code__
    original = instructions(code)
    resume_at = next(n for n, i in enumerate(original) if i.opname == "RESUME")
    nlocals = len(code.co_varnames)
    for index in range(resume_at + 1, len(original)):
        patched = patching.patch_resume_code(code, index, original[index].offset,
                                             (True,) * nlocals, (Slot(),), line=5,
                                             after_call=False)
        ins = instructions(patched)
        moved = ins[resume_at + 3:]  # RESUME, LOAD_FAST .stack0, JUMP_FORWARD
        shift = (len(patched.co_code) - len(code.co_code))
        assert ins[resume_at + 2].opname == "JUMP_FORWARD"
        first = original[index].offset  # the instruction's first EXTENDED_ARG
        while first and code.co_code[first - 2] == dis.EXTENDED_ARG:
            first -= 2
        assert ins[resume_at + 2].argval == first + shift
        assert [(i.opname, i.arg if i.opname not in dis.hasjrel else i.argval - shift,
                 i.positions) for i in moved] == \
            [(i.opname, i.arg if i.opname not in dis.hasjrel else i.argval, i.positions)
             for i in original[resume_at + 1:]]
        assert [(e.start - shift, e.end - shift, e.target - shift, e.depth, e.lasti)
                for e in dis._parse_exception_table(patched)] == [  # type: ignore[attr-defined]
            tuple(e) for e in dis._parse_exception_table(code)]  # type: ignore[attr-defined]
        assert patched.co_varnames == (*code.co_varnames, ".stack0")
        assert patched.co_argcount == nlocals + 1
        assert (patched.co_name, patched.co_qualname, patched.co_filename,
                patched.co_firstlineno) == (code.co_name, code.co_qualname,
                                            code.co_filename, code.co_firstlineno)


def index_of(func: Callable[..., Any], opname: str, nth: int = 0) -> int:
    ins = instructions(func.__code__)
    return [n for n, i in enumerate(ins) if i.opname == opname][nth]


def test_late_overflow_resumes_at_the_addition_like_the_assembled_code() -> None:
    at = index_of(late_overflow, "BINARY_OP")
    patched, assembled = both(late_overflow, at, (True,) * 4, (Slot(), Slot(), Slot()))
    start, n = 2**63 - 10, 12
    s = start + sum(range(n - 3))  # i = n - 3 being added; the iterator holds the rest
    got = run(patched, late_overflow, start, n, s, n - 3, iter(range(n - 2, n)), s, n - 3)
    assert got == run(assembled, late_overflow, start, n, s, n - 3, iter(range(n - 2, n)),
                      s, n - 3)
    assert got[0] == late_overflow(start, n)
    first = late_overflow.__code__.co_firstlineno
    assert got[1] == [first + 3, first + 2, first + 3, first + 2, first + 3, first + 2,
                      first + 4]  # the addition, two more iterations, the return


def test_a_handler_of_a_moved_instruction_still_catches() -> None:
    at = index_of(guarded, "BINARY_OP")  # a // b, inside the try
    patched, assembled = both(guarded, at, (True, True, True), (Slot(), Slot()))
    got = run(patched, guarded, 1, 0, 0, 1, 0)
    assert got == run(assembled, guarded, 1, 0, 0, 1, 0)
    assert got[0] == 0  # the handler's r = -1, then r + 1


def test_an_unbound_local_stays_unbound() -> None:
    at = next(n for n, i in enumerate(instructions(maybe.__code__))  # return x
              if i.opname.startswith("LOAD_FAST") and i.argval == "x")
    patched, assembled = both(maybe, at, (True, False), ())
    got = run(patched, maybe, False, "placeholder")
    assert got == run(assembled, maybe, False)
    assert got[0] == (UnboundLocalError,
                      "cannot access local variable 'x' where it is not associated with a value")
    assert len(got[2]) == 1 and "return x" in got[2][0]


def test_long_jumps_take_extended_args() -> None:
    at = index_of(long_body, "BINARY_OP", -1)  # t -= i, far from the start
    patched, assembled = both(long_body, at, (True,) * 3, (Slot(), Slot(), Slot()))
    assert any(i.opname == "EXTENDED_ARG" for i in list(dis.get_instructions(patched))[:6])
    got = run(patched, long_body, 5, 10, 3, iter(range(4, 5)), 10, 3)
    assert got == run(assembled, long_body, 5, 10, 3, iter(range(4, 5)), 10, 3)
    assert got[0] == 10 - 3 + 5 * 45 * 4 - 4  # this iteration's subtraction, the last one


def test_after_a_call_the_callee_raises_at_the_call_with_its_caret() -> None:
    """Resuming after a call whose callee's finished frame raises: the traceback shows
    the caller at its call, carets and all, then the callee, as CPython's does."""
    # a call's frame state names its PRECALL (3.11: CALL reads the shape it sets)
    at = index_of(calls, "PRECALL" if compat.PY_VERSION < (3, 12) else "CALL")
    patched, assembled = both(calls, at, (True, True, False), (), after_call=True)
    got = run(patched, calls, 1, 2, None, callee)
    assert got == run(assembled, calls, 1, 2, callee)
    try:
        calls(1)
    except ZeroDivisionError as exc:
        want = frames_of(exc)
    assert got[0] == (ZeroDivisionError, "integer division or modulo by zero")
    assert got[2] == want and len(want) == 2 and "^^^^^^^^" in want[0]


def test_resume_functions_of_real_sites_patch_without_assembling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime's resume functions come from the patching (the assembler is never
    called) and resume exactly: a late overflow's big int, counted as one resume."""
    import autotier
    from tests.runtime.helpers import make_hot, promote

    def no_assembling(*args: object, **kwargs: object) -> object:
        raise AssertionError("assembled with the bytecode package")

    monkeypatch.setattr(resume, "build_resume_code", no_assembling)
    func = types.FunctionType(late_overflow.__code__.replace(), {"range": range},
                              "late_overflow")
    hot = make_hot(func, deopt=autotier.BlacklistPolicy())
    promote(hot, 0, 100)
    assert autotier.stats(hot).state == "compiled"
    start = 2**63 - 1 - sum(range(99))
    assert hot(start, 100) == late_overflow(start, 100)
    assert autotier.stats(hot).resumes == 1


def test_a_build_makes_few_calls_compared_with_assembling() -> None:
    """Not a timing: the patching makes a bounded number of Python and C calls per
    build (no walk from the function's start when the offset is known), a tenth of
    what assembling the same code makes (counted with sys.setprofile)."""
    code = long_body.__code__
    at = index_of(long_body, "BINARY_OP", -1)
    counted: list[str] = []

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event in ("call", "c_call"):
            counted.append(event)

    def count(build: Callable[[], object]) -> int:
        counted.clear()
        sys.setprofile(profile)
        try:
            build()
        finally:
            sys.setprofile(None)
        return len(counted)

    offset = instructions(code)[at].offset
    patched = count(lambda: patching.patch_resume_code(
        code, at, offset, (True,) * 3, (Slot(), Slot(), Slot()),
        line=3, after_call=False))
    assembled = count(lambda: resume.build_resume_code(
        code.replace(), at, ("n", "t", "i"), (Slot(), Slot(), Slot()), line=3,
        after_call=False))
    assert 0 < patched < 150 and patched * 10 < assembled


def _compiled_late_overflow() -> Any:
    import autotier
    from tests.runtime.helpers import make_hot, promote

    func = types.FunctionType(late_overflow.__code__.replace(), {"range": range},
                              "late_overflow")
    hot = make_hot(func, deopt=autotier.BlacklistPolicy())
    promote(hot, 0, 100)
    assert autotier.stats(hot).state == "compiled"
    return hot


def test_the_compile_prepares_resume_functions_so_a_first_deopt_builds_none(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker builds each site's likely resume function after the compile: the
    first deopt (a late overflow) patches nothing on its own path and still answers
    the exact big int."""
    import autotier

    hot = _compiled_late_overflow()

    def no_building(*args: object, **kwargs: object) -> object:
        raise AssertionError("built on the deoptimising call's path")

    monkeypatch.setattr(patching, "patch_resume_code", no_building)
    start = 2**63 - 1 - sum(range(99))
    assert hot(start, 100) == late_overflow(start, 100)
    assert autotier.stats(hot).resumes == 1


def test_past_the_budget_resume_functions_are_built_on_the_first_deopt(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import autotier

    monkeypatch.setattr(resume, "PREPARE_BUDGET", 0)
    built: list[int] = []
    real = patching.patch_resume_code

    def counting(*args: Any, **kwargs: Any) -> types.CodeType:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(patching, "patch_resume_code", counting)
    hot = _compiled_late_overflow()
    assert built == []
    start = 2**63 - 1 - sum(range(99))
    assert hot(start, 100) == late_overflow(start, 100)
    assert built == [1] and autotier.stats(hot).resumes == 1
