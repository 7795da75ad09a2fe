"""A user's thread importing numba or numpy for the first time while the broker compiles.

numba's modules import each other in cycles; a broker thread that entered the cycle at
``numba.core.compiler_lock`` (to take numba's compiler lock: it compiles with the same
LLVM) while the user's thread was inside ``import numba`` got a half-initialised module
and an ImportError from importlib's deadlock avoidance, in either thread: the user's
``import numba`` failed (3 runs in 3 before the fix), or a compile did, and numpy half
imported by numba made the broker's array layout probe fail every compile of the
window. ``compat.imported`` and ``compat.finish_imports`` wait for the other thread's
import to end first. Each run is a fresh process (a first import happens once).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import autotier

    def make(k):
        src = (f"def work{k}(n):\\n    s = 0\\n    for i in range(n):\\n"
               f"        s += i * {k}\\n    return s\\n")
        ns = {}
        exec(src, ns)
        return autotier.hot(threshold=1)(ns[f"work{k}"])

    works = [make(k) for k in range(40)]
    for w in works:
        w(3)            # the broker compiles them one after another
    import numba        # numba's (and numpy's) first import, while the broker compiles
    print(numba.njit(lambda x: x + 1)(1))
    assert autotier.wait_idle(timeout=120)
    print(sum(w(10) for w in works), sorted({s.state for s in autotier.stats()}))
""")


def test_numba_imported_by_the_user_while_the_broker_compiles():
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", SCRIPT], check=False, capture_output=True,
                              text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.split("\n")[:2] == ["2", "35100 ['compiled']"], proc.stdout
        assert "ImportError" not in proc.stderr, proc.stderr[-3000:]
