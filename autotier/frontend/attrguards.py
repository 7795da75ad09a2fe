"""Guards of the attribute fast path proven once per stretch of code (issue 11).

Each fast-path access of ``obj.name`` (:mod:`.attrfast`) checks that the instance's type
is still its class, the class's version tag still the compile's and (for a name held in
the instance's values) that the instance still has its values array.  Nothing but
Python code, or the C API acting for it, can change any of the three: a class
assignment, an attribute or method assigned on the class, ``vars(obj)``.  So within a
stretch of one block where no instruction may run any (:func:`keeps`: arithmetic and
comparisons of numbers, and attribute accesses themselves on their fast paths), the
checks a first access of an instance passed hold for the next accesses of the same
instance: the first stores what it proved (the values array, or the instance itself
for a slot) in a stack slot, which LLVM keeps in a register, and the next ones test
that slot alone (one compare instead of three loads and three compares).

Where an access takes the C API instead (a guard failed, a value was missing), the
call may have run anything: it clears every slot of the stretch (NULL: prove again).
A block's start (other paths join there), any other instruction, a release of a
reference (a finaliser may run) and pending numpy trap checks (a warning may run
code) end the stretch.  A slot made by one instruction is tested only from the next
one on; every path through the instruction that made it has stored it (the proof on
the fast path, NULL on the C API's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier.dispatch.irutil import PTR
from autotier.frontend import ir
from autotier.frontend.ir import VKind
from autotier.frontend.typeinfer import Typed, call_kinds, combos

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering
    from autotier.frontend.program import Program, Spec

#: kinds whose operations run no Python code (and allocate no object a collection
#: could follow: an int or a float is not tracked by the garbage collector)
_NUMBERS = frozenset({VKind.UNDEF, VKind.INT, VKind.FLOAT, VKind.BOOL, VKind.NONE,
                      VKind.COMPLEX})

#: instructions that run no Python code when all their operands and result are numbers
_ARITHMETIC = (ir.Const, ir.Undefined, ir.CheckBound, ir.BinaryOp, ir.UnaryOp, ir.Compare,
               ir.Truth, ir.IsNone, ir.Select, ir.Abs, ir.ToInt, ir.ToFloat, ir.Round,
               ir.MathCall, ir.NumberAttr, ir.Conjugate, ir.MakeComplex)

#: (the instance, whether the name is held in its values rather than a slot, the
#: version tag the plan was made at: two plans of one class made across a change to
#: it during the compile never share a proof)
Key = tuple[ir.Var, bool, int]


class Proofs:
    """The slots of the current stretch: what each instance's first access proved."""

    def __init__(self, fl: FunctionLowering) -> None:
        self._fl = fl
        self._slots: dict[Key, ll.Value] = {}
        self._usable: frozenset[Key] = frozenset()
        self.pure: dict[Spec, bool] = {}  # pure_callee's answers (a False may be
        # conservative: said inside a recursion)

    def clear(self) -> None:
        """The stretch ends: nothing proven holds from here on."""
        self._slots.clear()
        self._usable = frozenset()

    def next_instruction(self) -> None:
        """The slots made so far may be tested from here on."""
        self._usable = frozenset(self._slots)

    def proven(self, key: Key) -> ll.Value | None:
        """The slot holding what an earlier access of the stretch proved (NULL where it
        took the C API), if any."""
        return self._slots[key] if key in self._usable else None

    def store(self, key: Key, base: ll.Value) -> None:
        """Record ``base`` (the values array, or the instance) as proven for ``key``."""
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = self._fl.alloca(PTR, name="attr_proof")
        self._fl.b.store(base, slot)

    def forget_all(self) -> None:
        """On a C-API path: every slot of the stretch is NULL (prove again)."""
        null = ll.Constant(PTR, None)
        for slot in self._slots.values():
            self._fl.b.store(null, slot)


def keeps(fl: FunctionLowering, instr: ir.Instr) -> bool:
    """Whether the stretch goes on past ``instr`` (it runs no Python code on any path
    that goes on; an attribute access clears the slots itself where it may, and so
    does a native call's path where its callee deoptimised and the interpreter
    finished it: ``FunctionLowering.call_function``)."""
    if isinstance(instr, ir.GetAttr | ir.SetAttr):
        return True
    if isinstance(instr, ir.CallFunction):
        program, memo = fl.ml.program, fl.attr_proofs.pure
        return all(pure_callee(program, (instr.callee, call_kinds(
            instr, combo, fl.typed.call_classes, fl.typed.held)), frozenset(), memo)
            for combo in combos(instr.uses(), fl.typed.types))
    return _arithmetic(fl.typed, instr)


def _arithmetic(typed: Typed, instr: ir.Instr) -> bool:
    return (isinstance(instr, _ARITHMETIC)
            and all(typed.types[v] <= _NUMBERS for v in (*instr.uses(), instr.dest)))


def pure_callee(program: Program, spec: Spec, calling: frozenset[Spec],
                memo: dict[Spec, bool]) -> bool:
    """Whether the native code of ``spec`` (a helper compiled in) runs no Python code
    where it returns normally: no loop (whose periodic check lets signal handlers and
    other threads run), only arithmetic of numbers, and calls of such helpers (not
    recursive: ``calling``).  A deoptimisation in it returns a status instead, and the
    caller's path that lets the interpreter finish it clears the slots."""
    if spec not in memo:
        memo[spec] = _pure(program, spec, calling, memo)
    return memo[spec]


def _pure(program: Program, spec: Spec, calling: frozenset[Spec],
          memo: dict[Spec, bool]) -> bool:
    typed = program.typed.get(spec)
    if typed is None or spec in program.opaque or spec in calling:
        return False
    func = typed.func
    order = {bid: i for i, bid in enumerate(func.reverse_postorder())}
    for bid in typed.reached:
        if any(order.get(t, -1) <= order[bid] for t in func.successors(bid)):
            return False  # a back edge: a loop
        for instr in func.block(bid).instrs:
            if isinstance(instr, ir.CallFunction):
                inner = calling | {spec}
                if not all(pure_callee(program, (instr.callee, call_kinds(
                        instr, combo, typed.call_classes, typed.held)), inner, memo)
                        for combo in combos(instr.uses(), typed.types)):
                    return False
            elif not _arithmetic(typed, instr):
                return False
    return True
