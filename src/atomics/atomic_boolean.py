"""AtomicBoolean: a flag whose test-and-set operations are atomic on every build.

Guarantees
----------
In the docstring of :class:`AtomicBoolean`, where ``help(AtomicBoolean)`` and the API reference
show them.

>>> ready = AtomicBoolean()
>>> ready.compare_and_set(False, True)   # only one thread wins this
True
>>> ready.compare_and_set(False, True)
False
>>> bool(ready), ready.toggle(), ready.get()
(True, False, False)
"""

from __future__ import annotations

from typing import Any

from atomics import _locks, _validate
from atomics._guard import check_write, mirror
from atomics.contention import ContentionStatistics

_GUARD_ON = False  # the re-entry guard's flag: True once any thread ran user code
mirror(globals(), "_GUARD_ON")  # (a global bound to an immortal bool: see atomics._guard)

__all__ = ["AtomicBoolean"]


class AtomicBoolean:
    """A boolean with atomic get-and-set, compare-and-set and toggle.

    Guarantees
    ----------
    * **Inside a user function** that runs under a lock of this package: reads complete;
      writes raise :class:`~atomics.errors.ReentrantCallError` at once (``docs/guarantees.md``).
    * Every method is atomic (linearizable). Writes hold the instance's lock; ``get`` and
      truthiness read one attribute, which is atomic on its own, so they take no lock.
    * Only ``bool`` values are accepted (``TypeError`` otherwise): ``flag.set(1)`` or
      ``flag.set("yes")`` are usually bugs, and truthiness conversion would hide them.
    * A call that raises leaves the value unchanged. Mutable, so unhashable; ``copy.copy``
      gives an independent AtomicBoolean with the current value; pickling stores the value.
    * ``statistics()`` reports the contention of the instance's one lock (``"value"``) in the
      package's uniform shape (:mod:`atomics.contention`); counted only with
      ``track_contention=True`` (or ``ATOMICS_TRACK_CONTENTION=1``), zeros otherwise, when the
      lock is a plain ``threading.Lock`` and nothing costs. Lock-free reads count nothing.

    >>> AtomicBoolean(True)
    AtomicBoolean(True)
    """

    __slots__ = ("__weakref__", "_lock", "_value")

    def __init__(self, initial: bool = False, *, track_contention: bool | None = None) -> None:
        self._value = _validate.boolean(initial, "initial")
        # guards every write of self._value; counting (atomics.contention) if asked for
        self._lock = _locks.lock(_locks.tracking(track_contention))

    def get(self) -> bool:
        """The current value. Atomic, lock-free.

        >>> AtomicBoolean(True).get()
        True
        """
        return self._value

    def set(self, value: bool) -> None:
        """Set the value. Atomic (holds the lock, so it cannot split a compare-and-set).

        >>> f = AtomicBoolean(); f.set(True); f.get()
        True
        """
        value = _validate.boolean(value, "value")
        if _GUARD_ON:
            check_write("AtomicBoolean.set()")
        with self._lock:
            self._value = value

    def get_and_set(self, value: bool) -> bool:
        """Set the value; return the previous one. Atomic.

        >>> AtomicBoolean().get_and_set(True)
        False
        """
        value = _validate.boolean(value, "value")
        if _GUARD_ON:
            check_write("AtomicBoolean.get_and_set()")
        with self._lock:
            old, self._value = self._value, value
        return old

    def compare_and_set(self, expect: bool, update: bool) -> bool:
        """If the value is ``expect``, set it to ``update`` and return True; else False.
        Atomic: of many threads racing ``compare_and_set(False, True)``, exactly one wins.

        >>> AtomicBoolean().compare_and_set(True, False)
        False
        """
        expect = _validate.boolean(expect, "expect")
        update = _validate.boolean(update, "update")
        if _GUARD_ON:
            check_write("AtomicBoolean.compare_and_set()")
        with self._lock:
            if self._value is not expect:
                return False
            self._value = update
            return True

    def toggle(self) -> bool:
        """Flip the value; return the **new** value. Atomic.

        >>> AtomicBoolean().toggle()
        True
        """
        if _GUARD_ON:
            check_write("AtomicBoolean.toggle()")
        with self._lock:
            self._value = new = not self._value
        return new

    def __bool__(self) -> bool:
        """The current value (a lock-free read)."""
        return self._value

    def __eq__(self, other: object) -> bool:
        """Equal to a ``bool`` or an AtomicBoolean with the same current value."""
        if isinstance(other, AtomicBoolean):
            return self._value is other._value
        if isinstance(other, bool):
            return self._value is other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        """``AtomicBoolean(True)`` or ``AtomicBoolean(False)``."""
        return f"AtomicBoolean({self._value})"

    def statistics(self) -> ContentionStatistics:
        """Contention counters of the instance's lock (:mod:`atomics.contention`): with
        ``track_contention=True``, acquisitions (every write and read-modify-write takes the
        lock once; ``get`` takes none), those that waited for another thread, and the time
        waited; ``"tracking": False`` and zeros otherwise. Thread-safe and lock-free: it never
        blocks; while other threads write, each figure is one that held during the call.

        >>> n = AtomicBoolean(True, track_contention=True); n.set(True)
        >>> s = n.statistics(); s["tracking"], s["acquisitions"], s["contended"]
        (True, 1, 0)
        """
        lock = self._lock
        return _locks.contention(_locks.counters(lock) is not None, (("value", lock),))

    def __copy__(self) -> AtomicBoolean:
        """``copy.copy``: a new AtomicBoolean with the current value."""
        return AtomicBoolean(self._value)

    def __deepcopy__(self, memo: dict[int, Any]) -> AtomicBoolean:
        """``copy.deepcopy``: a new AtomicBoolean with the current value."""
        return AtomicBoolean(self._value)

    def __reduce__(self) -> tuple[type[AtomicBoolean], tuple[bool]]:
        """Pickling: the current value."""
        return (AtomicBoolean, (self._value,))
