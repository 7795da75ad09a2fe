"""Where a nan's bits can be seen (frontend/nanbits.py), and what the lowering emits.

Float ``+ - *`` whose result's bits may show are x86's instructions in inline asm
(frontend/floatarith.py); the others LLVM's own.  The answers themselves are checked
against CPython, nans of every sign and payload, by tests/e2e/test_nan_bits.py.
"""

from __future__ import annotations

import math
import re
import struct

from autotier.abi import Kind
from autotier.bench_kernels import mandelbrot
from autotier.frontend import lower
from autotier.frontend.builtins_table import Resolver
from autotier.frontend.decode import decode
from autotier.frontend.nanbits import seen
from autotier.frontend.stackflow import build_ir
from tests.frontend.harness import check

FLOAT, INT = Kind.FLOAT, Kind.INT


def asm_ops(func, kinds):
    return [op.removeprefix("v") for op in
            re.findall(r'asm\s+"(v?[a-z]+sd) ', lower(func, kinds).ir)]


def hints_seen(func):
    return {v.hint for v in seen(build_ir(decode(func), Resolver(func))) if v.hint}


def returned(y):
    t = y * -1.0
    return t + 1.0


def compared(y):
    t = y * -1.0
    return t > 0.0


def through_a_loop(y, n):
    s = y
    for _ in range(n):
        s = s * -1.0
    return s


def counted(y, n):
    s = y
    k = 0
    for _ in range(n):
        s = s * -1.0
        if s != s:
            k += 1
    return k


def sign_of(y):
    t = y * -1.0
    return math.copysign(1.0, t)


def nan_tested(y):
    t = y * -1.0
    return math.isnan(t) or int(t) > 0


def selected(y, z):
    t = y * -1.0
    u = z * 3.0
    return max(t, u)


def test_returned_arithmetic_is_seen_and_x86s():
    assert "t" in hints_seen(returned)
    assert asm_ops(returned, (FLOAT,)) == ["mulsd", "addsd"]


def test_compared_arithmetic_is_not_seen_and_llvms():
    assert "t" not in hints_seen(compared)
    assert asm_ops(compared, (FLOAT,)) == []
    assert "t" not in hints_seen(nan_tested)
    assert asm_ops(nan_tested, (FLOAT,)) == []


def test_block_arguments_carry_bits():
    assert "s" in hints_seen(through_a_loop)
    assert asm_ops(through_a_loop, (FLOAT, INT))
    assert "s" not in hints_seen(counted)  # only compared: s != s
    assert asm_ops(counted, (FLOAT, INT)) == []


def test_math_functions_and_selects_see_their_arguments():
    assert "t" in hints_seen(sign_of)
    assert {"t", "u"} <= hints_seen(selected)


def test_mandelbrot_returns_an_int_and_keeps_llvms_arithmetic():
    assert asm_ops(mandelbrot, (FLOAT, FLOAT, INT)) == []


def test_answers_are_cpythons_bit_for_bit():
    nans = [math.nan, -math.nan, struct.unpack("<d", struct.pack("<Q", 0xFFF0000000000005))[0]]
    for func in (returned, compared, sign_of, nan_tested):
        for y in [*nans, 1.5, -2.0, 0.0, -0.0, math.inf]:
            check(func, y)
    for y in [*nans, 2.5, math.inf]:
        for n in (0, 1, 2, 3):
            check(through_a_loop, y, n)
            check(counted, y, n)
        for z in [*nans, -1.0]:
            check(selected, y, z)
