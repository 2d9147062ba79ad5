"""Found in the wild: ft_utils 0.2.0, ``ft_utils.concurrency.StdConcurrentQueue``.

Claim (its docstring): "A class which is a drop in replacement for queue.Queue and behaves as
a lock free ConcurrentQueue but supports the features of queue.Queue". The docstring also
warns: "there might be subtle differences in the way sequencing behaves in a multi-threaded
environment compared to queue.Queue".

What is checked here is what queue.Queue promises and sequencing does not touch: a blocking
``put()`` waits for room and never raises ``queue.Full``, and a queue made with ``maxsize``
never holds more than ``maxsize`` items (``put_nowait`` raises ``Full`` instead). Each defect
test searches until the harness catches the defect (within SEARCH_SECONDS) and asserts that
it did; ``queue.Queue`` passes the same checks (the model and the scenarios are not wrong).
See docs/found_in_the_wild.md.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from typing import Any

import pytest

pytest.importorskip("ft_utils.concurrency")

from ft_utils.concurrency import StdConcurrentQueue
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from atomics.testing import (
    SETTINGS,
    Call,
    HarnessError,
    LinearizabilityError,
    Scenario,
    assert_linearizable,
    check_scenario,
    fixed_scenario,
    mpmc_stress,
    scenarios,
)
from wild._wild import SEARCH_SECONDS

pytestmark = pytest.mark.free_threaded_only

MAXSIZE = 2


class BoundedFifoModel:
    """queue.Queue(maxsize) as a sequential object. A blocking call on a full (put) or empty
    (get) queue cannot have taken effect at that point of an order: the model answers
    _BLOCKED, which no real outcome equals, so the checker rejects that order."""

    maxsize = MAXSIZE

    def __init__(self) -> None:
        self.items: deque[Any] = deque()

    def put_nowait(self, item: Any) -> None:
        if len(self.items) >= self.maxsize:
            raise queue.Full
        self.items.append(item)

    def get_nowait(self) -> Any:
        if not self.items:
            raise queue.Empty
        return self.items.popleft()

    def put(self, item: Any) -> Any:  # blocking, no timeout
        if len(self.items) >= self.maxsize:
            return _BLOCKED
        self.items.append(item)
        return None

    def get(self) -> Any:  # blocking, no timeout
        if not self.items:
            return _BLOCKED
        return self.items.popleft()

    def qsize(self) -> int:
        return len(self.items)

    def full(self) -> bool:
        return len(self.items) >= self.maxsize

    def empty(self) -> bool:
        return not self.items


class _Blocked:
    def __repr__(self) -> str:
        return "<would block>"


_BLOCKED = _Blocked()


def ft_queue() -> StdConcurrentQueue:
    return StdConcurrentQueue(MAXSIZE)


def std_queue() -> queue.Queue[Any]:
    return queue.Queue(MAXSIZE)


NONBLOCKING = {
    "put_nowait": st.tuples(st.integers(0, 3)),
    "get_nowait": None,
    "qsize": None,
    "full": None,
}


def search(check: Any, seconds: float = SEARCH_SECONDS) -> tuple[Any, int, int, float]:
    """Call ``check()`` (one round: returns (failure or None, invocations, scenarios)) until
    it returns a failure or ``seconds`` pass; return (failure, invocations, scenarios, time)."""
    began = time.monotonic()
    invocations = scenarios_run = 0
    while True:
        failure, n, s = check()
        invocations += n
        scenarios_run += s
        elapsed = time.monotonic() - began
        if failure is not None or elapsed > seconds:
            return failure, invocations, scenarios_run, elapsed


def given_round(operations: dict[str, Any], factory: Any, model: Any, **scenario_options: Any):
    """One user-style Hypothesis run (generation only, no database, no shrinking) as a
    search round: returns (the first LinearizabilityError or None, invocations, scenarios)."""
    found: list[LinearizabilityError] = []
    counts = [0, 0]

    @settings(SETTINGS, database=None, phases=[Phase.generate])
    @given(scenarios(operations, **scenario_options))
    def probe(scenario: Scenario) -> None:
        counts[1] += 1
        try:
            result = assert_linearizable(scenario, factory, model)
        except LinearizabilityError as error:
            counts[0] += error.result.invocations
            found.append(error)
            raise
        counts[0] += result.invocations

    def round_() -> tuple[Any, int, int]:
        found.clear()
        counts[:] = [0, 0]
        try:
            probe()
        except Exception:
            if not found:
                raise
        return (found[0] if found else None), counts[0], counts[1]

    return round_


# --- 1. blocking put() under two producers: mpmc_stress -----------------------------------


def _full_from_put(exc: BaseException) -> bool:
    """True when ``exc`` (mpmc_stress's HarnessError) was caused by queue.Full in a thread."""
    return isinstance(exc.__cause__, queue.Full)


def test_mpmc_blocking_put_raises_full() -> None:
    """Two producers, two consumers, maxsize 4: a blocking put() raises queue.Full."""
    errors: list[BaseException] = []

    def one_run() -> tuple[Any, int, int]:
        try:
            mpmc_stress(
                lambda: StdConcurrentQueue(4),
                producers=2,
                consumers=2,
                items_per_producer=2000,
                get_timeout=1.0,  # the consumers' wait once a producer has died
            )
        except HarnessError as exc:
            errors.append(exc)
            return (exc if _full_from_put(exc) else None), 1, 0
        return None, 1, 0

    failure, runs, _, elapsed = search(one_run)
    print(f"\nmpmc_stress: {runs} run(s), {elapsed:.2f}s; {errors[-1] if errors else 'no error'}")
    assert failure is not None, f"queue.Full not raised by put() in {runs} runs: {errors}"
    assert "Full()" in str(failure)


def test_mpmc_same_run_passes_on_queue_queue() -> None:
    """The same mpmc_stress run on queue.Queue(4): nothing raised, the bound is kept."""
    result = mpmc_stress(lambda: queue.Queue(4), producers=2, consumers=2, items_per_producer=2000)
    assert result.items == 4000
    assert result.max_size_seen <= 4


# --- 2. the same defect in a hand-written scenario, with a "would block" model ------------

BLOCKING_SCENARIO = fixed_scenario(
    [[Call("put", (1,))], [Call("put", (2,))], [Call("get"), Call("get")]],
    prefix=[Call("put_nowait", (0,))],
    suffix=[Call("qsize")],
)
"""maxsize 2, one item already in: two blocking puts race for the one free slot, a consumer
takes two items. Every operation completes on a correct queue (the second put waits for a
get); the model rejects any order in which a put() raised or took effect on a full queue."""


def test_fixed_scenario_blocking_put() -> None:
    def one_round() -> tuple[Any, int, int]:
        try:
            result = assert_linearizable(
                BLOCKING_SCENARIO, ft_queue, BoundedFifoModel, timeout=10.0
            )
        except LinearizabilityError as error:
            return error, error.result.invocations, 1
        return None, result.invocations, 1

    failure, invocations, _, elapsed = search(one_round)
    print(f"\nfixed scenario: {invocations} invocations, {elapsed:.2f}s")
    assert failure is not None, f"not caught in {invocations} invocations ({elapsed:.1f}s)"
    print(failure)


def test_fixed_scenario_blocking_put_queue_queue() -> None:
    """The same scenario and model pass on queue.Queue(2) (500 invocations)."""
    result = check_scenario(
        BLOCKING_SCENARIO, std_queue, BoundedFifoModel, invocations=500, time_budget=10.0
    )
    assert result.ok, result.failure


# --- 3. non-blocking operations, Hypothesis-generated scenarios ---------------------------


def test_nonblocking_linearizability_is_violated() -> None:
    """put_nowait / get_nowait / qsize / full against a bounded FIFO of maxsize 2."""
    failure, invocations, scenarios_run, elapsed = search(
        given_round(NONBLOCKING, ft_queue, BoundedFifoModel)
    )
    print(f"\nnon-blocking: {scenarios_run} scenarios, {invocations} invocations, {elapsed:.2f}s")
    assert failure is not None, f"not caught in {scenarios_run} scenarios ({elapsed:.1f}s)"
    print(failure)


@settings(SETTINGS, max_examples=20)
@given(scenarios(NONBLOCKING))
def test_nonblocking_model_passes_on_queue_queue(scenario: Scenario) -> None:
    """The same table and model: queue.Queue(2) is linearizable (20 scenarios)."""
    result = check_scenario(scenario, std_queue, BoundedFifoModel)
    assert result.ok, result.failure
