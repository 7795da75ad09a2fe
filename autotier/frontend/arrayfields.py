"""An ndarray argument's data pointer, dimensions and strides, held while no Python code
can run, and read from the array again after anything that may run some.

An array's fields change only when Python code runs (``a.shape = ...``, ``a.resize``,
another thread): native code runs none between its periodic checks and its calls.  So
each array parameter's fields are loaded into stack slots at the function's start, and
after every point where Python code may have run they are compared with the array's
own (the periodic check's release, a call through the C API: a change leaves for the
interpreter, ``STALE``, resumed there) or read again (after a native callee that
deoptimised, whose call must not run twice); every access reads the slots, which LLVM
turns into registers, invariants of the function's loops where no callee deoptimises
(no field is loaded per element, ``i * stride`` becomes a pointer increment).  Reading
them at each access would be the same answer at the cost of six dependent loads per
element.

Which parameter an array value is comes from :func:`origins`: a value merged from two
parameters (``x = a if c else b``) has none, and reads the array itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.abi import ArrayKind
from autotier.dispatch import arrays as layout
from autotier.frontend import ir
from autotier.frontend.values import I64, PTR

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering
    from autotier.frontend.typeinfer import Typed

_FOLLOW = (ir.CheckBound, ir.GetIter, ir.IterAdvance)


def origins(typed: Typed) -> dict[ir.Var, int]:
    """The parameter (by position) each array or array iterator value is, where one."""
    func = typed.func
    out: dict[ir.Var, int | None] = {p: i for i, p in enumerate(func.params)
                                     if p in typed.arrays}
    changed = True
    while changed:
        changed = False
        for blk in func.blocks:
            for instr in blk.instrs:
                if isinstance(instr, _FOLLOW) and instr.dest in typed.arrays:
                    (source,) = instr.uses()
                    if source in out and out.get(instr.dest, -1) != out[source]:
                        out[instr.dest] = out[source]
                        changed = True
            for target, args in blk.term.successors():
                for param, arg in zip(func.block(target).params, args, strict=True):
                    if param not in typed.arrays or arg not in out:
                        continue
                    merged = out[arg] if param not in out or out[param] == out[arg] else None
                    if param not in out or merged != out[param]:
                        out[param] = merged
                        changed = True
    return {v: i for v, i in out.items() if i is not None}


class Fields:
    """The stack slots of one array parameter's fields (data, then each axis's
    dimension and stride)."""

    def __init__(self, fl: FunctionLowering, obj: ll.Value, kind: ArrayKind) -> None:
        self.obj = obj
        self.kind = kind
        self.data = fl.alloca(PTR, name="data")
        self.dims = [fl.alloca(I64, name=f"dim{k}") for k in range(kind.ndim)]
        self.strides = [fl.alloca(I64, name=f"stride{k}") for k in range(kind.ndim)]

    def load(self, b: ll.IRBuilder) -> None:
        """Read the fields from the array into the slots."""
        b.store(layout.data(b, self.obj), self.data)
        for k in range(self.kind.ndim):
            b.store(layout.dim(b, self.obj, k), self.dims[k])
            b.store(layout.stride(b, self.obj, k), self.strides[k])


class ArrayFields:
    """The field slots of a function's array parameters, and their refreshes."""

    def __init__(self, fl: FunctionLowering) -> None:
        self.fl = fl
        self.origin = origins(fl.typed)
        self.params: dict[int, Fields] = {}

    def start(self, args: list[ll.Value]) -> None:
        """At the function's start: every array parameter's slots, filled."""
        typed = self.fl.typed
        for i, var in enumerate(typed.func.params):
            if var in typed.arrays:
                self.params[i] = Fields(self.fl, args[i], typed.arrays[var])
                self.params[i].load(self.fl.b)

    def refresh(self) -> None:
        """Python code may have run: read every array's fields again (after a native
        callee that deoptimised, whose call must not run twice)."""
        for fields in self.params.values():
            fields.load(self.fl.b)

    def changed(self) -> ll.Value:
        """Python code may have run: i1, an array's fields are not the ones held (it was
        reshaped, resized, given another dtype or strides in place): the caller leaves
        for the interpreter.  Where nothing changed (always, but for such code) the
        held fields stay the function's invariants, which LLVM hoists out of loops."""
        b = self.fl.b
        out: ll.Value = ll.Constant(ll.IntType(1), 0)
        for f in self.params.values():
            out = b.or_(out, b.not_(layout.matches(b, f.obj, f.kind)))
            out = b.or_(out, b.icmp_unsigned("!=", layout.data(b, f.obj), b.load(f.data)))
            for k in range(f.kind.ndim):
                for now, held in ((layout.dim(b, f.obj, k), f.dims[k]),
                                  (layout.stride(b, f.obj, k), f.strides[k])):
                    out = b.or_(out, b.icmp_signed("!=", now, b.load(held)))
        return out

    def of(self, var: ir.Var) -> Fields | None:
        i = self.origin.get(var)
        return None if i is None else self.params.get(i)


def data(fl: FunctionLowering, var: ir.Var, obj: ll.Value) -> ll.Value:
    fields = fl.array_fields.of(var)
    return layout.data(fl.b, obj) if fields is None else fl.b.load(fields.data, name="data")


def dim(fl: FunctionLowering, var: ir.Var, obj: ll.Value, axis: int | ll.Value) -> ll.Value:
    fields = fl.array_fields.of(var)
    if fields is None or not isinstance(axis, int):
        return layout.dim(fl.b, obj, axis)
    return fl.b.load(fields.dims[axis], name="dim")


def stride(fl: FunctionLowering, var: ir.Var, obj: ll.Value, axis: int) -> ll.Value:
    fields = fl.array_fields.of(var)
    if fields is None:
        return layout.stride(fl.b, obj, axis)
    return fl.b.load(fields.strides[axis], name="stride")
