"""Compile cost linear in function size, and the size limit (issue 7, point 8).

Nothing here is timed: the tests check what makes the cost linear (the IR the
frontend emits, the pipeline the engine picks, the frontend's algorithms) and that
the generated 1,000-statement functions compile exactly.  ``bench/compile_time.py``
measures the times.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from types import FunctionType

import pytest

import autotier
from autotier import compat
from autotier.abi import Kind, Status
from autotier.frontend import Unsupported, decode, ir, lower
from autotier.frontend.builtins_table import Resolver
from autotier.frontend.stackflow import build_ir
from autotier.jit import engine
from tests.frontend import kernels as k
from tests.frontend.bigfuncs import branchy_source, generated, make, straight_source
from tests.frontend.harness import check, compile_function, hot
from tests.runtime.helpers import make_hot, promote

INT = Kind.INT


@functools.cache
def _generated(shape: str, n: int) -> tuple[FunctionType, tuple[Kind, ...], str]:
    """A generated function, its argument kinds and its lowered LLVM IR (made once)."""
    func, kinds = generated(shape, n)
    return func, kinds, compile_function(func, kinds).lowered.ir

# ------------------------------------------------------------------ 1,000 statements


@pytest.mark.parametrize("shape", ["straight", "branchy"])
def test_thousand_statements_compile_and_match_cpython(shape):
    func, _, text = _generated(shape, 1000)
    assert engine.pipeline([text], 2) == "light"  # past LARGE_FUNCTION: the linear passes
    rng = random.Random(8)
    if shape == "straight":
        cases = [(1, 2, 3.0), (0, 0, 0.0), (-7, 5, -0.0), (2**62, 1, 1.0), (1, -(2**63), 0.5),
                 *((rng.randrange(-10**6, 10**6), rng.randrange(-10**6, 10**6),
                    rng.uniform(-1e6, 1e6)) for _ in range(5))]
    else:
        cases = [(-1, 0), (0, 0), (500, 7), (999, -3), (10**6, 2**63 - 1000), (2**63 - 1, 0),
                 *((rng.randrange(-10, 1100), rng.randrange(-10**9, 10**9)) for _ in range(5))]
    statuses = {check(func, *args, may_bail=True) for args in cases}
    assert Status.OK in statuses  # most inputs run natively to the end ...
    assert Status.INT64_OVERFLOW in statuses  # ... and an int64 overflow bails to CPython


def test_small_functions_keep_the_full_pipeline():
    text = _generated("straight", 100)[2]
    assert engine.pipeline([text], 2) == "O2"
    assert engine.pipeline([text], 1) == "O1"
    assert engine.pipeline([text], 0) == "none"


def test_the_light_pipeline_compiles_every_kernel_exactly(monkeypatch):
    monkeypatch.setattr(engine, "LARGE_FUNCTION", -1)  # every function counts as large
    for func, args in [(k.while_loop, (10,)), (k.sum_range1, (7,)), (k.nested_loops, (5,)),
                       (k.mixed, (3, 2.5)), (k.collatz, (27,)), (k.for_else, (9, 4))]:
        assert engine.pipeline([lower(func, tuple(Kind.of(a) for a in args)).ir], 2) == "light"
        check(func, *args, opt=3)  # opt=3: a compile of its own (the harness caches by opt)


# ------------------------------------------------------------------ what keeps it linear


def _allocas(text: str) -> int:
    return len(re.findall(r"= alloca ", text))


def test_helper_results_share_one_slot_per_type():
    """One stack slot per call made LLVM's mem2reg walk the dominator tree once per
    slot: quadratic in the number of checked operations."""
    small, large = (_generated("straight", n)[2] for n in (100, 1000))
    assert _allocas(small) == _allocas(large) <= 3  # i64 and double results


def test_lowered_size_is_linear_in_statements():
    for shape in ("straight", "branchy"):
        sizes = [engine.largest_function([_generated(shape, n)[2]]) for n in (100, 1000)]
        assert sizes[1] <= 10.5 * sizes[0], (shape, sizes)


def test_largest_function_counts_instructions():
    text = ('define i64 @"f"(i64 %"a")\n{\nentry:\n  %".2" = add i64 %"a", 1\n'
            '  ret i64 %".2"\n}\n\ndefine i64 @"g"()\n{\nentry:\n  ret i64 0\n}\n'
            'declare i64 @"h"(i64 %".1")\n')
    assert engine.largest_function([text]) == 2
    assert engine.largest_function([text, text.replace('"f"', '"f2"')]) == 2
    assert engine.largest_function(["declare void @x()\n"]) == 0


class _CountingBlocks(tuple):  # type: ignore[type-arg]
    """A tuple that counts how many items are read by iterating over it."""

    reads = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for item in super().__iter__():
            _CountingBlocks.reads += 1
            yield item


def test_looking_up_a_bytecode_block_does_not_scan_them_all():
    """The stack simulation looks up a block per conditional jump: a scan made that
    quadratic in the number of ``if`` statements (8.7 s of 10 at 4,000 of them)."""
    decoded = decode.decode(make(branchy_source(200)))
    counting = dataclasses.replace(decoded, blocks=_CountingBlocks(decoded.blocks))
    _CountingBlocks.reads = 0
    for blk in decoded.blocks:
        assert counting.block(blk.index) is blk
    assert _CountingBlocks.reads <= len(decoded.blocks)


def _cfgs():
    """IR of functions with loops, breaks, branches and returns in the middle."""
    for func in (k.while_loop, k.nested_loops, k.sum_range1, k.for_else, k.collatz,
                 k.early_return, make(branchy_source(30))):
        yield build_ir(decode.decode(func), Resolver(func))


def _dominators_by_definition(func: ir.Function) -> dict[int, set[int]]:
    """d dominates b iff b is unreachable from the entry once d is removed."""
    def reachable(without: int | None) -> set[int]:
        seen, todo = set(), [func.entry]
        while todo:
            b = todo.pop()
            if b in seen or b == without:
                continue
            seen.add(b)
            todo.extend(func.successors(b))
        return seen

    every = reachable(None)
    return {b: {d for d in every if d == b or b not in reachable(d)} for b in every}


def test_dominators_match_their_definition():
    for func in _cfgs():
        assert func.dominators() == _dominators_by_definition(func), func.name


def test_verify_walks_the_dominator_tree_without_copying(monkeypatch):
    """Each block is checked against one shared set of the Vars its dominators define
    (a set built per block made verify quadratic in a function of many branches)."""
    func = build_ir(decode.decode(f := make(branchy_source(50))), Resolver(f))
    seen: list[object] = []
    original = ir.Block.verify

    def spy(self, live_in=frozenset()):
        seen.append(live_in)
        return original(self, live_in)

    monkeypatch.setattr(ir.Block, "verify", spy)
    func.verify()
    assert len(seen) == len(func.blocks) and all(s is seen[0] for s in seen)


def test_verify_still_rejects_a_read_from_a_sibling_branch():
    func, _ = generated("branchy", 3)
    good = build_ir(decode.decode(func), Resolver(func))
    then_blocks = [b for b in good.blocks if b.instrs and b.id != good.entry
                   and any(isinstance(i, ir.BinaryOp) for i in b.instrs)]
    first, second = then_blocks[0], then_blocks[1]
    stolen = next(i.dest for i in first.instrs if isinstance(i, ir.BinaryOp))
    bad_instr = ir.UnaryOp(ir.Var(10**6), ir.UnOp.NEG, stolen)
    bad = ir.Block(second.id, second.params, (*second.instrs, bad_instr), second.term)
    broken = ir.Function(good.name, tuple(bad if b.id == second.id else b
                                          for b in good.blocks), good.entry)
    with pytest.raises(ir.IRError, match="before it is defined"):
        broken.verify()


# ------------------------------------------------------------------ the size limit


def _too_large_source() -> str:
    n = decode.MAX_INSTRUCTIONS // 6 + 10  # each statement is 6 or 7 instructions
    return straight_source(n, "huge")


def test_a_function_past_the_limit_is_declined_with_its_size():
    func = make(_too_large_source(), "huge")
    count = compat.instruction_count(func.__code__)
    assert count > decode.MAX_INSTRUCTIONS
    with pytest.raises(Unsupported) as exc:
        lower(func, (INT, INT, Kind.FLOAT))
    assert exc.value.reason == (f"huge: function too large to compile "
                                f"({count} instructions > {decode.MAX_INSTRUCTIONS})")


def test_instruction_count_is_what_dis_lists():
    import dis

    for func in (k.while_loop, k.nested_loops, make(branchy_source(200))):
        assert compat.instruction_count(func.__code__) == len(list(dis.get_instructions(func)))


def test_the_limit_counts_the_functions_a_compile_calls(monkeypatch):
    ns: dict[str, object] = {}
    make("def leaf(x):\n    return x * 2 + 1\n", "leaf", ns)
    make("def root(x):\n    return leaf(x) + leaf(x + 1)\n", "root", ns)
    leaf, root = ns["leaf"], ns["root"]
    ns["leaf"] = hot(leaf)  # a native call: lowered into root's module
    sizes = [compat.instruction_count(f.__code__) for f in (root, leaf)]
    monkeypatch.setattr(decode, "MAX_INSTRUCTIONS", max(sizes))  # each alone fits
    with pytest.raises(Unsupported, match=re.escape(
            f"root with the functions it calls: function too large to compile "
            f"({sum(sizes)} instructions > {max(sizes)})")):
        lower(root, (INT,))
    monkeypatch.setattr(decode, "MAX_INSTRUCTIONS", sum(sizes))
    check(root, 5)


@pytest.mark.parametrize("backend", ["auto", "llvm", "numba"])
def test_the_bead_records_the_size_reason_and_no_backend_runs(backend):
    func = make(_too_large_source(), "huge")
    count = compat.instruction_count(func.__code__)
    hf = make_hot(func, backend=backend)
    promote(hf, 1, 2, 3.0)
    row = autotier.stats(hf)
    assert row.state == "failed"
    # the limit is checked before any backend: numba never spends its 30 s on it
    assert row.reason == (f"function too large to compile "
                          f"({count} instructions > {decode.MAX_INSTRUCTIONS})")
    assert hf(1, 2, 3.0) == func(1, 2, 3.0)

