"""Deep recursion through a hot function never crashes (issue 7, points 6 and 11).

Every call of a hot function is a C call (the trampoline or the entry vectorcalls the
function, which starts an eval loop), so a recursion through one uses C stack where the
undecorated recursion, under CPython 3.11, uses none.  Compared with the undecorated
function at the default and a raised recursion limit, on the main thread and in
threads with small stacks, in every bead state: where CPython raises RecursionError so
does the hot function; where CPython returns, the hot function returns the same or
raises RecursionError; it never crashes (the children run in subprocesses).
A native body running out of frames is no failed speculation: the call finishes in the
interpreter and the code stays.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import autotier
from autotier.dispatch import cstack

from . import deep_child

ROOT = Path(__file__).resolve().parents[2]
# depths the hot function must reach, not only survive: (limit, stack KiB) -> depth.
# At the default limit on the main thread it must give CPython's answer at every depth.
MUST_REACH = {(deep_child.RAISED_LIMIT, 0): 5000, (deep_child.RAISED_LIMIT, 4096): 5000,
              (deep_child.DEFAULT_LIMIT, 256): 300, (deep_child.RAISED_LIMIT, 256): 300,
              (deep_child.RAISED_LIMIT, 64): 40, (deep_child.DEFAULT_LIMIT, 32): 10}


def _child(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run deep_child with ``args``, or ``code`` with ``args`` as its argv."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = (["-c", code, *args] if code is not None
               else ["-m", "tests.integration.deep_child", *args])
    return subprocess.run([sys.executable, *command], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600, check=False)


def _lines(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    done = [tuple(d["config"]) for d in lines if "config" in d]
    assert proc.returncode == 0, (f"child died ({proc.returncode}) after configurations "
                                  f"{done}:\n{proc.stderr[-3000:]}")
    return lines


@pytest.mark.parametrize("state", deep_child.STATES)
def test_deep_recursion_raises_recursion_error_never_crashes(state: str) -> None:
    lines = _lines(_child(state))
    assert [tuple(d["config"]) for d in lines] == [c[:2] for c in deep_child.CONFIGS]
    for line in lines:
        config = tuple(line["config"])
        assert line["stats"]["state"] == state, line["stats"]
        for depth, plain, hot in line["runs"]:
            where = f"{state} {config} depth {depth}: plain {plain}, hot {hot}"
            if plain[0] == "RecursionError":
                assert hot[0] == "RecursionError", where
            elif hot[0] == "RecursionError":  # the C stack check refused the call
                assert config in MUST_REACH and depth > MUST_REACH[config], where
                assert hot[1] == cstack.MESSAGE, where
            else:
                assert hot == plain, where


def test_c_stack_check_reaches_most_of_the_stack() -> None:
    """On a 4 MiB thread stack, the hot recursion reaches at least half the depth the
    C stack holds at the measured ~430 bytes a level (it crashed at 100% before), and
    a compiled function's interpreted levels go as deep as an interpreted function's
    (the slow path's call of the function is the counting wrapper's tail call: 8,052
    levels against 9,544 while the wrapper's frame stayed under each level)."""
    reached = {}
    for state in ("interpreted", "compiled"):
        proc = _child(state, "--deepest", str(deep_child.RAISED_LIMIT), "4096", "20000")
        plain, reached[state] = _lines(proc)[0]["deepest"]
        assert plain == 20000
        assert 4 * 1024 * 1024 // 2 // 430 <= reached[state] < plain, reached
    assert reached["compiled"] >= 0.98 * reached["interpreted"], reached


DEEP_CALLS = """
import json
import sys
import autotier
from autotier.dispatch.build import trampoline_address

sys.setrecursionlimit(15000)

@autotier.hot(threshold=3, backend="llvm")
def down(n):
    if n <= 0:
        return 0
    return down(n - 1) + 1

for i in range(5):
    down(i)
assert autotier.wait_idle(120)
entry = down._vectorcall
assert entry != trampoline_address(), autotier.stats(down)
results = [down(12000) for _ in range(5)]
try:
    down(20000)
    refused = None
except RecursionError as exc:
    refused = str(exc)
row = autotier.stats(down)
print(json.dumps({"results": results, "refused": refused, "stats": row.to_dict(),
                  "same_entry": down._vectorcall == entry, "small": down(10)}))
"""


def test_running_out_of_native_frames_is_not_a_bailout() -> None:
    """down(12000) under setrecursionlimit(15000) is deeper than the native frame cap:
    the interpreter finishes those calls, the code stays installed (it used to be
    blacklisted after four 'recursion' bailouts), no bailout is counted."""
    proc = _child(code=textwrap.dedent(DEEP_CALLS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    row = got["stats"]
    assert got["results"] == [12000] * 5
    assert got["refused"] == "maximum recursion depth exceeded"  # CPython's, for 20000
    assert (row["state"], row["bailouts"], row["reason"]) == ("compiled", 0, None), got
    assert row["deep_calls"] > 0 and got["same_entry"] and got["small"] == 10, got


def _slot_owners() -> set[int]:
    """The thread pointers holding a slot of the C stack check's table."""
    n = cstack.SLOT_WORDS
    words = (ctypes.c_uint64 * (n * cstack.SLOTS)).from_address(cstack.table_address())
    return {words[n * i] for i in range(cstack.SLOTS)} - {0}


def test_an_ending_thread_gives_its_floor_up() -> None:
    """A thread's floor must not outlive it: a later thread may reuse its control block
    with another stack.  The pthread key's destructor clears its slot."""
    hot = autotier.hot(threshold=10**9)(deep_child.plain)
    assert hot(3) == 3
    before = _slot_owners()
    filled: list[set[int]] = []

    def work() -> None:
        assert hot(3) == 3
        filled.append(_slot_owners() - before)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert len(filled) == 1 and len(filled[0]) == 1, filled  # it took one slot
    # join() returns when the thread's Python state is gone; the C library runs key
    # destructors a moment later, on the ending thread
    deadline = time.monotonic() + 60
    while filled[0] & _slot_owners() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not filled[0] & _slot_owners()


THREAD_CHURN = """
import sys, threading
from tests.integration import deep_child

sys.setrecursionlimit(deep_child.RAISED_LIMIT)
hot, plain = deep_child.hot_in(sys.argv[1])
outcomes = []
for round in range(int(sys.argv[2])):
    for kib in (8192, 256, 64, 2048, 32, 1024):
        deep_child.in_thread(kib, lambda: outcomes.append(deep_child.outcome(hot, 30_000)))
print(sorted({o[0] for o in outcomes}))
"""


@pytest.mark.parametrize("state", ["interpreted", "compiled"])
def test_threads_of_changing_stack_sizes_never_crash(state: str) -> None:
    """Threads come and go with stacks from 32 KiB to 8 MiB (control blocks and stacks
    are reused by the C library): each deep recursion raises RecursionError, none
    crashes.  AUTOTIER_STRESS=1 runs 50 rounds instead of 2."""
    rounds = "50" if os.environ.get("AUTOTIER_STRESS") else "2"
    proc = _child(state, rounds, code=THREAD_CHURN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["['RecursionError']"], proc.stdout


SWITCHED_STACK = """
import ctypes, json, mmap, sys
from llvmlite import ir
from autotier.dispatch import cstack
from autotier.jit import engine
from tests.integration import deep_child

hot, plain = deep_child.hot_in(sys.argv[1])
module = ir.Module("sp")
fn = ir.Function(module, ir.FunctionType(ir.IntType(64), []), "read_sp")
b = ir.IRBuilder(fn.append_basic_block())
b.ret(cstack.emit_stack_pointer(b, module))
read_sp = ctypes.CFUNCTYPE(ctypes.c_uint64)(engine.compile_ir(str(module), ["read_sp"])
                                            .addresses["read_sp"])
libc = ctypes.CDLL(None)
here, there = ctypes.create_string_buffer(2048), ctypes.create_string_buffer(2048)
STACK = 1 << 20  # mapped below the thread's stack, as every mapping is
stack = mmap.mmap(-1, STACK, prot=mmap.PROT_READ | mmap.PROT_WRITE)
low = ctypes.addressof(ctypes.c_char.from_buffer(stack))
seen = []

@ctypes.CFUNCTYPE(None)
def on_the_other_stack():
    seen.append(low <= read_sp() < low + STACK)
    seen.append(deep_child.outcome(hot, 50))

# ucontext_t on x86-64 glibc: uc_link at 8, uc_stack.ss_sp at 16, .ss_size at 32
assert libc.getcontext(there) == 0
ctypes.c_void_p.from_buffer(there, 8).value = ctypes.addressof(here)
ctypes.c_void_p.from_buffer(there, 16).value = low
ctypes.c_size_t.from_buffer(there, 32).value = STACK
libc.makecontext(there, on_the_other_stack, 0)
assert libc.swapcontext(here, there) == 0
print(json.dumps(seen))
"""


@pytest.mark.parametrize("state", ["interpreted", "compiled"])
def test_code_on_another_stack_is_not_refused(state: str) -> None:
    """Python run on a stack that is not the thread's (swapcontext onto a mapping below
    it, as coroutine libraries do) is not checked: it used to raise RecursionError on
    the first call, its stack pointer being below the thread's floor."""
    proc = _child(state, code=SWITCHED_STACK)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == [True, ["ok", 50]]


SLOT_TAKEN = """
import ctypes, json, sys
from autotier.dispatch import cstack
from tests.integration import deep_child

sys.setrecursionlimit(deep_child.RAISED_LIMIT)
hot, plain = deep_child.hot_in(sys.argv[1])
seen = []

def work():
    seen.append(deep_child.outcome(hot, 100))
    # every slot lost (as to threads whose slots collide): the check takes this
    # thread's floor from its pthread key again
    ctypes.memset(cstack.table_address(), 0, cstack.SLOTS * cstack.SLOT_WORDS * 8)
    seen.append(deep_child.outcome(hot, 100))
    seen.append(deep_child.outcome(hot, 5000)[0])

deep_child.in_thread(256, work)
print(json.dumps(seen))
"""


def test_a_lost_slot_is_refilled_from_the_thread_key() -> None:
    proc = _child("compiled", code=SLOT_TAKEN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == [["ok", 100], ["ok", 100], "RecursionError"]
