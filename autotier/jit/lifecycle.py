"""What interpreter exit and ``os.fork()`` do to LLVM (the API wires both in).

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

Fork.  A thread holding a lock at ``fork()`` is not in the child, so the lock is held
there for good; a thread inside LLVM leaves LLVM's state (and llvmlite's own lock,
taken around every C call) half-changed in the child.  :func:`before_fork` takes the
LLVM lock and llvmlite's (waiting at most ``FORK_WAIT`` for a compile inside LLVM to
finish), :func:`after_fork_parent` gives them back, :func:`after_fork_child` gives
the child fresh locks.  If LLVM stayed busy past ``FORK_WAIT``, the child refuses
LLVM (``LLVMUnavailable``, a reason on the bead, never a hang; code compiled before
the fork keeps running) and ends like step 3 of exit (LLVM's static state is not to
be trusted there).
"""

from __future__ import annotations

import ctypes
import threading
import time

from llvmlite.binding import ffi

from autotier.jit import engine

EXIT_WAIT = 1.0  # seconds exit waits for a compile inside LLVM
FORK_WAIT = 5.0  # seconds fork waits for a compile inside LLVM
UNAVAILABLE_AFTER_FORK = ("LLVM was busy in another thread when this process forked; "
                          "it cannot be used in this process")

_RLOCK = type(threading.RLock())
_held_at_fork: list[threading.RLock] = []
_exit_handler_registered = False


def _inner_lock(holder: object) -> threading.RLock | None:
    inner = getattr(holder, "_lock", None)
    return inner if isinstance(inner, _RLOCK) else None


def _fork_locks() -> list[threading.RLock]:
    """Who holds LLVM, in the order compiles take them: ours (``engine._LOCK``),
    numba's compiler lock (when numba is loaded), llvmlite's lock around every C call
    (``llvmlite.binding.ffi``)."""
    locks = [engine._LOCK, _inner_lock(engine._numba_lock()), _inner_lock(ffi.lib._lock)]
    return [lock for lock in locks if lock is not None]


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


def before_fork() -> None:
    """Hold LLVM across fork (every lock of :func:`_fork_locks`), waiting at most
    FORK_WAIT in all for a compile inside LLVM to finish."""
    _held_at_fork.clear()
    deadline = time.monotonic() + FORK_WAIT
    for lock in _fork_locks():
        if not lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            break
        _held_at_fork.append(lock)


def after_fork_parent() -> None:
    for lock in reversed(_held_at_fork):
        lock.release()
    _held_at_fork.clear()


def after_fork_child() -> None:
    """Fresh locks (a thread that held one is not in the child); LLVM refused if a
    thread was inside it when the process forked."""
    busy = len(_held_at_fork) < len(_fork_locks())
    _held_at_fork.clear()
    engine._LOCK = threading.RLock()
    for holder in (engine._numba_lock(), ffi.lib._lock):
        if _inner_lock(holder) is not None:
            setattr(holder, "_lock", threading.RLock())  # noqa: B010 - private: see above
    if busy:
        engine._UNAVAILABLE = UNAVAILABLE_AFTER_FORK
