"""``sum``, ``any`` and ``all`` of a generator expression, inlined as loops (3.11).

CPython 3.11 compiles ``sum(f(x) for x in xs)`` as::

    LOAD_GLOBAL (NULL + sum); [closure tuple]; LOAD_CONST <genexpr>; MAKE_FUNCTION
    <xs>; GET_ITER; PRECALL 0; CALL 0; PRECALL 1; CALL 1

and the generator's code as ``RETURN_GENERATOR; POP_TOP; RESUME 0; LOAD_FAST .0``,
its loops, ``YIELD_VALUE; RESUME 1; POP_TOP`` for each item and ``LOAD_CONST None;
RETURN_VALUE`` at the end.  Where the generator is the only argument of a call of the
global ``sum``, ``any`` or ``all``, :class:`.comprehensions._Splicer` splices its body
into the calling code (as it splices a list comprehension's), with :func:`reshape`'s
changes:

- the call's LOAD_GLOBAL stays, without its NULL: the name is read when CPython reads
  it, so the resolver records it as a dependency (:class:`.model.GlobalDep`) and the
  native code's guards cover it as any builtin's;
- after GET_ITER the code tests that the value read is the builtin itself
  (``COPY 2; LOAD_CONST <the builtin>; IS_OP 0``).  The stack simulation knows that
  test at compile time (the resolver's static against the constant), so native code
  has only the inlined loop; the interpreter, which runs this code when a deopt
  resumes before the call, jumps to :func:`fallback` where the name was rebound since:
  the generator made as 3.11 makes it and the rebound object called with it (where it
  reads outer locals, which are no cells in the spliced code, from code reading them
  among the running frame's locals when it runs: :func:`reading_frame`);
- each item (``YIELD_VALUE; RESUME 1; POP_TOP``) becomes the builtin's step: ``sum``
  ``acc = acc + item`` in a hidden local from int 0 (3.11's ``builtin_sum_impl`` adds
  exact ints in a C long and floats in a C double, which is the same value and type
  as ``+``, and anything else with ``PyNumber_Add``: ``compat.INLINE_GENEXP_REDUCTIONS``
  gates this on 3.11, since 3.12 sums floats with compensation), ``any`` a jump out on
  the first true item, ``all`` on the first false one (the truth test of an ``if``:
  ``PyObject_IsTrue``, as theirs), popping the generator's iterators there;
- the end (``LOAD_CONST None; RETURN_VALUE``) pops the builtin's value and pushes the
  result (``acc``, False, True) where the CALL would have pushed it.

A StopIteration raised in the generator's body leaves a generator as a RuntimeError
(PEP 479, :mod:`autotier.deopt.generators`): the code resumes run
(:attr:`.comprehensions.Inlined.resumable`) has an exception-table entry over each
outermost generator's body but the builtin's step, whose handler (:func:`handler`)
does that; the frontend compiles the code without it.  Native code raises no
StopIteration itself: one comes from a call, and leaves through a resume.

A site inside resumes as one frame of this code (its region ``writes``, as a walrus
comprehension's): a traceback of an exception in the generator's body shows the
function's frame at the generator's line where 3.11 shows it and ``<genexpr>``.  A
generator expression that stores an outer variable (a walrus) is declined: its
fallback could not store it in the frame.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable
from types import CellType, CodeType

import bytecode
from bytecode import BinaryOp, FreeVar, Instr, Label, SetLineno, TryBegin, TryEnd

from autotier import compat
from autotier.deopt.generators import stopped
from autotier.frontend.errors import Unsupported

#: the builtins inlined, by global name (the genuine objects, saved at import)
REDUCERS: dict[str, object] = {"sum": builtins.sum, "any": builtins.any,
                               "all": builtins.all}
ACC = ".acc"  # sum's running total (a name no source can spell: a hidden local)
DECLINED = ("generator expressions are compiled only as the only argument of a call of "
            "sum(), any() or all()")
_NO_ARG = object()  # an instruction made with no argument


#: the one free variable of a generator :func:`fallback` makes: the frame it reads
FRAME = ".frame"
_UNBOUND = object()  # what a read of an unbound variable finds in the frame's locals


def cell_of(value: object) -> tuple[CellType]:
    """The closure of a generator :func:`fallback` makes: a cell of its frame."""
    return (CellType(value),)


def reducer_of(prev: object) -> str | None:
    """The builtin's name if ``prev`` (the instruction before the generator's code
    constant, its closure tuple left out) is ``LOAD_GLOBAL (NULL + sum|any|all)``."""
    if not (compat.INLINE_GENEXP_REDUCTIONS and isinstance(prev, Instr)
            and prev.name == "LOAD_GLOBAL"):
        return None
    push_null, name = compat.load_global_arg(prev.arg)
    return name if push_null and name in REDUCERS else None


def without_null(prev: Instr) -> Instr:
    """The call's LOAD_GLOBAL, pushing the builtin's value alone."""
    _, name = compat.load_global_arg(prev.arg)
    return Instr("LOAD_GLOBAL", (False, name), location=prev.location)


def called_alone(items: list[object], i: int) -> bool:
    """Whether the GET_ITER just read (``items[i - 1]``) is followed by ``PRECALL 0;
    CALL 0; PRECALL 1; CALL 1``: the generator made and passed as the only argument."""
    after = items[i:i + 4]
    want = (("PRECALL", 0), ("CALL", 0), ("PRECALL", 1), ("CALL", 1))
    return len(after) == 4 and all(
        isinstance(x, Instr) and (x.name, x.arg) == w for x, w in zip(after, want, strict=True))


def stores_outer(made: CodeType) -> bool:
    """Whether the generator's code, or a comprehension in it, stores a variable of
    an enclosing code (a walrus)."""
    return any(isinstance(x, Instr) and x.name in ("STORE_DEREF", "DELETE_DEREF")
               and isinstance(x.arg, FreeVar)
               for x in bytecode.Bytecode.from_code(made)) or any(
        isinstance(c, CodeType) and stores_outer(c) for c in made.co_consts)


def reshape(made: CodeType, reducer: str, body: list[object], *, pos: dict[int, int],
            fail: Callable[[str], Unsupported], depth_at: Callable[[Instr], int],
            fallback_at: Label, join: Label, handler: Label | None
            ) -> tuple[list[object], Instr]:
    """The generator's body (``body``, parsed; ``pos``: each instruction's position in
    ``made``, grown by the instructions made here) as the builtin's loop, to be walked
    by the splicer; with the ``LOAD_FAST .0`` it replaces (``depth_at``: the stack
    depth before an instruction of ``body``).  ``handler``: where a StopIteration
    raised in the generator's body goes (:func:`handler`), marked by TryBegin/TryEnd
    around the body but not the builtin's step, which CPython runs in the builtin."""
    instrs = [x for x in body if isinstance(x, Instr)]
    real = [x for x in instrs if x.name not in ("MAKE_CELL", "COPY_FREE_VARS")]
    yields = [k for k, x in enumerate(real) if x.name == "YIELD_VALUE"]
    if (len(real) < 8 or [x.name for x in real[:4]] != ["RETURN_GENERATOR", "POP_TOP",
                                                       "RESUME", "LOAD_FAST"]
            or real[3].arg != ".0" or real[-1].name != "RETURN_VALUE"
            or real[-2].name != "LOAD_CONST" or real[-2].arg is not None
            or sum(x.name == "RETURN_VALUE" for x in real) != 1
            or sum(x.name in ("LOAD_FAST", "STORE_FAST", "DELETE_FAST") and x.arg == ".0"
                   for x in real) != 1
            or len(yields) != 1
            or [x.name for x in real[yields[0] + 1:yields[0] + 3]] != ["RESUME", "POP_TOP"]
            or any(not isinstance(x, Instr | Label | SetLineno) for x in body)):
        raise fail("a generator expression of an unexpected shape")
    dot0, yielded, end = real[3], real[yields[0]], real[-2]
    iterators = depth_at(yielded) - depth_at(dot0) - 1  # on the stack under the item

    def made_at(anchor: Instr, *specs: tuple[str, object]) -> list[object]:
        out: list[object] = []
        for name, arg in specs:
            new = Instr(name, arg, location=anchor.location) if arg is not _NO_ARG else \
                Instr(name, location=anchor.location)
            pos[id(new)] = pos[id(anchor)]
            out.append(new)
        return out

    found = Label()
    prologue = made_at(dot0, ("COPY", 2), ("LOAD_CONST", REDUCERS[reducer]), ("IS_OP", 0),
                       ("POP_JUMP_FORWARD_IF_FALSE", fallback_at))
    if reducer == "sum":
        prologue += made_at(dot0, ("LOAD_CONST", 0), ("STORE_FAST", ACC))
        step = made_at(yielded, ("LOAD_FAST", ACC), ("SWAP", 2),
                       ("BINARY_OP", BinaryOp.ADD), ("STORE_FAST", ACC))
        result: tuple[str, object] = ("LOAD_FAST", ACC)
    else:
        jump = "POP_JUMP_FORWARD_IF_TRUE" if reducer == "any" else "POP_JUMP_FORWARD_IF_FALSE"
        step = made_at(yielded, (jump, found))
        result = ("LOAD_CONST", reducer == "all")
    epilogue = made_at(end, ("POP_TOP", _NO_ARG), result, ("JUMP_FORWARD", join))
    if reducer != "sum":
        epilogue.append(found)
        epilogue += made_at(yielded, *[("POP_TOP", _NO_ARG)] * (iterators + 1),
                            ("LOAD_CONST", reducer == "any"), ("JUMP_FORWARD", join))
    skipped = {id(x) for x in real[:4]} | {id(x) for x in real[yields[0]:yields[0] + 3]}
    kept: list[object] = list(prologue)
    entries: list[TryBegin] = []

    def begin() -> None:  # (the body's instructions go to the handler)
        if handler is not None:
            entries.append(TryBegin(handler, push_lasti=False, stack_depth=0))
            kept.append(entries[-1])

    def stop() -> None:
        if handler is not None:
            kept.append(TryEnd(entries[-1]))

    begin()
    for x in body:
        if x is yielded:  # (the step is the builtin's: CPython runs it outside)
            stop()
            kept += step
            begin()
        elif x is end:
            stop()
            kept += epilogue
        elif id(x) in skipped or x is real[-1]:
            continue
        else:
            kept.append(x)
    return kept, dot0


def reading_frame(made: CodeType, names: dict[str, str]) -> CodeType:
    """The code of a generator expression (or of code nested in one) reading its free
    variables ``names`` (each mapped to its spliced name) where the spliced code keeps
    them: among the locals of the frame in its free variable :data:`FRAME`, when it
    reads them, as CPython's generator reads the cells it shares with the function's
    frame; one unbound raises CPython's NameError.  (``frame.f_locals`` of a running
    frame is its current locals, of a finished one the last ones, as a cell's value.)
    Code nested in it that reads one of them is made so too, and handed the frame in
    its closure instead of their cells.  ValueError: a shape this does not know."""
    code = bytecode.Bytecode.from_code(made)
    items: list[object] = list(code)
    kept = [n for n in made.co_freevars if n not in names]
    out: list[object] = []
    tail: list[object] = []
    i = 0
    while i < len(items):
        x = items[i]
        i += 1
        if not isinstance(x, Instr):
            out.append(x)
        elif x.name == "COPY_FREE_VARS":
            out.append(Instr("COPY_FREE_VARS", 1 + len(kept), location=x.location))
        elif x.name == "LOAD_DEREF" and isinstance(x.arg, FreeVar) and x.arg.name in names:
            out += _read_frame(x, x.arg.name, names[x.arg.name], tail)
        elif x.name == "LOAD_CLOSURE":
            made_here, size = _closure(items, i - 1, names)
            out += made_here
            i += size - 1
        elif isinstance(x.arg, FreeVar) and x.arg.name in names:
            raise ValueError(f"{x.name} of a variable of the function in a generator "
                             "expression")
        else:
            out.append(x)
    new = bytecode.Bytecode([*out, *tail])  # type: ignore[list-item]
    new._copy_attr_from(code)
    new.freevars = [FRAME, *kept]
    return new.to_code()


def _read_frame(x: Instr, name: str, local: str, tail: list[object]) -> list[object]:
    """``LOAD_DEREF`` ``x`` (of ``name``) as a read of ``local`` among the locals of the frame in
    :data:`FRAME`; the NameError of an unbound one raised from code put on ``tail``."""
    at, unbound = x.location, Label()
    tail += [unbound, Instr("PUSH_NULL", location=at),
             Instr("LOAD_CONST", NameError, location=at),  # type: ignore[arg-type]
             Instr("LOAD_CONST", f"cannot access free variable {name!r} where it is not "
                   "associated with a value in enclosing scope", location=at),
             Instr("LOAD_CONST", name, location=at),
             Instr("KW_NAMES", ("name",), location=at),  # type: ignore[arg-type]
             *compat.call_instructions(2, 0, at),
             Instr("RAISE_VARARGS", 1, location=at)]
    return [Instr("LOAD_DEREF", FreeVar(FRAME), location=at),
            Instr("LOAD_ATTR", "f_locals", location=at),
            Instr("LOAD_METHOD", "get", location=at),
            Instr("LOAD_CONST", local, location=at),
            Instr("LOAD_CONST", _UNBOUND, location=at),  # type: ignore[arg-type]
            *compat.call_instructions(2, 0, at),
            Instr("COPY", 1, location=at),
            Instr("LOAD_CONST", _UNBOUND, location=at),  # type: ignore[arg-type]
            Instr("IS_OP", 0, location=at),
            Instr("POP_JUMP_FORWARD_IF_TRUE", unbound, location=at)]


def _closure_length(items: list[object], i: int) -> int:
    """How many items make the closure of a nested code at ``items[i]``: ``LOAD_CLOSURE``
    ... ``BUILD_TUPLE n; LOAD_CONST <code>`` (the MAKE_FUNCTION after it kept)."""
    n = i
    while n < len(items):
        item = items[n]
        if not (isinstance(item, Instr) and item.name == "LOAD_CLOSURE"):
            break
        n += 1
    built, const = items[n:n + 1], items[n + 1:n + 2]
    if not (built and const and isinstance(built[0], Instr) and built[0].name == "BUILD_TUPLE"
            and built[0].arg == n - i and isinstance(const[0], Instr)
            and const[0].name == "LOAD_CONST" and isinstance(const[0].arg, CodeType)):
        raise ValueError("a closure of an unexpected shape in a generator expression")
    return n - i + 2


def _closure(items: list[object], i: int, names: dict[str, str]
             ) -> tuple[list[object], int]:
    """The closure and code of the nested code made at ``items[i]`` (and how many
    items they were): where it reads a variable of ``names``, its
    :func:`reading_frame` code, handed :data:`FRAME` for them."""
    size = _closure_length(items, i)
    loads, built, const = items[i:i + size - 2], items[i + size - 2], items[i + size - 1]
    assert isinstance(built, Instr) and isinstance(const, Instr)
    inner = const.arg
    assert isinstance(inner, CodeType)
    passed = {v: names[x.arg.name] for v, x in zip(inner.co_freevars, loads, strict=True)
              if isinstance(x, Instr) and isinstance(x.arg, FreeVar) and x.arg.name in names}
    if not passed:
        return items[i:i + size], size
    at = built.location
    rest = [x for v, x in zip(inner.co_freevars, loads, strict=True) if v not in passed]
    return [Instr("LOAD_CLOSURE", FreeVar(FRAME), location=at), *rest,
            Instr("BUILD_TUPLE", 1 + len(rest), location=at),
            Instr("LOAD_CONST", reading_frame(inner, passed),
                  location=const.location)], size


def fallback(made: CodeType, free: list[str], anchor: Instr, fallback_at: Label,
             join: Label) -> list[object]:
    """The interpreter's way where the name no longer holds the builtin (``[value,
    iterator]`` on the stack): the generator made as 3.11 makes it, and the value
    called with it.  One that reads outer locals (``free``: their names in the spliced
    code, where they are no cells) is made from :func:`reading_frame`'s code, with the
    running frame as its closure: it reads their values when it runs, as CPython's
    reads the cells shared with the frame (the rebound callable may keep it and run
    it after the function stored them again)."""
    at = anchor.location
    out: list[object] = [fallback_at, Instr("PUSH_NULL", location=at),
                         Instr("SWAP", 3, location=at), Instr("SWAP", 2, location=at)]
    if free:
        made = reading_frame(made, dict(zip(made.co_freevars, free, strict=True)))
        out += [Instr("PUSH_NULL", location=at),
                Instr("LOAD_CONST", cell_of, location=at),  # type: ignore[arg-type]
                Instr("PUSH_NULL", location=at),
                Instr("LOAD_CONST", sys._getframe, location=at),  # type: ignore[arg-type]
                *compat.call_instructions(0, 0, at),
                *compat.call_instructions(1, 0, at)]
    out += [Instr("LOAD_CONST", made, location=at),  # type: ignore[arg-type]
            Instr("MAKE_FUNCTION", 8 if free else 0, location=at),
            Instr("SWAP", 2, location=at),
            Instr("PRECALL", 0, location=at), Instr("CALL", 0, location=at),
            Instr("PRECALL", 1, location=at), Instr("CALL", 1, location=at), join]
    return out


def handler(at: Label, location: object) -> list[object]:
    """The handler the generators' bodies' TryBegins name (only in the code resumes
    run: the frontend compiles the code without them, and declines where native
    code would need one, see :func:`.comprehensions._Splicer.splice_generator`):
    with the exception as the handled one, a StopIteration is raised again as
    :func:`stopped`'s RuntimeError (its context and cause the StopIteration), any
    other exception re-raised as it is (its traceback unchanged)."""
    def instr(name: str, arg: object = _NO_ARG) -> Instr:
        if arg is _NO_ARG:
            return Instr(name, location=location)  # type: ignore[arg-type]
        return Instr(name, arg, location=location)  # type: ignore[arg-type]

    again, cleanup = Label(), Label()
    entry = TryBegin(cleanup, push_lasti=True, stack_depth=1)
    return [at, instr("PUSH_EXC_INFO"), entry,  # [previous handled, exc]
            instr("PUSH_NULL"), instr("LOAD_CONST", stopped), instr("COPY", 3),
            instr("PRECALL", 1), instr("CALL", 1), instr("COPY", 1),
            instr("POP_JUMP_FORWARD_IF_NONE", again), instr("RAISE_VARARGS", 1),
            again, instr("POP_TOP"), instr("RERAISE", 0), TryEnd(entry),
            cleanup, instr("COPY", 3), instr("POP_EXCEPT"), instr("RERAISE", 1)]

