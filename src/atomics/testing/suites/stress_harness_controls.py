"""Long runs of the harness against its controls: correct twins never fail, broken ones are
caught in every round (free-threaded build only; see tests/testing/test_controls.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis.errors import Flaky

from atomics import runtime
from atomics.testing import SETTINGS, LinearizabilityError, Scenario, assert_linearizable, scenarios
from atomics.testing import controls as c
from atomics.testing.bulk import rounds

TABLES = c.operation_tables()
PAIRS = {
    "counter": (c.RacyCounter, c.LockedCounter, c.CounterModel),
    "map": (c.CheckThenActMap, c.LockedMap, c.MapModel),
    "queue": (c.CheckThenActBoundedQueue, c.LockedBoundedQueue, c.BoundedQueueModel),
}


def one_round(name: str, factory: Any, model: Any) -> bool:
    """One @given run at the default settings, without shrinking; True if it failed."""

    @settings(SETTINGS, phases=[Phase.generate], database=None)
    @given(scenarios(TABLES[name]))
    def probe(scenario: Scenario) -> None:
        assert_linearizable(scenario, factory, model)

    try:
        probe()
    except (LinearizabilityError, Flaky):
        return True
    return False


@pytest.mark.parametrize("name", PAIRS)
def test_correct_twin_never_fails(name: str, stress_seconds: float) -> None:
    _, correct, model = PAIRS[name]
    for round_number in rounds(stress_seconds):
        assert not one_round(name, correct, model), f"round {round_number}: false alarm"


@pytest.mark.skipif(not runtime.free_threading_active(), reason="races need free threading")
@pytest.mark.parametrize("name", PAIRS)
def test_broken_control_caught_every_round(name: str, stress_seconds: float) -> None:
    broken, _, model = PAIRS[name]
    for round_number in rounds(stress_seconds):
        assert one_round(name, broken, model), f"round {round_number}: missed the bug"
