"""Modules compiled apart (``engine.compile_ir_modules(apart=...)``), and the OSR
entries that use them: an entry called once per call is compiled quickly, beside the
optimised body it calls (``CompileRequest.once``)."""

from __future__ import annotations

import ctypes
import threading

import pytest

import autotier
from autotier.backends.base import CompileRequest
from autotier.backends.llvm_backend import LLVMBackend
from autotier.jit import engine
from tests.runtime.helpers import bead_of, make_hot, settle


def _pair() -> tuple[str, str, str, str, str]:
    body, entry, inner, count = (engine.unique_name(s) for s in ("body", "entry", "inner", "n"))
    main = (f'define i64 @"{body}"(i64 %x) {{\n'
            f'  %y = mul i64 %x, 3\n  ret i64 %y\n}}\n')
    quick = (f'@"{count}" = global i64 0\n'
             f'declare i64 @"{body}"(i64)\n'
             f'define i64 @"{inner}"(i64 %x) {{\n'
             f'  %y = call i64 @"{body}"(i64 %x)\n  %z = add i64 %y, 1\n  ret i64 %z\n}}\n'
             f'define i64 @"{entry}"(i64 %x) {{\n'
             f'  %n = load i64, i64* @"{count}"\n  %m = add i64 %n, 1\n'
             f'  store i64 %m, i64* @"{count}"\n'
             f'  %r = call i64 @"{inner}"(i64 %x)\n  ret i64 %r\n}}\n')
    return main, quick, body, entry, inner + "|" + count


@pytest.mark.parametrize("reclaimable", [False, True])
def test_a_module_compiled_apart_calls_into_the_other(reclaimable: bool) -> None:
    main, quick, body, entry, rest = _pair()
    inner, count = rest.split("|")
    compiled = engine.compile_ir_modules(
        [main], [entry, body], globals_=[count], apart=[quick], inline=[inner],
        reclaimable=reclaimable, want_asm=True)
    call = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(compiled.addresses[entry])
    assert call(14) == 43 and call(-5) == -14
    assert ctypes.c_int64.from_address(compiled.globals[count]).value == 2
    assert compiled.asm is not None
    assert body in compiled.asm and entry in compiled.asm  # both modules' listings
    assert f'{inner}' not in compiled.asm.split(entry, 1)[1]  # inlined into the entry
    assert (compiled.native is not None) is reclaimable


def test_the_modules_compiled_apart_get_the_light_pipeline() -> None:
    assert engine.pipeline(["define void @f() {\n  ret void\n}\n"], -1) == "light"


def _loop(n: int) -> float:
    s = 0.0
    for k in range(n):
        s += 1.0 / (k + 1)
    return s


def test_the_llvm_backend_compiles_a_once_entry_apart(monkeypatch) -> None:
    seen = []
    real = engine.compile_ir_modules
    here = threading.get_ident()

    def spy(texts, symbols, **kwargs):  # type: ignore[no-untyped-def]
        if threading.get_ident() == here:  # (not an earlier test's broker compile)
            seen.append((len(texts), len(kwargs.get("apart", ()))))
        return real(texts, symbols, **kwargs)

    monkeypatch.setattr(engine, "compile_ir_modules", spy)
    for once in (False, True):
        request = CompileRequest(func=_loop, signatures=((autotier.abi.Kind.INT,),), tier=1,
                                 opt=2, once=once)
        code = LLVMBackend().compile(request)
        assert code.entry
    # a normal entry is linked with its body; a once entry and its wrapper are apart
    assert seen[-2:] == [(3, 0), (1, 2)]  # (before them: the process's first helpers)


def test_an_osr_entry_is_compiled_once_and_exact(monkeypatch) -> None:
    seen: list[bool] = []
    hf = make_hot(_loop, policy=autotier.ThresholdPolicy(threshold=3, loop_threshold=50),
                  before_compile=lambda request: seen.append(request.once))
    osr = bead_of(hf).osr
    assert osr is not None
    osr.wait_compile = True  # enter at the loop threshold's iteration
    assert hf(10_000) == _loop(10_000)
    assert osr.entries == 1
    for _ in range(3):  # promoted by calls: a normal compile
        assert hf(100) == _loop(100)
    settle()
    assert hf(100) == _loop(100)
    assert seen == [True, False]
