"""Random programs over lists and tuples (:mod:`tests.programs.seqgen`), compiled by
the llvm frontend and compared with CPython: each call's result and exception, and the
list's state after it (the harness runs both sides on fresh copies); every deopt site
of each program forced once on one input (``forced_sites``), each resume checked.

``AUTOTIER_SEQ_PROGRAMS`` sets how many programs run: 300 by default (about 40 s on
this 2-core machine: each program costs about 0.13 s of CPU, two thirds of it LLVM and
the frontend building the module with its forcing checks); the issue asks for 1,000 per
CI run, which costs about 2 more minutes: `AUTOTIER_SEQ_PROGRAMS=1000`.
"""

from __future__ import annotations

import os
import random
from types import FunctionType

from autotier.abi import Kind, Status
from autotier.frontend import Unsupported
from tests.frontend.harness import check, forced_sites
from tests.programs.seqgen import KS, SEQUENCES, program

PROGRAMS = int(os.environ.get("AUTOTIER_SEQ_PROGRAMS", "300"))
CALLS_PER_PROGRAM = 4
OPT = 1  # a quick tier's optimisation: the programs are small, their compiles most of the time


def _function(seed: int) -> FunctionType:
    source = program(seed)
    namespace: dict[str, object] = {}
    exec(compile(source, f"<seq program {seed}>", "exec"), namespace)
    func = namespace["f"]
    assert isinstance(func, FunctionType)
    return func


def test_random_sequence_programs_answer_as_cpython():
    native = calls = declined = forced = 0
    for seed in range(PROGRAMS):
        func = _function(seed)
        rng = random.Random(seed)
        # one kind of sequence and of k per program: one compile serves every call
        seq_kind, k_kind = rng.choice((list, tuple)), rng.choice((int, float))
        seqs = [s for s in SEQUENCES if type(s) is seq_kind]
        ks = [k for k in KS if type(k) is k_kind]
        inputs = [(rng.choice(seqs), rng.choice(ks)) for _ in range(CALLS_PER_PROGRAM)]
        try:
            for xs, k in inputs:
                status = check(func, xs, k, may_bail=True, force=True, opt=OPT)
                calls += 1
                native += status is Status.OK
            forced += len(forced_sites(func, inputs[0], opt=OPT))
        except Unsupported:
            declined += 1  # (a float in `in`, say): compiled by no one, nothing to compare
        except AssertionError as exc:
            raise AssertionError(f"program {seed}:\n{program(seed)}\n{exc}") from None
    print(f"\n{PROGRAMS} sequence programs: {calls} calls, {native} native, "
          f"{declined} declined, {forced} sites forced")
    assert declined < PROGRAMS // 4  # the generator draws what the frontend compiles
    assert native > calls // 4


def test_the_generator_draws_lists_and_tuples():
    kinds = {Kind.of(xs) for xs in SEQUENCES}
    assert kinds == {Kind.LIST, Kind.TUPLE}
    assert len({program(seed) for seed in range(200)}) > 180
