"""A background daemon thread that runs compile jobs from a bounded queue.

Callers never wait for it: ``submit`` either queues a job at once or answers False
(queue full), and the bead stays interpreted and retries later.  A job is any object
with ``run()`` and ``cancel()``; the broker runs each in turn, and an exception
escaping ``run()`` is logged and never kills the thread (jobs record their own
failures on the bead).

Two lanes: a job whose ``urgent`` attribute is true (an OSR entry's compile, which a
running loop waits for: ``CompileJob.urgent``) runs before every queued normal job;
each lane is FIFO.  A normal job running when an urgent one is queued is not
abandoned but set aside at its next stage boundary: a compile's stages call
``pacing.checkpoint()``, which calls :func:`between_stages`, and there, on the
broker's thread, the urgent jobs queued meanwhile run to their end, then the normal
job goes on (its bead's lock is not held there, nor LLVM's).  An urgent job is never
set aside (nor set aside twice: one level of jobs inside another at most).
:func:`inline_seconds` says how long this thread ran urgent jobs inside others (a
compile's time on its bead leaves them out).  numba's compile has one stage boundary,
after numba's own work (before its entry's LLVM), so urgent jobs wait for numba's.
``maxsize`` bounds the jobs queued in both lanes together (the running ones not
counted); a full queue refuses urgent jobs too.

Locks: ``_lock`` guards both lanes, ``_pending`` (jobs queued or running) and
``_closed``; two conditions share it: ``_cond`` (``_pending`` went down: what
``wait_idle`` waits for) and ``_ready`` (a job was queued or the broker closed: what
the thread waits for).  No lock is held while a job runs or is cancelled (a job takes
its bead's lock, and a bead submits holding its own: bead, then broker).
``_RUNNING`` (thread-local) is each broker thread's own: its broker, whether the job
it runs is urgent, the seconds it ran jobs inline.

At interpreter exit (``atexit``), ``shutdown(0)`` stops taking jobs, drops what is
still queued (calling each dropped job's ``cancel()``) and returns at once: a running
compile is abandoned (the API's exit hook, ``autotier.jit.lifecycle.at_exit``, runs
after every broker's and keeps LLVM from being finalised under it).  Called by hand,
``shutdown`` waits at most ``exit_timeout`` seconds for a running job.

Fork: ``before_fork``/``after_fork_parent``/``after_fork_child`` (wired in by the API)
hold every broker's locks across ``os.fork()`` and give each broker in the child
fresh lanes, locks and no thread (one is started by the next submit): the jobs
queued in the parent (in either lane) are cancelled there, and the running one has no
thread left.  The beads reset themselves (``registry.after_fork_child``).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from typing import Protocol

log = logging.getLogger("autotier")


class Job(Protocol):
    """What the broker runs.  A job may also have ``urgent`` (a bool attribute, read
    once at submit; absent: False): see the module docstring."""

    def run(self) -> None: ...

    def cancel(self) -> None: ...


class Broker:
    def __init__(self, maxsize: int = 256, exit_timeout: float = 1.0) -> None:
        self._maxsize = maxsize  # 0 or less: unbounded
        self._urgent: deque[Job] = deque()
        self._normal: deque[Job] = deque()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ready = threading.Condition(self._lock)
        self._pending = 0
        self._closed = False
        self._exit_timeout = exit_timeout
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.completed = 0
        self.crashed = 0
        _BROKERS.add(self)
        atexit.register(self.shutdown, 0.0)

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="autotier-broker", daemon=True
                )
                self._thread.start()

    def submit(self, job: Job) -> bool:
        """Queue ``job`` (in the urgent lane if ``job.urgent``); False when the broker
        is closed or the queue is full."""
        urgent = bool(getattr(job, "urgent", False))
        with self._lock:
            if self._closed:
                return False
            if 0 < self._maxsize <= len(self._urgent) + len(self._normal):
                return False
            (self._urgent if urgent else self._normal).append(job)
            self._pending += 1
            self._ready.notify()
        self._ensure_thread()
        return True

    def _next(self) -> tuple[Job, bool] | None:
        """The next job to run and whether it is urgent (urgent first), waiting for
        one; None once closed."""
        with self._lock:
            while not (self._closed or self._urgent or self._normal):
                self._ready.wait()
            if self._closed:  # shutdown took (and cancels) whatever is queued
                return None
            if self._urgent:
                return self._urgent.popleft(), True
            return self._normal.popleft(), False

    def _loop(self) -> None:
        _RUNNING.broker = self
        _RUNNING.inline = 0.0
        while True:
            found = self._next()
            if found is None:
                return
            job, _RUNNING.urgent = found
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            job.run()
        except Exception:  # a job bug must not kill the broker
            self.crashed += 1
            log.exception("autotier: compile job crashed")
        finally:
            with self._lock:
                self._pending -= 1
                self.completed += 1
                self._cond.notify_all()

    def _run_urgent(self) -> None:
        """Run the urgent jobs queued (on this broker's thread, between two stages of
        the normal job it runs), then return to it."""
        while True:
            with self._lock:
                if self._closed or not self._urgent:
                    return
                job = self._urgent.popleft()
            started = time.perf_counter()
            _RUNNING.urgent = True
            try:
                self._run(job)
            finally:
                _RUNNING.urgent = False
                _RUNNING.inline += time.perf_counter() - started

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running; False if ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return self._pending

    def queued(self) -> tuple[int, int]:
        """Jobs queued and not yet running: (urgent, normal)."""
        with self._lock:
            return len(self._urgent), len(self._normal)

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop taking jobs, drop queued ones, wait at most ``timeout`` (default
        ``exit_timeout``) seconds for a running one."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            dropped = [*self._urgent, *self._normal]
            self._urgent.clear()
            self._normal.clear()
            self._ready.notify_all()
        for job in dropped:
            try:
                job.cancel()
            finally:
                with self._lock:
                    self._pending -= 1
                    self._cond.notify_all()
        thread = self._thread
        wait = self._exit_timeout if timeout is None else timeout
        if (wait > 0 and thread is not None and thread.is_alive()
                and thread is not threading.current_thread()):
            thread.join(wait)

    # ------------------------------------------------------------ fork
    def _before_fork(self) -> None:
        self._start_lock.acquire()
        self._lock.acquire()

    def _after_fork_parent(self) -> None:
        self._lock.release()
        self._start_lock.release()

    def _after_fork_child(self) -> None:
        """Only the forking thread is left: fresh lanes and locks, no thread."""
        dropped = [*self._urgent, *self._normal]
        self._urgent = deque()
        self._normal = deque()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ready = threading.Condition(self._lock)
        self._start_lock = threading.Lock()
        self._thread = None
        self._pending = 0
        for job in dropped:
            job.cancel()


class _Running(threading.local):
    broker: Broker | None = None  # the broker whose thread this is
    urgent = False  # the job this thread runs is urgent
    inline = 0.0  # seconds this thread ran urgent jobs between another's stages


_RUNNING = _Running()


def between_stages() -> None:
    """A compile job's stage boundary (``pacing.checkpoint``; no lock held): on a
    broker's thread running a normal job, run the urgent jobs queued meanwhile."""
    running = _RUNNING
    broker = running.broker
    # (the lane read without the lock: one load under the GIL, rechecked under it)
    if broker is not None and not running.urgent and broker._urgent:
        broker._run_urgent()


def inline_seconds() -> float:
    """Seconds this thread has run urgent jobs inside other jobs (0 off a broker's
    thread): a job reads it before and after to leave them out of its own time."""
    return _RUNNING.inline


_BROKERS: weakref.WeakSet[Broker] = weakref.WeakSet()
_held_at_fork: list[Broker] = []


def before_fork() -> None:
    """Hold every broker's locks across ``os.fork()`` (after the beads' locks: a bead
    submits while holding its own)."""
    _held_at_fork[:] = list(_BROKERS)
    for broker in _held_at_fork:
        broker._before_fork()


def after_fork_parent() -> None:
    for broker in reversed(_held_at_fork):
        broker._after_fork_parent()
    _held_at_fork.clear()


def after_fork_child() -> None:
    _held_at_fork.clear()
    for broker in list(_BROKERS):
        broker._after_fork_child()
