"""What the found-in-the-wild tests share: the search budget, the totals of the "nothing
found" tests (printed per module by tests/wild/conftest.py, for docs/found_in_the_wild.md),
and the user-style search that a negative control must win."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import Phase, given, settings

from atomics.testing import SETTINGS, LinearizabilityError, Scenario, assert_linearizable, scenarios

SEARCH_SECONDS = 20.0  # a search stops when it finds what it looks for, or after this long

# test -> [scenarios, invocations] run by the "nothing found" tests of the current module
TOTALS: dict[str, list[int]] = {}


def count(test: str, result: Any) -> None:
    """Add one scenario's ``ScenarioResult`` to ``test``'s totals."""
    totals = TOTALS.setdefault(test, [0, 0])
    totals[0] += 1
    totals[1] += result.invocations


def search_given(operations: dict[str, Any], factory: Any, model: Any) -> tuple[Any, int, float]:
    """User-style Hypothesis runs (SETTINGS, generation only, no database), repeated until one
    raises LinearizabilityError or SEARCH_SECONDS pass; (error or None, scenarios, seconds)."""
    found: list[LinearizabilityError] = []
    runs = [0]

    @settings(SETTINGS, database=None, phases=[Phase.generate])
    @given(scenarios(operations))
    def probe(scenario: Scenario) -> None:
        runs[0] += 1
        try:
            assert_linearizable(scenario, factory, model)
        except LinearizabilityError as error:
            found.append(error)
            raise

    began = time.monotonic()
    while not found and time.monotonic() - began < SEARCH_SECONDS:
        try:
            probe()
        except Exception:
            if not found:
                raise
    return (found[0] if found else None), runs[0], time.monotonic() - began
