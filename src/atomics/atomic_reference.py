"""AtomicReference[T]: a shared reference with atomic swap and compare-and-set by identity.

Guarantees
----------
In the docstring of :class:`AtomicReference`, where ``help(AtomicReference)`` and the API
reference show them.

>>> config = AtomicReference(("v1", 10))
>>> old = config.get()
>>> config.compare_and_set(old, ("v2", 20))
True
>>> config.compare_and_set(old, ("v3", 30))   # old is no longer current
False
>>> config.get()
('v2', 20)
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from atomics import _locks, _validate
from atomics._guard import check_write, mirror
from atomics.contention import ContentionStatistics

_GUARD_ON = False  # the re-entry guard's flag: True once any thread ran user code
mirror(globals(), "_GUARD_ON")  # (a global bound to an immortal bool: see atomics._guard)

__all__ = ["AtomicReference"]

T = TypeVar("T")


class AtomicReference(Generic[T]):
    """A reference to an object, swapped atomically.

    Guarantees
    ----------
    * **Inside a user function** that runs under a lock of this package: reads complete;
      writes raise :class:`~atomics.errors.ReentrantCallError` at once (``docs/guarantees.md``).
    * Every method is atomic (linearizable). Writes hold the instance's lock; ``get`` reads one
      attribute, atomic on its own, so it takes no lock.
    * ``compare_and_set`` compares by **identity** (``is``), as Java does: equal but distinct
      objects do not match. Use it with the object you read from ``get``.
    * ``update_and_get``/``get_and_update`` call the function *outside* the lock in a
      compare-and-set retry loop: under contention it may be called more than once, so it must
      be free of side effects; no user code ever runs under the lock (so the function may use
      this reference without deadlock). If it raises, the reference is unchanged.
    * The referent itself is not protected: mutating a shared list through ``get()`` is as racy
      as ever. Store immutable values (tuples, frozen dataclasses) and replace them.
    * Mutable, so unhashable. ``copy.copy`` gives a new AtomicReference to the same object;
      ``copy.deepcopy`` one to a deep copy of it; pickling stores the referent.
    * ``statistics()`` reports the contention of the instance's one lock (``"value"``) in the
      package's uniform shape (:mod:`atomics.contention`); counted only with
      ``track_contention=True`` (or ``ATOMICS_TRACK_CONTENTION=1``), zeros otherwise, when the
      lock is a plain ``threading.Lock`` and nothing costs. Lock-free reads count nothing.

    >>> AtomicReference[int](1)
    AtomicReference(1)
    """

    __slots__ = ("__weakref__", "_lock", "_value")

    def __init__(self, initial: T, *, track_contention: bool | None = None) -> None:
        self._value = initial
        # guards every write of self._value; counting (atomics.contention) if asked for
        self._lock = _locks.lock(_locks.tracking(track_contention))

    def get(self) -> T:
        """The current referent. Atomic, lock-free.

        >>> AtomicReference("a").get()
        'a'
        """
        return self._value

    def set(self, value: T) -> None:
        """Refer to ``value``. Atomic (holds the lock, so it cannot split a compare-and-set).

        >>> r = AtomicReference(1); r.set(2); r.get()
        2
        """
        if _GUARD_ON:
            check_write("AtomicReference.set()")
        with self._lock:
            self._value = value

    def get_and_set(self, value: T) -> T:
        """Refer to ``value``; return the previous referent. Atomic.

        >>> AtomicReference(1).get_and_set(2)
        1
        """
        if _GUARD_ON:
            check_write("AtomicReference.get_and_set()")
        with self._lock:
            old, self._value = self._value, value
        return old

    def compare_and_set(self, expect: T, update: T) -> bool:
        """If the referent **is** ``expect``, refer to ``update`` and return True; else
        return False and change nothing. Atomic.

        >>> a, b = [1], [1]
        >>> r = AtomicReference(a)
        >>> r.compare_and_set(b, [2]), r.compare_and_set(a, [3])   # equal is not enough
        (False, True)
        """
        if _GUARD_ON:
            check_write("AtomicReference.compare_and_set()")
        with self._lock:
            if self._value is not expect:
                return False
            self._value = update
            return True

    def compare_and_exchange(self, expect: T, update: T) -> T:
        """If the referent is ``expect``, refer to ``update``. Return the referent seen
        (the witness): it is ``expect`` exactly when the exchange happened. Atomic.

        >>> r = AtomicReference("x"); r.compare_and_exchange("y", "z")
        'x'
        """
        if _GUARD_ON:
            check_write("AtomicReference.compare_and_exchange()")
        with self._lock:
            witness = self._value
            if witness is expect:
                self._value = update
        return witness

    def _update(self, fn: Callable[[T], T]) -> tuple[T, T]:
        _validate.function(fn, "fn")
        if _GUARD_ON:
            check_write("AtomicReference update")
        while True:
            old = self._value  # lock-free read; validated by identity below
            new = fn(old)
            with self._lock:
                if self._value is old:
                    self._value = new
                    return old, new
            # Changed while fn ran: call fn again on the new referent.

    def update_and_get(self, fn: Callable[[T], T]) -> T:
        """Refer to ``fn(current)``; return the new referent. Atomic; ``fn`` may be called
        more than once (retry loop, outside the lock).

        >>> AtomicReference((1,)).update_and_get(lambda t: t + (2,))
        (1, 2)
        """
        return self._update(fn)[1]

    def get_and_update(self, fn: Callable[[T], T]) -> T:
        """Refer to ``fn(current)``; return the previous referent. Atomic; ``fn`` may be
        called more than once.

        >>> AtomicReference((1,)).get_and_update(lambda t: t + (2,))
        (1,)
        """
        return self._update(fn)[0]

    def __repr__(self) -> str:
        """``AtomicReference(<repr of the referent>)``."""
        return f"AtomicReference({self._value!r})"

    __hash__ = None  # type: ignore[assignment]  # mutable

    def statistics(self) -> ContentionStatistics:
        """Contention counters of the instance's lock (:mod:`atomics.contention`): with
        ``track_contention=True``, acquisitions (every write and read-modify-write takes the
        lock once; ``get`` takes none), those that waited for another thread, and the time
        waited; ``"tracking": False`` and zeros otherwise. Thread-safe and lock-free: it never
        blocks; while other threads write, each figure is one that held during the call.

        >>> n = AtomicReference("x", track_contention=True); n.set("x")
        >>> s = n.statistics(); s["tracking"], s["acquisitions"], s["contended"]
        (True, 1, 0)
        """
        lock = self._lock
        return _locks.contention(_locks.counters(lock) is not None, (("value", lock),))

    def __copy__(self) -> AtomicReference[T]:
        """``copy.copy``: a new AtomicReference to the same referent."""
        return AtomicReference(self._value)

    def __deepcopy__(self, memo: dict[int, Any]) -> AtomicReference[T]:
        """``copy.deepcopy``: a new AtomicReference to a deep copy of the referent."""
        return AtomicReference(copy.deepcopy(self._value, memo))

    def __reduce__(self) -> tuple[type[AtomicReference[Any]], tuple[Any]]:
        """Pickling: the referent (unpickled into a new AtomicReference)."""
        return (AtomicReference, (self._value,))
