"""Random straight-line and branching programs, compiled and compared with CPython.

Program ``n`` of a run is :mod:`tests.programs.progen`'s program for seed ``n`` (so
every run checks the same distinct programs, and a failure names the program's source);
hypothesis draws each program's arguments, edge values included, and shrinks them.
Each program is compiled by the llvm frontend for its argument types and run natively
on several inputs; the harness of ``tests/frontend`` fails on any result that is not
CPython's (value and type, floats bit for bit).  A bailout is accepted (an intermediate
int64 overflow is legitimate), but the run must answer most calls natively, and at
least 2,000 distinct programs are checked per run.  Every third program is compiled with
ints held as i128 (as a bead recompiles after an int64 overflow) instead of i64.

Precise deoptimisation (issue 9): every bailout's frames are resumed in the interpreter
and must give CPython's answer, and every deopt site the first call (FORCED_CALLS)
reaches is also forced to deoptimise in turn (``forced_sites``; the programs compile
with forcing checks), so a resume at every reachable instruction is checked.  The run
prints how many of the programs' sites the drawn inputs reached.
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
from tests.frontend.harness import check, compile_function, forced_sites, kinds_of
from tests.programs.progen import program

# AUTOTIER_PROGRAMS=20000 (say) runs that many examples instead, for a longer search
PROGRAMS = int(os.environ.get("AUTOTIER_PROGRAMS", "2100"))
CALLS_PER_PROGRAM = 4
# calls of each program whose every reachable deopt site is forced in turn (all four:
# AUTOTIER_FORCED_CALLS=4; the default keeps the run within the suite's time budget)
FORCED_CALLS = int(os.environ.get("AUTOTIER_FORCED_CALLS", "1"))
VALUES = {
    "int": st.one_of(st.integers(-100, 100), st.sampled_from(
        [0, 1, -1, 2**31, 2**53 + 1, 2**62, 2**63 - 1, -(2**63)]),
        st.integers(-(2**63), 2**63 - 1)),
    "float": st.one_of(st.floats(-1e6, 1e6), st.sampled_from(
        [0.0, -0.0, 0.5, 1e300, -1e300, 5e-324, math.inf, -math.inf, math.nan]),
        st.floats(allow_nan=True, allow_infinity=True)),
    "bool": st.booleans(),
}


class Tally:
    def __init__(self) -> None:
        self.examples = 0
        self.sources: set[str] = set()
        self.calls = 0
        self.native = 0
        self.declined: list[str] = []
        self.sites = 0  # deopt sites of the programs compiled
        self.forced = 0  # of them, forced (reached by one of the program's calls)


def run(tally: Tally, data: Any) -> None:
    # Draw the same values whatever the program (hypothesis requires it): for each
    # call and each parameter one int, one float and one bool; the signature picks.
    drawn = [[{t: data.draw(VALUES[t]) for t in VALUES} for _ in range(3)]
             for _ in range(CALLS_PER_PROGRAM)]
    tally.examples += 1
    rng = random.Random(tally.examples)
    source, signature = program(rng.randrange)
    ns: dict[str, Any] = {"math": math}
    exec(compile(source, f"<progen {len(tally.sources)}>", "exec"), ns)
    tally.sources.add(source)
    opt = 0 if len(tally.sources) % 4 == 0 else 2
    # every third program is also compiled as after an overflow: ints held as i128
    int_bits = 128 if len(tally.sources) % 3 == 1 else 64
    reached: set[int] = set()
    for number, per_param in enumerate(drawn):
        args = tuple(values[t] for values, t in zip(per_param, signature, strict=True))
        try:
            status = check(ns["f"], *args, may_bail=True, opt=opt, int_bits=int_bits,
                           force=True)
            # a deopt at every site the call reaches resumes to CPython's answer
            if number < FORCED_CALLS:
                reached |= forced_sites(ns["f"], args, opt=opt, int_bits=int_bits)
        except Unsupported as exc:
            tally.declined.append(f"{exc}\n{source}")
            return
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nprogram:\n{source}\nargs: {args!r}") from None
        tally.calls += 1
        tally.native += status is Status.OK
    tally.sites += len(compile_function(ns["f"], kinds_of(args), opt=opt, int_bits=int_bits,
                                        force=True).lowered.sites)
    tally.forced += len(reached)


@pytest.mark.timeout(max(1200, PROGRAMS // 5))  # ~150 s idle; shared machines run slower
def test_random_programs_match_cpython():
    tally = Tally()

    @settings(max_examples=PROGRAMS, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one_program(data):
        run(tally, data)

    one_program()
    print(f"{len(tally.sources)} distinct programs, {tally.calls} calls, "
          f"{tally.native} answered natively; {tally.forced} of {tally.sites} deopt "
          "sites forced")
    assert len(tally.sources) >= min(2000, PROGRAMS - 100), len(tally.sources)
    assert not tally.declined, f"{len(tally.declined)} declined, e.g.\n{tally.declined[0]}"
    assert tally.native >= tally.calls // 2, (tally.native, tally.calls)
