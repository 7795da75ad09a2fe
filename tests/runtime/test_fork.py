"""``os.fork()`` while compiles are queued or running: the child has a working broker,
no inherited held lock, and every job that was queued or running in the parent
compiles again there (at the function's next call).  Children run with timeouts, so
a hang fails the test instead of hanging it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import autotier
from autotier.broker import Broker
from autotier.jit import engine, lifecycle
from tests.runtime import fork_child
from tests.runtime.fork_child import assert_compiles, poly, report
from tests.runtime.helpers import (
    Gate,
    Recorded,
    bead_of,
    busy,
    make_hot,
    promote,
    settle,
    state,
)

CHILD_TIMEOUT = 120.0


def in_forked_child(check: Callable[[], None]) -> None:
    """Run ``check`` in a child made by a bare ``os.fork()``; fail with its traceback,
    or if it does not end within CHILD_TIMEOUT."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and never return into pytest
        code = 1
        try:
            os.close(read)
            message = report(check)
            os.write(write, (message or "").encode())
            code = 0 if message is None else 1
        finally:
            os._exit(code)
    os.close(write)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.02)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, message or f"child status {status}"


def held_and_queued() -> tuple[Gate, Any, Any]:
    """A function whose compile is running (held at the gate on the broker thread)
    and one queued behind it."""
    gate = Gate()

    def p1(x):
        return 3 * x * x + 2 * x + 1

    def p2(x):
        return x * x - 5

    held = make_hot(p1, before_compile=gate)
    queued = make_hot(p2)
    for _ in range(3):
        held(2)
    gate.wait_entered()
    for _ in range(3):
        queued(2)
    assert (state(held), state(queued)) == ("compiling", "queued")
    return gate, held, queued


@pytest.fixture
def gate_opened_after() -> Iterator[list[Gate]]:
    gates: list[Gate] = []
    yield gates
    for gate in gates:
        gate.open()
    settle()


def test_bare_fork_during_a_held_compile(gate_opened_after: list[Gate]) -> None:
    gate, held, queued = held_and_queued()
    gate_opened_after.append(gate)

    def child() -> None:
        # the parent's compile and queue did not survive the fork: both functions are
        # back to interpreted and compile again at their next call
        assert (state(held), state(queued)) == ("interpreted", "interpreted")
        assert autotier.wait_idle(5) is True  # nothing is pending here
        gate.open()  # the child's own compiles pass the (copied) gate
        assert_compiles(held, 4, poly(4))
        assert_compiles(queued, 4, 11)
        fork_child.check_new_function()

    in_forked_child(child)
    gate.open()
    settle()  # the parent's own compiles finish as if nothing happened
    assert (state(held), state(queued)) == ("compiled", "compiled")
    assert held(5) == poly(5) and queued(5) == 20


def test_fork_gives_the_child_fresh_lanes_and_cancels_both_lanes_jobs() -> None:
    """Jobs queued in either lane at the fork are cancelled in the child, whose broker
    then runs new jobs, urgent first; the parent's run as if nothing happened."""
    broker = Broker()
    log: list[str] = []
    release = busy(broker, log)
    for job in (Recorded("a", log), Recorded("u", log, urgent=True), Recorded("b", log)):
        assert broker.submit(job)

    def child() -> None:
        assert sorted(log) == ["cancel:a", "cancel:b", "cancel:u"]
        assert broker.pending == 0 and broker.queued() == (0, 0)
        del log[:]
        hold = busy(broker, log)  # a new thread: the parent's is not in the child
        assert broker.submit(Recorded("c", log))
        assert broker.submit(Recorded("v", log, urgent=True))
        assert broker.queued() == (1, 1)
        hold.set()
        assert broker.wait_idle(CHILD_TIMEOUT / 2)
        assert log == ["blocker", "v", "c"]

    try:
        in_forked_child(child)
    finally:
        release.set()
    assert broker.wait_idle(60)
    assert log == ["blocker", "u", "a", "b"]
    broker.shutdown()


def test_fork_while_llvm_runs_waits_for_it() -> None:
    """A fork while a real compile is inside LLVM waits (at most FORK_WAIT) for LLVM to
    finish, so the child's LLVM is in a consistent state and compiles."""
    lines = ["def big(a):", "    x = a", "    y = 1"]
    for i in range(300):
        lines.append(f"    x = x + y * {i % 7 + 1}" if i % 2 else "    y = (y ^ x) & 0xffff")
    lines.append("    return x + y")
    ns: dict[str, Any] = {}
    exec("\n".join(lines), ns)
    inside = threading.Event()
    real = engine._optimised

    def optimised(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        return real(*args, **kwargs)

    big = make_hot(ns["big"])
    engine._optimised = optimised  # type: ignore[assignment]
    try:
        for _ in range(3):
            big(7)
        assert inside.wait(120)
        in_forked_child(lambda: (assert_compiles(big, 7, ns["big"](7)),
                                 fork_child.check_new_function()) and None)
    finally:
        engine._optimised = real  # type: ignore[assignment]
    settle()
    assert state(big) == "compiled" and big(9) == ns["big"](9)


def test_fork_while_llvm_stays_busy_refuses_llvm_in_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LLVM still held by another thread after FORK_WAIT: the child does not touch the
    inherited LLVM state (it would hang or crash); its compiles fail with the reason,
    its answers stay exact, code compiled before the fork keeps running natively."""
    compiled_before = make_hot(lambda x: x + 1)
    promote(compiled_before, 1)
    assert state(compiled_before) == "compiled"
    monkeypatch.setattr(lifecycle, "FORK_WAIT", 0.2)
    holding, release = threading.Event(), threading.Event()

    def hold_llvm() -> None:
        with engine.compile_lock():
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold_llvm, daemon=True)
    holder.start()
    assert holding.wait(10)

    def child() -> None:
        def sq(x):
            return x * x

        hf = make_hot(sq)
        for i in range(10):
            assert hf(i) == i * i
        assert autotier.wait_idle(fork_child.WAIT) is True
        row = autotier.stats(hf)
        assert (row.state, row.reason) == ("failed", lifecycle.UNAVAILABLE_AFTER_FORK)
        assert hf(12) == 144
        assert compiled_before(41) == 42 and state(compiled_before) == "compiled"

    try:
        in_forked_child(child)
    finally:
        release.set()
        holder.join(10)
    # the parent is unaffected
    def cube(x):
        return x * x * x

    hf = make_hot(cube)
    assert_compiles(hf, 3, 27)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_multiprocessing_children_compile(method: str, gate_opened_after: list[Gate]) -> None:
    """Children of each start method get a working runtime, started while a compile
    is held and another queued in the parent."""
    gate, held, queued = held_and_queued()
    gate_opened_after.append(gate)
    ctx = multiprocessing.get_context(method)
    parent_end, child_end = ctx.Pipe(duplex=False)
    if method == "fork":
        def target(conn: Any) -> None:
            def check() -> None:
                assert (state(held), state(queued)) == ("interpreted", "interpreted")
                gate.open()
                assert_compiles(held, 3, poly(3))
                assert_compiles(queued, 3, 4)
                fork_child.check_new_function()

            conn.send(report(check))
            conn.close()

        process = ctx.Process(target=target, args=(child_end,))
    else:
        process = ctx.Process(target=fork_child.fresh_process, args=(child_end,))
    process.start()
    child_end.close()
    try:
        assert parent_end.poll(CHILD_TIMEOUT), f"the {method} child hung"
        message = parent_end.recv()
    finally:
        process.join(CHILD_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join()
    assert message is None, message
    assert process.exitcode == 0
    assert bead_of(held).state.value == "compiling"  # the parent's compile is still held


IMPORT_SCRIPT = textwrap.dedent("""
    import importlib.abc, importlib.machinery, os, sys, threading, time
    from tests.runtime.fork_child import check_new_function, report
    from tests.runtime.helpers import make_hot
    import autotier

    LAZY = "autotier.frontend.lowering"  # imported by the broker at the first compile
    assert LAZY not in sys.modules
    importing = threading.Event()

    class SlowLoader(importlib.abc.Loader):  # the real loader, a little slower
        def __init__(self, real):
            self.real = real

        def create_module(self, spec):
            return self.real.create_module(spec)

        def exec_module(self, module):
            importing.set()
            time.sleep(0.5)
            self.real.exec_module(module)

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != LAZY:
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            spec.loader = SlowLoader(spec.loader)
            return spec

    sys.meta_path.insert(0, Finder())

    def sq(x):
        return x * x

    hf = make_hot(sq)
    for _ in range(3):
        hf(3)
    assert importing.wait(60)
    pid = os.fork()  # while the broker thread runs the module's body
    if pid == 0:
        def check():
            for i in range(5):
                assert hf(i) == i * i
            assert autotier.wait_idle(60) is True
            assert autotier.stats(hf).state == "compiled", autotier.stats(hf)
            check_new_function()
        message = report(check)
        print(message or "child ok", flush=True)
        os._exit(0 if message is None else 1)
    _, status = os.waitpid(pid, 0)
    print("child status", os.waitstatus_to_exitcode(status), flush=True)
""")


def test_fork_during_a_lazy_import_on_the_broker_thread() -> None:
    """The first compile imports the frontend on the broker thread; a fork in the
    middle of that import waits for it (the child would have the module half-made for
    good: every compile there failed with ImportError)."""
    proc = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT], capture_output=True,
                          text=True, timeout=CHILD_TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "child ok" in proc.stdout and "child status 0" in proc.stdout, proc.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="fork semantics checked on Linux")
def test_fork_hooks_leave_no_lock_held_in_the_parent() -> None:
    """After many forks, every lock the hooks take is free again in the parent."""
    for _ in range(3):
        in_forked_child(lambda: None)
    assert engine._LOCK.acquire(timeout=1)
    engine._LOCK.release()
    hf = make_hot(lambda x: x - 1)
    assert_compiles(hf, 10, 9)
