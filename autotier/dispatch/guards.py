"""Namespace guards: what compiled code assumed about globals, builtins and modules.

A compiled body may treat a global as a constant (``N = 10``), call another hot
function by its global name, or call ``math.sqrt``.  The entry checks, on every call,
that each namespace it read has the same ``ma_version_tag`` as when the guard was last
refreshed (one load and compare per namespace).  A changed tag sends the call to the
slow path, which rechecks the assumed bindings by identity: if they all still hold
(some other global changed), it refreshes the expected tag; if not, the code is stale
and the bead deoptimises.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from dataclasses import dataclass

from autotier import compat

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
