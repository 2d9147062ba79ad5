"""Bulk stress at scale: 8 threads x 100,000 increments, locked (exact) and racy (loses)."""

from __future__ import annotations

import time

import pytest

from atomics import runtime
from atomics.testing import bulk_stress
from atomics.testing.controls import LockedCounter, RacyCounter

THREADS, OPERATIONS = 8, 100_000


def test_locked_counter_is_exact(stress_seconds: float) -> None:
    deadline = time.monotonic() + stress_seconds
    rounds = 0
    while rounds == 0 or time.monotonic() < deadline:
        counter = LockedCounter()

        def increment(state: None, t: int, i: int, counter: LockedCounter = counter) -> None:
            counter.increment()

        result = bulk_stress(increment, threads=THREADS, operations=OPERATIONS)
        assert counter.get() == result.operations
        rounds += 1


@pytest.mark.skipif(not runtime.free_threading_active(), reason="races need free threading")
def test_racy_counter_loses_updates(stress_seconds: float) -> None:
    counter = RacyCounter()

    def increment(state: None, t: int, i: int) -> None:
        counter.increment()

    result = bulk_stress(increment, threads=THREADS, operations=OPERATIONS)
    assert result.overlap > 0.5
    assert counter.get() < result.operations
