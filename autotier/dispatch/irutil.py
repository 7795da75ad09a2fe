"""LLVM types and small IR idioms shared by the native entry's modules."""

from __future__ import annotations

from llvmlite import ir

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F64 = ir.DoubleType()
PTR = I8.as_pointer()  # a PyObject * (or any pointer)
PPTR = PTR.as_pointer()
NULL = ir.Constant(PTR, None)


def const_ptr(addr: int) -> ir.Constant:
    """A pointer constant to the object at ``addr``."""
    return ir.Constant(I64, addr).inttoptr(PTR)


def field(b: ir.IRBuilder, obj: ir.Value, offset: int, ty: ir.Type) -> ir.Value:
    """A pointer to the ``ty`` field ``offset`` bytes into the object ``obj``."""
    addr = b.gep(obj, [ir.Constant(I64, offset)], inbounds=True)
    return b.bitcast(addr, ty.as_pointer())
