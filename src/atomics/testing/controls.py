"""Negative controls: deliberately broken objects the harness must catch, beside correct twins
it must pass, with the sequential models both are checked against.

A concurrency test that cannot fail proves nothing. These pairs calibrate the harness (and
any test built on it): run the same test on the broken twin and it must fail.

* counter -- :class:`RacyCounter` increments with an unlocked read-modify-write;
  :class:`LockedCounter` holds a lock. Model :class:`CounterModel`.
* mapping -- :class:`CheckThenActMap.compute` reads, calls the function, then writes,
  without a lock, so a concurrent update between read and write is lost;
  :class:`LockedMap` holds a lock across all three. Model :class:`MapModel`.
* bounded queue -- :class:`CheckThenActBoundedQueue.put_nowait` checks for room, then
  appends, without a lock, so racing producers overshoot the bound (and racing consumers
  pop from an empty deque); :class:`LockedBoundedQueue` holds a lock. Model
  :class:`BoundedQueueModel`.

:func:`operation_tables` gives each pair's operation table for
:func:`atomics.testing.scenarios`.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

__all__ = [
    "BoundedQueueModel",
    "CheckThenActBoundedQueue",
    "CheckThenActMap",
    "CounterModel",
    "LockedBoundedQueue",
    "LockedCounter",
    "LockedMap",
    "MapModel",
    "RacyCounter",
    "operation_tables",
]

QUEUE_CAPACITY = 2  # small, so that scenarios reach "full" often


# --- counter -------------------------------------------------------------------------------
class CounterModel:
    """Sequential model of a counter."""

    def __init__(self) -> None:
        self.value = 0

    def increment(self) -> int:
        """Add 1; return the new value (the model: run one call at a time)."""
        self.value += 1
        return self.value

    def add(self, delta: int) -> int:
        """Add ``delta``; return the new value."""
        self.value += delta
        return self.value

    def get(self) -> int:
        """The current value.

        >>> counter = CounterModel()
        >>> counter.increment(), counter.add(2), counter.get()
        (1, 3, 3)
        """
        return self.value


def _race_window() -> None:
    """Where a broken control's race happens: the thread gives up its CPU here. On a machine
    whose cores are all busy the threads seldom run at the same instant, and a window of a
    few instructions was missed for a whole minute (scripts/flake-check); with the CPU given
    up between check and act, the other thread's operations land in the window."""
    os.sched_yield()


class RacyCounter(CounterModel):
    """BROKEN on purpose: read, then write, with no lock. Concurrent increments are lost."""

    def increment(self) -> int:
        """BROKEN on purpose: reads the value, gives up the CPU, writes value + 1 -- no lock,
        so an increment by another thread in between is lost. Caught by
        tests/testing/test_controls.py::test_broken_control_is_caught (``counter``)."""
        current = self.value  # another thread may write between this read ...
        _race_window()
        self.value = current + 1  # ... and this write: its update is lost
        return current + 1

    def add(self, delta: int) -> int:
        """BROKEN on purpose, as :meth:`increment`: an unlocked read, a yield, then the write
        of value + ``delta`` (a concurrent update in between is lost)."""
        current = self.value
        _race_window()
        self.value = current + delta
        return current + delta


class LockedCounter(CounterModel):
    """Correct: every read-modify-write holds the lock."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()  # guards self.value

    def increment(self) -> int:
        """Add 1 under the lock (the read-modify-write is atomic); return the new value."""
        with self._lock:
            return super().increment()

    def add(self, delta: int) -> int:
        """Add ``delta`` under the lock; return the new value."""
        with self._lock:
            return super().add(delta)

    def get(self) -> int:
        """The current value: one attribute read, atomic without the lock."""
        return self.value  # one attribute read is atomic: no lock needed


# --- mapping -------------------------------------------------------------------------------
MISSING: Any = object()


class MapModel:
    """Sequential model of a mapping with an update-with-function (``add`` uses ``compute``)."""

    def __init__(self) -> None:
        self.data: dict[Hashable, int] = {}

    @staticmethod
    def partition_key(name: str, args: tuple[Any, ...]) -> Hashable:
        """Every operation touches only the key it names, so keys are checked separately."""
        key: Hashable = args[0]
        return key

    def compute(self, key: Hashable, fn: Callable[[Any], int]) -> int:
        """Store ``fn(current value, or MISSING if absent)`` under ``key``; return it.

        >>> m = MapModel()
        >>> m.add("a", 2), m.add("a", 3), m.get("a"), m.get("b")
        (2, 5, 5, None)
        """
        self.data[key] = new = fn(self.data.get(key, MISSING))
        return new

    def add(self, key: Hashable, delta: int) -> int:
        """Add ``delta`` to the key's value (``delta`` if absent), through :meth:`compute`."""
        return self.compute(key, lambda old: delta if old is MISSING else old + delta)

    def put(self, key: Hashable, value: int) -> None:
        """Set the key's value."""
        self.data[key] = value

    def get(self, key: Hashable) -> int | None:
        """The key's value, or None if absent."""
        return self.data.get(key)


class CheckThenActMap(MapModel):
    """BROKEN on purpose: ``compute`` reads, calls ``fn``, writes -- three steps, no lock."""

    def compute(self, key: Hashable, fn: Callable[[Any], int]) -> int:
        """BROKEN on purpose: reads the key, calls ``fn``, gives up the CPU, then writes -- no
        lock, so an ``add`` or ``put`` by another thread between the read and the write is lost.
        Caught by tests/testing/test_controls.py::test_broken_control_is_caught (``map``)."""
        old = self.data.get(key, MISSING)  # check ...
        new = fn(old)
        _race_window()
        self.data[key] = new  # ... then act: a write by another thread in between is lost
        return new


class LockedMap(MapModel):
    """Correct: ``compute`` and ``put`` hold the lock; ``get`` is one atomic dict read."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()  # guards every write to self.data

    def compute(self, key: Hashable, fn: Callable[[Any], int]) -> int:
        """Read, call ``fn`` and write under the lock: atomic per call."""
        with self._lock:
            return super().compute(key, fn)

    def put(self, key: Hashable, value: int) -> None:
        """Set the key's value under the lock (so it cannot land inside a :meth:`compute`)."""
        with self._lock:  # so that a put cannot land between compute's read and write
            super().put(key, value)


# --- bounded queue -------------------------------------------------------------------------
class BoundedQueueModel:
    """Sequential model of a bounded FIFO queue with non-blocking operations."""

    def __init__(self, maxsize: int = QUEUE_CAPACITY) -> None:
        self.maxsize = maxsize
        self.items: deque[Any] = deque()

    def put_nowait(self, item: Any) -> None:
        """Append ``item``, or raise ``queue.Full`` at ``maxsize`` items.

        >>> q = BoundedQueueModel(maxsize=1)
        >>> q.put_nowait("x"), q.qsize()
        (None, 1)
        >>> q.put_nowait("y")
        Traceback (most recent call last):
        ...
        queue.Full
        """
        if len(self.items) >= self.maxsize:
            raise queue.Full
        self.items.append(item)

    def get_nowait(self) -> Any:
        """Remove and return the oldest item, or raise ``queue.Empty``."""
        if not self.items:
            raise queue.Empty
        return self.items.popleft()

    def qsize(self) -> int:
        """The number of items held."""
        return len(self.items)


class CheckThenActBoundedQueue(BoundedQueueModel):
    """BROKEN on purpose: checks for room (or for an item), then acts, with no lock."""

    def put_nowait(self, item: Any) -> None:
        """BROKEN on purpose: checks for room, gives up the CPU, then appends -- no lock, so
        two producers can both see room and overshoot ``maxsize``. Caught by
        tests/testing/test_controls.py::test_broken_control_is_caught (``queue``)."""
        if len(self.items) >= self.maxsize:  # two producers can both see room ...
            raise queue.Full
        _race_window()
        self.items.append(item)  # ... and both append: the bound is exceeded

    def get_nowait(self) -> Any:
        """BROKEN on purpose: checks for an item, gives up the CPU, then pops -- no lock, so
        two consumers can both see one item and the second pops an empty deque (``IndexError``)."""
        if not self.items:  # two consumers can both see one item ...
            raise queue.Empty
        _race_window()
        return self.items.popleft()  # ... and the second pops an empty deque (IndexError)


class LockedBoundedQueue(BoundedQueueModel):
    """Correct: one lock around each check-and-act."""

    def __init__(self, maxsize: int = QUEUE_CAPACITY) -> None:
        super().__init__(maxsize)
        self._lock = threading.Lock()  # guards self.items

    def put_nowait(self, item: Any) -> None:
        """Check for room and append under the lock: atomic (``queue.Full`` at ``maxsize``)."""
        with self._lock:
            super().put_nowait(item)

    def get_nowait(self) -> Any:
        """Check for an item and pop it under the lock: atomic (``queue.Empty`` if none)."""
        with self._lock:
            return super().get_nowait()

    def qsize(self) -> int:
        """The number of items held: one ``len()`` of a deque, atomic without the lock."""
        return len(self.items)  # len() of a deque is one atomic read


def operation_tables() -> dict[str, dict[str, Any]]:
    """The operation tables of the three controls (imports Hypothesis)."""
    from hypothesis import strategies as st

    from atomics.testing.scenario import small_keys, small_values

    return {
        "counter": {"increment": None, "add": st.tuples(st.integers(1, 3)), "get": None},
        "map": {
            "add": st.tuples(small_keys(2), st.integers(1, 3)),
            "put": st.tuples(small_keys(2), small_values()),
            "get": st.tuples(small_keys(2)),
        },
        "queue": {
            "put_nowait": st.tuples(small_values(8)),
            "get_nowait": None,
            "qsize": None,
        },
    }
