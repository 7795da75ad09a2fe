"""Arrays native code makes: ``numpy.zeros``, ``numpy.empty``, ``numpy.ones``.

``numpy.zeros(shape, dtype)`` (``shape`` an int or a tuple of ints, ``dtype`` one of
``abi.ARRAY_DTYPES`` given as ``numpy.int64``, its name (``"int64"``, ``"f4"``: what
``numpy.dtype`` reads at compile time), ``float``, ``int`` or ``bool``, by
position or keyword; float64 without one) is numpy's own function, called through the
C API (an ``ir.CallObject`` that *makes* an ``ArrayKind``: its ``dtype=`` is passed as
that dtype, so numpy allocates, fills and raises as it always does: a negative
dimension's ValueError, a float's TypeError, a MemoryError, each resumed after the
call with the exception).  Its result, checked to be an exact ndarray of that dtype
and ndim, is an owned ``ARRAY`` value (``frontend/owned.py``): its reference is
released after its last use, or handed to the caller when it is returned.

The kind is known from the call itself: the ndim is the shape tuple's length (an int:
1), the dtype the argument's.  Any other argument (``order=``, ``like=``, a dtype
dtype held in a variable) is declined with a reason.  The functions are
named by identity (the ones ``numpy`` binds when it is imported), and the global or
module attribute they are reached through is guarded as every global is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import ARRAY_DTYPES, ArrayKind
from autotier.frontend import ir
from autotier.frontend.builtins_table import (
    Builtin,
    BuiltinRef,
    CallableRef,
    DtypeRef,
    Static,
    StrConst,
    TupleValue,
)

if TYPE_CHECKING:
    from autotier.frontend.stackflow import StackFlow

    Item = ir.Var | Static

MAKERS = ("zeros", "empty", "ones")
#: Python's own types as dtypes, as numpy reads them (``int`` is int64 on these platforms)
_BUILTIN_DTYPES = {Builtin.FLOAT: "float64", Builtin.INT: "int64", Builtin.BOOL: "bool"}
#: the dtype objects passed as ``dtype=`` (numpy's own singletons, kept for the process)
_DTYPES: dict[str, object] = {}


def maker(obj: object) -> str | None:
    """``"zeros"``, ``"empty"`` or ``"ones"`` when ``obj`` is that numpy function."""
    np = compat.imported("numpy")
    if np is None:
        return None
    for name in MAKERS:
        if getattr(np, name, None) is obj:
            return name
    return None


def dtype_object(dtype: str) -> object:
    """numpy's dtype ``dtype`` (a borrowed object that lives as long as the process)."""
    found = _DTYPES.get(dtype)
    if found is None:
        import numpy

        found = _DTYPES.setdefault(dtype, numpy.dtype(dtype))
    return found


def _dtype(flow: StackFlow, item: Item, name: str) -> str:
    if isinstance(item, DtypeRef):
        return item.dtype
    if isinstance(item, BuiltinRef) and item.builtin in _BUILTIN_DTYPES:
        return _BUILTIN_DTYPES[item.builtin]
    if isinstance(item, StrConst):  # "int64", "f4", "<i2": numpy's reading of it
        import numpy

        try:
            dt = numpy.dtype(item.value)
        except TypeError:
            dt = None  # numpy's TypeError, raised by numpy in the interpreter
        if dt is not None and dt.isnative and dt.name in ARRAY_DTYPES and dt.fields is None:
            return dt.name
    raise flow.fail(f"numpy.{name}() with a dtype that is not one of "
                    f"{', '.join(ARRAY_DTYPES)} (numpy's type, its name, float, int or "
                    "bool) is not supported")


def new_array(flow: StackFlow, callee: CallableRef, items: list[Item],
              kw_names: tuple[str, ...]) -> ir.Var:
    """Emit ``numpy.<maker>(shape[, dtype])`` into ``flow``'s current block."""
    name = maker(callee.obj)
    assert name is not None
    positional = items[:len(items) - len(kw_names)]
    keywords = dict(zip(kw_names, items[len(positional):], strict=True))
    if len(positional) > 2 or set(keywords) - {"shape", "dtype"}:
        extra = sorted(set(keywords) - {"shape", "dtype"})
        raise flow.fail(f"numpy.{name}() with arguments other than the shape and the dtype "
                        f"({', '.join(extra) or 'a third positional'}) is not supported")
    given = dict(zip(("shape", "dtype"), positional, strict=False))
    if set(given) & set(keywords):  # numpy's TypeError: the interpreter's
        raise flow.fail(f"numpy.{name}() given an argument twice is not supported")
    given.update(keywords)
    if "shape" not in given:
        raise flow.fail(f"numpy.{name}() without a shape is not supported")
    dtype = _dtype(flow, given["dtype"], name) if "dtype" in given else "float64"
    shape = given["shape"]
    if isinstance(shape, TupleValue):
        made = (flow._made_tuple(shape) if all(isinstance(i, ir.Var) for i in shape.items)
                else None)
        if made is None:
            raise flow.fail(f"numpy.{name}() with a shape of other than numbers")
        ndim, shape_var = len(shape.items), made
    else:
        ndim, shape_var = 1, flow.value_of(shape, f"numpy.{name}() shape")
    return flow.emit(ir.CallObject, callee.obj, (shape_var,), (), callee.name,
                     ArrayKind(dtype, ndim), hint=name)


def took(b: ll.IRBuilder, obj: ll.Value, kind: ArrayKind) -> ll.Value:
    """i1: ``obj`` (a new reference, not NULL) is an exact ndarray of ``kind``."""
    from autotier.dispatch import arrays as layout

    check = b.append_basic_block("maker_dtype")
    done = b.append_basic_block("maker_checked")
    is_array = layout.is_ndarray(b, obj)
    here = b.block
    b.cbranch(is_array, check, done)
    b.position_at_end(check)
    same = layout.matches(b, obj, kind)
    checked = b.block
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(ll.IntType(1), name="made")
    phi.add_incoming(ll.Constant(ll.IntType(1), 0), here)
    phi.add_incoming(same, checked)
    return phi
