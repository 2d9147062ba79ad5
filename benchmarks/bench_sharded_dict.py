"""Benchmark: ShardedDict vs ``dict`` + one ``Lock`` vs a plain ``dict`` (single operations
only, where that is safe) vs ``ft_utils.ConcurrentDict`` (when it is installed), at 1/2/4/8
threads, on three workloads over two key spaces.

Workloads (each thread does OPS operations on keys drawn at random by that thread):
* read-heavy: 90% ``get``, 10% set;
* write-heavy: 100% set;
* increment-heavy: 100% ``d[k] += 1`` done atomically (``increment`` for ShardedDict; under
  the lock for dict + Lock; not offered for the plain dict, where it would be a race).

The map is filled by the main thread before the threads start -- so every thread works on
entries another (still alive) thread created, the normal case in a swarm -- plus a control
where each thread fills and uses a ShardedDict of its own ("private ShardedDict").

Every variant runs in the same process, interleaved; medians of REPEATS; figures are
aggregate operations per second and ratios. Usage: python benchmarks/bench_sharded_dict.py
"""

from __future__ import annotations

import random
import statistics
import sys
import threading
from collections.abc import Callable
from typing import Any

import _results
from atomics import ShardedDict, runtime

REPEATS = 3
OPS = 10_000
THREAD_COUNTS = (1, 2, 4, 8)
KEY_SPACES = (1_000, 100_000)
WORKLOADS = ("read-heavy", "write-heavy", "increment-heavy")

try:
    from ft_utils.concurrency import ConcurrentDict  # type: ignore[import-not-found]
except ImportError:  # not installed, or does not build on this interpreter
    ConcurrentDict = None


Op = Callable[[int, int], object]  # (key, i) -> ...


def sharded(d: ShardedDict[int, int], workload: str) -> Op:
    get, increment = d.get, d.increment

    def read_heavy(key: int, i: int) -> object:
        if i % 10:
            return get(key)
        d[key] = i
        return None

    def write_heavy(key: int, i: int) -> object:
        d[key] = i
        return None

    def increment_heavy(key: int, i: int) -> object:
        return increment(key)

    return {
        "read-heavy": read_heavy,
        "write-heavy": write_heavy,
        "increment-heavy": increment_heavy,
    }[workload]


def locked_dict(d: dict[int, int], lock: threading.Lock, workload: str) -> Op:
    def read_heavy(key: int, i: int) -> object:
        with lock:
            if i % 10:
                return d.get(key)
            d[key] = i
            return None

    def write_heavy(key: int, i: int) -> object:
        with lock:
            d[key] = i
        return None

    def increment_heavy(key: int, i: int) -> object:
        with lock:
            d[key] = d.get(key, 0) + 1
        return None

    return {
        "read-heavy": read_heavy,
        "write-heavy": write_heavy,
        "increment-heavy": increment_heavy,
    }[workload]


def plain_dict(d: Any, workload: str) -> Op | None:
    if workload == "increment-heavy":
        return None  # a read-add-write on a plain dict loses updates: not a valid variant

    def read_heavy(key: int, i: int) -> object:
        if i % 10:
            return d.get(key) if hasattr(d, "get") else d[key]
        d[key] = i
        return None

    def write_heavy(key: int, i: int) -> object:
        d[key] = i
        return None

    return read_heavy if workload == "read-heavy" else write_heavy


def variants(workload: str, keys: int) -> dict[str, Callable[[], Callable[[], Op]] | None]:
    """name -> setup (main thread) returning a per-thread op maker (run in each thread)."""

    def filled() -> dict[int, int]:
        return dict.fromkeys(range(keys), 0)

    def v_sharded() -> Callable[[], Op]:
        d = ShardedDict(filled())
        return lambda: sharded(d, workload)

    def v_locked() -> Callable[[], Op]:
        d, lock = filled(), threading.Lock()
        return lambda: locked_dict(d, lock, workload)

    def v_plain() -> Callable[[], Op]:
        d = filled()
        return lambda: plain_dict(d, workload)  # type: ignore[return-value]

    def v_private() -> Callable[[], Op]:
        return lambda: sharded(ShardedDict(filled()), workload)  # filled by the thread itself

    def v_ft_utils() -> Callable[[], Op]:
        d = ConcurrentDict()
        for key in range(keys):
            d[key] = 0
        return lambda: plain_dict(d, workload)  # type: ignore[return-value]

    table: dict[str, Callable[[], Callable[[], Op]] | None] = {
        "ShardedDict": v_sharded,
        "dict + Lock": v_locked,
        "plain dict": v_plain if workload != "increment-heavy" else None,
        "private ShardedDict": v_private,
    }
    if ConcurrentDict is not None and workload != "increment-heavy":
        table["ft_utils.ConcurrentDict"] = v_ft_utils
    return {name: make for name, make in table.items() if make is not None}


def run(threads: int, keys: int, make_op: Callable[[], Op]) -> float:
    def prepare(seed: int) -> Callable[[], None]:
        op = make_op()
        rng = random.Random(seed)
        chosen = [rng.randrange(keys) for _ in range(OPS)]

        def body() -> None:
            for i, key in enumerate(chosen):
                op(key, i)

        return body

    return _results.time_threads(threads, prepare)


def main() -> None:
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {OPS:,} operations per thread, "
        f"median of {REPEATS}; ft_utils: {'installed' if ConcurrentDict else 'not installed'}"
    )
    rows = []
    for keys in KEY_SPACES:
        for workload in WORKLOADS:
            timings: dict[tuple[str, int], list[float]] = {}
            for _ in range(REPEATS):
                for threads in THREAD_COUNTS:
                    for name, setup in variants(workload, keys).items():
                        timings.setdefault((name, threads), []).append(
                            run(threads, keys, setup())  # type: ignore[misc]
                        )
            print(f"\n{workload}, {keys:,} keys: aggregate M ops/s (and x its own 1 thread)")
            for name in variants(workload, keys):
                rates = {t: t * OPS / statistics.median(timings[(name, t)]) for t in THREAD_COUNTS}
                cells = "".join(
                    f"{rates[t] / 1e6:7.2f} ({rates[t] / rates[1]:4.2f}x)" for t in THREAD_COUNTS
                )
                print(f"  {name:24}{cells}")
                rows.extend(
                    {
                        "keys": keys,
                        "workload": workload,
                        "variant": name,
                        "threads": t,
                        "ops_per_second": rates[t],
                    }
                    for t in THREAD_COUNTS
                )
            sys.stdout.flush()
    _results.save(
        "sharded_dict",
        {
            "ops_per_thread": OPS,
            "repeats": REPEATS,
            "rows": rows,
            "ft_utils": ConcurrentDict is not None,
        },
    )


if __name__ == "__main__":
    main()
