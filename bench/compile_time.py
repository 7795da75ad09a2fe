"""CPU time of each stage of one llvm-backend compile, for generated functions.

    PYTHONPATH=$PWD python bench/compile_time.py straight 100,200,400,800,1600 [opt]
    PYTHONPATH=$PWD python bench/compile_time.py branchy 100,1000

The functions come from ``tests/frontend/bigfuncs.py``.  Each stage is timed with
``time.process_time`` (this process only: the machine is shared) around the function
that does it; the whole compile is ``LLVMBackend().compile``, entry build included.
The size limit (``decode.MAX_INSTRUCTIONS``) is lifted, so sizes past it are measured.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import llvmlite.binding as llvm

from autotier.backends.base import CompileRequest
from autotier.backends.llvm_backend import LLVMBackend
from autotier.dispatch import build
from autotier.frontend import decode, ir, lowering, program, stackflow
from tests.frontend.bigfuncs import generated

TIMES: dict[str, float] = {}


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] = TIMES.get(name, 0.0) + time.process_time() - start
    return wrapper


def _instrument() -> None:
    program.decode = _timed("decode", program.decode)
    stackflow.StackFlow.run = _timed("stackflow+ssa", stackflow.StackFlow.run)
    ir.Function.verify = _timed("verify", ir.Function.verify)  # type: ignore[method-assign]
    program.infer = _timed("typeinfer", program.infer)
    lowering.ModuleLowering.run = _timed(  # type: ignore[method-assign]
        "lowering", lowering.ModuleLowering.run)
    lowering.ll.Module.__str__ = _timed(  # type: ignore[method-assign]
        "ir text", lowering.ll.Module.__str__)
    build.entry_ir.entry_ir = _timed("entry ir", build.entry_ir.entry_ir)
    llvm.parse_assembly = _timed("llvm parse", llvm.parse_assembly)
    llvm.ModulePassManager.run = _timed(  # type: ignore[method-assign]
        "llvm opt", llvm.ModulePassManager.run)
    llvm.ExecutionEngine.finalize_object = _timed(  # type: ignore[method-assign]
        "llvm codegen", llvm.ExecutionEngine.finalize_object)


def measure(shape: str, n: int, opt: int = 2) -> tuple[float, dict[str, float]]:
    func, kinds = generated(shape, n)
    TIMES.clear()
    start = time.process_time()
    LLVMBackend().compile(CompileRequest(func, (kinds,), 1, opt))
    return time.process_time() - start, dict(TIMES)


def main(argv: list[str]) -> None:
    shape, sizes = argv[0], [int(s) for s in argv[1].split(",")]
    opt = int(argv[2]) if len(argv) > 2 else 2
    if hasattr(decode, "MAX_INSTRUCTIONS"):  # measure past the size limit too
        decode.MAX_INSTRUCTIONS = 10**9
    _instrument()
    measure(shape, 10, opt)  # warm up: the engine, the helpers' first parse
    for n in sizes:
        total, stages = measure(shape, n, opt)
        print(f"{shape} n={n} total={total:.3f} "
              + " ".join(f"{k}={v:.3f}" for k, v in stages.items()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
