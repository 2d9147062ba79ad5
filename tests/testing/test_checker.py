"""The linearizability checker on hand-written histories."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from atomics.testing import Call
from atomics.testing.checker import Transitions, Verdict, check_history
from atomics.testing.controls import BoundedQueueModel, CounterModel, MapModel
from atomics.testing.history import OpRecord, Raised


class Register:
    def __init__(self) -> None:
        self.value = 0

    def set(self, value: int) -> None:
        self.value = value

    def get(self) -> int:
        return self.value


def op(
    thread: int,
    index: int,
    name: str,
    args: tuple[Any, ...],
    start: int,
    end: int,
    outcome: Any = None,
) -> OpRecord:
    return OpRecord(thread, index, Call(name, args), start, end, outcome)


def test_empty_history_is_linearizable() -> None:
    assert check_history([], Register).verdict is Verdict.LINEARIZABLE


def test_sequential_history_must_match_model() -> None:
    good = [op(0, 0, "set", (1,), 0, 1), op(0, 1, "get", (), 2, 3, 1)]
    bad = [op(0, 0, "set", (1,), 0, 1), op(0, 1, "get", (), 2, 3, 0)]
    assert check_history(good, Register).ok
    result = check_history(bad, Register)
    assert result.verdict is Verdict.NOT_LINEARIZABLE
    assert [o.call.name for o in result.longest_prefix] == ["set"]
    assert result.stuck_at == [(bad[1], 1)]


def test_overlapping_read_may_see_old_or_new_value() -> None:
    write = op(0, 0, "set", (1,), 0, 100)
    for seen in (0, 1):
        assert check_history([write, op(1, 0, "get", (), 50, 60, seen)], Register).ok
    assert not check_history([write, op(1, 0, "get", (), 50, 60, 2)], Register).ok


def test_real_time_order_is_respected() -> None:
    # The read starts after the write returned: it must see the write.
    history = [op(0, 0, "set", (1,), 0, 10), op(1, 0, "get", (), 11, 12, 0)]
    assert check_history(history, Register).verdict is Verdict.NOT_LINEARIZABLE


def test_equal_timestamps_count_as_overlapping() -> None:
    history = [op(0, 0, "set", (1,), 0, 10), op(1, 0, "get", (), 10, 12, 0)]
    assert check_history(history, Register).ok


def test_lost_update_is_not_linearizable() -> None:
    # Two overlapping increments that both returned 1: one update was lost.
    history = [
        op(0, 0, "increment", (), 0, 10, 1),
        op(1, 0, "increment", (), 1, 11, 1),
        op(2, 0, "get", (), 20, 21, 1),
    ]
    result = check_history(history, CounterModel)
    assert result.verdict is Verdict.NOT_LINEARIZABLE


def test_needs_reordering_against_call_order() -> None:
    # B is called after A but must be linearized first (its result says so).
    history = [
        op(0, 0, "increment", (), 0, 100, 2),
        op(1, 0, "increment", (), 5, 50, 1),
    ]
    result = check_history(history, CounterModel)
    assert result.ok
    assert [o.thread for o in result.order] == [1, 0]


def test_exceptions_are_outcomes() -> None:
    empty = op(0, 0, "get_nowait", (), 0, 1, Raised(queue.Empty))
    assert check_history([empty], BoundedQueueModel).ok
    wrong_type = op(0, 0, "get_nowait", (), 0, 1, Raised(KeyError))
    assert not check_history([wrong_type], BoundedQueueModel).ok
    no_raise = op(0, 0, "get_nowait", (), 0, 1, None)
    assert not check_history([no_raise], BoundedQueueModel).ok


def test_bound_overshoot_is_caught() -> None:
    history = [
        op(-1, 0, "put_nowait", (1,), 0, 1),
        op(0, 0, "put_nowait", (2,), 10, 20),
        op(1, 0, "put_nowait", (3,), 11, 21),  # capacity 2: one of these must raise Full
        op(2, 0, "qsize", (), 30, 31, 3),
    ]
    assert check_history(history, BoundedQueueModel).verdict is Verdict.NOT_LINEARIZABLE


def test_partitioning_checks_keys_separately() -> None:
    history = [
        op(0, 0, "add", ("a", 1), 0, 10, 1),
        op(1, 0, "add", ("b", 1), 0, 10, 1),
        op(0, 1, "add", ("a", 1), 11, 20, 3),  # wrong: a is 2
    ]
    result = check_history(history, MapModel)
    assert result.verdict is Verdict.NOT_LINEARIZABLE
    assert result.partition == "a"
    assert check_history(history, MapModel, partition=False).verdict is Verdict.NOT_LINEARIZABLE


class Accumulator:
    def __init__(self) -> None:
        self.total = 0

    def add(self, n: int) -> None:
        self.total += n

    def get(self) -> int:
        return self.total


def test_step_budget_exhaustion_is_unknown_never_a_pass() -> None:
    # Overlapping adds that return nothing, then a wrong total: only an exhaustive search
    # can say no, and 5 steps are not enough for it.
    history = [OpRecord(t, i, Call("add", (1,)), i, 1000, None) for t in range(4) for i in range(3)]
    history.append(OpRecord(4, 0, Call("get"), 2000, 2001, 13))
    result = check_history(history, Accumulator, step_budget=5)
    assert result.verdict is Verdict.UNKNOWN
    assert not result.ok
    assert check_history(history, Accumulator).verdict is Verdict.NOT_LINEARIZABLE


def test_bad_step_budget() -> None:
    with pytest.raises(ValueError, match="step_budget"):
        check_history([], Register, step_budget=0)


def test_unknown_operation_names_the_model() -> None:
    with pytest.raises(AttributeError, match="Register has no operation 'pop'"):
        check_history([op(0, 0, "pop", (), 0, 1)], Register)


def test_memoisation_keeps_wide_histories_cheap() -> None:
    # 4 threads x 6 overlapping adds and a wrong total: without Lowe's memo the search
    # would try all 24!/(6!^4) (about 3e12) orders; with it, at most 7^4 progress vectors.
    history = [
        OpRecord(t, i, Call("add", (1,)), i * 10, i * 10 + 1000, None)
        for t in range(4)
        for i in range(6)
    ]
    history.append(OpRecord(4, 0, Call("get"), 5000, 5001, 25))
    result = check_history(history, Accumulator)
    assert result.verdict is Verdict.NOT_LINEARIZABLE
    assert result.steps < 50_000


class LifoMap:
    """A dict model whose popitem() is LIFO: insertion order is part of its state."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def put(self, key: str, value: int) -> None:
        self.items[key] = value

    def popitem(self) -> tuple[str, int]:
        return self.items.popitem()


def sequential(calls_and_outcomes: list[tuple[Call, object]]) -> list[OpRecord]:
    return [
        OpRecord(0, i, call, 10 * i, 10 * i + 5, outcome)
        for i, (call, outcome) in enumerate(calls_and_outcomes)
    ]


def test_a_dict_models_insertion_order_is_part_of_its_state() -> None:
    # Found pointing the harness at a third-party map (docs/found_in_the_wild.md): with
    # dicts frozen as sorted items, {a, b} inserted in either order had one state key, so the
    # memoised popitem() of one order answered for the other -- NOT LINEARIZABLE, wrongly.
    transitions: Transitions = {}  # shared by the histories of a scenario, as check_scenario does
    first = sequential(
        [(Call("put", ("a", 1)), None), (Call("put", ("b", 2)), None), (Call("popitem"), ("b", 2))]
    )
    second = sequential(
        [(Call("put", ("b", 2)), None), (Call("put", ("a", 1)), None), (Call("popitem"), ("a", 1))]
    )
    for history in (first, second):
        assert check_history(history, LifoMap, transitions=transitions).ok
