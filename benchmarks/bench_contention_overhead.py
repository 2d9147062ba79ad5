"""Benchmark: what contention counting costs -- each structure made with
``track_contention=False`` (the default: plain locks) against ``track_contention=True``
(counting locks, atomics.contention), at 1 and 2 threads.

Every variant runs in the same process, interleaved round by round (so drift in the
machine's speed hits all alike); each figure is the median of REPEATS rounds. Reported:
aggregate operations per second and, per operation and thread count, the ratio on/off.

Operations (each thread does OPS of them, on one shared structure):
* ``ShardedDict set``: ``d[key] = i`` over 64 int keys (a thread's own keys at 2 threads);
* ``ShardedDict increment``: ``d.increment(key)``, the same keys;
* ``AtomicInteger increment``: ``n.increment_and_get()`` on one shared AtomicInteger;
* ``BoundedQueue put/get``: at 1 thread ``q.put(i); q.get()``; at 2 threads one producer
  and one consumer through a queue of 64 (each item counted once: OPS items in all).

"off" must be the code without counting: its locks are the plain ``threading.Lock`` objects
(the tests assert it), so its hot path is unchanged. To compare "off" with a checkout that
predates the counters in the same conditions, run this script with ``--off-only`` under
that checkout's ``PYTHONPATH``, alternating with a run of this one.

Usage: python benchmarks/bench_contention_overhead.py [OPS_PER_THREAD] [--off-only]
(default 100,000)
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import _results
from atomics import AtomicInteger, BoundedQueue, ShardedDict, runtime

REPEATS = 5
THREAD_COUNTS = (1, 2)
KEYS = 64

Body = Callable[[], None]
# (threads, ops, track) -> prepare(t) for _results.time_threads
Workload = Callable[[int, int, bool], Callable[[int], Body]]


def _make(kind: type, track: bool, *args: object) -> object:
    if track:
        return kind(*args, track_contention=True)
    return kind(*args)  # the call as it was before the counters existed (--off-only)


def sharded_set(threads: int, ops: int, track: bool) -> Callable[[int], Body]:
    d = _make(ShardedDict, track)

    def prepare(t: int) -> Body:
        keys = [t * KEYS + k for k in range(KEYS)]
        setitem = d.__setitem__  # type: ignore[attr-defined]

        def body() -> None:
            for i in range(ops):
                setitem(keys[i % KEYS], i)

        return body

    return prepare


def sharded_increment(threads: int, ops: int, track: bool) -> Callable[[int], Body]:
    d = _make(ShardedDict, track)

    def prepare(t: int) -> Body:
        keys = [t * KEYS + k for k in range(KEYS)]
        increment = d.increment  # type: ignore[attr-defined]

        def body() -> None:
            for i in range(ops):
                increment(keys[i % KEYS])

        return body

    return prepare


def atomic_increment(threads: int, ops: int, track: bool) -> Callable[[int], Body]:
    n = _make(AtomicInteger, track)

    def prepare(t: int) -> Body:
        increment = n.increment_and_get  # type: ignore[attr-defined]

        def body() -> None:
            for _ in range(ops):
                increment()

        return body

    return prepare


def queue_put_get(threads: int, ops: int, track: bool) -> Callable[[int], Body]:
    q = _make(BoundedQueue, track, KEYS)
    put, get = q.put, q.get  # type: ignore[attr-defined]

    def prepare(t: int) -> Body:
        def both() -> None:
            for i in range(ops):
                put(i)
                get()

        def produce() -> None:
            for i in range(ops):
                put(i)

        def consume() -> None:
            for _ in range(ops):
                get()

        if threads == 1:
            return both
        return produce if t == 0 else consume

    return prepare


WORKLOADS: dict[str, Workload] = {
    "ShardedDict set": sharded_set,
    "ShardedDict increment": sharded_increment,
    "AtomicInteger increment": atomic_increment,
    "BoundedQueue put/get": queue_put_get,
}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    off_only = "--off-only" in sys.argv[1:]
    ops = int(args[0]) if args else 100_000
    modes = (False,) if off_only else (False, True)
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {ops:,} operations per thread "
        f"(BoundedQueue at 2 threads: {ops:,} items), median of {REPEATS}"
    )
    timings: dict[tuple[str, int, bool], list[float]] = {}
    for _ in range(REPEATS):
        for threads in THREAD_COUNTS:
            for name, workload in WORKLOADS.items():
                for track in modes:
                    seconds = _results.time_threads(threads, workload(threads, ops, track))
                    timings.setdefault((name, threads, track), []).append(seconds)

    def total(name: str, threads: int) -> int:
        return ops if name.startswith("BoundedQueue") else threads * ops

    samples = {key: [total(key[0], key[1]) / s for s in v] for key, v in timings.items()}
    rates = {key: statistics.median(v) for key, v in samples.items()}
    print("\naggregate M operations/s (off = track_contention=False, on = True)")
    print(
        f"  {'operation':26}" + "".join(f"{f'{t}T off':>10}{f'{t}T on':>10}" for t in THREAD_COUNTS)
    )
    derived: dict[str, float] = {}
    for name in WORKLOADS:
        line = f"  {name:26}"
        for t in THREAD_COUNTS:
            line += f"{rates[(name, t, False)] / 1e6:10.3f}"
            line += f"{rates[(name, t, True)] / 1e6:10.3f}" if not off_only else f"{'-':>10}"
        print(line)
    if not off_only:
        print("\non/off rate ratio (1.00: counting costs nothing; 0.80: 20% slower)")
        for name in WORKLOADS:
            ratios = []
            for t in THREAD_COUNTS:
                ratio = rates[(name, t, True)] / rates[(name, t, False)]
                derived[f"{name} {t}T on/off"] = ratio
                ratios.append(f"{t}T {ratio:5.2f}x")
            print(f"  {name:26}  " + "   ".join(ratios))
    _results.save(
        "contention_overhead",
        [
            _results.cell(
                {"operation": name, "threads": t, "tracking": track},
                "operations_per_second",
                samples[(name, t, track)],
                unit="operations/s",
            )
            for name in WORKLOADS
            for t in THREAD_COUNTS
            for track in modes
        ],
        parameters={
            "ops_per_thread": ops,
            "repeats": REPEATS,
            "thread_counts": THREAD_COUNTS,
            "off_only": off_only,
        },
        derived=derived,
    )


if __name__ == "__main__":
    main()
