"""Multi-producer multi-consumer stress for any ``queue.Queue``-like object.

:func:`mpmc_stress` runs P producers and C consumers through one queue on real threads
(via :func:`~atomics.testing.bulk_stress`) and checks what a bounded FIFO queue promises:

* every item is delivered exactly once (items are unique ``(producer, sequence)`` pairs);
* each producer's items reach each consumer in the order they were put;
* the size never exceeds the bound: every thread samples ``qsize()`` after each operation,
  and the largest sample is returned for the caller to compare with ``maxsize``.

Single items use ``put``/``get``; ``batch > 1`` uses ``put_many``/``get_many`` (as
:class:`atomics.BoundedQueue`). Gets wait with a timeout, so a lost item or a lost wake-up
fails the run (``queue.Empty`` inside a worker, reported as ``HarnessError``) instead of
hanging it.

>>> import queue
>>> mpmc_stress(lambda: queue.Queue(4), producers=2, consumers=2, items_per_producer=100).items
200
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atomics.testing.bulk import bulk_stress

__all__ = ["MPMCResult", "mpmc_stress"]


@dataclass(frozen=True)
class MPMCResult:
    """What :func:`mpmc_stress` moved and saw."""

    items: int  # delivered, each exactly once (checked)
    max_size_seen: int  # the largest qsize() any thread sampled
    seconds: float


def mpmc_stress(
    make_queue: Callable[[], Any],
    *,
    producers: int,
    consumers: int,
    items_per_producer: int,
    batch: int = 1,
    get_timeout: float = 60.0,
) -> MPMCResult:
    """Move ``producers * items_per_producer`` unique items through ``make_queue()``;
    assert exactly-once delivery and per-producer order; return the figures.

    The total must divide evenly among the consumers (``ValueError`` otherwise).
    """
    total = producers * items_per_producer
    if producers < 1 or consumers < 1 or batch < 1 or total % consumers:
        raise ValueError("need producers, consumers, batch >= 1 and items divisible by consumers")
    share = total // consumers
    q = make_queue()
    put_batch: Callable[[list[Any]], None] = (
        q.put_many if batch > 1 else (lambda items: q.put(items[0]))
    )
    qsize = q.qsize

    def op(state: dict[str, Any], t: int, i: int) -> None:
        if t < producers:
            start = i * batch
            if start >= items_per_producer:
                return  # this producer is done
            put_batch([(t, n) for n in range(start, min(start + batch, items_per_producer))])
        else:
            owed = state["owed"]
            if owed <= 0:
                return  # this consumer has its share
            if batch > 1:
                got = q.get_many(min(batch, owed), timeout=get_timeout)
            else:
                got = [q.get(timeout=get_timeout)]
            state["got"].extend(got)
            state["owed"] = owed - len(got)
        size = qsize()
        state["seen"] = max(state["seen"], size)

    def thread_state(t: int) -> dict[str, Any]:
        return {"got": [], "owed": share, "seen": 0}

    result = bulk_stress(
        op,
        threads=producers + consumers,
        operations=max(-(-items_per_producer // batch), share),
        thread_state=thread_state,
    )
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
