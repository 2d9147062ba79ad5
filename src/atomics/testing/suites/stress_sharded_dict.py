"""Long runs for ShardedDict: 8 threads x 100,000 operations per round until the budget is
spent; increments sum exactly, compute loses nothing, factories run once per key."""

from __future__ import annotations

from typing import Any

from atomics import MISSING, ShardedDict
from atomics.testing import bulk_stress
from atomics.testing.bulk import rounds

THREADS, OPERATIONS = 8, 100_000


def test_increments_sum_exactly(stress_seconds: float) -> None:
    # Alternate rounds increment through the shared map and through per-thread handles.
    for round_number in rounds(stress_seconds):
        d: ShardedDict[int, int] = ShardedDict()
        use_handles = round_number % 2 == 1

        def op(state: tuple[ShardedDict[int, int], dict[int, int]], t: int, i: int) -> None:
            target, tally = state
            key = (i * 7919 + t) % 1000
            target.increment(key)
            tally[key] = tally.get(key, 0) + 1

        def thread_state(
            t: int, d: ShardedDict[int, int] = d, use_handles: bool = use_handles
        ) -> tuple[ShardedDict[int, int], dict[int, int]]:
            return (d.handle() if use_handles else d), {}

        result = bulk_stress(op, threads=THREADS, operations=OPERATIONS, thread_state=thread_state)
        expected: dict[int, int] = {}
        for _, tally in result.states:
            for key, count in tally.items():
                expected[key] = expected.get(key, 0) + count
        assert d.snapshot() == expected


def test_compute_and_merge_lose_nothing(stress_seconds: float) -> None:
    for _ in rounds(stress_seconds):
        d: ShardedDict[int, Any] = ShardedDict()

        def op(state: None, t: int, i: int, d: ShardedDict[int, Any] = d) -> None:
            if i % 2:
                d.compute(i % 100, lambda v: 1 if v is MISSING else v + 1)
            else:
                d.merge(1000 + i % 100, 1, lambda a, b: a + b)

        result = bulk_stress(op, threads=THREADS, operations=OPERATIONS // 4)
        assert sum(d.values()) == result.operations


def test_get_or_create_once_per_key(stress_seconds: float) -> None:
    for _ in rounds(stress_seconds):
        d: ShardedDict[int, object] = ShardedDict()
        calls = [0] * THREADS

        def op(
            state: None, t: int, i: int, d: ShardedDict[int, object] = d, calls: list[int] = calls
        ) -> None:
            def factory() -> object:
                calls[t] += 1
                return object()

            d.get_or_create(i % 10_000, factory)

        bulk_stress(op, threads=THREADS, operations=OPERATIONS // 4)
        assert sum(calls) == len(d) == 10_000
