"""LLVM types and small IR idioms shared by the native entry's modules."""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from autotier import compat

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F64 = ir.DoubleType()
PTR = I8.as_pointer()  # a PyObject * (or any pointer)
PPTR = PTR.as_pointer()
NULL = ir.Constant(PTR, None)


def declare(module: ir.Module, name: str, ret: ir.Type, args: Sequence[ir.Type],
            attributes: Sequence[str] = ()) -> ir.Function:
    """The function ``name`` of ``module``, declared (with ``attributes``) if missing."""
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ret, args), name)
        for attribute in attributes:
            fn.attributes.add(attribute)
    assert isinstance(fn, ir.Function)
    return fn


def keywords(b: ir.IRBuilder, kwnames: ir.Value) -> tuple[ir.Value, ir.Value]:
    """A vectorcall's keyword names as a tuple that is never NULL (the immortal empty
    tuple when there are none), and how many there are."""
    names = b.select(b.icmp_unsigned("==", kwnames, NULL), const_ptr(id(())), kwnames)
    return names, b.load(field(b, names, compat.TUPLE_SIZE, I64), name="nkw")


def const_ptr(addr: int) -> ir.Constant:
    """A pointer constant to the object at ``addr``."""
    return ir.Constant(I64, addr).inttoptr(PTR)


def field(b: ir.IRBuilder, obj: ir.Value, offset: int, ty: ir.Type) -> ir.Value:
    """A pointer to the ``ty`` field ``offset`` bytes into the object ``obj``."""
    addr = b.gep(obj, [ir.Constant(I64, offset)], inbounds=True)
    return b.bitcast(addr, ty.as_pointer())
