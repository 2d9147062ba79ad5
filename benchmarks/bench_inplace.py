"""Benchmark: AtomicInteger's in-place operators against a bare locked ``+=``, at 1 and 2
threads (issue 12's target: each at least 0.7x the locked ``+=``, on 3.13t).

Every variant runs in the same process, interleaved round by round (so drift in the
machine's speed hits all alike); each figure is the median of REPEATS rounds. Variants
(each thread calls its op OPS times):

* ``locked +=``: ``with lock: box.value += 1`` on one shared object and one shared lock --
  the same code as in ``bench_counters.py``;
* ``AtomicInteger <op>``: a function doing ``c = counter; c <op> operand`` on one shared
  AtomicInteger, for each of ``+= -= *= //= %= **= <<= >>= &= |= ^=``, with an operand
  that keeps the value small, so every round does the same work.

No user code runs in this process, so the operators measured are the fast versions (see
``atomics/atomic_integer.py``: the checking versions are swapped in when some thread first
runs a compute function).

Usage: python benchmarks/bench_inplace.py [OPS_PER_THREAD]   (default 200,000)
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import _results
import bench_counters
from atomics import AtomicInteger, runtime

REPEATS = 7
THREAD_COUNTS = (1, 2)
# operator -> an operand that keeps the value small
OPERANDS = {
    "+=": 1, "-=": 1, "*=": 1, "//=": 1, "%=": 1 << 40, "**=": 1,
    "<<=": 0, ">>=": 0, "&=": -1, "|=": 0, "^=": 0,
}  # fmt: skip

Factory = Callable[[], Callable[[], Callable[[], object]]]


def inplace(symbol: str, operand: int) -> Factory:
    """A factory (as in bench_counters) for ``counter <symbol> operand``, by syntax."""
    namespace: dict[str, object] = {}
    exec(f"def op():\n    c = counter\n    c {symbol} {operand}\n", namespace)

    def factory() -> Callable[[], Callable[[], object]]:
        namespace["counter"] = AtomicInteger(5)
        op = namespace["op"]
        return lambda: op  # type: ignore[return-value]

    return factory


def variants() -> dict[str, Factory]:
    return {
        "locked +=": bench_counters.variants()["locked +="],
        **{f"AtomicInteger {s}": inplace(s, operand) for s, operand in OPERANDS.items()},
    }


def main() -> None:
    ops = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    info = runtime.runtime_info()
    print(f"{info.description}, {info.cpu_count} CPUs; {ops:,} ops per thread, median of {REPEATS}")
    timings: dict[tuple[str, int], list[float]] = {}
    for _ in range(REPEATS):
        for threads in THREAD_COUNTS:
            for name, factory in variants().items():
                seconds = bench_counters.run(threads, ops, factory())
                timings.setdefault((name, threads), []).append(seconds)
    samples = {key: [key[1] * ops / s for s in values] for key, values in timings.items()}
    rates = {key: statistics.median(values) for key, values in samples.items()}
    print("\nrate (M ops/s) and rate / locked += rate at the same thread count (>= 0.70 wanted)")
    ratios: dict[str, float] = {}
    for name in variants():
        cells = []
        for t in THREAD_COUNTS:
            ratio = rates[(name, t)] / rates[("locked +=", t)]
            ratios[f"{name} vs locked += {t}T"] = ratio
            cells.append(f"{t}T {rates[(name, t)] / 1e6:5.2f} ({ratio:4.2f}x)")
        print(f"  {name:18} " + "   ".join(cells))
    _results.save(
        "inplace",
        [
            _results.cell(
                {"variant": name, "threads": t},
                "increments_per_second",
                samples[(name, t)],
                unit="operations/s",
            )
            for name in variants()
            for t in THREAD_COUNTS
        ],
        parameters={"ops_per_thread": ops, "repeats": REPEATS, "thread_counts": THREAD_COUNTS},
        derived=ratios,
    )


if __name__ == "__main__":
    main()
