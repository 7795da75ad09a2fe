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
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import pytest

import autotier
from autotier.broker import Broker
from tests.e2e import containers_corpus as corpus
from tests.runtime.helpers import interpreted_frames, make_hot

LOG = logging.getLogger(__name__)
NAMES = [name for name, f in vars(corpus).items() if callable(f) and hasattr(f, "cases")]
PROMOTE_CALLS = 3  # past the threshold of 2


def canon(value: Any) -> Any:
    """A comparable picture of ``value``: equal pictures mean CPython could not tell
    the two values apart (types, bits, shapes and layouts included)."""
    t = type(value)
    if t is float:
        return ("float", struct.pack("<d", value))
    if t is complex:
        return ("complex", struct.pack("<dd", value.real, value.imag))
    if t in (int, bool, str, type(None)):
        return (t.__name__, value)
    if isinstance(value, np.ndarray):
        return ("ndarray", t, value.dtype.str, value.shape, value.strides,
                bool(value.flags.writeable), value.tobytes())
    if isinstance(value, np.generic):
        return ("numpy scalar", t, value.dtype.str, value.tobytes())
    if t in (list, tuple):
        return (t.__name__, tuple(canon(v) for v in value))
    return (t, repr(value))


class Outcome(NamedTuple):
    result: Any  # canon() of the result, or ("raise", type, message)
    alias: int | None  # which argument the result is, if one
    warned: tuple[tuple[type, str], ...]
    after: tuple[Any, ...]  # canon() of each argument after the call


def call(func: Callable[..., Any], args: tuple[Any, ...]) -> Outcome:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = func(*args)
        except Exception as exc:  # noqa: BLE001 - compared with CPython's
            result: Any = ("raise", type(exc), str(exc))
            alias = None
        else:
            result = canon(value)
            alias = next((k for k, a in enumerate(args) if a is value), None)
    # catch_warnings is process-wide: a numba compile on the broker thread may warn
    # meanwhile (its deprecation warnings); corpus code never raises numba's classes
    warned = tuple((w.category, str(w.message)) for w in caught
                   if not w.category.__module__.startswith("numba"))
    return Outcome(result, alias, warned, tuple(canon(a) for a in args))


class Row(NamedTuple):
    name: str
    state: str
    backend: str | None
    native: bool
    reason: str | None


@pytest.fixture(scope="module")
def hot() -> Iterator[tuple[dict[str, Any], dict[str, Row]]]:
    broker = Broker()
    hots: dict[str, Any] = {}
    for name in NAMES:
        func = getattr(corpus, name)
        hots[name] = hf = make_hot(func, threshold=2, backend="auto", broker=broker)
        for _ in range(PROMOTE_CALLS):
            call(hf, func.cases()[0])
    assert broker.wait_idle(300), "the corpus's compiles did not finish"
    rows: dict[str, Row] = {}
    for name, hf in hots.items():
        with interpreted_frames(hf) as frames:
            call(hf, getattr(corpus, name).cases()[0])
        st = autotier.stats(hf)
        native = st.state == "compiled" and frames[0] == 0
        rows[name] = Row(name, st.state, st.backend, native, st.reason)
    yield hots, rows
    for hf in hots.values():
        autotier.invalidate(hf)
    autotier.prune()
    broker.shutdown(10)


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
        for field in Outcome._fields:
            if getattr(got, field) != getattr(expected, field):
                mismatches.append(f"{name}{shown}: {field}: autotier "
                                  f"{getattr(got, field)!r}, CPython "
                                  f"{getattr(expected, field)!r}")
    assert not mismatches, "\n".join(mismatches[:20])


def test_native_count_meets_the_floor(hot):
    _, rows = hot
    lines = [f"{'function':28} {'state':12} {'backend':8} native  reason"]
    for row in rows.values():
        reason = (row.reason or "").replace("\n", " ")[:90]
        lines.append(f"{row.name:28} {row.state:12} {row.backend or '-':8} "
                     f"{'yes' if row.native else 'no ':6}  {reason}")
    native = sum(row.native for row in rows.values())
    lines.append(f"{native} of {len(rows)} container corpus functions ran natively "
                 f"(floor {corpus.NATIVE_FLOOR})")
    table = "\n".join(lines)
    print("\n" + table)
    LOG.info("%s", table)
    assert native >= corpus.NATIVE_FLOOR, table


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
