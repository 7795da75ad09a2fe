"""An ndarray argument's data pointer, dimensions and strides, held while no Python code
can run, and read from the array again after anything that may run some.

An array's fields (its data pointer, shape, strides and writeable flag) change only
when Python code runs (``a.shape = ...``, ``a.resize``, ``a.flags.writeable = False``,
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

An array the function makes (``numpy.zeros``: :mod:`.newarrays`) has held fields too,
loaded where it is made, when no Python code can reach it: it never *escapes* (every
use of it is an access of its elements, shape or length, an iterator over it, its
return) and it is made outside every loop (so the slots hold the one array all its
values are).  Nothing but native code holds such an array, so its fields never change
and are never read again; any other made array reads the array itself at each access.
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
#: instructions that read or write an array's elements or shape, and nothing else of it
_ACCESSES = (ir.GetItem, ir.SetItem, ir.GetCell, ir.SetCell, ir.ArrayAttr, ir.ArrayDim,
             ir.ShapeCheck, ir.ShapeTuple, ir.Len, ir.GetIter, ir.IterHasNext,
             ir.IterAdvance, ir.IterValue, ir.CheckBound)
#: where an array comes from: a parameter (by position) or the instruction that made it
Origin = int | ir.Var


def _container(instr: ir.Instr) -> ir.Var | None:
    from autotier.frontend.typeinfer import container_of

    if isinstance(instr, ir.CheckBound):
        return instr.operand
    return container_of(instr)


def _in_loop(func: ir.Function, bid: int) -> bool:
    """Whether block ``bid`` can be reached from itself."""
    seen: set[int] = set()
    todo = [t for t, _ in func.block(bid).term.successors()]
    while todo:
        b = todo.pop()
        if b == bid:
            return True
        if b not in seen:
            seen.add(b)
            todo.extend(t for t, _ in func.block(b).term.successors())
    return False


def _made(typed: Typed) -> dict[ir.Var, int]:
    """The arrays made outside loops (``numpy.zeros``), by their values, with their blocks."""
    func = typed.func
    return {instr.dest: blk.id for blk in func.blocks if blk.id in typed.reached
            for instr in blk.instrs
            if isinstance(instr, ir.CallObject) and instr.makes is not None
            and not _in_loop(func, blk.id)}


def _escaped(typed: Typed, out: dict[ir.Var, Origin | None]) -> set[ir.Var]:
    """The made arrays some value of which is used otherwise than as an array accessed."""
    escaped: set[ir.Var] = set()
    for blk in typed.func.blocks:
        for instr in blk.instrs:
            for u in instr.uses():
                origin = out.get(u)
                if isinstance(origin, ir.Var) and not (
                        isinstance(instr, _ACCESSES) and _container(instr) == u
                        and instr.uses().count(u) == 1):
                    escaped.add(origin)
        term = blk.term
        if not isinstance(term, ir.Return | ir.Jump | ir.Branch):
            escaped.update(o for u in term.uses() if isinstance(o := out.get(u), ir.Var))
        if isinstance(term, ir.Branch):
            origin = out.get(term.cond)
            if isinstance(origin, ir.Var):
                escaped.add(origin)
    return escaped


def origins(typed: Typed) -> dict[ir.Var, Origin]:
    """The parameter (by position), or the making instruction's value (a made array
    that never escapes), each array or array iterator value is, where one."""
    func = typed.func
    out: dict[ir.Var, Origin | None] = {p: i for i, p in enumerate(func.params)
                                        if p in typed.arrays}
    out.update((v, v) for v in _made(typed))
    # every other array value (a row an iterator yields, a call's array) is of no
    # origin: a block parameter it meets is of none either (an OSR entry's row
    # iterator: a parameter's at entry, a row's after the outer loop's next step)
    for blk in func.blocks:
        for instr in blk.instrs:
            if (instr.dest in typed.arrays and instr.dest not in out
                    and not isinstance(instr, _FOLLOW)):
                out[instr.dest] = None
    changed = True
    while changed:
        changed = False
        for blk in func.blocks:
            for instr in blk.instrs:
                if isinstance(instr, _FOLLOW) and instr.dest in typed.arrays:
                    source = instr.uses()[0]  # (an OSR iterator's start comes after)
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
    escaped = _escaped(typed, out)
    return {v: i for v, i in out.items() if i is not None and i not in escaped}


class Fields:
    """The stack slots of one array parameter's fields (data, then each axis's
    dimension and stride, and whether it is writeable)."""

    def __init__(self, fl: FunctionLowering, obj: ll.Value, kind: ArrayKind) -> None:
        self.obj = obj
        self.kind = kind
        self.data = fl.alloca(PTR, name="data")
        self.dims = [fl.alloca(I64, name=f"dim{k}") for k in range(kind.ndim)]
        self.strides = [fl.alloca(I64, name=f"stride{k}") for k in range(kind.ndim)]
        self.writeable = fl.alloca(ll.IntType(1), name="writeable")

    def load(self, b: ll.IRBuilder) -> None:
        """Read the fields from the array into the slots."""
        b.store(layout.data(b, self.obj), self.data)
        b.store(layout.writeable(b, self.obj), self.writeable)
        for k in range(self.kind.ndim):
            b.store(layout.dim(b, self.obj, k), self.dims[k])
            b.store(layout.stride(b, self.obj, k), self.strides[k])


class ArrayFields:
    """The field slots of a function's array parameters, and their refreshes."""

    def __init__(self, fl: FunctionLowering) -> None:
        self.fl = fl
        self.origin = origins(fl.typed)
        self.params: dict[int, Fields] = {}
        self.made: dict[ir.Var, Fields] = {}  # arrays made, never escaping: never change

    def start(self, args: list[ll.Value]) -> None:
        """At the function's start: every array parameter's slots, filled."""
        typed = self.fl.typed
        for i, var in enumerate(typed.func.params):
            if var in typed.arrays:
                self.params[i] = Fields(self.fl, args[i], typed.arrays[var])
                self.params[i].load(self.fl.b)

    def made_here(self, var: ir.Var) -> None:
        """After the instruction that made ``var``: its slots, filled, if it has some."""
        if self.origin.get(var) == var:
            obj = self.fl.values[var][0]
            self.made[var] = Fields(self.fl, obj, self.fl.typed.arrays[var])
            self.made[var].load(self.fl.b)

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
            out = b.or_(out, b.icmp_unsigned("!=", layout.writeable(b, f.obj),
                                             b.load(f.writeable)))
            for k in range(f.kind.ndim):
                for now, held in ((layout.dim(b, f.obj, k), f.dims[k]),
                                  (layout.stride(b, f.obj, k), f.strides[k])):
                    out = b.or_(out, b.icmp_signed("!=", now, b.load(held)))
        return out

    def of(self, var: ir.Var) -> Fields | None:
        i = self.origin.get(var)
        if isinstance(i, ir.Var):
            return self.made.get(i)
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


def writeable(fl: FunctionLowering, var: ir.Var, obj: ll.Value) -> ll.Value:
    fields = fl.array_fields.of(var)
    if fields is None:
        return layout.writeable(fl.b, obj)
    return fl.b.load(fields.writeable, name="writeable")
