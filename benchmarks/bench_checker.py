"""Benchmark: the linearizability checker deciding 4-thread x 6-operation histories.

Three histories, each decided from scratch (a fresh transition memo) REPEATS times:

* counter, linearizable: increments whose intervals all overlap (many valid orders);
* counter, not linearizable: the same with one lost update (the outcomes prune the
  search quickly);
* mapping, partitioned: adds on two keys, checked per key;
* accumulator, worst case: adds that return nothing, then a wrong total -- no outcome
  prunes the search, so it must visit every reachable configuration before saying no.

Prints the median and maximum time per decision and writes
benchmarks/results/checker-<interpreter>.json. Target: well under a second.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import _results
from atomics import runtime
from atomics.testing import Call, OpRecord, check_history
from atomics.testing.controls import CounterModel, MapModel

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


def time_decisions(history: list[OpRecord], model: Any) -> dict[str, Any]:
    seconds = []
    verdict = steps = None
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = check_history(history, model)
        seconds.append(time.perf_counter() - began)
        verdict, steps = result.verdict.value, result.steps
    return {
        "verdict": verdict,
        "steps": steps,
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
    }


def main() -> None:
    info = runtime.runtime_info()
    cases = {
        "counter, linearizable": (overlapping_increments(False), CounterModel),
        "counter, lost update": (overlapping_increments(True), CounterModel),
        "mapping, 2 keys (partitioned)": (two_key_adds(), MapModel),
        "accumulator, wrong total (worst case)": (silent_adds_wrong_total(), Accumulator),
    }
    print(
        f"{info.description}, {info.cpu_count} CPUs; 4 threads x 6 operations, median of {REPEATS}"
    )
    rows = {}
    for name, (history, model) in cases.items():
        row = rows[name] = time_decisions(history, model)
        print(
            f"  {name:36} {row['verdict']:17} {row['steps']:6} steps  "
            f"median {row['median_seconds'] * 1e3:7.2f} ms  max {row['max_seconds'] * 1e3:7.2f} ms"
        )
    _results.save("checker", {"cases": rows})


if __name__ == "__main__":
    main()
