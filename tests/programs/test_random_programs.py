"""Random straight-line and branching programs, compiled and compared with CPython.

Program ``n`` of a run is :mod:`tests.programs.progen`'s program for seed ``n`` (so
every run checks the same distinct programs, and a failure names the program's source);
hypothesis draws each program's arguments, edge values included, and shrinks them.
Each program is compiled by the llvm frontend for its argument types and run natively
on several inputs; the harness of ``tests/frontend`` fails on any result that is not
CPython's (value and type, floats bit for bit).  A bailout is accepted (an intermediate
int64 overflow is legitimate), but the run must answer most calls natively, and at
at least 900 distinct programs are checked per run (950 by default since 2026-12-03,
1,150 before; with the 444 sequence programs of ``test_random_sequences.py`` and the
600 array programs of ``test_random_arrays.py``, whose sites are forced the same way,
over 2,000 random programs per run;
``AUTOTIER_PROGRAMS`` runs more).  Every third program is compiled with
ints held as i128 (as a bead recompiles after an int64 overflow) instead of i64.

Precise deoptimisation (issue 9): every bailout's frames are resumed in the interpreter
and must give CPython's answer, and every deopt site of each program is forced to
deoptimise (``force_every_site``; the programs compile with forcing checks) with an
input that reaches it: the drawn inputs, then up to SEARCH_INPUTS more from the edge
values while sites remain that CPython executed on none of them.  Which input reaches a
site is read from CPython (the instructions its call executes); where that input's
native call returns, native code must reach the site too.  So every site at an
instruction CPython can be made to execute is forced, and the rest are reported: sites
behind a bailout native code takes first (an int64 overflow before them), and sites at
instructions CPython executed on no input tried (most are dead code: after an
expression that always raises, in a branch on a constant, in a ``range(0)`` loop).

The run is split between this process and SHARDS - 1 child processes (one per core,
at most two by default): each checks its own range of program numbers, with its own
compiles, and the counts are added up.  Compiling is most of the cost (the frontend
and LLVM, one compile per program) and the shares are independent, so two idle cores
can take up to half the time off (not measured: the machine was never idle); nothing
checked changes.
"""

from __future__ import annotations

import math
import os
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotier.abi import Status
from autotier.frontend import Unsupported
from tests.frontend.harness import (
    check,
    force_every_site,
    forget,
)
from tests.programs.progen import program
from tests.programs.shards import Tally, run_sharded

# AUTOTIER_PROGRAMS=20000 (say) runs that many examples instead, for a longer search
PROGRAMS = int(os.environ.get("AUTOTIER_PROGRAMS", "950"))
CALLS_PER_PROGRAM = 4
# more inputs (edge values, seeded by the program), in batches, while some site is at an
# instruction CPython executed on none of the inputs so far
SEARCH_INPUTS = 16
SEARCH_BATCH = 8
EDGES: dict[str, list[Any]] = {
    "int": [0, 1, -1, 2, 3, -3, 7, -13, 100, -100, 2**31, 2**53 + 1, 2**62, 2**63 - 1,
            -(2**63)],
    "float": [0.0, -0.0, 0.5, 1.5, -2.25, 3.0, 1e300, -1e300, 1e-300, 5e-324, math.inf,
              -math.inf, math.nan],
    "bool": [True, False],
}
VALUES = {
    "int": st.one_of(st.integers(-100, 100), st.sampled_from(
        [0, 1, -1, 2**31, 2**53 + 1, 2**62, 2**63 - 1, -(2**63)]),
        st.integers(-(2**63), 2**63 - 1)),
    "float": st.one_of(st.floats(-1e6, 1e6), st.sampled_from(
        [0.0, -0.0, 0.5, 1e300, -1e300, 5e-324, math.inf, -math.inf, math.nan]),
        st.floats(allow_nan=True, allow_infinity=True)),
    "bool": st.booleans(),
}


def edge_input(rng: random.Random, signature: tuple[str, ...]) -> tuple[Any, ...]:
    def one(t: str) -> Any:
        if t == "bool" or rng.random() < 0.6:
            return rng.choice(EDGES[t])
        return rng.randint(-100, 100) if t == "int" else rng.uniform(-1e3, 1e3)

    return tuple(one(t) for t in signature)


def run(tally: Tally, data: Any) -> None:
    # Draw the same values whatever the program (hypothesis requires it): for each
    # call and each parameter one int, one float and one bool; the signature picks.
    drawn = [[{t: data.draw(VALUES[t]) for t in VALUES} for _ in range(3)]
             for _ in range(CALLS_PER_PROGRAM)]
    number = tally.first + tally.examples
    tally.examples += 1
    rng = random.Random(number)
    source, signature = program(rng.randrange)
    filename = f"<progen {len(tally.sources)}>"
    tally.sources.add(source)
    opt = 0 if len(tally.sources) % 4 == 0 else 2
    # every third program is also compiled as after an overflow: ints held as i128
    int_bits = 128 if len(tally.sources) % 3 == 1 else 64
    ns: dict[str, Any] = {"math": math}
    exec(compile(source, filename, "exec"), ns)
    func = ns["f"]
    inputs = [tuple(values[t] for values, t in zip(per_param, signature, strict=True))
              for per_param in drawn]
    args: tuple[Any, ...] = ()
    try:
        for args in inputs:
            status = check(func, *args, may_bail=True, opt=opt, int_bits=int_bits,
                           force=True)
            tally.calls += 1
            tally.native += status is Status.OK
        # every site some input reaches deoptimises there, and resumes to CPython's answer
        coverage = force_every_site(func, inputs, opt=opt, int_bits=int_bits)
        search = random.Random(-number)
        for batch in range(0, SEARCH_INPUTS, SEARCH_BATCH):
            if not coverage.unexecuted:
                break
            tally.searched += batch == 0
            args = ()
            more = [edge_input(search, signature) for _ in range(SEARCH_BATCH)]
            force_every_site(func, more, opt=opt, int_bits=int_bits, coverage=coverage)
    except Unsupported as exc:
        tally.declined.append(f"{exc}\n{source}")
        return
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nprogram:\n{source}\nargs: {args!r}") from None
    finally:
        forget(func)  # never called again: let its lowering go
    tally.count(coverage)


def check_programs(first: int, count: int) -> Tally:
    """Check programs ``first`` .. ``first + count - 1`` (hypothesis drawing the
    inputs; it may ask for a few more examples than ``count``)."""
    tally = Tally(first=first)

    @settings(max_examples=count, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one_program(data: Any) -> None:
        run(tally, data)

    one_program()
    return tally


@pytest.mark.timeout(max(1200, PROGRAMS // 5))  # 701 s measured at load 6-13 on 2 cores
def test_random_programs_match_cpython(tmp_path):
    tally = run_sharded(check_programs, PROGRAMS, tmp_path, timeout=max(1200, PROGRAMS // 5))
    print(tally.summary())
    assert len(tally.sources) >= min(900, PROGRAMS - 50), len(tally.sources)
    assert not tally.declined, f"{len(tally.declined)} declined, e.g.\n{tally.declined[0]}"
    assert tally.native >= tally.calls // 2, (tally.native, tally.calls)
    # a floor against a vacuous run (offsets that never match, checks compiled out)
    assert tally.forced >= tally.sites // 2, (tally.forced, tally.sites)
