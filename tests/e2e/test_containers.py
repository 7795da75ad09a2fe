"""Issue 10's differential corpus (``containers_corpus.py``) through ``@autotier.hot``.

Every corpus function is decorated with ``backend="auto"`` on a private broker,
promoted with its first input and compiled (or declined) for real; then, for every input
of its family, the plain function and the hot one are each called on arguments built
afresh for that side, and must agree on

- the result: value and exact type, floats bit for bit (a nan's sign, -0.0), numpy
  scalars by type, dtype and bytes, arrays by type, dtype, shape, strides, writeability
  and bytes, lists and tuples element by element; and whether it is one of the arguments;
- or the exception: type and message;
- the warnings raised (category and message, every one: ``simplefilter("always")``);
- every argument's state after the call (the same comparison as results).

A function that stays interpreted is no failure (no backend is offered an ndarray
argument yet, and the frontend declines much on lists); which ran natively is printed
(``-s``) and logged by
``test_native_count_meets_the_floor``, which fails only below the corpus's
``NATIVE_FLOOR``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from tests.e2e import containers_corpus as corpus
from tests.e2e import differential
from tests.e2e.differential import Outcome, Row

LOG = logging.getLogger(__name__)
NAMES = [name for name, f in vars(corpus).items() if callable(f) and hasattr(f, "cases")]


def canon(value: Any) -> Any:
    """A comparable picture of ``value``: equal pictures mean CPython could not tell
    the two values apart (types, bits, shapes and layouts included)."""
    t = type(value)
    if t in differential.SCALARS:
        return differential.scalar_picture(value)
    if isinstance(value, np.ndarray):
        return ("ndarray", t, value.dtype.str, value.shape, value.strides,
                bool(value.flags.writeable), value.tobytes())
    if isinstance(value, np.generic):
        return ("numpy scalar", t, value.dtype.str, value.tobytes())
    if t in (list, tuple):
        return (t.__name__, tuple(canon(v) for v in value))
    return (t, repr(value))


def call(func: Callable[..., Any], args: tuple[Any, ...]) -> Outcome:
    return differential.call(func, args, canon)


@pytest.fixture(scope="module")
def hot() -> Iterator[tuple[dict[str, Any], dict[str, Row]]]:
    yield from differential.promoted(corpus, NAMES, canon)


def test_the_corpus_is_large_enough():
    assert len(NAMES) >= 80
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_answers_like_cpython(hot, name):
    hots, _ = hot
    plain, decorated = getattr(corpus, name), hots[name]
    plain_inputs, hot_inputs = plain.cases(), plain.cases()  # fresh objects per side
    mismatches = []
    for plain_args, hot_args in zip(plain_inputs, hot_inputs, strict=True):
        before = tuple(canon(a) for a in plain_args)
        assert before == tuple(canon(a) for a in hot_args), "the family is not repeatable"
        shown = repr(plain_args)[:200]
        expected = call(plain, plain_args)
        got = call(decorated, hot_args)
        mismatches += differential.mismatches(name, shown, got, expected)
    assert not mismatches, "\n".join(mismatches[:20])


def test_native_count_meets_the_floor(hot):
    _, rows = hot
    differential.assert_native_floor(rows, "container corpus", corpus.NATIVE_FLOOR, LOG)


def test_the_comparison_tells_apart_what_cpython_would():
    """The harness can fail: every difference the issue names changes the picture."""
    differ = [
        (1.5, np.float64(1.5)), (0.0, -0.0), (float("nan"), -float("nan")), (1, True),
        (1, 1.0), ([1, 2], [1, 2.0]), ((1, 2), [1, 2]), (np.int64(3), np.int32(3)),
        (np.zeros(3), np.zeros(3, dtype=np.float32)), (np.zeros(3), np.zeros((3, 1))),
        (np.zeros((2, 2)), np.asfortranarray(np.zeros((2, 2)))),
        (np.zeros(2), np.zeros(4)[::2]), (np.array([0.0]), np.array([-0.0])),
        (np.zeros(2), _readonly(np.zeros(2))), (np.bool_(True), True),
    ]
    for a, b in differ:
        assert canon(a) != canon(b), (a, b)
    assert canon([np.zeros(2), (1, -0.0)]) == canon([np.zeros(2), (1, -0.0)])

    def warns(a):
        return a[0] + a[0]

    def stores(xs):
        xs.append(1)
        return xs

    seen = call(warns, (np.array([100], dtype=np.int8),))
    assert seen.warned == ((RuntimeWarning, "overflow encountered in scalar add"),)
    assert seen.result == canon(np.int8(-56))
    seen = call(stores, ([2.5],))
    assert seen.alias == 0 and seen.after == (canon([2.5, 1]),)
    assert call(warns, ([],)).result == ("raise", IndexError, "list index out of range")


def test_numbas_answers_on_arrays_would_be_caught():
    """numba compiling an array function directly answers otherwise than CPython, and
    the harness says so (autotier's screen declines these: test_numba_arrays.py)."""
    import numba

    a = np.array([1.5, 2.5, 3.0])
    for name in ("arr_sum_loop", "arr_first", "arr_count_positive"):
        plain = getattr(corpus, name)
        if name == "arr_count_positive":
            assert call(plain, (a,)) == call(numba.njit(plain), (a,))  # an int: exact
        else:
            assert call(plain, (a,)).result != call(numba.njit(plain), (a,)).result


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a
