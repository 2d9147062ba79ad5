"""The package's lock factories: every lock of this package is made through them.

``_locks.Lock()`` and ``_locks.RLock()`` are ``threading.Lock()`` and ``threading.RLock()``
themselves (the same objects, not wrappers) unless :mod:`atomics.testing.lockcheck` is
checking lock order, which rebinds them to factories of instrumented locks while it runs.
So the package's locks are always visible to the checker, and cost nothing when it is off:
the only difference is one module attribute read when a lock is *made*, none when it is
taken. Call them through the module (``_locks.Lock()``), never ``from ... import Lock``,
or the rebinding would not be seen.

Contention counting (``track_contention=True``, :mod:`atomics.contention`): a structure
that counts makes its locks with :func:`lock` ``(track=True)``: a :class:`CountingLock` over
a plain lock, itself wrapped by the checker's factory when one is active (a rebinding of
``Lock`` must therefore accept an optional lock to wrap: ``Lock(inner)``). Under the
checker, the checked lock reports the order and then takes the counting lock, which counts:
both work, composed. A structure that does not count gets ``Lock()`` as before: its hot path
is unchanged. :func:`counters` finds the counting lock of either form, for ``statistics()``.
"""

from __future__ import annotations

import _thread
import os
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from atomics.errors import AtomicsTypeError

if TYPE_CHECKING:
    from atomics.contention import ContentionStatistics, LockStatistics

__all__ = [
    "TRACK_DEFAULT",
    "Condition",
    "CountingLock",
    "Lock",
    "RLock",
    "contention",
    "counters",
    "lock",
    "tracking",
]

Lock: Any = threading.Lock
RLock: Any = threading.RLock
_PLAIN = threading.Lock  # what Lock is when no checker has rebound it
_allocate = _thread.allocate_lock
_perf_counter = time.perf_counter


def _track_default(value: str) -> bool:
    """The process-wide default of track_contention from ATOMICS_TRACK_CONTENTION
    (atomics.contention.ENVIRONMENT_VARIABLE): on for 1/true/yes/on, off for unset, empty,
    0/false/no/off; anything else is off with a warning (a typo must not pass silently)."""
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word not in ("", "0", "false", "no", "off"):
        import warnings

        warnings.warn(
            f"ATOMICS_TRACK_CONTENTION={value!r} is not one of 1, true, yes, on (tracking on) "
            "or 0, false, no, off (off): contention tracking stays off",
            RuntimeWarning,
            stacklevel=2,
        )
    return False


# read once, here
TRACK_DEFAULT: bool = _track_default(os.environ.get("ATOMICS_TRACK_CONTENTION", ""))


def Condition(track: bool = False) -> threading.Condition:  # noqa: N802 (named as the class it makes)
    """A ``threading.Condition`` over a new :func:`lock` (a plain lock, not an RLock)."""
    return threading.Condition(lock(track))


def tracking(value: object) -> bool:
    """A ``track_contention`` argument as a bool: None is the process default
    (:data:`TRACK_DEFAULT`); anything but a bool or None is a ``TypeError`` naming it."""
    if value is None:
        return TRACK_DEFAULT
    if value is True or value is False:
        return value
    raise AtomicsTypeError(f"track_contention must be a bool or None, got {type(value).__name__}")


def lock(track: bool = False) -> Any:
    """A new lock of the package: ``Lock()``, or with ``track`` a :class:`CountingLock`
    (inside the checker's lock when :mod:`atomics.testing.lockcheck` is active)."""
    if not track:
        return Lock()
    counting = CountingLock(_allocate())
    factory = Lock
    return counting if factory is _PLAIN else factory(counting)


class CountingLock:
    """A ``threading.Lock`` that counts its acquisitions, those that waited, and the wait.

    ``acquire`` first tries without blocking; only if that fails does it time the blocking
    acquisition. The counters are updated after acquiring, while holding the lock, so no
    update is lost without a lock of their own. A failed (non-blocking or timed out)
    acquisition counts nothing. Everything the package does with a lock works: ``with``,
    ``acquire(blocking, timeout)``, ``release`` (from any thread, as a plain lock),
    ``locked()``, and being the lock of a ``threading.Condition`` (the re-acquisition after
    a wait is counted, as any).

    >>> lock = CountingLock(_allocate())
    >>> with lock:
    ...     lock.locked()
    True
    >>> lock.acquisitions, lock.contended
    (1, 0)
    """

    __slots__ = ("__weakref__", "_lock", "acquisitions", "contended", "release", "waited")

    def __init__(self, inner: Any) -> None:
        self._lock = inner
        self.release = inner.release  # the plain lock's own (C) method: nothing to count
        self.acquisitions = 0
        self.contended = 0
        self.waited = 0.0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As ``threading.Lock.acquire``, counting a success (and a wait)."""
        lock = self._lock
        if not blocking:
            if lock.acquire(False, timeout):  # ValueError with a timeout, as a plain lock
                self.acquisitions += 1
                return True
            return False
        if lock.acquire(False):
            self.acquisitions += 1
            return True
        start = _perf_counter()
        if not lock.acquire(True, timeout):
            return False
        self.waited += _perf_counter() - start
        self.contended += 1
        self.acquisitions += 1
        return True

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def locked(self) -> bool:
        """As ``threading.Lock.locked``."""
        return bool(self._lock.locked())

    def __repr__(self) -> str:
        state = "locked" if self._lock.locked() else "unlocked"
        return f"<{state} CountingLock acquisitions={self.acquisitions} contended={self.contended}>"

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self.release = self._lock.release

    def _is_owned(self) -> bool:
        # for threading.Condition (its default would try acquire(), and count it)
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True


def counters(lock: object) -> CountingLock | None:
    """The :class:`CountingLock` of a lock made by :func:`lock` (itself, or inside a checked
    lock), or None for a plain lock."""
    if type(lock) is CountingLock:
        return lock
    inner = getattr(lock, "_lock", None)
    return inner if type(inner) is CountingLock else None


def contention(tracked: bool, named: Iterable[tuple[str, object]]) -> ContentionStatistics:
    """The uniform statistics of the locks ``named`` (name, lock), read without a lock."""
    rows: list[LockStatistics] = []
    total = contended = 0
    waited = 0.0
    for name, some_lock in named:
        found = counters(some_lock)
        if found is None:
            rows.append({"name": name, "acquisitions": 0, "contended": 0, "wait_seconds": 0.0})
            continue
        # each read once: the row's own figures agree with the sums
        row: LockStatistics = {
            "name": name,
            "acquisitions": found.acquisitions,
            "contended": found.contended,
            "wait_seconds": found.waited,
        }
        rows.append(row)
        total += row["acquisitions"]
        contended += row["contended"]
        waited += row["wait_seconds"]
    return {
        "tracking": tracked,
        "acquisitions": total,
        "contended": contended,
        "wait_seconds": waited,
        "locks": rows,
    }
