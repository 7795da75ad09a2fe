"""Unit tests of each frontend stage: decode, the IR, stackflow, typeinfer, program."""

from __future__ import annotations

import math

import pytest

from autotier.abi import Kind
from autotier.frontend import ir
from autotier.frontend.builtins_table import Resolver
from autotier.frontend.decode import decode
from autotier.frontend.errors import Unsupported
from autotier.frontend.ir import VKind
from autotier.frontend.program import build_program
from autotier.frontend.stackflow import build_ir
from autotier.frontend.typeinfer import binop_kind, infer
from tests.frontend import kernels as k

INT, FLOAT, BOOL, UNDEF = VKind.INT, VKind.FLOAT, VKind.BOOL, VKind.UNDEF


def kinds(*ks: VKind) -> frozenset[VKind]:
    return frozenset(ks)


def ssa(func):
    return build_ir(decode(func), Resolver(func))


def no_calls(func, kinds):
    raise AssertionError("no calls expected")


# ------------------------------------------------------------------ decode


def test_decode_blocks_and_listing():
    d = decode(k.for_else)
    assert d.argnames == ("n", "target")
    assert d.varnames[:2] == ("n", "target")
    assert d.blocks[0].index == 0
    names = [op.name for b in d.blocks for op in b.ops]
    assert "FOR_ITER" in names and "JUMP" in names  # JUMP_BACKWARD, canonical name
    assert "POP_JUMP_FORWARD_IF_FALSE" not in names  # normalised by compat
    listing = d.listing()
    assert "block 0:" in listing and "FOR_ITER" in listing and "-> block" in listing


@pytest.mark.parametrize(("func", "reason"), [
    (k.generator, "generators"),
    (k.make_closure, "closures"),
    (k.star_args, "*args"),
    (k.uses_try, "try/except"),
])
def test_decode_rejects(func, reason):
    with pytest.raises(Unsupported, match=reason.replace("*", r"\*")):
        decode(func)


# ------------------------------------------------------------------ the IR


def _v(i: int, hint: str = "") -> ir.Var:
    return ir.Var(i, hint)


def _good_function() -> ir.Function:
    a, one, total, cond = _v(1, "a"), _v(2), _v(3, "total"), _v(4)
    p = _v(5, "p")
    entry = ir.Block(0, (a,), (ir.Const(one, 1),), ir.Jump(1, (one,)))
    loop = ir.Block(1, (p,), (
        ir.BinaryOp(total, ir.BinOp.ADD, p, a, line=3),
        ir.Compare(cond, ir.CmpOp.LT, total, a, line=4),
    ), ir.Branch(cond, 1, (total,), 2, ()))
    exit_ = ir.Block(2, (), (), ir.Return(total))
    return ir.Function("f", (entry, loop, exit_))


def test_ir_verify_accepts_well_formed():
    _good_function().verify()


def test_ir_verify_rejects_malformed_blocks():
    func = _good_function()
    entry, loop, exit_ = func.blocks
    a, total = _v(1, "a"), _v(3, "total")
    cases = {
        "before it is defined": ir.Block(1, loop.params, loop.instrs[::-1], loop.term),
        "defined twice": ir.Block(1, loop.params, (*loop.instrs, ir.Const(total, 0)), loop.term),
        "no terminator": ir.Block(1, loop.params, loop.instrs, None),  # type: ignore[arg-type]
        "passes 0 values": ir.Block(1, loop.params, loop.instrs,
                                    ir.Branch(_v(4), 1, (), 2, ())),
        "missing bb9": ir.Block(1, loop.params, loop.instrs, ir.Jump(9, ())),
        "entry block": ir.Block(1, loop.params, loop.instrs, ir.Jump(0, (a,))),
    }
    for message, bad in cases.items():
        with pytest.raises(ir.IRError, match=message):
            ir.Function("f", (entry, bad, exit_)).verify()
    # a use not dominated by its definition: bb2 reads a value defined only in bb3
    v = _v(9)
    split = ir.Function("g", (
        ir.Block(0, (a,), (ir.Truth(_v(8), a),), ir.Branch(_v(8), 2, (), 3, ())),
        ir.Block(2, (), (), ir.Return(v)),
        ir.Block(3, (), (ir.Const(v, 1),), ir.Return(v)),
    ))
    with pytest.raises(ir.IRError, match="before it is defined"):
        split.verify()


def test_ir_dump_is_readable():
    func = _good_function()
    types = {v: kinds(INT) for b in func.blocks for v in b.defs()}
    text = func.dump(types)
    assert "function f(%a.1):" in text
    assert "bb1(%p.5: int):" in text
    assert "%total.3: int = binaryop %p.5 + %a.1" in text and "; line 3" in text
    assert "branch %4 ? bb1(%total.3) : bb2()" in text
    assert "return %total.3" in text
    assert func.block(2).dump() == "bb2():\n    return %total.3"


# ------------------------------------------------------------------ stackflow


def test_straight_line_code_has_no_block_params():
    func = ssa(k.polynomial)
    assert all(not b.params for b in func.blocks if b.id != func.entry)
    assert not any(isinstance(i, ir.CheckBound) for b in func.blocks for i in b.instrs)


def test_loop_header_params_and_names():
    func = ssa(k.sum_range1)
    header = [b for b in func.blocks if b.params]
    assert header, func.dump()
    hints = {p.hint for b in header for p in b.params}
    assert "s" in hints  # the loop-carried local keeps its Python name
    ops = {type(i).__name__ for b in func.blocks for i in b.instrs}
    assert {"MakeRange", "GetIter", "IterHasNext", "IterValue", "IterAdvance"} <= ops


def test_possibly_unbound_local_keeps_its_check():
    func = ssa(k.unbound_after_loop)
    checks = [i for b in func.blocks for i in b.instrs if isinstance(i, ir.CheckBound)]
    assert [c.name for c in checks] == ["i"]


def test_min_max_become_compare_and_select_in_cpython_order():
    func = ssa(k.min3)
    instrs = [i for b in func.blocks for i in b.instrs if isinstance(i, ir.Compare | ir.Select)]
    compares = [i for i in instrs if isinstance(i, ir.Compare)]
    assert [c.op for c in compares] == [ir.CmpOp.LT, ir.CmpOp.LT]
    a, b, _ = func.params
    assert (compares[0].left, compares[0].right) == (b, a)  # min(a, b): is b < a?


def test_chained_comparison_ssa_verifies():
    func = ssa(k.chained_long)
    func.verify()
    assert sum(isinstance(i, ir.Compare) for b in func.blocks for i in b.instrs) == 3


# ------------------------------------------------------------------ typeinfer


def test_typeinfer_loop_with_changing_kinds():
    typed = infer(ssa(k.changing_kind), (Kind.INT,), no_calls)
    assert typed.returns == kinds(INT, FLOAT)
    header_s = [p for b in typed.func.blocks for p in b.params if p.hint == "s"]
    assert any(typed.types[p] == kinds(INT, FLOAT) for p in header_s)
    assert "int|float" in typed.dump()


def test_typeinfer_keeps_bool_and_promotes_mixed():
    assert binop_kind(ir.BinOp.AND, BOOL, BOOL) is BOOL
    assert binop_kind(ir.BinOp.ADD, BOOL, BOOL) is INT
    assert binop_kind(ir.BinOp.ADD, INT, FLOAT) is FLOAT
    assert binop_kind(ir.BinOp.TRUEDIV, INT, INT) is FLOAT
    assert binop_kind(ir.BinOp.LSHIFT, INT, FLOAT) is None
    typed = infer(ssa(k.and_value), (Kind.INT, Kind.FLOAT), no_calls)
    assert typed.returns == kinds(INT, FLOAT)  # `a and b` returns an operand
    typed = infer(ssa(k.lt), (Kind.INT, Kind.FLOAT), no_calls)
    assert typed.returns == kinds(BOOL)


def test_typeinfer_unbound_local():
    typed = infer(ssa(k.unbound_after_loop), (Kind.INT,), no_calls)
    assert typed.returns == kinds(INT)
    loop_i = [p for b in typed.func.blocks for p in b.params if p.hint == "i"]
    assert any(UNDEF in typed.types[p] for p in loop_i)


def test_typeinfer_type_error_stops_the_block():
    typed = infer(ssa(k.lshift), (Kind.FLOAT, Kind.INT), no_calls)
    assert typed.returns == frozenset()  # 1.5 << 2 raises TypeError: always bails
    assert not any(isinstance(typed.func.block(b).term, ir.Return) for b in typed.completed)


# ------------------------------------------------------------------ program (callees)


def test_program_recursion_fixpoint():
    program = build_program(k._grow, (Kind.INT,))
    assert program.typed[(k._grow, (Kind.INT,))].returns == kinds(INT, FLOAT)
    program = build_program(k._countdown, (Kind.INT,))
    assert program.typed[(k._countdown, (Kind.INT,))].returns == kinds(FLOAT)
    program = build_program(k._forever, (Kind.INT,))
    assert program.typed[(k._forever, (Kind.INT,))].returns == frozenset()


def test_program_mutual_recursion_and_callee_kinds():
    program = build_program(k._is_even, (Kind.INT,))
    assert set(program.typed) == {(k._is_even, (Kind.INT,)), (k._is_odd, (Kind.INT,))}
    program = build_program(k.calls_halve, (Kind.INT,))
    assert (k._halve, (Kind.INT,)) in program.typed
    assert (k._halve, (Kind.FLOAT,)) in program.typed
    program = build_program(k._fib, (Kind.BOOL,))
    assert (k._fib, (Kind.INT,)) in program.typed  # fib(True - 1) is fib(0): an int


def test_program_deps():
    program = build_program(k.math_two, (Kind.FLOAT, Kind.FLOAT))
    deps = {(d.namespace.get("__name__"), d.name) for d in program.deps}
    assert ("tests.frontend.kernels", "math") in deps
    assert ("math", "atan2") in deps and ("math", "hypot") in deps
    program = build_program(k.absolute, (Kind.INT,))
    (missing,) = [d for d in program.deps if d.namespace is k.__dict__]
    assert missing.name == "abs" and repr(missing.value) == "MISSING"
    assert any(d.value is abs for d in program.deps)
    program = build_program(k._fib, (Kind.INT,))
    assert any(d.name == "fib" and d.value is k.fib for d in program.deps)
    program = build_program(k.math_constants, (Kind.FLOAT,))
    assert any(d.namespace is math.__dict__ and d.name == "pi" for d in program.deps)


_FIXPOINT_CASES = [(k._grow, (Kind.INT,)), (k._countdown, (Kind.INT,)), (k._forever, (Kind.INT,)),
                   (k._is_even, (Kind.INT,)), (k.calls_halve, (Kind.INT,)),
                   (k._fib, (Kind.BOOL,)), (k._fib, (Kind.INT,)), (k.fib_iter, (Kind.INT,)),
                   (k.math_two, (Kind.FLOAT, Kind.FLOAT))]


def _typings(program):
    return {spec: (typed.returns, typed.dump()) for spec, typed in program.typed.items()}


@pytest.mark.parametrize(("func", "arg_kinds"), _FIXPOINT_CASES)
def test_program_types_a_specialisation_again_only_when_what_it_asked_changed(
        func, arg_kinds, monkeypatch):
    """The fixpoint reuses a typing whose callees' answers are unchanged: it ends where
    typing everything again at every pass ends (same specialisations, same kinds)."""
    reused = _typings(build_program(func, arg_kinds))
    from autotier.frontend import program as program_module

    monkeypatch.setattr(program_module._Answers, "still_hold", lambda self: False)
    assert _typings(build_program(func, arg_kinds)) == reused


def test_program_types_a_function_without_calls_once(monkeypatch):
    from autotier.frontend import program as program_module

    calls = []
    original = program_module.infer

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(program_module, "infer", counting)
    build_program(k.fib_iter, (Kind.INT,))
    assert len(calls) == 1  # (its results grew from nothing: the second pass reused it)
    calls.clear()
    program = build_program(k._grow, (Kind.INT,))  # a recursion: typed until it holds
    assert len(calls) >= 2
    assert program.typed[(k._grow, (Kind.INT,))].returns == kinds(INT, FLOAT)


def test_an_answer_given_two_ways_during_one_typing_is_never_trusted():
    from autotier.frontend.program import _Answers

    told = iter([kinds(INT), kinds(FLOAT), kinds(FLOAT)])
    answers = _Answers()
    ask = answers.recording(lambda callee, ks: next(told))
    assert ask(k._fib, (Kind.INT,)) == kinds(INT)
    assert ask(k._fib, (Kind.INT,)) == kinds(FLOAT)
    assert not answers.still_hold()
    steady = _Answers()
    asked = steady.recording(lambda callee, ks: kinds(INT))
    asked(k._fib, (Kind.INT,))
    assert steady.still_hold()
    changing = iter([kinds(INT), kinds(INT, FLOAT)])
    grown = _Answers()
    grown.recording(lambda callee, ks: next(changing))(k._fib, (Kind.INT,))
    assert not grown.still_hold()
