"""Multi-producer multi-consumer stress for any ``queue.Queue``-like object.

:func:`mpmc_stress` runs P producers and C consumers through one queue on real threads
(via :func:`~atomics.testing.bulk_stress`) and checks what a bounded FIFO queue promises:

* every item is delivered exactly once (items are unique ``(producer, sequence)`` pairs);
* each producer's items reach each consumer in the order they were put;
* the size never exceeds the bound: every thread samples ``qsize()`` after each operation,
  and the largest sample is returned for the caller to compare with ``maxsize``.

Single items use ``put``/``get``; ``batch > 1`` uses ``put_many``/``get_many`` (as
:class:`atomics.BoundedQueue`). Gets wait with a timeout, so a lost item or a lost wake-up
fails the run (``queue.Empty`` inside a worker, naming the items put but never delivered,
reported as ``HarnessError``) instead of hanging it.

Fail fast: the first exception in a producer or consumer ends the run at once. Producers
call ``put(item)`` as users do (blocking, no timeout); consumers wait in slices of
:data:`WAIT_SLICE` seconds (a get that expires is retried until ``get_timeout`` has passed)
and return when they see the run stopped; the thread that raised first takes items until
no producer is blocked in ``put`` (at most :data:`DRAIN_SECONDS`). So the ``HarnessError``
(with the failing thread, its traceback and the time since the start, from
:func:`~atomics.testing.bulk_stress`) comes within about a slice, not after ``get_timeout``,
and no thread is left blocked.

>>> import queue
>>> mpmc_stress(lambda: queue.Queue(4), producers=2, consumers=2, items_per_producer=100).items
200
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atomics.protocols import QueueLike
from atomics.testing.bulk import bulk_stress
from atomics.testing.runner import HarnessError

__all__ = ["MPMCResult", "mpmc_stress"]

WAIT_SLICE = 0.05
"""Seconds one blocking ``get``/``put`` of :func:`mpmc_stress` waits before the thread looks
whether the run was stopped (then waits again, until ``get_timeout`` for gets)."""


DRAIN_SECONDS = 2.0
"""After a failure, how long the failing thread takes items to free blocked producers."""


@dataclass(frozen=True)
class MPMCResult:
    """What :func:`mpmc_stress` moved and saw."""

    items: int  # delivered, each exactly once (checked)
    max_size_seen: int  # the largest qsize() any thread sampled
    seconds: float


def mpmc_stress(
    make_queue: Callable[[], QueueLike[Any]],
    *,
    producers: int,
    consumers: int,
    items_per_producer: int,
    batch: int = 1,
    get_timeout: float = 60.0,
) -> MPMCResult:
    """Move ``producers * items_per_producer`` unique items through ``make_queue()``;
    assert exactly-once delivery and per-producer order; return the figures.

    The total must divide evenly among the consumers (``ValueError`` otherwise). The first
    exception in any thread ends the run within about :data:`WAIT_SLICE` seconds as
    ``HarnessError`` (see the module's docstring); a consumer that gets nothing for
    ``get_timeout`` seconds raises ``queue.Empty`` naming what was put and never delivered.
    ``make_queue`` returns a :class:`~atomics.QueueLike` (``queue.Queue``,
    :class:`~atomics.BoundedQueue`, ...); with ``batch > 1`` it must also have
    ``put_many``/``get_many`` as ``BoundedQueue`` has.
    """
    total = producers * items_per_producer
    if producers < 1 or consumers < 1 or batch < 1 or total % consumers:
        raise ValueError("need producers, consumers, batch >= 1 and items divisible by consumers")
    share = total // consumers
    q = make_queue()
    stopped = [False]  # set by the first thread that raises; read between wait slices
    batched: Any = q  # put_many/get_many: not in QueueLike (BoundedQueue's)
    put_one = batched.put_many if batch > 1 else q.put

    def put_batch(items: list[Any]) -> None:
        # as users call it: a plain blocking put (a put with a timeout can take another
        # path through a queue's code -- ft_utils' StdConcurrentQueue raises Full only on
        # this one). A producer blocked on a full queue when the run stops is freed by the
        # drain of the thread that raised.
        put_one(items if batch > 1 else items[0])

    get = q.get
    get_one: Callable[[int], list[Any]] = (
        (lambda count: batched.get_many(count, timeout=WAIT_SLICE))
        if batch > 1
        else (lambda count: [q.get(timeout=WAIT_SLICE)])
    )
    qsize = q.qsize

    def wait_for_items(c: int, count: int, states: list[dict[str, Any]]) -> list[Any] | None:
        """The slow path of a get: slices until an item comes, the run stops (None) or
        get_timeout passes (queue.Empty, naming what is missing)."""
        deadline = time.monotonic() + get_timeout - WAIT_SLICE  # one slice has passed
        while not stopped[0]:
            try:
                return get_one(count)
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise queue.Empty(_missing(c, get_timeout, states, producers, qsize)) from None
        return None

    all_states: list[dict[str, Any]] = [{} for _ in range(producers + consumers)]

    def op(state: dict[str, Any], t: int, i: int) -> None:
        if stopped[0]:
            return  # the run stopped: no more puts or gets (bulk_stress stops us next)
        try:
            if t < producers:
                start = i * batch
                if start >= items_per_producer:
                    return  # this producer is done
                end = min(start + batch, items_per_producer)
                state["putting"] = True
                put_batch([(t, n) for n in range(start, end)])
                state["putting"] = False
                state["put"] = end  # (for a timeout's message; moot once stopped)
            else:
                owed = state["owed"]
                if owed <= 0:
                    return  # this consumer has its share
                try:  # the fast path: one blocking get
                    got = get_one(min(batch, owed)) if batch > 1 else [get(timeout=WAIT_SLICE)]
                except queue.Empty:
                    waited = wait_for_items(t - producers, min(batch, owed), all_states)
                    if waited is None:
                        return  # the run was stopped
                    got = waited
                state["got"].extend(got)
                state["owed"] = owed - len(got)
            size = qsize()
            state["seen"] = max(state["seen"], size)
        except BaseException:
            state["putting"] = False  # (a put that raised)
            stopped[0] = True  # the consumers stop waiting at their next slice
            drain()  # and producers blocked on a full queue are freed
            raise

    def drain() -> None:
        """Take items until no producer is inside ``put`` (at most DRAIN_SECONDS), so that
        none stays blocked on a full queue after the run stopped."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            try:
                get(timeout=WAIT_SLICE)
            except queue.Empty:
                if not any(state.get("putting") for state in all_states[:producers]):
                    return
            except Exception:
                return  # a queue that cannot be drained: bulk_stress's stop grace applies

    def thread_state(t: int) -> dict[str, Any]:
        state = all_states[t] = {"got": [], "owed": share, "seen": 0, "put": 0, "putting": False}
        return state  # made in thread t (bulk_stress); all_states lets a timeout read all

    try:
        result = bulk_stress(
            op,
            threads=producers + consumers,
            operations=max(-(-items_per_producer // batch), share),
            thread_state=thread_state,
        )
    except HarnessError as error:
        roles = (
            f"mpmc_stress: producers are thread(s) {_span(0, producers - 1)}, "
            f"consumers {_span(producers, producers + consumers - 1)}\n"
        )
        raise type(error)(roles + str(error)) from error.__cause__
    received = [state["got"] for state in result.states[producers:]]
    delivered = [item for got in received for item in got]
    expected = {(p, n) for p in range(producers) for n in range(items_per_producer)}
    assert len(delivered) == total, f"{len(delivered)} items delivered, {total} put"
    assert set(delivered) == expected, "an item was lost or delivered twice"
    for c, got in enumerate(received):
        last: dict[int, int] = {}
        for producer, n in got:
            assert last.get(producer, -1) < n, (
                f"consumer {c} got producer {producer}'s item {n} after item {last[producer]}"
            )
            last[producer] = n
    return MPMCResult(
        items=total,
        max_size_seen=max(state["seen"] for state in result.states),
        seconds=result.seconds,
    )


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _missing(
    c: int,
    get_timeout: float,
    states: list[dict[str, Any]],
    producers: int,
    qsize: Callable[[], int],
) -> str:
    """Consumer c's timeout message: what it still owed, and (a snapshot, taken while the
    other threads run) the items whose put had returned but that no consumer holds."""
    put_so_far = {(p, n) for p in range(producers) for n in range(states[p]["put"])}
    delivered = {item for state in states[producers:] for item in list(state["got"])}
    missing = sorted(put_so_far - delivered)
    total_put = len(put_so_far)
    return (
        f"consumer {c} (thread {producers + c}) got nothing for get_timeout={get_timeout}s "
        f"and still owed {states[producers + c]['owed']} item(s); at that moment "
        f"{total_put} item(s) had been put, {len(delivered)} delivered and qsize() was "
        f"{qsize()}; {len(missing)} put but never delivered (a lost item or wake-up): "
        f"{missing[:10]}{' ...' if len(missing) > 10 else ''}"
    )
