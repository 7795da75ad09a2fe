"""Interpreter exit while a long compile runs: never a crash, never a wait of more than
about a second, and everything a user expects of exit still happens (their atexit
handlers, Python's and C's buffered output, the exit status).

Each scenario runs in a subprocess with a large generated function, promoted just
before exit; the process exits while the compile is in the frontend or inside LLVM.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

STATEMENTS = 600

SCRIPT = textwrap.dedent("""
    import atexit, ctypes, sys, threading
    atexit.register(lambda: print("user atexit ran", flush=True))  # runs after autotier's
    import autotier
    from autotier.jit import engine, lifecycle

    STAGE, EXIT_WAIT = sys.argv[1], sys.argv[2]
    if EXIT_WAIT:
        lifecycle.EXIT_WAIT = float(EXIT_WAIT)
    inside = threading.Event()
    real_optimised, real_compile = engine._optimised, engine._compile_locked

    def optimised(*args, **kwargs):  # inside the LLVM lock, LLVM about to run
        if armed:
            inside.set()
        return real_optimised(*args, **kwargs)

    def compile_locked(*args, **kwargs):
        result = real_compile(*args, **kwargs)
        if armed:
            print("the compile finished", flush=True)
        return result

    engine._optimised, engine._compile_locked = optimised, compile_locked
    armed = False
    lines = ["def big(a, b):", "    x = a", "    y = b"]
    for i in range(STATEMENTS):
        if i % 3 == 0:
            lines.append(f"    x = x + y * {i % 7 + 1}")
        elif i % 3 == 1:
            lines.append("    y = (y ^ x) & 0xffff")
        else:
            lines.append(f"    if x > {i * 13}:\\n        x = x - {i}")
    lines.append("    return x + y")
    ns = {}
    exec("\\n".join(lines), ns)
    big = autotier.hot(ns["big"], threshold=2)
    armed = True
    expected = ns["big"](3, 4)
    for _ in range(3):
        assert big(3, 4) == expected
    if STAGE == "llvm":
        assert inside.wait(120), "the compile never reached LLVM"
    assert autotier.stats(big).state in ("queued", "compiling")
    libc = ctypes.CDLL(None)
    libc.printf(b"C stdio line\\n")  # buffered (stdout is a pipe) until exit flushes it
    print("exiting", flush=True)
    sys.exit(3)
""").replace("STATEMENTS", str(STATEMENTS))


def run_exit(stage: str, exit_wait: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    return subprocess.run([sys.executable, "-c", SCRIPT, stage, exit_wait],
                          capture_output=True, text=True, timeout=300, check=False,
                          env=env)


def assert_clean_exit(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 3, (proc.returncode, proc.stderr[-3000:])
    assert "Fatal" not in proc.stderr and "Assertion" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    out = proc.stdout.splitlines()
    assert "exiting" in out and "user atexit ran" in out, proc.stdout
    assert "C stdio line" in out, proc.stdout


@pytest.mark.parametrize("run", range(2))
def test_exit_while_llvm_compiles_never_crashes(run: int) -> None:
    """The exit starts just as LLVM starts optimising the function: exit waits at most
    a second for LLVM, then ends the process once Python has finalised, before LLVM's
    static destructors (which crashed the compile under them)."""
    assert_clean_exit(run_exit("llvm"))


def test_exit_abandons_a_compile_inside_llvm() -> None:
    """With a short wait, the compile is certainly still inside LLVM when Python has
    finalised: the process ends there, it does not wait for the compile."""
    proc = run_exit("llvm", "0.05")
    assert_clean_exit(proc)
    assert "the compile finished" not in proc.stdout.splitlines()


def test_exit_while_the_frontend_runs_abandons_the_compile() -> None:
    """The exit starts while the compile is in the frontend (Python): LLVM is free, so
    exit takes it and keeps it; the compile never gets to LLVM."""
    proc = run_exit("frontend")
    assert_clean_exit(proc)
    assert "the compile finished" not in proc.stdout.splitlines()
