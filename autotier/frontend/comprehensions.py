"""List comprehensions, inlined into the function that makes them (CPython 3.11).

CPython 3.11 compiles ``[f(x) for x in xs if p[x]]`` as a nested code object
``<listcomp>`` that the function makes with MAKE_FUNCTION (with a closure tuple of the
cells of the outer locals it reads, which makes those locals *cell variables*) and
calls at once with the iterator (``GET_ITER; PRECALL 0; CALL 0``).  The frontend
compiles the function's code with every such comprehension spliced in, as CPython 3.12
does itself (PEP 709):

- the comprehension's body runs in the outer frame: ``BUILD_LIST 0; SWAP 2`` in place
  of its ``BUILD_LIST 0; LOAD_FAST .0`` (the iterator stays on the stack, under the
  list, as in the comprehension's own frame), its final RETURN_VALUE dropped (the list
  is left on the stack where the CALL would have pushed it);
- its locals become hidden locals of the outer function (``<listcomp2>.x``: names no
  source can spell, so the comprehension variable never leaks into the outer scope);
- cells become plain locals: MAKE_CELL, COPY_FREE_VARS and the closure tuple go,
  LOAD_DEREF/STORE_DEREF/DELETE_DEREF become LOAD_FAST/STORE_FAST/DELETE_FAST of the
  outer local (a walrus in a comprehension stores the outer local, as it stored its
  cell).  This is exact only because every closure the function makes is such a
  comprehension, called at once: no cell can outlive the call or be seen by anything
  else.  A generator expression passed as the only argument of ``sum``, ``any`` or
  ``all`` is spliced in as that builtin's loop (:mod:`.genexps`, which also makes the
  generator where the name was rebound); any other MAKE_FUNCTION (a lambda, an inner
  ``def``, another generator expression, a set or dict comprehension) and a function
  that is itself a closure are declined.

The rewritten code is what the stack simulation reads and what resume functions are
made of (:class:`autotier.deopt.sites.Site` ``code``), so a deopt inside a
comprehension resumes in one frame holding the partly built list and the iterator,
and the interpreter finishes it there.  What differs from CPython 3.11: a traceback of
an exception raised inside the comprehension after a deopt shows one frame (the outer
function, at the comprehension's line) where 3.11 shows two (the outer function and
``<listcomp>``, both at that line): as 3.12 shows it.  A local the comprehension reads
that may be unbound there would raise UnboundLocalError in the rewritten code where
CPython raises NameError ("free variable"): :func:`autotier.frontend.stackflow.build_ir`
declines code where such a check survives (:attr:`Inlined.checked`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType

import bytecode
from bytecode import CellVar, FreeVar, Instr, Label, TryBegin, TryEnd

from autotier import compat
from autotier.frontend import genexps
from autotier.frontend.errors import Unsupported
from autotier.osr import markers

#: what each kind of nested code object is, for a decline's reason
_DECLINED = {
    "<genexpr>": "generator expressions are not supported",
    "<setcomp>": "set comprehensions are not supported",
    "<dictcomp>": "dict comprehensions are not supported",
    "<lambda>": "nested functions and lambdas are not supported",
}
_DEREFS = {"LOAD_DEREF": "LOAD_FAST", "STORE_DEREF": "STORE_FAST",
           "DELETE_DEREF": "DELETE_FAST"}
_FAST = ("LOAD_FAST", "STORE_FAST", "DELETE_FAST")


@dataclass(frozen=True)
class Region:
    """One comprehension spliced in: where its instructions came from, so a deopt
    inside it can resume in a frame of its own code (:class:`autotier.deopt.sites.Level`)."""

    code: CodeType  # the ``<listcomp>`` code
    parent: int  # the region it was spliced into, -1 for the function's own code
    call: int  # the position, in the parent's own code, of the PRECALL of its call
    depth: int  # values on the spliced frame's stack below the comprehension's iterator
    #: each of ``code``'s locals (varnames, then cells that are no parameter) with its
    #: name in the spliced code; None for ``.0`` (the iterator: on the stack)
    names: tuple[tuple[str, str | None], ...]
    free: tuple[str, ...]  # the spliced names of ``code.co_freevars``
    dot0: int  # the position of ``LOAD_FAST .0`` in ``code``
    #: it stores a free variable (a walrus: its cell is the outer frame's), or it is
    #: called in the iterable of another comprehension (whose function object the
    #: parent's frame holds there): a deopt inside resumes as one frame
    writes: bool


@dataclass(frozen=True)
class Inlined:
    """The code the frontend compiles for a function's ``__code__``."""

    code: CodeType  # the function's own code when it makes no comprehension
    #: positions (the ``bytecode`` package's instruction order) of the loads of a
    #: comprehension's own locals and of the outer locals it reads: an unbound local
    #: there is an error CPython words otherwise (NameError of a free variable)
    checked: frozenset[int] = frozenset()
    regions: tuple[Region, ...] = ()
    #: per position of ``code``: (the region it came from, -1 for the function's own
    #: code; its position in that code)
    origins: tuple[tuple[int, int], ...] = ()
    #: positions inside a comprehension between its MAKE_FUNCTION of a nested one and
    #: that one's call: its own frame would hold the nested function object there,
    #: which only its frame can make (with its cells), so they resume as one frame
    unsplit: frozenset[int] = frozenset()
    #: ``code`` with an exception handler over the spliced generator expressions'
    #: bodies (a StopIteration raised there is a RuntimeError: :func:`.genexps.handler`),
    #: the same bytes then the handler's: what resumes run (None: ``code`` itself)
    resumable: CodeType | None = None

    @property
    def comprehensions(self) -> int:
        return len(self.regions)


def _makes_function(code: CodeType) -> bool:
    return any(isinstance(c, CodeType) for c in code.co_consts)


def _positions(items: Sequence[object]) -> dict[int, int]:
    """id of each instruction of a parsed code -> its position (the package's order)."""
    return {id(x): k for k, x in enumerate(x for x in items if isinstance(x, Instr))}


_lock = threading.Lock()  # guards _spliced
#: the splice of each code (weakly: a dropped function's code is not kept; the value
#: holds the spliced code and the comprehensions' codes, never the key)
_spliced: weakref.WeakKeyDictionary[CodeType, Inlined] = weakref.WeakKeyDictionary()


def inline(code: CodeType, name: str) -> Inlined:
    """``code`` with its list comprehensions inlined (made once per code); Unsupported
    when it makes any other closure or function, or is one (has free variables)."""
    if not code.co_cellvars and not code.co_freevars and not _makes_function(code):
        return Inlined(code)
    if code.co_freevars:
        raise Unsupported(f"{name}: closures are not supported (it reads variables of an "
                          "enclosing function)")
    if not compat.INLINE_COMPREHENSIONS:  # (3.12 inlines comprehensions itself)
        if code.co_cellvars:
            raise Unsupported(f"{name}: closures and cell variables are not supported")
        return Inlined(code)  # a nested function: the stack simulation declines it
    with _lock:
        found = _spliced.get(code)
    if found is None:
        found = _splice(code, name)
        with _lock:
            _spliced[code] = found
    return found


def _splice(code: CodeType, name: str) -> Inlined:
    # an OSR entry that hands its frame back (osr.markers.HANDBACK) may make other
    # functions where the interpreter goes on (``sum(x for x in xs)`` after the loop):
    # left as they are, declined by the stack simulation if native code reaches them
    splicer = _Splicer(name, lenient=any(c is markers.HANDBACK for c in code.co_consts))
    original: list[object] = list(bytecode.Bytecode.from_code(code))
    marked = splicer.walk(original, {}, -1, _positions(original))
    items = [x for x in marked if not isinstance(x, TryBegin | TryEnd)]
    new = _assembled(code, items)
    resumable = None
    if splicer.handler is not None:  # the same instructions, then the handler
        resumable = _assembled(code, marked + genexps.handler(splicer.handler, None),
                               handlers=True)
        if resumable.co_code[:len(new.co_code)] != new.co_code:
            raise Unsupported(f"{name}: a generator expression's exception handler moves "
                              "its code")
    instrs = [x for x in items if isinstance(x, Instr)]
    checked = frozenset(i for i, instr in enumerate(instrs) if id(instr) in splicer.checked)
    depths = _depths(items)
    # (a comprehension no path reaches, before an OSR entry's header: never resumed in)
    regions = tuple(
        Region(r.code, r.parent, r.call, depths.get(r.first, 1) - 1, r.names, r.free,
               r.dot0, r.writes) for r in splicer.regions)
    origins = tuple(splicer.origins[id(x)] for x in instrs)
    unsplit = frozenset(i for i, x in enumerate(instrs) if id(x) in splicer.unsplit)
    return Inlined(new, checked, regions, origins, unsplit, resumable)


def _assembled(code: CodeType, items: list[object], handlers: bool = False) -> CodeType:
    """``items`` as the code of ``code``'s function (no cells: they are locals)."""
    out = bytecode.Bytecode(items)  # type: ignore[arg-type]
    out._copy_attr_from(bytecode.Bytecode.from_code(code))
    out.argnames = list(code.co_varnames[:code.co_argcount])
    out.cellvars = []
    out.freevars = []
    return out.to_code(compute_exception_stack_depths=False) if handlers else out.to_code()


@dataclass
class _Open:
    """A region being spliced."""

    code: CodeType
    parent: int
    call: int
    first: int = 0  # id of its first instruction (BUILD_LIST 0)
    names: tuple[tuple[str, str | None], ...] = ()
    free: tuple[str, ...] = ()
    dot0: int = 0
    writes: bool = False


class _Splicer:
    def __init__(self, name: str, lenient: bool = False) -> None:
        self.name = name
        self.lenient = lenient
        self.checked: set[int] = set()  # ids of the loads to check (see Inlined)
        self.regions: list[_Open] = []
        self.origins: dict[int, tuple[int, int]] = {}  # id of an instruction -> origin
        self.unsplit: set[int] = set()  # ids of instructions (see Inlined.unsplit)
        self.handler: Label | None = None  # the generators' bodies' (Inlined.resumable)

    def fail(self, reason: str, line: int | None = None) -> Unsupported:
        where = f" at line {line}" if line is not None else ""
        return Unsupported(f"{self.name}{where}: {reason}")

    def walk(self, items: list[object], outer: dict[str, str], region: int,
             pos: dict[int, int]) -> list[object]:
        """``items`` (of region ``region``: -1 for the function's own code; ``pos``:
        their positions there) with cells made locals, names renamed (``outer``: a
        comprehension's free variables to the enclosing code's names) and
        comprehensions spliced in."""
        comp = region >= 0
        prefix = self.prefix(region)

        def local(name: str) -> str:
            return prefix + name if comp else name

        def resolve(name: str) -> str:  # a name of this code, as the spliced code has it
            return outer[name] if name in outer else local(name)

        out: list[object] = []

        # made, waiting for their call (None: a generator left as it is, lenient)
        pending: list[CodeType | None] = []
        reducers: dict[int, str] = {}  # id of a pending generator's code -> its builtin

        def emit(new: Instr, source: Instr) -> None:
            self.origins[id(new)] = (region, pos[id(source)])
            if comp and pending:
                self.unsplit.add(id(new))
            out.append(new)

        i = 0
        while i < len(items):
            item = items[i]
            i += 1
            if not isinstance(item, Instr):
                out.append(item)
                continue
            op, line = item.name, item.lineno
            if op in ("MAKE_CELL", "COPY_FREE_VARS"):
                continue
            if op == "LOAD_CLOSURE":  # the closure tuple of a comprehension made next
                continue
            if op == "BUILD_TUPLE" and _closure_tuple(items, i):
                continue
            if op == "LOAD_CONST" and isinstance(item.arg, CodeType):
                made = item.arg
                nxt = items[i] if i < len(items) else None
                if not (isinstance(nxt, Instr) and nxt.name == "MAKE_FUNCTION"):
                    raise self.fail("a code object constant is not supported", line)
                reason = _DECLINED.get(made.co_name)
                if made.co_name != "<listcomp>" and self.lenient and not made.co_freevars:
                    emit(item, item)
                    emit(nxt, nxt)
                    if made.co_name == "<genexpr>":  # called at once, as it is
                        pending.append(None)
                    i += 1
                    continue
                if made.co_name == "<genexpr>":
                    reducers[id(made)] = self.generator(made, out, line)
                    pending.append(made)
                    i += 1  # the MAKE_FUNCTION
                    continue
                if made.co_name != "<listcomp>" and made.co_freevars:
                    what = (reason or "nested functions and lambdas are not supported")
                    raise self.fail(f"closures are not supported ({what}; one that reads "
                                    "the function's variables may outlive the call)", line)
                if made.co_name != "<listcomp>":
                    raise self.fail(reason or "nested functions and lambdas are not "
                                    "supported", line)
                if nxt.arg not in (0, 8):
                    raise self.fail("a comprehension with defaults or annotations", line)
                pending.append(made)
                i += 1  # the MAKE_FUNCTION
                continue
            if op == "MAKE_FUNCTION":
                raise self.fail("nested functions and lambdas are not supported", line)
            if op == "GET_ITER" and _calls_at_once(items, i) and pending and pending[-1] is None:
                pending.pop()  # a generator left as it is (lenient)
                emit(item, item)
                continue
            if op == "GET_ITER" and _calls_at_once(items, i):
                if not pending:
                    raise self.fail("a call of an iterator's function is not supported", line)
                emit(item, item)  # (the function object is still on the stack there)
                made = pending.pop()
                assert made is not None
                if id(made) in reducers:
                    if not genexps.called_alone(items, i):
                        raise self.fail(f"{genexps.DECLINED} (it is passed with other "
                                        "arguments, or called otherwise)", line)
                    self.regions.append(_Open(made, region, pos[id(items[i])], writes=True))
                    out.extend(self.splice_generator(made, reducers.pop(id(made)), resolve))
                    i += 4  # PRECALL 0, CALL 0, PRECALL 1, CALL 1
                    continue
                # called in the iterable of another one: the parent's frame holds that
                # one's function object there (see Inlined.unsplit)
                self.regions.append(_Open(made, region, pos[id(items[i])],
                                          writes=bool(pending)))
                out.extend(self.splice(made, resolve, line))
                i += 2  # PRECALL 0, CALL 0
                continue
            if op in _DEREFS:
                var = item.arg
                if isinstance(var, FreeVar):
                    if not comp:
                        raise self.fail("closures are not supported", line)
                    target = outer[var.name]
                    if op != "LOAD_DEREF":
                        self.regions[region].writes = True
                else:
                    assert isinstance(var, CellVar)
                    target = local(var.name)
                new = Instr(_DEREFS[op], target, location=item.location)
                if comp and op == "LOAD_DEREF":
                    self.checked.add(id(new))
                emit(new, item)
                continue
            if op == "LOAD_CLASSDEREF":
                raise self.fail("class bodies are not supported", line)
            if op in _FAST and comp:
                new = Instr(op, local(str(item.arg)), location=item.location)
                if op == "LOAD_FAST":
                    self.checked.add(id(new))
                emit(new, item)
                continue
            emit(item, item)
        if pending:
            raise self.fail("a comprehension that is made but not called at once", None)
        return out

    def splice(self, made: CodeType, enclosing: Callable[[str], str], line: int | None
               ) -> list[object]:
        """The body of comprehension ``made`` (the last region opened) as instructions
        of the enclosing code (which has just pushed the iterator): ``enclosing`` gives
        the name each of its free variables has there."""
        region = len(self.regions) - 1
        body = list(bytecode.Bytecode.from_code(made))
        pos = _positions(body)
        instrs = [x for x in body if isinstance(x, Instr)]
        real = [x for x in instrs if x.name not in ("MAKE_CELL", "COPY_FREE_VARS", "RESUME")]
        if (len(real) < 3 or real[0].name != "BUILD_LIST" or real[0].arg != 0
                or real[1].name != "LOAD_FAST" or real[1].arg != ".0"
                or real[-1].name != "RETURN_VALUE"
                or sum(x.name == "RETURN_VALUE" for x in real) != 1
                or sum(x.name in _FAST and x.arg == ".0" for x in real) != 1):
            raise self.fail("a list comprehension of an unexpected shape", line)
        free = self._open(made, region, enclosing, pos[id(real[1])])
        opened = self.regions[region]
        kept: list[object] = []
        for x in body:
            if isinstance(x, Instr) and x.name == "RESUME":
                continue
            if x is real[1]:
                swap = Instr("SWAP", 2, location=x.location)
                pos[id(swap)] = pos[id(x)]
                kept.append(swap)
                continue
            if x is real[-1]:
                continue
            kept.append(x)
        spliced = self.walk(kept, free, region, pos)
        opened.first = id(next(x for x in spliced if isinstance(x, Instr)))
        return spliced

    def _open(self, made: CodeType, region: int, enclosing: Callable[[str], str],
              dot0: int) -> dict[str, str]:
        """Name region ``region``'s hidden locals (its code ``made``, whose iterator
        ``.0`` is read at position ``dot0``); its free variables' enclosing names."""
        free = {name: enclosing(name) for name in made.co_freevars}
        prefix = self.prefix(region)
        own = made.co_varnames + tuple(n for n in made.co_cellvars if n not in made.co_varnames)
        opened = self.regions[region]
        opened.names = tuple((n, None if n == ".0" else prefix + n) for n in own)
        opened.free = tuple(free[n] for n in made.co_freevars)
        opened.dot0 = dot0
        return free

    def prefix(self, region: int) -> str:
        """What the hidden locals of region ``region`` are named with."""
        if region < 0:
            return ""
        return f"<{self.regions[region].code.co_name.strip('<>')}{region + 1}>."

    def generator(self, made: CodeType, out: list[object], line: int | None) -> str:
        """Check the generator expression ``made`` (its code constant just read; ``out``
        ends with what the code pushed before it) is one :mod:`.genexps` inlines, and
        make the call's LOAD_GLOBAL push no NULL; the builtin's name."""
        prev = out[-1] if out else None
        reducer = genexps.reducer_of(prev)
        if reducer is None:
            raise self.fail(genexps.DECLINED, line)
        if genexps.stores_outer(made):
            raise self.fail("a generator expression that stores a variable of the "
                            "function (a walrus) is not supported", line)
        assert isinstance(prev, Instr)
        new = genexps.without_null(prev)
        self.origins[id(new)] = self.origins[id(prev)]
        if id(prev) in self.unsplit:
            self.unsplit.add(id(new))
        out[-1] = new
        return reducer

    def splice_generator(self, made: CodeType, reducer: str,
                         enclosing: Callable[[str], str]) -> list[object]:
        """The body of generator expression ``made`` (the last region opened) as the
        loop of ``reducer`` in the enclosing code (:func:`.genexps.reshape`), then the
        interpreter's way for a rebound name (:func:`.genexps.fallback`)."""
        region = len(self.regions) - 1
        body: list[object] = list(bytecode.Bytecode.from_code(made))
        pos = _positions(body)
        depths = _depths(body)
        line = made.co_firstlineno
        fallback_at, join = Label(), Label()
        # the outermost generator's handler also stands for those inside it: the
        # RuntimeError an inner one raises goes through the outer one as it is
        outer, inside = self.regions[region].parent, False
        while outer >= 0:
            inside = inside or self.regions[outer].code.co_name == "<genexpr>"
            outer = self.regions[outer].parent
        if not inside and self.handler is None:
            self.handler = Label()
        kept, dot0 = genexps.reshape(made, reducer, body, pos=pos,
                                     fail=lambda why: self.fail(why, line),
                                     depth_at=lambda x: depths[id(x)],
                                     fallback_at=fallback_at, join=join,
                                     handler=None if inside else self.handler)
        free = self._open(made, region, enclosing, pos[id(dot0)])
        opened = self.regions[region]
        spliced = self.walk(kept, free, region, pos)
        opened.first = id(next(x for x in spliced if isinstance(x, Instr)))
        try:
            tail = genexps.fallback(made, list(opened.free), dot0, fallback_at, join)
        except ValueError as exc:  # (a shape reading_frame does not know)
            raise self.fail(str(exc), line) from None
        for x in tail:
            if isinstance(x, Instr):
                self.origins[id(x)] = (region, opened.dot0)
        return spliced + tail


def _depths(items: list[object]) -> dict[int, int]:
    """id of each reachable instruction of ``items`` -> the depth of the value stack
    before it runs (3.11's stack effects, over the jumps)."""
    labels = {id(x): k for k, x in enumerate(items) if isinstance(x, Label)}
    depth: dict[int, int] = {}
    todo = [(0, 0)]
    while todo:
        k, d = todo.pop()
        while k < len(items):
            x = items[k]
            k += 1
            if not isinstance(x, Instr):
                continue
            if id(x) in depth:
                break
            depth[id(x)] = d
            if x.has_jump():
                todo.append((labels[id(x.arg)], d + x.stack_effect(jump=True)))
                if x.is_uncond_jump():
                    break
            if x.is_final():
                break
            d += x.stack_effect(jump=False)
    return depth


def _closure_tuple(items: list[object], i: int) -> bool:
    """Whether the BUILD_TUPLE just read (``items[i - 1]``) is a comprehension's closure
    tuple: LOAD_CLOSUREs before it, the code and MAKE_FUNCTION 8 after it."""
    before = items[i - 2] if i >= 2 else None
    after = items[i:i + 2]
    return (isinstance(before, Instr) and before.name == "LOAD_CLOSURE"
            and len(after) == 2 and isinstance(after[0], Instr)
            and after[0].name == "LOAD_CONST" and isinstance(after[0].arg, CodeType)
            and isinstance(after[1], Instr) and after[1].name == "MAKE_FUNCTION"
            and after[1].arg == 8)


def _calls_at_once(items: list[object], i: int) -> bool:
    """Whether the GET_ITER just read is followed by ``PRECALL 0; CALL 0`` (3.11's call
    of a comprehension's function with the iterator)."""
    after = [x for x in items[i:i + 2] if isinstance(x, Instr)]
    return (len(after) == 2 == len(items[i:i + 2]) and after[0].name == "PRECALL"
            and after[0].arg == 0 and after[1].name == "CALL" and after[1].arg == 0)
