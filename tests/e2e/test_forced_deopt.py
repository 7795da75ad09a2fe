"""Every deopt site of every corpus function, forced (issue 9).

Each corpus function is compiled by the frontend with forcing checks
(:mod:`autotier.deopt.forcing`), then called with its sweep's inputs (those native code
takes) once per site, the site forced to deoptimise: the interpreter resumes there
with the frame native code had built, and the answer (value of the same type, floats
bit for bit, or the exception's type and message) must be CPython's
(``tests/frontend/harness.py``: ``forced_sites``).  Every site must be reached by
some input.
"""

from __future__ import annotations

from typing import Any

import pytest

from autotier.abi import Kind
from tests.e2e import corpus
from tests.e2e.test_corpus import NAMES, _hot_namespace, inputs
from tests.frontend.harness import compile_function, forced_sites, kinds_of

INPUTS_PER_FUNCTION = 24
# Sites no input can reach, by function: (line, why)
UNREACHABLE = {
    "math_predicates": (513, "math.isinf(x) and math.isfinite(x) is never true"),
}


@pytest.fixture(scope="module")
def hot() -> dict[str, Any]:
    return _hot_namespace()


def native_inputs(name: str) -> list[tuple[Any, ...]]:
    taken = [args for args in inputs(name) if all(Kind.of(a) is not None for a in args)]
    by_kinds: dict[tuple[Kind, ...], list[tuple[Any, ...]]] = {}
    for args in taken:
        by_kinds.setdefault(kinds_of(args), []).append(args)
    # spread over the kinds: each group's first inputs
    out: list[tuple[Any, ...]] = []
    share = max(4, INPUTS_PER_FUNCTION // max(1, len(by_kinds)))
    for group in by_kinds.values():
        out.extend(group[:share])
    if getattr(corpus, name).sweep == "int1":
        out.extend((n,) for n in range(16))  # small ints take every branch of classify
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_site_resumes_to_cpythons_answer(hot, name):
    """Sites are told apart by the instruction they resume at: each instruction that
    is a site of some specialisation must be forced by some input."""
    func = hot[name]
    reached: set[int] = set()
    every: dict[int, int] = {}  # instruction index -> line
    for args in native_inputs(name):
        ids = forced_sites(func, args)
        for site in compile_function(func, kinds_of(args), force=True).lowered.sites:
            every[site.index] = site.line
            if site.id in ids:
                reached.add(site.index)
    missed = sorted(every[i] for i in set(every) - reached)
    if name in UNREACHABLE:
        missed = [line for line in missed if line != UNREACHABLE[name][0]]
    assert not missed, f"{name}: sites at lines {missed} never reached"
