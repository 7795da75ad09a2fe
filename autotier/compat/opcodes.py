"""Bytecode differences between CPython versions: what the frontend decodes, the
call sequences resume code is made of; see :mod:`autotier.compat`."""

from __future__ import annotations

import dis
import opcode
from types import CodeType

import bytecode

from autotier.compat.layouts import PY_VERSION

# ---------------------------------------------------------------- bytecode
# (the frontend's section: opcode names and call sequences per version)

# Opcode names as the frontend's handlers know them: several CPython spellings of the
# same operation map to one canonical name (handler ``_op_<canonical>``).
OPCODE_ALIASES: dict[str, str] = {
    # 3.11 spells the jump direction; 3.12 does not.
    "POP_JUMP_FORWARD_IF_FALSE": "POP_JUMP_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_FALSE": "POP_JUMP_IF_FALSE",
    "POP_JUMP_FORWARD_IF_TRUE": "POP_JUMP_IF_TRUE",
    "POP_JUMP_BACKWARD_IF_TRUE": "POP_JUMP_IF_TRUE",
    "POP_JUMP_FORWARD_IF_NONE": "POP_JUMP_IF_NONE",
    "POP_JUMP_BACKWARD_IF_NONE": "POP_JUMP_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE": "POP_JUMP_IF_NOT_NONE",
    "POP_JUMP_BACKWARD_IF_NOT_NONE": "POP_JUMP_IF_NOT_NONE",
    "JUMP_FORWARD": "JUMP",
    "JUMP_BACKWARD": "JUMP",
    "JUMP_BACKWARD_NO_INTERRUPT": "JUMP",
    "JUMP_ABSOLUTE": "JUMP",
    # 3.12: LOAD_FAST_CHECK is LOAD_FAST for a local that may be unbound; the
    # frontend checks boundness on every read of a possibly-unbound local anyway.
    "LOAD_FAST_CHECK": "LOAD_FAST",
}

# 3.11 makes a list comprehension a nested function called at once (MAKE_FUNCTION of
# a ``<listcomp>`` code, GET_ITER, PRECALL 0, CALL 0), and the outer locals it reads
# cells: autotier.frontend.comprehensions splices it into the outer code.  3.12
# inlines comprehensions itself (PEP 709, with an exception-table entry the frontend
# declines as it declines try), so there is nothing to splice there.
INLINE_COMPREHENSIONS = PY_VERSION == (3, 11)

# 3.11's sum() of ints and floats is exactly repeated ``+`` from int 0 (its C fast
# paths keep a C long, then a C double, and add each item as ``+`` would):
# autotier.frontend.genexps inlines ``sum(<genexpr>)``, ``any(...)``, ``all(...)`` as
# that loop.  3.12's sum() adds floats with compensated summation, not ``+``.
INLINE_GENEXP_REDUCTIONS = PY_VERSION == (3, 11)

# Opcodes with no effect on the frontend's model of the stack and the locals.
# 3.11's PRECALL belongs to the PUSH_NULL/LOAD_GLOBAL ... PRECALL n; CALL n sequence:
# CALL alone does the work (3.12 dropped PRECALL).
NO_EFFECT_OPCODES = frozenset({"NOP", "RESUME", "PRECALL", "CACHE"})

# The instructions of a call of the callable under a NULL with ``nargs`` arguments,
# for the resume functions of autotier.deopt.resume.  3.11's CALL reads the call shape
# PRECALL (and KW_NAMES) set up, so a frame resumed at a call resumes at the first
# of those (the frontend's frame state for a CALL names it: CALL_PREFIX_OPCODES).
CALL_PREFIX_OPCODES = frozenset({"PRECALL", "KW_NAMES"})


def call_instructions(nargs: int, line: int,
                      location: bytecode.instr.InstrLocation | None = None) -> list[bytecode.Instr]:
    """A call of ``nargs`` arguments, at ``location`` (a traceback's columns) if given."""
    where: dict[str, object] = {"location": location} if location is not None else {
        "lineno": line}
    call = [bytecode.Instr("CALL", nargs, **where)]  # type: ignore[arg-type]
    if PY_VERSION < (3, 12):
        return [bytecode.Instr("PRECALL", nargs, **where), *call]  # type: ignore[arg-type]
    return call


# 3.11: an exhausted FOR_ITER pops the iterator and jumps past the loop.  3.12: the
# jump lands on END_FOR, which pops two values (the interpreter itself skips END_FOR
# after popping the iterator; the two models leave the same stack).
FOR_ITER_EXIT_PUSHES_PLACEHOLDER = PY_VERSION >= (3, 12)

# 3.12 deprecates ``~`` on a bool (a DeprecationWarning on every use, an error under
# -W error): the frontend leaves that combination to the interpreter.
INVERT_BOOL_WARNS = PY_VERSION >= (3, 12)

# 3.12's CALL_INTRINSIC_1 operands the frontend understands, by intrinsic number.
INTRINSIC_1_ALIASES: dict[int, str] = {5: "UNARY_POSITIVE"}


def instruction_count(code: CodeType) -> int:
    """How many instructions ``code`` has, as ``dis`` lists them (EXTENDED_ARG
    included).  3.11+ interleaves inline CACHE entries with the instructions in
    ``co_code``; they are not counted."""
    units = code.co_code[::2]  # one opcode byte per 2-byte code unit
    return len(units) - units.count(dis.opmap["CACHE"])


def load_global_arg(arg: object) -> tuple[bool, str]:
    """LOAD_GLOBAL's argument as ``(pushes NULL first, name)`` (3.11+: a tuple)."""
    if isinstance(arg, tuple):
        return bool(arg[0]), str(arg[1])
    return False, str(arg)


def load_attr_arg(arg: object) -> tuple[bool, str]:
    """LOAD_ATTR's argument as ``(method-call form, name)``.

    3.11: a plain name (method calls use LOAD_METHOD).  3.12: ``(is_method, name)``;
    the method form pushes NULL-or-method and self-or-attribute, like LOAD_METHOD.
    """
    if isinstance(arg, tuple):
        return bool(arg[0]), str(arg[1])
    return False, str(arg)

# Bytecode the numba backend's screen reads (backends/numba_semantics.prescreen): a
# slice is BUILD_SLICE on 3.11, and also BINARY_SLICE / STORE_SLICE from 3.12; an
# attribute a call is made of is LOAD_METHOD on 3.11, LOAD_ATTR (method flag) on 3.12.
SLICE_OPCODES = frozenset({"BUILD_SLICE", "BINARY_SLICE", "STORE_SLICE"})
ATTRIBUTE_OPCODES = frozenset({"LOAD_ATTR", "LOAD_METHOD"})


# ---------------------------------------------------------------- resume code
# (autotier.deopt.patching's section: a resume function's code made from the
# function's own co_code, a prologue spliced in; autotier.deopt.codetables reads and
# writes the location and exception tables, whose format is 3.11's to 3.13's.)

# Where the patching is used (tests/deopt run on 3.11.7 and 3.12.1); elsewhere
# autotier.deopt.resume assembles resume code with the ``bytecode`` package, as it
# did everywhere before (0.2 ms a build warm, the patching 15 us).  What differs
# between the two versions is the call sequence (call_units) and the cache units.
RAW_RESUME = PY_VERSION in ((3, 11), (3, 12))

# On-stack replacement (autotier.osr) splices its loop probes into 3.11's bytecode
# (FOR_ITER over an itertools.repeat countdown, PRECALL/CALL, JUMP_BACKWARD); 3.12's
# loops end differently (END_FOR) and are not instrumented: OSR is off there, calls
# still promote by their count.
OSR_UNSUPPORTED: str | None = (
    None if PY_VERSION == (3, 11) else
    f"on-stack replacement is built for CPython 3.11's bytecode, not {PY_VERSION}")

# The inline cache units after each opcode in co_code (3.11 and 3.12: a list).
CACHE_UNITS: tuple[int, ...] = tuple(opcode._inline_cache_entries)  # type: ignore[attr-defined]
EXTENDED_ARG = dis.EXTENDED_ARG


def call_units(nargs: int) -> list[tuple[int, int]]:
    """The (opcode, argument) pairs of a call of the callable under a NULL with
    ``nargs`` arguments (without their caches), as :func:`call_instructions`."""
    call = (dis.opmap["CALL"], nargs)
    if PY_VERSION < (3, 12):
        return [(dis.opmap["PRECALL"], nargs), call]
    return [call]

