"""What the fork tests run in child processes: checks that the runtime works there.

Module-level, so multiprocessing's spawn and forkserver children can import it.
Each check raises AssertionError on a wrong answer; ``report`` turns that into a
message for the parent.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import autotier
from tests.runtime.helpers import interpreted_frames, make_hot, state

WAIT = 60.0  # seconds the child waits for its compiles (a hang fails, never hangs)


def poly(x: Any) -> Any:
    return 3 * x * x + 2 * x + 1


def assert_compiles(hf: Any, arg: Any, expected: Any) -> None:
    """Calls answer exactly (interpreted first), the compile finishes, code runs
    natively."""
    for _ in range(5):
        assert hf(arg) == expected
    assert autotier.wait_idle(WAIT) is True, f"wait_idle timed out: {autotier.stats()}"
    assert state(hf) == "compiled", autotier.stats(hf)
    with interpreted_frames(hf) as frames:
        assert hf(arg) == expected
    assert frames[0] == 0


def check_new_function() -> None:
    """A function made in this process compiles: no inherited lock blocks it."""

    def cubic(x: Any) -> Any:
        return x * x * x - x

    hf = make_hot(cubic)
    assert_compiles(hf, 7, 336)
    assert hf(2**62) == (2**62) ** 3 - 2**62  # past int64: the interpreter's answer
    assert assert_float(hf)


def assert_float(hf: Any) -> bool:
    assert hf(1.5) == 1.5**3 - 1.5
    assert autotier.wait_idle(WAIT) is True
    return True


def report(check: Callable[[], None]) -> str | None:
    """None when ``check`` passes, else its traceback."""
    try:
        check()
    except BaseException:
        return traceback.format_exc()
    return None


def fresh_process(conn: Any) -> None:
    """multiprocessing target (spawn, forkserver): the runtime works in a new process."""
    conn.send(report(check_new_function))
    conn.close()
