"""Benchmark: how reliably, and how fast, atomics.testing catches its negative controls.

For each control pair (racy counter, check-then-act mapping, check-then-act bounded
queue), RUNS independent runs of a user-style ``@given`` test at the default settings
(``atomics.testing.SETTINGS``: 50 examples; 100 invocations per scenario), each with a fresh
Hypothesis seed and no example database:

* the broken object: caught or not, and the time from the test's start to the first
  failing history (detection; Hypothesis's shrinking, which follows, is not timed);
* the correct twin: passed or not, and the run's time.

Writes a new run file under benchmarks/results/runs/ and prints a table.
Usage: python benchmarks/bench_harness_detection.py [RUNS]   (default 20)
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from hypothesis import Phase, given, settings

import _results
from atomics import runtime
from atomics.testing import SETTINGS, LinearizabilityError, Scenario, assert_linearizable, scenarios
from atomics.testing import controls as c

PAIRS = {
    "counter": (c.RacyCounter, c.LockedCounter, c.CounterModel),
    "map": (c.CheckThenActMap, c.LockedMap, c.MapModel),
    "queue": (c.CheckThenActBoundedQueue, c.LockedBoundedQueue, c.BoundedQueueModel),
}


def one_run(table: dict[str, Any], factory: Any, model: Any) -> tuple[bool, float]:
    """(failed?, seconds to the first failure or to the end of a passing run)."""
    began = time.perf_counter()
    detected: list[float] = []

    @settings(SETTINGS, phases=[Phase.generate], database=None)
    @given(scenarios(table))
    def probe(scenario: Scenario) -> None:
        try:
            assert_linearizable(scenario, factory, model)
        except LinearizabilityError:
            detected.append(time.perf_counter() - began)
            raise

    try:
        probe()
    except Exception:  # LinearizabilityError, or Hypothesis's Flaky wrapping it
        if not detected:
            raise
    return (bool(detected), detected[0] if detected else time.perf_counter() - began)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    tables = c.operation_tables()
    info = runtime.runtime_info()
    print(f"{info.description}, {info.cpu_count} CPUs, {runs} runs per object")
    cells = []
    for name, (broken, correct, model) in PAIRS.items():
        for kind, factory in (("broken", broken), ("correct", correct)):
            outcomes = [one_run(tables[name], factory, model) for _ in range(runs)]
            failed = sum(1 for f, _ in outcomes if f)
            key = {"control": name, "object": factory.__name__, "kind": kind}
            if kind == "broken":
                times, metric = [t for f, t in outcomes if f], "seconds_to_detection"
                info = {"runs": runs, "caught": failed}
                verdict, label = f"caught {failed}/{runs}", "to detection"
            else:
                times, metric = [t for _, t in outcomes], "seconds_per_run"
                info = {"runs": runs, "passed": runs - failed}
                verdict, label = f"passed {runs - failed}/{runs}", "per run"
            # A control never caught has no time to report (0 repetitions), only its count.
            cells.append(
                _results.cell(key, metric, times, unit="s", higher_is_better=False, info=info)
            )
            median = f"{statistics.median(times):.2f}s" if times else "-"
            print(
                f"  {name:8} {factory.__name__:26} {verdict:15} median {median} {label}", flush=True
            )
    _results.save("harness_detection", cells, parameters={"runs": runs})


if __name__ == "__main__":
    main()
