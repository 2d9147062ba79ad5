"""atomics.testing.lockcheck: lock-order inversions found when first seen (issue 15, item 1;
work in progress on a branch)."""

from __future__ import annotations

import threading

import pytest

from atomics.testing.lockcheck import LockOrderError, watching


def run(target: object) -> None:
    thread = threading.Thread(target=target)  # type: ignore[arg-type]
    thread.start()
    thread.join(30)
    assert not thread.is_alive()


def test_an_abba_inversion_on_two_threads_one_after_the_other_is_reported() -> None:
    with watching() as checker:
        a, b = threading.Lock(), threading.Lock()

        def ab() -> None:
            with a, b:
                pass

        def ba() -> None:
            with b, a:
                pass

        run(ab)
        run(ba)  # nothing hangs: the threads never overlap
    assert len(checker.inversions) == 1
    report = str(checker.inversions[0])
    assert "def ab" not in report  # stacks, not source
    assert "in ab" in report and "in ba" in report  # both acquisition stacks


def test_one_order_everywhere_is_silent() -> None:
    with watching() as checker:
        a, b, c = threading.Lock(), threading.Lock(), threading.Lock()

        def abc() -> None:
            with a, b, c:
                pass

        for _ in range(3):
            run(abc)
        with a, c:  # a subset of the same order
            pass
    assert checker.inversions == []


def test_a_cycle_through_a_third_lock_is_reported() -> None:
    with watching() as checker:
        a, b, c = threading.Lock(), threading.Lock(), threading.Lock()
        with a, b:
            pass
        with b, c:
            pass
        with c, a:  # a -> b -> c -> a
            pass
    assert len(checker.inversions) == 1


def test_rlock_reentry_and_conditions_order_nothing_new() -> None:
    with watching() as checker:
        r, lock = threading.RLock(), threading.Lock()
        ready = threading.Condition(r)
        with r, r, lock:
            pass
        with r:
            ready.wait(0.01)  # releases r completely, then takes it again
            with lock:
                pass
    assert checker.inversions == []


def test_raise_on_inversion_raises_before_acquiring() -> None:
    from atomics.testing.lockcheck import LockOrderChecker

    with watching(LockOrderChecker(raise_on_inversion=True)):
        a, b = threading.Lock(), threading.Lock()
        with a, b:
            pass
        with b, pytest.raises(LockOrderError, match="potential deadlock"):
            a.acquire()
        assert not a.locked()


def test_outside_watching_nothing_is_patched() -> None:
    plain = type(threading.Lock())
    with watching():
        assert type(threading.Lock()) is not plain
    assert type(threading.Lock()) is plain
