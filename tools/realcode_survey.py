"""How much real code autotier compiles: hot functions of pyperformance, the Benchmarks
Game and the Julia microbenchmarks (``tools/realcode_functions.py``), each decorated
with ``@autotier.hot(threshold=2)``, called past its threshold, compiled (or declined)
for real, and counted by ``autotier.stats()``'s state and reason.

    PYTHONPATH=$PWD python tools/realcode_survey.py            # the table and the tally
    PYTHONPATH=$PWD python tools/realcode_survey.py --json out.json

Each function's answer after the compile is checked against the undecorated
function's on fresh arguments (value and exact type, floats bit for bit; exit status 1
on a mismatch).  A reason is grouped with others of its kind: the line, the function and
the names in it are left out ("global 'Vector' is a type" and "global 'Point' is a
type" are one reason: a global bound to a class).
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
import types
from collections import Counter
from collections.abc import Callable
from typing import Any

import autotier
from tools.realcode_functions import FUNCTIONS

CALLS = 4  # past the threshold of 2
SETTLE_ROUNDS = 6  # calls after the compile, until one neither bails out nor recompiles
BUILTIN_TYPES = {"complex", "dict", "str", "set", "NoneType", "Random", "ndarray", "bytes"}


def picture(value: Any) -> Any:
    """A comparable picture: the exact type, floats bit for bit, containers inside."""
    t = type(value)
    if t is float:
        return ("float", struct.pack("<d", value))
    if t is complex:
        return ("complex", struct.pack("<dd", value.real, value.imag))
    if t in (list, tuple):
        return (t.__name__, tuple(picture(v) for v in value))
    if t is dict:
        return ("dict", tuple((k, picture(v)) for k, v in value.items()))
    if hasattr(value, "__dict__") or hasattr(t, "__slots__"):
        state = dict(getattr(value, "__dict__", {}))
        state.update({s: getattr(value, s, None) for s in getattr(t, "__slots__", ())})
        return (t.__qualname__, tuple((k, picture(v)) for k, v in state.items()))
    return (t.__name__, value)


def outcome(func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    try:
        value = func(*args)
    except Exception as exc:  # compared with CPython's
        return ("raise", type(exc).__name__, str(exc))
    return picture(value), tuple(picture(a) for a in args)


def category(reason: str | None) -> str:
    """What blocks a function, without the names, lines and the numba half."""
    if not reason:
        return "-"
    first = reason.split("; numba:")[0]
    first = re.sub(r"^(llvm declined: |frontend: )", "", first)
    arg = re.match(r"arguments cannot be compiled: (.*?); native code takes", first)
    if arg:
        kinds = sorted({"a user class instance" if t not in BUILTIN_TYPES else t
                        for t in re.findall(r" is an? (\w+)", arg.group(1))})
        return "argument: " + ", ".join(kinds)
    first = re.sub(r" at line \d+| \(in [\w.<>]+\)", "", first)
    first = re.sub(r"^[\w.]+: (?=[A-Za-z])", "", first)  # "f: closures ...", "OPNAME: ..."
    first = re.sub(r"'[^']*'", "'…'", first)
    first = re.sub(r"\.\w+ of", ". of", first)
    first = re.sub(r"global '…' is an? (?!type)\w+", "global '…' is an instance", first)
    return first.split(": only ")[0].strip()


def survey() -> list[dict[str, Any]]:
    rows = []
    for suite, func, make in FUNCTIONS:
        assert isinstance(func, types.FunctionType)
        namespace = dict(func.__globals__)  # recursion goes through the hot copy
        copy = types.FunctionType(func.__code__, namespace, func.__name__,
                                  func.__defaults__, func.__closure__)
        copy.__qualname__ = func.__qualname__
        hot = autotier.hot(threshold=2, backend="auto")(copy)
        namespace[func.__name__] = hot
        for _ in range(CALLS):
            outcome(hot, make())
        for _ in range(SETTLE_ROUNDS):  # a bailout may ask for a recompile: let it
            autotier.wait_idle(300)
            before = autotier.stats(hot)
            got, expected = outcome(hot, make()), outcome(func, make())
            st = autotier.stats(hot)
            if st.state not in ("queued", "compiling") and st.bailouts == before.bailouts:
                break
        autotier.wait_idle(300)
        st = autotier.stats(hot)
        rows.append({"suite": suite, "function": func.__qualname__, "state": st.state,
                     "backend": st.backend, "reason": st.reason,
                     "category": category(st.reason or st.last_bailout)
                     if st.state != "compiled" else "-",
                     "callees": list(st.callees), "match": got == expected})
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'suite':16} {'function':36} {'state':11} {'backend':7} check  blocked by"]
    for r in rows:
        lines.append(f"{r['suite']:16} {r['function']:36} {r['state']:11} "
                     f"{r['backend'] or '-':7} {'ok' if r['match'] else 'MISMATCH':5}  "
                     f"{r['category'][:80]}")
    compiled = sum(r["state"] == "compiled" for r in rows)
    lines += ["", f"autotier compiled {compiled} of {len(rows)}", "",
              "what blocks the others (functions):"]
    tally = Counter(r["category"] for r in rows if r["state"] != "compiled")
    lines += [f"  {n:3}  {why}" for why, n in tally.most_common()]
    bad = [r["function"] for r in rows if not r["match"]]
    lines.append("" if not bad else f"\nMISMATCH against CPython: {', '.join(bad)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", metavar="PATH", help="write every row as JSON")
    ns = p.parse_args(argv)
    rows = survey()
    print(render(rows))
    if ns.json:
        with open(ns.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0 if all(r["match"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
