"""How much C stack a decorated call may still use: the check that turns a C stack
overflow into ``RecursionError``.

In CPython 3.11 a pure-Python recursion costs no C stack per call (the eval loop runs
the callee's frame in place), but every call of a hot function is a C call: the
trampoline or the entry vectorcalls the original function, which starts a new eval
loop on the C stack (about 430 bytes a level).  Under a raised recursion limit
(``sys.setrecursionlimit(10**6)``), or in a thread with a small stack
(``threading.stack_size(256 * 1024)``), a recursion CPython completes would run off the
end of the stack and crash.  So the trampoline and every entry first compare the stack
pointer with a per-thread *floor*, the stack's lowest address plus a margin; below it
the call raises ``RecursionError("maximum recursion depth exceeded")``, the message
CPython 3.12 gives when a C call re-entering the eval loop runs out of C recursion
(``_Py_EnterRecursiveCallTstate(tstate, "")``), which is also 3.11's for the Python
limit.  The margin (:data:`MAX_MARGIN`, or an eighth of a smaller stack) is left for
what runs after the check: the interpreter's own frames for the call, the bead's
bookkeeping, the C library, raising and unwinding the exception.

Where the floor is kept (MCJIT cannot allocate ``thread_local`` globals):

- a process-wide table of :data:`SLOTS` (thread pointer, floor) pairs, indexed by a
  hash of the thread pointer (``%fs:0``, which the x86-64 TLS ABI makes the thread's
  own control block address).  The check reads it inline: the thread pointer, one
  slot, two compares, no call.  Only threads holding the GIL fill slots, so two
  writers never race; a thread's exit (a pthread key destructor, run on that thread)
  clears the key of its own slot, so a later thread reusing its control block (and
  perhaps a differently sized stack) never sees its floor.  A fork's child clears the
  table.
- behind it, the value of a pthread key (per thread, NULL in a new thread): a slot
  taken by another thread costs a ``pthread_getspecific`` call, not a recomputation.
- computed once per thread with ``pthread_getattr_np`` (its stack's bounds).  Where
  the bounds cannot be had, the floor is 1: no check.

The entry also bounds a native body's frame budget by the stack left above the floor,
at :data:`NATIVE_FRAME_BYTES` a frame (generated recursive frames measure 16 to 100
bytes; the estimate leaves room for bodies with many values live across a call).
"""

from __future__ import annotations

import ctypes
import os

from llvmlite import ir

from autotier.dispatch.irutil import I32, I64, PTR, declare
from autotier.jit import engine

MAX_MARGIN = 64 * 1024  # bytes kept free below the last decorated call
MARGIN_SHARE = 8  # ... or 1/8 of a smaller stack (threading.stack_size(32 KiB) works)
NATIVE_FRAME_BYTES = 512  # estimate of one native body frame, for the frame budget
MESSAGE = "maximum recursion depth exceeded"
SLOTS = 256  # (thread pointer, floor) pairs in the table
_SLOT_SHIFT = 12  # thread control blocks are at least a page apart
FLOOR_SYMBOL = "__autotier_cstack_floor"  # i64 (i64 tp): compute, fill the slot
_FORGET = "__autotier_cstack_forget"  # the key's destructor: a thread ends
_TABLE = "__autotier_cstack_table"
_KEY = "__autotier_cstack_key"
_PTHREAD_ATTR_BYTES = 64  # sizeof(pthread_attr_t) is 56 on x86-64 glibc
# the C library's functions the floor computation calls, as registered with LLVM
_LIBC = ("pthread_getspecific", "pthread_setspecific", "pthread_self",
         "pthread_getattr_np", "pthread_attr_getstack", "pthread_attr_destroy")
_SLOT = ir.ArrayType(I64, 2)  # thread pointer (0: free), floor
_FS = I64.as_pointer(addrspace=257)  # x86-64: address space 257 is %fs-relative

_table: int | None = None


def libc_symbol(name: str) -> str:
    return f"__autotier_{name}"


def table_address() -> int:
    """The table's address; compiles the floor module on first use (once a process)."""
    global _table
    if _table is not None:
        return _table
    with engine.compile_lock():  # the lock every compile takes first: no new order
        if _table is None:
            libc = ctypes.CDLL(None)
            for name in _LIBC:
                address = ctypes.cast(getattr(libc, name), ctypes.c_void_p).value
                assert address is not None
                engine.register_symbol(libc_symbol(name), address)
            compiled = engine.compile_ir_modules([_floor_ir()], [FLOOR_SYMBOL, _FORGET],
                                                 globals_=[_TABLE, _KEY])
            key = ctypes.c_void_p(compiled.globals[_KEY])
            forget = ctypes.c_void_p(compiled.addresses[_FORGET])
            if libc.pthread_key_create(key, forget) != 0:
                raise RuntimeError("autotier: no pthread key for the C stack check")
            engine.register_symbol(FLOOR_SYMBOL, compiled.addresses[FLOOR_SYMBOL])
            table = compiled.globals[_TABLE]
            os.register_at_fork(after_in_child=lambda: ctypes.memset(
                table, 0, SLOTS * 16))
            _table = table
    return _table


def _slot(b: ir.IRBuilder, table: ir.Value, tp: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Pointers to the thread pointer and floor words of ``tp``'s slot."""
    index = b.and_(b.lshr(tp, ir.Constant(I64, _SLOT_SHIFT)), ir.Constant(I64, SLOTS - 1))
    slot = b.gep(table, [ir.Constant(I64, 0), index], inbounds=True)
    return (b.gep(slot, [ir.Constant(I32, 0), ir.Constant(I32, 0)], inbounds=True),
            b.gep(slot, [ir.Constant(I32, 0), ir.Constant(I32, 1)], inbounds=True))


def _thread_pointer(b: ir.IRBuilder) -> ir.Value:
    return b.load(ir.Constant(I64, 0).inttoptr(_FS), name="tp")


def _floor_ir() -> str:
    """The floor module: the table, the key, ``floor(tp)`` and the key's destructor."""
    module = ir.Module(name="autotier_cstack")
    table = ir.GlobalVariable(module, ir.ArrayType(_SLOT, SLOTS), _TABLE)
    table.initializer = ir.Constant(table.value_type, None)
    table.align = 16
    key_var = ir.GlobalVariable(module, I32, _KEY)
    key_var.initializer = ir.Constant(I32, 0)

    # void forget(void *value): the thread ends; free its slot if it holds one
    forget = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), _FORGET)
    b = ir.IRBuilder(forget.append_basic_block("entry"))
    tp = _thread_pointer(b)
    owner, _ = _slot(b, table, tp)
    mine = b.icmp_unsigned("==", b.load_atomic(owner, "monotonic", 8), tp)
    with b.if_then(mine):
        b.store_atomic(ir.Constant(I64, 0), owner, "monotonic", 8)
    b.ret_void()

    # i64 floor(i64 tp): this thread's floor, from its key or computed; fills the slot
    fn = ir.Function(module, ir.FunctionType(I64, [I64]), FLOOR_SYMBOL)
    fn.attributes.add("noinline")
    fn.attributes.add("cold")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    key = b.load(key_var, name="key")
    get = declare(module, libc_symbol("pthread_getspecific"), PTR, [I32])
    known = b.ptrtoint(b.call(get, [key]), I64)
    start = b.block
    with b.if_then(b.icmp_unsigned("==", known, ir.Constant(I64, 0))):
        computed = _compute_floor(b, module, key)
        computing = b.block
    floor = b.phi(I64, name="floor")
    floor.add_incoming(known, start)
    floor.add_incoming(computed, computing)
    owner, value = _slot(b, table, fn.args[0])
    b.store(floor, value)  # the floor first: a reader matches the owner word
    b.store_atomic(fn.args[0], owner, "monotonic", 8)
    b.ret(floor)
    return str(module)


def _compute_floor(b: ir.IRBuilder, module: ir.Module, key: ir.Value) -> ir.Value:
    """The stack's lowest address plus the margin (1 if unknown), stored in the key."""
    attr = b.alloca(ir.ArrayType(ir.IntType(8), _PTHREAD_ATTR_BYTES), name="attr")
    attr_p = b.bitcast(attr, PTR)
    low = b.alloca(PTR, name="low")
    size = b.alloca(I64, name="size")
    b.store(ir.Constant(PTR, None), low)
    b.store(ir.Constant(I64, 0), size)
    self_ = b.call(declare(module, libc_symbol("pthread_self"), I64, []), [])
    got = b.call(declare(module, libc_symbol("pthread_getattr_np"), I32, [I64, PTR]),
                 [self_, attr_p])
    with b.if_then(b.icmp_signed("==", got, ir.Constant(I32, 0))):
        stack = declare(module, libc_symbol("pthread_attr_getstack"), I32,
                        [PTR, PTR.as_pointer(), I64.as_pointer()])
        b.call(stack, [attr_p, low, size])
        destroy = declare(module, libc_symbol("pthread_attr_destroy"), I32, [PTR])
        b.call(destroy, [attr_p])
    bottom = b.ptrtoint(b.load(low), I64)
    nbytes = b.load(size)
    share = b.udiv(nbytes, ir.Constant(I64, MARGIN_SHARE))
    keep = b.select(b.icmp_unsigned("<", share, ir.Constant(I64, MAX_MARGIN)), share,
                    ir.Constant(I64, MAX_MARGIN))
    unknown = b.or_(b.icmp_unsigned("==", bottom, ir.Constant(I64, 0)),
                    b.icmp_unsigned("==", nbytes, ir.Constant(I64, 0)))
    floor = b.select(unknown, ir.Constant(I64, 1), b.add(bottom, keep), name="computed")
    put = declare(module, libc_symbol("pthread_setspecific"), I32, [I32, PTR])
    b.call(put, [key, b.inttoptr(floor, PTR)])
    return floor


def emit_floor(b: ir.IRBuilder, module: ir.Module) -> ir.Value:
    """This thread's floor: its slot of the table, or (rarely) the floor function."""
    table = ir.Constant(I64, table_address()).inttoptr(ir.ArrayType(_SLOT, SLOTS).as_pointer())
    tp = _thread_pointer(b)
    owner, value = _slot(b, table, tp)
    mine = b.icmp_unsigned("==", b.load_atomic(owner, "monotonic", 8), tp)
    with b.if_else(mine, likely=True) as (hit, miss):
        with hit:
            cached = b.load(value, name="cached_floor")
            hit_block = b.block
        with miss:
            computed = b.call(declare(module, FLOOR_SYMBOL, I64, [I64]), [tp])
            miss_block = b.block
    floor = b.phi(I64, name="cstack_floor")
    floor.add_incoming(cached, hit_block)
    floor.add_incoming(computed, miss_block)
    return floor


def emit_stack_pointer(b: ir.IRBuilder, module: ir.Module) -> ir.Value:
    """The stack pointer, as an integer (the stack grows down)."""
    read = declare(module, "llvm.read_register.i64", I64, [ir.MetaDataType()])
    rsp = module.add_metadata([ir.MetaDataString(module, "rsp")])
    return b.call(read, [rsp], name="sp")
