"""Deep recursion through a hot function in a chosen bead state, run as a child process
by ``test_deep_recursion.py`` (a C stack overflow must fail a test, not kill pytest).

``python -m tests.integration.deep_child STATE`` brings a recursive hot function to
STATE (interpreted, compiled, failed, blacklisted), then for every configuration of
:data:`CONFIGS` (a recursion limit, a thread stack size, depths) calls it and its
undecorated twin at each depth, and prints one JSON line per configuration:
``{"config": [...], "runs": [[depth, plain outcome, hot outcome], ...], "stats": ...}``
with outcomes ``["ok", value]`` or ``["RecursionError", message]``.  Lines are
flushed one by one, so a crash shows which configuration it came from.

``python -m tests.integration.deep_child STATE --deepest LIMIT STACK_KIB TOP`` prints
instead the deepest recursion (up to TOP) each of the two completes (a measurement).
"""

from __future__ import annotations

import builtins
import json
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import autotier

STATES = ("interpreted", "compiled", "failed", "blacklisted")
DEFAULT_LIMIT = 1000
RAISED_LIMIT = 10**6 + 100
# (recursion limit, thread stack in KiB (0: the main thread), depths)
CONFIGS: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (DEFAULT_LIMIT, 0, (100, 900, 2000)),
    (RAISED_LIMIT, 0, (5000, 100_000)),
    (DEFAULT_LIMIT, 256, (300, 900, 2000)),
    (RAISED_LIMIT, 256, (300, 900, 100_000)),
    (RAISED_LIMIT, 4096, (5000, 100_000)),
    (RAISED_LIMIT, 64, (40, 5000)),
    (DEFAULT_LIMIT, 32, (10, 900)),
)


def plain(n):
    if n < 0:
        return (n + 0.0) ** 0.5  # a complex result: natively, a bailout
    if n == 0:
        return 0
    return plain(n - 1) + 1


def plain_failing(n):
    if n < 0:
        return len([n])  # a list: the llvm backend declines the function
    if n == 0:
        return 0
    return plain_failing(n - 1) + 1


def hot_in(state: str) -> tuple[Any, Callable[[int], int]]:
    """A hot copy of the recursion, brought to ``state``, and its undecorated twin."""
    source = plain if state != "failed" else plain_failing
    namespace: dict[str, Any] = {"__builtins__": builtins}
    func = types.FunctionType(source.__code__, namespace, source.__name__)
    if state == "interpreted":
        hot = autotier.hot(threshold=10**9)(func)
    elif state == "blacklisted":
        hot = autotier.hot(threshold=3, backend="llvm", deopt=autotier.BlacklistPolicy())(func)
    else:
        hot = autotier.hot(threshold=3, backend="llvm")(func)
    namespace[source.__name__] = hot  # the recursive call goes through the hot object
    for i in range(5):
        hot(i)
    assert autotier.wait_idle(120)
    if state == "blacklisted":
        assert hot(-1) == plain(-1)
    got = autotier.stats(hot).state
    assert got == state, autotier.stats(hot)
    return hot, source


def outcome(f: Callable[[int], int], n: int) -> list[Any]:
    try:
        return ["ok", f(n)]
    except RecursionError as exc:
        return ["RecursionError", str(exc)]


def deepest(f: Callable[[int], int], top: int) -> int:
    """The largest n <= top for which f(n) returns."""
    lo, hi = 0, top
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if outcome(f, mid)[0] == "ok":
            lo = mid
        else:
            hi = mid - 1
    return lo


def in_thread(stack_kib: int, work: Callable[[], None]) -> None:
    """Run ``work`` on this thread (0) or on a thread with a ``stack_kib`` KiB stack."""
    if not stack_kib:
        work()
        return
    old = threading.stack_size(stack_kib * 1024)
    try:
        worker = threading.Thread(target=work)
        worker.start()
    finally:
        threading.stack_size(old)
    worker.join()


def main(argv: list[str]) -> None:
    state = argv[0]
    hot, source = hot_in(state)
    if argv[1:2] == ["--deepest"]:
        limit, stack_kib, top = (int(a) for a in argv[2:5])
        sys.setrecursionlimit(limit)
        found: list[int] = []
        in_thread(stack_kib, lambda: found.extend((deepest(source, top), deepest(hot, top))))
        print(json.dumps({"deepest": found, "stats": autotier.stats(hot).to_dict()}))
        return
    for limit, stack_kib, depths in CONFIGS:
        sys.setrecursionlimit(limit)
        runs: list[list[Any]] = []
        in_thread(stack_kib, lambda: runs.extend([d, outcome(source, d), outcome(hot, d)]
                                                 for d in depths))  # noqa: B023
        print(json.dumps({"config": [limit, stack_kib], "runs": runs,
                          "stats": autotier.stats(hot).to_dict()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
