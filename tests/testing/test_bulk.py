"""bulk_stress and overlap_fraction."""

from __future__ import annotations

import re
import threading
import time

import pytest

from atomics import runtime
from atomics.testing import HarnessError, bulk, bulk_stress
from atomics.testing.bulk import CONTROL_SECONDS, overlap_fraction, rounds


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


# --- fail fast (issue 15, item 3) ----------------------------------------------------------------
def test_the_first_error_stops_the_other_threads_early() -> None:
    operations = 1_000_000
    done = [0, 0]
    raised = threading.Event()

    def operation(state: None, t: int, i: int) -> None:
        done[t] += 1
        if t == 1 and i == 10:
            raised.set()
            raise ValueError("thread one fails")
        if t == 0 and i == 10:
            raised.wait(30)  # thread 0 is running when thread 1 raises

    with pytest.raises(HarnessError) as caught:
        bulk_stress(operation, threads=2, operations=operations)
    # Thread 0 stopped at its next operation, not after its million.
    assert done[1] == 11
    assert done[0] < operations // 2, done
    assert isinstance(caught.value.__cause__, ValueError)


def test_the_error_names_thread_operation_time_and_traceback() -> None:
    def fail_in_thread_one(state: None, t: int, i: int) -> None:
        if t == 1 and i == 7:
            raise ValueError("thread one fails")

    with pytest.raises(HarnessError) as caught:
        bulk_stress(fail_in_thread_one, threads=2, operations=1000)
    message = str(caught.value)
    assert "thread 1: ValueError('thread one fails')" in message
    assert re.search(r"in thread 1 at operation 7, \d+\.\d{4} s after the start", message)
    assert "Traceback (most recent call last)" in message
    assert "in fail_in_thread_one" in message
    assert 'raise ValueError("thread one fails")' in message
    assert isinstance(caught.value.__cause__, ValueError)


def test_later_errors_of_other_threads_are_listed_after_the_first() -> None:
    both_in = threading.Barrier(2, timeout=30)

    def operation(state: None, t: int, i: int) -> None:
        if i == 3:
            both_in.wait()  # both threads are inside operation 3: both raise
            raise KeyError(f"thread {t}")

    with pytest.raises(HarnessError, match="the first of 2 thread") as caught:
        bulk_stress(operation, threads=2, operations=10)
    assert re.search(r"also raised, in thread \d at operation 3", str(caught.value))


def test_an_error_before_the_start_ends_the_run_at_once() -> None:
    def thread_state(t: int) -> None:
        if t == 2:
            raise RuntimeError("no state for thread 2")

    began = time.monotonic()
    with pytest.raises(HarnessError, match="thread 2 before its first operation") as caught:
        bulk_stress(lambda s, t, i: None, threads=3, operations=10, thread_state=thread_state)
    assert time.monotonic() - began < 30  # not the start line's 300 s timeout
    assert "BrokenBarrierError" not in str(caught.value)  # the others' start, broken by it


def test_a_thread_blocked_in_an_operation_is_named_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "STOP_GRACE", 0.2)
    entered, release = threading.Event(), threading.Event()

    def operation(state: None, t: int, i: int) -> None:
        if t == 0:
            entered.set()
            release.wait(60)  # blocked, never looks at the stop
        elif i == 5:
            entered.wait(30)
            raise ValueError("thread one fails")

    began = time.monotonic()
    try:
        with pytest.raises(HarnessError, match=r"thread\(s\) \[0\] did not stop within 0.2 s"):
            bulk_stress(operation, threads=2, operations=10)
        assert time.monotonic() - began < 30  # not the 300 s timeout
    finally:
        release.set()
