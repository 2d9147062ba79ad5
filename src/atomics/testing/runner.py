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

Blocking operations (``run(..., blocking=names)``): a call named in ``blocking`` may wait
forever by design (a ``put`` on a full queue). In that mode the main thread watches the
workers instead of only waiting at the *done* barrier: once every worker that has not
finished is inside a blocking call and none has returned anything for ``block_grace``
seconds, the invocation is *held*: ``run`` returns the records with those calls
:attr:`~atomics.testing.history.OpRecord.pending`, and the pool refuses new work until
:meth:`WorkerPool.wait_blocked` sees them return or :meth:`WorkerPool.release` gives them
up (an ``unblock`` hook may free them; if it does not, the pool is retired).
:func:`resolve_blocked` does both for one invocation.

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
from dataclasses import dataclass
from typing import Any

from atomics import runtime
from atomics.testing.history import NEVER_NS, PENDING, Call, OpRecord, Raised
from atomics.testing.scenario import Scenario

__all__ = [
    "DEFAULT_BLOCK_GRACE",
    "Blocked",
    "HarnessError",
    "HarnessTimeout",
    "WorkerPool",
    "dump_all_stacks",
    "forced_switching",
    "resolve_blocked",
    "run_invocation",
    "shared_pool",
]

DEFAULT_BLOCK_GRACE = 0.5  # seconds without progress before workers in blocking calls are held
UNBLOCK_WAIT = 5.0  # seconds for held workers to return after release (else the pool retires)

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

    __slots__ = ("call_ns", "calls", "error", "finished", "outcomes", "return_ns")

    def __init__(self) -> None:
        self.calls: Sequence[Call] = ()
        self.call_ns: list[int] = []
        self.return_ns: list[int] = []
        self.outcomes: list[Any] = []
        self.error: BaseException | None = None
        self.finished = False  # watched mode only: set (under the pool's condition) when done


@dataclass(frozen=True)
class Blocked:
    """An invocation that ended with blocking calls that never returned.

    ``pending`` are those calls (outcome :data:`~atomics.testing.history.PENDING`),
    ``history`` the whole history, ``order`` (when the model allowed it) an order of the
    completed operations after which the model says every pending call would block,
    ``stacks`` every thread's stack when the calls were last seen blocked, ``released``
    whether the workers were freed by ``unblock`` (else the pool was retired), and
    ``threads`` the scenario's parallel thread count (to name the prefix and suffix).
    """

    pending: tuple[OpRecord, ...]
    history: tuple[OpRecord, ...]
    stacks: str
    released: bool
    threads: int
    order: tuple[OpRecord, ...] = ()

    def label(self, op: OpRecord) -> str:
        """``T0[1]``, ``prefix[0]`` or ``suffix[0]``: where ``op`` is in the scenario."""
        return f"{thread_label(op.thread, self.threads)}[{op.index}]"

    def __str__(self) -> str:
        lines = [
            f"ENDED BLOCKED: {len(self.pending)} blocking call(s) never returned, and the model"
            " says each would block:"
        ]
        lines += [f"  {self.label(op)} {op.call}" for op in self.pending]
        if self.order:
            lines.append("after the completed operations in this order:")
            lines += [f"  {self.label(op)} {op}" for op in self.order]
        fate = "freed by unblock" if self.released else "left blocked; the pool was retired"
        lines += [f"the blocked workers were {fate}", "stacks of all threads:", self.stacks]
        return "\n".join(lines)


def thread_label(thread: int, threads: int) -> str:
    """``T<n>`` for a parallel thread, ``prefix`` for -1, ``suffix`` for ``threads``."""
    if thread < 0:
        return "prefix"
    if thread >= threads:
        return "suffix"
    return f"T{thread}"


@dataclass(frozen=True)
class _Held:
    """An invocation held with calls blocked: its target, thread labels, deadline, grace."""

    target: Any
    labels: list[int]
    deadline: float
    grace: float


class WorkerPool:
    """T persistent worker threads that run the parallel part of invocations.

    ``timeout`` bounds every wait of one invocation (seconds). Use as a context manager, or
    call :meth:`close`. A pool whose invocation timed out is ``broken`` and refuses work.

    Guarantees
    ----------
    * One invocation at a time, driven by the thread that calls :meth:`run` (the workers and
      that one caller meet at each barrier); the workers are daemon threads kept for the
      pool's life.
    * All workers start an invocation together (a spin start, within about a microsecond),
      and each records its operations into lists of its own: the harness adds no lock and
      no shared write between the operations under test.
    * Nothing waits forever: every wait has ``timeout``; when one expires the stacks of all
      threads are dumped, the pool is marked ``broken`` and :class:`HarnessTimeout` is
      raised. An exception that escapes the harness in a worker is raised in the caller as
      :class:`HarnessError`.
    * With ``blocking`` operations, an invocation whose remaining calls all wait by design
      is *held*, not failed: the pool refuses new work until :meth:`wait_blocked` or
      :meth:`release` (:meth:`run` tells how).

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
        # Watched mode (blocking operations declared): see the module docstring.
        self._watch = False
        self._abandoned = 0  # a generation whose remaining calls the workers skip
        self._finished_cond = threading.Condition(threading.Lock())  # guards slot.finished
        self._held: _Held | None = None  # the invocation held with calls blocked
        self.blocked_stacks = ""  # every thread's stack when the held invocation was judged
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
                    if self._watch:
                        self._run_watched(slot, methods, generation)
                    else:
                        self._run_calls(slot, methods, generation)
                except BaseException as exc:  # e.g. a KeyboardInterrupt raised by an operation
                    slot.error = exc
            if self._watch:
                with self._finished_cond:
                    slot.finished = True
                    self._finished_cond.notify_all()
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

    def _run_watched(self, slot: _Slot, methods: list[Callable[..., Any]], generation: int) -> None:
        """:meth:`_run_calls` for watched mode: stops early once the invocation is given up."""
        args = [call.args for call in slot.calls]
        call_ns, return_ns, outcomes = slot.call_ns, slot.return_ns, slot.outcomes
        perf_counter_ns = time.perf_counter_ns
        deadline = time.monotonic() + self.timeout
        if not _spin_until(lambda: self._go == generation, deadline, self._yield_every):
            return
        for i, method in enumerate(methods):
            if self._abandoned == generation:
                return  # released: the rest of this thread's calls are not run
            call_ns[i] = perf_counter_ns()
            try:
                outcomes[i] = method(*args[i])
            except Exception as exc:
                outcomes[i] = Raised.of(exc)
            return_ns[i] = perf_counter_ns()  # written last: the watcher reads it first

    @property
    def holding(self) -> bool:
        """True while an invocation is held with workers inside blocking calls."""
        return self._held is not None

    @property
    def held_threads(self) -> list[int]:
        """The thread numbers (labels) of the held invocation part; [] when none is held."""
        return list(self._held.labels) if self._held is not None else []

    @property
    def held_grace(self) -> float:
        """The ``block_grace`` the held invocation was judged with (0.0 when none is held)."""
        return self._held.grace if self._held is not None else 0.0

    def run(
        self,
        target: Any,
        calls: Sequence[Sequence[Call]],
        *,
        blocking: frozenset[str] = frozenset(),
        block_grace: float = DEFAULT_BLOCK_GRACE,
        labels: Sequence[int] | None = None,
    ) -> list[OpRecord]:
        """Run ``calls[t]`` on worker t against ``target``, all starting together.

        Returns the records of every operation. ``len(calls)`` may be less than the pool
        size (the other workers idle through the invocation). ``labels[t]`` is the thread
        number recorded for ``calls[t]`` (default t).

        With ``blocking`` (operation names that may wait by design), once every worker not
        yet finished is inside one of those calls and ``block_grace`` seconds pass without
        any call returning, the invocation is held: the records returned stop at each such
        call, recorded as pending, and the pool is :attr:`holding` until
        :meth:`wait_blocked` or :meth:`release`.
        """
        if self.broken or self.closed:
            raise HarnessError("this WorkerPool is broken or closed")
        if self._held is not None:
            raise HarnessError("this WorkerPool holds a blocked invocation: release() it first")
        if len(calls) > self.threads:
            raise ValueError(f"{len(calls)} threads of operations for a pool of {self.threads}")
        if block_grace <= 0:
            raise ValueError(f"block_grace must be positive, got {block_grace!r}")
        names = list(labels) if labels is not None else list(range(len(calls)))
        if len(names) != len(calls):
            raise ValueError(f"{len(names)} labels for {len(calls)} threads of operations")
        self._generation += 1
        self._target = target
        self._watch = bool(blocking)
        for index, slot in enumerate(self._slots):
            slot.calls = calls[index] if index < len(calls) else ()
            k = len(slot.calls)
            slot.call_ns, slot.return_ns, slot.outcomes = [0] * k, [0] * k, [None] * k
            slot.error = None
            slot.finished = False
        deadline = time.monotonic() + self.timeout
        try:
            self._arm.wait(self.timeout)
            if self._watch and not self._watch_until_done(deadline, blocking, block_grace):
                self.blocked_stacks = dump_all_stacks()
                self._held = _Held(target, names, deadline, block_grace)
                if any(slot.error is not None for slot in self._slots):
                    self.release()  # a harness error in one worker: report it, not the hold
                return self._records(names, len(calls))
            self._done.wait(max(0.001, deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            self._timed_out()
        finally:
            if self._held is None:
                self._target = None
        return self._records(names, len(calls))

    def _timed_out(self) -> None:
        self.broken = True
        self._held = None
        stacks = dump_all_stacks()
        self.close()
        raise HarnessTimeout(
            f"an invocation did not finish within {self.timeout}s (deadlock or hang?)\n"
            f"stacks of all threads:\n{stacks}"
        ) from None

    def _records(self, labels: Sequence[int], active: int) -> list[OpRecord]:
        """The records of the invocation; a call that has not returned is pending (and ends
        its thread's records)."""
        records: list[OpRecord] = []
        for t, slot in enumerate(self._slots):
            if slot.error is not None:
                raise HarnessError(f"worker {t} failed: {slot.error!r}") from slot.error
            if t >= active:
                continue
            for i, call in enumerate(slot.calls):
                returned = slot.return_ns[i]
                if returned:
                    records.append(
                        OpRecord(labels[t], i, call, slot.call_ns[i], returned, slot.outcomes[i])
                    )
                    continue
                if slot.call_ns[i]:
                    records.append(OpRecord(labels[t], i, call, slot.call_ns[i], NEVER_NS, PENDING))
                break
        return records

    def _scan(self, blocking: frozenset[str]) -> tuple[int, bool]:
        """(calls returned so far, whether every unfinished worker is inside a blocking call)."""
        returned, all_blocked = 0, True
        for slot in self._slots:
            return_ns = slot.return_ns
            i = 0
            while i < len(return_ns) and return_ns[i]:
                i += 1
            returned += i
            if slot.finished or i == len(return_ns):
                continue
            if not slot.call_ns[i] or slot.calls[i].name not in blocking:
                all_blocked = False
        return returned, all_blocked

    def _watch_until_done(self, deadline: float, blocking: frozenset[str], grace: float) -> bool:
        """Wait until every worker finished (True), or until every unfinished one has sat in
        a blocking call with no call returning for ``grace`` seconds (False). Raises
        BrokenBarrierError at the deadline (reported as a timeout)."""
        poll = max(0.001, min(0.02, grace / 10))  # checks between wake-ups by finishing workers
        quiet_since: float | None = None
        last = -1
        with self._finished_cond:
            while not all(slot.finished for slot in self._slots):
                now = time.monotonic()
                if now >= deadline:
                    self._done.abort()
                    raise threading.BrokenBarrierError
                returned, all_blocked = self._scan(blocking)
                if not all_blocked or returned != last or quiet_since is None:
                    quiet_since, last = now, returned
                    if not all_blocked:
                        last = -1
                elif now - quiet_since >= grace:
                    return False
                self._finished_cond.wait(min(poll, deadline - now))
        return True

    def wait_blocked(self, seconds: float) -> list[OpRecord]:
        """Give the held invocation's blocked calls up to ``seconds`` more (within the
        invocation's timeout) to return. Returns its records now; if every worker finished,
        the invocation is complete and the pool takes work again."""
        if self._held is None:
            raise HarnessError("this WorkerPool holds no blocked invocation")
        labels, deadline = self._held.labels, self._held.deadline
        until = min(deadline, time.monotonic() + seconds)
        with self._finished_cond:
            self._finished_cond.wait_for(
                lambda: all(slot.finished for slot in self._slots),
                max(0.0, until - time.monotonic()),
            )
            finished = all(slot.finished for slot in self._slots)
        if not finished:
            self.blocked_stacks = dump_all_stacks()
            return self._records(labels, len(labels))
        self._held = None
        self._target = None
        try:
            self._done.wait(max(0.001, deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            self._timed_out()
        return self._records(labels, len(labels))

    def release(self, unblock: Callable[[Any], object] | None = None) -> bool:
        """Give up the held invocation: each worker skips the calls left after its current
        one; ``unblock(target)``, when given, is called (repeatedly, until the workers have
        returned or :data:`UNBLOCK_WAIT` seconds pass) to free the blocked calls -- for
        example ``lambda q: q.shutdown(immediate=True)``. Returns True when the workers
        returned and the pool takes work again; otherwise the pool is retired (``broken``:
        :func:`shared_pool` replaces it) and False is returned."""
        if self._held is None:
            raise HarnessError("this WorkerPool holds no blocked invocation")
        target, deadline = self._held.target, self._held.deadline
        self._abandoned = self._generation
        until = min(deadline, time.monotonic() + UNBLOCK_WAIT)
        finished = False
        if unblock is not None:
            with self._finished_cond:
                while True:
                    finished = all(slot.finished for slot in self._slots)
                    now = time.monotonic()
                    if finished or now >= until:
                        break
                    self._finished_cond.release()
                    try:
                        unblock(target)  # outside the condition: it wakes workers that take it
                    except BaseException:
                        self._held = None
                        self.broken = True
                        self.close()
                        raise
                    finally:
                        self._finished_cond.acquire()
                    self._finished_cond.wait(max(0.0, min(0.02, until - time.monotonic())))
        self._held = None
        self._target = None
        if finished:
            try:
                self._done.wait(max(0.001, deadline - time.monotonic()))
                return True
            except threading.BrokenBarrierError:
                pass
        self.broken = True
        self.close()
        return False


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
    scenario: Scenario,
    factory: Callable[[], Any],
    pool: WorkerPool,
    *,
    blocking: frozenset[str] = frozenset(),
    block_grace: float = DEFAULT_BLOCK_GRACE,
) -> list[OpRecord]:
    """One invocation: a fresh ``factory()``, the prefix on this thread, the parallel part on
    the pool, the suffix on this thread. Returns the full history (prefix is thread -1, the
    suffix thread T).

    With ``blocking`` (names of operations that may wait by design), the parallel part runs
    watched (:meth:`WorkerPool.run`), and so do a prefix or suffix holding such a call (on
    one worker, since this thread must not block). If a part ends with calls blocked, the
    history stops there, those calls pending, and ``pool`` is left :attr:`~WorkerPool.holding`
    the invocation: pass it to :func:`resolve_blocked`.
    """
    target = factory()
    if not blocking:
        history = _sequential(-1, target, scenario.prefix)
        history += pool.run(target, scenario.parallel)
        history += _sequential(len(scenario.parallel), target, scenario.suffix)
        return history
    history = []
    parts = [(-1, (scenario.prefix,)), (None, scenario.parallel)]
    parts.append((len(scenario.parallel), (scenario.suffix,)))
    for label, calls in parts:
        if label is None:
            history += pool.run(target, calls, blocking=blocking, block_grace=block_grace)
        elif any(call.name in blocking for call in calls[0]):
            history += pool.run(
                target, calls, blocking=blocking, block_grace=block_grace, labels=[label]
            )
        else:
            history += _sequential(label, target, calls[0])
        if pool.holding:
            return history
    return history


def resolve_blocked(
    pool: WorkerPool,
    history: list[OpRecord],
    allowed: Callable[[list[OpRecord]], bool],
    *,
    unblock: Callable[[Any], object] | None = None,
    confirm: float | None = None,
) -> list[OpRecord]:
    """End an invocation that ``pool`` holds with calls blocked; return its final history.

    ``allowed(history)`` says whether the model lets the pending calls block (the checker
    decides it). If it does not, the calls may only be slow to wake up: they get ``confirm``
    more seconds (default ``max(2, 10 * block_grace)``, within the invocation's timeout);
    if every held worker then finishes, the history holds their outcomes (and the invocation
    ends after the part that was held). Calls still pending are given up with
    :meth:`WorkerPool.release` and ``unblock``.
    """
    held = set(pool.held_threads)
    try:
        if not allowed(history):
            wait = confirm if confirm is not None else max(2.0, 10 * pool.held_grace)
            records = pool.wait_blocked(wait)
            history = [op for op in history if op.thread not in held] + records
    finally:
        if pool.holding:
            pool.release(unblock)
    return history
