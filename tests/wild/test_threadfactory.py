"""Found in the wild: threadfactory 1.5.2 (import name ``thread_factory``): ``ConcurrentDict``
and ``SyncInt``.

Claims (its README on PyPI, "High-performance thread-safe (No-GIL-friendly) data structures
and parallel operations for Python 3.13+"): "ConcurrentDict - A thread-safe dictionary";
"SyncInt: An atomic integer wrapper with full arithmetic and bitwise operation support";
SyncInt's docstring: "For binary and ternary operations involving multiple `SyncInt`
instances, locks are always acquired in order of object ID to avoid deadlocks."

Nothing thread-related was found. Each "nothing found" test has a negative control: the same
table, model and settings catch a twin whose compound operations are composed from the
object's own locked calls with a yield between them (a search of up to SEARCH_SECONDS that
must succeed). One sequential mismatch between ``ConcurrentDict.pop``'s docstring and its
behaviour is recorded in test_pop_missing_key_returns_none. See docs/found_in_the_wild.md.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

pytest.importorskip("thread_factory")

from hypothesis import given, settings
from hypothesis import strategies as st
from thread_factory import ConcurrentDict, SyncInt

from atomics.testing import (
    SETTINGS,
    Scenario,
    assert_linearizable,
    scenarios,
    watching,
)
from wild._wild import count, search_given

pytestmark = [
    pytest.mark.free_threaded_only,
    # IDisposable.__del__ disposes every collected ConcurrentDict, and dispose() always warns.
    pytest.mark.filterwarnings("ignore:Your ConcurrentDictionary has been disposed"),
]


KEYS = st.sampled_from(["k0", "k1"])
VALUES = st.integers(0, 2)


# --- ConcurrentDict -----------------------------------------------------------------------


class DictModel:
    """A dict, with ConcurrentDict.pop's actual behaviour: a missing key returns None."""

    def __init__(self) -> None:
        self.d: dict[str, int] = {}

    # (No state_key: popitem() depends on insertion order, and the default state key keeps
    # it. Before 0.2 it sorted a dict's items, and this model reported the correct
    # ConcurrentDict NOT LINEARIZABLE: fixed, tests/testing/test_checker.py.)

    def __getitem__(self, key: str) -> int:
        return self.d[key]

    def get(self, key: str) -> int | None:
        return self.d.get(key)

    def __setitem__(self, key: str, value: int) -> None:
        self.d[key] = value

    def __delitem__(self, key: str) -> None:
        del self.d[key]

    def __contains__(self, key: str) -> bool:
        return key in self.d

    def pop(self, key: str) -> int | None:
        return self.d.pop(key, None)

    def setdefault(self, key: str, default: int) -> int:
        return self.d.setdefault(key, default)

    def popitem(self) -> tuple[str, int]:
        if not self.d:
            raise KeyError("popitem(): dictionary is empty")
        return self.d.popitem()

    def __len__(self) -> int:
        return len(self.d)


DICT_OPS = {
    "__getitem__": st.tuples(KEYS),
    "get": st.tuples(KEYS),
    "__setitem__": st.tuples(KEYS, VALUES),
    "__delitem__": st.tuples(KEYS),
    "__contains__": st.tuples(KEYS),
    "pop": st.tuples(KEYS),
    "setdefault": st.tuples(KEYS, VALUES),
    "popitem": None,
    "__len__": None,
}


class ComposedDict(ConcurrentDict):  # type: ignore[misc]
    """The negative control: setdefault and pop composed from locked calls, with a yield."""

    __slots__ = ()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        os.sched_yield()
        self[key] = default
        return default

    def pop(self, key: Any, default: Any = None) -> Any:
        value = self.get(key, default)
        os.sched_yield()
        if key in self:
            del self[key]
        return value


@settings(SETTINGS)
@given(scenarios(DICT_OPS))
def test_concurrent_dict_is_linearizable(scenario: Scenario) -> None:
    count(
        "test_concurrent_dict_is_linearizable",
        assert_linearizable(scenario, ConcurrentDict, DictModel),
    )


def test_concurrent_dict_control_composed_twin_is_caught() -> None:
    error, scenarios_run, seconds = search_given(DICT_OPS, ComposedDict, DictModel)
    print(f"\ncomposed ConcurrentDict twin: {scenarios_run} scenarios, {seconds:.2f}s")
    assert error is not None, f"the composed twin was not caught in {scenarios_run} scenarios"


def test_pop_missing_key_returns_none() -> None:
    """Sequential, not a thread-safety finding: the docstring says "If the key is not found,
    return default if given, otherwise raise KeyError", but pop(key) passes default=None to
    dict.pop, so a missing key returns None (the model above follows the behaviour)."""
    assert ConcurrentDict().pop("missing") is None
    with pytest.raises(KeyError):
        {}.pop("missing")


# --- SyncInt: operations across two instances ---------------------------------------------


class SyncPair:
    """Two SyncInts; cross operations lock both (in id order, says the docstring)."""

    def __init__(self) -> None:
        self.a, self.b = SyncInt(1), SyncInt(1)

    def a_add_b(self) -> int:
        return self.a.increment(self.b)

    def b_add_a(self) -> int:
        return self.b.increment(self.a)

    def a_increment(self, n: int) -> int:
        return self.a.increment(n)

    def b_decrement(self, n: int) -> int:
        return self.b.decrement(n)

    def a_get(self) -> int:
        return self.a.get()

    def b_set(self, value: int) -> None:
        self.b.set(value)


class PairModel:
    def __init__(self) -> None:
        self.a = self.b = 1

    def a_add_b(self) -> int:
        self.a += self.b
        return self.a

    def b_add_a(self) -> int:
        self.b += self.a
        return self.b

    def a_increment(self, n: int) -> int:
        self.a += n
        return self.a

    def b_decrement(self, n: int) -> int:
        self.b -= n
        return self.b

    def a_get(self) -> int:
        return self.a

    def b_set(self, value: int) -> None:
        self.b = value


PAIR_OPS = {
    "a_add_b": None,
    "b_add_a": None,
    "a_increment": st.tuples(st.integers(1, 2)),
    "b_decrement": st.tuples(st.integers(1, 2)),
    "a_get": None,
    "b_set": st.tuples(VALUES),
}


class UnlockedPair(SyncPair):
    """The negative control: a += b as two reads and a set, with a yield (no lock on b)."""

    def a_add_b(self) -> int:
        total = self.a.get() + self.b.get()
        os.sched_yield()
        self.a.set(total)
        return total

    def b_add_a(self) -> int:
        total = self.b.get() + self.a.get()
        os.sched_yield()
        self.b.set(total)
        return total


@settings(SETTINGS)
@given(scenarios(PAIR_OPS))
def test_sync_int_cross_operations_are_linearizable(scenario: Scenario) -> None:
    """Also the deadlock claim: a.increment(b) racing b.increment(a) would hang
    (HarnessTimeout, every stack dumped) if the two locks were taken in opposite orders."""
    count(
        "test_sync_int_cross_operations_are_linearizable",
        assert_linearizable(scenario, SyncPair, PairModel, timeout=10.0),
    )


def test_sync_int_control_unlocked_twin_is_caught() -> None:
    error, scenarios_run, seconds = search_given(PAIR_OPS, UnlockedPair, PairModel)
    print(f"\nunlocked SyncInt pair: {scenarios_run} scenarios, {seconds:.2f}s")
    assert error is not None, f"the unlocked twin was not caught in {scenarios_run} scenarios"


# --- SyncInt's lock order, checked by order instead of by luck (atomics.testing.lockcheck) ---


def cross_increments(make: Any) -> None:
    """a.increment(b) on one thread, then b.increment(a) on another: apart in time, so that
    nothing can hang; the lock-order checker judges the order alone."""
    a, b = make(1), make(1)
    for target in (lambda: a.increment(b), lambda: b.increment(a)):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join(10)


class ArgumentOrderInt:
    """The negative control: a cross increment that locks its own lock, then the other's
    (argument order, not id order)."""

    def __init__(self, value: int) -> None:
        self.value = value
        self._lock = threading.RLock()

    def increment(self, other: ArgumentOrderInt) -> int:
        with self._lock, other._lock:
            self.value += other.value
            return self.value


def test_sync_int_takes_two_instances_locks_in_one_order() -> None:
    with watching(patch_threading=True) as checker:
        cross_increments(SyncInt)
    assert checker.holding() == {}  # (every lock released)
    assert checker.findings == []
    assert checker.locks_seen >= 2  # SyncInt's own locks were instrumented: not vacuous


def test_lockcheck_control_argument_order_is_reported() -> None:
    with watching(patch_threading=True) as checker:
        cross_increments(ArgumentOrderInt)
    assert [finding.kind for finding in checker.findings] == ["order"]
