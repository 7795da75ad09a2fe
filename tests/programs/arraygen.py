"""Random programs over numpy arrays (issue 10), as Python source, and their inputs.

A program is ``def f(a, b, k)``: ``a`` an array of one to three dimensions and one
dtype, ``b`` a 1-d array of another (or the same) dtype, ``k`` a Python int, a Python
float or a numpy scalar; an accumulator ``s`` (a Python number to start with, a numpy
scalar after its first arithmetic with an element) and a few statements drawn from
templates: element loads with indices in range, from the end and out of range
(``a[i, j]`` one int per dimension, ``a[i][j]`` through a row), stores and augmented
stores (numpy's conversions: a float into an int array, a Python int outside the
dtype), loops ``for x in a``, ``for i in range(len(a))``, ``enumerate``, ``zip``, rows
of 2-d and 3-d arrays (iterated, stored into, returned), stores into the array a loop
iterates, returns from inside loops, ``a.shape[k]``, ``a.size``, ``a.ndim``, NEP 50
arithmetic mixing numpy scalars of two dtypes with Python ints and floats (``+ - *
/``, augmented, unary, bitwise on integers), comparisons (chained too), truth,
``int``/``float``/``bool``/``abs``/``min``/``max``, ``math`` of an element, ``sum``,
``min``, ``max`` and ``in`` of an array, arrays made inside the function with
``np.zeros``/``np.empty``/``np.ones`` (a negative length: numpy's ValueError) and
returned, and values that make numpy warn (integer overflow, a division by zero, an
infinity, a nan).  ``b`` is ``a`` itself in some calls (``f(a, a, k)``).

Only what the frontend is meant to compile is drawn: numpy scalar ``//``, ``%``, ``**``
(an int constant exponent: a float power on numpy's ufunc loop is declined) and shifts
only of arrays that are not bool, no bitwise operator on a float, no ``-``, ``~`` or
``abs`` of a numpy bool (numpy's TypeError, or declined with a reason), no tuple holding
a numpy scalar (``return s, len(a)``: "a tuple of anything but numbers is not
supported"). The accumulator starts as a Python int or float (or a numpy scalar ``k`` of
another dtype than bool), so ``s - x`` is defined until it takes a numpy bool element
(``s = x``, ``max``: then numpy's TypeError, raised by the interpreter).

Every choice comes from a seeded ``random.Random``, so program ``n`` is the same in
every run and a failure names its source; :func:`inputs` draws its arguments from
pools of every layout (C and Fortran order, reversed, strided, transposed, read-only,
empty, one element) and edge values (each dtype's limits, -0.0, infinities, nans with
a sign and a payload).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

INTS = ("int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "uint64")
FLOATS = ("float64", "float32")
DTYPES = (*FLOATS, *INTS, "bool")
OPS = ["+", "-", "*"]


@dataclass(frozen=True)
class Program:
    seed: int
    source: str
    ndim: int  # of a
    dtype: str  # of a
    b_dtype: str
    k_kind: str  # "int", "float" or a dtype (a numpy scalar)


@dataclass
class _Draw:
    rng: random.Random
    ndim: int
    dtype: str
    b_dtype: str
    k_kind: str

    def pick(self, options: list[str] | tuple[str, ...]) -> str:
        return self.rng.choice(list(options))

    def idx(self) -> str:
        """An index: in range, from the end, out of range, or from ``k``."""
        if self.rng.random() < 0.1:
            return self.pick(["4", "-5", "7"])  # out of range of most arrays drawn
        options = ["0", "1", "-1", "0", "-2", "1"]
        if self.k_kind == "int":
            options.append("k % 3")
        return self.pick(options)

    def elem(self) -> str:
        """An element of ``a`` (one int per dimension, or through rows) or of ``b``."""
        if self.rng.random() < 0.3:
            return f"b[{self.idx()}]"
        indices = [self.idx() for _ in range(self.ndim)]
        if self.ndim > 1 and self.rng.random() < 0.25:
            return "a" + "".join(f"[{i}]" for i in indices)
        return f"a[{', '.join(indices)}]"

    def value(self) -> str:
        """A value to store or add: Python numbers, ``k``, ``s``, an element."""
        return self.pick(["k", "s", "1", "-1", "0.5", "2.5", "300", "-0.0", self.elem()])

    def op(self) -> str:
        return self.pick(OPS)

    def bitwise_ok(self) -> bool:
        return self.dtype not in FLOATS and self.b_dtype not in FLOATS

    def made_dtype(self) -> str:
        """A dtype argument of ``np.zeros``: ``a``'s own half the time (stores of its
        elements convert natively), else any spelling the frontend reads."""
        if self.rng.random() < 0.5:
            return "np.bool_" if self.dtype == "bool" else f"np.{self.dtype}"
        return self.pick(["np.float64", "np.float32", "np.int64", "np.int32", "np.int8",
                          "np.uint8", "np.uint64", "np.bool_", "float", "int", '"int16"'])

    # ------------------------------------------------------------ statements
    def statement(self) -> str:
        o, e, v = self.op(), self.elem(), self.value()
        common = [
            f"s = s {o} {e}",
            f"s = s {o} {e} {self.op()} {self.elem()}",
            f"if {e} > k:\n    s = s {o} 1",
            f"if {e} == {self.elem()}:\n    s = s + 1\nelse:\n    s = s {o} 2",
            f"s = s + ({e} < k)",
            f"s = s + ({e} != {self.elem()})",
            f"s = s {o} k / {e}",
            f"s = s {o} {e} / k",
            f"s = s + {e} * 0.5",
            f"{e} = {v}",
            f"{e} += {v}",
            f"{e} -= {v}",
            "s = s + a.size + a.ndim",
            f"s = s {o} a.shape[{self.pick([str(d) for d in range(self.ndim)] + ['-1'])}]",
            f"s = s {o} len(b)",
            f"for x in b:\n    s = s {o} x",
            f"for i in range(len(b)):\n    b[i] = b[i] {o} {self.pick(['k', '1', 'i', '0.5'])}",
            f"for i, x in enumerate(b):\n    s = s {o} x * i",
            f"for x, y in zip(b, b):\n    s = s {o} (x {self.pick(['+', '*'])} y)",
            "for x in b:\n    if x > s:\n        s = x",
            f"for x in b:\n    if x > k:\n        return x {o} s",
            f"for i, x in enumerate(b):\n    b[{self.idx()}] = x {o} 1\n    s = s + x",
            f"if {e}:\n    s = s {o} 1",
            f"if 0 < {e} <= k:\n    s = s {o} {self.elem()}",
            f"s = s {o} int({e})",
            f"s = s {o} float({e})",
            f"s = s {o} {self.pick(['sum', 'min', 'max'])}(b)",
            "if k in b:\n    s = s + 1",
            f"if b[{self.idx()}] in a{'' if self.ndim == 1 else '[0]'}:\n    s = s + 2",
            f"s {o}= {e}",
            f"for x in b:\n    s {o}= x\n    s *= {self.pick(['k', '0.5', '2'])}",
            f"s = s {o} math.{self.pick(['sqrt', 'floor', 'fabs', 'exp'])}({e})",
            f"s = {self.pick(['max', 'min'])}(s, {e})",
            f"s = {self.pick(['max', 'min'])}(s, k, {e})",
            f"t = np.{self.pick(['zeros', 'ones'])}(len(b) - 3, {self.made_dtype()})\n"
            "s = s + len(t)",
            "s = -s",
            "if s > k:\n    s = s - k",
            f"t = np.zeros(len(b), dtype={self.made_dtype()})\n"
            f"for i in range(len(b)):\n    t[i] = b[i] {o} k\nfor x in t:\n    s = s + x",
            f"t = np.{self.pick(['zeros', 'ones', 'empty'])}(3, {self.made_dtype()})\n"
            f"t[0] = k\nt[1] = {e}\nt[2] = 1\ns = s {o} t[{self.idx()}]",
        ]
        if "bool" not in (self.dtype, self.b_dtype, self.k_kind):
            # (-bool is numpy's TypeError, abs and ~ of a numpy bool are declined; s
            # may be one, taken from an element or k)
            common.append("s = abs(s)")
            common.append(f"s = s {o} -{e}")
            common.append(f"s = s {o} bool({e}) + abs({e})")
            if self.bitwise_ok():
                common.append(f"s = s {o} ~{e}")
            common.append(f"s = s {o} ({e} {self.pick(['&', '|', '^'])} {self.elem()})")
            # numpy scalar // % ** and shifts (frontend/npdivpow.py); a float ** whose
            # result is neither operand's kind (numpy's ufunc loop) is declined, so the
            # exponent is an int constant
            common.append(f"s = s {o} ({e} // {self.pick(['3', '-2', '0.5', 'k'])})")
            common.append(f"s = s {o} ({e} % {self.pick(['3', '-2', '0.5', 'k'])})")
            common.append(f"s = s {o} {e} ** {self.pick(['2', '3'])}")
            if self.bitwise_ok():
                common.append(f"s = s {o} ({e} {self.pick(['<<', '>>'])} "
                              f"{self.pick(['1', '3', '70'])})")
        templates = common + getattr(self, f"_dim{self.ndim}")(o, v)
        return self.pick(templates)

    def _dim1(self, o: str, v: str) -> list[str]:
        return [
            f"for x in a:\n    s = s {o} x",
            f"for i in range(len(a)):\n    s = s {o} a[i]",
            f"for i in range(len(a)):\n    a[i] = a[i] {o} {self.pick(['k', '1', 'i', '0.5'])}",
            "for i, x in enumerate(a):\n    if x > s:\n        s = x",
            f"for i, x in enumerate(a):\n    s = s {o} x * i",
            f"n = len(a)\nwhile n > 0:\n    n = n - 1\n    s = s {o} a[n]",
            f"for i in range(len(a) - 1, -1, -1):\n    s = s {o} a[i]",
            f"for x, y in zip(a, b):\n    s = s {o} x * y",
            f"for i in range(min(len(a), len(b))):\n    s = s {o} a[i] * b[i]",
            f"for x in a:\n    if x == k:\n        break\n    s = s {o} x",
            f"for x in a:\n    a[{self.idx()}] = x {o} 1\n    s = s + x",
            f"t = np.{self.pick(['zeros', 'ones', 'empty'])}(len(a), dtype="
            f"{self.made_dtype()})\nfor i in range(len(a)):\n    t[i] = a[i]\n"
            f"s = s {o} t[{self.idx()}]",
        ]

    def _dim2(self, o: str, v: str) -> list[str]:
        return [
            f"for i in range(a.shape[0]):\n    for j in range(a.shape[1]):\n"
            f"        s = s {o} a[i, j]",
            f"n, m = a.shape\nfor i in range(n):\n    for j in range(m):\n"
            f"        a[i, j] = a[i, j] {o} {self.pick(['k', '1', 'i', '0.5'])}",
            f"for row in a:\n    for x in row:\n        s = s {o} x",
            f"for i, row in enumerate(a):\n    s = s {o} row[{self.idx()}]",
            f"for row in a:\n    s = s {o} len(row)",
            f"for row in a:\n    for x in row:\n        if x > k:\n            return x\n"
            f"    s = s {o} row[0]",
            f"for row in a:\n    row[{self.idx()}] = {v}",
            f"s = s {o} len(a) * a.shape[1]",
            f"for i in range(len(a)):\n    a[i][{self.idx()}] = {v}",
            f"t = np.{self.pick(['zeros', 'ones', 'empty'])}((a.shape[0], a.shape[1]), "
            f"dtype={self.made_dtype()})\nfor i in range(a.shape[0]):\n"
            f"    for j in range(a.shape[1]):\n        t[i, j] = a[i, j] {o} k\n"
            f"s = s {o} t[{self.idx()}, {self.idx()}]",
        ]

    def _dim3(self, o: str, v: str) -> list[str]:
        return [
            f"for i in range(a.shape[0]):\n    for j in range(a.shape[1]):\n"
            f"        for m in range(a.shape[2]):\n            s = s {o} a[i, j, m]",
            f"for plane in a:\n    for row in plane:\n        for x in row:\n"
            f"            s = s {o} x",
            f"n, m, p = a.shape\ns = s {o} n * m * p",
            f"for plane in a:\n    s = s {o} plane[{self.idx()}, {self.idx()}]",
            f"t = np.zeros((2, 2, 2), {self.made_dtype()})\nt[1, 0, 1] = {v}\n"
            f"s = s {o} t[1, 0, {self.idx()}]",
        ]


def program(seed: int) -> Program:
    """Program ``seed``: ``def f(a, b, k)`` and the kinds of its arguments."""
    rng = random.Random(seed)
    ndim = rng.choices((1, 2, 3), (55, 35, 10))[0]
    dtype = rng.choice(DTYPES)
    b_dtype = dtype if rng.random() < 0.25 else rng.choice(DTYPES)
    k_kind = rng.choices(("int", "float", rng.choice(DTYPES)), (45, 40, 15))[0]
    draw = _Draw(rng, ndim, dtype, b_dtype, k_kind)
    lines = ["def f(a, b, k):", f"    s = {rng.choice(['0', '0.0', 'k', '1'])}"]
    if k_kind == "bool":
        lines[-1] = f"    s = {rng.choice(['0', '0.0', '1'])}"  # never a bool
    for _ in range(rng.randint(1, 5)):
        lines.extend("    " + line for line in draw.statement().splitlines())
    # (not ``return s, len(a)``: a tuple of a numpy scalar is declined, "a tuple of
    # anything but numbers is not supported", architecture's "numpy arrays")
    returned = ["s", "s", "s", "s", "a", "b", "len(a), a.ndim", "a.shape"]
    if ndim > 1:
        returned.append(f"a[{draw.idx()}]")  # a row: numpy's view, owned natively
    if any(line.startswith("    t = np.") for line in lines):
        returned.append("t")  # an array the function made
    lines.append("    return " + rng.choice(returned))
    return Program(seed, "\n".join(lines) + "\n", ndim, dtype, b_dtype, k_kind)


# ------------------------------------------------------------------ inputs

def _nan(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


def tame_values(dtype: str) -> list[Any]:
    """Small values of ``dtype`` (-0.0 among the floats): arithmetic on them seldom
    traps, so most calls over them can answer natively."""
    if dtype == "bool":
        return [True, False, True, True, False]
    if dtype in FLOATS:
        return [1.5, -0.0, 3.0, -2.25, 0.5, 7.0, 2.0]
    return [3, 1, 0, 7, 2] if np.iinfo(dtype).min == 0 else [3, -1, 0, 7, -5, 2]


def edge_values(dtype: str) -> list[Any]:
    """Values of ``dtype`` an array holds: its limits, small ones, and for floats
    -0.0, infinities, nans (negative, with a payload) and the largest and least."""
    if dtype == "bool":
        return [True, False, True, True, False]
    if dtype in FLOATS:
        info = np.finfo(dtype)
        return [1.5, -0.0, 3.0, -2.25, float(info.max), float("inf"), float("nan"), 0.0,
                _nan(0xFFF8000000000000), _nan(0x7FF8000000000123), float(info.tiny) / 4,
                -float("inf"), 7.0]
    iinfo = np.iinfo(dtype)
    small = tame_values(dtype)
    return [small[0], int(iinfo.max), small[1], small[2], int(iinfo.min), small[3],
            int(iinfo.max) - 1, small[4]]


def _filled(dtype: str, shape: tuple[int, ...], start: int) -> np.ndarray:
    """An array of ``shape`` cycling through ``dtype``'s values from ``start``: the
    edge values for an odd ``start``, the tame ones for an even one."""
    values = edge_values(dtype) if start % 2 else tame_values(dtype)
    count = int(np.prod(shape)) if shape else 1
    flat = [values[(start + n) % len(values)] for n in range(count)]
    with np.errstate(all="ignore"):
        return np.array(flat, dtype=dtype).reshape(shape)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def arrays(dtype: str, ndim: int) -> list[np.ndarray]:
    """Arrays of ``dtype`` and ``ndim`` in every layout the frontend reads."""
    if ndim == 1:
        return [_filled(dtype, (5,), 0), _filled(dtype, (7,), 3)[::-1],
                _filled(dtype, (9,), 1)[::2], _readonly(_filled(dtype, (4,), 2)),
                _filled(dtype, (0,), 0), _filled(dtype, (1,), 5),
                _filled(dtype, (8,), 4)[1:6], _filled(dtype, (3,), 6),
                _filled(dtype, (6,), 2)[::-1], _filled(dtype, (9,), 4)[::3]]
    if ndim == 2:
        return [_filled(dtype, (3, 4), 0), np.asfortranarray(_filled(dtype, (3, 2), 1)),
                _filled(dtype, (3, 5), 2).T, _filled(dtype, (4, 3), 3)[::-1],
                _filled(dtype, (3, 6), 4)[:, ::-2], _readonly(_filled(dtype, (2, 3), 5)),
                _filled(dtype, (0, 3), 0), _filled(dtype, (1, 1), 6),
                np.asfortranarray(_filled(dtype, (2, 4), 2)), _filled(dtype, (4, 4), 6)[::2, 1:]]
    return [_filled(dtype, (2, 3, 4), 0), _filled(dtype, (4, 3, 2), 1).transpose(2, 1, 0),
            _filled(dtype, (3, 3, 4), 2)[::-1, :, ::2],
            np.asfortranarray(_filled(dtype, (2, 2, 3), 3)),
            _readonly(_filled(dtype, (2, 3, 2), 4)), _filled(dtype, (2, 0, 3), 0),
            np.asfortranarray(_filled(dtype, (3, 2, 2), 2))]


def ks(kind: str) -> list[Any]:
    """Values of ``k`` of one kind: Python ints (past every small dtype, past int64's
    half), Python floats (-0.0, nan, inf, huge), or numpy scalars of a dtype."""
    if kind == "int":  # (small ones twice as often; 2**53 + 1 is no float64)
        return [0, 1, 3, -2, 300, 2**62, -1, 1, 3, -2, 2, 2**53 + 1]
    if kind == "float":  # (0.1 is no float32, 1e-40 a float32 subnormal)
        return [0.0, 1.5, -0.0, float("nan"), float("inf"), 1e300, -3.5, 1.5, -3.5, 0.25,
                0.1, 1e-40]
    with np.errstate(all="ignore"):
        return [np.dtype(kind).type(v) for v in edge_values(kind)[:5] + tame_values(kind)]


def inputs(prog: Program, count: int, rng: random.Random) -> list[tuple[Any, Any, Any]]:
    """``count`` argument triples for ``prog`` (one compile serves them all: the
    dtypes, ndims and kinds are the program's)."""
    a_pool, b_pool, k_pool = (arrays(prog.dtype, prog.ndim), arrays(prog.b_dtype, 1),
                              ks(prog.k_kind))
    out = []
    for _ in range(count):
        a = rng.choice(a_pool)
        # f(a, a, k) a quarter of the time where a can be b: stores through one name
        # are seen through the other (the harness copies it once for each side)
        alias = prog.ndim == 1 and prog.b_dtype == prog.dtype and rng.random() < 0.25
        out.append((a, a if alias else rng.choice(b_pool), rng.choice(k_pool)))
    return out
