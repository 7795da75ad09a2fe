"""Threads calling hot functions while they are promoted, bail out, recompile, are
reloaded and invalidated: every call gets CPython's answer, nothing raises.

The storm runs in a fresh interpreter: its ``reload_all()`` reloads every live hot
function of the process, and inside a full test run that is every earlier test's
(134 s of a 20-minute run, against 34 s alone).  Four threads by default;
``AUTOTIER_STRESS=1`` runs eight (52 s alone, on 2 shared cores)."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import autotier
from autotier import api
from tests.runtime.helpers import make_hot, settle

THREADS = 8 if os.environ.get("AUTOTIER_STRESS") == "1" else 4
MIN_CALLS = 2000
RELOADS = 2  # each waits for compiles starved by eight threads: 50-100 s apiece under load


def poly(a, b):
    return a * a + 3 * b


def fdist(x, y):
    return math.sqrt(x * x + y * y)


def divmod_sum(a, b):
    return a // b + a % b


def inputs(rng):
    """Mostly int64-friendly ints, some floats, overflows, bools and zero divisors."""
    pick = rng.random()
    if pick < 0.7:
        return rng.randint(-1000, 1000), rng.randint(-1000, 1000)
    if pick < 0.8:
        return rng.uniform(-10, 10), rng.uniform(-10, 10)
    if pick < 0.9:
        return 2**40 + rng.randint(0, 9), rng.randint(1, 9)
    return rng.choice([True, False, 0]), rng.randint(-2, 2)


def expected(func, args):
    try:
        return ("ok", func(*args))
    except Exception as exc:  # noqa: BLE001 - the test compares exception types
        return ("raise", type(exc))


def wait_compiled(hot, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(autotier.stats(h).state == "compiled" for h in hot):
            return
        time.sleep(0.005)
    raise AssertionError(f"not compiled under load:\n{autotier.stats()}")


def test_threads_during_promotion_bailouts_and_reloads():
    root = Path(__file__).resolve().parents[2]
    code = "from tests.runtime.test_threads import main; main()"
    proc = subprocess.run([sys.executable, "-c", code],
                          cwd=root, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("storm ok"), (
        proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])


def main() -> None:
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # switch threads often
    try:
        _run()
    finally:
        sys.setswitchinterval(switch)
    print("storm ok")


def _run():
    # Earlier tests' reload_all() may have queued every live hot function of the
    # process: let those compiles finish first, so this test's wait for its own
    # compiles measures this test's load only.
    assert api.BROKER.wait_idle(300), "the broker did not finish earlier tests' jobs"
    plain = [poly, fdist, divmod_sum]
    deopts = [autotier.AlwaysRecompilePolicy(), autotier.ExponentialBackoffPolicy(base_pause=50),
              autotier.ThresholdDeoptPolicy()]
    hot = [make_hot(f, threshold=50 + 25 * i, deopt=d, backend="auto")
           for i, (f, d) in enumerate(zip(plain, deopts, strict=True))]
    errors: list[str] = []
    start = threading.Barrier(THREADS + 1)
    done = threading.Event()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for n in range(10**9):
            if done.is_set() and n >= MIN_CALLS:
                break
            index = rng.randrange(len(plain))
            args = inputs(rng)
            if index == 1:
                args = (float(args[0]), abs(args[1]))
            want = expected(plain[index], args)
            try:
                got = ("ok", hot[index](*args))
            except Exception as exc:  # noqa: BLE001 - compared with CPython's below
                got = ("raise", type(exc))
            same = (got[0] == want[0] and type(got[1]) is type(want[1])
                    and (got[1] == want[1] or got[1] != got[1]))
            if not same:
                errors.append(f"{plain[index].__name__}{args}: {got} != {want}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    start.wait()
    # Promotion happens under load; then each reload_all() waits for the recompiles
    # to land (and bail out again) before the next.
    for reload in range(RELOADS):
        wait_compiled(hot[:2])
        seen_bailouts = autotier.stats(hot[0]).bailouts
        deadline = time.monotonic() + 20
        while autotier.stats(hot[0]).bailouts == seen_bailouts and time.monotonic() < deadline:
            time.sleep(0.005)
        autotier.reload_all()
        if reload == RELOADS // 2:
            autotier.invalidate(hot[2])
    done.set()
    for t in threads:
        t.join()
    settle()
    assert not errors, errors[:10]
    assert autotier.stats(hot[0]).bailouts > 0, autotier.stats()
    assert all(autotier.stats(h).compile_ms > 0 for h in hot[:2]), autotier.stats()
    states = {autotier.stats(h).state for h in hot[:2]}
    assert states <= {"compiled", "interpreted", "queued", "compiling", "blacklisted", "failed"}
    assert autotier.stats(hot[2]).state == "invalid"
    # The functions still answer correctly after the storm, natively where compiled.
    for h, f in zip(hot, plain, strict=True):
        assert h(3, 4) == f(3, 4)
