"""Found in the wild: cereggii 1.0.0.post1, ``AtomicDict`` and ``AtomicInt64``.

Claims (the package's type stubs, cereggii/_cereggii.pyi): ``AtomicDict`` is "A lock-free,
thread-safe dictionary with atomic operations"; ``__getitem__`` "Atomically read the value
associated with `key`", ``__delitem__`` "Atomically delete an item", ``compare_and_set``
"Atomically read the value associated with `key`: if it is `expected`, then replace it with
`desired` - else, don't change it and raise `ExpectationFailed`", ``__len__`` "is sequentially
consistent". ``AtomicInt64``'s methods (``increment_and_get``, ``compare_and_set``, ...) are
its atomic operations. The README shows ``reduce_count`` from 10 threads with exact totals.

Nothing was found. Each "nothing found" test has a negative control: the same table, model and
Hypothesis settings catch a twin whose compound operations are a read, a yield of the CPU and a
write (a search of up to SEARCH_SECONDS that must succeed). See docs/found_in_the_wild.md.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atomics.testing import (
    SETTINGS,
    Scenario,
    assert_linearizable,
    bulk_stress,
    scenarios,
)
from wild._wild import count, search_given

cereggii = pytest.importorskip("cereggii")

pytestmark = pytest.mark.free_threaded_only


NOT_FOUND = cereggii.NOT_FOUND
ExpectationFailed = cereggii.ExpectationFailed

KEYS = st.sampled_from(["k0", "k1"])
VALUES = st.integers(0, 2)


# --- AtomicDict -------------------------------------------------------------------------


class AtomicDictModel:
    def __init__(self) -> None:
        self.d: dict[str, int] = {}

    @staticmethod
    def partition_key(name: str, args: tuple[Any, ...]) -> Any:
        if name == "__len__":
            return None
        if name == "reduce_sum":
            return args[0][0][0]
        return args[0]

    def __getitem__(self, key: str) -> int:
        return self.d[key]

    def get(self, key: str) -> int | None:
        return self.d.get(key)

    def __setitem__(self, key: str, value: int) -> None:
        self.d[key] = value

    def __delitem__(self, key: str) -> None:
        del self.d[key]

    def compare_and_set(self, key: str, expected: Any, desired: int) -> None:
        current = self.d.get(key, NOT_FOUND)
        same = current is expected or (
            current is not NOT_FOUND and expected is not NOT_FOUND and current == expected
        )
        if not same:
            raise ExpectationFailed(f"self[{key!r}] != {expected!r}")
        self.d[key] = desired

    def reduce_sum(self, pairs: tuple[tuple[str, int], ...]) -> None:
        for key, value in pairs:
            self.d[key] = self.d.get(key, 0) + value

    def __len__(self) -> int:
        return len(self.d)


DICT_OPS = {
    "__getitem__": st.tuples(KEYS),
    "get": st.tuples(KEYS),
    "__setitem__": st.tuples(KEYS, VALUES),
    "__delitem__": st.tuples(KEYS),
    "compare_and_set": st.tuples(KEYS, st.sampled_from([NOT_FOUND, 0, 1, 2]), VALUES),
    "reduce_sum": st.tuples(st.tuples(st.tuples(KEYS, st.integers(1, 2)))),
    "__len__": None,
}


class RacyAtomicDict:
    """The negative control: an AtomicDict whose compare_and_set and reduce_sum are a read, a
    yield of the CPU and a write -- what a caller gets by composing the plain operations."""

    def __init__(self) -> None:
        self._d = cereggii.AtomicDict()

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def get(self, key: str) -> Any:
        return self._d.get(key)

    def __setitem__(self, key: str, value: int) -> None:
        self._d[key] = value

    def __delitem__(self, key: str) -> None:
        del self._d[key]

    def __len__(self) -> int:
        return len(self._d)

    def compare_and_set(self, key: str, expected: Any, desired: int) -> None:
        current = self._d.get(key, NOT_FOUND)
        if not (current is expected or (current is not NOT_FOUND and current == expected)):
            raise ExpectationFailed(f"self[{key!r}] != {expected!r}")
        os.sched_yield()
        self._d[key] = desired

    def reduce_sum(self, pairs: tuple[tuple[str, int], ...]) -> None:
        for key, value in pairs:
            current = self._d.get(key, 0)
            os.sched_yield()
            self._d[key] = current + value


@settings(SETTINGS)
@given(scenarios(DICT_OPS))
def test_atomic_dict_is_linearizable(scenario: Scenario) -> None:
    count(
        "test_atomic_dict_is_linearizable",
        assert_linearizable(scenario, cereggii.AtomicDict, AtomicDictModel),
    )


def test_atomic_dict_control_racy_twin_is_caught() -> None:
    error, scenarios_run, seconds = search_given(DICT_OPS, RacyAtomicDict, AtomicDictModel)
    print(f"\nracy AtomicDict twin: {scenarios_run} scenarios, {seconds:.2f}s")
    assert error is not None, f"the racy twin was not caught in {scenarios_run} scenarios"


def test_atomic_dict_reduce_count_bulk() -> None:
    """The README's example at scale: 2 threads x 20,000 reduce_count calls on 3 keys."""
    d = cereggii.AtomicDict({"red": 0})
    keys = ["red", "green", "blue"]
    result = bulk_stress(
        lambda state, t, i: d.reduce_count([keys[i % 3], keys[(i + t) % 3]]),
        threads=2,
        operations=20_000,
    )
    total = d["red"] + d["green"] + d["blue"]
    print(f"\nreduce_count bulk: overlap {result.overlap:.2f}, {result.seconds:.2f}s")
    assert total == 2 * 2 * 20_000


# --- AtomicInt64 ------------------------------------------------------------------------


def add_three(value: int) -> int:
    return value + 3


class AtomicIntModel:
    def __init__(self) -> None:
        self.value = 0

    def get(self) -> int:
        return self.value

    def set(self, desired: int) -> None:
        self.value = desired

    def increment_and_get(self, amount: int) -> int:
        self.value += amount
        return self.value

    def get_and_increment(self, amount: int) -> int:
        old, self.value = self.value, self.value + amount
        return old

    def get_and_set(self, desired: int) -> int:
        old, self.value = self.value, desired
        return old

    def compare_and_set(self, expected: int, desired: int) -> bool:
        if self.value != expected:
            return False
        self.value = desired
        return True

    def update_and_get(self, fn: Any) -> int:
        self.value = fn(self.value)
        return self.value


INT_OPS = {
    "get": None,
    "set": st.tuples(VALUES),
    "increment_and_get": st.tuples(st.integers(1, 2)),
    "get_and_increment": st.tuples(st.integers(1, 2)),
    "get_and_set": st.tuples(VALUES),
    "compare_and_set": st.tuples(st.integers(0, 4), VALUES),
    "update_and_get": st.tuples(st.just(add_three)),
}


class RacyAtomicInt:
    """The negative control: read-modify-writes as get, yield, set on a real AtomicInt64."""

    def __init__(self) -> None:
        self._i = cereggii.AtomicInt64(0)

    def get(self) -> int:
        return self._i.get()

    def set(self, desired: int) -> None:
        self._i.set(desired)

    def _rmw(self, fn: Any) -> tuple[int, int]:
        old = self._i.get()
        os.sched_yield()
        new = fn(old)
        self._i.set(new)
        return old, new

    def increment_and_get(self, amount: int) -> int:
        return self._rmw(lambda v: v + amount)[1]

    def get_and_increment(self, amount: int) -> int:
        return self._rmw(lambda v: v + amount)[0]

    def get_and_set(self, desired: int) -> int:
        return self._rmw(lambda v: desired)[0]

    def compare_and_set(self, expected: int, desired: int) -> bool:
        if self._i.get() != expected:
            return False
        os.sched_yield()
        self._i.set(desired)
        return True

    def update_and_get(self, fn: Any) -> int:
        return self._rmw(fn)[1]


@settings(SETTINGS)
@given(scenarios(INT_OPS))
def test_atomic_int64_is_linearizable(scenario: Scenario) -> None:
    count(
        "test_atomic_int64_is_linearizable",
        assert_linearizable(scenario, lambda: cereggii.AtomicInt64(0), AtomicIntModel),
    )


def test_atomic_int64_control_racy_twin_is_caught() -> None:
    error, scenarios_run, seconds = search_given(INT_OPS, RacyAtomicInt, AtomicIntModel)
    print(f"\nracy AtomicInt64 twin: {scenarios_run} scenarios, {seconds:.2f}s")
    assert error is not None, f"the racy twin was not caught in {scenarios_run} scenarios"
