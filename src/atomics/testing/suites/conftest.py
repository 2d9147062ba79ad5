"""The suites' fixture: each test's share of its suite's time budget."""

from __future__ import annotations

import pytest

from atomics.testing.suites import share_of, suite_seconds


@pytest.fixture
def stress_seconds(request: pytest.FixtureRequest) -> float:
    """Seconds this test may spend: ``STRESS_SECONDS`` (default 60) per suite, shared evenly
    by the suite's tests in this run."""
    paths = [item.path for item in request.session.items]
    return share_of(suite_seconds(), request.node.path, paths)
