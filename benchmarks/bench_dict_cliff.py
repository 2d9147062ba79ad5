"""Benchmark: the cross-thread dict cliff on free-threaded CPython, and what avoids it.

One reader thread does ``get`` on a 1,000-key map; what varies is which thread created the
dict, the stored keys, and the lookup key objects -- and, for the case that falls off the
cliff, ``d[k]`` and ``k in d`` instead of ``d.get(k)``: on 3.13t only ``dict.get`` nests a
second critical section in its slow path. Reported as M lookups/s (median of REPEATS = 5).
docs/lock_granularity.md (rule 2) explains the results. Usage: python benchmarks/bench_dict_cliff.py
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import _results
from atomics import ShardedDict, runtime

KEYS, OPS = 1_000, 50_000
REPEATS = _results.repeats(5)  # $BENCH_REPEATS overrides (one reader thread: no BENCH_THREADS)


def in_exited_thread(make: Callable[[], Any]) -> Any:
    box: list[Any] = []
    helper = threading.Thread(target=lambda: box.append(make()))
    helper.start()
    helper.join()
    return box[0]


# (make the map, make the lookup keys[, how]): see read_rate
Case = (
    tuple[Callable[[], Any], Callable[[], list[int]]]
    | tuple[Callable[[], Any], Callable[[], list[int]], str]
)


def read_rate(
    get_map: Callable[[], Any], lookup_keys: Callable[[], list[int]], how: str = "get"
) -> float:
    """M lookups/s of one reader thread; ``get_map`` and ``lookup_keys`` run in the reader;
    ``how``: ``get`` (``mapping.get(k)``), ``[]`` (``mapping[k]``) or ``in`` (``k in mapping``)."""
    result: list[float] = []

    def reader() -> None:
        mapping, keys = get_map(), lookup_keys()
        get = {"get": mapping.get, "[]": mapping.__getitem__, "in": mapping.__contains__}[how]
        began = time.perf_counter()
        for i in range(OPS):
            get(keys[i % len(keys)])
        result.append(OPS / (time.perf_counter() - began) / 1e6)

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join()
    return result[0]


def main() -> None:
    info = runtime.runtime_info()
    print(f"{info.description}, {info.cpu_count} CPUs; 1 reader thread, {KEYS:,} keys")
    main_keys = list(range(300, 300 + KEYS))  # made by this (main) thread, which stays alive
    main_dict = dict.fromkeys(main_keys, 0)
    exited_dict = in_exited_thread(lambda: dict.fromkeys(range(300, 300 + KEYS), 0))
    main_sharded = ShardedDict(dict.fromkeys(main_keys, 0))
    # Keys made by this live thread and referenced by nothing but the map (range() makes a
    # fresh int object for each key above 256; the temporary dict is dropped at once).
    map_only_dict = dict.fromkeys(range(300, 300 + KEYS), 0)
    map_only_sharded = ShardedDict(dict.fromkeys(range(300, 300 + KEYS), 0))
    exited_sharded = in_exited_thread(lambda: ShardedDict(dict.fromkeys(range(300, 1300), 0)))

    def distinct() -> list[int]:  # equal to the stored keys, but new objects (made here)
        return [int(str(k)) for k in range(300, 300 + KEYS)]

    cases: dict[str, Case] = {
        "dict made by the reader, same key objects": (
            lambda: dict.fromkeys(range(300, 300 + KEYS), 0),
            lambda: list(range(300, 1300)),
        ),
        "dict made by live main, keys referenced by the dict only, distinct lookups": (
            lambda: map_only_dict,
            distinct,
        ),
        "same dict, d[k] instead of d.get(k)": (lambda: map_only_dict, distinct, "[]"),
        "same dict, k in d instead of d.get(k)": (lambda: map_only_dict, distinct, "in"),
        "ShardedDict made by live main, keys referenced by it only, distinct lookups": (
            lambda: map_only_sharded,
            distinct,
        ),
        "dict made by live main thread, same key objects": (lambda: main_dict, lambda: main_keys),
        "dict made by an exited thread, its key objects": (
            lambda: exited_dict,
            lambda: list(exited_dict),
        ),
        "ShardedDict, keys made by live main (also in its list), distinct lookups": (
            lambda: main_sharded,
            distinct,
        ),
        "ShardedDict, keys made by live main (also in its list), same objects": (
            lambda: main_sharded,
            lambda: main_keys,
        ),
        "ShardedDict, keys made by exited thread, distinct lookups": (
            lambda: exited_sharded,
            distinct,
        ),
        "ShardedDict, small-int keys (immortal)": (
            lambda: main_sharded_small,
            lambda: list(range(256)),
        ),
    }
    main_sharded_small = ShardedDict(dict.fromkeys(range(256), 0))
    cells = []
    for name, case in cases.items():
        samples = [read_rate(*case) * 1e6 for _ in range(REPEATS)]
        print(f"  {name:76} {statistics.median(samples) / 1e6:6.2f} M gets/s")
        cells.append(_results.cell({"case": name}, "gets_per_second", samples, unit="gets/s"))
    _results.save("dict_cliff", cells, parameters={"keys": KEYS, "ops": OPS, "repeats": REPEATS})


if __name__ == "__main__":
    main()
