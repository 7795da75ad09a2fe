"""Issue 11's differential corpus (``objects_corpus.py``) through ``@autotier.hot``.

Every corpus function is decorated with ``backend="auto"`` on a private broker,
promoted with its first input and compiled (or declined) for real; then, for every input
of its family, the plain function and the hot one are each called on arguments built
afresh for that side (after the function's ``prepare(i)``, if it has one: a class
attribute, method or property changed, a helper rebound, so every change after the
first input comes after the compile), and must agree on

- the result: value and exact type, floats and complex numbers bit for bit (a nan's
  sign, -0.0), lists and tuples element by element, instances by exact type and state
  (below); and whether it is one of the arguments (where the answers differ, CPython is
  asked again with its code specialised for that input, :func:`warmed`: CPython 3.11
  answers two nan operands of ``+`` and ``*`` two ways);
- or the exception: type, message and the traceback's lines in corpus code (the
  decorated function's line, then its helpers');
- the warnings raised (category and message, every one: ``simplefilter("always")``);
- every argument's state after the call: an instance's ``__dict__`` (in order) and each
  of its slots (set or not), recursively, by the same comparison; and the shared state
  the function's ``watch()`` returns.

A function that stays interpreted is no failure; which ran natively (its own frames:
none run, and the helpers it compiled in with it) is printed (``-s``) and logged by
``test_native_count_meets_the_floor``, which fails only below ``NATIVE_FLOOR``.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e import differential
from tests.e2e import objects_corpus as corpus
from tests.e2e.differential import Outcome, Row

LOG = logging.getLogger(__name__)
NAMES = [name for name, f in vars(corpus).items() if callable(f) and hasattr(f, "cases")]
DEPTH = 8  # how deep instances inside instances are compared
UNSET = ("unset slot",)
WARM_CALLS = 200  # as tests/frontend/harness.py: every instruction specialised


def _slot_names(t: type) -> Iterator[tuple[type, str]]:
    for klass in t.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__"):
                yield klass, name


def _instance(value: Any, depth: int) -> Any:
    """An instance's state, read past properties, ``__getattr__`` and
    ``__getattribute__``: its own ``__dict__`` in order, then its slots."""
    t = type(value)
    try:
        d = object.__getattribute__(value, "__dict__")
    except AttributeError:
        d = None
    own = None if d is None else tuple((k, canon(v, depth + 1)) for k, v in d.items())
    slots = []
    for klass, name in _slot_names(t):
        try:
            slots.append((name, canon(klass.__dict__[name].__get__(value, t), depth + 1)))
        except AttributeError:
            slots.append((name, UNSET))
    return ("instance", t, own, tuple(slots))


def canon(value: Any, depth: int = 0) -> Any:
    """A comparable picture of ``value``: equal pictures mean CPython could not tell
    the two values apart (types, bits and instance state included)."""
    t = type(value)
    if t in differential.SCALARS:
        return differential.scalar_picture(value)
    if depth > DEPTH:
        return ("too deep", t)
    if t in (list, tuple):
        return (t.__name__, tuple(canon(v, depth + 1) for v in value))
    if t.__module__ == corpus.__name__:
        return _instance(value, depth)
    return (t, repr(value))


def corpus_frames(exc: BaseException) -> tuple[tuple[str, int | None], ...]:
    """The traceback's frames in corpus code: (function, line), outermost first (the
    lines a user reads; autotier's own frames, if any, are not the corpus's)."""
    return tuple((f.name, f.lineno) for f in traceback.extract_tb(exc.__traceback__)
                 if f.filename == corpus.__file__)


def call(func: Callable[..., Any], args: tuple[Any, ...],
         watch: Callable[[], Any] | None = None) -> Outcome:
    return differential.call(func, args, canon, frames=corpus_frames, watch=watch)


def prepare(func: Any, i: int) -> None:
    hook = getattr(func, "prepare", None)
    if hook is not None:
        hook(i)


def warmed(plain: Any, i: int, watch: Callable[[], Any] | None) -> Outcome:
    """CPython's answer for input ``i`` once the function's code is specialised for it.

    Of two nan operands of ``+`` or ``*`` CPython 3.11's generic code returns the
    second, the instructions it specialises a hot function's code into the first, and
    native code is a hot function's (tests/frontend/harness.py, ``warmed_answer``): so
    where the first answers differ, CPython is asked again, warmed up on that input."""
    for _ in range(WARM_CALLS):
        prepare(plain, i)
        _quiet(plain, plain.cases()[i])
    prepare(plain, i)
    return call(plain, plain.cases()[i], watch)


def _quiet(func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            func(*args)
        except Exception:  # noqa: BLE001 - only warming the code up
            pass


@pytest.fixture(scope="module")
def hot() -> Iterator[tuple[dict[str, Any], dict[str, Row]]]:
    yield from differential.promoted(corpus, NAMES, canon, prepare)


def test_the_corpus_is_large_enough():
    assert len(NAMES) >= 60
    assert len(set(NAMES)) == len(NAMES)
    changing = [n for n in NAMES if hasattr(getattr(corpus, n), "prepare")]
    assert len(changing) >= 6, changing


@pytest.mark.parametrize("name", NAMES)
def test_answers_like_cpython(hot, name):
    hots, _ = hot
    plain, decorated = getattr(corpus, name), hots[name]
    watch = getattr(plain, "watch", None)
    plain_inputs, hot_inputs = plain.cases(), plain.cases()  # fresh objects per side
    mismatches = []
    try:
        for i, (plain_args, hot_args) in enumerate(zip(plain_inputs, hot_inputs,
                                                       strict=True)):
            before = tuple(canon(a) for a in plain_args)
            assert before == tuple(canon(a) for a in hot_args), "the family is not repeatable"
            shown = repr(plain_args)[:200]
            prepare(plain, i)
            expected = call(plain, plain_args, watch)
            prepare(plain, i)
            got = call(decorated, hot_args, watch)
            if got != expected:  # CPython 3.11 answers two nans' + and * two ways
                expected = warmed(plain, i, watch)
            mismatches += differential.mismatches(name, f"{shown} (input {i})", got,
                                                  expected)
    finally:
        prepare(plain, 0)  # the classes and helpers as the other functions expect them
    assert not mismatches, "\n".join(mismatches[:20])


def test_native_count_meets_the_floor(hot):
    _, rows = hot
    differential.assert_native_floor(rows, "object corpus", corpus.NATIVE_FLOOR, LOG)


def test_the_comparison_tells_apart_what_cpython_would():
    """The harness can fail: every difference the issue names changes the picture."""
    unset = corpus.Vec3(1.0, 2.0, 3.0)
    del unset.z
    reordered = corpus.Point(1.0, 2.0)
    del reordered.x
    reordered.x = 1.0
    hybrid = corpus.Hybrid(1.0, 2.0)
    differ = [
        (0.0, -0.0), (float("nan"), -float("nan")), (1, True), (1, 1.0),
        (complex(0.0, -0.0), complex(0.0, 0.0)), (complex(1.0, 0.0), 1.0),
        (corpus.Point(1.0, 2.0), corpus.Point(1.0, -0.0)),
        (corpus.Point(1.0, 2.0), corpus.Point(1, 2.0)),
        (corpus.Point(1.0, 2.0), reordered),  # the dict's order is observable
        (corpus.Point(1.0, 2.0), corpus.Temperature(1.0)),
        (corpus.Vec3(1.0, 2.0, 3.0), unset),
        (corpus.Vec3(1.0, 2.0, 3.0), corpus.Vec3(1.0, 2.0, float("nan"))),
        (hybrid, corpus.Hybrid(1.0, -2.0)), (hybrid, corpus.Hybrid(-1.0, 2.0)),
        (corpus.Weighted(1.0, 2.0, 3.0), corpus.Weighted(1.0, 2.5, 3.0)),
        (corpus.Square(2.0), corpus.Circle(2.0)),
        ([corpus.Point(1.0, 2.0)], [corpus.Point(1.0, 2.5)]),
        (corpus.Body(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0),
         corpus.Body(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0)),
    ]
    for a, b in differ:
        assert canon(a) != canon(b), (a, b)
    assert canon(corpus.Point(1.0, -0.0)) == canon(corpus.Point(1.0, -0.0))
    audited = corpus.Audited(1.5)
    seen = canon(audited)  # read without counting a read
    assert seen == canon(corpus.Audited(1.5)) and audited.value == 1.5
    assert canon(audited) != seen

    def scales(p):
        p.x *= 2
        return p

    p = corpus.Point(1.5, 2.0)
    seen_call = call(scales, (p,))
    assert seen_call.alias == 0 and seen_call.after == (canon(corpus.Point(3.0, 2.0)),)
    raised = call(scales, (corpus.Point(None, 1),)).result
    assert raised[:2] == ("raise", TypeError)
    assert [name for name, _ in call(corpus.helper_raises, (1.0, 0.0)).result[3]] == [
        "helper_raises", "_safe_div"]


def test_the_steps_change_what_cpython_answers():
    """prepare(i) really changes the world between calls: CPython's own answers over a
    function's inputs differ from what they would be with the first step's world."""
    for name in NAMES:
        plain = getattr(corpus, name)
        if not hasattr(plain, "prepare"):
            continue
        stepped, fixed = [], []
        try:
            for i, args in enumerate(plain.cases()):
                plain.prepare(i)
                stepped.append(call(plain, args, plain.watch))
            for args in plain.cases():
                plain.prepare(0)
                fixed.append(call(plain, args, plain.watch))
        finally:
            plain.prepare(0)
        assert stepped != fixed, name
