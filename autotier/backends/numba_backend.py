"""The numba backend: ``njit`` for the argument kinds seen, behind autotier's entry.

numba compiles a copy of the function whose globals are frozen at compile time (as
numba always does); autotier's entry guards every global the function names, so a
rebound global stops the code, and guards the exact argument types, so numba's own
dispatcher is only ever called with the types it was compiled for.

Exactness: numba computes with machine numbers (wrapping int64 arithmetic, inexact
int/float mixing, nan where CPython raises).  After numba has typed a function, its
typed IR is checked (:mod:`autotier.backends.numba_semantics`) and a function using
any operation whose numba answer could differ from CPython's is declined.  Arrays
are compiled with bounds checking, so a bad index raises IndexError.
"""

from __future__ import annotations

import builtins
import dis
import re
from types import CodeType, FunctionType
from typing import Any

from autotier.abi import Kind, hot_target
from autotier.backends import numba_semantics
from autotier.backends.base import CompiledCode, CompileRequest, Unsupported
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


class NumbaBackend:
    name = "numba"

    def compile(self, request: CompileRequest) -> CompiledCode:
        import numba
        from numba.core import errors

        func = request.func
        if func.__closure__:
            raise Unsupported("numba backend: closures are not supported")
        code = request.code
        if code.co_flags & (0x04 | 0x08 | 0x20 | 0x80 | 0x100 | 0x200):
            raise Unsupported("numba backend: *args, **kwargs, generators and coroutines")
        namespace = dict(func.__globals__)
        glb: dict[str, object] = {}
        blt: dict[str, object] = {}
        for name in _global_names(code):
            value = func.__globals__.get(name, MISSING)
            if value is MISSING:
                blt[name] = builtins.__dict__.get(name, MISSING)
            glb[name] = value
            if hot_target(value) is not None:
                # numba could only inline the callee's plain function, its globals
                # frozen and its recursion on the C stack (deaf to the recursion
                # limit), none of it guarded: calls of hot functions, recursive or
                # not, are not offered to numba.
                raise Unsupported(f"numba backend: calls hot function {name!r} (numba is "
                                  "never given calls of hot functions: only llvm compiles "
                                  "them)")
        copy = FunctionType(code, namespace, func.__name__, request.defaults)
        dispatcher = numba.njit(copy, boundscheck=True)
        signatures = []
        for kinds in request.signatures:
            sig = tuple(_numba_type(k) for k in kinds)
            try:
                with engine.compile_lock():  # LLVM's global context is shared
                    dispatcher.compile(sig)
            except (errors.NumbaError, TypeError, ValueError, NotImplementedError) as exc:
                raise Unsupported(f"numba: {_first_line(exc)}") from None
            risk = next(numba_semantics.risks(dispatcher.overloads[sig]), None)
            if risk is not None:
                raise Unsupported(f"numba could differ from CPython: {risk}")
            signatures.append(kinds)
        dispatcher.disable_compile()
        nargs = code.co_argcount
        specs = [Specialisation(kinds, target=id(dispatcher)) for kinds in signatures]
        bindings: list[tuple[dict[str, object], dict[str, object]]] = [(func.__globals__, glb)]
        if blt:
            bindings.append((builtins.__dict__, blt))
        entry, guards, _, asm = build.build_entry(
            func.__name__, nargs, specs, bindings, opt=request.opt,
            want_asm="asm" in request.dump, code=code, defaults=request.defaults,
        )
        dumps = {"asm": asm} if asm else {}
        return CompiledCode(
            entry=entry,
            backend=self.name,
            signatures=tuple(signatures),
            guards=guards,
            dumps=dumps,
            keepalive=(dispatcher, copy),
        )
