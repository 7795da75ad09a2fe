"""What interpreter exit does to LLVM (the API wires it in).

Exit.  A compile on the broker (a daemon thread) may be inside a long LLVM call
(optimisation, code generation: C code, the GIL released, not interruptible) when the
interpreter exits.  CPython finalises with that thread still inside LLVM, then the C
library's ``exit()`` runs LLVM's static destructors (its global context among them)
under it: SIGSEGV or SIGABRT, in every run that exited during the LLVM stage of an
800-statement function.  :func:`at_exit`, run by ``atexit`` once the brokers have
closed:

1. refuses LLVM to every other thread from now on (``compile_lock`` raises
   ``Cancelled``: a compile still in the frontend is abandoned before LLVM runs);
2. waits at most ``EXIT_WAIT`` (1 s) for the LLVM lock and, once it has it, keeps it:
   no thread can be inside LLVM while the process finalises, and exit runs as usual;
3. otherwise a thread is still inside LLVM: it registers, with ``on_exit(3)``, the
   engine's native exit handler, which runs once CPython has finalised (every
   ``atexit`` handler run, Python's streams flushed, objects finalised), flushes the
   C streams and ends the process with its exit status (``_exit``), before LLVM's
   static destructors could run under that thread.  Only C-level exit work
   registered before LLVM's own is skipped with them.
"""

from __future__ import annotations

import ctypes
import threading

from autotier.jit import engine

EXIT_WAIT = 1.0  # seconds exit waits for a compile inside LLVM

_exit_handler_registered = False


def at_exit() -> None:
    """At interpreter exit: never crash, never wait more than EXIT_WAIT for LLVM."""
    engine._EXITING_THREAD = threading.get_ident()
    # In a child forked while LLVM was busy, LLVM's static state is not to be trusted;
    # otherwise the lock, once taken, is kept: no thread can be inside LLVM any more.
    if engine._UNAVAILABLE is not None or not engine._LOCK.acquire(timeout=EXIT_WAIT):
        _end_before_static_destructors()


def _end_before_static_destructors() -> None:
    """Make the C library end the process, after CPython's finalisation, with its exit
    status, before LLVM's static destructors run (see the module docstring)."""
    global _exit_handler_registered
    address = engine.exit_handler_address
    if _exit_handler_registered or not address:
        return
    # The handler is JIT code owned by the engine: the engine must outlive
    # finalisation (llvmlite already skips disposal then; this does not rely on it).
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(engine._ENGINE))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.on_exit.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    if libc.on_exit(address, None) == 0:
        _exit_handler_registered = True

