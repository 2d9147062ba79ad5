"""Found in the wild: each module prints the totals of its "nothing found" tests (pytest -s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wild._wild import TOTALS


@pytest.fixture(scope="module", autouse=True)
def _print_totals() -> Iterator[None]:
    TOTALS.clear()
    yield
    for test, (scenarios_run, invocations) in TOTALS.items():
        print(f"\n{test}: {scenarios_run} scenarios, {invocations} invocations, nothing found")
