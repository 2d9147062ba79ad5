"""Benchmark: counter increments at 1/2/4/8 threads -- AtomicInteger vs a bare locked ``+=``
vs StripedCounter (plain and through per-thread handles).

Every variant runs in the same process, interleaved round by round (so drift in the
machine's speed hits all alike); each figure is the median of REPEATS rounds. Reported:
aggregate increments per second, each variant's scaling (its N-thread rate over its own
1-thread rate), and AtomicInteger's 1-thread cost against the bare locked ``+=``.

Variants (each thread increments OPS times):
* ``locked +=``: ``with lock: box.value += 1`` on one shared object and one shared lock;
* ``AtomicInteger``: ``counter.increment_and_get()`` on one shared AtomicInteger;
* ``StripedCounter.increment``: the plain method on one shared counter;
* ``StripedCounter handle``: ``handle.increment()``, a handle made in each thread;
* ``private AtomicInteger``: one AtomicInteger *per thread* -- no sharing at all; the
  control that shows what sharing costs AtomicInteger (a handle, which takes no lock, can
  run faster than it).

Usage: python benchmarks/bench_counters.py [OPS_PER_THREAD]   (default 200,000)
Environment: BENCH_THREADS="1,2,4,8" (thread counts), BENCH_REPEATS=7 (both recorded).
"""

from __future__ import annotations

import statistics
import sys
import threading
from collections.abc import Callable

import _results
from atomics import AtomicInteger, StripedCounter, runtime

REPEATS = _results.repeats(7)  # $BENCH_REPEATS overrides
THREAD_COUNTS = _results.thread_counts((1, 2, 4, 8))  # $BENCH_THREADS overrides


class Box:
    value = 0


def run(threads: int, ops: int, make_op: Callable[[], Callable[[], object]]) -> float:
    """Seconds for ``threads`` threads doing ``ops`` calls of their own ``make_op()``."""

    def prepare(t: int) -> Callable[[], None]:
        op = make_op()  # made in this thread (a handle must be)

        def body() -> None:
            for _ in range(ops):
                op()

        return body

    return _results.time_threads(threads, prepare)


def variants() -> dict[str, Callable[[], Callable[[], Callable[[], object]]]]:
    """name -> a factory run once per measurement, returning the per-thread op maker."""

    def locked() -> Callable[[], Callable[[], object]]:
        lock, box = threading.Lock(), Box()

        def increment() -> None:
            with lock:
                box.value += 1

        return lambda: increment

    def atomic() -> Callable[[], Callable[[], object]]:
        counter = AtomicInteger()
        return lambda: counter.increment_and_get

    def striped() -> Callable[[], Callable[[], object]]:
        counter = StripedCounter()
        return lambda: counter.increment

    def striped_handle() -> Callable[[], Callable[[], object]]:
        counter = StripedCounter()
        return lambda: counter.handle().increment

    def private() -> Callable[[], Callable[[], object]]:
        return lambda: AtomicInteger().increment_and_get

    return {
        "locked +=": locked,
        "AtomicInteger": atomic,
        "StripedCounter.increment": striped,
        "StripedCounter handle": striped_handle,
        "private AtomicInteger": private,
    }


def main() -> None:
    ops = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {ops:,} increments per thread, "
        f"median of {REPEATS}"
    )
    timings: dict[tuple[str, int], list[float]] = {}
    for _ in range(REPEATS):
        for threads in THREAD_COUNTS:
            for name, factory in variants().items():
                seconds = run(threads, ops, factory())
                timings.setdefault((name, threads), []).append(seconds)
    samples = {key: [key[1] * ops / s for s in values] for key, values in timings.items()}
    rates = {key: statistics.median(values) for key, values in samples.items()}
    header = "  variant                    " + "".join(f"{t:>9}T" for t in THREAD_COUNTS)
    print("\naggregate M increments/s")
    print(header)
    for name in variants():
        print(f"  {name:26} " + "".join(f"{rates[(name, t)] / 1e6:10.2f}" for t in THREAD_COUNTS))
    print("\nscaling (N-thread rate / own 1-thread rate)")
    print(header)
    for name in variants():
        base = rates[(name, THREAD_COUNTS[0])]
        print(f"  {name:26} " + "".join(f"{rates[(name, t)] / base:9.2f}x" for t in THREAD_COUNTS))
    base_t = THREAD_COUNTS[0]  # 1 unless BENCH_THREADS leaves it out
    cost = rates[("AtomicInteger", base_t)] / rates[("locked +=", base_t)]
    print(f"\nAtomicInteger {base_t}-thread rate / locked += {base_t}-thread rate: {cost:.2f}x")
    _results.save(
        "counters",
        [
            _results.cell(
                {"variant": name, "threads": t},
                "increments_per_second",
                samples[(name, t)],
                unit="increments/s",
            )
            for name in variants()
            for t in THREAD_COUNTS
        ],
        parameters={"ops_per_thread": ops, "repeats": REPEATS, "thread_counts": THREAD_COUNTS},
        derived={f"atomic_integer_vs_locked_{base_t}t": cost},
    )


if __name__ == "__main__":
    main()
