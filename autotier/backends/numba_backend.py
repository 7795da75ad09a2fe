"""The numba backend: ``njit`` for the argument kinds seen, behind autotier's entry.

numba compiles a copy of the function whose globals are frozen at compile time (as
numba always does), and freezes the module attributes it reads too.  Only globals
whose frozen copy is exact are offered (exact ints, floats, bools, strs, tuples of
them, modules, builtins: :func:`numba_semantics.frozen_risk`); autotier's entry
guards every global the function names and every module attribute numba read, so a
rebound one stops the code, and guards the exact argument types, so numba's own
dispatcher is only ever called with the types it was compiled for.

Exactness: numba computes with machine numbers (wrapping int64 arithmetic, inexact
int/float mixing, nan where CPython raises) and converts values to unify types.
After numba has typed a function, its typed IR is checked
(:mod:`autotier.backends.numba_semantics`) and a function using any operation or
conversion whose numba answer could differ from CPython's is declined.  numba's
exceptions are its own: the entry re-runs a call whose numba code raised in the
interpreter, which raises CPython's.
"""

from __future__ import annotations

import builtins
import dis
import re
from types import CodeType, FunctionType, ModuleType
from typing import Any

from autotier import compat
from autotier.abi import Kind, hot_target
from autotier.backends import numba_semantics
from autotier.backends.base import CompiledCode, CompileError, CompileRequest, Unsupported
from autotier.dispatch import build
from autotier.dispatch.entry import Specialisation
from autotier.dispatch.guards import MISSING
from autotier.jit import engine


def _numba_type(kind: Kind) -> Any:
    from numba import types

    return {Kind.INT: types.int64, Kind.FLOAT: types.float64, Kind.BOOL: types.boolean}[kind]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # numba colours its messages


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    generic = ("Failed in nopython mode pipeline", "Failed in object mode pipeline")
    useful = [ln for ln in lines if not ln.startswith(generic)]
    return (useful or lines or [type(exc).__name__])[0]


def _global_names(code: CodeType) -> list[str]:
    names = {ins.argval for ins in dis.get_instructions(code)
             if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    return sorted(n for n in names if isinstance(n, str))


Snapshots = dict[int, dict[str, object]]  # id(module dict) -> its items before the compile
Attributes = dict[int, tuple[dict[str, object], dict[str, object]]]


def _attribute_risk(annotation: Any, before: Snapshots, attrs: Attributes | None
                    ) -> str | None:
    """Why a module attribute the typed code reads could answer otherwise than
    numba's frozen copy, or None; with ``attrs``, also collect them to guard (and
    raise CompileError for one rebound while numba compiled)."""
    risk = None
    for module, attr in numba_semantics.module_reads(annotation):
        ns = module.__dict__
        value = ns.get(attr, MISSING)
        label = f"{module.__name__}.{attr}"
        if id(ns) not in before:  # np.random.x: no snapshot to vouch for it
            risk = risk or f"{label}: an attribute of a module not named globally"
        elif attrs is not None and before[id(ns)].get(attr, MISSING) is not value:
            raise CompileError(f"{label} was rebound during the compile")
        if value is MISSING:  # a module __getattr__ made it: nothing to guard
            risk = risk or f"{label} is not in its module's namespace"
        risk = risk or numba_semantics.frozen_risk(label, value)
        if attrs is not None:
            attrs.setdefault(id(ns), (ns, {}))[1][attr] = value
    return risk


class NumbaBackend:
    name = "numba"

    def compile(self, request: CompileRequest) -> CompiledCode:
        func = request.func
        if func.__closure__:
            raise Unsupported("numba backend: closures are not supported")
        code = request.code
        if not all(k.scalar for sig in request.signatures for k in sig):
            # numba's lists are reflected copies and its tuples typed records: neither
            # answers as CPython's do (element types, mutation, errors)
            raise Unsupported("numba backend: list and tuple arguments are not offered to numba")
        if code.co_flags & (0x04 | 0x08 | 0x20 | 0x80 | 0x100 | 0x200):
            raise Unsupported("numba backend: *args, **kwargs, generators and coroutines")
        namespace = dict(func.__globals__)
        glb: dict[str, object] = {}
        blt: dict[str, object] = {}
        for name in _global_names(code):
            value = namespace.get(name, MISSING)  # what numba freezes, and the guard expects
            glb[name] = value
            if value is MISSING:
                value = blt[name] = builtins.__dict__.get(name, MISSING)
            if hot_target(value) is not None:
                # numba could only inline the callee's plain function, its globals
                # frozen and its recursion on the C stack (deaf to the recursion
                # limit), none of it guarded: calls of hot functions, recursive or
                # not, are not offered to numba.
                raise Unsupported(f"numba backend: calls hot function {name!r} (numba is "
                                  "never given calls of hot functions: only llvm compiles "
                                  "them)")
            risk = None if value is MISSING else numba_semantics.frozen_risk(name, value)
            if risk is not None:
                raise Unsupported(f"numba could differ from CPython: {risk}")
        risk = numba_semantics.prescreen(code, namespace)
        if risk is not None:  # certain from the bytecode: numba is not asked
            raise Unsupported(f"numba could differ from CPython: {risk} (seen before "
                              "compiling)")
        compat.finish_imports("numba")  # numba's import cycles: compat.finish_imports
        import numba
        from numba.core import errors

        from autotier.backends.numba_pipeline import ScreenedCompiler, Stopped, screened

        # module attributes numba froze, per module dict: guarded like globals.  A
        # snapshot of each module named tells that an attribute read after the
        # compile is the one numba froze during it.
        attrs: Attributes = {}
        before: Snapshots = {id(v.__dict__): dict(v.__dict__)
                  for v in (*glb.values(), *blt.values()) if isinstance(v, ModuleType)}
        copy = FunctionType(code, namespace, func.__name__, request.defaults)
        dispatcher = numba.njit(copy, boundscheck=True, pipeline_class=ScreenedCompiler)

        def screen(result: Any, annotation: Any) -> str | None:
            # inside numba's pipeline, before lowering: decline without compiling
            risk = next(numba_semantics.risks(result, annotation), None)
            return risk or _attribute_risk(annotation, before, None)

        signatures = []
        for kinds in request.signatures:
            sig = tuple(_numba_type(k) for k in kinds if isinstance(k, Kind))
            try:
                with engine.compile_lock(), screened(screen):  # LLVM's context is shared
                    dispatcher.compile(sig)
            except Stopped as stop:
                raise Unsupported(f"numba could differ from CPython: {stop.reason}"
                                  if stop.risk else stop.reason) from None
            except (errors.NumbaError, TypeError, ValueError, NotImplementedError) as exc:
                raise Unsupported(f"numba: {_first_line(exc)}") from None
            overload: Any = dispatcher.overloads[sig]
            annotation = overload.type_annotation
            risk = next(numba_semantics.risks(overload.signature.return_type, annotation),
                        None)
            risk = risk or _attribute_risk(annotation, before, attrs)
            if risk is not None:
                raise Unsupported(f"numba could differ from CPython: {risk}")
            signatures.append(kinds)
        dispatcher.disable_compile()
        nargs = code.co_argcount
        specs = [Specialisation(kinds, target=id(dispatcher)) for kinds in signatures]
        attrs.setdefault(id(func.__globals__), (func.__globals__, {}))[1].update(glb)
        if blt:
            attrs.setdefault(id(builtins.__dict__), (builtins.__dict__, {}))[1].update(blt)
        bindings = list(attrs.values())
        built = build.build_entry(
            func.__name__, nargs, specs, bindings, opt=request.opt,
            want_asm="asm" in request.dump, code=code, defaults=request.defaults,
        )
        dumps = {"asm": built.asm} if built.asm else {}
        return CompiledCode(
            entry=built.entry,
            backend=self.name,
            signatures=tuple(signatures),
            guards=built.guards,
            dumps=dumps,
            keepalive=(dispatcher, copy),
            native=built.native,
        )
