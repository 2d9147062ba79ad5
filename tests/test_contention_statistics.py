"""Contention counters (atomics.contention): one statistics() shape for every structure,
exact counts, contention seen on the right lock, nothing counted (plain locks) when off, and
composition with the lock-order checker."""

from __future__ import annotations

import inspect
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from _threads import run_together, wait_until_blocked_or_done
from atomics import (
    AtomicBoolean,
    AtomicInteger,
    AtomicReference,
    BoundedQueue,
    KnowledgeBase,
    ShardedDict,
    StripedCounter,
    _locks,
    runtime,
)
from atomics.contention import ENVIRONMENT_VARIABLE, tracking_default
from atomics.kb import ANY
from atomics.kb.storage import MemoryStorage
from atomics.testing.lockcheck import CheckedLock, watching

PLAIN_LOCK = type(threading.Lock())
UNIFORM = {"tracking", "acquisitions", "contended", "wait_seconds", "locks"}
ROW = {"name", "acquisitions", "contended", "wait_seconds"}

# structure name -> (make(track), one operation that takes exactly one lock once, its locks)
Make = Callable[[bool], Any]
STRUCTURES: dict[str, tuple[Make, Callable[[Any], object], Callable[[Any], list[Any]]]] = {
    "AtomicInteger": (
        lambda t: AtomicInteger(track_contention=t),
        lambda s: s.increment_and_get(),
        lambda s: [s._lock],
    ),
    "AtomicBoolean": (
        lambda t: AtomicBoolean(track_contention=t),
        lambda s: s.set(True),
        lambda s: [s._lock],
    ),
    "AtomicReference": (
        lambda t: AtomicReference(0, track_contention=t),
        lambda s: s.set(1),
        lambda s: [s._lock],
    ),
    "StripedCounter": (
        lambda t: StripedCounter(track_contention=t),
        lambda s: s.reset(),
        lambda s: [s._lock],
    ),
    "ShardedDict": (
        lambda t: ShardedDict(stripes=4, track_contention=t),
        lambda s: s.increment("k"),
        lambda s: list(s._locks),
    ),
    "ShardedDict.handle": (
        lambda t: ShardedDict(stripes=4, track_contention=t).handle(),
        lambda s: s.increment("k"),
        lambda s: list(s._locks),
    ),
    "BoundedQueue": (
        lambda t: BoundedQueue(4, track_contention=t),
        lambda s: s.qsize(),
        lambda s: [s._lock],
    ),
    "KnowledgeBase": (
        lambda t: KnowledgeBase(stripes=2, track_contention=t),
        lambda s: s.world.put("k", 1, agent_id="a"),
        lambda s: [s._subscriptions_lock, s.world._reducer_lock, s._storage.registry_lock],
    ),
    "MemoryStorage": (
        lambda t: MemoryStorage(stripes=2, track_contention=t),
        lambda s: s.put_if("k", 1, "a", ANY, 0.0),
        lambda s: [s.registry_lock, *s.world._locks, *s._id_locks],
    ),
}
NAMES = sorted(STRUCTURES)


def _check_shape(stats: Any, tracking: bool) -> None:
    assert set(stats) >= UNIFORM, sorted(stats)
    assert stats["tracking"] is tracking
    assert type(stats["acquisitions"]) is int and type(stats["contended"]) is int
    assert type(stats["wait_seconds"]) is float
    assert isinstance(stats["locks"], list) and stats["locks"]
    for row in stats["locks"]:
        assert set(row) == ROW and type(row["name"]) is str
    names = [row["name"] for row in stats["locks"]]
    assert len(set(names)) == len(names), names
    assert stats["acquisitions"] == sum(row["acquisitions"] for row in stats["locks"])
    assert stats["contended"] == sum(row["contended"] for row in stats["locks"])
    assert stats["contended"] <= stats["acquisitions"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("track", [False, True])
def test_every_structure_reports_the_same_shape(name: str, track: bool) -> None:
    make, operate, _ = STRUCTURES[name]
    structure = make(track)
    _check_shape(structure.statistics(), track)
    operate(structure)
    stats = structure.statistics()
    _check_shape(stats, track)
    if track:
        assert stats["acquisitions"] >= 1
    else:
        assert stats["acquisitions"] == stats["contended"] == 0
        assert stats["wait_seconds"] == 0.0


@pytest.mark.no_lockcheck("asserts the lock types, which the session's checker replaces")
@pytest.mark.parametrize("name", NAMES)
def test_tracking_off_means_plain_locks_and_on_means_counting_ones(name: str) -> None:
    make, _, locks_of = STRUCTURES[name]
    assert all(type(lock) is PLAIN_LOCK for lock in locks_of(make(False)))
    assert all(type(lock) is _locks.CountingLock for lock in locks_of(make(True)))


@pytest.mark.parametrize("name", NAMES)
def test_one_operation_counts_one_acquisition(name: str) -> None:
    make, operate, _ = STRUCTURES[name]
    structure = make(True)
    operate(structure)  # first use may register things (a cell, a topic)
    before = structure.statistics()
    operate(structure)
    after = structure.statistics()
    expected = 1
    if name == "StripedCounter":  # statistics() itself took the lock once in between
        expected = 2
    assert after["acquisitions"] - before["acquisitions"] == expected
    assert after["contended"] == before["contended"] == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: AtomicInteger(track_contention=1),  # type: ignore[arg-type]
        lambda: AtomicBoolean(track_contention="yes"),  # type: ignore[arg-type]
        lambda: AtomicReference(0, track_contention=1),  # type: ignore[arg-type]
        lambda: StripedCounter(track_contention=1),  # type: ignore[arg-type]
        lambda: ShardedDict(track_contention=1),  # type: ignore[arg-type]
        lambda: BoundedQueue(1, track_contention=1),  # type: ignore[arg-type]
        lambda: KnowledgeBase(track_contention=1),  # type: ignore[arg-type]
    ],
)
def test_track_contention_must_be_a_bool(make: Callable[[], object]) -> None:
    with pytest.raises(TypeError, match="track_contention"):
        make()


def test_sharded_dict_counts_per_stripe_exactly() -> None:
    d: ShardedDict[int, int] = ShardedDict(stripes=4, track_contention=True)
    for key in range(12):  # small ints hash to themselves: key % 4 is the stripe
        d[key] = key
        d.increment(key)
    _ = [d[key] for key in range(12)], d.get(0), 3 in d  # reads take no lock
    stats = d.statistics()
    assert [row["acquisitions"] for row in stats["locks"]] == [6, 6, 6, 6]
    assert [row["name"] for row in stats["locks"]] == [f"stripe {i}" for i in range(4)]
    d.snapshot()  # every stripe once
    assert [row["acquisitions"] for row in d.statistics()["locks"]] == [7, 7, 7, 7]
    with d.locked(1) as entry:
        entry.set(100)
        inside = d.statistics()  # lock-free: never blocks, inside a locked() block too
    assert inside["locks"][1]["acquisitions"] == 8
    assert d.statistics()["stripes"] == 4 and sum(d.statistics()["shard_sizes"]) == 12


def test_atomic_integer_in_place_operators_count() -> None:
    n = AtomicInteger(track_contention=True)
    for _ in range(10):
        n += 1
    n.get()
    assert n.statistics()["acquisitions"] == 10 and int(n) == 10


def test_striped_counter_adds_take_no_lock() -> None:
    c = StripedCounter(track_contention=True)
    c.increment()  # registers this thread's cell: the lock, once
    handle = c.handle()  # a handle's cell: once more
    for _ in range(100):
        c.increment()
        handle.add(2)
    stats = c.statistics()
    assert stats["acquisitions"] == 2 and stats["cells"] == 2 and c.sum() == 301


def test_bounded_queue_counts_lock_and_waits_separately() -> None:
    q: BoundedQueue[int] = BoundedQueue(1, track_contention=True)
    q.put(1)
    q.empty(), q.full()  # lock-free
    assert q.statistics()["acquisitions"] == 1
    with pytest.raises(queue.Full):
        q.put(2, timeout=0.01)  # sleeps for room (at least once), then gives up
    assert q.get() == 1
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    stats = q.statistics()
    assert stats["put_waits"] >= 1 and stats["get_waits"] >= 1
    assert stats["contended"] == 0  # waiting for room or items is not lock contention
    untracked: BoundedQueue[int] = BoundedQueue(1, track_contention=False)
    with pytest.raises(queue.Empty):
        untracked.get(timeout=0.01)
    assert untracked.statistics()["get_waits"] >= 1  # counted whether tracking or not
    assert untracked.statistics()["acquisitions"] == 0


def _blocking_line() -> int:
    lines, first = inspect.getsourcelines(_locks.CountingLock.acquire)
    return first + next(i for i, line in enumerate(lines) if "acquire(True, timeout)" in line)


def _contend(hold: Any, wait: Callable[[], object]) -> None:
    """Hold ``hold`` (a context manager) in this thread until another thread, running
    ``wait``, is blocked inside CountingLock.acquire, then let it through."""
    with hold:
        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        assert wait_until_blocked_or_done(
            waiter, _locks.CountingLock.acquire.__code__, _blocking_line(), settle=0.05, timeout=60
        ), "the waiter finished without waiting: it did not take the lock"
    waiter.join(60)
    assert not waiter.is_alive()


def test_a_waiter_on_a_held_stripe_is_counted_on_that_stripe() -> None:
    d: ShardedDict[int, int] = ShardedDict(stripes=4, track_contention=True)
    d[2] = 0
    before = d.statistics()
    _contend(d.locked(2), lambda: d.increment(2))
    after = d.statistics()
    assert after["locks"][2]["contended"] - before["locks"][2]["contended"] == 1
    assert after["locks"][2]["wait_seconds"] > 0.0
    assert [row["contended"] for i, row in enumerate(after["locks"]) if i != 2] == [0, 0, 0]
    assert after["contended"] == 1 and d[2] == 1


@pytest.mark.parametrize("name", ["AtomicInteger", "BoundedQueue", "StripedCounter"])
def test_a_waiter_on_a_held_lock_is_counted(name: str) -> None:
    make, operate, locks_of = STRUCTURES[name]
    structure = make(True)
    (lock,) = locks_of(structure)
    _contend(lock, lambda: operate(structure))
    stats = structure.statistics()
    assert stats["contended"] == 1 and stats["wait_seconds"] > 0.0


def test_counts_stay_exact_with_threads_racing() -> None:
    n = AtomicInteger(track_contention=True)
    d: ShardedDict[str, int] = ShardedDict(stripes=2, track_contention=True)
    per_thread = 20_000

    def work() -> None:
        for _ in range(per_thread):
            n.increment_and_get()
            d.increment("k")

    run_together(work, work)
    assert n.statistics()["acquisitions"] == 2 * per_thread == int(n)
    assert d.statistics()["acquisitions"] == 2 * per_thread == d["k"]


def test_bounded_queue_condition_waits_with_a_counting_lock() -> None:
    q: BoundedQueue[int] = BoundedQueue(2, track_contention=True)
    items = 2_000
    got: list[int] = []

    def produce() -> None:
        for i in range(items):
            q.put(i, timeout=30)

    def consume() -> None:
        for _ in range(items):
            got.append(q.get(timeout=30))

    run_together(produce, consume)
    assert got == list(range(items))
    stats = q.statistics()
    assert stats["acquisitions"] >= 2 * items  # a woken put or get takes the lock again


@pytest.mark.no_lockcheck("opens its own checker, whose findings it asserts")
def test_the_lock_order_checker_composes_with_counting_locks() -> None:
    with watching() as checker:
        a: ShardedDict[int, int] = ShardedDict(stripes=1, track_contention=True)
        b: ShardedDict[int, int] = ShardedDict(stripes=1, track_contention=True)
        q: BoundedQueue[int] = BoundedQueue(1, track_contention=True)
        assert type(a._locks[0]) is CheckedLock
        assert type(_locks.counters(a._locks[0])) is _locks.CountingLock
        with a._locks[0], b._locks[0]:
            pass
        with b._locks[0], a._locks[0]:  # the other order: a potential deadlock
            pass
        a[0] = 1
        run_together(lambda: q.put(1, timeout=30), lambda: q.get(timeout=30))
    assert [finding.kind for finding in checker.findings] == ["order"]
    assert a.statistics()["acquisitions"] == 3 and b.statistics()["acquisitions"] == 2
    assert a.statistics()["tracking"] is True
    assert q.statistics()["acquisitions"] >= 2
    untracked: ShardedDict[int, int] = ShardedDict(stripes=1, track_contention=False)
    assert type(untracked._locks[0]) is PLAIN_LOCK  # after the block: plain again


def test_the_checker_still_sees_a_self_deadlock_on_a_counting_lock() -> None:
    from atomics.testing.lockcheck import LockOrderError

    with watching(raise_on_inversion=True):
        n = AtomicInteger(track_contention=True)
        with n._lock, pytest.raises(LockOrderError):
            n._lock.acquire()


def run_with_environment(code: str, value: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a new interpreter with ENVIRONMENT_VARIABLE set to ``value``."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, ENVIRONMENT_VARIABLE: value, "PYTHONPATH": src}
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_environment_variable_sets_the_default() -> None:
    code = (
        "from atomics import AtomicInteger, ShardedDict\n"
        "from atomics.contention import tracking_default\n"
        "print(tracking_default(), AtomicInteger().statistics()['tracking'],"
        " AtomicInteger(track_contention=False).statistics()['tracking'],"
        " ShardedDict().statistics()['tracking'])"
    )
    out = run_with_environment(code, "1")
    assert out.stdout.split() == ["True", "True", "False", "True"], out.stderr
    if os.environ.get(ENVIRONMENT_VARIABLE) is None:
        assert tracking_default() is False


def test_an_unknown_environment_value_warns_and_leaves_tracking_off() -> None:
    # "2", "y", "enabled" were silently off (found by a review): a typo must not pass unseen
    code = "from atomics.contention import tracking_default; print(tracking_default())"
    for value, expected, warned in (("enabled", "False", True), ("off", "False", False)):
        out = run_with_environment(code, value)
        assert out.stdout.split() == [expected], out.stderr
        assert ("RuntimeWarning" in out.stderr) is warned, out.stderr


class RacyCountingLock(_locks.CountingLock):
    """Negative control: counts *before* taking the lock, so two threads' `+= 1` on the
    counters can interleave and lose a count (the real one counts while holding it)."""

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self.acquisitions += 1  # unprotected read-modify-write
        return bool(self._lock.acquire(blocking, timeout))

    __enter__ = acquire


def lost_counts(lock: _locks.CountingLock, per_thread: int = 20_000) -> int:
    d: ShardedDict[str, int] = ShardedDict(stripes=1, track_contention=True)
    d._locks = (lock,)  # type: ignore[misc]

    def work() -> None:
        for _ in range(per_thread):
            d.increment("k")

    run_together(work, work)
    return 2 * per_thread - lock.acquisitions


def test_the_counts_test_catches_counters_updated_outside_the_lock() -> None:
    assert lost_counts(_locks.CountingLock(threading.Lock())) == 0
    if not runtime.free_threading_active():
        pytest.skip(
            "with the GIL a thread is not switched between the read and the write of one "
            "`+= 1` on an attribute (3.11.7: not caught in 15 s, 377 rounds)"
        )
    deadline = time.monotonic() + 30
    while lost_counts(RacyCountingLock(threading.Lock())) == 0:
        assert time.monotonic() < deadline, "the racy counting lock was never caught in 30 s"
