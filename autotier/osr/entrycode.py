"""The OSR entry: the rest of a call from a loop header, as a Python function.

It is the header's resume function (:mod:`autotier.deopt.resume`): the function's own
bytecode behind a prologue whose parameters are the frame's bound locals and the loop
iterators' state, and which jumps to the header.  A range iterator is passed as three
ints (its next value, stop and step) and rebuilt by the prologue as
``iter(range(next, stop, step))`` (``LOAD_GLOBAL range``: the probe enters only where
``range`` is the builtin), so the entry's parameters are ints the ordinary pipeline
compiles: the OSR code is an ordinary compile of this function, with its guards,
frame states, deopts and resume functions.  Names, filename and lines are the
function's (the prologue carries the header's line).
"""

from __future__ import annotations

from types import CodeType, FunctionType

import bytecode
from bytecode import Instr, Label

from autotier import compat
from autotier.osr.instrument import Header


def iterator_names(depth: int) -> tuple[str, ...]:
    """The parameters of the ``depth`` range iterators: next, stop, step each."""
    return tuple(f".it{k}_{part}" for k in range(depth) for part in ("next", "stop", "step"))


def entry_function(func: FunctionType, code: CodeType, header: Header,
                   bound: tuple[str, ...]) -> FunctionType:
    """The OSR entry of ``code`` (``func``'s code instrumented) at ``header``, for a
    frame whose bound locals are ``bound`` (in ``co_varnames`` order): its parameters
    are those locals, then :func:`iterator_names`."""
    original = bytecode.Bytecode.from_code(code)
    items = list(original)
    positions = [n for n, item in enumerate(items) if isinstance(item, Instr)]
    target = positions[header.index]
    line = header.line
    label = Label()
    items.insert(target, label)
    names = iterator_names(header.depth)
    prologue: list[Instr] = []
    for k in range(header.depth):
        prologue.append(Instr("LOAD_GLOBAL", (True, "range"), lineno=line))
        prologue += [Instr("LOAD_FAST", n, lineno=line) for n in names[3 * k:3 * k + 3]]
        prologue += compat.call_instructions(3, line)
        prologue.append(Instr("GET_ITER", lineno=line))
    prologue.append(Instr("JUMP_FORWARD", label, lineno=line))
    start = next(n for n, item in enumerate(items)
                 if isinstance(item, Instr) and item.name == "RESUME")
    items[start + 1:start + 1] = prologue
    out = bytecode.Bytecode(items)
    out._copy_attr_from(original)
    out.argnames = [*bound, *names]
    out.argcount = len(out.argnames)
    out.posonlyargcount = out.argcount  # the probe passes them so: nothing to bind
    out.kwonlyargcount = 0
    out.flags &= ~(bytecode.CompilerFlags.VARARGS | bytecode.CompilerFlags.VARKEYWORDS)
    made = FunctionType(out.to_code(), func.__globals__, func.__name__)
    made.__qualname__ = func.__qualname__
    return made
