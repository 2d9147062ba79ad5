"""Benchmark: ShardedDict vs ``dict`` + one ``Lock`` vs a plain ``dict`` (single operations
only, where that is safe) vs ``ft_utils.ConcurrentDict`` (when it is installed), at 1/2/4/8
threads, on three workloads over two key spaces.

Workloads (each thread runs over keys drawn at random by that thread, for SECONDS):
* read-heavy: 90% ``get``, 10% set;
* write-heavy: 100% set;
* increment-heavy: 100% ``d[k] += 1`` done atomically (``increment`` for ShardedDict; under
  the lock for dict + Lock; not offered for the plain dict, where it would be a race).

The map is filled by the main thread before the threads start and the threads look keys up
with ints they made themselves -- so every thread works on entries another (still alive)
thread created, the normal case in a swarm, and the case that hits the cross-thread cliff
described in docs/sharded_dict.md. Variants marked "interned keys" use ``sys.intern(str(k))``
keys instead (immortal objects on 3.13t, which avoid that cliff); "handles" use one
``ShardedDict.handle()`` per thread; "private ShardedDict" is the control where each thread
fills and uses a map of its own (the same loop on thread-private objects).

Every variant runs in the same process, interleaved; medians of REPEATS; figures are
aggregate operations per second and ratios. Usage: python benchmarks/bench_sharded_dict.py
Environment (all recorded): BENCH_SECONDS=0.2 (per measurement), BENCH_THREADS="1,2,4,8",
BENCH_REPEATS=5, BENCH_KEY_SPACES="1000,100000".
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

REPEATS = _results.repeats(5)  # $BENCH_REPEATS overrides
SECONDS = float(__import__("os").environ.get("BENCH_SECONDS", "0.2"))  # per measurement
BATCH = 2_000  # keys each thread draws, then cycles through
THREAD_COUNTS = _results.thread_counts((1, 2, 4, 8))  # $BENCH_THREADS overrides
KEY_SPACES = _results.int_list("BENCH_KEY_SPACES", (1_000, 100_000))
WORKLOADS = ("read-heavy", "write-heavy", "increment-heavy")

try:
    from ft_utils.concurrency import ConcurrentDict  # type: ignore[import-not-found]
except ImportError:  # not installed, or does not build on this interpreter
    ConcurrentDict = None


Step = Callable[[list[Any]], int]  # runs one batch over these keys, returns the count


def int_key(k: int) -> Any:
    return k


def interned_key(k: int) -> Any:
    return sys.intern(str(k))


def sharded_step(d: Any, workload: str) -> Step:
    """The workload's loop on ``d``: a ShardedDict, or (read- and write-heavy only, single
    operations being safe there) a plain dict or ft_utils.ConcurrentDict."""
    get = d.get

    def read_heavy(keys: list[Any]) -> int:
        for i, key in enumerate(keys):
            if i % 10:
                get(key)
            else:
                d[key] = i
        return len(keys)

    def write_heavy(keys: list[Any]) -> int:
        for i, key in enumerate(keys):
            d[key] = i
        return len(keys)

    def increment_heavy(keys: list[Any]) -> int:
        increment = d.increment  # ShardedDict only: a plain read-add-write would lose updates
        for key in keys:
            increment(key)
        return len(keys)

    return {
        "read-heavy": read_heavy,
        "write-heavy": write_heavy,
        "increment-heavy": increment_heavy,
    }[workload]


def locked_step(
    d: dict[Any, int], lock: threading.Lock, workload: str, use_get: bool = True
) -> Step:
    """dict + one Lock, as a user writes it: with ``d.get`` (``use_get``), or with ``in`` and
    ``[]`` only (on 3.13t ``dict.get`` of another live thread's key or value takes a slow
    path that ``in`` and ``[]`` do not: docs/lock_granularity.md, rule 2)."""

    def read_heavy(keys: list[Any]) -> int:
        for i, key in enumerate(keys):
            with lock:
                if i % 10:
                    if use_get:
                        d.get(key)
                    elif key in d:
                        d[key]
                else:
                    d[key] = i
        return len(keys)

    def write_heavy(keys: list[Any]) -> int:
        for i, key in enumerate(keys):
            with lock:
                d[key] = i
        return len(keys)

    def increment_heavy(keys: list[Any]) -> int:
        if use_get:
            for key in keys:
                with lock:
                    d[key] = d.get(key, 0) + 1
        else:
            for key in keys:
                with lock:
                    d[key] = d[key] + 1 if key in d else 1
        return len(keys)

    return {
        "read-heavy": read_heavy,
        "write-heavy": write_heavy,
        "increment-heavy": increment_heavy,
    }[workload]


Variant = tuple[Callable[[], Callable[[], Step]], Callable[[int], Any]]


def variants(workload: str, keys: int) -> dict[str, Variant]:
    """name -> (setup in the main thread returning a per-thread step maker, key maker)."""

    def filled(key: Callable[[int], Any]) -> dict[Any, int]:
        return {key(k): 0 for k in range(keys)}

    def v_sharded(key: Callable[[int], Any], per_thread_handle: bool) -> Callable[[], Any]:
        def setup() -> Callable[[], Step]:
            d = ShardedDict(filled(key))
            if per_thread_handle:
                return lambda: sharded_step(d.handle(), workload)
            return lambda: sharded_step(d, workload)

        return setup

    def v_locked(key: Callable[[int], Any], use_get: bool = True) -> Callable[[], Any]:
        def setup() -> Callable[[], Step]:
            d, lock = filled(key), threading.Lock()
            return lambda: locked_step(d, lock, workload, use_get)

        return setup

    def v_plain() -> Callable[[], Step]:
        d = filled(int_key)
        return lambda: sharded_step(d, workload)

    def v_private() -> Callable[[], Step]:
        return lambda: sharded_step(ShardedDict(filled(int_key)), workload)  # made by the thread

    def v_ft_utils() -> Callable[[], Step]:
        d = ConcurrentDict()
        for k in range(keys):
            d[k] = 0
        return lambda: sharded_step(d, workload)

    table: dict[str, Variant] = {
        "ShardedDict": (v_sharded(int_key, False), int_key),
        "ShardedDict handles": (v_sharded(int_key, True), int_key),
        "dict + Lock": (v_locked(int_key), int_key),
        "dict + Lock, no .get": (v_locked(int_key, use_get=False), int_key),
        "handles, interned keys": (v_sharded(interned_key, True), interned_key),
        "dict + Lock, interned": (v_locked(interned_key), interned_key),
        "private ShardedDict": (v_private, int_key),
    }
    if workload != "increment-heavy":
        table["plain dict"] = (v_plain, int_key)
        if ConcurrentDict is not None:
            table["ft_utils.ConcurrentDict"] = (v_ft_utils, int_key)
    return table


def run(threads: int, keys: int, variant: Variant) -> float:
    setup, key = variant
    make_step = setup()

    def prepare(seed: int) -> Callable[[], int]:
        step = make_step()
        rng = random.Random(seed)
        chosen = [key(rng.randrange(keys)) for _ in range(BATCH)]
        return lambda: step(chosen)

    return _results.rate_threads(threads, prepare, SECONDS)


def main() -> None:
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {SECONDS} s per measurement, "
        f"median of {REPEATS}; ft_utils: {'installed' if ConcurrentDict else 'not installed'}"
    )
    cells: list[dict[str, Any]] = []
    for keys in KEY_SPACES:
        for workload in WORKLOADS:
            table = variants(workload, keys)
            rates: dict[tuple[str, int], list[float]] = {}
            for _ in range(REPEATS):
                for threads in THREAD_COUNTS:
                    for name, variant in table.items():
                        rates.setdefault((name, threads), []).append(run(threads, keys, variant))
            print(f"\n{workload}, {keys:,} keys: aggregate M ops/s (and x its own 1 thread)")
            for name in table:
                median = {t: statistics.median(rates[(name, t)]) for t in THREAD_COUNTS}
                first = median[THREAD_COUNTS[0]]
                line = "".join(
                    f"{median[t] / 1e6:7.2f} ({median[t] / first:4.2f}x)" for t in THREAD_COUNTS
                )
                print(f"  {name:24}{line}")
                cells.extend(
                    _results.cell(
                        {"keys": keys, "workload": workload, "variant": name, "threads": t},
                        "ops_per_second",
                        rates[(name, t)],
                        unit="ops/s",
                    )
                    for t in THREAD_COUNTS
                )
            sys.stdout.flush()
    _results.save(
        "sharded_dict",
        cells,
        parameters={
            "seconds": SECONDS,
            "repeats": REPEATS,
            "batch": BATCH,
            "thread_counts": THREAD_COUNTS,
            "key_spaces": KEY_SPACES,
            "ft_utils": ConcurrentDict is not None,
        },
    )


if __name__ == "__main__":
    main()
