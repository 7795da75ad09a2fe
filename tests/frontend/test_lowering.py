"""The LLVM the frontend produces: the ABI, names, code quality, linking, the backend."""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import pytest

from autotier.abi import Kind, Status
from autotier.backends.base import CompileRequest
from autotier.backends.llvm_backend import LLVMBackend
from autotier.frontend import lower
from autotier.jit import engine
from autotier.native import make as make_native
from tests.frontend import kernels as k
from tests.frontend.harness import compile_function

INT, FLOAT, BOOL = Kind.INT, Kind.FLOAT, Kind.BOOL


def optimised(text: str) -> str:
    """The module after the O2 pipeline the engine runs."""
    _, tm = engine._engine()
    mod = llvm.parse_assembly(text)
    mod.triple, mod.data_layout = engine.target_data_layout()
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=2))
    pb.getModulePassManager().run(mod, pb)
    return str(mod)


def calls(text: str) -> set[str]:
    return set(re.findall(r"call [^@]*@\"?([\w.$]+)", text))


def test_lowered_module_contract():
    lm = lower(k.while_loop, (INT,))
    assert lm.arg_kinds == (INT,)
    assert set(lm.dumps) == {"bytecode", "ir", "llvm", "sites"}
    assert lm.dumps["llvm"] == lm.ir
    assert re.search(rf'define i32 @"?{re.escape(lm.body)}"?\(i64 %"?n"?, '
                     r'\{i64, i64, double, i64\}\* %"?out"?, i64 %"?budget"?, i64\* %"?record"?\)',
                     lm.ir)
    assert "FOR_ITER" in lm.dumps["bytecode"] or "POP_JUMP" in lm.dumps["bytecode"]
    assert "while_loop(int) -> int" in lm.dumps["ir"]
    assert '%"total' in lm.ir and '%"i' in lm.ir  # LLVM values named after Python locals
    llvm.parse_assembly(lm.ir).verify()


def test_body_names_are_unique():
    a, b = lower(k.add, (INT, INT)), lower(k.add, (INT, INT))
    assert a.body != b.body


def test_fib_is_tight_native_recursion():
    lm = lower(k._fib, (INT,))
    text = optimised(lm.ir)
    # one stack slot: the exported body's buffer that bailouts unwind to
    assert {a.split(".")[0] for a in re.findall(r"%\"?([\w.]+)\"? = alloca", text)} == {"unwind"}
    fast = [c for c in calls(text) if not c.startswith("llvm.")]
    unwinding = {"__autotier_setjmp", "__autotier_longjmp"}
    assert set(fast) - unwinding and all("_fib.int" in c for c in set(fast) - unwinding), fast
    assert unwinding <= set(fast)  # only the recursive call, and the bailout's unwinding
    assert "PyLong" not in text and "PyFloat" not in text
    # a caller does not test a status after the recursive call: no extractvalue of it
    fast_fn = text[text.index("define internal"):text.index("define i32")]
    assert not re.search(r"extractvalue \{ i32, i64 \} %[\w.\"]+, 0", fast_fn)


def test_float_loop_has_no_calls():
    text = optimised(lower(k.float_loop, (INT,)).ir)
    # Only the periodic check, once every 2**20 iterations (SIGNAL_CHECK_EVERY): run
    # signal handlers, let other threads have the GIL at most every 20 ms, and if the
    # module's dict changed meanwhile, recheck the global the loop read (range).
    assert sorted({c for c in calls(text) if not c.startswith("llvm.")}) == [
        "PyDict_GetItem", "PyErr_CheckSignals", "PyEval_RestoreThread", "PyEval_SaveThread",
        "__autotier_clock_gettime"]
    # Everything lives in registers but the clock's timespec of the periodic check.
    assert {a.split(".")[0] for a in re.findall(r"%\"?([\w.]+)\"? = alloca", text)} <= {"now"}
    # the float addition is x86's own, which LLVM cannot rewrite (frontend.floatarith)
    assert re.search(r'call double asm "v?addsd', text)


def test_budget_checked_only_on_entry():
    text = lower(k.nested_loops, (INT,)).ir
    assert text.count('icmp sle i64 %"budget", 0') == 1


def test_two_signatures_link_into_one_module():
    a, b = lower(k.mixed, (INT, FLOAT)), lower(k.mixed, (FLOAT, INT))
    compiled = engine.compile_ir_modules([a.ir, b.ir], [a.body, b.body])
    assert all(compiled.addresses.values())


def test_llvm_backend_compiles_through_the_frontend():
    request = CompileRequest(func=k._fib, signatures=((INT,), (BOOL,)), tier=1, opt=2,
                             dump=frozenset({"ir", "llvm"}))
    code = LLVMBackend().compile(request)
    assert code.backend == "llvm"
    assert "ir" in code.dumps and "llvm" in code.dumps
    native = make_native(code.natives[0], k._fib)
    assert native(20) == 6765
    assert type(native(True)) is int or native(True) is True


def test_harness_budget_and_status():
    compiled = compile_function(k.fib, (INT,))
    assert compiled.call(25) == (Status.OK, 75025)
    assert compiled.call(25, budget=3)[0] is Status.RECURSION


@pytest.mark.parametrize("opt", [0, 3])
def test_other_optimisation_levels(opt):
    compiled = compile_function(k.changing_kind, (INT,), opt=opt)
    assert compiled.call(3) == (Status.OK, 1.5)
    assert compiled.call(0) == (Status.OK, 0)


def test_only_recursive_programs_unwind():
    assert "__autotier_setjmp" in lower(k._fib, (INT,)).ir  # a cycle: fib calls fib
    assert "__autotier_setjmp" in lower(k._is_even, (INT,)).ir  # mutual recursion
    calls_once = lower(k.calls_halve, (INT,)).ir  # one call of another hot function
    assert "__autotier_setjmp" not in calls_once and "__autotier_longjmp" not in calls_once
