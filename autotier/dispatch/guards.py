"""Namespace guards: what compiled code assumed about globals, builtins and modules.

A compiled body may treat a global as a constant (``N = 10``), call another hot
function by its global name, or call ``math.sqrt``.  The entry checks, on every call,
that each namespace it read has the same ``ma_version_tag`` as when the guard was last
refreshed (one load and compare per namespace).  A changed tag makes native code recheck
the assumed bindings by identity (:func:`emit_bindings_hold`: one ``PyDict_GetItem``
per name): if they all still hold (some other global changed: a module-level loop
rebinds its variable on every iteration), the entry expects the new tag and goes on
natively; if not, the call takes the slow path, whose :meth:`NamespaceGuard.revalidate`
finds the stale names, and the bead deoptimises.  Native loops run the same recheck
at their periodic check (:mod:`autotier.frontend.periodic`).

Everything the emitted code points at (the namespace, the names, the expected values)
is kept alive by the guard's ``bindings`` (or the lowered module's dependencies).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from llvmlite import ir

from autotier import compat
from autotier.dispatch.irutil import I64, PTR, const_ptr, declare

MISSING = object()  # "this name was not bound" (e.g. a builtin not shadowed)



@dataclass(frozen=True, eq=False)
class NamespaceGuard:
    """Bindings assumed in one namespace dict, and the cell holding its expected tag."""

    namespace: dict[str, object]
    bindings: Mapping[str, object]
    version_cell: int  # address of the entry's i64 global holding the expected tag

    def revalidate(self) -> list[str]:
        """Recheck the bindings; if all hold, expect the namespace's current tag.

        Returns the names whose binding changed (empty: the guard holds again).  The
        tag is read before the check, so a change racing with it fails the guard
        again instead of being accepted unchecked.
        """
        ns = self.namespace
        version = compat.dict_version(ns)
        stale = [n for n, v in self.bindings.items() if ns.get(n, MISSING) is not v]
        if not stale:
            ctypes.c_uint64.from_address(self.version_cell).value = version
        return stale



def binding_addresses(bindings: Mapping[str, object]) -> tuple[tuple[int, int], ...]:
    """(address of the name, address of the value, or 0 for MISSING) per binding."""
    return tuple((id(name), 0 if value is MISSING else id(value))
                 for name, value in bindings.items())


def emit_bindings_hold(b: ir.IRBuilder, namespace: int,
                       expected: Iterable[tuple[int, int]]) -> ir.Value:
    """i1: every (name, value) binding, by address, still holds in dict ``namespace``.

    ``PyDict_GetItem`` (a borrowed reference, or NULL when absent; it never raises)
    with the exact ``str`` names the code read.  Python code could run only through a
    key of the namespace with a user-defined ``__eq__`` whose hash collides with a
    name; the tag is read before the lookups and stored only if they all hold, so a
    change made meanwhile is seen by the next check.  A value address of 0 expects
    the name to be absent.
    """
    get = declare(b.module, "PyDict_GetItem", PTR, [PTR, PTR])
    holds: ir.Value = ir.Constant(ir.IntType(1), 1)
    for name, value in expected:
        found = b.call(get, [const_ptr(namespace), const_ptr(name)])
        same = b.icmp_unsigned("==", b.ptrtoint(found, I64), ir.Constant(I64, value))
        holds = b.and_(holds, same)
    return holds
