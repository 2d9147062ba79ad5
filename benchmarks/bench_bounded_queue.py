"""Benchmark: BoundedQueue (one lock) vs a two-lock queue (Michael & Scott / Java's
``LinkedBlockingQueue``, built here for the comparison) vs ``queue.Queue(maxsize)`` vs
``ft_utils.concurrency.StdConcurrentQueue(maxsize)`` where it installs.

Configurations: 1P1C, 2P2C, 4P4C (P producers, as many consumers), single items
(``put``/``get``) and batches of 64 (``put_many``/``get_many``; for ``queue.Queue`` and
ft_utils, which have no batch calls, 64 single calls). Each producer moves ITEMS items;
each consumer takes as many; capacity MAXSIZE. Items are unique ints made by the producer
(consumers then touch objects another live thread created: the cross-thread cost described
in docs/sharded_dict.md) and, to isolate the queue's own cost, small (immortal) ints.
Every variant runs in the same process, interleaved; medians of REPEATS; aggregate items
per second (items moved / wall time) and ratios. Each run also checks that every item
arrived exactly once.

Usage: python benchmarks/bench_bounded_queue.py
Environment (recorded): BENCH_THREADS="2,4,8" (threads in all: t // 2 pairs for each t >= 2),
BENCH_REPEATS=5, BENCH_ITEMS=40000 (per producer).
"""

from __future__ import annotations

import itertools
import queue
import statistics
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import _results
from atomics import BoundedQueue, runtime

REPEATS = _results.repeats(5)  # $BENCH_REPEATS overrides
BATCH = 64
ITEMS = _results.int_list("BENCH_ITEMS", (40_000,))[0]  # per producer (a multiple of BATCH)
if ITEMS % BATCH:
    raise SystemExit(f"BENCH_ITEMS: a multiple of {BATCH}, got {ITEMS}")
MAXSIZE = 1_024
# $BENCH_THREADS="2,4,8" (threads in all) runs 1, 2, 4 pairs: t // 2 for each count t >= 2
PAIRS = tuple(sorted({t // 2 for t in _results.thread_counts((2, 4, 8)) if t >= 2})) or (1,)

try:
    from ft_utils.concurrency import StdConcurrentQueue  # type: ignore[import-not-found]
except ImportError:  # not installed, or does not build on this interpreter
    StdConcurrentQueue = None


class TwoLockQueue:
    """The two-lock bounded queue (``LinkedBlockingQueue``'s algorithm) in pure Python:
    producers serialise on ``put_lock``, consumers on ``take_lock``; the item count, which
    both sides read and write, is Java's ``AtomicInteger`` -- here a third lock. A producer
    signals consumers only when the queue was empty, a consumer signals producers only when
    it was full; each side cascades a wake-up to its own kind while the other kind can go
    on. Sleepers are counted, as in BoundedQueue, so that nobody notifies an empty room.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.items: deque[Any] = deque()
        self.count = 0  # written under count_lock; read alone where a stale value is safe
        self.count_lock = threading.Lock()
        self.put_lock = threading.Lock()
        self.not_full = threading.Condition(self.put_lock)
        self.putters = 0  # under put_lock
        self.take_lock = threading.Lock()
        self.not_empty = threading.Condition(self.take_lock)
        self.getters = 0  # under take_lock

    def _signal_not_empty(self) -> None:
        with self.take_lock:
            if self.getters:
                self.not_empty.notify()

    def _signal_not_full(self) -> None:
        with self.put_lock:
            if self.putters:
                self.not_full.notify()

    def put_many(self, batch: list[Any]) -> None:
        n = len(batch)
        with self.put_lock:
            while self.maxsize - self.count < n:  # only consumers change it now: it can only grow
                self.putters += 1
                try:
                    self.not_full.wait()
                finally:
                    self.putters -= 1
            self.items.extend(batch)
            with self.count_lock:
                before = self.count
                self.count = before + n
            if before + n < self.maxsize and self.putters:
                self.not_full.notify()
        if before == 0:
            self._signal_not_empty()

    def put(self, item: Any) -> None:
        self.put_many([item])

    def get_many(self, max_items: int) -> list[Any]:
        with self.take_lock:
            while self.count == 0:  # only producers change it now: it can only grow
                self.getters += 1
                try:
                    self.not_empty.wait()
                finally:
                    self.getters -= 1
            taken = min(max_items, self.count)
            batch = [self.items.popleft() for _ in range(taken)]
            with self.count_lock:
                before = self.count
                self.count = before - taken
            if before > taken and self.getters:
                self.not_empty.notify()
        # A producer of n <= BATCH items sleeps only while count > maxsize - n: signal while
        # one may (Java's "was full" test, widened for batches; the benchmark's producers all
        # use one batch size, so waking one at a time strands nobody).
        if before > self.maxsize - BATCH:
            self._signal_not_full()
        return batch

    def get(self) -> Any:
        return self.get_many(1)[0]


Mover = tuple[Callable[[list[Any]], None], Callable[[int], list[Any]]]  # (put batch, get up to)


def movers(batched: bool) -> dict[str, Callable[[], Mover]]:
    def bounded() -> Mover:
        q: BoundedQueue[Any] = BoundedQueue(MAXSIZE)
        if batched:
            return q.put_many, q.get_many
        return (lambda items: q.put(items[0])), (lambda n: [q.get()])

    def two_lock() -> Mover:
        q = TwoLockQueue(MAXSIZE)
        if batched:
            return q.put_many, q.get_many
        return (lambda items: q.put(items[0])), (lambda n: [q.get()])

    def singles(q: Any) -> Mover:
        put, get = q.put, q.get

        def put_batch(items: list[Any]) -> None:
            for item in items:
                while True:
                    try:
                        put(item)
                        break
                    except queue.Full:
                        # ft_utils 0.2.0: a *blocking* put can raise Full when another
                        # producer fills the last slot between its two full() checks.
                        continue

        def get_batch(n: int) -> list[Any]:
            return [get() for _ in range(n)]

        return put_batch, get_batch

    table: dict[str, Callable[[], Mover]] = {
        "BoundedQueue (one lock)": bounded,
        "two-lock queue": two_lock,
        "queue.Queue": lambda: singles(queue.Queue(MAXSIZE)),
    }
    if StdConcurrentQueue is not None:
        table["ft_utils StdConcurrentQueue"] = lambda: singles(StdConcurrentQueue(MAXSIZE))
    return table


def unique_int(n: int) -> int:
    return n


def small_int(n: int) -> int:
    return n & 255  # 0..255: immortal objects, free of the cross-thread cliff


ITEM_KINDS = {"unique ints": unique_int, "small ints": small_int}


def run(pairs: int, batched: bool, make: Callable[[], Mover], item: Callable[[int], int]) -> float:
    put_batch, get_batch = make()
    size = BATCH if batched else 1
    totals = [0] * pairs  # per consumer: the sum of the items it took

    def prepare(t: int) -> Callable[[], None]:
        if t < pairs:  # producer: items t*ITEMS .. (t+1)*ITEMS-1
            batches = [
                [item(n) for n in range(t * ITEMS + i, t * ITEMS + i + size)]
                for i in range(0, ITEMS, size)
            ]

            def produce() -> None:
                for batch in batches:
                    put_batch(batch)

            return produce

        def consume() -> None:
            owed, total = ITEMS, 0
            while owed:
                got = get_batch(min(size, owed))
                owed -= len(got)
                total += sum(got)
            totals[t - pairs] = total

        return consume

    seconds = _results.time_threads(2 * pairs, prepare)
    moved = pairs * ITEMS
    assert sum(totals) == sum(map(item, range(moved))), "an item was lost or duplicated"
    return moved / seconds


def main() -> None:
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {ITEMS:,} items per producer, capacity "
        f"{MAXSIZE}, median of {REPEATS}; ft_utils: "
        f"{'installed' if StdConcurrentQueue else 'not installed'}"
    )
    cells: list[dict[str, Any]] = []
    for (kind, item), batched in itertools.product(ITEM_KINDS.items(), (False, True)):
        table = movers(batched)
        rates: dict[tuple[str, int], list[float]] = {}
        for _ in range(REPEATS):
            for pairs in PAIRS:
                for name, make in table.items():
                    rates.setdefault((name, pairs), []).append(run(pairs, batched, make, item))
        label = f"{kind}, " + (f"batches of {BATCH}" if batched else "single items")
        shown = " / ".join(f"{p}P{p}C" for p in PAIRS)
        print(f"\n{label}: M items/s at {shown} (and x queue.Queue in the same cell)")
        for name in table:
            line = ""
            for pairs in PAIRS:
                rate = statistics.median(rates[(name, pairs)])
                base = statistics.median(rates[("queue.Queue", pairs)])
                line += f"{rate / 1e6:8.2f} ({rate / base:5.2f}x)"
                cells.append(
                    _results.cell(
                        {"items": kind, "batched": batched, "variant": name, "pairs": pairs},
                        "items_per_second",
                        rates[(name, pairs)],
                        unit="items/s",
                    )
                )
            print(f"  {name:28}{line}")
        sys.stdout.flush()
    _results.save(
        "bounded_queue",
        cells,
        parameters={
            "items_per_producer": ITEMS,
            "batch": BATCH,
            "maxsize": MAXSIZE,
            "repeats": REPEATS,
            "pairs": PAIRS,
            "ft_utils": StdConcurrentQueue is not None,
        },
    )


if __name__ == "__main__":
    main()
