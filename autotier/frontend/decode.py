"""Stage 1: a function's code object -> a control-flow graph of bytecode blocks.

Built on ``bytecode.ControlFlowGraph``; opcode spellings are normalised through
:mod:`autotier.compat.opcodes`, and code the frontend can never
compile (generators, closures, ``*args``, ``try``) is rejected here, before any work.
The blocks are of the function's code with its list comprehensions spliced in
(:mod:`.comprehensions`, which declines every other nested function).
"""

from __future__ import annotations

import dis
import functools
import inspect
from dataclasses import dataclass
from types import CodeType, FunctionType

import bytecode

from autotier import compat
from autotier.frontend import comprehensions
from autotier.frontend.errors import Unsupported
from autotier.osr import markers

_REJECTED_FLAGS = (
    (inspect.CO_GENERATOR, "generators are not supported"),
    (inspect.CO_COROUTINE, "coroutines are not supported"),
    (inspect.CO_ASYNC_GENERATOR, "async generators are not supported"),
    (inspect.CO_ITERABLE_COROUTINE, "coroutines are not supported"),
    (inspect.CO_VARARGS, "*args parameters are not supported"),
    (inspect.CO_VARKEYWORDS, "**kwargs parameters are not supported"),
)

# The largest function (bytecode instructions, counted as ``dis`` lists them; for the
# frontend, the root and its native callees together) autotier compiles.  Compiling
# costs about 0.15-0.2 ms of one core per instruction (docs/architecture.md, "Compile
# time and the size limit"), so this caps one compile, which holds the broker thread,
# at about 3 s; a 1,000-statement function (6,500-9,500 instructions) is well inside
# it.  numba would spend longer still (30 s to decline 1,000 `if` statements), so the
# limit is checked before any backend (:func:`too_large`).
MAX_INSTRUCTIONS = 15_000


def too_large(count: int) -> str | None:
    """The reason a compile of ``count`` bytecode instructions is declined, or None."""
    limit = MAX_INSTRUCTIONS
    if count > limit:
        return f"function too large to compile ({count} instructions > {limit})"
    return None


@dataclass(frozen=True)
class Op:
    """One bytecode instruction; ``name`` is the canonical spelling handlers use."""

    name: str
    opname: str  # CPython's own spelling
    arg: object
    line: int
    target: int | None = None  # index of the block a jump goes to
    # position among the code's instructions, in the ``bytecode`` package's order (the
    # resume functions of autotier.deopt.resume find the instruction by it), and its
    # byte offset as ``dis`` shows it (-1 where the two listings disagree)
    index: int = -1
    offset: int = -1

    def __str__(self) -> str:
        if self.target is not None:
            arg = f"-> block {self.target}"
        elif self.arg is bytecode.UNSET or self.arg is None:
            arg = ""
        else:
            arg = repr(self.arg)
        return f"{self.line:>5}  {self.opname:<28} {arg}".rstrip()


@dataclass(frozen=True)
class CodeBlock:
    index: int
    ops: tuple[Op, ...]
    fallthrough: int | None  # the block run next when the last op does not jump away


@dataclass(frozen=True)
class DecodedFunction:
    name: str
    argnames: tuple[str, ...]
    varnames: tuple[str, ...]  # every local, arguments first
    blocks: tuple[CodeBlock, ...]  # blocks reachable from blocks[0], in bytecode order
    first_line: int
    code: CodeType  # the function's __code__ (a native call of the function assumes it)
    #: the code the blocks are of (``inlined.code``): ``code`` with its list
    #: comprehensions spliced in (:mod:`.comprehensions`), else ``code`` itself
    inlined: comprehensions.Inlined

    @property
    def compiled(self) -> CodeType:
        return self.inlined.code

    @property
    def checked(self) -> frozenset[int]:
        """Positions of loads an unbound local must not reach (``Inlined.checked``)."""
        return self.inlined.checked

    @functools.cached_property
    def _by_index(self) -> dict[int, CodeBlock]:
        return {blk.index: blk for blk in self.blocks}

    def block(self, index: int) -> CodeBlock:
        """The block numbered ``index`` (a dict look-up: the stack simulation asks once
        per conditional jump, and a scan made that quadratic in the number of blocks)."""
        return self._by_index[index]

    def listing(self) -> str:
        """A readable listing of the blocks (the "bytecode" dump)."""
        out = [f"bytecode of {self.name}({', '.join(self.argnames)})"]
        for blk in self.blocks:
            out.append(f"block {blk.index}:")
            out.extend(f"  {op}" for op in blk.ops)
            if blk.fallthrough is not None:
                out.append(f"  (falls through to block {blk.fallthrough})")
        return "\n".join(out)


def check_code(code: CodeType, name: str) -> None:
    """Raise Unsupported for code shapes the frontend never compiles."""
    for flag, reason in _REJECTED_FLAGS:
        if code.co_flags & flag:
            raise Unsupported(f"{name}: {reason}")
    if code.co_kwonlyargcount:
        raise Unsupported(f"{name}: keyword-only parameters are not supported")
    size = too_large(compat.instruction_count(code))
    if size is not None:
        raise Unsupported(f"{name}: {size}")


def byte_offsets(code: CodeType) -> list[int]:
    """The byte offset of each instruction in the ``bytecode`` package's order (which
    leaves out EXTENDED_ARG and the inline caches, as its instruction list does)."""
    return [i.offset for i in dis.get_instructions(code) if i.opname != "EXTENDED_ARG"]


def decode(func: FunctionType) -> DecodedFunction:
    """The reachable bytecode blocks of ``func``."""
    original = func.__code__
    name = func.__qualname__
    check_code(original, name)
    inlined = comprehensions.inline(original, name)
    code = inlined.code
    cfg = bytecode.ControlFlowGraph.from_bytecode(bytecode.Bytecode.from_code(code))
    index = {id(blk): cfg.get_block_index(blk) for blk in cfg}
    line = code.co_firstlineno
    decoded: dict[int, CodeBlock] = {}
    offsets = byte_offsets(code)
    position = 0
    for blk in cfg:
        ops: list[Op] = []
        last: bytecode.Instr | None = None
        handed = False  # past an OSR entry's hand-back: the interpreter's code
        for item in blk:
            if isinstance(item, bytecode.SetLineno):
                line = item.lineno
                continue
            if not isinstance(item, bytecode.Instr):  # TryBegin / TryEnd
                raise Unsupported(f"{name}: try/except/finally and with blocks are not supported")
            if handed:
                position += 1
                continue
            line = item.lineno if item.lineno is not None else line
            target = None
            if item.has_jump():
                target = index[id(item.arg)]
            canonical = compat.OPCODE_ALIASES.get(item.name, item.name)
            offset = offsets[position] if position < len(offsets) else -1
            ops.append(Op(canonical, item.name, None if target is not None else item.arg,
                          line, target, position, offset))
            position += 1
            last = item
            handed = item.name == "LOAD_CONST" and item.arg is markers.HANDBACK
        ends = handed or (last is not None and (last.is_final() or last.is_uncond_jump()))
        fallthrough = None
        if not ends and blk.next_block is not None:
            fallthrough = index[id(blk.next_block)]
        decoded[index[id(blk)]] = CodeBlock(index[id(blk)], tuple(ops), fallthrough)
    reachable: set[int] = set()
    todo = [0]
    while todo:
        i = todo.pop()
        if i in reachable:
            continue
        reachable.add(i)
        blk_ = decoded[i]
        todo.extend(op.target for op in blk_.ops if op.target is not None)
        if blk_.fallthrough is not None:
            todo.append(blk_.fallthrough)
    argnames = code.co_varnames[: code.co_argcount]
    return DecodedFunction(
        name=name,
        argnames=argnames,
        varnames=tuple(code.co_varnames),
        blocks=tuple(decoded[i] for i in sorted(reachable)),
        first_line=code.co_firstlineno,
        code=original,
        inlined=inlined,
    )
