"""Random programs over lists and tuples (:mod:`tests.programs.seqgen`), compiled by
the llvm frontend and compared with CPython: each call's result and exception, and the
list's state after it (the harness runs both sides on fresh copies); every deopt site
of each program forced (``force_every_site``) with an input that reaches it, the drawn
inputs first, then more from the argument pool while sites remain that CPython executed
on none of them, each resume checked as in ``test_random_programs``.

``AUTOTIER_SEQ_PROGRAMS`` sets how many program numbers run: 450 by default, which
are 444 distinct programs (a few short programs come twice; with the 600 array
programs of ``test_random_arrays.py`` over 1,000 container programs per run, as issue
10 asks), split over processes like the scalar programs (``AUTOTIER_PROGRAM_SHARDS``,
:mod:`tests.programs.shards`).
"""

from __future__ import annotations

import os
import random
from types import FunctionType
from typing import Any

import pytest

from autotier.abi import Kind, Status
from autotier.frontend import Unsupported
from tests.frontend.harness import check, force_every_site, forget
from tests.programs.seqgen import KS, SEQUENCES, program
from tests.programs.shards import Tally, run_sharded

PROGRAMS = int(os.environ.get("AUTOTIER_SEQ_PROGRAMS", "450"))
CALLS_PER_PROGRAM = 4
SEARCH_INPUTS = 8  # more inputs while some site is at an instruction none executed
OPT = 1  # a quick tier's optimisation: the programs are small, their compiles most of the time


def _function(seed: int) -> FunctionType:
    source = program(seed)
    namespace: dict[str, object] = {}
    exec(compile(source, f"<seq program {seed}>", "exec"), namespace)
    func = namespace["f"]
    assert isinstance(func, FunctionType)
    return func


def _one(tally: Tally, seed: int) -> None:
    func = _function(seed)
    tally.examples += 1
    tally.sources.add(program(seed))
    rng = random.Random(seed)
    # one kind of sequence and of k per program: one compile serves every call
    seq_kind, k_kind = rng.choice((list, tuple)), rng.choice((int, float))
    pool: list[tuple[Any, ...]] = [(s, k) for s in SEQUENCES if type(s) is seq_kind
                                   for k in KS if type(k) is k_kind]
    inputs = [rng.choice(pool) for _ in range(CALLS_PER_PROGRAM)]
    try:
        for xs, k in inputs:
            status = check(func, xs, k, may_bail=True, force=True, opt=OPT)
            tally.calls += 1
            tally.native += status is Status.OK
        coverage = force_every_site(func, inputs, opt=OPT)
        if coverage.unexecuted:
            tally.searched += 1
            more = rng.sample(pool, min(SEARCH_INPUTS, len(pool)))
            force_every_site(func, more, opt=OPT, coverage=coverage)
    except Unsupported as exc:  # (a float in `in`, say): compiled by no one
        tally.declined.append(f"{exc}\n{program(seed)}")
        return
    except AssertionError as exc:
        raise AssertionError(f"program {seed}:\n{program(seed)}\n{exc}") from None
    finally:
        forget(func)  # never called again: let its lowering go
    tally.count(coverage)


def check_programs(first: int, count: int) -> Tally:
    """Check sequence programs ``first - 1`` .. ``first + count - 2`` (seeds from 0)."""
    tally = Tally(first=first)
    for seed in range(first - 1, first - 1 + count):
        _one(tally, seed)
    return tally


@pytest.mark.timeout(max(1200, PROGRAMS // 2))
def test_random_sequence_programs_answer_as_cpython(tmp_path):
    tally = run_sharded(check_programs, PROGRAMS, tmp_path, timeout=max(1200, PROGRAMS // 2))
    print("\nsequence programs: " + tally.summary())
    assert tally.examples >= PROGRAMS
    assert len(tally.sources) >= min(1000, PROGRAMS - 30), len(tally.sources)
    assert len(tally.declined) < PROGRAMS // 4  # the generator draws what compiles
    assert tally.native > tally.calls // 4
    assert tally.forced >= tally.sites // 2, (tally.forced, tally.sites)


def test_the_generator_draws_lists_and_tuples():
    kinds = {Kind.of(xs) for xs in SEQUENCES}
    assert kinds == {Kind.LIST, Kind.TUPLE}
    assert len({program(seed) for seed in range(200)}) > 180
