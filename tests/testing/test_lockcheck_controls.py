"""The lock-order checker against the deadlocks this project fixed (issues 12 and 13).

Each test replays one deadlock's *old* lock order -- the code that hung, restored by a
subclass or a patch as the negative controls in tests/test_guarantees.py,
tests/test_striped_counter.py and tests/test_knowledge_base_edges.py do -- on threads that
run one after the other, so that nothing can hang: the checker must report it from the
order alone. Its twin runs the fixed code the same way and must report nothing.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import pytest

from atomics import KnowledgeBase, ShardedDict, StripedCounter
from atomics.errors import ReentrantCallError
from atomics.kb.storage import MemoryStorage
from atomics.testing.lockcheck import Finding, LockOrderError, watching
from test_guarantees import LockingIteration  # the iteration that landed first
from test_striped_counter import LockingRetireCounter  # the finalizer that took the lock


def run(target: Callable[[], object]) -> None:
    """Run ``target`` on a new thread to its end (an exception it raises is kept)."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the replay itself hung"
    if errors and not isinstance(errors[0], (LockOrderError, ReentrantCallError)):
        raise errors[0]


def kinds(findings: list[Finding]) -> list[str]:
    return [finding.kind for finding in findings]


# --- issue 12: iteration inside compute took the stripe locks --------------------------------
def iterate_inside_compute(d: ShardedDict[Any, Any]) -> None:
    d["k"] = 1
    d.compute("k", lambda value: (sorted(d.items()), value)[1])


def test_iteration_inside_compute_under_stripe_locks_is_reported() -> None:
    with watching(raise_on_inversion=True) as checker:  # it would wait for itself: raise
        d = LockingIteration(stripes=4)
        run(lambda: iterate_inside_compute(d))
    assert kinds(checker.findings) == ["self"]
    assert "sharded_dict.py" in checker.findings[0].locks[0]


def test_iteration_inside_compute_now_is_silent() -> None:
    with watching(raise_on_inversion=True) as checker:
        d: ShardedDict[Any, Any] = ShardedDict(stripes=4)
        run(lambda: iterate_inside_compute(d))
    assert checker.findings == []


# --- issue 12: two maps written from each other's compute (ABBA) -----------------------------
def write_each_other(a: ShardedDict[str, int], b: ShardedDict[str, int]) -> None:
    """Thread 1 writes ``b`` inside ``a.compute``; later, thread 2 writes ``a`` inside
    ``b.compute``. Apart in time, so nothing hangs."""

    def writes(other: ShardedDict[str, int]) -> Callable[[int], int]:
        def fn(value: int) -> int:
            with suppress(ReentrantCallError):
                other["k"] = 1
            return value

        return fn

    run(lambda: a.compute("k", writes(b)))
    run(lambda: b.compute("k", writes(a)))


def test_cross_map_writes_with_the_old_guard_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import atomics.sharded_dict as module

    monkeypatch.setattr(module, "check_write", lambda what: None)  # the per-map guard
    with watching() as checker:
        a: ShardedDict[str, int] = ShardedDict(k=0)
        b: ShardedDict[str, int] = ShardedDict(k=0)
        write_each_other(a, b)
    assert kinds(checker.findings) == ["order"]
    report = str(checker.findings[0])
    assert "lock-order inversion" in report and report.count("in fn") >= 2  # both stacks


def test_cross_map_writes_now_are_silent() -> None:
    with watching() as checker:
        a: ShardedDict[str, int] = ShardedDict(k=0)
        b: ShardedDict[str, int] = ShardedDict(k=0)
        write_each_other(a, b)
    assert checker.findings == []


# --- issue 12: a handle's finalizer took the counter's lock (GC inside sum()) ----------------
def collect_a_handle_inside_the_lock(counter: StripedCounter) -> None:
    """The cyclic GC running inside ``sum()``'s locked region, made deterministic: a handle
    that only the GC frees, collected while this thread holds the counter's lock."""
    handle = counter.handle()
    handle.increment()
    cycle: list[Any] = [handle]
    cycle.append(cycle)
    del handle, cycle
    with counter._lock:  # where sum() is when the GC runs a finalizer
        gc.collect()


def test_a_finalizer_taking_the_lock_its_thread_holds_is_reported() -> None:
    with watching() as checker:
        counter = LockingRetireCounter()
        run(lambda: collect_a_handle_inside_the_lock(counter))
    assert kinds(checker.findings) == ["self"]
    assert "_retire" in str(checker.findings[0])


def test_the_finalizer_now_is_silent() -> None:
    with watching() as checker:
        counter = StripedCounter()
        run(lambda: collect_a_handle_inside_the_lock(counter))
    assert checker.findings == []
    assert counter.sum() == 1


# --- issue 13 (a): export took topic locks before the world's stripes ------------------------
@contextmanager
def old_export_order(self: MemoryStorage) -> Iterator[None]:
    with self.registry_lock, ExitStack() as held:
        for _, log in sorted(self.logs.items()):
            held.enter_context(log.lock)
        held.enter_context(self.world._all_stripes())
        yield


class ReadsTheLog:
    """A stored value whose ``+`` (run by the named "sum" reducer under the key's world
    stripe) reads a topic: documented as allowed."""

    def __init__(self, kb: KnowledgeBase, n: int) -> None:
        self.kb, self.n = kb, n

    def __add__(self, other: int) -> ReadsTheLog:
        self.kb.insights("t")
        return ReadsTheLog(self.kb, self.n + other)


def snapshot_then_read_inside_a_world_update(kb: KnowledgeBase) -> None:
    kb.add_insight("a", "x", topic="t")
    kb.world.register_reducer("k", "sum")
    kb.world.put("k", ReadsTheLog(kb, 0), agent_id="a")
    run(kb.snapshot)
    run(lambda: kb.world.merge("k", 1, agent_id="a"))


def test_the_old_export_order_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MemoryStorage, "_everything_locked", old_export_order)
    with watching() as checker:
        snapshot_then_read_inside_a_world_update(KnowledgeBase(stripes=1))
    assert kinds(checker.findings) == ["order"]
    assert "storage/memory.py" in " ".join(checker.findings[0].locks)


def test_the_documented_export_order_is_silent() -> None:
    with watching() as checker:
        snapshot_then_read_inside_a_world_update(KnowledgeBase(stripes=1))
    assert checker.findings == []


# --- issue 13 (b): overflow="block" waited for room holding the topic lock ------------------
def block_subscriber_reading_the_log(kb: KnowledgeBase, old_order: bool) -> None:
    """A subscriber (maxsize 1, overflow "block") that reads the log for each event it
    takes, while a writer waits for room. With ``old_order`` the writer's delivery is
    replayed as the code before the fix did it: waiting for room in the subscriber's queue
    while holding the topic lock -- with a time limit, so the replay cannot hang (the
    subscriber's read waits for the topic lock until the writer's put has gone in)."""
    feed = kb.subscribe(topics=["t"], maxsize=1, overflow="block")
    kb.add_insight("a", 0, topic="t")  # the queue is full
    sink_queue = feed._queue
    log = kb._storage.logs["t"]  # type: ignore[attr-defined]
    done = threading.Event()

    def write() -> None:
        if old_order:
            with log.lock:
                sink_queue.put("event 1")  # as the old code: no timeout
        else:
            kb.add_insight("a", 1, topic="t")  # waits for room, holding no topic lock
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 10
    while not sink_queue._putters and time.monotonic() < deadline:
        time.sleep(0.001)  # (polling an observable state, with a deadline)
    # a subscriber's loop: get (wakes the writer), read the log, get again
    run(lambda: (feed.get(timeout=10), kb.latest("t"), feed.get(timeout=10)))
    assert done.wait(10)
    writer.join(10)
    feed.close()


def test_waiting_for_room_under_the_topic_lock_is_reported() -> None:
    with watching() as checker:
        block_subscriber_reading_the_log(KnowledgeBase(), old_order=True)
    assert kinds(checker.findings) == ["wait"], checker.findings
    assert "waits on a condition of" in str(checker.findings[0])


def test_the_fixed_block_delivery_is_silent() -> None:
    with watching() as checker:
        block_subscriber_reading_the_log(KnowledgeBase(), old_order=False)
    assert checker.findings == [], "\n".join(map(str, checker.findings))
