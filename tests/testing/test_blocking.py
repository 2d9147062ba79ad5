"""Blocking operations: WouldBlock models, calls left blocked, lost wake-ups.

A model raises ``WouldBlock`` where the real call would wait and names its blocking
operations in ``blocking``. The checker linearizes a completed blocking call only where the
model does not block; an invocation whose remaining threads stay inside blocking calls ends
after ``block_grace`` seconds, and is accepted (counted in ``blocked_invocations``) only if
the model says every one of those calls would block -- else it is a lost wake-up.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atomics import BoundedQueue
from atomics.testing import (
    SETTINGS,
    Call,
    HarnessTimeout,
    WorkerPool,
    assert_linearizable,
    check_scenario,
    find_violation,
    fixed_scenario,
    scenarios,
)
from atomics.testing.bulk import CONTROL_SECONDS, rounds
from atomics.testing.checker import Verdict, check_history
from atomics.testing.history import NEVER_NS, PENDING, OpRecord, WouldBlock
from atomics.testing.linearizability import format_report
from atomics.testing.runner import run_invocation
from atomics.testing.scenario import small_values

GRACE = 0.1  # seconds: short, so that the many scenarios ending blocked stay fast


class QueueModel:
    """A bounded FIFO queue of 2 whose ``put`` and ``get`` wait, as ``queue.Queue``'s do."""

    blocking = frozenset({"put", "get"})

    def __init__(self, maxsize: int = 2) -> None:
        self.maxsize = maxsize
        self.items: deque[Any] = deque()

    def put(self, item: Any) -> None:
        if len(self.items) >= self.maxsize:
            raise WouldBlock
        self.items.append(item)

    def get(self) -> Any:
        if not self.items:
            raise WouldBlock
        return self.items.popleft()

    def qsize(self) -> int:
        return len(self.items)


OPERATIONS = {"put": st.tuples(small_values(4)), "get": None, "qsize": None}


def shut(q: Any) -> None:
    """The unblock hook: shutting the queue down wakes every blocked put and get."""
    q.shutdown(immediate=True)


class LostWakeupQueue:
    """BROKEN on purpose: ``get`` waits on the wrong condition -- ``not_full``, the producers'
    -- so the ``put`` that makes an item available notifies ``not_empty``, where nobody
    waits, and the consumer sleeps on beside the item (a lost wake-up). Only another ``get``
    (which notifies ``not_full``) wakes it."""

    def __init__(self, maxsize: int = 2) -> None:
        self.maxsize = maxsize
        self.items: deque[Any] = deque()
        self.lock = threading.Lock()
        self.not_empty = threading.Condition(self.lock)
        self.not_full = threading.Condition(self.lock)
        self.closed = False

    def put(self, item: Any) -> None:
        with self.lock:
            while len(self.items) >= self.maxsize and not self.closed:
                self.not_full.wait()
            if self.closed:
                raise RuntimeError("shut down")
            self.items.append(item)
            self.not_empty.notify()

    def get(self) -> Any:
        with self.lock:
            while not self.items and not self.closed:
                self.not_full.wait()  # the bug: should be self.not_empty
            if not self.items:
                raise RuntimeError("shut down")
            item = self.items.popleft()
            self.not_full.notify()
            return item

    def qsize(self) -> int:
        return len(self.items)

    def shutdown(self, immediate: bool = False) -> None:
        with self.lock:
            self.closed = True
            self.not_empty.notify_all()
            self.not_full.notify_all()


def rec(thread: int, index: int, call: Call, start: int, end: int, outcome: Any) -> OpRecord:
    return OpRecord(thread, index, call, start, end, outcome)


def pending(thread: int, index: int, call: Call, start: int) -> OpRecord:
    return OpRecord(thread, index, call, start, NEVER_NS, PENDING)


# --- the checker ---------------------------------------------------------------------------
def test_completed_get_is_linearized_only_where_it_could_proceed() -> None:
    put, get = Call("put", (1,)), Call("get")
    overlapping = [rec(0, 0, get, 0, 10, 1), rec(1, 0, put, 5, 6, None)]  # waited for the put
    assert check_history(overlapping, QueueModel).ok
    before = [rec(0, 0, get, 0, 3, 1), rec(1, 0, put, 5, 6, None)]  # returned before the put
    result = check_history(before, QueueModel)
    assert result.verdict is Verdict.NOT_LINEARIZABLE
    assert [op.call for op, _ in result.stuck_at] == [get]


def test_pending_calls_that_would_block_are_accepted() -> None:
    history = [pending(0, 0, Call("get"), 0), pending(1, 0, Call("get"), 1)]
    result = check_history(history, QueueModel)
    assert result.ok
    assert result.blocked == history


def test_pending_call_that_could_proceed_is_a_lost_wakeup() -> None:
    history = [pending(0, 0, Call("get"), 0), rec(1, 0, Call("put", (7,)), 1, 2, None)]
    result = check_history(history, QueueModel)
    assert result.verdict is Verdict.NOT_LINEARIZABLE
    assert result.longest_prefix == [history[1]]
    assert result.stuck_at == [(history[0], 7)]


def test_some_order_leaving_every_pending_call_blocked_suffices() -> None:
    # put(2) overlaps put(1) and get() -> 1, and put(3) never returned. With room for one
    # item the only valid order is put(1), get, put(2): the queue ends full, put(3) blocks.
    # With room for two every valid order ends with [2]: put(3) could proceed (lost wake-up).
    put1, put2, get = Call("put", (1,)), Call("put", (2,)), Call("get")
    history = [
        rec(0, 0, put1, 0, 4, None),
        rec(0, 1, get, 5, 9, 1),
        rec(1, 0, put2, 1, 20, None),
        pending(2, 0, Call("put", (3,)), 2),
    ]
    assert check_history(history, lambda: QueueModel(maxsize=1)).ok
    assert not check_history(history, lambda: QueueModel(maxsize=2)).ok


# --- the runner ----------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_every_thread_blocked_is_reported_as_such_quickly() -> None:
    scenario = fixed_scenario([[Call("get")], [Call("get")], [Call("put", (1,)), Call("get")]])
    began = time.monotonic()
    with WorkerPool(3) as pool:
        result = check_scenario(scenario, lambda: queue.Queue(2), QueueModel, pool=pool)
        assert pool.broken  # no unblock hook: the blocked workers cannot be freed
    seconds = time.monotonic() - began
    assert seconds < 5, seconds  # block_grace (0.5 s) and a stack dump, not a 30 s timeout
    assert result.ok
    assert result.invocations == result.blocked_invocations == 1
    blocked = result.blocked
    assert blocked is not None
    assert sorted(op.call.name for op in blocked.pending) == ["get", "get"]
    assert len(blocked.order) == 2  # put(1), then one get took the item
    text = str(blocked)
    assert text.startswith("ENDED BLOCKED: 2 blocking call(s) never returned")
    assert "get()" in text
    assert "in get" in text  # the stacks show where each thread waits
    assert "the pool was retired" in text


@pytest.mark.timeout(30)
def test_unblock_frees_the_workers_and_the_pool_goes_on() -> None:
    scenario = fixed_scenario([[Call("get")], [Call("put", (1,)), Call("get")]])
    with WorkerPool(2) as pool:
        result = check_scenario(
            scenario, lambda: BoundedQueue(2), QueueModel, pool=pool, unblock=shut,
            block_grace=GRACE, invocations=5, time_budget=30,
        )  # fmt: skip
        assert result.ok
        assert result.invocations == result.blocked_invocations == 5
        assert result.blocked is not None
        assert "freed by unblock" in str(result.blocked)
        assert not pool.broken
        assert not pool.holding
        records = pool.run(BoundedQueue(2), [[Call("put", (1,))], [Call("get")]])
        assert sorted(map(str, records)) == ["get() -> 1", "put(1) -> None"]


@pytest.mark.timeout(30)
def test_blocking_prefix_runs_on_a_worker_not_on_the_main_thread() -> None:
    scenario = fixed_scenario([[Call("put", (1,))]], prefix=[Call("get")])
    with WorkerPool(1) as pool:
        history = run_invocation(
            scenario, lambda: BoundedQueue(2), pool, blocking=QueueModel.blocking,
            block_grace=GRACE,
        )  # fmt: skip
        assert pool.holding
        assert [(op.thread, str(op)) for op in history] == [
            (-1, "get() -> blocked (never returned)")
        ]
        assert pool.release(shut)
        assert not pool.broken


@pytest.mark.timeout(30)
def test_a_slow_wakeup_is_not_a_lost_one() -> None:
    class SlowToReturn(BoundedQueue[Any]):
        def get(self, block: bool = True, timeout: float | None = None) -> Any:
            item = super().get(block, timeout)
            threading.Event().wait(6 * GRACE)  # woken, but returns only well after the grace
            return item

    scenario = fixed_scenario([[Call("get")], [Call("put", (1,))]])
    with WorkerPool(2) as pool:
        confirmations = []
        wait_blocked = pool.wait_blocked

        def counted(seconds: float) -> list[OpRecord]:
            confirmations.append(seconds)
            return wait_blocked(seconds)

        pool.wait_blocked = counted  # type: ignore[method-assign]
        result = check_scenario(
            scenario, lambda: SlowToReturn(2), QueueModel, pool=pool, block_grace=GRACE,
            invocations=2,
        )  # fmt: skip
        assert not pool.broken
    assert result.ok, format_report(result)
    assert result.blocked_invocations == 0
    assert confirmations == [2.0, 2.0]  # each was suspected, then seen to return


@pytest.mark.timeout(30)
def test_non_blocking_models_are_unchanged() -> None:
    # No ``blocking`` declared: the parallel part runs exactly as before (no watching).
    scenario = fixed_scenario([[Call("put", (1,))], [Call("put", (2,))]], suffix=[Call("get")])

    class Model(QueueModel):
        blocking = frozenset()

    result = check_scenario(scenario, lambda: BoundedQueue(2), Model, invocations=20)
    assert result.ok
    assert result.blocked_invocations == 0
    assert result.blocked is None


@pytest.mark.timeout(30)
def test_a_hang_in_a_non_blocking_call_is_still_a_timeout() -> None:
    release = threading.Event()

    class HangsInQsize(BoundedQueue[Any]):
        def qsize(self) -> int:
            release.wait(60)  # a hang the test ends itself
            return 0

    scenario = fixed_scenario([[Call("qsize")], [Call("get")]])
    try:
        with pytest.raises(HarnessTimeout, match="in qsize"):
            check_scenario(
                scenario, lambda: HangsInQsize(2), QueueModel, timeout=1.0, block_grace=GRACE
            )
    finally:
        release.set()


# --- Hypothesis: a correct queue passes, a lost wake-up is caught -----------------------------
@pytest.mark.timeout(120)
def test_correct_bounded_queue_passes_including_blocked_endings() -> None:
    blocked_endings = []

    @settings(SETTINGS, max_examples=20)
    @given(scenarios(OPERATIONS, threads=(2, 3), ops_per_thread=(1, 3)))
    def run(scenario: Any) -> None:
        result = assert_linearizable(
            scenario, lambda: BoundedQueue(2), QueueModel, unblock=shut,
            block_grace=GRACE, time_budget=0.3,
        )  # fmt: skip
        blocked_endings.append(result.blocked_invocations)

    run()
    assert sum(blocked_endings) > 0  # scenarios that end with threads blocked were drawn


@pytest.mark.timeout(120)
def test_queue_queue_passes_without_an_unblock_hook() -> None:
    # Without a hook a blocked ending retires the pool and ends the scenario (one invocation).
    @settings(SETTINGS, max_examples=10)
    @given(scenarios(OPERATIONS, threads=(2, 3), ops_per_thread=(1, 3)))
    def run(scenario: Any) -> None:
        assert_linearizable(
            scenario, lambda: queue.Queue(2), QueueModel, block_grace=GRACE, time_budget=0.3
        )

    run()


@pytest.mark.timeout(120)
def test_lost_wakeup_is_caught_in_a_fixed_scenario() -> None:
    scenario = fixed_scenario(
        [[Call("get")], [Call("get")], [Call("put", (1,)), Call("put", (2,))]]
    )
    for _ in rounds(CONTROL_SECONDS):
        result = check_scenario(
            scenario, LostWakeupQueue, QueueModel, unblock=shut, block_grace=GRACE
        )
        if not result.ok:
            break
    assert not result.ok, f"the lost wake-up was missed for {CONTROL_SECONDS} s"
    report = format_report(result)
    assert "a lost wake-up" in report
    assert "never returned; the model says" in report
    assert "in get" in report  # the stack of the consumer left asleep


@pytest.mark.timeout(120)
def test_lost_wakeup_is_caught_by_a_generated_search() -> None:
    violation = find_violation(
        OPERATIONS, LostWakeupQueue, QueueModel, time_budget=CONTROL_SECONDS,
        threads=(2, 3), ops_per_thread=(1, 3),
        unblock=shut, block_grace=GRACE,
    )  # fmt: skip
    assert violation is not None, f"the lost wake-up was missed for {CONTROL_SECONDS} s"
    assert "a lost wake-up" in str(violation)
