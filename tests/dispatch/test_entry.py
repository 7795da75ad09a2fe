"""The native call path: the HotFunction object, the trampoline and guarded entries.

These drive the native code directly with hand-written bodies, so they test the
entry's guards, unboxing and boxing independently of any frontend.
"""

from __future__ import annotations

import ctypes
import math
import struct
import threading
from fractions import Fraction

import pytest

from autotier import compat
from autotier.abi import RESULT_IR as RESULT
from autotier.abi import Kind, Status
from autotier.dispatch import build
from autotier.dispatch import guards as guards_mod
from autotier.dispatch.entry import Bail, Specialisation
from autotier.dispatch.hotobject import NEVER, HotFunction
from autotier.jit import engine
from tests.window import measure


def body_ir(name: str, params: str, compute: str, kind: Kind, slot: int, value: str) -> str:
    """A body that computes ``value`` into out slot ``slot`` (1: ival, 2: fval)."""
    return f"""
define i32 @{name}({params}, {RESULT}* %out, i64 %budget, i64* %record) {{
  {compute}
  %k = getelementptr {RESULT}, {RESULT}* %out, i32 0, i32 0
  store i64 {int(kind)}, i64* %k
  %v = getelementptr {RESULT}, {RESULT}* %out, i32 0, i32 {slot}
  store {"double" if slot == 2 else "i64"} {value}, {"double" if slot == 2 else "i64"}* %v
  ret i32 0
}}"""


class Recorder:
    """A slow path that records (code, args) and lets the call go on; keyword
    arguments, which only the trigger's bail passes, are recorded in ``kwargs``."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, tuple]] = []
        self.kwargs: list[dict[str, object]] = []

    def __call__(self, code: int, *args: object, **kwargs: object) -> None:
        self.seen.append((code, args))
        self.kwargs.append(kwargs)

    @property
    def last(self) -> tuple[int, tuple]:
        return self.seen[-1]


def make(func) -> HotFunction:
    hf = object.__new__(HotFunction)
    hf._func = func
    hf._run = func  # what the trampoline forwards to
    hf._slow = Recorder()
    hf._trigger = NEVER
    hf._vectorcall = build.trampoline_address()
    return hf


def interpreted(hf: HotFunction, *args, code: Bail) -> object:
    """Call ``hf``; assert the slow path saw ``code`` (or nothing for ARGS, FOREIGN)."""
    before = len(hf._slow.seen)
    result = hf(*args)
    if code in (Bail.ARGS, Bail.FOREIGN):
        assert len(hf._slow.seen) == before
    else:
        assert hf._slow.seen[before:] == [(code, args)], hf._slow.seen[before:]
    return result


_NATIVE = []  # these entries stay installed in the tests' objects: never free their code


def compile_entry(specs, bodies, bindings=()):
    built = build.build_entry("t", len(specs[0].kinds), specs, list(bindings), bodies)
    _NATIVE.append(built.native)
    return built.entry, built.guards


@pytest.fixture(scope="module")
def add_int():
    name = engine.unique_name("add_int")
    ir = body_ir(name, "i64 %a, i64 %b", "%s = add i64 %a, %b", Kind.INT, 1, "%s")
    return Specialisation((Kind.INT, Kind.INT), body=name), ir


@pytest.fixture(scope="module")
def add_float():
    name = engine.unique_name("add_float")
    ir = body_ir(name, "double %a, double %b", "%s = fadd double %a, %b", Kind.FLOAT, 2, "%s")
    return Specialisation((Kind.FLOAT, Kind.FLOAT), body=name), ir


def test_hotfunction_type_is_a_vectorcall_method_descriptor():
    flags = compat.type_flags(HotFunction)
    assert flags & compat.TPFLAGS_HAVE_VECTORCALL
    assert flags & compat.TPFLAGS_METHOD_DESCRIPTOR
    tp_vectorcall_offset = ctypes.c_ssize_t.from_address(id(HotFunction) + 56).value
    assert tp_vectorcall_offset == 16


def test_trampoline_counts_and_forwards():
    def f(a, b=10, *, c=100):
        return a + b + c

    hf = make(f)
    assert hf(1) == 111
    assert hf(1, 2, c=3) == 6
    assert hf(a=5) == 115
    with pytest.raises(TypeError):
        hf()
    assert hf._calls == 4


def test_trampoline_calls_slow_path_at_trigger():
    hf = make(lambda a, k=0: a + k)
    hf._trigger = 3
    assert hf(1) == 1
    assert hf(2) == 2
    assert hf._slow.seen == []
    assert hf(3, k=4) == 7
    assert hf._slow.seen == [(Bail.HOT, (3,))]
    assert hf._slow.kwargs == [{"k": 4}]  # the promotion binds keywords too


def test_slow_path_exception_propagates():
    hf = make(lambda a: a)

    def broken(code, *args):
        raise KeyError("bookkeeping")

    hf._slow = broken
    hf._trigger = 1
    with pytest.raises(KeyError):
        hf(1)


def test_entry_unboxes_and_boxes_ints(add_int):
    spec, ir = add_int
    hf = make(lambda a, b: a + b)
    hf._vectorcall, _ = compile_entry([spec], [ir])
    values = [0, 1, -1, 5, 256, 257, -5, -6, 2**30 - 1, 2**30, -(2**30), 2**59, -(2**60) + 7,
              2**62, -(2**62), 2**63 - 2, -(2**63) + 1]
    for a in values:
        for b in (0, 1, -1):
            r = hf(a, b)
            if -(2**63) <= a + b < 2**63:
                assert r == a + b and type(r) is int, (a, b, r)
    assert hf(3, 4) is 7  # small ints come from CPython's cache  # noqa: F632
    assert hf._slow.seen == []
    # past int64: no compile could take them, straight to the function
    assert interpreted(hf, 2**63, 0, code=Bail.FOREIGN) == 2**63
    assert interpreted(hf, -(2**63) - 1, 0, code=Bail.FOREIGN) == -(2**63) - 1
    assert interpreted(hf, 10**40, 2.5, code=Bail.FOREIGN) == 10**40 + 2.5
    assert interpreted(hf, 1, 2.5, code=Bail.TYPES) == 3.5  # a new kind: tell the bead


def test_entry_type_guards_are_exact(add_int):
    spec, ir = add_int
    hf = make(lambda a, b: a + b)
    hf._vectorcall, _ = compile_entry([spec], [ir])

    class MyInt(int):
        pass

    for args in [(True, 1), (1, False), (1.0, 2), (1, 2.0 + 0j)]:  # other kinds: a new
        assert interpreted(hf, *args, code=Bail.TYPES) == args[0] + args[1]  # specialisation?
    for args in [(MyInt(2), 1), ("a", "b"), (1, Fraction(1, 3))]:  # never native: the function
        assert interpreted(hf, *args, code=Bail.FOREIGN) == args[0] + args[1]
    with pytest.raises(TypeError):
        interpreted(hf, None, 1, code=Bail.FOREIGN)
    assert hf(1, b=2) == 3
    with pytest.raises(TypeError):
        hf(1, 2, 3)
    assert [c for c, _ in hf._slow.seen].count(Bail.ARGS) == 0


def test_entry_classifies_every_argument_in_order():
    """No specialisation matched: the arguments are looked at first to last (one loop
    in the entry); the first that native code never takes (or an int past 64 bits)
    sends the call to the function, an instance of a class statement's class first
    asks the bead, and only arguments all of kinds native code takes ask for a new
    specialisation."""
    name = engine.unique_name("add4")
    ir = body_ir(name, "i64 %a, i64 %b, i64 %c, i64 %d",
                 "%ab = add i64 %a, %b\n  %cd = add i64 %c, %d\n  %s = add i64 %ab, %cd",
                 Kind.INT, 1, "%s")
    spec = Specialisation((Kind.INT,) * 4, body=name)

    class Point:
        def __add__(self, other):
            return 100 + other

        __radd__ = __add__

    def add4(a, b, c, d):
        return a + b + c + d

    hf = make(add4)
    hf._vectorcall, _ = compile_entry([spec], [ir])
    assert hf(1, 2, 3, 4) == 10 and hf._slow.seen == []
    p = Point()
    assert interpreted(hf, 1, 2, 3, 2**70, code=Bail.FOREIGN) == 6 + 2**70  # the last
    assert interpreted(hf, 1, 2, 3, 0.5, code=Bail.TYPES) == 6.5
    assert interpreted(hf, 1, 2, 3, True, code=Bail.TYPES) == 7
    with pytest.raises(TypeError):  # None is a kind native code takes: the bead is asked
        hf(1, 2, 3, None)
    assert hf._slow.last == (Bail.TYPES, (1, 2, 3, None))
    half = Fraction(1, 2)
    assert interpreted(hf, 1, p, 3, half, code=Bail.TYPES) == 100 + 1 + 3 + half
    assert interpreted(hf, 1, half, 3, p, code=Bail.FOREIGN) == 100 + 1 + half + 3
    assert interpreted(hf, 2**64, p, 3, 4, code=Bail.FOREIGN) == 100 + 2**64 + 3 + 4
    assert interpreted(hf, 1.5, 2, 3, 2**64, code=Bail.FOREIGN) == 6.5 + 2**64


def test_entry_tries_specialisations_in_order(add_int, add_float):
    hf = make(lambda a, b: a + b)
    hf._vectorcall, _ = compile_entry([add_int[0], add_float[0]], [add_int[1], add_float[1]])
    assert hf(2, 3) == 5
    r = hf(0.5, -0.0)
    assert r == 0.5 and type(r) is float
    neg_zero = hf(-0.0, -0.0)
    assert struct.pack("<d", neg_zero) == struct.pack("<d", -0.0)
    assert math.isnan(hf(math.nan, 1.0))
    assert interpreted(hf, 1, 2.0, code=Bail.TYPES) == 3.0


def test_entry_bool_results_are_the_singletons():
    name = engine.unique_name("lt")
    ir = body_ir(name, "i64 %a, i64 %b", "%c = icmp slt i64 %a, %b\n  %s = zext i1 %c to i64",
                 Kind.BOOL, 1, "%s")
    hf = make(lambda a, b: a < b)
    hf._vectorcall, _ = compile_entry([Specialisation((Kind.INT, Kind.INT), body=name)], [ir])

    def calls():
        results = [hf(1, 2) for _ in range(1000)]
        assert all(r is True for r in results)
        assert hf(2, 1) is False
        del results

    w = measure(calls, True, trace=False, collect=False)
    assert abs(w.after[0] - w.before[0]) < 5


def test_entry_bails_with_the_body_status():
    name = engine.unique_name("bail")
    # a bailout that leaves no frames in the deopt record (autotier.abi): re-run
    ir = (f"define i32 @{name}(i64 %a, {RESULT}* %out, i64 %budget, i64* %record) {{\n"
          f"  %frames = getelementptr i64, i64* %record, i64 1\n"
          f"  store i64 0, i64* %frames\n"
          f"  ret i32 {Status.OVERFLOW}\n}}")
    hf = make(lambda a: -a)
    hf._vectorcall, _ = compile_entry([Specialisation((Kind.INT,), body=name)], [ir])
    assert hf(1) == -1
    code, args = hf._slow.last
    assert code == Bail.NATIVE + Status.OVERFLOW and args == (1,)
    assert Bail.status(code) is Status.OVERFLOW


def test_globals_guard_rechecks_bindings_natively(add_int):
    spec, ir = add_int
    namespace: dict[str, object] = {"K": 1, "other": 0}
    hf = make(lambda a, b: a + b)
    hf._vectorcall, guards = compile_entry(
        [spec], [ir], [(namespace, {"K": 1, "len": guards_mod.MISSING})])
    assert hf(1, 2) == 3
    assert hf._slow.seen == []
    for i in range(100):  # an unrelated global changes (a module-level loop): native
        namespace["other"] = i
        assert hf(1, 2) == 3
    assert hf._slow.seen == []
    assert guards[0].revalidate() == []  # and the entry took the new tag
    namespace["K"] = 2  # the assumed binding changes: stale, the slow path is told
    assert interpreted(hf, 1, 2, code=Bail.GLOBALS) == 3
    assert guards[0].revalidate() == ["K"]
    assert interpreted(hf, 1, 2, code=Bail.GLOBALS) == 3
    namespace["K"] = 1  # bound to the very object again: holds
    assert hf(1, 2) == 3 and guards[0].revalidate() == []
    seen = len(hf._slow.seen)
    del namespace["K"]
    assert interpreted(hf, 1, 2, code=Bail.GLOBALS) == 3
    namespace["K"] = 1
    assert hf(1, 2) == 3 and len(hf._slow.seen) == seen + 1
    namespace["len"] = len  # a name assumed absent (a builtin not shadowed) appears
    assert interpreted(hf, 1, 2, code=Bail.GLOBALS) == 3
    assert guards[0].revalidate() == ["len"]


def test_entry_calls_a_python_target_for_numba_style_backends():
    calls = []

    def target(*args):
        calls.append(args)
        return sum(args)

    hf = make(lambda a, b: a + b)
    spec = Specialisation((Kind.INT, Kind.FLOAT), target=id(target))
    hf._vectorcall, _ = compile_entry([spec], [])
    assert hf(1, 2.5) == 3.5
    assert calls == [(1, 2.5)]
    assert interpreted(hf, 1, 2, code=Bail.TYPES) == 3


def test_an_exception_of_a_python_target_reruns_the_call_in_the_interpreter():
    """numba's exceptions are not CPython's: the interpreter answers, raising its own."""

    def target(a, b):
        raise ZeroDivisionError("division by zero")  # numba's message

    def func(a, b):
        return a / b

    hf = make(func)
    spec = Specialisation((Kind.FLOAT, Kind.FLOAT), target=id(target))
    hf._vectorcall, _ = compile_entry([spec], [])
    with pytest.raises(ZeroDivisionError, match="^float division by zero$"):
        interpreted(hf, 1.0, 0.0, code=Bail.NATIVE + Status.VALUE)
    hf._func = lambda a, b: a + b  # the interpreter's answer, not an exception
    assert interpreted(hf, 1.0, 0.0, code=Bail.NATIVE + Status.VALUE) == 1.0


def test_a_base_exception_of_a_python_target_propagates():
    def target(a):
        raise KeyboardInterrupt

    hf = make(lambda a: a)
    spec = Specialisation((Kind.INT,), target=id(target))
    hf._vectorcall, _ = compile_entry([spec], [])
    with pytest.raises(KeyboardInterrupt):
        hf(1)
    assert hf._slow.seen == []


def test_fast_and_slow_paths_do_not_leak(add_int):
    spec, ir = add_int
    hf = make(lambda a, b: a + b)
    hf._slow = lambda code, *args: None
    hf._vectorcall, _ = compile_entry([spec], [ir])
    big = 10**6
    x = 1.5
    for _ in range(1000):
        hf(big, big)
        hf(x, x)

    def calls():
        for _ in range(100_000):
            hf(big, big)
            hf(x, x)

    w = measure(calls, big, x, trace=False)
    assert w.after == w.before


def _function_asm(asm: str, name: str) -> list[str]:
    """The instructions of function ``name`` in ``asm`` (LLVM's assembly text)."""
    lines = asm.splitlines()
    start = lines.index(f"{name}:")
    body = []
    for line in lines[start + 1:]:
        if line.startswith("\t.size") or line.startswith("\t.cfi_endproc"):
            break
        text = line.strip()
        if text and not text.startswith((".", "#")) and not text.endswith(":"):
            body.append(text)
    return body


def test_the_thread_state_is_read_without_a_call() -> None:
    """On 3.11 the entries load the GIL holder's thread state from _PyRuntime (the
    word compat found): it is the calling thread's, on every thread."""
    address = compat.tstate_current_address()
    if compat.PY_VERSION != (3, 11):
        assert address == 0
        return
    get = ctypes.pythonapi.PyThreadState_Get
    get.restype = ctypes.c_void_p
    seen: list[tuple[int | None, int | None]] = []

    def read() -> None:
        seen.append((ctypes.c_void_p.from_address(address).value, get()))

    read()
    thread = threading.Thread(target=read)
    thread.start()
    thread.join(60)
    assert len(seen) == 2 and seen[0] != seen[1]
    assert all(word == tstate for word, tstate in seen)
    plan = build.entry_ir.EntryPlan("probe", 1, (), (), 0, None, ())
    assert "PyThreadState_Get" not in build.entry_ir.entry_ir(plan)
    assert "PyThreadState_Get" not in build.entry_ir.trampoline_ir("probe_t")


def test_the_trampoline_common_case_has_no_frame() -> None:
    """Counting and forwarding an interpreted call costs no frame: the function
    ``name`` saves no register and makes no call, it only tail-calls (the function,
    or the whole trampoline for anything else)."""
    name = engine.unique_name("tramp_probe")
    body = _function_asm(engine.assembly([build.entry_ir.trampoline_ir(name)]), name)
    assert not [i for i in body if i.startswith(("push", "call"))], body
    assert [i for i in body if i.startswith("jmp")], body
