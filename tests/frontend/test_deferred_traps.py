"""Deferred numpy float trap checks (autotier/frontend/deferred.py), differentially.

A numpy float ``+`` or ``-`` whose only use is a later ``+ - *`` (or the dividend of a
``/``) in its block emits no check: the consumer's catches its trap.  These tests trap
at each place of such chains (the first producer, one in the middle, the consumer),
with an index out of range or a store between, and compare with CPython: the value,
numpy's warnings (each, in order), the exception, the arrays' state; the deopt is at
the trapping instruction's own bytecode offset.
"""

from __future__ import annotations

import dis
import re
import warnings
from typing import Any

import numpy as np
import pytest

from autotier.abi import Kind, Status
from autotier.deopt import resume
from autotier.frontend import deferred
from tests.frontend.harness import check, compile_function, force_every_site, forget, fresh


def chain(a: np.ndarray) -> Any:
    return (a[0] + a[1] + a[2] - a[3]) * 0.5


def chain_into(a: np.ndarray, out: np.ndarray, j: int) -> Any:
    out[0] = a[0] * 0.5
    s = a[0] + a[1]
    t = s + a[j]  # an index check between the producer and its consumer
    out[1] = t * 0.5
    return t


def divided(a: np.ndarray) -> Any:
    return (a[0] + a[1]) / a[2] + a[2] / (a[0] + a[1])


def right_of_a_division(a: np.ndarray) -> Any:
    return a[2] / (a[0] + a[1])  # 2 / inf is 0: this consumer catches nothing


def stencil_row(a: np.ndarray, out: np.ndarray) -> None:
    for j in range(1, len(a) - 1):
        out[j] = 0.25 * (a[j - 1] + a[j + 1] + a[j]) - a[j]


def _offsets(func: Any, symbol: str) -> list[int]:
    return [i.offset for i in dis.get_instructions(func)
            if i.opname == "BINARY_OP" and i.argrepr == symbol]


def _deopt(func: Any, *args: Any) -> tuple[int, list[str]]:
    """The bytecode offset a NUMPY bailout deoptimises at, and the warnings of the
    interpreter's finish."""
    compiled = compile_function(func, tuple(Kind.of(a) for a in args))  # type: ignore[misc]
    status, _, frames = compiled.run(*fresh(args))
    assert status is Status.NUMPY and frames, status
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            resume.finish(frames)()
        except IndexError:
            pass
    return frames[0].site.offset, [str(w.message) for w in seen]


def _checks(func: Any, *args: Any) -> int:
    """How many numpy float checks the lowered code has (each its own cold block)."""
    text = compile_function(func, tuple(Kind.of(a) for a in args)).lowered.ir  # type: ignore[misc]
    return len(re.findall(r'^"?numpy_check(\.\d+)?"?:', text, re.MULTILINE))


def test_the_chain_defers_its_producers() -> None:
    a = np.arange(4.0)
    assert _checks(chain, a) == 1  # the product's: it catches the three producers
    assert _checks(stencil_row, a, a) == 2  # the product's and the stored difference's
    assert _checks(right_of_a_division, np.arange(3.0)) == 2  # x / inf is finite
    assert _checks(divided, np.arange(3.0)) == 4  # the dividend's sum caught, not the other


def test_a_trap_at_each_place_of_the_chain() -> None:
    plus, minus, times = _offsets(chain, "+"), _offsets(chain, "-"), _offsets(chain, "*")
    big = 1e308
    add, invalid = "overflow encountered in scalar add", "invalid value encountered in scalar add"
    cases = [  # (a, where numpy first warns, what the interpreter's finish warns)
        (np.array([big, big, 1.0, 1.0]), plus[0], [add]),  # the first producer
        (np.array([1.0, big, big, 1.0]), plus[1], [add]),  # one in the middle
        (np.array([1.0, 1.0, big, -big]), minus[0], ["overflow encountered in scalar subtract"]),
        (np.array([big, big, -np.inf, 1.0]), plus[0], [add, invalid]),  # then inf - inf
        (np.array([np.inf, 1.0, -np.inf, 1.0]), plus[1], [invalid]),
        (np.array([big, big, -big, big]), plus[0], [add]),
        (np.array([1.0, 2.0, 3.0, 4.0]), None, []),
        (np.array([1.0, 2.0, 3.0, np.nan]), None, []),  # a nan operand: no trap
        (np.array([np.inf, 2.0, 3.0, 4.0]), None, []),  # an infinite operand: none either
        (np.array([1.0, 2.0, big, -big]), minus[0], ["overflow encountered in scalar subtract"]),
        (np.array([5e-324, 0.0, 0.0, 0.0]), times[0], []),  # the product underflows
    ]
    for a, where, warned in cases:
        status = check(chain, a)
        if where is None:
            assert status is Status.OK, a
        else:
            assert _deopt(chain, a) == (where, warned), a


def test_float32_chains() -> None:
    big = np.float32(3e38)
    for a in (np.array([big, big, 1, 1], np.float32), np.array([1, big, big, 1], np.float32),
              np.array([1, 2, 3, 4], np.float32), np.array([1, 1, big, -big], np.float32),
              np.array([np.inf, 1, -np.inf, 1], np.float32)):
        check(chain, a)
    assert _deopt(chain, np.array([1, big, big, 1], np.float32))[0] == _offsets(chain, "+")[1]


def test_an_index_error_between_a_trapping_producer_and_its_consumer() -> None:
    """CPython warns at the overflowing ``+`` and then raises IndexError at ``a[j]``:
    native code deoptimises at the ``+`` (numpy warns), after ``out[0]`` was stored."""
    big = 1e308
    a = np.array([big, big, 1.0])
    for j in (2, -3, 3, -4, 7):
        for arr in (a, np.array([1.0, 2.0, 3.0])):
            check(chain_into, arr, np.zeros(2), j)
    offset, warned = _deopt(chain_into, a, np.zeros(2), 3)
    assert offset == _offsets(chain_into, "+")[0]
    assert warned == ["overflow encountered in scalar add"]
    out = np.zeros(2)
    compiled = compile_function(chain_into, (Kind.of(a), Kind.of(out), Kind.INT))
    status, _, frames = compiled.run(a, out, 3)
    assert status is Status.NUMPY
    assert out.tolist() == [0.5 * big, 0.0]  # the store before the producer, not after


def test_divisions() -> None:
    big = 1e308
    for a in (np.array([big, big, 2.0]), np.array([1.0, 2.0, 0.0]), np.array([1.0, 2.0, 4.0]),
              np.array([np.inf, -np.inf, 1.0]), np.array([big, big, np.inf])):
        check(divided, a)
        check(right_of_a_division, a)
    # 2 / (1e308 + 1e308) is 0.0: the add's own check warns
    assert _deopt(right_of_a_division, np.array([big, big, 2.0])) == (
        _offsets(right_of_a_division, "+")[0], ["overflow encountered in scalar add"])


def test_a_trap_in_the_middle_of_a_loop_leaves_the_stores_before_it() -> None:
    big = 1e308
    for a in (np.array([1.0, 2.0, big, big, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0]),
              np.array([big, 1.0, big, 1.0, -big]), np.array([np.inf, 1.0, -np.inf, 1.0]),
              np.array([1.0, 2.0, np.nan, 3.0])):
        check(stencil_row, a, np.zeros(len(a)))
    a = np.array([1.0, 2.0, 5.0, big, big, 3.0])
    out = np.zeros(len(a))
    compiled = compile_function(stencil_row, (Kind.of(a), Kind.of(out)))
    status, _, frames = compiled.run(a, out)
    assert status is Status.NUMPY
    # j = 1, 2 stored; j = 3: a[2] + a[4] finite, + a[3] overflows (mid-chain)
    assert out[:3].tolist() == [0.0, 0.25 * (1.0 + 5.0 + 2.0) - 2.0, 0.25 * (2.0 + big + 5.0) - 5.0]
    assert out[3:].tolist() == [0.0, 0.0, 0.0]
    assert frames[0].site.offset == _offsets(stencil_row, "+")[-1]


def test_every_site_forced() -> None:
    big = 1e308
    force_every_site(chain, [(np.array([1.0, 2.0, 3.0, 4.0]),), (np.array([big, big, 1.0, 1.0]),)])
    force_every_site(chain_into, [(np.array([1.0, 2.0, 3.0]), np.zeros(2), 2),
                                  (np.array([big, big, 1.0]), np.zeros(2), 5)])
    force_every_site(stencil_row, [(np.array([1.0, 2.0, big, big, 3.0]), np.zeros(5))])


def dot(a: np.ndarray, b: np.ndarray) -> Any:
    s = 0.0
    for i in range(len(a)):
        s += a[i] * b[i]  # s: a float, then a numpy.float64 (the consumer's two lowerings)
    return s


def test_a_product_caught_by_a_sum_of_two_kinds() -> None:
    """The product's overflow is caught by the sum in both of its lowerings (``s`` a
    float on the first iteration, a numpy.float64 after); its underflow guard stays."""
    assert _checks(dot, np.arange(3.0), np.arange(3.0)) == 3  # two sums, one guard
    big = 1e308
    times, plus = _offsets(dot, "*"), _offsets(dot, "+=")
    overflow = "overflow encountered in scalar multiply"
    for a, b, where, warned in (
        (np.array([big, 1.0]), np.array([10.0, 1.0]), times[0], [overflow]),  # 1st iteration
        (np.array([1.0, big, 1.0]), np.array([1.0, 10.0, 1.0]), times[0], [overflow]),
        (np.array([big, big]), np.array([1.0, 1.0]), plus[0],
         ["overflow encountered in scalar add"]),
        (np.array([1.0, 1e-200]), np.array([1.0, 1e-200]), times[0], []),  # underflow
        (np.array([np.inf, 0.0]), np.array([0.0, 1.0]), times[0],
         ["invalid value encountered in scalar multiply"]),
    ):
        check(dot, a, b)
        assert _deopt(dot, a, b) == (where, warned), (a, b)
    for a, b in ((np.array([np.inf, 1.0]), np.array([1.0, -np.inf])),
                 (np.array([np.nan, 1.0]), np.array([1.0, 2.0])), (np.zeros(3), np.zeros(3)),
                 (np.array([], float), np.array([], float))):
        check(dot, a, b)
    force_every_site(dot, [(np.array([1.0, 2.0]), np.array([3.0, 4.0])),
                           (np.array([big, 2.0]), np.array([10.0, 4.0]))])


def binned(data: np.ndarray, scale: float, hist: np.ndarray) -> None:
    for x in data:
        hist[int(x * scale)] += 1  # int() of the product deoptimises for a nan or an inf


def test_a_product_caught_by_int(monkeypatch: pytest.MonkeyPatch) -> None:
    """``int(x * scale)``: the product's overflow is caught by ``int()``'s check (a nan or
    an infinity deoptimises), where numpy warns before CPython's OverflowError."""
    found: list[frozenset] = []
    real = deferred.candidates

    def recorded(func: Any, types: Any) -> frozenset:
        found.append(real(func, types))
        return found[-1]

    forget(binned)
    monkeypatch.setattr(deferred, "candidates", recorded)
    compile_function(binned, (Kind.of(np.zeros(2)), Kind.FLOAT, Kind.of(np.zeros(4, np.int64))))
    monkeypatch.undo()
    assert [len(f) for f in found] == [1]  # the product, caught by int()
    times = _offsets(binned, "*")
    overflow = "overflow encountered in scalar multiply"
    data = np.array([0.1, 1e308, 0.2])
    hist = np.zeros(4, np.int64)
    check(binned, data, 10.0, hist)
    compiled = compile_function(binned, (Kind.of(data), Kind.FLOAT, Kind.of(hist)))
    status, _, frames = compiled.run(data, 10.0, hist)
    assert status is Status.NUMPY and frames[0].site.offset == times[0]
    assert hist.tolist() == [0, 1, 0, 0]  # the first element's store only
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            resume.finish(frames)()
        except OverflowError as exc:
            assert str(exc) == "cannot convert float infinity to integer"
        else:
            raise AssertionError("int(inf) answered")
    assert [str(w.message) for w in seen] == [overflow]
    for d, scale in ((np.array([0.1, 0.35, 0.2]), 10.0), (np.array([np.nan]), 1.0),
                     (np.array([np.inf]), 1.0), (np.array([1e-300]), 1e-300),
                     (np.array([0.5, -0.1]), 4.0), (np.array([3e300]), 1e10)):
        check(binned, d, scale, np.zeros(4, np.int64))
    force_every_site(binned, [(np.array([0.1, 0.2]), 10.0, np.zeros(4, np.int64)),
                              (np.array([0.1, 1e308]), 10.0, np.zeros(4, np.int64))])
