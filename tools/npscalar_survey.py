"""Survey numpy scalar semantics and check autotier/frontend/npscalars.py against them.

For every operator (``+ - * / // % ** & | ^ << >>`` and the six comparisons), every pair
of operand types (the eleven numpy scalar kinds and Python's int, float and bool, one
side at least numpy) and edge values of each (0, 1, -1, min, max, nan, inf, -0.0, a
signalling nan, values that overflow or leave the kind), it runs the operation in numpy
and records the result type, value, warnings and exception; likewise the unary
operators, ``int()``, ``float()``, ``bool()`` and ``math`` functions of each kind.  Each
observation is compared with what the module predicts (kind, value, trap).

    PYTHONPATH=$PWD python tools/npscalar_survey.py            # every value pair, check
    PYTHONPATH=$PWD python tools/npscalar_survey.py --tables   # also the result-kind tables
    PYTHONPATH=$PWD python tools/npscalar_survey.py --json out.json   # every observation

tests/frontend/test_npscalars.py runs the same check on a sample of the value pairs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import operator
import random
import struct
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autotier.frontend import npscalars as ns
from autotier.frontend.errors import Unsupported
from autotier.frontend.kinds import BinOp, CmpOp

Operand = ns.Operand
PY_TYPES: tuple[type, ...] = (int, float, bool)
OPERANDS: tuple[Operand, ...] = (*ns.KINDS, *PY_TYPES)

FUNCS: dict[BinOp | CmpOp, Callable[[Any, Any], Any]] = {
    BinOp.ADD: operator.add,
    BinOp.SUB: operator.sub,
    BinOp.MUL: operator.mul,
    BinOp.TRUEDIV: operator.truediv,
    BinOp.FLOORDIV: operator.floordiv,
    BinOp.MOD: operator.mod,
    BinOp.POW: operator.pow,
    BinOp.AND: operator.and_,
    BinOp.OR: operator.or_,
    BinOp.XOR: operator.xor,
    BinOp.LSHIFT: operator.lshift,
    BinOp.RSHIFT: operator.rshift,
    CmpOp.LT: operator.lt,
    CmpOp.LE: operator.le,
    CmpOp.EQ: operator.eq,
    CmpOp.NE: operator.ne,
    CmpOp.GT: operator.gt,
    CmpOp.GE: operator.ge,
}
OPS: tuple[BinOp | CmpOp, ...] = tuple(FUNCS)
UNARY: dict[ns.Unary, Callable[[Any], Any]] = {
    ns.Unary.NEG: operator.neg,
    ns.Unary.POS: operator.pos,
    ns.Unary.ABS: abs,
    ns.Unary.INVERT: operator.invert,
}
BUILTINS: dict[ns.Builtin, Callable[[Any], Any]] = {
    ns.Builtin.INT: int,
    ns.Builtin.FLOAT: float,
    ns.Builtin.BOOL: bool,
}
SNAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0_0000_0000_0001))[0]

# Which words of numpy's messages each trap stands for.
TRAP_WORDS = {
    ns.Trap.OVERFLOW: "RuntimeWarning: overflow encountered in",
    ns.Trap.DIVIDE: "RuntimeWarning: divide by zero encountered in",
    ns.Trap.INVALID: "RuntimeWarning: invalid value encountered in",
    ns.Trap.CAST_OVERFLOW: "RuntimeWarning: overflow encountered in cast",
    ns.Trap.NEGATIVE_POWER: "ValueError: Integers to negative integer powers are not allowed.",
    ns.Trap.PY_INT_RANGE: "OverflowError: Python int",
    ns.Trap.PY_INT_FLOAT: "OverflowError: int too large to convert to float",
    ns.Trap.NAN_TO_INT: "ValueError: cannot convert float NaN to integer",
    ns.Trap.INF_TO_INT: "OverflowError: cannot convert float infinity to integer",
}
# Traps where numpy only warns and answers: its answer is the predicted value too.
WARNINGS = (ns.Trap.OVERFLOW, ns.Trap.DIVIDE, ns.Trap.INVALID)


def edge_values(x: Operand) -> list[ns.Number]:
    """Edge values of a numpy kind (as Python numbers) or of a Python number type."""
    if x is bool or x == ns.BOOL:
        return [False, True]
    if x is int:
        big = [2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30, 2**1100]
        small = [0, 1, -1, 2, 3, 7, 100, 127, 128, 255, 256, -129, 1000, -(2**63)]
        return small + big + [-v for v in big]
    if x is float:
        return [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, 0.1, 3.0, 1e-50, 1e300, -1e300,
                3.4028235677973366e38, 2.0**63, math.inf, -math.inf, math.nan, -math.nan,
                SNAN]  # fmt: skip
    assert isinstance(x, ns.NpKind)
    if x.is_int:
        lo, hi, bits = x.min, x.max, x.bits
        vals = {0, 1, 2, 3, 7, 100 % (hi + 1), hi, hi - 1, bits - 1, bits, 1 << (bits // 2)}
        if lo:
            vals |= {-1, -2, -7, lo, lo + 1, -(1 << (bits // 2))}
        return sorted(vals)
    tiny, big = (1e-45, ns.F32_MAX) if x is ns.FLOAT32 else (5e-324, sys.float_info.max)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, 0.1, 3.0, 7.0, 1e10, 1e30, 2.0**63,
            tiny, big, -big, math.inf, -math.inf, math.nan, -math.nan]  # fmt: skip
    if x is ns.FLOAT64:
        vals.append(SNAN)
    return [ns.round_f32(v) if x is ns.FLOAT32 else v for v in vals]


def make(x: Operand, v: ns.Number) -> Any:
    """The operand: a numpy scalar of kind ``x`` holding ``v``, or the Python number."""
    if isinstance(x, ns.NpKind):
        if x.is_float:
            return np.array([v], dtype=np.float64).astype(x.name)[0]  # keeps a nan's bits
        return x.type(v)
    return v


def as_number(r: Any) -> ns.Number:
    if isinstance(r, (bool, np.bool_)):
        return bool(r)
    if isinstance(r, (int, np.integer)):
        return int(r)
    return float(r)


@dataclass
class Observed:
    """What numpy did: result type and value, or the exception; the warnings."""

    type: type | None
    value: ns.Number | None
    error: str | None
    warns: list[str] = field(default_factory=list)

    def text(self) -> str:
        if self.error is not None:
            return self.error
        return f"{self.type.__name__ if self.type else '?'} {self.value!r} {self.warns}"


def observe(fn: Callable[[], Any], record: list[warnings.WarningMessage]) -> Observed:
    """Run ``fn`` (inside a recording ``catch_warnings``) and note what happened."""
    del record[:]
    try:
        r = fn()
    except Exception as e:  # numpy's own exception is the observation
        obs = Observed(None, None, f"{type(e).__name__}: {e}")
    else:
        obs = Observed(type(r), as_number(r), None)
    obs.warns = [f"{w.category.__name__}: {w.message}" for w in record]
    return obs


def same_value(p: ns.Number, o: ns.Number) -> bool:
    """Equal values of equal Python type; floats also in sign (-0.0), nans equal."""
    if type(p) is not type(o):
        return False
    if isinstance(p, float) and isinstance(o, float):
        if math.isnan(p) or math.isnan(o):
            return math.isnan(p) and math.isnan(o)
        return p == o and math.copysign(1.0, p) == math.copysign(1.0, o)
    return p == o


def check_outcome(
    pred: ns.Outcome, exact_guard: bool, result_type: type | None, obs: Observed
) -> str | None:
    """The mismatch between a predicted outcome and numpy's observed one, if any."""
    if obs.error is not None:
        if pred.trap is None:
            return "numpy raised, no trap predicted"
        if pred.trap is not ns.Trap.NONFINITE and not obs.error.startswith(TRAP_WORDS[pred.trap]):
            return f"numpy raised, trap {pred.trap} predicted"
        return None
    if result_type is not None and obs.type is not result_type:
        return f"type {result_type.__name__} predicted"
    if obs.warns:
        if pred.trap is None:
            return "numpy warned, no trap predicted"
        if pred.trap is not ns.Trap.NONFINITE and not any(
            w.startswith(TRAP_WORDS[pred.trap]) for w in obs.warns
        ):
            return f"numpy warned, trap {pred.trap} predicted"
    elif pred.trap is not None and exact_guard:
        return f"numpy was quiet, trap {pred.trap} predicted"
    valued = pred.trap is None or (exact_guard and pred.trap in WARNINGS)
    if valued and (obs.value is None or not same_value(pred.value, obs.value)):
        return f"value {pred.value!r} predicted"
    return None


Mismatch = tuple[str, str, str]  # (what, values, why)


def check_binary(  # noqa: PLR0917
    op: BinOp | CmpOp,
    left: Operand,
    right: Operand,
    pairs: Iterable[tuple[ns.Number, ns.Number]],
    record: list[warnings.WarningMessage],
    sink: list[dict[str, Any]] | None = None,
) -> list[Mismatch]:
    """Compare the module's rule for ``left op right`` with numpy on the value pairs."""
    what = f"{_n(left)} {op.value} {_n(right)}"
    fn = FUNCS[op]
    native = True
    try:
        rule: ns.BinaryRule | None = ns.binary(op, left, right)
    except ns.NumpyRefuses:
        rule = None
    except Unsupported:
        rule, native = None, False
    out: list[Mismatch] = []
    for a, b in pairs:
        x, y = make(left, a), make(right, b)
        obs = observe(lambda x=x, y=y: fn(x, y), record)
        if sink is not None:
            sink.append({"op": what, "a": repr(a), "b": repr(b), "numpy": obs.text()})
        refused = obs.error is not None and obs.error.split(":")[0].endswith("TypeError")
        if rule is None:
            if refused != native:
                why = "NumpyRefuses" if native else "not native (numpy answers)"
                out.append((what, f"{a!r}, {b!r}", f"{why}, numpy: {obs.text()}"))
            continue
        why = check_outcome(ns.evaluate(rule, a, b), rule.exact_guard, rule.result.type, obs)
        if why is not None:
            pred = ns.evaluate(rule, a, b)
            out.append((what, f"{a!r}, {b!r}", f"{why} ({pred}); numpy: {obs.text()}"))
    return out


def check_unary(
    kind: ns.NpKind, values: Sequence[ns.Number], record: list[warnings.WarningMessage]
) -> list[Mismatch]:
    """Unary operators, int(), float(), bool() and math functions of ``kind``'s values."""
    out: list[Mismatch] = []
    for op, fn in UNARY.items():
        try:
            ns.unary_kind(op, kind)
            ok = True
        except ns.NumpyRefuses:
            ok = False
        for v in values:
            obs = observe(lambda fn=fn, v=v: fn(make(kind, v)), record)
            what = f"{op.value} {kind.name}"
            if not ok:
                if obs.error is None or "TypeError" not in obs.error.split(":")[0]:
                    out.append((what, repr(v), f"Unsupported, numpy: {obs.text()}"))
                continue
            why = check_outcome(ns.unary(op, kind, v), True, kind.type, obs)
            if why is not None:
                out.append((what, repr(v), f"{why}; numpy: {obs.text()}"))
    for bfn, fn in BUILTINS.items():
        for v in values:
            obs = observe(lambda fn=fn, v=v: fn(make(kind, v)), record)
            pred = ns.builtin(bfn, kind, v)
            why = check_outcome(pred, True, ns.builtin_result(bfn, kind), obs)
            if why is not None:
                out.append((f"{bfn.value}({kind.name})", repr(v), f"{why}; numpy: {obs.text()}"))
    for name in (*ns.MATH_FLOAT, *ns.MATH_BOOL, *ns.MATH_INT, "trunc"):
        mfn = getattr(math, name)
        try:
            rtype: type | None = ns.math_result(name, kind)
        except ns.NumpyRefuses:
            rtype = None
        for v in values:
            obs = observe(lambda mfn=mfn, v=v: mfn(make(kind, v)), record)
            what = f"math.{name}({kind.name})"
            if rtype is None:
                if obs.error is None or not obs.error.startswith("TypeError"):
                    out.append((what, repr(v), f"Unsupported, numpy: {obs.text()}"))
                continue
            # The reference: the function of the Python float float(x).
            arg = float(make(kind, v))
            ref = observe(lambda mfn=mfn, arg=arg: mfn(arg), record)
            if ref.text() != obs.text() or (obs.error is None and obs.type is not rtype):
                out.append((what, repr(v), f"{ref.text()} predicted; numpy: {obs.text()}"))
    return out


def _n(x: Operand) -> str:
    return x.name if isinstance(x, ns.NpKind) else x.__name__


def combos() -> list[tuple[BinOp | CmpOp, Operand, Operand]]:
    """Every (op, left, right) with a numpy operand on one side at least."""
    return [
        (op, a, b)
        for op in OPS
        for a, b in itertools.product(OPERANDS, OPERANDS)
        if isinstance(a, ns.NpKind) or isinstance(b, ns.NpKind)
    ]


def sample_pairs(
    left: Operand, right: Operand, n: int | None, rng: random.Random
) -> list[tuple[ns.Number, ns.Number]]:
    """All value pairs (n None), or the pairs of the first four values each plus n drawn."""
    lv, rv = edge_values(left), edge_values(right)
    every = list(itertools.product(lv, rv))
    if n is None or len(every) <= n + 16:
        return every
    core = list(itertools.product(lv[:4], rv[:4]))
    return core + rng.sample(every, n)


def run(n: int | None, seed: int = 0, sink: list[dict[str, Any]] | None = None) -> list[Mismatch]:
    """Check every rule on every (n None) or a sample of value pairs; the mismatches."""
    rng = random.Random(seed)
    out: list[Mismatch] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for op, a, b in combos():
            out += check_binary(op, a, b, sample_pairs(a, b, n, rng), record, sink)
        for kind in ns.KINDS:
            out += check_unary(kind, edge_values(kind), record)
    return out


def tables() -> str:
    """The result kinds, one table an operator: rows the left operand, columns the right."""
    lines: list[str] = []
    for op in OPS:
        lines.append(f"\n{op.value}\n" + " " * 8 + "".join(f"{_n(b):>8}" for b in OPERANDS))
        for a in OPERANDS:
            cells = []
            for b in OPERANDS:
                try:
                    cells.append(ns.result_kind(op, a, b).name)
                except Unsupported:
                    cells.append("-")
            lines.append(f"{_n(a):>8}" + "".join(f"{c:>8}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sample", type=int, default=None, help="value pairs drawn per rule")
    p.add_argument("--tables", action="store_true", help="print the result-kind tables")
    p.add_argument("--json", help="write every binary observation to this file")
    args = p.parse_args(argv)
    print(f"numpy {np.__version__} (the module was measured with {ns.NUMPY_MEASURED})")
    sink: list[dict[str, Any]] | None = [] if args.json else None
    mismatches = run(args.sample, sink=sink)
    if args.json and sink is not None:
        with open(args.json, "w") as f:
            json.dump(sink, f)
        print(f"{len(sink)} observations written to {args.json}")
    if args.tables:
        print(tables())
    for what, vals, why in mismatches[:200]:
        print(f"MISMATCH {what} ({vals}): {why}")
    print(f"{len(combos())} rules checked, {len(mismatches)} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
