"""Long runs for the atomic primitives: rounds of 8 threads x 100,000 operations until the
budget is spent; every round must sum exactly."""

from __future__ import annotations

from atomics import AtomicInteger, AtomicReference, StripedCounter
from atomics.testing import bulk_stress
from atomics.testing.bulk import rounds

THREADS, OPERATIONS = 8, 100_000


def test_atomic_integer_mixed(stress_seconds: float) -> None:
    for _ in rounds(stress_seconds):
        counter = AtomicInteger()

        def op(tally: list[int], t: int, i: int, counter: AtomicInteger = counter) -> None:
            if i % 3 == 0:
                counter.add_and_get(t)
                tally[0] += t
            elif i % 3 == 1:
                counter.get_and_increment()
                tally[0] += 1
            else:
                counter.update_and_get(lambda v: v - 1)
                tally[0] -= 1

        result = bulk_stress(op, threads=THREADS, operations=OPERATIONS, thread_state=lambda t: [0])
        assert counter.get() == sum(tally[0] for tally in result.states)


def test_compare_and_set_loops(stress_seconds: float) -> None:
    for _ in rounds(stress_seconds):
        counter = AtomicInteger()

        def op(state: None, t: int, i: int, counter: AtomicInteger = counter) -> None:
            while not counter.compare_and_set(current := counter.get(), current + 1):
                pass

        result = bulk_stress(op, threads=THREADS, operations=OPERATIONS)
        assert counter.get() == result.operations


def test_reference_update_loops(stress_seconds: float) -> None:
    for _ in rounds(stress_seconds):
        ref: AtomicReference[int] = AtomicReference(0)

        def update(state: None, t: int, i: int, ref: AtomicReference[int] = ref) -> None:
            ref.update_and_get(lambda v: v + 1)

        result = bulk_stress(update, threads=THREADS, operations=OPERATIONS // 4)
        assert ref.get() == result.operations


def test_striped_counter_handles_and_resets(stress_seconds: float) -> None:
    for _ in rounds(stress_seconds):
        counter = StripedCounter()
        harvested: list[int] = []

        def op(
            handle: object,
            t: int,
            i: int,
            counter: StripedCounter = counter,
            harvested: list[int] = harvested,
        ) -> None:
            if t == 0 and i % 1000 == 0:
                harvested.append(counter.sum_then_reset())  # thread 0 also harvests
            elif i % 2:
                counter.increment()
            else:
                handle.increment()  # type: ignore[attr-defined]

        def handle(t: int, counter: StripedCounter = counter) -> object:
            return counter.handle()  # made in thread t: the handle belongs to it

        result = bulk_stress(op, threads=THREADS, operations=OPERATIONS, thread_state=handle)
        harvesting_ops = OPERATIONS // 1000
        assert sum(harvested) + counter.sum() == result.operations - harvesting_ops
