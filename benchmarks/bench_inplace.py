"""Benchmark: AtomicInteger's in-place operators against a bare locked ``+=``, at 1 and 2
threads (issue 12's target: each at least 0.7x the locked ``+=``, on 3.13t).

Every variant runs in the same process. Each operator is measured *paired* with the bare
locked ``+=``: in every round, each operator's measurement sits right beside one of the
locked ``+=`` (the order of the two alternating round by round), and the ratio of the two
rates is one sample. The ratio reported is the median of ROUNDS such samples, with its
quartiles: on a machine whose speed drifts by 20% within seconds, a ratio of medians
taken at different moments is mostly drift. Variants (each thread calls its op OPS times):

* ``locked +=``: ``with lock: box.value += 1`` on one shared object and one shared lock --
  the same code as in ``bench_counters.py``;
* ``AtomicInteger <op>``: a function doing ``c = counter; c <op> operand`` on one shared
  AtomicInteger, for each of ``+= -= *= //= %= **= <<= >>= &= |= ^=``, with an operand
  that keeps the value small, so every round does the same work.

No user code runs in this process, so the operators measured are the fast versions (see
``atomics/atomic_integer.py``: the checking versions are swapped in when some thread first
runs a compute function).

Usage: python benchmarks/bench_inplace.py [OPS_PER_THREAD]   (default 100,000)
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import _results
import bench_counters
from atomics import AtomicInteger, runtime

ROUNDS = 21
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
    ops = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    info = runtime.runtime_info()
    print(f"{info.description}, {info.cpu_count} CPUs; {ops:,} ops per thread, {ROUNDS} rounds")
    factories = variants()
    locked = factories.pop("locked +=")
    rates: dict[tuple[str, int], list[float]] = {}
    paired: dict[tuple[str, int], list[float]] = {}
    for round_number in range(ROUNDS):
        for threads in THREAD_COUNTS:
            for name, factory in factories.items():
                pair = [("locked +=", locked), (name, factory)]
                if round_number % 2:
                    pair.reverse()
                got = {}
                for which, make in pair:
                    got[which] = threads * ops / bench_counters.run(threads, ops, make())
                    rates.setdefault((which, threads), []).append(got[which])
                paired.setdefault((name, threads), []).append(got[name] / got["locked +="])
    print("\nmedian rate (M ops/s); median of the paired ratios to locked += [quartiles]")
    print("(>= 0.70 wanted)")
    ratios: dict[str, float] = {}
    for name in ["locked +=", *factories]:
        cells = []
        for t in THREAD_COUNTS:
            rate = statistics.median(rates[(name, t)]) / 1e6
            if name == "locked +=":
                cells.append(f"{t}T {rate:5.2f}")
                continue
            q1, median, q3 = statistics.quantiles(paired[(name, t)], n=4, method="inclusive")
            ratios[f"{name} vs locked += {t}T"] = median
            cells.append(f"{t}T {rate:5.2f} {median:4.2f}x [{q1:4.2f}-{q3:4.2f}]")
        print(f"  {name:18} " + "   ".join(cells))
    _results.save(
        "inplace",
        [
            _results.cell(
                {"variant": name, "threads": t},
                "increments_per_second",
                rates[(name, t)],
                unit="operations/s",
            )
            for name in ["locked +=", *factories]
            for t in THREAD_COUNTS
        ]
        + [
            _results.cell(
                {"variant": name, "threads": t},
                "rate_vs_locked",
                paired[(name, t)],
                unit="x (paired with locked +=)",
            )
            for name in factories
            for t in THREAD_COUNTS
        ],
        parameters={"ops_per_thread": ops, "rounds": ROUNDS, "thread_counts": THREAD_COUNTS},
        derived=ratios,
    )


if __name__ == "__main__":
    main()
