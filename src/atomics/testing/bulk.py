"""Bulk stress: N threads x M operations from a common start, for invariants at scale.

Where the linearizability checker looks closely at a few operations, bulk stress runs
millions and lets the test assert an invariant afterwards (the counter equals the sum of
all deltas; every item was delivered exactly once). Each thread gets its own state object
(``thread_state(index)``, called in that thread), which it alone touches while running, and
which the result hands back. The overlap figure says how much concurrency really happened:
the fraction of operations (a sample of them, each tested exactly) whose time interval
overlapped an operation of another thread. Every interval is recorded, at the cost of two
clock reads per operation. On a GIL build it is typically far below 1; a test that needs
parallelism can assert on it.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
import traceback
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from atomics import runtime
from atomics.testing.runner import HarnessError, HarnessTimeout, dump_all_stacks, forced_switching
from atomics.testing.stats import stats

__all__ = ["CONTROL_SECONDS", "BulkResult", "bulk_stress", "overlap_fraction", "rounds"]

S = TypeVar("S")
MAX_SAMPLES_PER_THREAD = 2000  # operations per thread tested for overlap, evenly spaced
STOP_GRACE = 5.0
"""Seconds :func:`bulk_stress` waits, after the first exception, for the other threads to
notice the stop; a thread still inside an operation then is named (with every stack) in the
error instead of holding the caller up to the timeout."""


@dataclass
class BulkResult(Generic[S]):
    """The outcome of :func:`bulk_stress`.

    ``states[t]`` is thread t's state object; ``overlap`` the fraction of sampled
    operations that overlapped another thread's; ``seconds`` the wall time from the common
    start to the last thread's end.
    """

    states: list[S]
    threads: int
    operations_per_thread: int
    seconds: float
    overlap: float
    interpreter: str

    @property
    def operations(self) -> int:
        """Operations run in total."""
        return self.threads * self.operations_per_thread

    @property
    def rate(self) -> float:
        """Operations per second, all threads together."""
        return self.operations / self.seconds if self.seconds > 0 else float("inf")


def overlap_fraction(
    starts: Sequence[Sequence[int]],
    ends: Sequence[Sequence[int]],
    samples_per_thread: int = MAX_SAMPLES_PER_THREAD,
) -> float:
    """The fraction of operations whose interval overlaps one of another thread.

    ``starts[t][i]``/``ends[t][i]`` are thread t's operation intervals in time order (a
    thread does one thing at a time). Up to ``samples_per_thread`` evenly spaced operations
    per thread are tested, each exactly, against every interval of every other thread.

    >>> overlap_fraction([[0, 20], [5]], [[10, 30], [8]])
    0.6666666666666666
    """
    tested = overlapping = 0
    for t, (t_starts, t_ends) in enumerate(zip(starts, ends, strict=True)):
        stride = max(1, len(t_starts) // samples_per_thread)
        for i in range(0, len(t_starts), stride):
            start, end = t_starts[i], t_ends[i]
            tested += 1
            for u, u_ends in enumerate(ends):
                if u == t or not u_ends:
                    continue
                # The first interval of u that ends after this one starts overlaps it when it
                # also starts before this one ends.
                j = bisect.bisect_right(u_ends, start)
                if j < len(u_ends) and starts[u][j] < end:
                    overlapping += 1
                    break
    return overlapping / tested if tested else 0.0


def bulk_stress(
    operation: Callable[[S, int, int], object],
    *,
    threads: int,
    operations: int,
    thread_state: Callable[[int], S] | None = None,
    timeout: float = 300.0,
) -> BulkResult[S]:
    """Run ``operation(state, thread_index, i)`` for i in range(operations) on each of
    ``threads`` threads, all released together; return the states and the figures.

    ``thread_state(t)`` makes thread t's state (default ``None``), in thread t itself before
    the common start: a per-thread handle made there belongs to that thread.

    The first exception in any thread (in ``thread_state``, the start or an operation) stops
    the run: every other thread stops before its next operation (one test of a flag of its
    own per operation), and the caller gets :class:`HarnessError` at once, without waiting for
    the remaining operations. Its message names the failing thread, the operation index and
    the seconds since the common start, then holds the full traceback (the exception is
    also its ``__cause__``); errors that other threads raised before they stopped follow.
    A thread that does not stop within :data:`STOP_GRACE` seconds (blocked inside an
    operation) is named in the message, with every thread's stack. A run with no exception
    that is still going after ``timeout`` seconds raises :class:`HarnessTimeout` with every
    thread's stack. On GIL builds the switch interval is lowered while the threads run.

    >>> result = bulk_stress(lambda tally, t, i: tally.append(i), threads=2, operations=100,
    ...                      thread_state=lambda t: [])
    >>> [len(tally) for tally in result.states], result.operations
    ([100, 100], 200)
    """
    if threads < 1 or operations < 0:
        raise ValueError("threads must be >= 1 and operations >= 0")
    make_state: Callable[[int], Any] = (
        thread_state if thread_state is not None else (lambda t: None)
    )
    states: list[Any] = [None] * threads  # slot t written only by thread t
    # Every operation's interval, in preallocated per-thread arrays (no sharing, no lock).
    starts = [array("q", bytes(8 * operations)) for _ in range(threads)]
    ends = [array("q", bytes(8 * operations)) for _ in range(threads)]
    # errors[t]: (exception, operation index or None before the first, perf_counter at the
    # catch); slot t written only by thread t.
    errors: list[tuple[BaseException, int | None, float] | None] = [None] * threads
    # The stop: set by the first thread that raises. Each thread tests its own list before
    # every operation, empty until stopped (made in that thread: on a free-threaded build a
    # list read by every thread would have its reference count updated by all of them; and
    # an empty list's truth costs half of flag[0] on 3.13t, which does not specialize it).
    # The failing thread sets the shared flag (which the caller reads), then fills them all.
    stop = [False]
    stop_flags: list[list[bool] | None] = [None] * threads
    began = [time.perf_counter()]  # the common start (set by the barrier), or the call
    wake = threading.Event()  # set by the last thread to finish, or the first to fail
    running = [threads]
    running_lock = threading.Lock()

    def mark_start() -> None:
        began[0] = time.perf_counter()

    start_line = threading.Barrier(threads + 1, action=mark_start)

    def work(t: int) -> None:
        t_starts, t_ends = starts[t], ends[t]
        perf_counter_ns = time.perf_counter_ns
        i: int | None = None
        stopped: list[bool] = []  # registered before the start, so a stop fills it
        stop_flags[t] = stopped
        try:
            # Made in this thread, so the state is owned by it (on free-threaded builds an
            # object's reference count is cheapest for the thread that created it).
            state = states[t] = make_state(t)
            start_line.wait(timeout)
            for i in range(operations):
                if stopped:
                    break  # another thread raised: the run is over
                t_starts[i] = perf_counter_ns()
                operation(state, t, i)
                t_ends[i] = perf_counter_ns()
        except BaseException as exc:  # captured, never lost: re-raised in the caller
            failed_at = time.perf_counter()
            if not (stop[0] and isinstance(exc, threading.BrokenBarrierError)):
                errors[t] = (exc, i, failed_at)  # (not the start that another's stop broke)
            stop[0] = True
            for flag in stop_flags:
                if flag is not None:
                    flag.append(True)
            start_line.abort()  # threads still before the start stop there too
            wake.set()
        finally:
            with running_lock:
                running[0] -= 1
                if running[0] == 0:
                    wake.set()

    workers = [
        threading.Thread(target=work, args=(t,), name=f"atomics-bulk-{t}", daemon=True)
        for t in range(threads)
    ]
    with forced_switching():
        for worker in workers:
            worker.start()
        # Broken when a thread failed before the start (reported below) or it timed out.
        with contextlib.suppress(threading.BrokenBarrierError):
            start_line.wait(timeout)
        deadline = time.monotonic() + timeout
        wake.wait(max(0.0, deadline - time.monotonic()))
        if stop[0]:  # a thread failed: give the others a moment to notice, no more
            deadline = min(deadline, time.monotonic() + STOP_GRACE)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        seconds = time.perf_counter() - began[0]
    stuck = [t for t, worker in enumerate(workers) if worker.is_alive()]
    failed = sorted(
        ((t, record) for t, record in enumerate(errors) if record is not None),
        key=lambda entry: entry[1][2],
    )
    if failed:
        raise HarnessError(_failure_report(failed, began[0], stuck)) from failed[0][1][0]
    if stuck:
        raise HarnessTimeout(
            f"bulk_stress: threads still running after {timeout}s\n{dump_all_stacks()}"
        )
    result = BulkResult(
        states=states,
        threads=threads,
        operations_per_thread=operations,
        seconds=seconds,
        overlap=overlap_fraction(starts, ends),
        interpreter=runtime.describe(),
    )
    stats.bulk_operations += result.operations
    stats.bulk_overlapping += result.overlap * result.operations
    return result


def _failure_report(
    failed: list[tuple[int, tuple[BaseException, int | None, float]]],
    began: float,
    stuck: list[int],
) -> str:
    """The HarnessError message: the first failure with its traceback, then the others."""

    def where(t: int, i: int | None, at: float) -> str:
        if i is None:
            return f"thread {t} before its first operation, {at - began:.4f} s after the start"
        return f"thread {t} at operation {i}, {at - began:.4f} s after the start"

    t, (exc, i, at) = failed[0]
    lines = [
        f"bulk_stress: thread {t}: {exc!r} -- the first of {len(failed)} thread(s) to raise, "
        f"which stopped the run",
        f"raised in {where(t, i, at)}:",
        "".join(traceback.format_exception(exc)).rstrip(),
    ]
    for u, (other, j, other_at) in failed[1:]:
        lines.append(f"also raised, in {where(u, j, other_at)}: thread {u}: {other!r}")
    if stuck:
        lines.append(
            f"thread(s) {stuck} did not stop within {STOP_GRACE} s (inside an operation):\n"
            f"{dump_all_stacks()}"
        )
    return "\n".join(lines)


CONTROL_SECONDS = 60.0
"""How long this project's negative controls search before giving up: a control that
searches until caught within a budget, rather than for a fixed number of attempts, does not
flake on a busy machine (it usually ends within a second). 60 s leaves room, under the test
suite's 120 s per-test limit, for the last round that a loaded machine makes slow (90 s did
not: ``scripts/flake-check`` timed a control out with every core busy)."""


def rounds(seconds: float) -> Iterator[int]:
    """Round numbers 0, 1, 2, ... until ``seconds`` have passed (always at least one round):
    the loop of a time-budgeted stress test.

    >>> list(rounds(0))
    [0]
    """
    deadline = time.monotonic() + seconds
    done = 0
    while done == 0 or time.monotonic() < deadline:
        yield done
        done += 1
