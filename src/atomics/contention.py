"""Contention counters: the one shape every structure's ``statistics()`` reports.

Each structure of this package (``AtomicInteger``, ``AtomicBoolean``, ``AtomicReference``,
``StripedCounter``, ``ShardedDict``, ``BoundedQueue``, ``KnowledgeBase``) made with
``track_contention=True`` counts, for each of its locks, every acquisition, the acquisitions
that had to wait because another thread held the lock, and the time they waited. Its
``statistics()`` returns them in a :class:`ContentionStatistics` (with the structure's own
keys beside them, e.g. :class:`ShardedDictStatistics`):

* ``tracking``: whether the structure counts (``False``: every figure below is 0, and its
  locks are plain ``threading.Lock`` objects: nothing is counted, nothing costs);
* ``acquisitions``, ``contended``, ``wait_seconds``: the sums over its locks;
* ``locks``: one :class:`LockStatistics` per lock, named (``"stripe 3"``, ``"value"``...),
  in a fixed order (a ``ShardedDict``'s in stripe order).

Counting costs a Python-level ``acquire``/``release`` per lock operation (measured in
``benchmarks/bench_contention_overhead.py``: well above "a few percent" on short
operations), so it is off unless asked for: per structure (``track_contention=True``) or for
the whole process, without code changes, by setting the environment variable
``ATOMICS_TRACK_CONTENTION=1`` before the package is imported (:func:`tracking_default`).

What is counted, exactly: a successful acquisition of a lock of the structure (a blocking
one, a non-blocking one that got it, the re-acquisition after a ``Condition`` wait); one
that found the lock held and waited is also ``contended``, and the time from its failed
first try to holding the lock is added to ``wait_seconds``. A failed non-blocking or timed
acquisition counts nothing. The counters are updated by the acquiring thread *while it holds
the lock*, so they are exact (no update is lost) with no lock of their own; ``statistics()``
reads them without taking any lock (it never blocks, and may be called anywhere, inside a
``locked()`` block too; ``StripedCounter.statistics()`` alone takes the counter's own lock
briefly, as ``sum()`` does, to count its cells), so while other threads work it is not a
snapshot of one instant: each figure is one that held during the call.

Lock-free operations take no lock and so count nothing: reads of the atomics
(``AtomicInteger.get``...), ``ShardedDict`` reads, ``StripedCounter`` adds (through the
counter or a handle), ``BoundedQueue.empty``/``full``. Contention there, if any, is in the
interpreter (reference counts), not in a lock, and the counters do not see it.

The counters only grow: measure an interval by subtracting two ``statistics()`` (there is no
reset: resetting while other threads count would need every lock, or lose counts). A copy,
an unpickled structure or ``ShardedDict.copy()`` is a new structure with the process default
(:func:`tracking_default`), not the original's setting. A ``CounterHandle`` takes no lock and
has no counters of its own: read its counter's.

>>> from atomics import ShardedDict
>>> d = ShardedDict(stripes=2, track_contention=True)
>>> d["a"] = 1; d.increment("a")
2
>>> stats = d.statistics()
>>> stats["tracking"], stats["acquisitions"], stats["contended"], len(stats["locks"])
(True, 2, 0, 2)
>>> ShardedDict(stripes=2).statistics()["acquisitions"]  # not tracking: zeros
0
"""

from __future__ import annotations

from typing import TypedDict

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "BoundedQueueStatistics",
    "ContentionStatistics",
    "LockStatistics",
    "ShardedDictStatistics",
    "StripedCounterStatistics",
    "tracking_default",
]

ENVIRONMENT_VARIABLE = "ATOMICS_TRACK_CONTENTION"
"""Set to ``1`` (or ``true``, ``yes``, ``on``) before importing the package: every structure
made without an explicit ``track_contention`` counts (read once, at import). ``0``, ``false``,
``no``, ``off`` or empty: off; any other value is off with a ``RuntimeWarning``."""


class LockStatistics(TypedDict):
    """The counters of one lock (all 0 when not tracking).

    ``name``: which lock (``"stripe 0"``, ``"value"``, ``"queue"``, ``"topic 'news'"``...);
    ``acquisitions``: times it was taken; ``contended``: of those, how many found it held and
    waited; ``wait_seconds``: the time they waited, in total.
    """

    name: str
    acquisitions: int
    contended: int
    wait_seconds: float


class ContentionStatistics(TypedDict):
    """What every structure's ``statistics()`` returns (at least): whether it is
    ``tracking``, the sums over its locks, and ``locks``, each lock's :class:`LockStatistics`.

    >>> from atomics import AtomicInteger
    >>> n = AtomicInteger(track_contention=True); n += 1; n += 1
    >>> n.statistics()["acquisitions"], n.statistics()["locks"][0]["name"]
    (2, 'value')
    """

    tracking: bool
    acquisitions: int
    contended: int
    wait_seconds: float
    locks: list[LockStatistics]


class ShardedDictStatistics(ContentionStatistics):
    """``ShardedDict.statistics()``: the contention counters (``locks``: one per stripe, in
    stripe order), ``stripes`` and ``shard_sizes`` (the number of keys in each shard)."""

    stripes: int
    shard_sizes: list[int]


class StripedCounterStatistics(ContentionStatistics):
    """``StripedCounter.statistics()``: the contention counters of its one lock (taken to
    register a thread's cell, by sums that fold retired cells and by resets -- never by adds),
    ``cells`` (live cells: threads and handles) and ``retired`` (the count folded from cells
    whose owner is gone)."""

    cells: int
    retired: int


class BoundedQueueStatistics(ContentionStatistics):
    """``BoundedQueue.statistics()``: the contention counters of its one lock, and
    ``put_waits``/``get_waits``: how many times a put (or ``put_many``) slept because the
    queue was full, and a get (or ``get_many``) because it was empty -- waiting for room or
    items, not for the lock. These two are counted whether or not the queue tracks
    contention (only on the path that sleeps anyway: no cost otherwise)."""

    put_waits: int
    get_waits: int


def tracking_default() -> bool:
    """Whether structures made without ``track_contention`` count: ``ENVIRONMENT_VARIABLE``
    as it was when the package was imported. Thread-safe (a constant).

    >>> tracking_default() in (True, False)
    True
    """
    from atomics import _locks

    return _locks.TRACK_DEFAULT
