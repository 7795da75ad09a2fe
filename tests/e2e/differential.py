"""What the differential corpora (``test_containers.py``, ``test_objects.py``) share: a
call's outcome as CPython could observe it, and promoting a whole corpus through
``@autotier.hot`` on a private broker with a table of what ran natively.

Each corpus test brings its own ``canon`` (a comparable picture of a value: equal
pictures mean CPython could not tell the two values apart) and, optionally, a
``frames`` function naming the traceback lines that count.
"""

from __future__ import annotations

import logging
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import autotier
from autotier.broker import Broker
from tests.runtime.helpers import interpreted_frames, make_hot

Canon = Callable[[Any], Any]
PROMOTE_CALLS = 3  # past the threshold of 2


class Outcome(NamedTuple):
    result: Any  # canon() of the result, or ("raise", type, message[, frames])
    alias: int | None  # which argument the result is, if one
    warned: tuple[tuple[type, str], ...]
    after: tuple[Any, ...]  # canon() of each argument after the call
    shared: Any = None  # canon() of a function's watch(), if it has one


def call(func: Callable[..., Any], args: tuple[Any, ...], canon: Canon, *,
         frames: Callable[[BaseException], Any] | None = None,
         watch: Callable[[], Any] | None = None) -> Outcome:
    """``func(*args)`` as CPython could observe it (module doc)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = func(*args)
        except Exception as exc:  # noqa: BLE001 - compared with CPython's
            result: Any = ("raise", type(exc), str(exc))
            if frames is not None:
                result = (*result, frames(exc))
            alias = None
        else:
            result = canon(value)
            alias = next((k for k, a in enumerate(args) if a is value), None)
    # catch_warnings is process-wide: a numba compile on the broker thread may warn
    # meanwhile (its deprecation warnings); corpus code never raises numba's classes
    warned = tuple((w.category, str(w.message)) for w in caught
                   if not w.category.__module__.startswith("numba"))
    shared = None if watch is None else canon(watch())
    return Outcome(result, alias, warned, tuple(canon(a) for a in args), shared)


class Row(NamedTuple):
    name: str
    state: str
    backend: str | None
    native: bool
    reason: str | None
    callees: tuple[str, ...]


def promoted(corpus: Any, names: list[str], canon: Canon,
             prepare: Callable[[Any, int], None] = lambda func, i: None,
             ) -> Iterator[tuple[dict[str, Any], dict[str, Row]]]:
    """A fixture's body: each corpus function decorated (``backend="auto"``, a private
    broker), promoted with its first input and compiled or declined for real; yields
    the hot functions and what each became, and lets them go afterwards."""
    broker = Broker()
    hots: dict[str, Any] = {}
    for name in names:
        func = getattr(corpus, name)
        hots[name] = hf = make_hot(func, threshold=2, backend="auto", broker=broker)
        for _ in range(PROMOTE_CALLS):
            prepare(func, 0)
            call(hf, func.cases()[0], canon)
    assert broker.wait_idle(300), "the corpus's compiles did not finish"
    rows: dict[str, Row] = {}
    for name, hf in hots.items():
        func = getattr(corpus, name)
        prepare(func, 0)
        with interpreted_frames(hf) as frames:
            call(hf, func.cases()[0], canon)
        st = autotier.stats(hf)
        native = st.state == "compiled" and frames[0] == 0
        rows[name] = Row(name, st.state, st.backend, native, st.reason, st.callees)
    yield hots, rows
    for hf in hots.values():
        autotier.invalidate(hf)
    autotier.prune()
    broker.shutdown(10)


def native_table(rows: dict[str, Row], what: str, floor: int) -> tuple[int, str]:
    """(how many ran natively, a table of every function: state, backend, native, and
    the callees it compiled in or why it is not native)."""
    lines = [f"{'function':28} {'state':11} {'backend':7} native  callees / reason"]
    for row in rows.values():
        why = ", ".join(row.callees) if row.native else (row.reason or "")
        lines.append(f"{row.name:28} {row.state:11} {row.backend or '-':7} "
                     f"{'yes' if row.native else 'no ':6}  {why.replace(chr(10), ' ')[:90]}")
    native = sum(row.native for row in rows.values())
    lines.append(f"{native} of {len(rows)} {what} functions ran natively (floor {floor})")
    return native, "\n".join(lines)


def assert_native_floor(rows: dict[str, Row], what: str, floor: int,
                        log: logging.Logger) -> None:
    """Print (``-s``) and log the :func:`native_table`; fail below ``floor`` natively."""
    native, table = native_table(rows, what, floor)
    print("\n" + table)
    log.info("%s", table)
    assert native >= floor, table


def mismatches(name: str, shown: str, got: Outcome, expected: Outcome) -> list[str]:
    """One line per field where autotier's outcome is not CPython's."""
    return [f"{name}{shown}: {f}: autotier {getattr(got, f)!r}, CPython "
            f"{getattr(expected, f)!r}"
            for f in Outcome._fields if getattr(got, f) != getattr(expected, f)]


SCALARS = (float, complex, int, bool, str, type(None))


def scalar_picture(value: Any) -> tuple[str, Any]:
    """The canonical picture of a value of an exact type in :data:`SCALARS` (the corpora's
    ``canon`` of every value starts here): floats and complex numbers by their bits (so
    ``0.0`` is not ``-0.0`` and nans keep sign and payload), the others by type and value
    (``1`` is not ``True``)."""
    t = type(value)
    if t is float:
        return ("float", struct.pack("<d", value))
    if t is complex:
        return ("complex", struct.pack("<dd", value.real, value.imag))
    return (t.__name__, value)


def cases(family: Callable[[], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@cases(family)`` over a corpus function: records its input family (a function
    returning fresh argument tuples), which :func:`promoted` and the tests call."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.cases = family  # type: ignore[attr-defined]
        return func

    return mark
