"""bulk_stress and overlap_fraction."""

from __future__ import annotations

import threading

import pytest

from atomics import runtime
from atomics.testing import CONTROL_SECONDS, HarnessError, bulk_stress, overlap_fraction, rounds


def test_every_thread_runs_every_operation_with_its_own_state() -> None:
    result = bulk_stress(
        lambda tally, t, i: tally.append((t, i)),
        threads=3,
        operations=1000,
        thread_state=lambda t: [],
    )
    assert result.operations == 3000
    assert result.threads == 3
    for t, tally in enumerate(result.states):
        assert tally == [(t, i) for i in range(1000)]
    assert result.seconds > 0
    assert result.rate > 0
    assert 0.0 <= result.overlap <= 1.0
    assert result.interpreter == runtime.describe()


@pytest.mark.skipif(not runtime.free_threading_active(), reason="threads take turns with the GIL")
def test_threads_really_overlap() -> None:
    # Each operation computes a little, so that intervals are long enough to overlap. Up to
    # rounds until the budget is spent: on a busy machine the threads may share one core.
    overlaps = []
    for _ in rounds(CONTROL_SECONDS):
        result = bulk_stress(lambda s, t, i: sum(range(200)), threads=2, operations=5000)
        overlaps.append(result.overlap)
        if result.overlap > 0.5:
            return
    pytest.fail(f"two threads never ran at the same time: overlaps {overlaps}")


def test_overlap_is_a_fraction() -> None:
    result = bulk_stress(lambda s, t, i: None, threads=2, operations=1000)
    assert 0.0 <= result.overlap <= 1.0


def test_errors_in_threads_are_reported_not_lost() -> None:
    def operation(state: None, t: int, i: int) -> None:
        if t == 1 and i == 7:
            raise ValueError("thread one fails")

    with pytest.raises(HarnessError, match="thread 1: ValueError"):
        bulk_stress(operation, threads=2, operations=10)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="threads"):
        bulk_stress(lambda s, t, i: None, threads=0, operations=1)


def test_overlap_fraction_hand_computed() -> None:
    # Thread 0: [0,10] and [20,30]; thread 1: [5,8]. [0,10] and [5,8] overlap; [20,30] not.
    assert overlap_fraction([[0, 20], [5]], [[10, 30], [8]]) == pytest.approx(2 / 3)
    assert overlap_fraction([[0], [10]], [[5], [15]]) == 0.0  # disjoint
    assert overlap_fraction([[0], [5]], [[5], [6]]) == 0.0  # touching ends do not overlap
    assert overlap_fraction([], []) == 0.0


def test_barrier_start_releases_together() -> None:
    started = threading.Barrier(4, timeout=30)
    # Every thread's first operation waits for all four: deadlocks unless all started.
    result = bulk_stress(
        lambda s, t, i: started.wait() if i == 0 else None, threads=4, operations=3
    )
    assert result.operations == 12
