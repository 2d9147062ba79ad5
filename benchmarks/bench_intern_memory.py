"""Benchmark: what ``sys.intern`` costs in memory, the price of avoiding the 3.13t key cliff.

Interning string keys avoids the cross-thread dict cliff of free-threaded CPython 3.13
(``bench_dict_cliff.py``, ``docs/lock_granularity.md``) because an interned string is
*immortal* there: its reference count is never updated, so no thread contends on it. The
price: an immortal string is never freed. This measures, with ``tracemalloc`` (bytes that
Python allocated, not wall time), for N distinct short strings (``"w<i>x"``):

* bytes per string while a list holds them, plain and interned;
* bytes per string still allocated after the list is deleted (and ``gc.collect()``);
* whether the interpreter reports an immortal reference count for an interned string.

Deterministic up to the allocator's rounding: REPEATS rounds (each with its own strings)
give the spread. Usage: python benchmarks/bench_intern_memory.py [N]
"""

from __future__ import annotations

import gc
import sys
import tracemalloc

import _results
from atomics import runtime

REPEATS = 5


def measure(n: int, intern: bool, round_: int) -> tuple[float, float, int]:
    """(bytes per string held, bytes per string left after release, refcount of one)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        prefix = f"r{round_}{'i' if intern else 'p'}"
        words = ["".join((prefix, str(i), "x")) for i in range(n)]
        if intern:
            words = [sys.intern(w) for w in words]
        held = tracemalloc.get_traced_memory()[0] - base
        refcount = sys.getrefcount(words[0])
        del words
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    return held / n, left / n, refcount


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    info = runtime.runtime_info()
    print(f"{info.description}; {n:,} distinct strings, {REPEATS} rounds (tracemalloc)")
    cells = []
    immortal = {}
    for intern in (False, True):
        results = [measure(n, intern, r) for r in range(REPEATS)]
        variant = "sys.intern(word)" if intern else "plain str"
        refcount = results[0][2]
        # 3.12+: an immortal object reports a huge constant reference count
        immortal[variant] = refcount > 1 << 30
        for index, metric in ((0, "bytes_per_string_held"), (1, "bytes_per_string_after_release")):
            samples = [r[index] for r in results]
            cells.append(
                _results.cell(
                    {"variant": variant},
                    metric,
                    samples,
                    unit="bytes/string",
                    higher_is_better=False,
                    info={"immortal": immortal[variant], "refcount": refcount},
                )
            )
            print(f"  {variant:18} {metric:32} {sorted(samples)[REPEATS // 2]:7.1f} B")
        print(f"  {variant:18} refcount of one: {refcount} (immortal: {immortal[variant]})")
    _results.save(
        "intern_memory",
        cells,
        parameters={"strings": n, "repeats": REPEATS},
        derived={"immortal": immortal},
    )


if __name__ == "__main__":
    main()
