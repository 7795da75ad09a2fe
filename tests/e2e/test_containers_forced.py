"""Every deopt site of the containers corpus's array functions, forced and resumed.

For each corpus function over ndarrays (``containers_corpus.py``) that the frontend
compiles, its inputs are grouped by signature (the kinds the entry would specialise
for), and each group's compile has every deopt site forced with an input that reaches
it (:func:`tests.frontend.harness.force_every_site`): the interpreter, resuming the
frame native code handed over (arrays, their iterators, numpy scalars), must answer as
CPython does, warnings and the arguments' state included.  Every natural call of every
input is checked too (:func:`tests.frontend.harness.check`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autotier.abi import ArrayKind, Kind
from autotier.frontend import Unsupported
from tests.e2e import containers_corpus as corpus
from tests.frontend.harness import check, force_every_site, forget

NAMES = [name for name, f in vars(corpus).items() if callable(f) and hasattr(f, "cases")]


def _array_function(name: str) -> bool:
    return any(isinstance(a, np.ndarray) for args in getattr(corpus, name).cases()
               for a in args)


def _groups(func: Any) -> dict[tuple[Any, ...], list[tuple[Any, ...]]]:
    out: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for args in func.cases():
        kinds = tuple(Kind.of(a) for a in args)
        if None in kinds or not any(isinstance(k, ArrayKind) for k in kinds):
            continue  # the entry never specialises for these: the interpreter's
        out.setdefault(kinds, []).append(args)
    return out


@pytest.mark.parametrize("name", [n for n in NAMES if _array_function(n)])
def test_every_site_of_an_array_function_resumes(name: str) -> None:
    func = getattr(corpus, name)
    compiled = 0
    for inputs in _groups(func).values():
        try:
            for args in inputs:
                check(func, *args, may_bail=True)
        except Unsupported:
            continue  # declined for these kinds (the corpus test counts what compiles)
        force_every_site(func, inputs)
        compiled += 1
    forget(func)
    if name.startswith(("arr", "stencil_into")) and name not in _DECLINED:
        assert compiled, f"{name} compiled for none of its signatures"


# corpus functions over arrays the frontend declines (containers_corpus.py's docstring)
_DECLINED = {"arr2_chained", "arr2_row", "arr2_row_loop"}
