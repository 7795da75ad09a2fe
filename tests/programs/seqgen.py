"""Random programs over lists and tuples (issue 10), as Python source.

A program is ``def f(xs, k)`` with an accumulator ``s``: a few statements drawn from
templates that load elements (in range or not, from the end too), iterate (``for x in
xs``, ``range(len(xs))``, ``enumerate``, ``zip``), store and append into ``xs``, call
``sum``/``min``/``max``, test ``k in xs`` and ``if xs``, then return ``s`` or a tuple.
Every choice comes from a seeded ``random.Random``, so program ``n`` is the same in
every run and a failure names its source.
"""

from __future__ import annotations

import random

OPS = ["+", "-", "*", "//"]
INDICES = ["0", "1", "-1", "2", "-2", "5", "k % 4"]

_TEMPLATES = [
    "for x in xs:\n    s = s {op} x",
    "for i in range(len(xs)):\n    s = s {op} xs[i]",
    "for i, x in enumerate(xs):\n    s = s {op} i * x",
    "for a, b in zip(xs, xs):\n    s = s {op} (a - b)",
    "if len(xs) > 2:\n    s = s {op} xs[{idx}]",
    "s = s {op} xs[{idx}]",
    "xs[{idx}] = s",
    "xs.append(k)",
    "xs.append(s)",
    "s = s {op} sum(xs)",
    "if xs:\n    s = max(s, max(xs))",
    "if xs:\n    s = min(s, min(xs))",
    "if int(k) in xs:\n    s = s + 1",
    "if xs:\n    s = s {op} xs[-1]",
    "for x in xs:\n    if x > s:\n        s = x\n    else:\n        s = s {op} 1",
    "n = len(xs)\nwhile n > 0:\n    n = n - 1\n    s = s {op} xs[n]",
    "xs[{idx}] += k",
    "for x in xs:\n    if x == k:\n        break\n    s = s {op} x",
    "for i in range(len(xs) - 1, -1, -1):\n    s = s {op} xs[i]",
    "if xs and xs[0] > k:\n    s = s {op} xs[0]",
    "for j, x in enumerate(xs, 1):\n    xs[j - 1] = x {op} j",
    "s = s {op} len(xs)",
    "for x in reversed(xs):\n    s = s {op} x",
    "ys = [x {op} k for x in xs if x != s]\ns = s {op} len(ys)",
    "ys = [x * i for i, x in enumerate(xs)]\nif ys:\n    s = s {op} ys[-1]",
]


def program(seed: int) -> str:
    """The source of program ``seed``: ``def f(xs, k)``."""
    rng = random.Random(seed)
    lines = ["def f(xs, k):", f"    s = {rng.choice(['0', '0.0', 'k', '1'])}"]
    for _ in range(rng.randint(1, 5)):
        stmt = rng.choice(_TEMPLATES).format(op=rng.choice(OPS), idx=rng.choice(INDICES))
        lines.extend("    " + line for line in stmt.splitlines())
    lines.append("    return " + rng.choice(["s", "s", "s, len(xs)", "len(xs)", "s, k"]))
    return "\n".join(lines) + "\n"


#: argument lists the programs are called with: each is copied for every call
SEQUENCES = [[], [1, 2, 3], [1.5, -0.0, 2.5], [2**62, 2**62, 3], [True, 3, 2.5],
             [float("nan"), 1.0], [0, -7, 11, 4], (1, 2, 3), (0.5, -1.5), ()]
KS = [0, 3, -2, 2**62, 1.5, -0.0, 1e300]
