"""The suites' pytest fixture, ``stress_seconds``: registered by the stress command (for any
path it runs) and imported by the suites' ``conftest.py`` (for a plain pytest run)."""

from __future__ import annotations

import pytest

from atomics.testing.suites import share_of, suite_seconds

__all__ = ["stress_seconds"]


@pytest.fixture
def stress_seconds(request: pytest.FixtureRequest) -> float:
    """Seconds this test may spend: ``STRESS_SECONDS`` (default 60) per suite (test module),
    shared evenly by the suite's tests in this run."""
    paths = [item.path for item in request.session.items]
    return share_of(suite_seconds(), request.node.path, paths)
