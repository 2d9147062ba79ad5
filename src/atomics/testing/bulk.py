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
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from atomics import runtime
from atomics.testing.runner import HarnessError, HarnessTimeout, dump_all_stacks, forced_switching
from atomics.testing.stats import stats

__all__ = ["BulkResult", "bulk_stress", "overlap_fraction", "rounds"]

S = TypeVar("S")
MAX_SAMPLES_PER_THREAD = 2000  # operations per thread tested for overlap, evenly spaced


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
    the common start: a per-thread handle made there belongs to that thread. An exception in any
    thread stops nothing else but is re-raised here as :class:`HarnessError` (the first
    one, with the others in its message); a thread still running after ``timeout`` seconds
    raises :class:`HarnessTimeout` with every thread's stack. On GIL builds the switch
    interval is lowered while the threads run.

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
    errors: list[BaseException | None] = [None] * threads
    start_line = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        t_starts, t_ends = starts[t], ends[t]
        perf_counter_ns = time.perf_counter_ns
        try:
            # Made in this thread, so the state is owned by it (on free-threaded builds an
            # object's reference count is cheapest for the thread that created it).
            state = states[t] = make_state(t)
            start_line.wait(timeout)
            for i in range(operations):
                t_starts[i] = perf_counter_ns()
                operation(state, t, i)
                t_ends[i] = perf_counter_ns()
        except BaseException as exc:  # captured, never lost: re-raised in the caller
            errors[t] = exc

    workers = [
        threading.Thread(target=work, args=(t,), name=f"atomics-bulk-{t}", daemon=True)
        for t in range(threads)
    ]
    with forced_switching():
        for worker in workers:
            worker.start()
        start_line.wait(timeout)
        began = time.perf_counter()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        seconds = time.perf_counter() - began
    if any(worker.is_alive() for worker in workers):
        raise HarnessTimeout(
            f"bulk_stress: threads still running after {timeout}s\n{dump_all_stacks()}"
        )
    failed = [(t, exc) for t, exc in enumerate(errors) if exc is not None]
    if failed:
        summary = "; ".join(f"thread {t}: {exc!r}" for t, exc in failed)
        raise HarnessError(f"bulk_stress: {len(failed)} thread(s) raised: {summary}") from failed[
            0
        ][1]
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
