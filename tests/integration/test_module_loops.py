"""Calls from module-level code: a loop at module level rebinds its variable (a global)
on every iteration, which changes the module dict's version tag. The entry then
rechecks the bindings the compiled code assumed, natively, and keeps the call native;
only rebinding one of those deoptimises."""

from __future__ import annotations

import autotier
from tests.runtime.helpers import interpreted_frames

SCRIPT = """
import autotier

K = 5

@autotier.hot(threshold=2, backend="llvm")
def f(n):
    return n * K

for i in range(3):
    f(1)
autotier.wait_idle(60)
"""

LOOP = """
total = 0
for i in range(1000):
    total += f(i)
"""


def test_a_module_level_loop_calls_natively():
    ns: dict[str, object] = {"__name__": "module_loop_test"}
    exec(SCRIPT, ns)
    hf = ns["f"]
    assert autotier.stats(hf).state == "compiled"
    with interpreted_frames(hf) as frames:
        exec(LOOP, ns)
    assert ns["total"] == 5 * sum(range(1000))
    assert frames[0] == 0  # i and total changed the module's dict on every iteration
    assert autotier.stats(hf).bailouts == 0
    ns["K"] = 7  # the binding the code assumed: deoptimise, recompile, exact
    with interpreted_frames(hf) as frames:
        exec(LOOP, ns)
    assert ns["total"] == 7 * sum(range(1000))
    assert frames[0] >= 1
    assert autotier.stats(hf).bailouts >= 1
    autotier.invalidate(hf)
