"""atomics.testing.lockcheck: potential deadlocks found the first time their order is seen."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest

from atomics import BoundedQueue, ShardedDict
from atomics.testing.bulk import rounds
from atomics.testing.lockcheck import LockOrderError, watching


def run(target: object) -> None:
    thread = threading.Thread(target=target)  # type: ignore[arg-type]
    thread.start()
    thread.join(30)
    assert not thread.is_alive()


def test_an_abba_inversion_on_two_threads_one_after_the_other_is_reported() -> None:
    with watching(patch_threading=True) as checker:
        a, b = threading.Lock(), threading.Lock()

        def ab() -> None:
            with a, b:
                pass

        def ba() -> None:
            with b, a:
                pass

        run(ab)
        run(ba)  # nothing hangs: the threads never overlap
    assert len(checker.findings) == 1
    report = str(checker.findings[0])
    assert "def ab" not in report  # stacks, not source
    assert "in ab" in report and "in ba" in report  # both acquisition stacks


def test_one_order_everywhere_is_silent() -> None:
    with watching(patch_threading=True) as checker:
        a, b, c = threading.Lock(), threading.Lock(), threading.Lock()

        def abc() -> None:
            with a, b, c:
                pass

        for _ in range(3):
            run(abc)
        with a, c:  # a subset of the same order
            pass
    assert checker.findings == []


def test_a_cycle_through_a_third_lock_is_reported() -> None:
    with watching(patch_threading=True) as checker:
        a, b, c = threading.Lock(), threading.Lock(), threading.Lock()
        with a, b:
            pass
        with b, c:
            pass
        with c, a:  # a -> b -> c -> a
            pass
    assert len(checker.findings) == 1


def test_rlock_reentry_and_conditions_order_nothing_new() -> None:
    with watching(patch_threading=True) as checker:
        r, lock = threading.RLock(), threading.Lock()
        ready = threading.Condition(r)
        with r, r, lock:
            pass
        with r:
            ready.wait(0.01)  # releases r completely, then takes it again
            with lock:
                pass
    assert checker.findings == []


def test_raise_on_inversion_raises_before_acquiring() -> None:
    from atomics.testing.lockcheck import LockOrderChecker

    with watching(LockOrderChecker(raise_on_inversion=True), patch_threading=True):
        a, b = threading.Lock(), threading.Lock()
        with a, b:
            pass
        with b, pytest.raises(LockOrderError, match="potential deadlock"):
            a.acquire()
        assert not a.locked()


def test_outside_watching_nothing_is_patched() -> None:
    plain = type(threading.Lock())
    with watching(patch_threading=True):
        assert type(threading.Lock()) is not plain
    assert type(threading.Lock()) is plain


@pytest.mark.no_lockcheck("starts from no open watching() block")
def test_the_package_locks_are_checked_without_patching_threading() -> None:
    from atomics import _locks

    plain = type(threading.Lock())
    assert _locks.Lock is threading.Lock  # off: the factory is threading.Lock itself
    with watching() as checker:
        a: ShardedDict[str, int] = ShardedDict(stripes=1)
        b: ShardedDict[str, int] = ShardedDict(stripes=1)
        assert type(threading.Lock()) is plain  # user code's locks: only when asked
        with a._locks[0], b._locks[0]:  # (the stripe locks themselves: locked() inside
            pass  # locked() is refused by the re-entry guard before any lock is taken)
        with b._locks[0], a._locks[0]:
            pass
    assert [f.kind for f in checker.findings] == ["order"]
    assert "atomics/sharded_dict.py" in checker.findings[0].locks[0]  # where the lock was made
    assert _locks.Lock is threading.Lock


def test_a_thread_blocking_on_a_lock_it_holds_is_reported_at_once() -> None:
    with watching(patch_threading=True, raise_on_inversion=True) as checker:
        lock = threading.Lock()
        with lock, pytest.raises(LockOrderError, match="self-deadlock"):
            lock.acquire()  # would wait forever
        assert lock.acquire(blocking=False)  # a try is not a deadlock
        lock.release()
    assert [f.kind for f in checker.findings] == ["self"]


def waits_for_room_while_holding(topic: BoundedQueue[int], room: BoundedQueue[int]) -> None:
    """This thread waits for room in ``room`` (with a limit) while holding ``topic``'s lock;
    a consumer makes the room, takes ``topic``'s lock (it waits until the put is in), then
    gets again."""

    def consume() -> None:
        deadline = time.monotonic() + 10
        while not room._putters and time.monotonic() < deadline:
            time.sleep(0.001)  # (polling an observable state, with a deadline)
        room.get(timeout=5)  # wakes the waiting producer...
        topic.put(0, timeout=5)  # ...takes the topic's lock (a read, say)...
        topic.get(timeout=5)
        room.get(timeout=5)  # ...and then gets again: a consumer's loop

    room.put(1)  # full
    consumer = threading.Thread(target=consume)
    consumer.start()
    with topic._lock:
        room.put(2)  # no timeout: a timed wait wakes by itself (not reported)
    consumer.join(10)
    assert not consumer.is_alive()


def test_waiting_while_holding_a_lock_the_waker_takes_is_reported() -> None:
    # The shape of the knowledge base's overflow="block" deadlock: a writer waits for room
    # while holding a lock that the consumer (who makes room) takes between its gets.
    with watching() as checker:
        waits_for_room_while_holding(BoundedQueue[int](1), BoundedQueue[int](1))
    assert [f.kind for f in checker.findings] == ["wait"], checker.findings
    assert "waits on a condition" in str(checker.findings[0])


def test_the_same_wait_without_the_lock_is_silent() -> None:
    with watching() as checker:
        topic, room = BoundedQueue[int](1), BoundedQueue[int](1)
        room.put(1)

        def consume() -> None:
            room.get(timeout=5)
            topic.put(0, timeout=5)
            topic.get(timeout=5)

        consumer = threading.Thread(target=consume)
        consumer.start()
        room.put(2, timeout=10)  # may wait, holding nothing else
        consumer.join(10)
    assert checker.findings == []


def test_what_each_thread_holds_and_waits_for_is_described() -> None:
    from atomics.testing.lockcheck import describe_locks

    assert describe_locks() == ""
    with watching(patch_threading=True):
        a = threading.Lock()
        holder_has_it, release = threading.Event(), threading.Event()

        def hold() -> None:
            with a:
                holder_has_it.set()
                release.wait(10)

        holder = threading.Thread(target=hold, name="holder")
        holder.start()
        assert holder_has_it.wait(10)
        waiter = threading.Thread(
            target=lambda: a.acquire(timeout=10) and a.release(), name="waiter"
        )
        waiter.start()
        try:
            for _ in rounds(10):
                report = describe_locks()
                if "waiter: holds nothing; waits for CheckedLock" in report:
                    break
            assert "holder: holds CheckedLock#" in report, report
            assert "waiter: holds nothing; waits for CheckedLock" in report, report
        finally:
            release.set()
            holder.join(10)
            waiter.join(10)


class TwoLocks:
    """ab() and ba() take the package's locks in opposite orders, each waiting at a barrier
    while holding its first: run together they deadlock (each second acquisition gives up
    after 5 s, so that no thread stays blocked)."""

    def __init__(self) -> None:
        from atomics import _locks

        self.a, self.b = _locks.Lock(), _locks.Lock()
        self.both = threading.Barrier(2)

    def _take(self, first: Any, second: Any) -> bool:
        with first:
            self.both.wait(5)
            got: bool = second.acquire(timeout=5)
            if got:
                second.release()
            return got

    def ab(self) -> bool:
        return self._take(self.a, self.b)

    def ba(self) -> bool:
        return self._take(self.b, self.a)


def test_a_hanging_scenario_reports_the_locks_each_thread_holds_and_waits_for() -> None:
    from atomics.testing import Call, HarnessTimeout, check_scenario, fixed_scenario
    from atomics.testing.controls import CounterModel

    scenario = fixed_scenario([[Call("ab")], [Call("ba")]])
    with watching() as checker, pytest.raises(HarnessTimeout) as caught:
        check_scenario(scenario, TwoLocks, CounterModel, invocations=1, timeout=1.0)
    report = str(caught.value)
    assert "instrumented locks (atomics.testing.lockcheck):" in report
    for worker in ("atomics-worker-0", "atomics-worker-1"):
        assert re.search(f"{worker}: holds CheckedLock#\\d+ .*; waits for CheckedLock#", report)
    assert [f.kind for f in checker.findings] == ["order"]


def test_a_lock_released_by_another_thread_leaves_its_takers_held_locks() -> None:
    # A plain Lock may be released by another thread (a locked() block closed elsewhere
    # does it): the taker must not go on "holding" it, or every later lock it takes would
    # be reported in both orders.
    with watching(patch_threading=True) as checker:
        a, b = threading.Lock(), threading.Lock()
        a.acquire()
        run(a.release)  # released by another thread
        with b, a:
            pass
        with a, b:
            pass  # (a -> b and b -> a: reported, once)
        assert checker.holding() == {}
    assert [f.kind for f in checker.findings] == ["order"]


def test_a_new_lock_never_inherits_the_order_of_a_dead_one_at_the_same_address() -> None:
    # Keyed by id(), a lock made where a dead one lived inherited its edges: thousands of
    # objects made and dropped per test (one per invocation) made false inversions likely.
    with watching(patch_threading=True) as checker:
        b = threading.Lock()
        reused = False
        for _ in range(1000):
            a = threading.Lock()
            address = id(a)
            with a, b:  # a -> b
                pass
            del a
            c = threading.Lock()
            if id(c) == address:
                reused = True
                break
        with b, c:  # b -> c: no cycle, c is not a
            pass
    assert reused, "no address reused in 1000 tries: the test shows nothing"
    assert checker.findings == []


def test_a_waker_that_takes_the_lock_only_after_its_last_notify_is_not_a_wait_finding() -> None:
    # The shape of Thread.start() under a lock that the new thread takes: the caller waits
    # for the start-up event holding a; the new thread sets the event, then takes a. It
    # wakes the waiter before it needs a: no deadlock (reported, wrongly, before).
    with watching(patch_threading=True) as checker:
        a, started = threading.Lock(), threading.Event()

        def new_thread() -> None:
            deadline = time.monotonic() + 10
            while not started._cond._waiters and time.monotonic() < deadline:  # type: ignore[attr-defined]
                time.sleep(0.001)  # (polling an observable state, with a deadline)
            started.set()  # wakes the waiter...
            with a:  # ...then takes a
                pass

        thread = threading.Thread(target=new_thread)
        with a:
            thread.start()
            assert started.wait(10)
        thread.join(10)
    assert checker.findings == []


@pytest.mark.no_lockcheck("starts from no open watching() block")
def test_watching_blocks_closed_in_any_order_restore_everything() -> None:
    from atomics import _locks

    originals = (threading.Lock, threading.RLock, _locks.Lock, threading.Condition.notify)
    outer = watching(patch_threading=True)
    inner = watching(patch_threading=True)
    first, second = outer.__enter__(), inner.__enter__()
    outer.__exit__(None, None, None)  # the outer one first
    made = threading.Lock()
    assert made._checker is second  # type: ignore[attr-defined]  # the open block's checker
    inner.__exit__(None, None, None)
    assert (threading.Lock, threading.RLock, _locks.Lock, threading.Condition.notify) == originals
    assert first is not second


def test_an_instrumented_rlock_has_what_the_standard_library_uses() -> None:
    with watching(patch_threading=True):
        r = threading.RLock()
    assert not r.locked() and r._recursion_count() == 0  # type: ignore[attr-defined]
    with r, r:
        assert r.locked() and r._recursion_count() == 2  # type: ignore[attr-defined]
    r._at_fork_reinit()  # type: ignore[attr-defined]
    assert not r.locked()


def test_the_same_wait_repeated_is_recorded_once() -> None:
    with watching(patch_threading=True) as checker:
        outer, ready = threading.Lock(), threading.Condition(threading.Lock())

        def wake() -> None:
            with ready:  # (gets the lock once the wait below has released it)
                ready.notify()

        for _ in range(200):
            with outer, ready:
                waker = threading.Thread(target=wake)
                waker.start()
                ready.wait()  # untimed, holding outer: the same wait every time
            waker.join(10)
    from atomics.testing.lockcheck import _condition_key

    on_ready = [w for w in checker._waits if w.condition == _condition_key(ready)]
    assert len(on_ready) == 1  # (each Thread.start() waits on its own start-up event)
