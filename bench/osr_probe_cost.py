"""What a loop-header probe costs the interpreted loop (issue 12's design), in instructions.

    python bench/osr_probe_cost.py                      # every loop kernel, every probe
    python bench/osr_probe_cost.py int_loop,horner      # some kernels

On-stack replacement needs a probe at each loop header of the interpreted function
(docs/architecture.md, "On-stack replacement"); its cost is paid by every interpreted
iteration, so it is measured before anything is built on it.  Each candidate probe is
spliced (with the ``bytecode`` package) at every back-edge target of a kernel of
``autotier/bench_kernels.py``; the kernel runs under ``valgrind --tool=callgrind``
twice, with ``n`` and ``2n`` iterations, and the difference over ``n`` is the
instructions one iteration costs (the machine is shared: instruction counts repeat,
seconds do not).  The probes never fire here (their slow path is past a billion
iterations), which is what an iteration costs while a loop counts.

- ``flag``: ``LOAD_CONST <list>; POP_JUMP_FORWARD_IF_TRUE`` (two instructions: a
  list's truth is its length), which can say "native code is ready" but cannot count;
- ``countdown``: ``LOAD_FAST <hidden>; FOR_ITER <slow>; POP_TOP; POP_TOP`` over an
  ``itertools.repeat(None, k)`` the prologue stores in a hidden local: it counts back
  edges, and its slow path runs once every ``k`` iterations;
- ``counter``: an int local incremented and compared (eight instructions);
- ``built``: the probe ``autotier.osr`` builds (the countdown, its slow block inline
  behind a ``JUMP_FORWARD``, the slow path counting every 1,024 back edges), through
  the hot object's trampoline;
- ``unprobed``: the hot object without probes (``loop_threshold=None``): ``built``'s
  baseline, with autotier imported in the process as for ``built`` (``none`` runs
  without it, and the allocator's state alone moved float_loop's count by 13%).

    python bench/osr_probe_cost.py int_loop,horner unprobed,built   # some probes

Measured on 2026-12-03 (CPython 3.11.7), instructions per iteration over the
uninstrumented loop (int_loop, float_loop, sum_cubes, math_calls, horner: 808 to 1,428
instructions an iteration): flag +0.7% to +7.4%, countdown +3.5% to +7.1%, counter
+24.5% to +40%.  Again with one hash seed (801 to 1,405): flag +4.1% to +7.1%,
countdown +4.9% to +8.6%, counter +24% to +40.6%; built: int_loop +14.1%, sum_cubes
+9.5%, math_calls +8.1%, float_loop -12.8%, horner -14.0% (the whole copy's count moves
by up to 40 instructions an iteration with the process's layout: see
docs/architecture.md, "On-stack replacement").  The kernels are loaded
from their file, not imported through ``autotier``, so the counts are the loop's.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bytecode import BinaryOp, Bytecode, Compare, Instr, Label

KERNELS_FILE = Path(__file__).resolve().parent.parent / "autotier" / "bench_kernels.py"
PROBES = ("none", "flag", "countdown", "counter", "built", "unprobed")
NEVER = 10**9  # the probes' slow path is past this many iterations
FLAG: list[Any] = []  # empty: the flag probe never jumps

# kernel -> its arguments for n iterations of its loop (each iteration the same work)
ARGS: dict[str, Callable[[int], tuple[Any, ...]]] = {
    "int_loop": lambda n: (n,),
    "float_loop": lambda n: (n,),
    "sum_cubes": lambda n: (n,),
    "math_calls": lambda n: (n,),
    "horner": lambda n: (1.0000001, n),
}


def _kernels() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("bench_kernels", KERNELS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _probe(kind: str, slow: Label) -> list[Instr]:
    if kind == "flag":
        return [Instr("LOAD_CONST", FLAG), Instr("POP_JUMP_FORWARD_IF_TRUE", slow)]
    if kind == "countdown":
        return [Instr("LOAD_FAST", "__probe"), Instr("FOR_ITER", slow),
                Instr("POP_TOP"), Instr("POP_TOP")]
    if kind == "counter":
        return [Instr("LOAD_FAST", "__probe"), Instr("LOAD_CONST", 1),
                Instr("BINARY_OP", BinaryOp.ADD), Instr("COPY", 1),
                Instr("STORE_FAST", "__probe"), Instr("LOAD_CONST", NEVER),
                Instr("COMPARE_OP", Compare.GT), Instr("POP_JUMP_FORWARD_IF_TRUE", slow)]
    raise ValueError(kind)


def _prologue(kind: str) -> list[Instr]:
    if kind == "countdown":
        return [Instr("PUSH_NULL"), Instr("LOAD_CONST", itertools.repeat),
                Instr("LOAD_CONST", None), Instr("LOAD_CONST", NEVER),
                Instr("PRECALL", 2), Instr("CALL", 2), Instr("STORE_FAST", "__probe")]
    if kind == "counter":
        return [Instr("LOAD_CONST", 0), Instr("STORE_FAST", "__probe")]
    return []


def instrumented(func: types.FunctionType, kind: str) -> Any:
    """``func`` with ``kind``'s probe at each back-edge target (the slow path returns None).

    ``built``: the hot object of ``autotier.osr`` as built (the trampoline forwards to
    the copy with probes; every 1,024 back edges its slow path counts, under the
    bead's lock; the loop threshold is out of reach, so it never compiles)."""
    if kind == "none":
        return func
    if kind in ("built", "unprobed"):
        import autotier

        loops = 10**15 if kind == "built" else None
        policy = autotier.ThresholdPolicy(threshold=NEVER, loop_threshold=loops)
        hf = autotier.hot(func, policy=policy)
        assert (hf._run is not func) == (kind == "built"), "autotier.osr's probes"
        return hf
    code = Bytecode.from_code(func.__code__)
    headers = {i.arg for i in code if isinstance(i, Instr) and "BACKWARD" in i.name}
    slow = Label()
    body: list[Any] = []
    for item in code:
        body.append(item)
        if isinstance(item, Instr) and item.name == "RESUME":
            body += _prologue(kind)
        if isinstance(item, Label) and item in headers:
            body += _probe(kind, slow)
    body += [slow, Instr("LOAD_CONST", None), Instr("RETURN_VALUE")]
    code.clear()
    code.extend(body)
    return types.FunctionType(code.to_code(), func.__globals__, func.__name__)


def _run_one(kernel: str, kind: str, n: int) -> None:
    instrumented(getattr(_kernels(), kernel), kind)(*ARGS[kernel](n))


def _check(kernel: str) -> None:
    plain = getattr(_kernels(), kernel)
    for kind in PROBES:
        assert instrumented(plain, kind)(*ARGS[kernel](100)) == plain(*ARGS[kernel](100)), (
            f"the {kind} probe changed {kernel}'s answer")


def _instructions(kernel: str, kind: str, n: int) -> int:
    # one hash seed for every run: with random ones, the same configuration's count
    # per iteration moved by up to 10% between runs (dict layouts differ)
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--one", kernel, kind, str(n)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")})
    found = re.search(r"Collected : (\d+)", out.stderr)
    assert found, out.stderr[-2000:]
    return int(found.group(1))


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        _run_one(argv[1], argv[2], int(argv[3]))
        return
    kernels = argv[0].split(",") if argv else list(ARGS)
    probes = tuple(argv[1].split(",")) if len(argv) > 1 else PROBES
    n = 20_000
    print(f"{'kernel':12} " + " ".join(f"{p:>16}" for p in probes))
    for kernel in kernels:
        _check(kernel)
        per = {p: (_instructions(kernel, p, 2 * n) - _instructions(kernel, p, n)) / n
               for p in probes}
        base = probes[0]
        cells = [f"{per[base]:7.0f} instr"] + [
            f"{per[p]:7.0f} ({per[p] / per[base] - 1:+.1%})" for p in probes[1:]]
        print(f"{kernel:12} " + " ".join(f"{c:>16}" for c in cells), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
