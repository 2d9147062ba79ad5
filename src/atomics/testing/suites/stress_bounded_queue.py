"""Long runs for BoundedQueue: MPMC rounds (1-4 producers x as many consumers, single items
and batches, small and larger capacities) until the time budget is spent and at least 10^6
items have moved; every item exactly once, per-producer order, never over the bound."""

from __future__ import annotations

import itertools
import sys

from atomics import BoundedQueue
from atomics.testing import mpmc_stress
from atomics.testing.bulk import rounds

MIN_ITEMS = 1_000_000
SHAPES = list(itertools.product((1, 2, 4), (1, 8, 64), (2, 64, 1024)))  # pairs, batch, maxsize


def test_mpmc_moves_a_million_items_exactly_once_within_the_bound(stress_seconds: float) -> None:
    moved = 0
    for round_number in rounds(stress_seconds):
        pairs, batch, maxsize = SHAPES[round_number % len(SHAPES)]
        batch = min(batch, maxsize)

        def make_queue(maxsize: int = maxsize) -> BoundedQueue[int]:
            return BoundedQueue(maxsize)

        result = mpmc_stress(
            make_queue,
            producers=pairs,
            consumers=pairs,
            items_per_producer=50_000 // pairs,
            batch=batch,
        )
        assert result.max_size_seen <= maxsize, (pairs, batch, maxsize, result)
        moved += result.items
    while moved < MIN_ITEMS:  # the budget was short: finish the million with big batches
        result = mpmc_stress(
            lambda: BoundedQueue(1024),
            producers=2,
            consumers=2,
            items_per_producer=100_000,
            batch=64,
        )
        assert result.max_size_seen <= 1024
        moved += result.items
    print(f"moved {moved:,} items", file=sys.stderr)  # a note: stdout is the command's table
