"""Stage 2: simulate the value stack of each bytecode block -> SSA IR.

Every block gets one parameter per local variable and per value on the stack at its
entry; each predecessor passes its values (block arguments are the phis of this
IR).  Parameters whose incoming values are all the same are then removed, so a
straight-line function has none.

Compile-time values the code never computes with (NULL, ``abs``, ``math``,
``math.sqrt``, a hot function, a tuple being unpacked) travel on the simulated stack
as *statics* (:mod:`autotier.frontend.builtins_table`) to the CALL, LOAD_ATTR or
UNPACK_SEQUENCE that consumes them.  Handlers are named after the opcode they handle
(``_op_LOAD_FAST``); a missing one raises Unsupported.
"""

from __future__ import annotations

import bytecode

from autotier import compat
from autotier.frontend import genexps, ir, newarrays
from autotier.frontend.builtins_table import (
    AttrValue,
    BoundMethodValue,
    Builtin,
    BuiltinCallValue,
    CallableRef,
    NoneValue,
    Null,
    Resolver,
    Static,
    StrConst,
    TupleValue,
    builtin_static,
    constant_ok,
    describe,
    known_builtin,
)
from autotier.frontend.calls import lower_call
from autotier.frontend.decode import CodeBlock, DecodedFunction, Op
from autotier.frontend.errors import Unsupported, a, at_line
from autotier.frontend.ssa import RawBlock, finish
from autotier.osr import markers

ARRAY_ATTRS = ("ndim", "size")  # an ndarray's attributes that are ints
NUMBER_ATTRS = ("real", "imag")  # a number's parts (ir.NumberAttr)

Item = ir.Var | Static
_ENTRY = 0  # the synthetic entry block; bytecode block i becomes IR block i + 1
_ITER_MARKERS = (markers.iter_at, markers.reversed_at, markers.enumerate_at, markers.zip_of)

_BINOPS = {
    "ADD": ir.BinOp.ADD, "SUBTRACT": ir.BinOp.SUB, "MULTIPLY": ir.BinOp.MUL,
    "TRUE_DIVIDE": ir.BinOp.TRUEDIV, "FLOOR_DIVIDE": ir.BinOp.FLOORDIV,
    "REMAINDER": ir.BinOp.MOD, "POWER": ir.BinOp.POW, "LSHIFT": ir.BinOp.LSHIFT,
    "RSHIFT": ir.BinOp.RSHIFT, "AND": ir.BinOp.AND, "OR": ir.BinOp.OR,
    "XOR": ir.BinOp.XOR, "MATRIX_MULTIPLY": ir.BinOp.MATMUL,
}
_COMPARES = {c.name: ir.CmpOp[c.name] for c in bytecode.Compare}

# Why common opcodes have no handler, for the Unsupported message.
_REASONS = {
    "BUILD_MAP": "dicts are not supported",
    "BUILD_SET": "sets are not supported", "BUILD_STRING": "strings are not supported",
    "FORMAT_VALUE": "f-strings are not supported",

    "STORE_GLOBAL": "assigning to globals is not supported",
    "RAISE_VARARGS": "raise statements are not supported",
    "LOAD_ASSERTION_ERROR": "assert statements are not supported",
    "MAKE_FUNCTION": "nested functions and lambdas are not supported",
    "IMPORT_NAME": "import statements are not supported",
    "CALL_FUNCTION_EX": "calls with *args or **kwargs are not supported",
    "LOAD_DEREF": "closures are not supported", "LOAD_CLOSURE": "closures are not supported",
    "DELETE_SUBSCR": "`del xs[i]` is not supported",
    "UNPACK_EX": "starred unpacking (`a, *rest = xs`) is not supported",
    "LIST_TO_TUPLE": "a tuple display with a starred item is not supported",
    "DELETE_GLOBAL": "deleting a global is not supported",
    "BEFORE_WITH": "with blocks are not supported",
    "LOAD_BUILD_CLASS": "class statements are not supported",
    **dict.fromkeys(("STORE_DEREF", "DELETE_DEREF", "MAKE_CELL", "LOAD_CLASSDEREF",
                     "COPY_FREE_VARS"), "closures are not supported"),
    **dict.fromkeys(("SET_ADD", "SET_UPDATE"), "sets are not supported"),
    **dict.fromkeys(("MAP_ADD", "BUILD_CONST_KEY_MAP", "DICT_MERGE", "DICT_UPDATE"),
                    "dicts are not supported"),
    **dict.fromkeys(("IMPORT_FROM", "IMPORT_STAR"), "import statements are not supported"),
    **dict.fromkeys(("YIELD_VALUE", "RETURN_GENERATOR", "SEND", "GET_YIELD_FROM_ITER"),
                    "generators are not supported"),
    **dict.fromkeys(("GET_AWAITABLE", "GET_AITER", "GET_ANEXT", "BEFORE_ASYNC_WITH",
                     "END_ASYNC_FOR", "ASYNC_GEN_WRAP"), "async code is not supported"),
    **dict.fromkeys(("PUSH_EXC_INFO", "CHECK_EXC_MATCH", "CHECK_EG_MATCH", "POP_EXCEPT",
                     "RERAISE", "WITH_EXCEPT_START", "PREP_RERAISE_STAR"),
                    "try/except blocks are not supported"),
    **dict.fromkeys(("MATCH_MAPPING", "MATCH_SEQUENCE", "MATCH_KEYS", "MATCH_CLASS",
                     "GET_LEN"), "match statements are not supported"),
}


class StackFlow:
    def __init__(self, decoded: DecodedFunction, resolver: Resolver) -> None:
        self.d = decoded
        self.resolver = resolver
        self._ids = 0
        self.blocks: dict[int, RawBlock] = {}
        self.shapes: dict[int, tuple[object, ...]] = {}  # stack shape at a block's entry
        self.iters: set[ir.Var] = set()  # range iterators (never copied or stored)
        self.bound: set[ir.Var] = set()  # values that are never an unbound local
        self.bools: set[ir.Var] = set()  # values that are bools already
        # conditions known at compile time: the identity test of a call's builtin
        # that the generator expression splice makes (:mod:`.genexps`)
        self.known: dict[ir.Var, bool] = {}
        # state of the block being simulated
        self.stack: list[Item] = []
        self.locals: dict[str, ir.Var] = {}
        self.instrs: list[ir.Instr] = []
        self.ops: tuple[Op, ...] = ()
        self.pos = 0
        self.line = decoded.first_line
        self.index = 0
        self.kw_names: tuple[str, ...] = ()  # KW_NAMES of the next CALL
        self.op: Op | None = None  # the instruction being simulated
        self.resume_op: Op | None = None  # where a frame state before it resumes
        self.op_stack: tuple[Item, ...] = ()  # the stack as it began
        self.folded: set[int] = set()  # positions of ops a list literal took in
        self._state: ir.FrameState | None = None
        self._methods = 0  # bound methods loaded (their uids)

    # ---------------------------------------------------------------- helpers
    def var(self, hint: str = "") -> ir.Var:
        self._ids += 1
        return ir.Var(self._ids, hint)

    def _store_hint(self) -> str:
        nxt = self.ops[self.pos + 1] if self.pos + 1 < len(self.ops) else None
        return str(nxt.arg) if nxt is not None and nxt.name == "STORE_FAST" else ""

    def state(self) -> ir.FrameState | None:
        """The frame state before the instruction being simulated (made at its first
        use: the locals have not changed yet, and the stack was saved as it began)."""
        if self._state is None and self.op is not None and self.resume_op is not None:
            self._state = ir.FrameState(
                self.resume_op.index, self.resume_op.offset, self.line,
                tuple(self.locals[name] for name in self.d.varnames), self.op_stack,
                _consumes(self.op))
        return self._state

    def emit(self, cls: type[ir.Instr], *args: object, hint: str | None = None) -> ir.Var:
        dest = self.var(self._store_hint() if hint is None else hint)
        self.instrs.append(cls(dest, *args, line=self.line, state=self.state()))
        if cls is not ir.Undefined:
            self.bound.add(dest)
        return dest

    def fail(self, what: str) -> Unsupported:
        return Unsupported(f"{at_line(what, self.line)} (in {self.d.name})")

    def pop(self) -> Item:
        if not self.stack:
            raise self.fail("stack underflow")
        return self.stack.pop()

    def pop_value(self, what: str = "value") -> ir.Var:
        return self.value_of(self.pop(), what)

    def value_of(self, item: Item, what: str = "value") -> ir.Var:
        if not isinstance(item, ir.Var):
            raise self.fail(f"{describe(item)} used as {a(what)} is not supported")
        return item

    def truth(self, value: ir.Var) -> ir.Var:
        if value in self.bools:
            return value
        result = self.emit(ir.Truth, value, hint="")
        self.bools.add(result)
        return result

    def const(self, value: object) -> Item:
        if value is None:
            return NoneValue()
        if isinstance(value, tuple):
            return TupleValue(tuple(self.const(v) for v in value))
        if type(value) is str:
            return StrConst(value)
        if value in _ITER_MARKERS:  # an OSR entry's iterator part-way (_op_CALL)
            return CallableRef(value, value.__name__)
        if any(value is b for b in genexps.REDUCERS.values()):  # (_op_IS_OP)
            return builtin_static(value)
        if not constant_ok(value):
            if type(value) is int:
                # Beyond int64 (CPython folds 2**62 * 4 into one constant): native code
                # cannot hold it, so reaching it bails out, and the interpreter, which
                # re-runs the call, computes with it.  The rest of the function compiles.
                missing = self.emit(ir.Undefined, ir.BIG_INT_CONSTANT)
                return self.emit(ir.CheckBound, missing, ir.BIG_INT_CONSTANT)
            raise self.fail(f"{type(value).__name__} constants are not supported")
        return self.emit(ir.Const, value)

    # ---------------------------------------------------------------- edges
    def _slot(self, item: Item) -> object:
        if isinstance(item, ir.Var):
            return "iter" if item in self.iters else "value"
        if isinstance(item, BuiltinCallValue):  # its values become block arguments
            return ("call", item.builtin, item.iterating,
                    tuple(self._slot(v) for v in item.items))
        return item

    def edge(self, target: int, stack: list[Item]) -> tuple[int, tuple[ir.Var, ...]]:
        """Block arguments for a jump to bytecode block ``target`` with ``stack``
        (a None on it becomes a value: ``None if c else x`` meets a value there)."""
        for i, item in enumerate(stack):
            if isinstance(item, NoneValue):
                stack[i] = self.emit(ir.Const, None, hint="none")
        shape = tuple(self._slot(item) for item in stack)
        known = self.shapes.setdefault(target, shape)
        if known != shape:
            raise self.fail("values of different sorts meet at a jump target "
                            "(a callable or tuple chosen at run time?)")
        values = [self.locals[name] for name in self.d.varnames]
        for item in stack:
            if isinstance(item, ir.Var):
                values.append(item)
            elif isinstance(item, BuiltinCallValue):
                values.extend(item.items)
        return target + 1, tuple(values)

    def jump(self, target: int, stack: list[Item] | None = None) -> ir.Jump:
        return ir.Jump(*self.edge(target, self.stack if stack is None else stack),
                       line=self.line, state=self.state())

    def branch(self, cond: ir.Var, then: tuple[int, list[Item]],
               other: tuple[int, list[Item]]) -> ir.Branch:
        then_target, then_args = self.edge(*then)
        else_target, else_args = self.edge(*other)
        return ir.Branch(cond, then_target, then_args, else_target, else_args,
                         line=self.line, state=self.state())

    # ---------------------------------------------------------------- driver
    def run(self) -> ir.Function:
        entry_instrs: list[ir.Instr] = []
        args = [self.var(name) for name in self.d.argnames]
        self.bound.update(args)
        self.locals = dict(zip(self.d.argnames, args, strict=True))
        for name in self.d.varnames[len(args):]:
            dest = self.var(name)
            entry_instrs.append(ir.Undefined(dest, name, line=self.d.first_line))
            self.locals[name] = dest
        self.stack = []
        first = self.jump(self.d.blocks[0].index)
        self.blocks[_ENTRY] = RawBlock(args, entry_instrs, first)
        for blk in self._order():
            if blk.index in self.shapes:  # (else no jump reaches it: a known condition)
                self.run_block(blk)
        return finish(self.d.name, self.blocks, _ENTRY, self.bound)

    def _order(self) -> list[CodeBlock]:
        """Reverse postorder: every block after at least one of its predecessors."""
        by_index = {b.index: b for b in self.d.blocks}
        order: list[int] = []
        seen: set[int] = set()

        def succs(b: CodeBlock) -> list[int]:
            out = [op.target for op in b.ops if op.target is not None]
            return out + ([b.fallthrough] if b.fallthrough is not None else [])

        stack = [(self.d.blocks[0].index, iter(succs(self.d.blocks[0])))]
        seen.add(self.d.blocks[0].index)
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter(succs(by_index[child]))))
                    break
            else:
                stack.pop()
                order.append(node)
        return [by_index[i] for i in reversed(order)]

    def run_block(self, blk: CodeBlock) -> None:
        self.index = blk.index
        params: list[ir.Var] = []
        self.locals = {}
        for name in self.d.varnames:
            self.locals[name] = self.var(name)
            params.append(self.locals[name])
        self.stack = []
        def param(slot: object, depth: int) -> ir.Var:
            var = self.var(f"stack{depth}")
            params.append(var)
            if slot == "iter":
                self.iters.add(var)
            return var

        for depth, slot in enumerate(self.shapes[blk.index]):
            if slot in ("value", "iter"):
                self.stack.append(param(slot, depth))
            elif isinstance(slot, tuple) and slot[0] == "call":
                _, builtin, iterating, inner = slot
                items = tuple(param(s, depth) for s in inner)
                self.stack.append(BuiltinCallValue(builtin, items, iterating))
            else:
                self.stack.append(slot)  # type: ignore[arg-type]
        self.instrs = []
        self.ops = blk.ops
        self.folded = set()
        term: ir.Terminator | None = None
        call_start: Op | None = None  # the PRECALL/KW_NAMES that set up the next CALL
        for self.pos, op in enumerate(blk.ops):
            self.line = op.line
            if op.name in compat.CALL_PREFIX_OPCODES:
                call_start = op if call_start is None else call_start
            if op.name in compat.NO_EFFECT_OPCODES:
                continue
            # a frame resumed at a CALL resumes where its call shape is set up
            at = call_start if op.name == "CALL" and call_start is not None else op
            if op.name not in compat.CALL_PREFIX_OPCODES:
                call_start = None
            self.op, self.op_stack, self._state = op, tuple(self.stack), None
            self.resume_op = at
            handler = getattr(self, f"_op_{op.name}", None)
            if handler is None:
                reason = _REASONS.get(op.name)
                where = at_line(op.opname, self.line)
                what = reason or f"the {op.opname} instruction is not supported"
                raise Unsupported(f"{where}: {what} (in {self.d.name})")
            term = handler(op)
        if term is None:
            if blk.fallthrough is None:
                raise self.fail(f"block {blk.index} ends without a jump or return")
            self.op, self._state = None, None  # falling through is no instruction
            term = self.jump(blk.fallthrough)
        self.blocks[blk.index + 1] = RawBlock(params, self.instrs, term)

    # ---------------------------------------------------------------- locals, constants
    def _op_LOAD_FAST(self, op: Op) -> None:
        name = str(op.arg)
        value = self.locals[name]
        if value not in self.bound:
            value = self.emit(ir.CheckBound, value, name, hint=name)
            self.locals[name] = value
        self.stack.append(value)

    def _made_tuple(self, item: TupleValue) -> ir.Var | None:
        """A tuple of numbers (and None) made as an object (``MakeTuple``), or None when
        an item is anything else."""
        if not all(isinstance(i, ir.Var | NoneValue) for i in item.items):
            return None
        items = tuple(self.emit(ir.Const, None, hint="none") if isinstance(i, NoneValue)
                      else i for i in item.items)
        return self.emit(ir.MakeTuple, items, hint="tuple")

    def _op_STORE_FAST(self, op: Op) -> None:
        if self.stack and isinstance(self.stack[-1], NoneValue):  # x = None
            self.pop()
            self.stack.append(self.emit(ir.Const, None, hint=str(op.arg)))
        top = self.stack[-1] if self.stack else None
        if isinstance(top, TupleValue):  # t = (a, b): a tuple object of its own
            made = self._made_tuple(top)
            if made is not None:
                self.stack[-1] = made
        value = self.pop_value("local variable")
        if value in self.iters:
            raise self.fail("storing an iterator in a local variable is not supported")
        self.locals[str(op.arg)] = value

    def _op_DELETE_FAST(self, op: Op) -> None:
        name = str(op.arg)
        if self.locals[name] not in self.bound:
            self.emit(ir.CheckBound, self.locals[name], name, hint=name)
        self.locals[name] = self.emit(ir.Undefined, name, hint=name)

    def _op_LOAD_CONST(self, op: Op) -> ir.Terminator | None:
        if op.arg is markers.HANDBACK:  # an OSR entry's end: the interpreter goes on
            return ir.HandBack(line=self.line, state=self.state())  # (decode cut here)
        if self.pos in self.folded:  # a list literal's constants (BUILD_LIST took them)
            return None
        self.stack.append(self.const(op.arg))
        return None

    def _op_POP_TOP(self, op: Op) -> None:
        self.pop()

    def _op_PUSH_NULL(self, op: Op) -> None:
        self.stack.append(Null())

    def _op_COPY(self, op: Op) -> None:
        item = self.stack[-int(op.arg)]  # type: ignore[call-overload]
        if isinstance(item, ir.Var) and item in self.iters:
            raise self.fail("copying an iterator is not supported")
        self.stack.append(item)

    def _op_LIST_APPEND(self, op: Op) -> None:
        """A list comprehension's append (:mod:`.comprehensions`): the list sits
        ``op.arg`` entries down once the item is popped."""
        value = self.pop_value("list item")
        seq = self.value_of(self.stack[-int(op.arg)], "list")  # type: ignore[call-overload]
        self.emit(ir.ListAppend, seq, value, hint="")

    def _op_SWAP(self, op: Op) -> None:
        n = int(op.arg)  # type: ignore[call-overload]
        self.stack[-1], self.stack[-n] = self.stack[-n], self.stack[-1]

    def _op_BUILD_TUPLE(self, op: Op) -> None:
        n = int(op.arg)  # type: ignore[call-overload]
        items = self.stack[len(self.stack) - n:] if n else []
        del self.stack[len(self.stack) - n:]
        self.stack.append(TupleValue(tuple(items)))

    def _op_BUILD_LIST(self, op: Op) -> None:
        """``[a, b]``; ``[1.0, 2.0, 3.0]`` (BUILD_LIST 0, LOAD_CONST of the tuple,
        LIST_EXTEND 1) is one literal of the constants: the two instructions after it
        are folded in (they run nothing a frame could stop at)."""
        n = int(op.arg)  # type: ignore[call-overload]
        items = [self.pop_value("list item") for _ in range(n)][::-1]
        ahead = self.ops[self.pos + 1:self.pos + 3]
        if (n == 0 and len(ahead) == 2 and ahead[0].name == "LOAD_CONST"
                and isinstance(ahead[0].arg, tuple) and ahead[1].name == "LIST_EXTEND"
                and ahead[1].arg == 1):
            constants = self.const(ahead[0].arg)
            assert isinstance(constants, TupleValue)
            for item in constants.items:
                if not isinstance(item, ir.Var):
                    raise self.fail(f"a list of {describe(item)} is not supported")
                items.append(item)
            self.folded.update((self.pos + 1, self.pos + 2))
        self.stack.append(self.emit(ir.MakeList, tuple(items), hint=""))

    def _op_LIST_EXTEND(self, op: Op) -> None:
        if self.pos not in self.folded:
            raise self.fail("extending a list is not supported")

    def _op_UNPACK_SEQUENCE(self, op: Op) -> None:
        seq = self.pop()
        if isinstance(seq, AttrValue) and seq.name == "shape":  # n, m = a.shape
            (arr,) = seq.items
            n = int(op.arg)  # type: ignore[call-overload]
            self.emit(ir.ShapeCheck, arr, n, hint="")
            dims = [self.emit(ir.ArrayDim, arr, self.emit(ir.Const, i, hint=""), hint="dim")
                    for i in range(n)]
            self.stack.extend(reversed(dims))
            return
        if isinstance(seq, ir.Var):  # a list or tuple value: its items, by index
            n = int(op.arg)  # type: ignore[call-overload]
            self.emit(ir.UnpackCheck, seq, n, hint="")
            items = [self.emit(ir.GetItem, seq, self.emit(ir.Const, i, hint=""), hint="item")
                     for i in range(n)]
            self.stack.extend(reversed(items))
            return
        if not isinstance(seq, TupleValue):
            raise self.fail("unpacking anything but a tuple is not supported")
        if len(seq.items) != op.arg:
            raise self.fail(f"unpacking {len(seq.items)} values into {op.arg} names")
        self.stack.extend(reversed(seq.items))

    # ---------------------------------------------------------------- names, calls
    def _push_resolved(self, value: object) -> None:
        if isinstance(value, int | float | complex):
            self.stack.append(self.emit(ir.Const, value))
        else:
            self.stack.append(value)  # type: ignore[arg-type]

    def _op_LOAD_GLOBAL(self, op: Op) -> None:
        push_null, name = compat.load_global_arg(op.arg)
        if push_null:
            self.stack.append(Null())
        self._push_resolved(self.resolver.load_global(name, self.line))

    def _op_LOAD_ATTR(self, op: Op) -> None:
        method, name = compat.load_attr_arg(op.arg)
        obj = self.pop()
        if isinstance(obj, ir.Var) and not method and name in ARRAY_ATTRS:
            self.stack.append(self.emit(ir.ArrayAttr, obj, name, hint=name))
            return
        if isinstance(obj, ir.Var) and not method and name == "shape":
            self.stack.append(AttrValue(name, (obj,)))
            return
        if isinstance(obj, ir.Var) and not method and name in NUMBER_ATTRS:
            self.stack.append(self.emit(ir.NumberAttr, obj, name, hint=name))
            return
        if isinstance(obj, ir.Var) and method:  # 3.12's form: .conjugate(), an instance's
            self.stack.append(Null())
            self.stack.append(self._bound_method(name, obj))
            return
        if isinstance(obj, ir.Var):  # an instance's (typeinfer decides)
            self.stack.append(self.emit(ir.GetAttr, obj, name, hint=name))
            return
        if method:
            self.stack.append(Null())
        self._push_resolved(self.resolver.load_attr(obj, name, self.line))

    def _bound_method(self, name: str, obj: ir.Var) -> BoundMethodValue:
        self._methods += 1
        return BoundMethodValue(name, (obj,), self.index, len(self.instrs), self.state(),
                                self._methods)

    def _op_LOAD_METHOD(self, op: Op) -> None:
        obj = self.pop()
        if isinstance(obj, ir.Var):  # xs.append, z.conjugate, an instance's method
            self.stack.append(Null())
            self.stack.append(self._bound_method(str(op.arg), obj))
            return
        self.stack.append(Null())
        self._push_resolved(self.resolver.load_attr(obj, str(op.arg), self.line))

    def _op_KW_NAMES(self, op: Op) -> None:
        self.kw_names = tuple(str(n) for n in op.arg)  # type: ignore[attr-defined]

    def _op_CALL(self, op: Op) -> None:
        n = int(op.arg)  # type: ignore[call-overload]
        kw_names, self.kw_names = self.kw_names, ()
        items = self.stack[len(self.stack) - n:] if n else []
        del self.stack[len(self.stack) - n:]
        upper, lower = self.pop(), self.pop()
        if not isinstance(lower, Null):
            raise self.fail("method calls are not supported")
        if isinstance(upper, ir.Var):
            raise self.fail("calling a number")
        if isinstance(upper, CallableRef) and upper.obj in _ITER_MARKERS:
            self.stack.append(self._iter_marker(upper.obj, items))
            return
        if isinstance(upper, CallableRef) and newarrays.maker(upper.obj) is not None:
            self.stack.append(newarrays.new_array(self, upper, items, kw_names))
            return
        args = [self.value_of(item, "function argument") for item in items]
        self.stack.append(lower_call(self, upper, args, kw_names))

    def _iter_marker(self, marker: object, items: list[Item]) -> Item:
        """An OSR entry's iterator, rebuilt part-way (:mod:`autotier.osr.markers`)."""
        if marker in (markers.iter_at, markers.reversed_at) and len(items) == 2:
            seq, start = (self.value_of(item, "iterable") for item in items)
            it = self.emit(ir.GetIter, seq, marker is markers.reversed_at, start,
                           hint="iter")
            self.iters.add(it)
            return it
        its = [self.value_of(item, "iterator") for item in items]
        if marker is markers.enumerate_at and len(its) == 2 and its[0] in self.iters:
            return BuiltinCallValue(Builtin.ENUMERATE, tuple(its), iterating=True)
        if marker is markers.zip_of and its and all(it in self.iters for it in its):
            return BuiltinCallValue(Builtin.ZIP, tuple(its), iterating=True)
        raise self.fail("an OSR iterator marker of another shape")

    # ---------------------------------------------------------------- operators
    def _op_BINARY_OP(self, op: Op) -> None:
        right, left = self.pop_value(), self.pop_value()
        kind = op.arg.name.removeprefix("INPLACE_")  # type: ignore[attr-defined]
        self.stack.append(self.emit(ir.BinaryOp, _BINOPS[kind], left, right))

    def _unary(self, op: ir.UnOp) -> None:
        result = self.emit(ir.UnaryOp, op, self.pop_value())
        if op is ir.UnOp.NOT:
            self.bools.add(result)
        self.stack.append(result)

    def _op_UNARY_NEGATIVE(self, op: Op) -> None:
        self._unary(ir.UnOp.NEG)

    def _op_UNARY_POSITIVE(self, op: Op) -> None:
        self._unary(ir.UnOp.POS)

    def _op_UNARY_INVERT(self, op: Op) -> None:
        self._unary(ir.UnOp.INVERT)

    def _op_UNARY_NOT(self, op: Op) -> None:
        self._unary(ir.UnOp.NOT)

    def _op_CALL_INTRINSIC_1(self, op: Op) -> None:
        alias = compat.INTRINSIC_1_ALIASES.get(int(op.arg))  # type: ignore[call-overload]
        if alias is None:
            raise self.fail(f"CALL_INTRINSIC_1 {op.arg}")
        getattr(self, f"_op_{alias}")(op)

    def _compared(self) -> ir.Var:
        item = self.pop()
        if isinstance(item, NoneValue):  # x == None: None is a value here
            return self.emit(ir.Const, None, hint="none")
        if not isinstance(item, ir.Var):
            raise self.fail(f"{describe(item)} used as a value is not supported")
        return item

    def _op_COMPARE_OP(self, op: Op) -> None:
        right, left = self._compared(), self._compared()
        result = self.emit(ir.Compare, _COMPARES[op.arg.name], left, right)  # type: ignore[attr-defined]
        self.bools.add(result)
        self.stack.append(result)

    def _op_IS_OP(self, op: Op) -> None:
        """``x is None`` / ``x is not None``; any other identity test is declined."""
        right, left = self.pop(), self.pop()
        negate = bool(op.arg)
        before = self.ops[self.pos - 1] if self.pos else None
        if (before is not None and before.name == "LOAD_CONST"
                and not isinstance(right, ir.Var) and not isinstance(left, ir.Var)
                and (wanted := known_builtin(right)) is not None):
            # a call's builtin against the genuine one (:mod:`.genexps`): the static
            # is what the name held at compile time, which the guards keep true
            if known_builtin(left) is not wanted:  # (its way out makes the generator)
                raise self.fail(f"{describe(left)} is called with a generator expression "
                                f"({genexps.DECLINED} as the builtins)")
            result = self.emit(ir.Const, not negate)
            self.known[result] = not negate
            self.bools.add(result)
            self.stack.append(result)
            return
        if isinstance(right, NoneValue) and isinstance(left, NoneValue):
            self.stack.append(self.emit(ir.Const, not negate))
            return
        if isinstance(left, NoneValue):
            left, right = right, left
        if not (isinstance(right, NoneValue) and isinstance(left, ir.Var)):
            raise self.fail("`is` comparisons other than with None are not supported")
        result = self.emit(ir.IsNone, left, negate, hint="")
        self.bools.add(result)
        self.stack.append(result)

    # ---------------------------------------------------------------- control flow
    def _fallthrough(self) -> int:
        nxt = self.d.block(self.index).fallthrough
        if nxt is None:
            raise self.fail("conditional jump without a fall-through block")
        return nxt

    def _op_JUMP(self, op: Op) -> ir.Terminator:
        assert op.target is not None
        return self.jump(op.target)

    def _pop_jump(self, op: Op, jump_if: bool) -> ir.Terminator:
        assert op.target is not None
        top = self.stack[-1]
        if isinstance(top, ir.Var) and top in self.known:  # (_op_IS_OP)
            self.pop()
            return self.jump(op.target if self.known[top] == jump_if else self._fallthrough())
        cond = self.truth(self.pop_value("condition"))
        taken, not_taken = (op.target, list(self.stack)), (self._fallthrough(), list(self.stack))
        return self.branch(cond, taken, not_taken) if jump_if else \
            self.branch(cond, not_taken, taken)

    def _none_jump(self, op: Op, jump_if_none: bool) -> ir.Terminator:
        assert op.target is not None
        item = self.pop()
        if isinstance(item, NoneValue):
            return self.jump(op.target if jump_if_none else self._fallthrough())
        if not isinstance(item, ir.Var):
            raise self.fail(f"{describe(item)} tested against None is not supported")
        cond = self.emit(ir.IsNone, item, not jump_if_none, hint="")
        self.bools.add(cond)
        return self.branch(cond, (op.target, list(self.stack)),
                           (self._fallthrough(), list(self.stack)))

    def _op_POP_JUMP_IF_NONE(self, op: Op) -> ir.Terminator:
        return self._none_jump(op, True)

    def _op_POP_JUMP_IF_NOT_NONE(self, op: Op) -> ir.Terminator:
        return self._none_jump(op, False)

    def _op_POP_JUMP_IF_TRUE(self, op: Op) -> ir.Terminator:
        return self._pop_jump(op, True)

    def _op_POP_JUMP_IF_FALSE(self, op: Op) -> ir.Terminator:
        return self._pop_jump(op, False)

    def _jump_or_pop(self, op: Op, jump_if: bool) -> ir.Terminator:
        assert op.target is not None
        top = self.stack[-1]
        if not isinstance(top, ir.Var):
            raise self.fail(f"{describe(top)} used as a condition is not supported")
        cond = self.truth(top)
        taken, popped = (op.target, list(self.stack)), (self._fallthrough(), self.stack[:-1])
        return self.branch(cond, taken, popped) if jump_if else self.branch(cond, popped, taken)

    def _op_JUMP_IF_TRUE_OR_POP(self, op: Op) -> ir.Terminator:
        return self._jump_or_pop(op, True)

    def _op_JUMP_IF_FALSE_OR_POP(self, op: Op) -> ir.Terminator:
        return self._jump_or_pop(op, False)

    def _op_RETURN_VALUE(self, op: Op) -> ir.Terminator:
        item = self.pop()
        if isinstance(item, AttrValue) and item.name == "shape":
            item = self.emit(ir.ShapeTuple, item.items[0], hint="shape")
        if isinstance(item, NoneValue):
            item = self.emit(ir.Const, None, hint="none")
        elif isinstance(item, TupleValue) and (made := self._made_tuple(item)) is not None:
            item = made
        if not isinstance(item, ir.Var):
            raise self.fail(f"returning {describe(item)} is not supported")
        return ir.Return(item, line=self.line)

    def _op_RETURN_CONST(self, op: Op) -> ir.Terminator:
        self.stack.append(self.const(op.arg))
        return self._op_RETURN_VALUE(op)

    def _indices(self) -> tuple[ir.Var, ...] | None:
        """A subscript of several ints (``a[i, j]``): its items; None for one index."""
        top = self.stack[-1] if self.stack else None
        if isinstance(top, TupleValue) and top.items and all(
                isinstance(i, ir.Var) for i in top.items):
            self.pop()
            return tuple(top.items)  # type: ignore[arg-type]
        return None

    def _op_BUILD_SLICE(self, op: Op) -> None:
        """``a:b`` or ``a:b:c``: a static (a resume makes it ``slice(a, b, c)``) that
        BINARY_SUBSCR takes; any other use of it is declined."""
        bounds = []
        for _ in range(int(op.arg)):  # type: ignore[call-overload]
            item = self.pop()
            bounds.append(self.emit(ir.Const, None, hint="none") if isinstance(
                item, NoneValue) else self.value_of(item, "slice bound"))
        self.stack.append(BuiltinCallValue(Builtin.SLICE, tuple(reversed(bounds))))

    def _slice_on_top(self) -> BuiltinCallValue | None:
        top = self.stack[-1] if self.stack else None
        return top if isinstance(top, BuiltinCallValue) and top.builtin is Builtin.SLICE \
            else None

    def _op_BINARY_SUBSCR(self, op: Op) -> None:
        sliced = self._slice_on_top()
        if sliced is not None:  # seq[a:b]: CPython's slicing, a new list or tuple
            self.pop()
            seq = self.pop_value("sliced value")
            self.stack.append(self.emit(ir.GetSlice, seq, sliced.items, hint="slice"))
            return
        cell = self._indices()
        if cell is not None:
            arr = self.pop_value("subscripted value")
            self.stack.append(self.emit(ir.GetCell, arr, cell, hint="item"))
            return
        index = self.pop_value("index")
        top = self.stack[-1] if self.stack else None
        if isinstance(top, AttrValue) and top.name == "shape":  # a.shape[k]
            self.pop()
            self.stack.append(self.emit(ir.ArrayDim, top.items[0], index, hint="dim"))
            return
        seq = self.pop_value("subscripted value")
        self.stack.append(self.emit(ir.GetItem, seq, index, hint="item"))

    def _op_STORE_SUBSCR(self, op: Op) -> None:
        if self._slice_on_top() is not None:
            raise self.fail("slice assignment (`xs[a:b] = ys`) is not supported")
        cell = self._indices()
        if cell is not None:
            arr = self.pop_value("subscripted value")
            value = self.pop_value("stored value")
            self.emit(ir.SetCell, arr, cell, value, hint="")
            return
        index = self.pop_value("index")
        seq = self.pop_value("subscripted value")
        value = self.pop_value("stored value")
        self.emit(ir.SetItem, seq, index, value, hint="")

    def _op_STORE_ATTR(self, op: Op) -> None:
        obj = self.pop_value("instance")
        item = self.pop()
        value = (self.emit(ir.Const, None, hint="none") if isinstance(item, NoneValue)
                 else self.value_of(item, "stored value"))
        self.emit(ir.SetAttr, obj, str(op.arg), value, hint="")

    def _op_DELETE_ATTR(self, op: Op) -> None:
        obj = self.pop_value("instance")
        self.emit(ir.DelAttr, obj, str(op.arg), hint="")

    def _op_CONTAINS_OP(self, op: Op) -> None:
        seq = self.pop_value("container")
        value = self.pop_value("value")
        result = self.emit(ir.Contains, value, seq, bool(op.arg), hint="found")
        self.bools.add(result)
        self.stack.append(result)

    def _op_GET_ITER(self, op: Op) -> None:
        top = self.stack[-1] if self.stack else None
        if isinstance(top, BuiltinCallValue) and top.builtin is Builtin.REVERSED:
            self.pop()  # reversed(seq): its iterator, made here
            it = self.emit(ir.GetIter, top.items[0], True, hint="iter")
            self.iters.add(it)
            self.stack.append(it)
            return
        if isinstance(top, BuiltinCallValue) and not top.iterating:
            self.pop()
            sources = top.items[:1] if top.builtin is Builtin.ENUMERATE else top.items
            its = []
            for source in sources:
                its.append(self.emit(ir.GetIter, source, hint="iter"))
                self.iters.add(its[-1])
            extra = top.items[1:] if top.builtin is Builtin.ENUMERATE else ()
            self.stack.append(BuiltinCallValue(top.builtin, (*its, *extra), iterating=True))
            return
        it = self.emit(ir.GetIter, self.pop_value("iterable"), hint="iter")
        self.iters.add(it)
        self.stack.append(it)

    def _op_FOR_ITER(self, op: Op) -> ir.Terminator:
        assert op.target is not None
        top = self.stack[-1] if self.stack else None
        if isinstance(top, BuiltinCallValue) and top.iterating:
            return self._for_iter_call(op, top)
        it = self.pop_value("iterator")
        if it not in self.iters:
            raise self.fail("FOR_ITER over something that is not an iterator of a range, "
                            "list or tuple")
        more = self.emit(ir.IterHasNext, it, hint="more")
        item = self.emit(ir.IterValue, it)
        advanced = self.emit(ir.IterAdvance, it, hint="iter")
        self.iters.add(advanced)
        body = [*self.stack, advanced, item]
        exhausted = list(self.stack)
        if compat.FOR_ITER_EXIT_PUSHES_PLACEHOLDER:
            exhausted += [it, Null()]
        return self.branch(more, (self._fallthrough(), body), (op.target, exhausted))

    def _step(self, it: ir.Var) -> tuple[ir.Var, ir.Var, ir.Var]:
        """(has an item, the item, the iterator after it) of iterator ``it``."""
        if it not in self.iters:
            raise self.fail("FOR_ITER over something that is not an iterator")
        more = self.emit(ir.IterHasNext, it, hint="more")
        item = self.emit(ir.IterValue, it)
        advanced = self.emit(ir.IterAdvance, it, hint="iter")
        self.iters.add(advanced)
        return more, item, advanced

    def _for_iter_call(self, op: Op, top: BuiltinCallValue) -> ir.Terminator:
        """FOR_ITER over ``enumerate(...)`` (a (count, item) tuple) or ``zip(...)`` (a
        tuple of items; it stops at the shortest), as a static tuple to unpack."""
        assert op.target is not None
        self.pop()
        if top.builtin is Builtin.ENUMERATE:
            it, count = top.items
            more, item, advanced = self._step(it)
            one = self.emit(ir.Const, 1, hint="")
            after = BuiltinCallValue(top.builtin, (advanced, self.emit(
                ir.BinaryOp, ir.BinOp.ADD, count, one, hint="count")), iterating=True)
            value: Item = TupleValue((count, item))
        else:
            steps = [self._step(it) for it in top.items]
            more = steps[0][0]
            for other, _, _ in steps[1:]:  # the first exhausted iterator ends it
                more = self.emit(ir.Select, more, other, more, hint="more")
            self.bools.add(more)
            after = BuiltinCallValue(top.builtin, tuple(s[2] for s in steps), iterating=True)
            value = TupleValue(tuple(s[1] for s in steps))
        body = [*self.stack, after, value]
        exhausted = list(self.stack)
        if compat.FOR_ITER_EXIT_PUSHES_PLACEHOLDER:
            exhausted += [top, Null()]
        return self.branch(more, (self._fallthrough(), body), (op.target, exhausted))

    def _op_END_FOR(self, op: Op) -> None:
        self.pop()
        self.pop()


def _consumes(op: Op) -> int:
    """The stack entries an instruction that native code may finish through the C API
    takes: a CALL's NULL, callee and arguments; CONTAINS_OP's two operands."""
    if op.name == "CALL":
        return int(op.arg) + 2  # type: ignore[call-overload]
    # an attribute read takes its instance, a write its value and instance
    return {"CONTAINS_OP": 2, "LOAD_ATTR": 1, "STORE_ATTR": 2, "DELETE_ATTR": 1}.get(op.name, 0)


def build_ir(decoded: DecodedFunction, resolver: Resolver) -> ir.Function:
    """The SSA IR of one decoded function."""
    func = StackFlow(decoded, resolver).run()
    func.verify()
    if decoded.checked:
        _check_comprehension_loads(func, decoded)
    return func


def _check_comprehension_loads(func: ir.Function, decoded: DecodedFunction) -> None:
    """Decline where a list comprehension or generator expression inlined
    (:mod:`.comprehensions`, :mod:`.genexps`) reads a local
    that may be unbound there: its frame's error would be UnboundLocalError of a hidden
    or outer local where CPython raises NameError of a free variable."""
    for block in func.blocks:
        for instr in block.instrs:
            if (isinstance(instr, ir.CheckBound) and instr.state is not None
                    and instr.state.index in decoded.checked):
                name = instr.name.rpartition(">.")[2]
                raise Unsupported(at_line(f"a comprehension or generator expression reads "
                                          f"{name!r}, which may be unbound there",
                                          instr.line)
                                  + f" (in {decoded.name})")

