"""Benchmark: the linearizability checker deciding 4-thread x 6-operation histories.

Four histories, each decided from scratch (a fresh transition memo) on every call:

* counter, linearizable: increments whose intervals all overlap (many valid orders);
* counter, not linearizable: the same with one lost update (the outcomes prune the
  search quickly);
* mapping, partitioned: adds on two keys, checked per key;
* accumulator, worst case: adds that return nothing, then a wrong total -- no outcome
  prunes the search, so it must visit every reachable configuration before saying no.

Timed with pyperf (``pip install 'ft-atomics[bench]'``): a single-threaded function whose
cost is the question is what pyperf's model of calibrated loops in fresh worker processes is
made for. Each cell's samples are pyperf's values (seconds per decision, one per loop run,
from every worker process); pyperf's own file is written beside the run file, so
``python -m pyperf compare_to`` also works on it. Without pyperf (Python 3.10) it falls back to
REPEATS timed calls in this process, and says so in the results. Target: well under a second.

Usage: python benchmarks/bench_checker.py [pyperf options, e.g. --fast]
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import _results
from atomics import runtime
from atomics.testing import Call
from atomics.testing.checker import check_history
from atomics.testing.controls import CounterModel, MapModel
from atomics.testing.history import OpRecord

REPEATS = 20


def overlapping_increments(lost_update: bool) -> list[OpRecord]:
    # Thread t's i-th increment spans [i*100, i*100 + 250]: each overlaps the neighbours of
    # every other thread. Outcomes follow one valid order (round by round, thread by thread).
    history = []
    value = 0
    for i in range(6):
        for t in range(4):
            value += 1
            history.append(OpRecord(t, i, Call("increment"), i * 100, i * 100 + 250, value))
    if lost_update:
        last = history[-1]
        history[-1] = OpRecord(
            last.thread, last.index, last.call, last.call_ns, last.return_ns, value - 1
        )
    return history


def two_key_adds() -> list[OpRecord]:
    history = []
    totals = {"k0": 0, "k1": 0}
    for i in range(6):
        for t in range(4):
            key = f"k{(t + i) % 2}"
            totals[key] += 1
            history.append(
                OpRecord(t, i, Call("add", (key, 1)), i * 100, i * 100 + 250, totals[key])
            )
    return history


class Accumulator:
    """A model whose adds return nothing: only the final read constrains the order."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, n: int) -> None:
        self.total += n

    def get(self) -> int:
        return self.total


def silent_adds_wrong_total() -> list[OpRecord]:
    history = [
        OpRecord(t, i, Call("add", (1,)), i * 100, i * 100 + 250, None)
        for t in range(4)
        for i in range(6)
    ]
    history.append(OpRecord(4, 0, Call("get"), 10_000, 10_001, 25))  # 24 adds, not 25
    return history


def cases() -> dict[str, tuple[list[OpRecord], Any]]:
    return {
        "counter, linearizable": (overlapping_increments(False), CounterModel),
        "counter, lost update": (overlapping_increments(True), CounterModel),
        "mapping, 2 keys (partitioned)": (two_key_adds(), MapModel),
        "accumulator, wrong total (worst case)": (silent_adds_wrong_total(), Accumulator),
    }


def timings_pyperf(pyperf: Any) -> tuple[dict[str, list[float]], Any, str] | None:
    """Seconds per decision for each case, pyperf's suite, and what pyperf did (from what it
    actually recorded, so --fast or --rigorous are reported as run); None in a worker."""
    runner = pyperf.Runner(processes=10, values=3)
    benches = {}
    for name, (history, model) in cases().items():
        benches[name] = runner.bench_func(name, check_history, history, model)
    if runner.args.worker:
        return None
    suite = pyperf.BenchmarkSuite([b for b in benches.values() if b is not None])
    shapes = {(b.get_nrun(), len(b.get_values())) for b in benches.values() if b is not None}
    timer = (
        f"pyperf {pyperf.__version__}, "
        + "; ".join(f"{runs} worker processes, {n} values" for runs, n in sorted(shapes))
        + ", calibrated loops"
    )
    return {name: list(b.get_values()) for name, b in benches.items()}, suite, timer


def timings_fallback() -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name, (history, model) in cases().items():
        for _ in range(REPEATS):
            began = time.perf_counter()
            check_history(history, model)
            out.setdefault(name, []).append(time.perf_counter() - began)
    return out


def main() -> None:
    try:
        import pyperf  # type: ignore[import-not-found]
    except ImportError:
        pyperf = None
    suite = None
    if pyperf is not None:
        measured = timings_pyperf(pyperf)
        if measured is None:  # a worker: pyperf's parent collects and reports
            return
        timings, suite, timer = measured
    else:
        timings = timings_fallback()
        timer = f"time.perf_counter, {REPEATS} calls in one process (pyperf not installed)"
    info = runtime.runtime_info()
    print(f"{info.description}, {info.cpu_count} CPUs; 4 threads x 6 operations; {timer}")
    cells = []
    for name, (history, model) in cases().items():
        result = check_history(history, model)
        values = timings[name]
        cells.append(
            _results.cell(
                {"case": name},
                "seconds_per_decision",
                values,
                unit="s",
                higher_is_better=False,
                info={"verdict": result.verdict.value, "steps": result.steps},
            )
        )
        print(
            f"  {name:36} {result.verdict.value:17} {result.steps:6} steps  "
            f"median {statistics.median(values) * 1e3:7.2f} ms  max {max(values) * 1e3:7.2f} ms"
        )
    out = _results.save("checker", cells, parameters={"timer": timer})
    if suite is not None:
        native = out.with_suffix(".pyperf.json")
        suite.dump(str(native), replace=False)
        print(f"pyperf's own results: {native}")


if __name__ == "__main__":
    main()
