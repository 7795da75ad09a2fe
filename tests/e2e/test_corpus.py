"""Every corpus function through the full runtime: promoted, compiled by the llvm
frontend, then swept with edge inputs; each answer must be CPython's (same value of
the same type, floats bit for bit, or the same exception).  Where CPython has two
answers (two nan operands of ``+`` or ``*``, tests/frontend/harness.py) either is."""

from __future__ import annotations

import itertools
import math
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import autotier
from tests.e2e import corpus
from tests.frontend.harness import WARM_CALLS
from tests.runtime.helpers import interpreted_frames

INF, NAN = math.inf, math.nan
# nans CPython tells apart: the negative one (-math.nan, and inf - inf's), one with a
# payload, a signalling one (arithmetic quiets it; passing it on keeps it)
NEG_NAN = -NAN
PAYLOAD_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF800000000BEEF))[0]
SIGNALLING_NAN = struct.unpack("<d", struct.pack("<Q", 0xFFF0000000000005))[0]
I64_MAX, I64_MIN = 2**63 - 1, -(2**63)
INTS = [0, 1, -1, 3, -7, 13, 2**31, 2**53 + 1, 2**62, I64_MAX, I64_MIN, 2**64, 10**30,
        -(10**30), True, False]
INTS_SHORT = [0, 1, -1, 3, -7, 13, 2**62, I64_MAX, I64_MIN, 2**64, 10**30, True, False]
FLOATS = [0.0, -0.0, 0.5, -0.5, 1.0, 2.0, 7.5, -8.5, 1e-300, 5e-324, 1e308, -1e308, INF,
          -INF, NAN, NEG_NAN, PAYLOAD_NAN, SIGNALLING_NAN]
FLOATS_SHORT = [0.0, -0.0, 0.5, -1.5, 2.0, 1e308, 5e-324, INF, -INF, NAN, NEG_NAN,
                SIGNALLING_NAN]
SMALL = [0, 1, 2, 5, 10, 13, 20, 27, -1, -5, True, False, 2.5]
OTHER = [3, True, 2**64, 2.5]  # the other types a float function meets

FAMILIES: dict[str, list[tuple[Any, ...]]] = {
    "int1": [(x,) for x in [*INTS, 2.5, -0.0, INF, NAN, NEG_NAN]],
    "int2": [*itertools.product(INTS_SHORT, INTS_SHORT), (2.5, 3), (3, 2.5), (NAN, 1),
             (1, NEG_NAN)],
    "int3": list(itertools.product([0, 1, -1, 3, I64_MAX, I64_MIN, 2**64, True], repeat=3)),
    "float1": [(x,) for x in [*FLOATS, *OTHER]],
    "float2": [*itertools.product([*FLOATS_SHORT, 3, True], repeat=2)],
    "mixed2": [*itertools.product([0, 1, -1, 7, 2**53 + 1, I64_MAX, I64_MIN, 2**64, True],
                                  [*FLOATS_SHORT, 3, 2**64])],
    "small1": [(n,) for n in SMALL],
    "small2": list(itertools.product([0, 1, 3, 5, 10, -2, True], repeat=2)),
    "range3": list(itertools.product([-10, 0, 3, 10], [-10, 0, 3, 10], [-3, -1, 0, 1, 2, 5])),
    "tiny2": list(itertools.product([0, 1, 2], [0, 1, 2, 3])),
}
# Families whose second argument is an exponent or a shift count: huge ones would make
# CPython itself compute for minutes (3 ** 2**62).
SMALL_SECOND = {"power", "lshift", "augmented", "fpower"}
EXPONENTS = [0, 1, 2, 3, 10, 63, 64, -1, -2, True, False]

NAMES = sorted(name for name, f in vars(corpus).items() if hasattr(f, "sweep"))


def _hot_namespace() -> dict[str, Any]:
    """The corpus module's source run again, every function replaced by its hot object."""
    source = Path(corpus.__file__).read_text()
    ns: dict[str, Any] = {"__name__": "tests.e2e.corpus_hot"}
    exec(compile(source, corpus.__file__, "exec"), ns)
    for name in NAMES:
        ns[name] = autotier.hot(threshold=2, backend="llvm",
                                deopt=autotier.AlwaysRecompilePolicy())(ns[name])
    return ns


@pytest.fixture(scope="module")
def hot() -> Iterator[dict[str, Any]]:
    ns = _hot_namespace()
    for name in NAMES:
        for _ in range(3):
            ns[name](*getattr(corpus, name).promote)
    assert autotier.wait_idle(300)
    yield ns
    for name in NAMES:  # done: later tests' reload_all() need not recompile these
        autotier.invalidate(ns[name])
    autotier.prune()


def outcome(func: Any, args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return ("value", func(*args))
    except RecursionError:
        return ("raise", RecursionError, "")
    except Exception as exc:  # noqa: BLE001 - compared with CPython's below
        return ("raise", type(exc), str(exc))


def same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "raise":
        return a[1:] == b[1:]
    x, y = a[1], b[1]
    if type(x) is not type(y):
        return False
    if type(x) is float:  # bit for bit: a nan's sign and payload too
        return struct.pack("<d", x) == struct.pack("<d", y)
    if type(x) is complex:
        return same(("value", x.real), ("value", y.real)) and same(("value", x.imag),
                                                                   ("value", y.imag))
    return bool(x == y)


def inputs(name: str) -> list[tuple[Any, ...]]:
    family = FAMILIES[getattr(corpus, name).sweep]
    if name in SMALL_SECOND:
        firsts = sorted({args[0] for args in family}, key=repr)
        return [(a, e) for a in firsts for e in EXPONENTS]
    return family


def test_the_corpus_is_large_enough():
    assert len(NAMES) >= 60


@pytest.mark.parametrize("name", NAMES)
def test_compiled_by_llvm_and_native(hot, name):
    row = autotier.stats(hot[name])
    assert (row.state, row.backend) == ("compiled", "llvm"), row
    args = getattr(corpus, name).promote
    expected = outcome(getattr(corpus, name), args)
    with interpreted_frames(hot[name]) as frames:
        got = outcome(hot[name], args)
    assert frames[0] == 0, f"{name}{args} did not run natively"
    assert same(got, expected), (got, expected)


@pytest.mark.parametrize("name", NAMES)
def test_edge_inputs_answer_like_cpython(hot, name):
    plain, decorated = getattr(corpus, name), hot[name]
    limit = sys.getrecursionlimit()
    mismatches = []
    for args in inputs(name):
        expected = outcome(plain, args)
        got = outcome(decorated, args)
        if not same(got, expected):  # CPython's other answer (tests/frontend/harness.py)
            for _ in range(WARM_CALLS):
                outcome(plain, args)
            expected = outcome(plain, args)
        if not same(got, expected):
            mismatches.append(f"{name}{args}: autotier {got!r}, CPython {expected!r}")
    assert sys.getrecursionlimit() == limit
    assert not mismatches, "\n".join(mismatches[:20])
    assert autotier.stats(decorated).state in ("compiled", "queued", "compiling")
