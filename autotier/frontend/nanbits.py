"""Which values of a function could show the bits of a nan they hold.

A nan's sign and payload can be seen only through what the function returns, passes
to a call or to a ``math`` function (``math.copysign(1.0, x)``), or computes from it
by an operation that carries a nan on (arithmetic, ``-x``, ``abs``, ``float()``, a
select, a block argument).  Comparisons, truth tests, ``math.isnan``/``isinf``/
``isfinite`` and int conversions (which raise for every nan) see only *whether* a
value is a nan, and LLVM's float rewrites keep that, and every non-nan value, exact.

So float ``+ - *`` whose result's bits no one can see (mandelbrot's: it returns an
int) are emitted as LLVM's own instructions, which it may fold and strength-reduce;
the others through :mod:`autotier.frontend.floatarith`.  Anything this module does
not know is taken as seen.
"""

from __future__ import annotations

from autotier.frontend import ir

# Instructions whose result carries their operands' nan bits on.
_CARRIERS = (ir.BinaryOp, ir.UnaryOp, ir.Abs, ir.ToFloat, ir.CheckBound)
# Instructions that see at most whether an operand is a nan.
_BLIND = (ir.Const, ir.Undefined, ir.Compare, ir.Truth, ir.IsNone, ir.ToInt, ir.Round, ir.MakeRange,
          ir.GetIter, ir.IterHasNext, ir.IterValue, ir.IterAdvance)
_BLIND_MATH = frozenset({"isnan", "isinf", "isfinite", "floor", "ceil", "trunc"})


def seen(func: ir.Function) -> frozenset[ir.Var]:
    """The Vars of ``func`` whose bits (a nan's sign and payload) may be observed."""
    sources: dict[ir.Var, list[ir.Var]] = {}  # value -> the values its bits come from
    roots: list[ir.Var] = []
    params = {block.id: block.params for block in func.blocks}
    for block in func.blocks:
        for instr in block.instrs:
            if isinstance(instr, ir.Select):
                sources.setdefault(instr.dest, []).extend((instr.if_true, instr.if_false))
            elif isinstance(instr, _CARRIERS):
                sources.setdefault(instr.dest, []).extend(instr.uses())
            elif isinstance(instr, _BLIND) or (
                    isinstance(instr, ir.MathCall) and instr.fn in _BLIND_MATH):
                pass
            else:  # a call, a math function, anything else: sees everything it takes
                roots.extend(instr.uses())
        term = block.term
        for target, args in term.successors():
            for param, arg in zip(params[target], args, strict=True):
                sources.setdefault(param, []).append(arg)
        if not isinstance(term, (ir.Jump, ir.Branch)):  # a return (or unknown): seen
            roots.extend(term.uses())
    out: set[ir.Var] = set()
    while roots:
        var = roots.pop()
        if var not in out:
            out.add(var)
            roots.extend(sources.get(var, ()))
    return frozenset(out)
