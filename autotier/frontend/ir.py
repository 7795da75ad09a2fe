"""The frontend's SSA IR: frozen dataclasses, one class per instruction.

A :class:`Function` is a list of :class:`Block` s.  A block has parameters (the SSA
form of a join: every predecessor passes one argument per parameter, the way a phi
has one incoming value per predecessor), straight-line instructions, and one
terminator.  Values are :class:`Var` s, each defined exactly once: by a block
parameter or by an instruction's ``dest``.

The IR itself is untyped; :mod:`autotier.frontend.typeinfer` gives every Var a set
of :class:`VKind` s, which :meth:`Function.dump` prints when given.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import FunctionType

from autotier.abi import ArrayKind
from autotier.frontend.kinds import (
    NO_KINDS,
    SCALARS,
    BinOp,
    CmpOp,
    Kinds,
    UnOp,
    VKind,
    kinds_text,
)

__all__ = ["NO_KINDS", "SCALARS", "BinOp", "CmpOp", "Kinds", "UnOp", "VKind", "kinds_text"]

# ------------------------------------------------------------------ values


@dataclass(frozen=True)
class Var:
    """An SSA value; ``hint`` is the Python local it came from, if any."""

    id: int
    hint: str = ""

    def __hash__(self) -> int:  # (the generated one hashes a new tuple of both fields;
        return hash(self.id)    # Vars are dict keys everywhere; equal ones share ids)

    def __str__(self) -> str:
        return f"%{self.hint}.{self.id}" if self.hint else f"%{self.id}"


def _vars_of(value: object) -> Iterator[Var]:
    if isinstance(value, Var):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _vars_of(item)


def _substitute(value: object, mapping: Mapping[Var, Var]) -> object:
    if isinstance(value, Var):
        return mapping.get(value, value)
    if isinstance(value, tuple):
        return tuple(_substitute(item, mapping) for item in value)
    return value


@dataclass(frozen=True)
class FrameState:
    """The interpreter's frame just before bytecode instruction ``index`` runs: what a
    deoptimisation at an instruction lowered from it hands to the interpreter.

    ``locals`` holds one value per local variable, in ``co_varnames`` order (a value
    typed as possibly unbound is unbound when its tag says so); ``stack`` the value
    stack, bottom first: Vars (numbers, ranges, range iterators) and the statics of
    :mod:`autotier.frontend.builtins_table` (NULL, a builtin, a hot function, a tuple
    of items).  ``index`` counts instructions in the ``bytecode`` package's order
    (:attr:`autotier.frontend.decode.Op.index`), ``offset`` is the byte offset.
    """

    index: int
    offset: int
    line: int
    locals: tuple[Var, ...]
    stack: tuple[object, ...]
    # at a CALL: the stack entries it takes (NULL, callee, arguments); at CONTAINS_OP its
    # two operands (a frame may resume after either, with its outcome)
    consumes: int = 0

    def values(self) -> tuple[Var, ...]:
        """The Vars the state holds: locals, then the stack's (tuple items too)."""
        return (*self.locals, *(v for item in self.stack for v in _stack_vars(item)))

    def substitute(self, mapping: Mapping[Var, Var]) -> FrameState:
        return dataclasses.replace(
            self, locals=tuple(mapping.get(v, v) for v in self.locals),
            stack=tuple(_substitute_item(item, mapping) for item in self.stack))

    def dump(self) -> str:
        stack = ", ".join(_item_text(item) for item in self.stack)
        local = ", ".join(map(str, self.locals))
        return f"@{self.offset} line {self.line} [{local}] stack [{stack}]"


def _stack_vars(item: object) -> Iterator[Var]:
    if isinstance(item, Var):
        yield item
    else:
        for sub in getattr(item, "items", ()):  # a TupleValue static
            yield from _stack_vars(sub)


def _substitute_item(item: object, mapping: Mapping[Var, Var]) -> object:
    if isinstance(item, Var):
        return mapping.get(item, item)
    if hasattr(item, "items"):
        return dataclasses.replace(  # type: ignore[type-var]
            item, items=tuple(_substitute_item(i, mapping) for i in item.items))
    return item


def _item_text(item: object) -> str:
    if isinstance(item, Var):
        return str(item)
    if hasattr(item, "items"):
        return "(" + ", ".join(_item_text(i) for i in item.items) + ")"
    return type(item).__name__


_OPERAND_FIELDS: dict[type, tuple[str, ...]] = {}


def _operand_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that may hold its operands (not ``dest``, ``state``):
    looked up once per class (``dataclasses.fields`` on every ``uses`` was a tenth of
    the frontend's own time in a compile)."""
    names = _OPERAND_FIELDS.get(cls)
    if names is None:
        names = _OPERAND_FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in ("dest", "state"))
    return names


class _Node:
    """Shared helpers: the Vars a node reads, and a copy with reads renamed.

    A node's ``state`` (its :class:`FrameState`, where it may leave native code) is
    not among its operands (:meth:`uses`), but is renamed with them."""

    def uses(self) -> tuple[Var, ...]:
        out: list[Var] = []
        for name in _operand_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, Var):
                out.append(value)
            elif isinstance(value, tuple):
                out.extend(_vars_of(value))
        return tuple(out)

    def substitute(self, mapping: Mapping[Var, Var]) -> _Node:
        changes: dict[str, object] = {
            f.name: _substitute(getattr(self, f.name), mapping)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name not in ("dest", "state")
        }
        state = getattr(self, "state", None)
        if state is not None:
            changes["state"] = state.substitute(mapping)
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


# ------------------------------------------------------------------ instructions


@dataclass(frozen=True)
class Instr(_Node):
    dest: Var
    line: int = field(default=0, kw_only=True)
    state: FrameState | None = field(default=None, kw_only=True, repr=False)


@dataclass(frozen=True)
class Const(Instr):
    value: int | float | bool | None


@dataclass(frozen=True)
class Undefined(Instr):
    """The value of a local that has not been assigned yet."""

    name: str


#: CheckBound's name for an int constant beyond 64 bits (its operand is never bound):
#: reaching it bails with OVERFLOW (CPython answers with the big int), not VALUE.
BIG_INT_CONSTANT = "<int constant beyond 64 bits>"


@dataclass(frozen=True)
class CheckBound(Instr):
    """``operand`` read from local ``name``: bail out (UnboundLocalError) if unbound."""

    operand: Var
    name: str


@dataclass(frozen=True)
class BinaryOp(Instr):
    op: BinOp
    left: Var
    right: Var


@dataclass(frozen=True)
class UnaryOp(Instr):
    op: UnOp
    operand: Var


@dataclass(frozen=True)
class Compare(Instr):
    op: CmpOp
    left: Var
    right: Var


@dataclass(frozen=True)
class Truth(Instr):
    """``bool(operand)``."""

    operand: Var


@dataclass(frozen=True)
class IsNone(Instr):
    """``operand is None`` (``is not None`` when ``negate``)."""

    operand: Var
    negate: bool = False


@dataclass(frozen=True)
class Select(Instr):
    """``if_true if cond else if_false`` with ``cond`` a bool (min and max use it)."""

    cond: Var
    if_true: Var
    if_false: Var


@dataclass(frozen=True)
class Abs(Instr):
    operand: Var


@dataclass(frozen=True)
class ToInt(Instr):
    """``int(operand)``."""

    operand: Var


@dataclass(frozen=True)
class ToFloat(Instr):
    """``float(operand)``."""

    operand: Var


@dataclass(frozen=True)
class Round(Instr):
    """``round(operand)`` (one argument)."""

    operand: Var


@dataclass(frozen=True)
class MathCall(Instr):
    """``math.<fn>(*args)`` for a function of :data:`builtins_table.MATH_FUNCTIONS`."""

    fn: str
    args: tuple[Var, ...]


@dataclass(frozen=True)
class NumberAttr(Instr):
    """``value.real`` or ``value.imag`` of a number (a complex's parts; an int's, a
    bool's or a float's own value, or zero)."""

    value: Var
    name: str  # "real" or "imag"


@dataclass(frozen=True)
class GetAttr(Instr):
    """``obj.name`` of an instance, through the C API (``PyObject_GetAttr``: the class's
    own lookup); the result is checked against the kinds the promoting calls saw."""

    obj: Var
    name: str


@dataclass(frozen=True)
class SetAttr(Instr):
    """``obj.name = value`` of an instance, through the C API (``PyObject_SetAttr``);
    its result, never used, is None."""

    obj: Var
    name: str
    value: Var


@dataclass(frozen=True)
class DelAttr(Instr):
    """``del obj.name`` of an instance, through the C API (``PyObject_SetAttr`` of
    NULL); its result, never used, is None."""

    obj: Var
    name: str


@dataclass(frozen=True)
class Conjugate(Instr):
    """``value.conjugate()`` of a number."""

    value: Var


@dataclass(frozen=True)
class MakeComplex(Instr):
    """``complex(*args)`` of zero to two numbers (CPython's ``complex_new`` arithmetic)."""

    args: tuple[Var, ...]


@dataclass(frozen=True)
class MakeRange(Instr):
    """``range(*args)`` with one to three arguments."""

    args: tuple[Var, ...]


@dataclass(frozen=True)
class Len(Instr):
    """``len(operand)`` of a list or tuple."""

    operand: Var


@dataclass(frozen=True)
class GetItem(Instr):
    """``seq[index]`` of a list or tuple, an int or bool index (negative from the end):
    IndexError when out of range; the element's kind is speculated and checked."""

    seq: Var
    index: Var


@dataclass(frozen=True)
class SetItem(Instr):
    """``seq[index] = value`` into a list (its result, never used, is None)."""

    seq: Var
    index: Var
    value: Var


@dataclass(frozen=True)
class UnpackCheck(Instr):
    """Unpacking ``seq`` into ``n`` names: its length must be ``n`` (else CPython's
    ValueError, raised by the interpreter at UNPACK_SEQUENCE)."""

    seq: Var
    n: int


@dataclass(frozen=True)
class ArrayAttr(Instr):
    """``arr.ndim`` or ``arr.size`` of an ndarray (an int)."""

    arr: Var
    name: str


@dataclass(frozen=True)
class ArrayDim(Instr):
    """``arr.shape[index]`` (negative from the end; IndexError out of range)."""

    arr: Var
    index: Var


@dataclass(frozen=True)
class ShapeTuple(Instr):
    """``arr.shape`` as a tuple, built to be returned at once (``return a.shape``): a
    new reference only the root's Return takes, as MakeTuple's."""

    arr: Var


@dataclass(frozen=True)
class ShapeCheck(Instr):
    """``n`` names unpacked from ``arr.shape``: its ndim must be ``n`` (else CPython's
    ValueError, raised by the interpreter at UNPACK_SEQUENCE)."""

    arr: Var
    n: int


@dataclass(frozen=True)
class GetCell(Instr):
    """``arr[i, j, ...]`` of an ndarray: one int per dimension (negative from the end),
    IndexError out of range; the element is a numpy scalar of the dtype."""

    arr: Var
    indices: tuple[Var, ...]


@dataclass(frozen=True)
class SetCell(Instr):
    """``arr[i, j, ...] = value`` into an ndarray (its result, never used, is None)."""

    arr: Var
    indices: tuple[Var, ...]
    value: Var


@dataclass(frozen=True)
class Contains(Instr):
    """``value in seq`` (``not in`` when ``negate``), answered by CPython's own
    ``PySequence_Contains`` (an element's ``__eq__`` may run)."""

    value: Var
    seq: Var
    negate: bool


@dataclass(frozen=True)
class MakeTuple(Instr):
    """``(items...)`` of numbers (and None): a new tuple, which the value owns
    (``return a, b``, ``t = (a, b)``); its element kinds are the items'."""

    items: tuple[Var, ...]


@dataclass(frozen=True)
class GetSlice(Instr):
    """``seq[start:stop]`` or ``seq[start:stop:step]`` of a list or tuple, each bound an
    int, a bool or None: a new list or tuple of the same elements (CPython's own
    slicing), which the value owns."""

    seq: Var
    bounds: tuple[Var, ...]


@dataclass(frozen=True)
class MakeList(Instr):
    """``[items...]`` of numbers: a new list, which the value owns (:mod:`.owned`);
    its element kinds are the items' (known, not speculated)."""

    items: tuple[Var, ...]


@dataclass(frozen=True)
class CallBuiltin(Instr):
    """``builtin(*args)`` made by CPython itself, through the C API: ``sum``, ``min``
    and ``max`` of a list or tuple.  Its result is unboxed when of the kinds expected;
    anything else (another kind, an exception) resumes the frame after the call."""

    builtin: str
    args: tuple[Var, ...]


@dataclass(frozen=True)
class ListAppend(Instr):
    """``seq.append(value)`` of a number to a list (its result is None)."""

    seq: Var
    value: Var


@dataclass(frozen=True)
class GetIter(Instr):
    """``iter(operand)`` of a range, list, tuple or array; ``reversed(operand)`` of one
    if ``reverse`` (CPython's reversed iterator: a range's is a range iterator)."""

    operand: Var
    reverse: bool = False
    #: an OSR entry's iterator (``osr.markers.iter_at``, ``reversed_at``): the index it
    #: yields next; None: from the start
    start: Var | None = None


@dataclass(frozen=True)
class IterHasNext(Instr):
    """True while the iterator ``it`` has items left (a list's length is read anew)."""

    it: Var


@dataclass(frozen=True)
class IterValue(Instr):
    """The item the iterator ``it`` yields next (valid while it has one)."""

    it: Var


@dataclass(frozen=True)
class IterAdvance(Instr):
    """The iterator after ``it`` has yielded one item."""

    it: Var


@dataclass(frozen=True)
class CallFunction(Instr):
    """A direct call of another compiled Python function (or of itself)."""

    callee: FunctionType
    args: tuple[Var, ...]


@dataclass(frozen=True)
class CallObject(Instr):
    """``callee(*args)``, the last ``len(kw_names)`` by keyword, made through the C API
    (CPython binds and runs it: a function with keyword-only parameters, ``*args``, a
    default native code cannot hold, a builtin such as ``print`` or ``divmod``, a C
    function such as ``random.random``); what it returns is checked (:mod:`.capi`)."""

    @property
    def callee_name(self) -> str:
        return self.label or str(getattr(self.callee, "__qualname__", self.callee))

    callee: object  # a Python function, or a builtin or C function
    args: tuple[Var, ...]
    kw_names: tuple[str, ...] = ()
    label: str = ""  # what the code calls it (``random.random``), if not its qualname
    #: ``numpy.zeros``/``empty``/``ones``: the array it makes (called with
    #: ``dtype=`` that dtype; its result checked to be such an array: :mod:`.newarrays`)
    makes: ArrayKind | None = None


@dataclass(frozen=True)
class CallMethod(Instr):
    """``obj.name(*args)`` of an instance, the last ``len(kw_names)`` by keyword: the
    method compiled in where planned (:mod:`.methodplan`), else CPython's method call
    through the C API (``PyObject_VectorcallMethod``: :mod:`.methods`).  ``checked``:
    arguments that may run Python code came after a :class:`MethodCheck` (``uid``), so
    the method is the one it found."""

    obj: Var
    name: str
    args: tuple[Var, ...]
    kw_names: tuple[str, ...] = ()
    checked: bool = False


@dataclass(frozen=True)
class MethodCheck(Instr):
    """Where ``obj.name`` is looked up for a call of ``nargs`` arguments (keywords
    ``kw_names``) whose arguments may run Python code: the planned method's guards
    (:mod:`.methodplan`), deoptimising at the lookup where they fail; so the method the
    call makes is the plan's whatever the arguments do.  ``uid``: the bound method's
    (``builtins_table.BoundMethodValue``)."""

    obj: Var
    name: str
    nargs: int
    kw_names: tuple[str, ...]
    uid: int


# ------------------------------------------------------------------ terminators


@dataclass(frozen=True)
class Terminator(_Node):
    line: int = field(default=0, kw_only=True)
    state: FrameState | None = field(default=None, kw_only=True, repr=False)

    def successors(self) -> tuple[tuple[int, tuple[Var, ...]], ...]:
        return ()


@dataclass(frozen=True)
class Jump(Terminator):
    target: int
    args: tuple[Var, ...]

    def successors(self) -> tuple[tuple[int, tuple[Var, ...]], ...]:
        return ((self.target, self.args),)


@dataclass(frozen=True)
class Branch(Terminator):
    """Go to ``then_target`` if ``cond`` (a bool) is true, else to ``else_target``."""

    cond: Var
    then_target: int
    then_args: tuple[Var, ...]
    else_target: int
    else_args: tuple[Var, ...]

    def successors(self) -> tuple[tuple[int, tuple[Var, ...]], ...]:
        return ((self.then_target, self.then_args), (self.else_target, self.else_args))


@dataclass(frozen=True)
class Return(Terminator):
    value: Var


@dataclass(frozen=True)
class HandBack(Terminator):
    """The frame goes on in the interpreter from ``state`` (an OSR entry's
    ``osr.markers.HANDBACK``: what follows is code the entry does not compile)."""


# ------------------------------------------------------------------ blocks, functions


class IRError(Exception):
    """The IR is malformed: a compiler bug, never the user's fault."""


def _instr_text(instr: Instr) -> str:
    name = type(instr).__name__
    if isinstance(instr, Const):
        return f"const {instr.value!r}"
    if isinstance(instr, BinaryOp | Compare):
        return f"{name.lower()} {instr.left} {instr.op.value} {instr.right}"
    if isinstance(instr, UnaryOp):
        return f"unaryop {instr.op.value} {instr.operand}"
    if isinstance(instr, MathCall):
        return f"math.{instr.fn}({', '.join(map(str, instr.args))})"
    if isinstance(instr, CallFunction):
        return f"call {instr.callee.__qualname__}({', '.join(map(str, instr.args))})"
    if isinstance(instr, Undefined | CheckBound):
        args = ", ".join(map(str, instr.uses()))
        return f"{name.lower()} {args} {instr.name!r}".replace("  ", " ")
    return f"{name.lower()} {', '.join(map(str, instr.uses()))}"


def _term_text(term: Terminator) -> str:
    def edge(target: int, args: tuple[Var, ...]) -> str:
        return f"bb{target}({', '.join(map(str, args))})"

    if isinstance(term, Jump):
        return f"jump {edge(term.target, term.args)}"
    if isinstance(term, Branch):
        then = edge(term.then_target, term.then_args)
        return f"branch {term.cond} ? {then} : {edge(term.else_target, term.else_args)}"
    if isinstance(term, Return):
        return f"return {term.value}"
    return type(term).__name__


@dataclass(frozen=True)
class Block:
    id: int
    params: tuple[Var, ...]
    instrs: tuple[Instr, ...]
    term: Terminator

    def defs(self) -> Iterator[Var]:
        yield from self.params
        for instr in self.instrs:
            yield instr.dest

    def verify(self, live_in: frozenset[Var] | set[Var] = frozenset()) -> None:
        """Local checks: a terminator, single definitions, reads after definitions.

        ``live_in``: the Vars defined before this block (in its dominators).
        """
        if not isinstance(self.term, Terminator):
            raise IRError(f"bb{self.id} has no terminator")
        seen: set[Var] = set()  # defined in this block so far (live_in is not copied)
        for param in self.params:
            if param in seen or param in live_in:
                raise IRError(f"bb{self.id}: {param} defined twice")
            seen.add(param)
        for instr in self.instrs:
            if not isinstance(instr, Instr):
                raise IRError(f"bb{self.id}: {instr!r} is not an instruction")
            for use in instr.uses():
                if use not in seen and use not in live_in:
                    raise IRError(f"bb{self.id}: {instr.dest} reads {use} before it is defined")
            self._verify_state(instr.state, seen, live_in)
            if instr.dest in seen or instr.dest in live_in:
                raise IRError(f"bb{self.id}: {instr.dest} defined twice")
            seen.add(instr.dest)
        for use in self.term.uses():
            if use not in seen and use not in live_in:
                raise IRError(f"bb{self.id}: terminator reads {use} before it is defined")
        self._verify_state(self.term.state, seen, live_in)

    def _verify_state(self, state: FrameState | None, seen: set[Var],
                      live_in: frozenset[Var] | set[Var]) -> None:
        """A frame state holds only values defined before the node it belongs to."""
        if state is None:
            return
        for var in state.values():
            if var not in seen and var not in live_in:
                raise IRError(f"bb{self.id}: the frame state at @{state.offset} holds "
                              f"{var} before it is defined")

    def dump(self, types: Mapping[Var, Kinds] | None = None) -> str:
        def typed(var: Var) -> str:
            return f"{var}: {kinds_text(types[var])}" if types and var in types else str(var)

        lines = [f"bb{self.id}({', '.join(typed(p) for p in self.params)}):"]
        shown: FrameState | None = None
        nodes: tuple[Instr | Terminator, ...] = (*self.instrs, self.term)
        for node in nodes:
            if node.state is not None and node.state != shown:
                shown = node.state
                lines.append(f"    ; state {shown.dump()}")
            if isinstance(node, Instr):
                text = f"    {typed(node.dest)} = {_instr_text(node)}"
                lines.append(f"{text:<60} ; line {node.line}" if node.line else text)
        lines.append(f"    {_term_text(self.term)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Function:
    """One Python function in SSA form; the entry block's params are its arguments."""

    name: str
    blocks: tuple[Block, ...]
    entry: int = 0

    @property
    def params(self) -> tuple[Var, ...]:
        return self.block(self.entry).params

    @functools.cached_property
    def _by_id(self) -> dict[int, Block]:
        return {b.id: b for b in self.blocks}

    def block(self, block_id: int) -> Block:
        try:
            return self._by_id[block_id]
        except KeyError:
            raise IRError(f"no block bb{block_id}") from None

    def successors(self, block_id: int) -> list[int]:
        return [t for t, _ in self.block(block_id).term.successors()]

    def predecessors(self) -> dict[int, list[int]]:
        preds: dict[int, list[int]] = {b.id: [] for b in self.blocks}
        for blk in self.blocks:
            for target, _ in blk.term.successors():
                preds.setdefault(target, []).append(blk.id)
        return preds

    def reverse_postorder(self) -> list[int]:
        order: list[int] = []
        seen: set[int] = set()
        stack: list[tuple[int, Iterator[int]]] = [(self.entry, iter(self.successors(self.entry)))]
        seen.add(self.entry)
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter(self.successors(child))))
                    break
            else:
                stack.pop()
                order.append(node)
        return order[::-1]

    def immediate_dominators(self) -> dict[int, int]:
        """The immediate dominator of every block reachable from the entry (the entry
        maps to itself).

        Cooper, Harvey and Kennedy's iterative algorithm over the reverse postorder:
        linear in the number of blocks for the graphs bytecode makes (a chain of
        dominator *sets* would be quadratic in a function of many branches).
        """
        order = self.reverse_postorder()
        position = {b: i for i, b in enumerate(order)}
        preds = self.predecessors()
        idom: dict[int, int] = {self.entry: self.entry}

        def meet(a: int, b: int) -> int:
            while a != b:
                while position[a] > position[b]:
                    a = idom[a]
                while position[b] > position[a]:
                    b = idom[b]
            return a

        changed = True
        while changed:
            changed = False
            for b in order[1:]:
                new: int | None = None
                for p in preds[b]:
                    if p in idom:
                        new = p if new is None else meet(p, new)
                assert new is not None  # a reachable block has a processed predecessor
                if idom.get(b) != new:
                    idom[b] = new
                    changed = True
        return idom

    def dominators(self) -> dict[int, set[int]]:
        """Dominator sets of the blocks reachable from the entry (for inspection and
        tests; :meth:`verify` walks the dominator tree instead)."""
        idom = self.immediate_dominators()
        dom: dict[int, set[int]] = {}
        for b in self.reverse_postorder():  # a block's idom comes before it
            dom[b] = {b} if b == self.entry else dom[idom[b]] | {b}
        return dom

    def verify(self) -> None:
        """Raise IRError unless the function is well-formed SSA.

        Each block's reads are checked against the Vars of the blocks dominating it,
        by a walk down the dominator tree that adds a block's definitions on the way
        down and removes them on the way back: linear in the size of the function.
        """
        ids = [b.id for b in self.blocks]
        if len(set(ids)) != len(ids):
            raise IRError("duplicate block ids")
        by_id = {b.id: b for b in self.blocks}
        if self.entry not in by_id:
            raise IRError(f"entry block bb{self.entry} missing")
        for blk in self.blocks:
            if not isinstance(blk.term, Terminator):
                raise IRError(f"bb{blk.id} has no terminator")
            for target, args in blk.term.successors():
                if target not in by_id:
                    raise IRError(f"bb{blk.id} jumps to missing bb{target}")
                if target == self.entry:
                    raise IRError(f"bb{blk.id} jumps to the entry block")
                if len(args) != len(by_id[target].params):
                    raise IRError(
                        f"bb{blk.id} passes {len(args)} values to bb{target}, "
                        f"which takes {len(by_id[target].params)}"
                    )
        defined: dict[Var, int] = {}
        for blk in self.blocks:
            for var in blk.defs():
                if var in defined:
                    raise IRError(f"{var} defined twice (bb{defined[var]} and bb{blk.id})")
                defined[var] = blk.id
        idom = self.immediate_dominators()
        children: dict[int, list[int]] = {b: [] for b in idom}
        for b, parent in idom.items():
            if b != self.entry:
                children[parent].append(b)
        visible: set[Var] = set()  # defined in the blocks dominating the one visited
        stack: list[tuple[int, bool]] = [(self.entry, True)]
        while stack:
            b, entering = stack.pop()
            blk = by_id[b]
            if entering:
                blk.verify(visible)
                visible.update(blk.defs())
                stack.append((b, False))
                stack.extend((c, True) for c in children[b])
            else:
                visible.difference_update(blk.defs())

    def dump(self, types: Mapping[Var, Kinds] | None = None) -> str:
        params = ", ".join(map(str, self.params))
        body = "\n".join(b.dump(types) for b in self.blocks)
        return f"function {self.name}({params}):\n{body}"
