"""Negative controls: the harness must catch each broken object and pass its correct twin.

These are the harness's own calibration: every broken control must be caught, on both
legs. Each gives up the CPU inside its race window (``controls._race_window``), so the other
thread's operations land there even on a machine whose cores are all busy, and with the GIL
(which ``os.sched_yield`` releases). The bulk lost-update control has no such window and is
skipped on a GIL build: there CPython switches threads only at eval-breaker checks (calls,
backward jumps), never between its read and its write (docs/testing.md has the rates).
"""

from __future__ import annotations

from typing import Any

import pytest

from atomics import runtime
from atomics.testing import bulk_stress, find_violation
from atomics.testing import controls as c
from atomics.testing.bulk import CONTROL_SECONDS, rounds

TABLES = c.operation_tables()
PAIRS = {
    "counter": (c.RacyCounter, c.LockedCounter, c.CounterModel),
    "map": (c.CheckThenActMap, c.LockedMap, c.MapModel),
    "queue": (c.CheckThenActBoundedQueue, c.LockedBoundedQueue, c.BoundedQueueModel),
}
needs_free_threading = pytest.mark.skipif(
    not runtime.free_threading_active(),
    reason="with the GIL these races cannot occur: threads switch only at calls and "
    "backward jumps, never between the read and the write",
)


@pytest.mark.parametrize("name", PAIRS)
def test_correct_twin_passes(name: str) -> None:
    _, correct, model = PAIRS[name]
    assert find_violation(TABLES[name], correct, model, max_examples=15) is None


@pytest.mark.parametrize("name", PAIRS)
def test_broken_control_is_caught(name: str) -> None:
    # On both legs: each broken control gives up the CPU inside its race window
    # (atomics.testing.controls._race_window; measured on 3.11.7: each caught within 0.1 s).
    broken, _, model = PAIRS[name]
    # A search within the budget: a machine busy with other work runs the threads less
    # often at the same time. The test fails only if the whole budget misses the bug.
    violation = find_violation(TABLES[name], broken, model, time_budget=CONTROL_SECONDS)
    assert violation is not None, f"the harness missed the broken {name} in {CONTROL_SECONDS} s"
    assert "NOT LINEARIZABLE" in str(violation)


def test_report_names_scenario_history_and_interpreter() -> None:
    from atomics.testing import Call, check_scenario, fixed_scenario
    from atomics.testing.linearizability import format_report

    # A fake "real object" that answers wrongly every time, so the report is deterministic.
    class Liar(c.CounterModel):
        def get(self) -> int:
            return 42

    scenario = fixed_scenario([[Call("increment")], [Call("get")]], suffix=[Call("get")])
    result = check_scenario(scenario, Liar, c.CounterModel, invocations=5)
    assert not result.ok
    report = format_report(result)
    assert "NOT LINEARIZABLE" in report
    assert runtime.describe() in report
    assert "thread 0" in report
    assert "increment()" in report
    assert "History (times in us" in report
    assert "Longest linearizable prefix" in report
    assert "returned 42; the model says" in report
    assert f"@example(scenario={scenario!r})" in report


class BulkRacyCounter:
    def __init__(self) -> None:
        self.value = 0

    def increment(self) -> None:
        current = self.value
        self.value = current + 1


def _bulk_increments(counter: Any, operations: int = 20_000) -> int:
    bulk_stress(lambda state, t, i: counter.increment(), threads=4, operations=operations)
    return int(counter.value)


def test_bulk_stress_counts_exactly_with_a_lock() -> None:
    assert _bulk_increments(c.LockedCounter()) == 80_000


@needs_free_threading
def test_bulk_stress_catches_lost_updates() -> None:
    # A search within the budget: one round of 80,000 racy increments lost none under
    # scripts/flake-check's CPU hog (the threads seldom ran at the same instant).
    for _ in rounds(CONTROL_SECONDS):
        if _bulk_increments(BulkRacyCounter(), 5_000) < 20_000:
            return
    pytest.fail(f"no lost update in {CONTROL_SECONDS} s")
