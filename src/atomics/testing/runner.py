"""Running scenarios on real threads: a persistent worker pool and a tight common start.

A :class:`WorkerPool` keeps T daemon threads alive for a whole test run (creating a thread
per invocation would cost more than the operations under test). Each invocation:

1. the main thread hands every worker its operations and the fresh object, and all meet
   at the *arm* barrier;
2. each worker looks up its bound methods, counts itself ready and spins; the last worker
   to get ready flips one shared generation number and all start at once -- a spin start
   lines threads up within about a microsecond, where waking from a barrier spreads them
   over tens of microseconds, longer than the operations themselves. The main thread does
   not spin (it blocks on the *done* barrier), and when there are more workers than CPUs a
   spinning worker yields the CPU on every turn, so that the others can get ready;
3. each worker records, into its own preallocated lists (no shared lock while recording),
   ``perf_counter_ns`` before the call, the result or exception, ``perf_counter_ns`` after;
4. all meet at the *done* barrier, and the main thread collects the records.

Every wait has a timeout. When one expires (an operation deadlocked or never returned), the
stacks of all threads are dumped with :mod:`faulthandler`, the pool is marked broken, and
:class:`HarnessTimeout` is raised with the scenario. An exception that escapes the harness
inside a worker is captured and re-raised in the main thread as :class:`HarnessError`.

On GIL builds :func:`forced_switching` sets a tiny ``sys.setswitchinterval`` while
scenarios run, so that threads switch between bytecodes often enough to interleave;
the previous interval is restored afterwards.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from atomics import runtime
from atomics.testing.history import Call, OpRecord, Raised
from atomics.testing.scenario import Scenario

__all__ = [
    "HarnessError",
    "HarnessTimeout",
    "WorkerPool",
    "dump_all_stacks",
    "forced_switching",
    "run_invocation",
    "shared_pool",
]

GIL_SWITCH_INTERVAL = 1e-6  # seconds; the smallest useful value: switch at almost every check
_SPIN_CHECK = 2048  # spins between clock checks (and yields) while waiting for a flag


class HarnessError(RuntimeError):
    """Something failed in the harness itself (not an operation under test)."""


class HarnessTimeout(HarnessError):
    """An invocation did not finish in time: a hang or deadlock. The message holds every stack."""


def dump_all_stacks() -> str:
    """Every thread's current stack, as faulthandler prints it -- and, while the lock-order
    checker runs (:mod:`atomics.testing.lockcheck`), the locks each thread holds and the one
    it waits for."""
    from atomics.testing.lockcheck import describe_locks

    with tempfile.TemporaryFile("w+") as out:
        faulthandler.dump_traceback(out, all_threads=True)
        out.seek(0)
        return out.read() + describe_locks()


@contextlib.contextmanager
def forced_switching() -> Iterator[None]:
    """On a GIL build, switch threads every microsecond inside the block; restore afterwards.

    Does nothing when the GIL is disabled (threads already run in parallel).

    >>> import sys
    >>> before = sys.getswitchinterval()
    >>> with forced_switching():
    ...     pass
    >>> sys.getswitchinterval() == before
    True
    """
    if not runtime.gil_enabled():
        yield
        return
    previous = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


def _spin_until(predicate: Callable[[], bool], deadline: float, yield_every: int) -> bool:
    """Busy-wait for ``predicate``, yielding the CPU every ``yield_every`` turns (a yield,
    not synchronisation: it lets a worker that has no CPU run); False at ``deadline``."""
    spins = 0
    while not predicate():
        spins += 1
        if spins % yield_every == 0:
            _yield()
        if spins % _SPIN_CHECK == 0 and time.monotonic() > deadline:
            return False
    return True


class _Slot:
    """One worker's job and records. Written by the main thread only between invocations
    (before the arm barrier / after the done barrier), by its worker only in between: the
    barriers order every access, so no lock is needed."""

    __slots__ = ("call_ns", "calls", "error", "outcomes", "return_ns")

    def __init__(self) -> None:
        self.calls: Sequence[Call] = ()
        self.call_ns: list[int] = []
        self.return_ns: list[int] = []
        self.outcomes: list[Any] = []
        self.error: BaseException | None = None


class WorkerPool:
    """T persistent worker threads that run the parallel part of invocations.

    ``timeout`` bounds every wait of one invocation (seconds). Use as a context manager, or
    call :meth:`close`. A pool whose invocation timed out is ``broken`` and refuses work.

    >>> from atomics.testing.history import Call
    >>> with WorkerPool(2) as pool:
    ...     records = pool.run([], [[Call("append", (1,))], [Call("append", (2,))]])
    >>> sorted(r.outcome is None for r in records)
    [True, True]
    """

    def __init__(self, threads: int, *, timeout: float = 30.0) -> None:
        if not isinstance(threads, int) or isinstance(threads, bool):
            raise TypeError(f"threads must be an int, got {type(threads).__name__}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self.threads = threads
        self.timeout = timeout
        self.broken = False
        self.closed = False
        self._slots = [_Slot() for _ in range(threads)]
        self._target: Any = None
        self._generation = 0  # bumped by the main thread per invocation
        self._go = 0  # set to the generation (by the last worker ready) to start them all
        self._ready_lock = threading.Lock()  # guards self._ready
        self._ready = 0  # workers ready for the current generation
        # Oversubscribed (more spinners than CPUs): yield on every turn, else rarely.
        self._yield_every = 1 if threads >= runtime.cpu_count() else 256
        self._arm = threading.Barrier(threads + 1)
        self._done = threading.Barrier(threads + 1)
        self._workers = [
            threading.Thread(target=self._work, args=(i,), name=f"atomics-worker-{i}", daemon=True)
            for i in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (they exit at their next wait). Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._arm.abort()
        self._done.abort()

    def _work(self, index: int) -> None:
        slot = self._slots[index]
        while True:
            try:
                self._arm.wait()  # idle between invocations: no timeout needed here
            except threading.BrokenBarrierError:
                return
            generation = self._generation
            methods: list[Callable[..., Any]] = []
            try:
                methods = [getattr(self._target, call.name) for call in slot.calls]
            except BaseException as exc:  # harness failure: hand it to the main thread
                slot.error = exc
            # Counted ready even after an error, or the others would spin until the timeout.
            with self._ready_lock:
                self._ready += 1
                if self._ready == self.threads:  # the last one ready starts everyone
                    self._ready = 0
                    self._go = generation
            if slot.error is None:
                try:
                    self._run_calls(slot, methods, generation)
                except BaseException as exc:  # e.g. a KeyboardInterrupt raised by an operation
                    slot.error = exc
            try:
                self._done.wait(self.timeout)
            except threading.BrokenBarrierError:
                return

    def _run_calls(self, slot: _Slot, methods: list[Callable[..., Any]], generation: int) -> None:
        args = [call.args for call in slot.calls]
        call_ns, return_ns, outcomes = slot.call_ns, slot.return_ns, slot.outcomes
        perf_counter_ns = time.perf_counter_ns
        deadline = time.monotonic() + self.timeout
        if not _spin_until(lambda: self._go == generation, deadline, self._yield_every):
            return  # the main thread times out too, and reports the stacks
        for i, method in enumerate(methods):
            call_ns[i] = perf_counter_ns()
            try:
                outcomes[i] = method(*args[i])
            except Exception as exc:  # the operation's outcome, not an error
                outcomes[i] = Raised.of(exc)
            return_ns[i] = perf_counter_ns()

    def run(self, target: Any, calls: Sequence[Sequence[Call]]) -> list[OpRecord]:
        """Run ``calls[t]`` on worker t against ``target``, all starting together.

        Returns the records of every operation. ``len(calls)`` may be less than the pool
        size (the other workers idle through the invocation).
        """
        if self.broken or self.closed:
            raise HarnessError("this WorkerPool is broken or closed")
        if len(calls) > self.threads:
            raise ValueError(f"{len(calls)} threads of operations for a pool of {self.threads}")
        self._generation += 1
        self._target = target
        for index, slot in enumerate(self._slots):
            slot.calls = calls[index] if index < len(calls) else ()
            k = len(slot.calls)
            slot.call_ns, slot.return_ns, slot.outcomes = [0] * k, [0] * k, [None] * k
            slot.error = None
        deadline = time.monotonic() + self.timeout
        try:
            self._arm.wait(self.timeout)
            self._done.wait(max(0.001, deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            self.broken = True
            stacks = dump_all_stacks()
            self.close()
            raise HarnessTimeout(
                f"an invocation did not finish within {self.timeout}s (deadlock or hang?)\n"
                f"stacks of all threads:\n{stacks}"
            ) from None
        finally:
            self._target = None
        records: list[OpRecord] = []
        for t, slot in enumerate(self._slots):
            if slot.error is not None:
                raise HarnessError(f"worker {t} failed: {slot.error!r}") from slot.error
            for i, call in enumerate(slot.calls):
                records.append(
                    OpRecord(t, i, call, slot.call_ns[i], slot.return_ns[i], slot.outcomes[i])
                )
        return records


_shared: dict[int, WorkerPool] = {}


def shared_pool(threads: int, timeout: float = 30.0) -> WorkerPool:
    """A process-wide pool with at least ``threads`` workers, created on first use and reused
    by every later scenario (replaced if an invocation broke it). Main-thread use only."""
    pool = max(_shared.values(), key=lambda p: p.threads, default=None)
    if (
        pool is None
        or pool.broken
        or pool.closed
        or pool.threads < threads
        or pool.timeout != timeout
    ):
        if pool is not None:
            pool.close()
        size = max(threads, pool.threads if pool is not None else 0)
        _shared.clear()
        pool = _shared[size] = WorkerPool(size, timeout=timeout)
    return pool


def _sequential(thread: int, target: Any, calls: Sequence[Call]) -> list[OpRecord]:
    records = []
    for i, call in enumerate(calls):
        method = getattr(target, call.name)
        began = time.perf_counter_ns()
        try:
            outcome = method(*call.args)
        except Exception as exc:
            outcome = Raised.of(exc)
        records.append(OpRecord(thread, i, call, began, time.perf_counter_ns(), outcome))
    return records


def run_invocation(
    scenario: Scenario, factory: Callable[[], Any], pool: WorkerPool
) -> list[OpRecord]:
    """One invocation: a fresh ``factory()``, the prefix on this thread, the parallel part on
    the pool, the suffix on this thread. Returns the full history (prefix is thread -1, the
    suffix thread T)."""
    target = factory()
    history = _sequential(-1, target, scenario.prefix)
    history += pool.run(target, scenario.parallel)
    history += _sequential(len(scenario.parallel), target, scenario.suffix)
    return history
