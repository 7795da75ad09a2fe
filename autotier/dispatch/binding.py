"""Binding a call's arguments to the function's parameters, in the native entry.

A call ``f(x)`` of ``def f(x, n=10)``, or ``f(x, n=3)``, is bound here as CPython would
bind it, so that it runs natively too: positional arguments first, then each keyword
argument to the parameter of that name, then defaults for what is still missing.  The
result is an array of exactly ``co_argcount`` object pointers, borrowed from the call
or from ``__defaults__``.

What is bound natively, and what goes to the interpreter (``Bail.ARGS``), which then
binds or raises exactly as undecorated:

- the plain call (no keywords, every parameter given positionally) costs one compare,
  as before: its argument array is used as it is;
- a keyword name is matched by identity with the parameter names of ``co_varnames``.
  Names written in the source are interned, so both sides are the same object; a
  name built at run time (``f(**{"n" + "": 3})``) matches nothing and goes to the
  interpreter, as do unknown names, a parameter given twice and positional-only ones;
- a default comes from the ``__defaults__`` tuple compiled against (``BindingPlan``);
  once the function's ``__defaults__`` is another tuple, a call that needs a default
  bails with ``Bail.CODE`` and the bead recompiles, as for a replaced ``__code__``.
  The bead keeps that tuple alive with the code (its items' addresses are embedded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir

from autotier import compat
from autotier.dispatch import hotobject as ho
from autotier.dispatch.irutil import I1, I64, NULL, PPTR, PTR, const_ptr, field, keywords

if TYPE_CHECKING:
    from autotier.dispatch.builder import _Builder


@dataclass(frozen=True)
class BindingPlan:
    """The parameters a native entry binds calls to."""

    names: tuple[int, ...]  # address of each parameter's name (co_varnames[:argcount])
    posonly: int  # how many leading parameters cannot be passed by keyword
    defaults: int = 0  # address of the __defaults__ tuple compiled against, or 0
    default_items: tuple[int, ...] = ()  # addresses of its items

    @classmethod
    def of(cls, code: object, defaults: tuple[object, ...] | None) -> BindingPlan:
        """The plan of a function with code ``code`` and ``__defaults__`` ``defaults``."""
        argcount = code.co_argcount  # type: ignore[attr-defined]
        names = tuple(id(n) for n in code.co_varnames[:argcount])  # type: ignore[attr-defined]
        posonly = code.co_posonlyargcount  # type: ignore[attr-defined]
        if not defaults:
            return cls(names, posonly)
        return cls(names, posonly, id(defaults), tuple(id(d) for d in defaults))


def bind(t: _Builder, plan: BindingPlan, nargs: ir.Value, args_bail: int,
         code_bail: int) -> ir.Value:
    """The call's arguments, bound to the parameters: an array of ``len(plan.names)``
    object pointers.  Leaves the call with ``args_bail`` where the interpreter must bind
    it, and ``code_bail`` where the defaults compiled against were replaced.

    The plain call uses its own array; any other goes through a separate cold function
    (``_binder``), which keeps the plain call's code free of its register pressure.
    """
    b = t.b
    count = len(plan.names)
    simple = b.and_(b.icmp_unsigned("==", t.kwnames, NULL),
                    b.icmp_unsigned("==", nargs, ir.Constant(I64, count)))
    fast = b.block
    general = t.fn.append_basic_block("bind")
    bound = t.fn.append_basic_block("bound")
    b.cbranch(simple, bound, general).set_weights([1000, 1])
    b.position_at_end(general)
    slots = t.slot("bound", ir.ArrayType(PTR, count))
    array = b.bitcast(slots, PPTR)
    binder = _binder(t.module, f"{t.fn.name}__bind", plan, args_bail, code_bail)
    code = b.call(binder, [t.self_, t.args, nargs, t.kwnames, array], name="bind_code")
    with b.if_then(b.icmp_unsigned("!=", code, ir.Constant(I64, 0)), likely=False):
        t.bail(code)
    general_end = b.block
    b.branch(bound)
    b.position_at_end(bound)
    argv = b.phi(PPTR, name="argv")
    argv.add_incoming(t.args, fast)
    argv.add_incoming(array, general_end)
    return argv


def _binder(module: ir.Module, name: str, plan: BindingPlan, args_bail: int,
            code_bail: int) -> ir.Function:
    """``i64 bind(self, args, nargs, kwnames, PyObject **slots)``: fill ``slots``; 0, or
    the Bail code that sends the call elsewhere."""
    fnty = ir.FunctionType(I64, [PTR, PPTR, I64, PTR, PPTR])
    fn = ir.Function(module, fnty, name)
    fn.linkage = "internal"
    for attr in ("noinline", "cold", "nounwind"):
        fn.attributes.add(attr)
    self_, args, nargs, kwnames_arg, slots = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    count = len(plan.names)

    def leave_if(cond: ir.Value, code: int) -> None:
        with b.if_then(cond, likely=False):
            b.ret(ir.Constant(I64, code))

    def slot(i: int) -> ir.Value:
        return b.gep(slots, [ir.Constant(I64, i)], inbounds=True)

    kwnames, nkw = keywords(b, kwnames_arg)
    leave_if(b.icmp_unsigned(">", b.add(nargs, nkw), ir.Constant(I64, count)), args_bail)
    for i in range(count):  # positional arguments; NULL marks a parameter not bound yet
        with b.if_else(b.icmp_unsigned("<", ir.Constant(I64, i), nargs)) as (given, missing):
            with given:
                b.store(b.load(b.gep(args, [ir.Constant(I64, i)])), slot(i))
            with missing:
                b.store(NULL, slot(i))
    items = b.bitcast(field(b, kwnames, compat.TUPLE_ITEMS, PTR), PPTR)
    for k in range(count):  # at most count keywords (checked above)
        with b.if_then(b.icmp_unsigned("<", ir.Constant(I64, k), nkw)):
            name_k = b.load(b.gep(items, [ir.Constant(I64, k)]))
            value = b.load(b.gep(args, [b.add(nargs, ir.Constant(I64, k))]))
            matched: ir.Value = ir.Constant(I1, 0)
            for p in range(plan.posonly, count):
                is_p = b.icmp_unsigned("==", name_k, const_ptr(plan.names[p]))
                with b.if_then(is_p):
                    # also given positionally: TypeError
                    leave_if(b.icmp_unsigned("!=", b.load(slot(p)), NULL), args_bail)
                    b.store(value, slot(p))
                matched = b.or_(matched, is_p)
            leave_if(b.not_(matched), args_bail)  # an unknown name, or one not interned
    first_default = count - len(plan.default_items)
    for p in range(count):
        with b.if_then(b.icmp_unsigned("==", b.load(slot(p)), NULL)):
            if p < first_default:
                b.ret(ir.Constant(I64, args_bail))  # a missing argument: TypeError
            else:
                func = b.load(field(b, self_, ho.FUNC_OFFSET, PTR))
                current = b.load(field(b, func, compat.FUNC_DEFAULTS, PTR))
                # __defaults__ was replaced: recompile
                leave_if(b.icmp_unsigned("!=", current, const_ptr(plan.defaults)), code_bail)
                b.store(const_ptr(plan.default_items[p - first_default]), slot(p))
    b.ret(ir.Constant(I64, 0))
    return fn
