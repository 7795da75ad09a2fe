"""Resume functions: the interpreter continues a call where native code left it.

A resume function is the deoptimised function's own bytecode (read with the
``bytecode`` package) behind a prologue: its parameters are the frame's bound locals
and its value-stack entries; the prologue pushes the entries and jumps to the
instruction the native code failed at, which the interpreter then runs itself.  It
keeps the function's name, qualified name, filename and line numbers (the prologue
carries the failing instruction's line), so a traceback, a profiler or a tracer sees
the function as if undecorated, starting at the failing line (FINDINGS.md, "Resuming
a frame").  A local the native code had not bound stays unbound.

A frame whose native callee deoptimised too resumes *after* its call instruction:
the prologue pushes the entries below the call, calls the callee's own finished
frame (a ``functools.partial`` of the callee's resume function: a C call, no extra
Python frame), and jumps past the original call.  So a chain of deoptimised native
frames nests exactly as the interpreted calls would, one Python frame per level.

The code is the function's own, patched (:mod:`.patching`); where that does not
apply, :func:`build_resume_code` assembles it with the ``bytecode`` package (each code
object parsed once).  Resume functions are kept per site (weakly: as long as the
compiled code that names the site) and layout; :func:`prepare` builds each site's
likely one after its compile, on the broker thread, and any other on its first
deoptimisation.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import operator
import threading
import weakref
from collections.abc import Callable, Generator, Iterable, Sequence
from types import CodeType, FunctionType
from typing import Any

import bytecode

from autotier import compat
from autotier.abi import SlotForm
from autotier.deopt import generators, patching
from autotier.deopt.sites import (
    UNBOUND,
    CallEntry,
    ConstEntry,
    Frame,
    GlobalEntry,
    NullEntry,
    Outcome,
    Site,
    Slot,
    TupleEntry,
    read_record,
)

log = logging.getLogger("autotier")
_THUNK = patching.CALLEE

_lock = threading.Lock()  # guards _parsed_cache and _functions


_stack_name = patching.stack_name


def _find(items: Sequence[object], index: int) -> int:
    """The list position of the ``index``-th instruction of a Bytecode."""
    count = 0
    for pos, item in enumerate(items):
        if isinstance(item, bytecode.Instr):
            if count == index:
                return pos
            count += 1
    raise ValueError(f"autotier: no instruction {index} to resume at")


#: instructions a frame may resume after, with their outcome in place of what they
#: consume (a native callee's or a C-API call's, ``in``, an attribute read or write)
AFTER = ("CALL", "CONTAINS_OP", "LOAD_ATTR", "STORE_ATTR", "DELETE_ATTR")


def build_resume_code(code: CodeType, index: int, bound: tuple[str, ...],
                      stack: tuple[object, ...], *, line: int, after_call: bool) -> CodeType:
    """The code of a resume function for ``code`` at instruction ``index``.

    ``bound``: the locals passed (as the first parameters); ``stack``: the entries to
    push (:mod:`autotier.deopt.sites` entries), each Slot/ConstEntry/GlobalEntry a
    parameter after the locals.  ``after_call``: ``index`` is a CALL whose NULL,
    callee and arguments are *not* in ``stack``; the prologue calls the last parameter
    (the callee's finished frame) instead and resumes after the CALL.
    """
    bc = _parsed(code)
    items = list(bc)
    target = _find(items, index)
    call_at = None
    stores = False
    if after_call:  # past the CALL that ``index`` (its PRECALL, KW_NAMES) sets up, or
        # the CONTAINS_OP, LOAD_ATTR or STORE_ATTR at ``index``
        target = next(i for i in range(target, len(items))
                      if isinstance(item := items[i], bytecode.Instr)
                      and item.name in AFTER)
        call_at = items[target].location  # type: ignore[union-attr]
        stores = items[target].name in ("STORE_ATTR", "DELETE_ATTR")  # type: ignore[union-attr]
    label = bytecode.Label()
    items.insert(target + 1 if after_call else target, label)
    prologue: list[bytecode.Instr] = []
    params: list[str] = list(bound)
    for entry in stack:
        if isinstance(entry, NullEntry):
            prologue.append(bytecode.Instr("PUSH_NULL", lineno=line))
        elif isinstance(entry, TupleEntry):
            prologue.append(bytecode.Instr("BUILD_TUPLE", entry.size, lineno=line))
        elif isinstance(entry, CallEntry):
            prologue.extend(compat.call_instructions(entry.nargs, line))
        else:
            name = _stack_name(len(params) - len(bound))
            params.append(name)
            prologue.append(bytecode.Instr("LOAD_FAST", name, lineno=line))
    if after_call:
        params.append(_THUNK)
        prologue.append(bytecode.Instr("PUSH_NULL", lineno=line))
        prologue.append(bytecode.Instr("LOAD_FAST", _THUNK, lineno=line))
        prologue.extend(compat.call_instructions(0, line, call_at))
        if stores:  # a store or del pushes nothing: the outcome (None) is dropped
            prologue.append(bytecode.Instr("POP_TOP", lineno=line))
    prologue.append(bytecode.Instr("JUMP_FORWARD", label, lineno=line))
    start = next(i for i, item in enumerate(items)
                 if isinstance(item, bytecode.Instr) and item.name == "RESUME")
    items[start + 1:start + 1] = prologue
    out = bytecode.Bytecode(items)
    out._copy_attr_from(bc)
    out.argnames = params
    out.argcount = len(params)
    out.posonlyargcount = 0
    out.kwonlyargcount = 0
    # the prologue pushes at most the entries the original code held there, and a call
    # two more (an enumerate or zip object rebuilt: its NULL, builtin and arguments in
    # place of the one object): the original stack size bounds it (and skips its
    # computation)
    calls = max((e.nargs + 1 for e in stack if isinstance(e, CallEntry)), default=0)
    return out.to_code(stacksize=code.co_stacksize + 2 + calls, check_pre_and_post=False,
                       compute_exception_stack_depths=False)


_parsed_cache: weakref.WeakKeyDictionary[CodeType, bytecode.Bytecode] = (
    weakref.WeakKeyDictionary())  # guarded by _lock


def _parsed(code: CodeType) -> bytecode.Bytecode:
    """``code`` as a ``bytecode.Bytecode``, parsed once (its items are never mutated:
    each resume code copies the list and inserts new items)."""
    with _lock:
        found = _parsed_cache.get(code)
    if found is None:
        found = bytecode.Bytecode.from_code(code)
        with _lock:
            _parsed_cache[code] = found
    return found


_functions: weakref.WeakKeyDictionary[Site, dict[tuple[object, ...], FunctionType]] = (
    weakref.WeakKeyDictionary())  # guarded by _lock


def _function_for(site: Site, bound: tuple[bool, ...], stack: tuple[object, ...],
                  after_call: bool) -> FunctionType:
    """The resume function for a layout of ``site`` (made once, then reused):
    ``bound[i]``, whether local ``i`` has a value.  Its parameters: every local when
    :func:`patching.applies` (an unbound one passed anything), else the bound ones;
    then the stack entries' and the callee's."""
    key = (bound, after_call)
    with _lock:
        found = _functions.get(site, {}).get(key)
    if found is None:
        func = site.func
        if patching.applies(site.code):
            code = patching.patch_resume_code(site.code, site.index, site.offset, bound,
                                              stack,
                                              line=site.line, after_call=after_call)
        else:
            names = tuple(n for n, has in zip(site.varnames, bound, strict=True) if has)
            code = build_resume_code(site.code, site.index, names, stack, line=site.line,
                                     after_call=after_call)
        found = FunctionType(code, func.__globals__, func.__name__, None, func.__closure__)
        with _lock:
            _functions.setdefault(site, {})[key] = found
    return found


#: Code bytes the resume functions :func:`prepare` builds for one compile may copy
#: (each is a copy of its function's code): past it, the remaining sites' are built on
#: their first deopt.
PREPARE_BUDGET = 64 * 1024


def likely_bound(site: Site) -> tuple[bool, ...]:
    """The layout a deopt at ``site`` most likely has: every local bound but those the
    compile knew never hold a value there (a maybe-unbound one is guessed bound)."""
    return tuple(f.form is not SlotForm.UNBOUND for f in site.forms[:len(site.varnames)])


def prepare(made: Iterable[object]) -> int:
    """Build ahead the resume functions of the sites a compile ``made`` (the broker
    runs this after the compile, before installing its code), so a first deopt does not
    build one on the caller's path: each site's :func:`likely_bound` layout, resuming
    at its own instruction, while the copies stay within :data:`PREPARE_BUDGET` and the
    code can be patched (assembling takes ten times longer: those stay lazy).  Other
    layouts (a local unbound after all, a frame resuming after its callee's call) are
    built on their first deopt.  How many were built."""
    spent = built = 0
    for site in made:
        assert isinstance(site, Site)
        if site.nest:  # inside a list comprehension: its levels' codes (assembled)
            if spent + sum(len(lv.code.co_code) for lv in site.nest) > PREPARE_BUDGET:
                continue
            from autotier.deopt.nested import prepare as prepare_levels
            try:
                spent += prepare_levels(site)
            except Exception:  # the first deopt at the site raises it again
                log.debug("autotier: no resume code for site %s", site.id, exc_info=True)
                continue
            built += 1
            continue
        size = len(site.code.co_code)
        if not patching.applies(site.code) or spent + size > PREPARE_BUDGET:
            continue
        spent += size
        try:
            _function_for(site, likely_bound(site), site.stack, False)
        except Exception:  # the first deopt at the site raises it again, where it shows
            log.debug("autotier: no resume function for site %s", site.id, exc_info=True)
            continue
        built += 1
    return built


def _stack_values(site: Site, values: Sequence[object]) -> list[object]:
    """The arguments for the stack entries: a slot's value, a constant, a global."""
    out: list[object] = []
    slots = iter(values)
    for entry in site.stack:
        if isinstance(entry, Slot):
            out.append(next(slots))
        elif isinstance(entry, ConstEntry):
            out.append(entry.value)
        elif isinstance(entry, GlobalEntry):
            out.append(site.func.__globals__[entry.name])
    return out


def frame_call(frame: Frame, callee: Callable[[], Any] | None) -> functools.partial[Any]:
    """A callable of no arguments that finishes ``frame`` in the interpreter.

    ``callee``: the finished frame of the native callee this frame's call instruction
    was running, when it deoptimised too (the frame resumes after the call, with
    what ``callee()`` returns or raises as the call's outcome).
    """
    site = frame.site
    if site.nest:  # inside a list comprehension: its frames, as CPython ran them
        from autotier.deopt.nested import nested_call  # (nested imports this module)
        return nested_call(frame, callee)
    nlocals = len(site.varnames)
    local_values, stack_slot_values = frame.values[:nlocals], frame.values[nlocals:]
    bound = tuple(v is not UNBOUND for v in local_values)
    args: list[object]
    if patching.applies(site.code):  # every local a parameter: an unbound one unbound
        args = [None if v is UNBOUND else v for v in local_values]  # by the prologue
    else:
        args = [v for v in local_values if v is not UNBOUND]
    stack = site.stack
    stack_values = _stack_values(site, stack_slot_values)
    if callee is not None:  # drop the NULL, callee and arguments the call consumed
        consumed = stack[len(stack) - site.call:]
        dropped = sum(not isinstance(e, NullEntry | TupleEntry | CallEntry) for e in consumed)
        stack = stack[:len(stack) - site.call]
        stack_values = stack_values[:len(stack_values) - dropped]
    resume = _function_for(site, bound, stack, callee is not None)
    args.extend(stack_values)
    if callee is not None:  # (its outcome as a generator's body inside takes it)
        args.append(generators.frame_call_outcome(site.code, site.offset, callee))
    return functools.partial(resume, *args)


def _done() -> Generator[None, None, None]:
    yield None


_FINISHED = _done()
for _ in _FINISHED:  # exhausted: its throw() raises what it is given, with no frame
    pass


def outcome_call(outcome: Outcome) -> functools.partial[Any]:
    """A C-level call of no arguments that returns or raises ``outcome`` (no Python
    frame: a traceback goes on from the callee's frames to its caller's)."""
    if outcome.raised:
        return functools.partial(_FINISHED.throw, outcome.value)
    return functools.partial(operator.getitem, (outcome.value,), 0)


def finish(frames: Sequence[Frame | Outcome]) -> functools.partial[Any]:
    """The call that finishes a deoptimised chain of native frames (innermost first)
    in the interpreter: calling it returns the outermost frame's result.  The
    innermost may be a callee's outcome its native caller could not take."""
    call: functools.partial[Any] | None = None
    inner: Frame | Outcome | None = None
    for frame in frames:
        if isinstance(frame, Outcome):
            assert call is None, "a result frame is the innermost"
            call = outcome_call(frame)
        else:
            if call is not None and isinstance(inner, Frame) and _constructs(frame.site):
                call = functools.partial(_constructed, call, _self_of(inner))
            call = frame_call(frame, call)
        inner = frame
    assert call is not None
    return call


def _constructs(site: Site) -> bool:
    """Whether the call a frame's native callee ran under is a class's: the callee is
    the ``__init__`` of an instance native code made (``frontend.construct``)."""
    consumed = site.stack[len(site.stack) - site.call:] if site.call else ()
    return len(consumed) > 1 and isinstance(consumed[1], ConstEntry) and isinstance(
        consumed[1].value, type)


def _self_of(frame: Frame) -> object:
    """The instance an ``__init__`` frame was given (its first parameter, which the
    compiled ``__init__`` never rebinds: ``methodplan.init_plan``)."""
    first = frame.site.func.__code__.co_varnames[0]
    return frame.values[frame.site.varnames.index(first)]


def _constructed(init: Callable[[], object], obj: object) -> object:
    """``type.__call__`` after its ``__new__``: ``__init__``'s frame finished, then the
    instance (CPython's TypeError for another result than None)."""
    result = init()
    if result is not None:
        name = ctypes.c_char_p.from_address(id(type(result)) + compat.TYPE_TP_NAME).value or b""
        raise TypeError(f"__init__() should return None, not '{name[:200].decode()}'")
    return obj



def keep(code: int, address: int) -> functools.partial[Any]:
    """The keeper of records no bead keeps (``autotier.native``): finish a native
    callee's frames, deciding nothing."""
    return finish(read_record(address)[1])
