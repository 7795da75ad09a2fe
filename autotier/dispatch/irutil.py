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


#: Python frames autotier's own bookkeeping may take beyond the recursion limit
#: (the interpreter never runs it: the user's code must meet the limit exactly where
#: it would undecorated, not earlier because a deopt needed a few frames to decide).
BOOKKEEPING_HEADROOM = 100


def adjust_recursion(b: ir.IRBuilder, module: ir.Module, by: ir.Value) -> ir.Value:
    """Add ``by`` (i32) to the thread's remaining recursion depth; returns the field's
    pointer, so that the caller can take it back (:func:`call_vector`)."""
    get = declare(module, "PyThreadState_Get", PTR, [])
    remaining = field(b, b.call(get, [], name="tstate"), compat.TSTATE_RECURSION_REMAINING, I32)
    b.store(b.add(b.load(remaining), by), remaining)
    return remaining


def call_vector(b: ir.IRBuilder, module: ir.Module, callable_: ir.Value,
                args: Sequence[ir.Value], *, depth: ir.Value | int = 0,
                kwnames: ir.Value | None = None, keywords: int = 0) -> ir.Value:
    """``PyObject_Vectorcall(callable_, args, nargs, kwnames)`` (a new reference or
    NULL), with the thread's remaining recursion depth lowered by ``depth`` (i32 or
    int) while it runs: negative gives frames, as :data:`BOOKKEEPING_HEADROOM` does.
    ``kwnames``: the tuple of the last ``keywords`` arguments' names (a kept object)."""
    return _call(b, module, "PyObject_Vectorcall", callable_, args, depth=depth,
                 kwnames=kwnames, keywords=keywords)


def call_method(b: ir.IRBuilder, module: ir.Module, name: ir.Value,
                args: Sequence[ir.Value], *, depth: ir.Value | int = 0,
                kwnames: ir.Value | None = None, keywords: int = 0) -> ir.Value:
    """``PyObject_VectorcallMethod(name, args, nargs, kwnames)``: ``args[0].name(*args[1:])``,
    looked up and called at once (no bound method made), as :func:`call_vector`."""
    return _call(b, module, "PyObject_VectorcallMethod", name, args, depth=depth,
                 kwnames=kwnames, keywords=keywords)


def _call(b: ir.IRBuilder, module: ir.Module, symbol: str, callable_: ir.Value,
          args: Sequence[ir.Value], *, depth: ir.Value | int, kwnames: ir.Value | None,
          keywords: int) -> ir.Value:
    vectorcall = declare(module, symbol, PTR, [PTR, PPTR, I64, PTR])
    if args:
        with b.goto_entry_block():  # a static slot, not a stack that grows per call
            b.position_at_start(b.function.entry_basic_block)
            argv = b.alloca(ir.ArrayType(PTR, len(args)), name="argv")
        items = [b.gep(argv, [ir.Constant(I32, 0), ir.Constant(I32, i)]) for i in range(len(args))]
        for item, arg in zip(items, args, strict=True):
            b.store(arg, item)
        first: ir.Value = items[0]
    else:
        first = ir.Constant(PPTR, None)
    by = ir.Constant(I32, depth) if isinstance(depth, int) else depth
    remaining = adjust_recursion(b, module, b.neg(by))
    names = NULL if kwnames is None else kwnames
    nargs = ir.Constant(I64, len(args) - keywords)
    result = b.call(vectorcall, [callable_, first, nargs, names])
    b.store(b.add(b.load(remaining), by), remaining)
    return result
