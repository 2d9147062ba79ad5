"""Shared settings for the long runs: the time budget each suite spends."""

from __future__ import annotations

import os

import pytest

STRESS_SECONDS = float(os.environ.get("STRESS_SECONDS", "60"))


@pytest.fixture
def stress_seconds() -> float:
    """Seconds this test may spend (STRESS_SECONDS, default 60)."""
    return STRESS_SECONDS
