"""The registry of numerics helpers, and the LLVM types and constants they share.

:mod:`autotier.frontend.numerics` (int helpers), :mod:`autotier.frontend.floatops`
(float operators, conversions, comparisons) and :mod:`autotier.frontend.mathlib`
(``math``) each register their emitters here with :func:`helper`;
``numerics.Numerics`` defines them in a module on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llvmlite import ir

if TYPE_CHECKING:
    from autotier.frontend.numerics import Emitter

I1 = ir.IntType(1)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F64 = ir.DoubleType()

Emit = Callable[["Emitter"], None]
Spec = tuple[tuple[ir.Type, ...], ir.Type, Emit]
HELPERS: dict[str, Spec] = {}


def helper(name: str, inputs: tuple[ir.Type, ...], out: ir.Type) -> Callable[[Emit], Emit]:
    """Register the emitter of ``i32 @name(inputs..., out* %out)``."""

    def register(emit: Emit) -> Emit:
        if name in HELPERS:
            raise ValueError(f"numerics helper {name!r} registered twice")
        HELPERS[name] = (inputs, out, emit)
        return emit

    return register


def i32(value: int) -> ir.Constant:
    return ir.Constant(I32, value)


def i64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def f64(value: float) -> ir.Constant:
    return ir.Constant(F64, value)
