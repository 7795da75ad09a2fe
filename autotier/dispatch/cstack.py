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

- a process-wide table of :data:`SLOTS` slots (owner, floor, span, lowest address),
  indexed by a hash of the thread pointer (``%fs:0``, which the x86-64 TLS ABI makes
  the thread's own control block address).  The check reads it inline: the thread
  pointer, one slot, ``sp >= floor`` (one compare, no call: the span is not read).
  Below the floor, a stack pointer still at or above the lowest address is refused;
  one outside the thread's stack (code that switched to a stack of its own, as
  coroutine libraries do with ``swapcontext``: above the floor, or below the lowest
  address) is not checked, and its native frame budget is bounded by the cap alone.
  Only threads holding the GIL fill slots, so two writers never race; a thread's
  exit (the pthread key's destructor, run on that thread) clears the owner of its
  own slot, so a later thread reusing its control block (perhaps with a differently
  sized stack) never reads its bounds.  A fork's child clears the table.
- behind it, the thread's record (floor, span, lowest address), malloc'd, as the value
  of a pthread key (NULL in a new thread, freed by the destructor): a slot another
  thread took costs a ``pthread_getspecific`` call, not a recomputation.
- computed once per thread with ``pthread_getattr_np`` (its stack's bounds).  Where
  the bounds cannot be had, a static record that checks nothing.

The entry also bounds a native body's frame budget by the stack left above the floor,
at :data:`NATIVE_FRAME_BYTES` a frame (generated recursive frames measure 16 to 100
bytes; the estimate leaves room for bodies with many values live across a call).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

from llvmlite import ir

from autotier.dispatch.irutil import I32, I64, PTR, declare
from autotier.jit import engine

MAX_MARGIN = 64 * 1024  # bytes kept free below the last decorated call
MARGIN_SHARE = 8  # ... or 1/8 of a smaller stack (threading.stack_size(32 KiB) works)
NATIVE_FRAME_BYTES = 512  # estimate of one native body frame, for the frame budget
MESSAGE = "maximum recursion depth exceeded"
SLOTS = 256  # slots of the table
_SLOT_SHIFT = 12  # thread control blocks are at least a page apart
# fill() saves every register it uses: a caller keeps its values in registers across
# the (cold) call, so the check costs the fast path no spills
FILL_CCONV = "preserve_mostcc"
_FILL = "__autotier_cstack_fill"  # void (i64 tp): fill the thread's slot
_FORGET = "__autotier_cstack_forget"  # the key's destructor: a thread ends
_TABLE = "__autotier_cstack_table"
_KEY = "__autotier_cstack_key"
_PTHREAD_ATTR_BYTES = 64  # sizeof(pthread_attr_t) is 56 on x86-64 glibc
# the C library's functions the floor computation calls, as registered with LLVM
_LIBC = ("pthread_getspecific", "pthread_setspecific", "pthread_self",
         "pthread_getattr_np", "pthread_attr_getstack", "pthread_attr_destroy", "malloc",
         "free")
# A slot: the owner's thread pointer (0: free), then its stack as the key's record holds
# it: the floor, span (top - floor) and lowest address.  Unknown bounds: 1, 2**64-1, 0.
SLOT_WORDS = 4
_OWNER, _FLOOR, _SPAN, _LOW = range(SLOT_WORDS)
_RECORD = 3  # words of the key's record (floor, span, low)
_SLOT = ir.ArrayType(I64, SLOT_WORDS)
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
            compiled = engine.compile_ir_modules([_floor_ir()], [_FILL, _FORGET],
                                                 globals_=[_TABLE, _KEY])
            key = ctypes.c_void_p(compiled.globals[_KEY])
            forget = ctypes.c_void_p(compiled.addresses[_FORGET])
            if libc.pthread_key_create(key, forget) != 0:
                raise RuntimeError("autotier: no pthread key for the C stack check")
            engine.register_symbol(_FILL, compiled.addresses[_FILL])
            table = compiled.globals[_TABLE]
            os.register_at_fork(after_in_child=lambda: ctypes.memset(
                table, 0, SLOTS * 8 * SLOT_WORDS))
            _table = table
    return _table


def _slot(b: ir.IRBuilder, table: ir.Value, tp: ir.Value) -> list[ir.Value]:
    """Pointers to the words of ``tp``'s slot."""
    index = b.and_(b.lshr(tp, ir.Constant(I64, _SLOT_SHIFT)), ir.Constant(I64, SLOTS - 1))
    slot = b.gep(table, [ir.Constant(I64, 0), index], inbounds=True)
    return [b.gep(slot, [ir.Constant(I32, 0), ir.Constant(I32, i)], inbounds=True)
            for i in range(SLOT_WORDS)]


def _thread_pointer(b: ir.IRBuilder) -> ir.Value:
    return b.load(ir.Constant(I64, 0).inttoptr(_FS), name="tp")


def _table_ref(table: int) -> ir.Constant:
    return ir.Constant(I64, table).inttoptr(ir.ArrayType(_SLOT, SLOTS).as_pointer())


def _floor_ir() -> str:
    """The floor module: the table, the key, ``fill(tp)`` and the key's destructor."""
    module = ir.Module(name="autotier_cstack")
    table = ir.GlobalVariable(module, ir.ArrayType(_SLOT, SLOTS), _TABLE)
    table.initializer = ir.Constant(table.value_type, None)
    table.align = 16
    key_var = ir.GlobalVariable(module, I32, _KEY)
    key_var.initializer = ir.Constant(I32, 0)
    free = declare(module, libc_symbol("free"), ir.VoidType(), [PTR])

    # void forget(void *record): the thread ends; free its slot if it holds one
    forget = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), _FORGET)
    b = ir.IRBuilder(forget.append_basic_block("entry"))
    tp = _thread_pointer(b)
    owner = _slot(b, table, tp)[_OWNER]
    mine = b.icmp_unsigned("==", b.load_atomic(owner, "monotonic", 8), tp)
    with b.if_then(mine):
        b.store_atomic(ir.Constant(I64, 0), owner, "monotonic", 8)
    b.call(free, [forget.args[0]])
    b.ret_void()

    # void fill(i64 tp): this thread's record, from its key or computed, into its slot
    fill = ir.Function(module, ir.FunctionType(ir.VoidType(), [I64]), _FILL)
    fill.attributes.add("noinline")
    fill.attributes.add("cold")
    fill.calling_convention = FILL_CCONV
    b = ir.IRBuilder(fill.append_basic_block("entry"))
    key = b.load(key_var, name="key")
    get = declare(module, libc_symbol("pthread_getspecific"), PTR, [I32])
    known = b.bitcast(b.call(get, [key]), I64.as_pointer())
    start = b.block
    with b.if_then(b.icmp_unsigned("==", known, ir.Constant(I64.as_pointer(), None))):
        computed = _compute_record(b, module, key)
        computing = b.block
    record = b.phi(I64.as_pointer(), name="record")
    record.add_incoming(known, start)
    record.add_incoming(computed, computing)
    words = _slot(b, table, fill.args[0])
    for i, word in zip((_FLOOR, _SPAN, _LOW), range(_RECORD), strict=True):
        b.store(b.load(b.gep(record, [ir.Constant(I64, word)])), words[i])
    # the stack's words first: a reader matches the owner word, then reads them
    b.store_atomic(fill.args[0], words[_OWNER], "monotonic", 8)
    b.ret_void()
    return str(module)


def _compute_record(b: ir.IRBuilder, module: ir.Module, key: ir.Value) -> ir.Value:
    """A new record (floor, span, low) of this thread's stack, made the key's value:
    the floor is the lowest address plus the margin.  Unknown bounds, or no memory for
    the record: a static record that checks nothing (and is not the key's value)."""
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
    bottom = b.ptrtoint(b.load(low), I64, name="bottom")
    nbytes = b.load(size)
    share = b.udiv(nbytes, ir.Constant(I64, MARGIN_SHARE))
    keep = b.select(b.icmp_unsigned("<", share, ir.Constant(I64, MAX_MARGIN)), share,
                    ir.Constant(I64, MAX_MARGIN))
    floor = b.add(bottom, keep, name="floor")
    malloc = declare(module, libc_symbol("malloc"), PTR, [I64])
    fresh = b.bitcast(b.call(malloc, [ir.Constant(I64, 8 * _RECORD)]), I64.as_pointer())
    unchecked = ir.GlobalVariable(module, ir.ArrayType(I64, _RECORD), "unchecked")
    unchecked.initializer = ir.Constant(ir.ArrayType(I64, _RECORD), [1, 2**64 - 1, 0])
    unchecked.global_constant = True
    unchecked.linkage = "internal"
    known = b.and_(b.icmp_unsigned("!=", bottom, ir.Constant(I64, 0)),
                   b.icmp_unsigned("!=", nbytes, ir.Constant(I64, 0)))
    usable = b.and_(known, b.icmp_unsigned("!=", fresh, ir.Constant(I64.as_pointer(), None)))
    start = b.block
    with b.if_then(usable, likely=True):
        for word, value in enumerate((floor, b.sub(b.add(bottom, nbytes), floor), bottom)):
            b.store(value, b.gep(fresh, [ir.Constant(I64, word)]))
        put = declare(module, libc_symbol("pthread_setspecific"), I32, [I32, PTR])
        b.call(put, [key, b.bitcast(fresh, PTR)])
        made = b.block
    record = b.phi(I64.as_pointer(), name="new_record")
    record.add_incoming(fresh, made)
    record.add_incoming(unchecked.bitcast(I64.as_pointer()), start)
    with b.if_then(b.and_(b.not_(usable), b.icmp_unsigned(
            "!=", fresh, ir.Constant(I64.as_pointer(), None)))):
        b.call(declare(module, libc_symbol("free"), ir.VoidType(), [PTR]),
               [b.bitcast(fresh, PTR)])
    return record


def emit_check(b: ir.IRBuilder, module: ir.Module, refuse: Callable[[], None]
               ) -> tuple[ir.Value, ir.Value]:
    """Emit the check: ``refuse()`` (which must end its block) when the stack pointer is
    below this thread's floor on this thread's stack.  A stack pointer outside the
    thread's stack (code that switched stacks) is not checked.  Returns the stack
    pointer and the floor the frame budget may use (1 outside the thread's stack)."""
    tp = _thread_pointer(b)
    words = _slot(b, _table_ref(table_address()), tp)
    with b.if_then(b.icmp_unsigned("!=", b.load_atomic(words[_OWNER], "monotonic", 8), tp),
                   likely=False):
        fill = declare(module, _FILL, ir.VoidType(), [I64])
        fill.calling_convention = FILL_CCONV
        b.call(fill, [tp], cconv=FILL_CCONV)
    floor = b.load(words[_FLOOR], name="cstack_floor")
    sp = emit_stack_pointer(b, module)
    # one compare on the fast path: at or above the floor is fine (on this thread's
    # stack, or above it on a stack of its own, whose budget only the cap bounds:
    # (sp - floor) / frame exceeds it); below it, refuse unless below the stack too
    start = b.block
    with b.if_then(b.icmp_unsigned("<", sp, floor), likely=False):
        with b.if_then(b.icmp_unsigned(">=", sp, b.load(words[_LOW])), likely=False):
            refuse()
        elsewhere = b.block
    budget_floor = b.phi(I64, name="budget_floor")
    budget_floor.add_incoming(floor, start)
    budget_floor.add_incoming(ir.Constant(I64, 1), elsewhere)
    return sp, budget_floor


def emit_quick_check(b: ir.IRBuilder, module: ir.Module) -> ir.Value:
    """i1: this thread's slot is filled and the stack pointer is at or above its floor,
    so the call may go on (no call, nothing written).  False says only "ask
    :func:`emit_check`": the slot may need filling, or the pointer may be on a stack
    of its own."""
    tp = _thread_pointer(b)
    words = _slot(b, _table_ref(table_address()), tp)
    mine = b.icmp_unsigned("==", b.load_atomic(words[_OWNER], "monotonic", 8), tp)
    above = b.icmp_unsigned(">=", emit_stack_pointer(b, module), b.load(words[_FLOOR]))
    return b.and_(mine, above, name="stack_ok")


def emit_stack_pointer(b: ir.IRBuilder, module: ir.Module) -> ir.Value:
    """The stack pointer, as an integer (the stack grows down)."""
    read = declare(module, "llvm.read_register.i64", I64, [ir.MetaDataType()])
    rsp = module.add_metadata([ir.MetaDataString(module, "rsp")])
    return b.call(read, [rsp], name="sp")
