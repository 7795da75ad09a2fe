"""numpy scalars held unboxed: their kinds, machine types, arithmetic and boxing.

A numpy scalar (an element of an ndarray, or what arithmetic on one gives) is held as
its machine type: ``double`` for float64, ``float`` for float32, ``iN`` for the integer
kinds (unsigned ones as the same bits), ``i1`` for ``numpy.bool_``.  Its typing and
values follow :mod:`.npscalars` (numpy 2: NEP 50 promotion, wrapping integers, one IEEE
operation in the kind's precision).  Where numpy would warn or raise (its *traps*),
the lowering computes numpy's predicate beside the value and deoptimises before the
instruction (``Status.NUMPY``), so numpy runs it under the user's error state: it warns,
raises or answers as it would undecorated.  numpy's default error state ignores
underflow, which the predicates of npscalars assume; native code does not read the
user's state, so a ``*`` or ``/`` whose result is below the kind's least normal
number (an underflow, or a subnormal: both inexact possibly) deoptimises too, and
numpy decides.  ``//``, ``%``, ``**``, ``<<`` and ``>>`` are :mod:`.npdivpow`'s; what
neither lowers (float ``**`` on numpy's ufunc path) is declined at typing
(``Unsupported``), what numpy refuses is its TypeError (``NumpyRefuses``).
"""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from llvmlite import ir as ll

from autotier import compat
from autotier.abi import Status
from autotier.dispatch.irutil import declare
from autotier.frontend import deferred, floatarith, npdivpow
from autotier.frontend import npscalars as nps
from autotier.frontend.errors import Unsupported
from autotier.frontend.kinds import NP_OF_DTYPE, NP_SCALARS, BinOp, CmpOp, Kinds, UnOp, VKind
from autotier.frontend.values import F64, I1, I64, LV, PTR, is_tagged, tag, untag

if TYPE_CHECKING:
    from autotier.frontend.lowering import FunctionLowering

F32 = ll.FloatType()
NP: dict[VKind, nps.NpKind] = {NP_OF_DTYPE[k.name]: k for k in nps.KINDS}
VK: dict[nps.NpKind, VKind] = {v: k for k, v in NP.items()}
_PY = {VKind.INT: int, VKind.FLOAT: float, VKind.BOOL: bool}


def machine_type(kind: VKind) -> ll.Type:
    k = NP[kind]
    if k.is_float:
        return F64 if k.bits == 64 else F32
    return I1 if k.is_bool else ll.IntType(k.bits)


def operand(kind: VKind) -> nps.Operand:
    if kind in NP_SCALARS:
        return NP[kind]
    if kind in _PY:
        return _PY[kind]
    raise Unsupported(f"a {kind.name.lower()} mixed with a numpy scalar is not supported")


# ------------------------------------------------------------------ typing

_FLOAT_OPS = (BinOp.ADD, BinOp.SUB, BinOp.MUL, BinOp.TRUEDIV, *npdivpow.FLOAT_OPS)
_INT_OPS = (BinOp.ADD, BinOp.SUB, BinOp.MUL, BinOp.AND, BinOp.OR, BinOp.XOR, *npdivpow.OPS)
_BOOL_OPS = (BinOp.ADD, BinOp.MUL, BinOp.AND, BinOp.OR, BinOp.XOR)


def rule(op: BinOp | CmpOp, a: VKind, b: VKind) -> nps.BinaryRule:
    """npscalars' rule for ``a op b``, where native code lowers it; else Unsupported."""
    r = nps.binary(op, operand(a), operand(b))
    if isinstance(op, CmpOp):
        return r
    compute = r.compute
    assert compute is not None
    ok = (op in _FLOAT_OPS if compute.is_float else op in _BOOL_OPS if compute.is_bool
          else op in _INT_OPS)
    if not ok:
        raise Unsupported(f"'{op.value}' of numpy {compute.name} scalars is not supported")
    return r


def binary_kind(op: BinOp | CmpOp, a: VKind, b: VKind) -> VKind:
    return VK[rule(op, a, b).result]


def unary_kind(op: UnOp, a: VKind) -> VKind:
    if op is UnOp.NOT:
        return VKind.BOOL
    if op is UnOp.INVERT and not NP[a].is_int:
        raise Unsupported("'~' of a numpy bool or float scalar is not supported")
    return VK[nps.unary_kind(nps.Unary(op.value), NP[a])]


# ------------------------------------------------------------------ conversions


def _is_nan(b: ll.IRBuilder, x: ll.Value) -> ll.Value:
    return b.fcmp_unordered("uno", x, x)


def _is_finite(b: ll.IRBuilder, x: ll.Value) -> ll.Value:
    fabs = b.module.declare_intrinsic("llvm.fabs", [x.type])
    return b.fcmp_ordered("<", b.call(fabs, [x]), ll.Constant(x.type, math.inf))


def _is_snan(b: ll.IRBuilder, x: ll.Value) -> ll.Value:
    """i1: ``x`` is a signalling nan (its quiet bit clear), tested on its bits."""
    bits = 64 if x.type == F64 else 32
    mant = 52 if bits == 64 else 23
    it = ll.IntType(bits)
    v = b.bitcast(x, it)
    quiet = ll.Constant(it, 1 << (mant - 1))
    return b.and_(_is_nan(b, x), b.icmp_unsigned("==", b.and_(v, quiet), ll.Constant(it, 0)))


def to_compute(fl: FunctionLowering, value: ll.Value, kind: VKind, conv: nps.Conv,
               compute: nps.NpKind) -> tuple[ll.Value, ll.Value]:
    """(``value`` of ``kind`` as a value of ``compute``'s machine type, the trap i1)."""
    b = fl.b
    no = ll.Constant(I1, 0)
    target = machine_type(VK[compute])
    if kind is VKind.INT:  # a Python int, held as fl.ints
        if conv is nps.Conv.PY_INT:
            width = value.type.width
            out = b.icmp_signed("<", value, ll.Constant(value.type, compute.min))
            if compute.max < 2 ** (width - 1):  # (a uint64's max is past an i64 int)
                out = b.or_(out, b.icmp_signed(">", value, ll.Constant(value.type, compute.max)))
            return b.trunc(value, target) if target.width < value.type.width else value, out
        d = b.sitofp(value, F64)  # CPython's int -> float: to nearest, never past double
        return (d if target == F64 else b.fptrunc(d, F32)), no
    if kind is VKind.FLOAT:
        if target == F64:
            return value, no
        r = b.fptrunc(value, F32)
        return r, b.and_(b.not_(_is_finite(b, r)), _is_finite(b, value))
    source = nps.BOOL if kind is VKind.BOOL else NP[kind]
    if compute.is_float:
        if source.is_float:
            return (value if value.type == target else b.fpext(value, target)), no
        signed = source.sort is nps.Sort.SIGNED
        return (b.sitofp(value, target) if signed else b.uitofp(value, target)), no
    if source == compute or value.type == target:
        return value, no
    if source.sort is nps.Sort.SIGNED:
        return b.sext(value, target), no
    return b.zext(value, target), no


# ------------------------------------------------------------------ operations


def _tiny(b: ll.IRBuilder, r: ll.Value) -> ll.Value:
    fabs = b.module.declare_intrinsic("llvm.fabs", [r.type])
    least = 2.2250738585072014e-308 if r.type == F64 else 1.1754943508222875e-38
    return b.fcmp_ordered("<", b.call(fabs, [r]), ll.Constant(r.type, least))


def _ordinary(b: ll.IRBuilder, r: ll.Value, op: BinOp) -> ll.Value:
    """i1: ``r`` is finite, and for ``*`` and ``/`` of at least the least normal
    magnitude (``+`` and ``-`` are exact when tiny: no underflow): its magnitude
    compared as a float (``fabs`` and one or two ordered compares, in vector
    registers: no move to an integer register, no 64-bit constant)."""
    fabs = b.module.declare_intrinsic("llvm.fabs", [r.type])
    size = b.call(fabs, [r])
    largest = sys.float_info.max if r.type == F64 else 3.4028234663852886e38
    finite = b.fcmp_ordered("<=", size, ll.Constant(r.type, largest))
    if op in (BinOp.ADD, BinOp.SUB):
        return finite
    least = 2.2250738585072014e-308 if r.type == F64 else 1.1754943508222875e-38
    return b.and_(finite, b.fcmp_ordered(">=", size, ll.Constant(r.type, least)))


def _float_op(fl: FunctionLowering, op: BinOp, x: ll.Value, y: ll.Value, trap: ll.Value
              ) -> ll.Value:
    """One IEEE operation; deoptimises where numpy traps (npscalars.ieee_trap), with the
    underflow guard for ``*`` and ``/`` (module doc), or where ``trap`` (a conversion's)
    holds.  A normal finite result has no trap (an invalid operation or a signalling nan
    gives a nan, an overflow an infinity, an underflow a tiny number): only other
    results compute the exact predicate, off the common path.  A ``+`` or ``-`` whose
    consumer catches its trap leaves its check pending (:mod:`.deferred`); this
    operation's slow path tests the pending producers it catches first."""
    b = fl.b
    r = _ieee(b, op, x, y)
    found = deferred.catch(fl, op, x, y)
    if deferred.deferrable(fl, op, trap):
        assert fl.cur_state is not None and fl.cur_dest is not None
        if op in (BinOp.MUL, BinOp.TRUEDIV):  # the underflow guard stays here
            _guard(fl, _tiny(b, r), lambda: _float_trap(b, op, x, y, r), [])
        fl.pending.append(deferred.Pending(fl.cur_state, op, x, y, r, fl.cur_dest,
                                           tuple(found)))
        return r
    _check(fl, op, (x, y, r), trap, found)
    deferred.caught(fl, found)
    return r


def _check(fl: FunctionLowering, op: BinOp, operands: tuple[ll.Value, ll.Value, ll.Value],
           trap: ll.Value, caught: list[deferred.Pending]) -> None:
    """The check of ``x op y = r``: when ``r`` is not ordinary, the exact predicates of
    the producers it catches and its own; a bailout where one holds (the first)."""
    b = fl.b
    x, y, r = operands
    odd = b.or_(b.not_(_ordinary(b, r, op)), trap)
    _guard(fl, odd, lambda: b.or_(trap, _float_trap(b, op, x, y, r)), caught)


def _guard(fl: FunctionLowering, odd: ll.Value, exact: Callable[[], ll.Value],
           caught: list[deferred.Pending]) -> None:
    """Where ``odd`` holds (rarely), the exact predicate, or any of the caught
    producers': a bailout (at the first pending producer's, else here)."""
    b = fl.b
    slow, done = fl.block("numpy_check"), fl.block("numpy_checked")
    b.cbranch(odd, slow, done).set_weights([1, 1000])
    b.position_at_end(slow)
    cond = exact()
    for p in caught:
        cond = b.or_(cond, pending_trap(fl, p))
    fl.bail_if(cond, Status.NUMPY, name="numpy_quiet")
    b.branch(done)
    b.position_at_end(done)


def pending_trap(fl: FunctionLowering, p: deferred.Pending) -> ll.Value:
    """i1: the pending producer ``p`` traps (its exact predicate)."""
    return _float_trap(fl.b, p.op, p.x, p.y, p.r)


def check_pending(fl: FunctionLowering, p: deferred.Pending) -> None:
    """``p``'s own check, emitted where it can wait no longer (:func:`deferred.flush`)."""
    _check(fl, p.op, (p.x, p.y, p.r), ll.Constant(I1, 0), [])


_NAMES = {BinOp.ADD: "add", BinOp.SUB: "sub", BinOp.MUL: "mul", BinOp.TRUEDIV: "div"}


def _ieee(b: ll.IRBuilder, op: BinOp, x: ll.Value, y: ll.Value) -> ll.Value:
    """``x op y`` as numpy's scalar math computes it, a nan's bits included: one x86
    instruction (inline, so LLVM never commutes or rewrites it) with the operands in the
    order numpy's compiled code has them.  Of two nan operands numpy 2.4.6 returns the
    right one's for ``+`` and ``*`` and the left one's for ``-`` and ``/`` (measured,
    float64 and float32 alike), and x86 returns its first operand's."""
    first, second = (y, x) if op in (BinOp.ADD, BinOp.MUL) else (x, y)
    t = x.type
    mnemonic = _NAMES[op] + ("sd" if t == F64 else "ss")
    fnty = ll.FunctionType(t, [t, t])
    if floatarith._has_avx():  # AT&T order: v<op> b, a, out computes a <op> b
        asm = ll.InlineAsm(fnty, f"v{mnemonic} $2, $1, $0", "=x,x,x")
    else:
        asm = ll.InlineAsm(fnty, f"{mnemonic} $2, $0", "=x,0,x")
    return b.call(asm, [first, second], attrs=("nounwind", "readnone"))


def _float_trap(b: ll.IRBuilder, op: BinOp, x: ll.Value, y: ll.Value, r: ll.Value
                ) -> ll.Value:
    nan_in = b.or_(_is_nan(b, x), _is_nan(b, y))
    snan = b.or_(_is_snan(b, x), _is_snan(b, y))
    invalid = b.or_(snan, b.and_(_is_nan(b, r), b.not_(nan_in)))
    finite_in = b.and_(_is_finite(b, x), _is_finite(b, y))
    overflow = b.and_(b.not_(b.or_(_is_finite(b, r), _is_nan(b, r))), finite_in)
    trap = b.or_(invalid, overflow)
    if op in (BinOp.MUL, BinOp.TRUEDIV):
        zero = ll.Constant(x.type, 0.0)
        nonzero = b.fcmp_unordered("!=", x, zero)
        if op is BinOp.MUL:
            nonzero = b.and_(nonzero, b.fcmp_unordered("!=", y, zero))
        trap = b.or_(trap, b.and_(_tiny(b, r), nonzero))
    return trap


def _int_op(fl: FunctionLowering, op: BinOp, compute: nps.NpKind, x: ll.Value, y: ll.Value, *,
            checked: bool) -> tuple[ll.Value, ll.Value]:
    b = fl.b
    if op in (BinOp.AND, BinOp.OR, BinOp.XOR):
        fn = {BinOp.AND: b.and_, BinOp.OR: b.or_, BinOp.XOR: b.xor}[op]
        return fn(x, y), ll.Constant(I1, 0)
    name = {BinOp.ADD: "add", BinOp.SUB: "sub", BinOp.MUL: "mul"}[op]
    sign = "s" if compute.sort is nps.Sort.SIGNED else "u"
    intrinsic = declare(fl.ml.module, f"llvm.{sign}{name}.with.overflow.i{x.type.width}",
                        ll.LiteralStructType([x.type, I1]), [x.type, x.type])
    pair = b.call(intrinsic, [x, y])
    over = b.extract_value(pair, 1) if checked else ll.Constant(I1, 0)
    return b.extract_value(pair, 0), over


def _bool_op(fl: FunctionLowering, op: BinOp, x: ll.Value, y: ll.Value) -> ll.Value:
    b = fl.b
    if op in (BinOp.ADD, BinOp.OR):
        return b.or_(x, y)
    if op in (BinOp.MUL, BinOp.AND):
        return b.and_(x, y)
    return b.xor(x, y)


def _operands(fl: FunctionLowering, r: nps.BinaryRule, combo: tuple[VKind, VKind],
              x: ll.Value, y: ll.Value) -> tuple[ll.Value, ll.Value, ll.Value]:
    assert r.compute is not None
    cx, tx = to_compute(fl, x, combo[0], r.left, r.compute)
    cy, ty = to_compute(fl, y, combo[1], r.right, r.compute)
    if _never(tx) and _never(ty):  # no conversion traps (deferred.deferrable reads it)
        return cx, cy, tx
    return cx, cy, fl.b.or_(tx, ty)


def _never(trap: ll.Value) -> bool:
    return isinstance(trap, ll.Constant) and trap.constant == 0


def lower_binary(fl: FunctionLowering, op: BinOp, combo: tuple[VKind, VKind],
                 x: ll.Value, y: ll.Value) -> ll.Value:
    """``x op y`` with a numpy operand: its value; deoptimises where numpy traps."""
    r = rule(op, *combo)
    compute = r.compute
    assert compute is not None
    cx, cy, trap = _operands(fl, r, combo, x, y)
    if op in npdivpow.OPS:
        return npdivpow.lower(fl, op, compute, cx, cy, trap=trap)
    if compute.is_float:
        return _float_op(fl, op, cx, cy, trap)
    if compute.is_bool:
        value, more = _bool_op(fl, op, cx, cy), ll.Constant(I1, 0)
    else:
        value, more = _int_op(fl, op, compute, cx, cy, checked=nps.Trap.OVERFLOW in r.traps)
    fl.bail_if(fl.b.or_(trap, more), Status.NUMPY, name="numpy_quiet")
    return value


def _wide(b: ll.IRBuilder, value: ll.Value, kind: VKind) -> ll.Value:
    """An integer operand as an exact i128 (a Python int, or an integer or bool kind)."""
    i128 = ll.IntType(128)
    if value.type == i128:
        return value
    if kind is VKind.INT or (kind in NP and NP[kind].sort is nps.Sort.SIGNED):
        return b.sext(value, i128)
    return b.zext(value, i128)


def lower_compare(fl: FunctionLowering, op: CmpOp, combo: tuple[VKind, VKind],
                  x: ll.Value, y: ll.Value) -> ll.Value:
    """``x op y`` with a numpy operand (a ``numpy.bool_``, as i1)."""
    b = fl.b
    r = rule(op, *combo)
    if r.compute is None:  # integers compared exactly
        return b.icmp_signed(op.value, _wide(b, x, combo[0]), _wide(b, y, combo[1]))
    cx, cy, trap = _operands(fl, r, combo, x, y)
    fl.bail_if(trap, Status.NUMPY, name="numpy_quiet")
    if r.compute.is_float:
        if op is CmpOp.NE:
            return b.fcmp_unordered("!=", cx, cy)
        return b.fcmp_ordered(op.value, cx, cy)
    signed = r.compute.sort is nps.Sort.SIGNED or r.compute.is_bool
    return (b.icmp_signed if signed else b.icmp_unsigned)(op.value, cx, cy)


def lower_unary(fl: FunctionLowering, op: UnOp, kind: VKind, x: ll.Value) -> ll.Value:
    b = fl.b
    k = NP[kind]
    if op is UnOp.POS:
        return x
    if k.is_float:
        return b.fneg(x)
    if op is UnOp.INVERT:
        return b.not_(x)
    zero = ll.Constant(x.type, 0)
    wraps = (b.icmp_signed("==", x, ll.Constant(x.type, k.min)) if k.sort is nps.Sort.SIGNED
             else b.icmp_unsigned("!=", x, zero))
    fl.bail_if(wraps, Status.NUMPY, name="numpy_quiet")
    return b.sub(zero, x)


def lower_abs(fl: FunctionLowering, kind: VKind, x: ll.Value) -> ll.Value:
    b = fl.b
    k = NP[kind]
    if k.is_float:
        return b.call(fl.ml.module.declare_intrinsic("llvm.fabs", [x.type]), [x])
    if k.sort is not nps.Sort.SIGNED:
        return x
    fl.bail_if(b.icmp_signed("==", x, ll.Constant(x.type, k.min)), Status.NUMPY,
               name="numpy_quiet")
    return b.select(b.icmp_signed("<", x, ll.Constant(x.type, 0)),
                    b.sub(ll.Constant(x.type, 0), x), x)


def truth(fl: FunctionLowering, kind: VKind, x: ll.Value) -> ll.Value:
    """``bool(x)``: nonzero (a nan is true)."""
    if NP[kind].is_float:
        return fl.b.fcmp_unordered("!=", x, ll.Constant(x.type, 0.0))
    if x.type == I1:
        return x
    return fl.b.icmp_unsigned("!=", x, ll.Constant(x.type, 0))


def as_double(fl: FunctionLowering, kind: VKind, x: ll.Value) -> ll.Value:
    """``float(x)``: a float32 widened, an integer rounded to nearest."""
    k = NP[kind]
    b = fl.b
    if k.is_float:
        return x if x.type == F64 else b.fpext(x, F64)
    if k.sort is nps.Sort.SIGNED:
        return b.sitofp(x, F64)
    return b.uitofp(x, F64)


def as_int(fl: FunctionLowering, kind: VKind, x: ll.Value) -> ll.Value:
    """``int(x)`` as the function's int type: a float truncated (a nan, an infinity or a
    value past int64 deoptimises: CPython raises or makes a big int), a uint64 past
    int64 deoptimises."""
    k = NP[kind]
    b = fl.b
    if k.is_float:
        found = deferred.catch_operand(fl, x)  # a pending producer of x: not finite,
        d = as_double(fl, kind, x)  # so the bailout below tests it first
        inside = b.and_(b.fcmp_ordered(">=", d, ll.Constant(F64, -(2.0**63))),
                        b.fcmp_ordered("<", d, ll.Constant(F64, 2.0**63)))
        fl.bail_if(b.not_(inside), Status.NUMPY, name="int_ok")
        deferred.caught(fl, found)
        return fl.widen(b.fptosi(d, I64))
    if k.bits == 64 and k.sort is nps.Sort.UNSIGNED:
        fl.bail_if(b.icmp_signed("<", x, ll.Constant(I64, 0)), Status.NUMPY, name="int_ok")
        return fl.widen(x)
    wide = b.sext(x, fl.ints) if k.sort is nps.Sort.SIGNED else b.zext(x, fl.ints)
    return wide if x.type != fl.ints else x


# ------------------------------------------------------------------ boxing

TP_ALLOC = compat.TYPE_TP_ALLOC


def box_or_null(fl: FunctionLowering, lv: LV, kind: VKind) -> ll.Value:
    """A new ``numpy.<kind>`` object holding ``lv``, or NULL with a MemoryError set: the
    type's own ``tp_alloc`` (read from the type now: numpy's types are static), the
    value written at the probed offset."""
    from autotier.dispatch.arrays import layout

    b = fl.b
    t = NP[kind].type
    alloc_address = ctypes.c_void_p.from_address(id(t) + TP_ALLOC).value
    assert alloc_address, "numpy scalar types have a tp_alloc"
    fnty = ll.FunctionType(PTR, [PTR, I64])
    alloc = b.inttoptr(ll.Constant(I64, alloc_address), fnty.as_pointer())
    obj = b.call(alloc, [ll.Constant(I64, id(t)).inttoptr(PTR), ll.Constant(I64, 0)])
    made, done = fl.block("np_allocated"), fl.block("np_boxed")
    entry = b.block
    b.cbranch(b.icmp_unsigned("==", obj, ll.Constant(PTR, None)), done, made)
    b.position_at_end(made)
    (value,) = lv
    slot = b.bitcast(b.gep(obj, [ll.Constant(I64, layout().value)], inbounds=True),
                     (ll.IntType(8) if value.type == I1 else value.type).as_pointer())
    b.store(b.zext(value, ll.IntType(8)) if value.type == I1 else value, slot)
    b.branch(done)
    b.position_at_end(done)
    out = b.phi(PTR, name="np_box")
    out.add_incoming(ll.Constant(PTR, None), entry)
    out.add_incoming(obj, made)
    return out


def box(fl: FunctionLowering, lv: LV, kind: VKind) -> ll.Value:
    """:func:`box_or_null`; a MemoryError leaves with ``Status.SIGNAL``."""
    obj = box_or_null(fl, lv, kind)
    fl.bail_if(fl.b.icmp_unsigned("==", obj, ll.Constant(PTR, None)), Status.SIGNAL,
               name="boxed")
    return obj


def boxed(fl: FunctionLowering, lv: LV, kinds: Kinds,
          boxable: Kinds = NP_SCALARS | {VKind.COMPLEX}) -> tuple[LV, Kinds]:
    """A result of ``kinds`` with those of ``boxable`` (numpy scalars, complex numbers)
    boxed (``VKind.OBJECT``: new references), the other kinds as they are."""
    from autotier.frontend import cvalues

    def box_one(lv: LV, kind: VKind) -> ll.Value:
        return cvalues.box(fl, lv[0]) if kind is VKind.COMPLEX else box(fl, lv, kind)

    b = fl.b
    out = (kinds - boxable) | {VKind.OBJECT}
    if not is_tagged(kinds):
        (kind,) = kinds
        return (box_one(lv, kind),), out
    done = fl.block("boxed_result")
    arrived: list[tuple[LV, ll.Block]] = []
    cases = sorted(kinds & boxable)
    targets = [fl.block(f"box_{k.name.lower()}") for k in cases]
    keep = fl.block("unboxed_result")
    switch = b.switch(lv[0], keep)
    for k, target in zip(cases, targets, strict=True):
        switch.add_case(ll.Constant(I64, k), target)
        b.position_at_end(target)
        obj = box_one(untag(b, lv, k), k)
        arrived.append((tag(b, (obj,), VKind.OBJECT, fl.ints), b.block))
        b.branch(done)
    b.position_at_end(keep)
    arrived.append((lv, keep))
    b.branch(done)
    b.position_at_end(done)
    phis = tuple(b.phi(v.type) for v in lv)
    for values, block in arrived:
        for phi, value in zip(phis, values, strict=True):
            phi.add_incoming(value, block)
    if not is_tagged(out):
        return untag(b, phis, VKind.OBJECT), out
    return phis, out


def unbox(fl: FunctionLowering, obj: ll.Value, kinds: Kinds) -> tuple[ll.Value, LV]:
    """(i1: ``obj`` is an exact numpy scalar or Python int (within int64) of ``kinds``,
    its value held as ``kinds``): a result CPython's ``sum``/``min``/``max`` of an
    array gave.  Only ``{numpy kind}`` and ``{int, numpy kind}`` are asked for."""
    from autotier.dispatch import unboxing
    from autotier.dispatch.arrays import layout

    b = fl.b
    (np_kind,) = kinds & NP_SCALARS
    assert kinds - NP_SCALARS <= {VKind.INT}
    t = machine_type(np_kind)
    done, fail = fl.block("unboxed"), fl.block("not_unboxed")
    yes = fl.block(f"is_{np_kind.name.lower()}")
    arrived: list[tuple[ll.Block, ll.Value, LV]] = []
    not_np = fl.block("not_numpy")
    b.cbranch(unboxing.type_is(b, obj, NP[np_kind].type), yes, not_np)
    b.position_at_end(yes)
    slot = b.gep(obj, [ll.Constant(I64, layout().value)], inbounds=True)
    if t == I1:
        value = b.icmp_unsigned("!=", b.load(slot), ll.Constant(ll.IntType(8), 0))
    else:
        value = b.load(b.bitcast(slot, t.as_pointer()))
    single = not is_tagged(kinds)
    arrived.append((b.block, ll.Constant(I1, 1),
                    (value,) if single else tag(b, (value,), np_kind, fl.ints)))
    b.branch(done)
    b.position_at_end(not_np)
    if VKind.INT in kinds:
        is_int = fl.block("is_int")
        b.cbranch(unboxing.type_is(b, obj, int), is_int, fail)
        b.position_at_end(is_int)
        ival = unboxing.unbox_int(b, obj, fail, fl.out_slot(ll.IntType(32)))
        arrived.append((b.block, ll.Constant(I1, 1),
                        tag(b, (fl.widen(ival),), VKind.INT, fl.ints)))
        b.branch(done)
    else:
        b.branch(fail)
    b.position_at_end(fail)
    zero = arrived[0][2]
    arrived.append((fail, ll.Constant(I1, 0),
                    tuple(ll.Constant(v.type, ll.Undefined) for v in zero)))
    b.branch(done)
    b.position_at_end(done)
    took = b.phi(I1)
    phis = tuple(b.phi(v.type) for v in zero)
    for block, flag, lv in arrived:
        took.add_incoming(flag, block)
        for phi, v in zip(phis, lv, strict=True):
            phi.add_incoming(v, block)
    return took, phis
