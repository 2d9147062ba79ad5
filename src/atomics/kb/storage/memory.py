"""The in-process storage: the knowledge base's default, built from the package's
primitives.

How it keeps the storage contract (its guarantees) is in the docstring of
:class:`MemoryStorage`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from atomics import _guard, _locks, _validate
from atomics._guard import in_user_code, package_code
from atomics.contention import ContentionStatistics
from atomics.errors import AtomicsTypeError, AtomicsValueError
from atomics.kb.errors import Conflict, KnowledgeBaseClosed
from atomics.kb.records import (
    ANY,
    DELETED,
    Draft,
    Insight,
    WorldChange,
    WorldEntry,
    has_explicit_id,
)
from atomics.kb.reducers import reducers
from atomics.kb.storage.base import (
    NAMED_REDUCERS,
    ChangeListener,
    ExportRecord,
    TopicState,
    collect,
    paginate,
)
from atomics.kb.values import check_json
from atomics.sharded_dict import MISSING, ShardedDict

__all__ = ["IdIndex", "MemoryStorage", "TopicLog"]

# Builds an Insight from a tuple without NamedTuple's Python-level __new__ (half the cost).
_make_insight = tuple.__new__


class TopicLog:
    """One topic's append-only log (with optional retention of the newest ``retain``)."""

    __slots__ = ("entries", "lock", "next_seq", "topic")

    def __init__(self, topic: str, retain: int | None, track: bool = False) -> None:
        # Interned: every insight carries this one immortal str, so that a dict keyed by
        # insights' topics, filled by one thread and read by others, avoids the cross-thread
        # cost on 3.13t (docs/sharded_dict.md); topic names are few, so it leaks nothing.
        self.topic = sys.intern(topic if type(topic) is str else str.__str__(topic))
        self.lock = _locks.lock(track)  # guards both fields; seq is assigned under it
        self.entries: deque[Insight] = deque(maxlen=retain)
        self.next_seq = 0

    def read(self, after: int, limit: int | None) -> list[Insight]:
        """Entries with seq > ``after`` (caller holds the lock)."""
        entries = self.entries
        first = self.next_seq - len(entries)  # seq of entries[0]
        start = max(0, after + 1 - first)
        stop = len(entries) if limit is None else min(len(entries), start + limit)
        if start == 0 and stop == len(entries):
            return list(entries)
        return [entries[i] for i in range(start, stop)]


class IdIndex:
    """Explicit insight id -> the stored Insight, striped: each id's check and store under its
    stripe lock.

    Only dict operations that look up under the dict's own lock are used (``pop``, item
    assignment), never ``get``/``in``/``[]``. On free-threaded 3.13 a lock-free dict lookup
    that probes a stored key made by another live thread cannot take a reference to it (its
    shared reference count is still zero: CPython's ``compare_unicode_unicode_threadsafe``)
    and redoes the lookup under the dict's lock; with ids made by every adding thread, adds
    with explicit ids got slower with each thread (0.48 / 1.82 / 3.26 s for 24,000 adds at
    1 / 2 / 4 threads). ``sys.intern`` would avoid it by making each id immortal: a leak for
    an unbounded stream of ids. A locked lookup compares keys without that reference.
    """

    __slots__ = ("locks", "shards")

    def __init__(self, stripes: int, track: bool = False) -> None:
        self.locks = tuple(_locks.lock(track) for _ in range(stripes))
        self.shards: tuple[dict[str, Insight], ...] = tuple({} for _ in range(stripes))

    def get_or_append(self, insight_id: str, append: Callable[[], Insight]) -> Insight:
        """The insight stored under ``insight_id``; if none, ``append()``'s, stored (under
        the id's stripe lock: ``append`` runs at most once per id at a time)."""
        index = hash(insight_id) % len(self.locks)
        with self.locks[index]:
            shard = self.shards[index]
            stored = shard.pop(insight_id, None)  # a locked lookup (see the class docstring)
            if stored is None:
                stored = append()
            shard[insight_id] = stored
            return stored

    def remove_if_is(self, insight_id: str, insight: Insight) -> None:
        """Forget ``insight_id`` if it maps to this very insight."""
        index = hash(insight_id) % len(self.locks)
        with self.locks[index]:
            shard = self.shards[index]
            stored = shard.pop(insight_id, None)
            if stored is not None and stored is not insight:
                shard[insight_id] = stored  # another insight's: kept

    def put(self, insight_id: str, insight: Insight) -> None:
        """Store ``insight`` under ``insight_id`` (for ``import_state``, into a storage no
        other thread uses yet: no lock, one atomic dict store)."""
        self.shards[hash(insight_id) % len(self.locks)][insight_id] = insight

    def __len__(self) -> int:
        return sum(len(shard) for shard in self.shards)


def _version_now(current: WorldEntry | None) -> int | None:
    """The version a compare-and-set compares with: None for absent or deleted."""
    return None if current is None or current.value is DELETED else current.version


def _check_version(key: str, current: WorldEntry | None, expected_version: Any) -> None:
    if expected_version is not ANY:
        now = _version_now(current)
        if now != expected_version:
            raise Conflict(key, expected_version, now)


def _json_copy(value: Any, where: str) -> Any:
    """``value`` as JSON gives it back (TypeError naming ``where`` if it cannot)."""
    check_json(value, where)
    return json.loads(json.dumps(value, allow_nan=False))


def _copy(value: Any) -> Any:
    """A fresh copy of a stored JSON value (checked when it was stored)."""
    return json.loads(json.dumps(value))


def _entry_copy(entry: WorldEntry) -> WorldEntry:
    return entry if entry.value is DELETED else entry._replace(value=_copy(entry.value))


def _insight_copy(insight: Insight) -> Insight:
    meta = None if insight.meta is None else _copy(insight.meta)
    return insight._replace(content=_copy(insight.content), meta=meta)


class MemoryStorage:
    """The in-process storage: the knowledge base's default. Thread-safe.

    ``json_values=True``: values are stored as JSON gives them back (the rule of a server
    backend), and a value JSON cannot hold is a ``TypeError`` before anything changes.

    Guarantees
    ----------
    The contract of :class:`~atomics.kb.storage.Storage`, kept in memory:

    * the **log**: one :class:`TopicLog` per topic (a lock and a ``deque``; ``seq`` assigned under
      that lock with the append, so per topic it is gap-free and totally ordered), found through
      a :class:`~atomics.ShardedDict` of topics; explicit insight ids in an :class:`IdIndex`
      ``id -> Insight`` (striped; its locked lookups avoid 3.13t's cross-thread key cost), whose
      ``get_or_append`` makes a retried id return the stored insight;
    * the **world**: a ShardedDict ``key -> WorldEntry``; every write checks and stores under
      the key's stripe lock, so versions step by exactly 1. Deleted keys keep a tombstone (their
      version) so that a compare-and-set cannot mistake a re-created key for the old one (no ABA);
    * the **change feed**: the listener's ``note`` is called under the topic's lock or the key's
      stripe lock, after the store (so what it notes is readable, and notes come in seq order
      per topic, version order per key); the knowledge base delivers once the write is done
      and no lock is held;
    * **contention counters** (``track_contention=True``; None: the process default): every
      lock above counts its acquisitions and waits, reported by :meth:`statistics`.

    Lock order, the one way locks are ever nested (so nothing can deadlock): id-index stripe ->
    registry lock -> world stripes (index order) -> topic locks (several: by topic name) -> the
    listener's own locks (leaves). No user code runs under any of them except values' own
    methods (``__add__``, ``__eq__``, ... of a named reducer's operands), which run as user code:
    a write from there raises ``ReentrantCallError``.

    >>> storage = MemoryStorage()
    >>> storage.put_if("k", 1, "a", None, 0.0).version
    1
    >>> storage.append_one("t", "a", "hello", None, 0.0).seq
    0
    """

    def __init__(
        self,
        *,
        retain_per_topic: int | None = None,
        stripes: int | None = None,
        json_values: bool = False,
        track_contention: bool | None = None,
    ) -> None:
        self.track_contention = track = _locks.tracking(track_contention)
        if retain_per_topic is not None:
            # a deque's maxlen is at most sys.maxsize
            _validate.count(retain_per_topic, "retain_per_topic", 1, sys.maxsize)
        if not isinstance(json_values, bool):
            raise AtomicsTypeError(f"json_values must be a bool, got {type(json_values).__name__}")
        self.retain = self.retain_per_topic = retain_per_topic
        self.json_values = json_values
        self.logs: ShardedDict[str, TopicLog] = ShardedDict(stripes=stripes, track_contention=track)
        self.by_id = IdIndex(self.logs.stripes, track)
        self._id_locks, self._id_shards = self.by_id.locks, self.by_id.shards
        self._id_stripes = len(self._id_locks)
        self.world: ShardedDict[str, WorldEntry] = ShardedDict(
            stripes=stripes, track_contention=track
        )
        # Held while a topic is created: export() sees a fixed set of topics.
        self.local = threading.local()  # its __dict__: this thread's topic -> TopicLog cache
        self.registry_lock = _locks.lock(track)
        self.appended = _locks.Condition(track)  # wait()'s wake-up
        self.waiters = 0  # under appended's lock
        self.closed = False
        self._note: Callable[[Insight | WorldChange], None] | None = None

    def watch(self, listener: ChangeListener | None) -> None:
        """Report every change from now on to ``listener.note`` (under the write's lock).
        One listener at a time: ``ValueError`` if another is watching (a second
        KnowledgeBase on this storage would take the first one's events away)."""
        if listener is not None and self._note is not None:
            raise AtomicsValueError(
                "storage: already watched (it feeds another KnowledgeBase); one storage "
                "serves one KnowledgeBase"
            )
        self._note = None if listener is None else listener.note

    def sync(self, everything: bool = False) -> None:
        """Nothing to wait for: every change is reported under its write's lock."""

    # --- log -------------------------------------------------------------------------------------
    def _log(self, topic: str) -> TopicLog:
        # A per-thread cache first: on free-threaded 3.13 a lookup in a dict shared between
        # threads, of an object another live thread created, is ~100x slower than in a dict
        # the calling thread owns (docs/sharded_dict.md). Logs are never removed, so a cached
        # one stays valid.
        cache: dict[str, TopicLog] = self.local.__dict__  # this thread's: topic -> log
        log = cache.get(topic)
        if log is None:
            log = self.logs.get(topic)
            if log is None:
                with self.registry_lock:  # creates are serialised: check, then store
                    log = self.logs.get(topic)
                    if log is None:
                        # a plain store, not get_or_create: no factory runs, so this is not
                        # user code and does not switch on the re-entry guard
                        # (docs/guarantees.md), whose check then costs every write
                        log = TopicLog(topic, self.retain, self.track_contention)
                        self.logs[log.topic] = log
            cache[topic] = log
        return log

    def _json_insight(self, insight: Insight) -> Insight:
        where = f"insight {insight.id!r}"
        meta = None if insight.meta is None else _json_copy(dict(insight.meta), f"{where} meta")
        return insight._replace(content=_json_copy(insight.content, f"{where} content"), meta=meta)

    def _draft(self, draft: Draft, where: str) -> Draft:
        if not self.json_values:
            return draft
        if draft.id is not None:
            where = f"insight {draft.id!r}"
        meta = None if draft.meta is None else _json_copy(dict(draft.meta), f"{where} meta".strip())
        where = f"{where} content".strip()
        return draft._replace(content=_json_copy(draft.content, where), meta=meta)

    def append(self, topic: str, drafts: Sequence[Draft]) -> list[Insight]:
        """Append ``drafts``; a draft whose explicit id is stored already returns the stored
        insight instead (and changes nothing, not even creating the topic). Drafts without
        ids get contiguous seqs."""
        # JSON errors: before any change, naming the draft (its index in a batch)
        many = len(drafts) > 1
        drafts = [
            self._draft(d, f"insight {i} of the batch" if many else "")
            for i, d in enumerate(drafts)
        ]
        evicted: list[Insight] = []  # by retention: their ids are forgotten at the end
        try:
            out = self._append_drafts(topic, drafts, evicted)
            # with json_values, every read is a fresh copy (as from a server): a caller's
            # change to what it got back never reaches what is stored
            return [_insight_copy(i) for i in out] if self.json_values else out
        finally:
            if evicted:
                self._forget(evicted)

    def _append_drafts(
        self, topic: str, drafts: Sequence[Draft], evicted: list[Insight]
    ) -> list[Insight]:
        if all(draft.id is None for draft in drafts):
            return self._append_locked(self._log(topic), topic, drafts, evicted)
        out = []
        for draft in drafts:
            if draft.id is None:
                out.extend(self._append_locked(self._log(topic), topic, [draft], evicted))
                continue

            # get_or_append: the append runs at most once per id, under the id's stripe.
            def append_one(draft: Draft = draft) -> Insight:
                # Our own code under the id's stripe lock: the documented lock order
                # (id stripe, then registry lock, then topic lock) -- no user code here.
                with package_code():
                    return self._append_locked(self._log(topic), topic, [draft], evicted)[0]

            stored = self.by_id.get_or_append(draft.id, append_one)
            if self.retain is not None:
                self._forget_if_dropped(stored)
            out.append(stored)
        return out

    def _forget_if_dropped(self, insight: Insight) -> None:
        """Drop ``insight``'s explicit id from the index if retention dropped it from the
        log (it can be dropped while its id is being stored: an append that evicts it
        runs the eviction's forgetting before the id is in the index)."""
        log = self._log(insight.topic)  # this thread's cache: not the shared registry
        if insight.seq < log.next_seq - len(log.entries):
            self.by_id.remove_if_is(insight.id, insight)

    def _forget(self, evicted: Iterable[Insight]) -> None:
        """Drop the explicit ids of insights retention evicted from the index (called after
        the topic lock is released: the id index comes first in the lock order)."""
        for insight in evicted:
            if has_explicit_id(insight):
                self.by_id.remove_if_is(insight.id, insight)

    def append_one(
        self,
        topic: str,
        agent_id: str,
        content: Any,
        meta: Any,
        timestamp: float,
        insight_id: str | None = None,
    ) -> Insight:
        """Append one insight (the hot path, kept flat); with ``insight_id``, as ``append``
        of one draft with that id."""
        if self.json_values:
            draft = Draft(insight_id, agent_id, content, meta, timestamp)
            return self.append(topic, [draft])[0]
        if insight_id is not None:
            return self._append_one_id(topic, insight_id, agent_id, content, meta, timestamp)
        log = self.local.__dict__.get(topic)  # _log's first step, inline
        if log is None:
            log = self._log(topic)
        evicted = None
        try:
            with log.lock:
                if self.closed:
                    raise KnowledgeBaseClosed("the storage is closed")
                seq = log.next_seq
                topic = log.topic
                insight = _make_insight(
                    Insight, (topic, seq, f"{topic}#{seq}", agent_id, content, meta, timestamp)
                )
                entries = log.entries
                if len(entries) == entries.maxlen:  # retention drops the oldest
                    evicted = entries[0]
                entries.append(insight)
                log.next_seq = seq + 1
                note = self._note
                if note is not None:
                    note(insight)  # under the lock, after the store: seq order, readable
        finally:  # (even if the note raised: the insight is stored)
            if evicted is not None:
                self._forget((evicted,))
            if self.waiters:
                self._wake_waiters()
        return insight

    def _append_one_id(
        self,
        topic: str,
        insight_id: str,
        agent_id: str,
        content: Any,
        meta: Any,
        timestamp: float,
    ) -> Insight:
        """``append_one`` with an explicit id: ``append``'s get-or-append, flat. Lock order:
        the id's stripe, then (creating the topic) the registry lock, then the topic lock."""
        # (the index's tuples held here directly: one shared object fewer per add, whose
        # reference count both threads would update)
        index = hash(insight_id) % self._id_stripes
        evicted = stored = None
        try:
            with self._id_locks[index]:
                shard = self._id_shards[index]
                stored = shard.pop(insight_id, None)  # a locked lookup (see IdIndex)
                try:
                    if stored is None:
                        log = self.local.__dict__.get(topic)
                        if log is None:
                            log = self._log(topic)
                        with log.lock:
                            if self.closed:
                                raise KnowledgeBaseClosed("the storage is closed")
                            seq = log.next_seq
                            stored = _make_insight(
                                Insight,
                                (log.topic, seq, insight_id, agent_id, content, meta, timestamp),
                            )
                            entries = log.entries
                            if len(entries) == entries.maxlen:  # retention drops the oldest
                                evicted = entries[0]
                            entries.append(stored)
                            log.next_seq = seq + 1
                            note = self._note
                            if note is not None:
                                note(stored)  # under the lock, after the store: seq order
                finally:  # (even if the note raised: what the log holds, the index holds)
                    if stored is not None:
                        shard[insight_id] = stored
        finally:
            if evicted is not None:
                self._forget((evicted,))
            if self.waiters:
                self._wake_waiters()
        if self.retain is not None:
            self._forget_if_dropped(stored)
        return stored

    def _append_locked(
        self, log: TopicLog, topic: str, drafts: Sequence[Draft], evicted: list[Insight]
    ) -> list[Insight]:
        """Append under the topic lock; what retention drops goes to ``evicted`` (whose ids
        the caller forgets once it holds no lock: it may hold an id stripe here)."""
        out = []
        topic = log.topic
        with log.lock:
            if self.closed:
                raise KnowledgeBaseClosed("the storage is closed")
            seq = log.next_seq
            entries = log.entries
            for draft in drafts:
                if len(entries) == entries.maxlen:  # retention drops the oldest
                    evicted.append(entries[0])
                insight = _make_insight(
                    Insight,
                    (
                        topic,
                        seq,
                        draft.id if draft.id is not None else f"{topic}#{seq}",
                        draft.agent_id,
                        draft.content,
                        draft.meta,
                        draft.timestamp,
                    ),
                )
                entries.append(insight)
                seq += 1
                out.append(insight)
            log.next_seq = seq
            note = self._note
            if note is not None:
                for insight in out:  # under the lock, after the store: seq order, readable
                    note(_insight_copy(insight) if self.json_values else insight)
        if self.waiters:
            self._wake_waiters()
        return out

    def _wake_waiters(self) -> None:
        # Called after a racy read of ``waiters`` (appends stay cheap); a waiter that misses
        # this re-checks within its wait slice (see wait).
        with self.appended:
            self.appended.notify_all()

    def read(self, topic: str, after: int, limit: int | None) -> list[Insight]:
        """The topic's insights with seq > ``after``, in seq order, at most ``limit`` (``[]``
        for a topic never appended to: a read never creates one). Copied under the topic's lock:
        one consistent reading of the topic (what one append stored is in it whole or not at
        all)."""
        log = self.logs.get(topic)  # a read never creates a topic
        if log is None:
            return []
        with log.lock:  # a deque cannot be read while another thread appends
            out = log.read(after, limit)
        return [_insight_copy(i) for i in out] if self.json_values else out

    def latest(self, topic: str, n: int) -> list[Insight]:
        """The topic's newest ``n`` insights, oldest first (``[]`` for an unknown topic).
        Copied under the topic's lock, as :meth:`read`."""
        log = self.logs.get(topic)
        if log is None:
            return []
        with log.lock:
            out = log.read(log.next_seq - n - 1, None)
        return [_insight_copy(i) for i in out] if self.json_values else out

    def topics(self) -> list[str]:
        """Every topic with at least one insight ever, sorted. Reads the topic registry
        without the topic locks: a topic first appended to during the call may be missing."""
        # a log made by a write that was then refused (closed) holds nothing: not a topic
        return sorted(topic for topic, log in self.logs.items() if log.next_seq)

    def count(self) -> int:
        """Insights kept, over every topic (after retention). Lock-free: each topic's length is
        exact at its own instant, so the sum is exact whenever no append is in flight."""
        # Without locks: each len() is exact at its instant; exact overall with no write in flight.
        return sum(len(log.entries) for log in self.logs.values())

    def tips(self) -> dict[str, int]:
        """topic -> the last seq assigned (topics with entries)."""
        return {topic: log.next_seq - 1 for topic, log in self.logs.items() if log.next_seq}

    def wait(self, tips: Mapping[str, int], timeout: float | None) -> bool:
        """Wait until some topic's last seq differs from ``tips`` (or a topic appeared);
        True if so, False on timeout or close."""

        def changed() -> bool:
            return self.tips() != dict(tips)

        deadline = _validate.deadline(timeout)  # None, inf: no deadline; NaN, < 0: ValueError
        with self.appended:
            self.waiters += 1
            try:
                while not changed():
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if self.closed or (remaining is not None and remaining <= 0):
                        return False
                    # Appenders read ``waiters`` without this lock (to keep appends cheap), so
                    # a wake-up can be missed: wait in slices and re-check, never forever.
                    self.appended.wait(0.05 if remaining is None else min(remaining, 0.05))
                return True
            finally:
                self.waiters -= 1

    # --- world -----------------------------------------------------------------------------------
    def get(self, key: str) -> WorldEntry | None:
        """The key's entry, or None if absent or deleted (a tombstone). One lock-free, atomic
        read of the key's shard: an entry is never seen half written (with ``json_values``, a
        fresh copy)."""
        entry = self.world.get(key)
        if entry is None or entry.value is DELETED:
            return None
        return _entry_copy(entry) if self.json_values else entry

    def _write(
        self, key: str, step: Callable[[WorldEntry | None], WorldEntry | None]
    ) -> WorldEntry | None:
        """Store ``step(current entry or None)`` under the key's stripe lock (None: no
        change) and note it there, after the store: version order, readable when noted."""
        world = self.world
        index = world._index(key)
        with world._locks[index]:
            if self.closed:
                raise KnowledgeBaseClosed("the storage is closed")
            shard = world._shards[index]
            new = step(shard.get(key))
            if new is None:
                return None
            shard[key] = new
            note = self._note
            if note is not None:
                note(WorldChange(key, _entry_copy(new) if self.json_values else new))
        return _entry_copy(new) if self.json_values else new

    def put_if(
        self, key: str, value: Any, agent_id: str, expected_version: Any, timestamp: float
    ) -> WorldEntry:
        """Compare-and-set: store ``value`` as the key's next version if its version is
        ``expected_version`` (``None``: absent or deleted; ``ANY``: no check), else raise
        :class:`~atomics.kb.errors.Conflict` carrying the current version. The check, the store
        and the listener's note run under the key's stripe lock: atomic, so versions step by
        exactly 1 and, of two writers expecting the same version, one wins.

        >>> storage = MemoryStorage()
        >>> storage.put_if("k", "a", "agent", None, 0.0).version
        1
        >>> storage.put_if("k", "b", "agent", None, 0.0)
        Traceback (most recent call last):
        ...
        atomics.kb.errors.Conflict: world key 'k': expected version None, current version 1
        """
        if self.json_values:
            value = _json_copy(value, "value")

        def step(current: WorldEntry | None) -> WorldEntry:
            _check_version(key, current, expected_version)
            return WorldEntry(
                value, 1 if current is None else current.version + 1, agent_id, timestamp
            )

        new = self._write(key, step)
        assert new is not None
        return new

    def delete_if(
        self, key: str, agent_id: str, expected_version: Any, timestamp: float
    ) -> WorldEntry | None:
        """Delete the key if its version is ``expected_version`` (as for :meth:`put_if`): its
        tombstone takes the next version, so versions never repeat; returns the tombstone, or None
        if the key was absent or already deleted (nothing written). Atomic under the key's stripe
        lock, as :meth:`put_if`."""

        def step(current: WorldEntry | None) -> WorldEntry | None:
            _check_version(key, current, expected_version)
            if current is None or current.value is DELETED:  # absent: nothing to write
                return None
            return WorldEntry(DELETED, current.version + 1, agent_id, timestamp)

        return self._write(key, step)

    def merge(
        self, key: str, value: Any, reducer: str, agent_id: str, timestamp: float
    ) -> WorldEntry:
        """Store ``reducers[reducer](current value or MISSING, value)`` as the key's next
        version; ``reducer`` is a named one (``sum``, ``max``, ``min``, ``union``, ``append``;
        another name is ``ValueError``). Read, reduce and store under the key's stripe lock:
        atomic, the reducer runs exactly once per merge, and no concurrent merge is lost. The
        operands' own methods run as user code (a write from them raises ``ReentrantCallError``).

        >>> storage = MemoryStorage()
        >>> [storage.merge("n", 2, "sum", "agent", 0.0).value for _ in range(3)]
        [2, 4, 6]
        """
        if reducer not in NAMED_REDUCERS:
            raise AtomicsValueError(
                f"reducer: unknown name {reducer!r}; known: {sorted(NAMED_REDUCERS)}"
            )
        fn = reducers[reducer]
        if self.json_values:
            value = _json_copy(value, "value")

        def step(current: WorldEntry | None) -> WorldEntry:
            old = MISSING if current is None or current.value is DELETED else current.value
            # the operands' own methods (__add__, __lt__, ...) may be user code
            new = _validate.storable(_guard.run_user(fn, old, value), "reducer()")
            if self.json_values:
                new = _json_copy(new, "the merged value")
            version = 1 if current is None else current.version + 1
            return WorldEntry(new, version, agent_id, timestamp)

        new = self._write(key, step)
        assert new is not None
        return new

    def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, WorldEntry]]:
        """Live keys (not deleted) starting with ``prefix``, sorted, after the key ``after``, at
        most ``limit`` (``ValueError`` if negative). Filters one :meth:`ShardedDict.snapshot
        <atomics.ShardedDict.snapshot>` of the world: a consistent copy, so a write running
        meanwhile is in it or not (from user code holding one of this package's locks, each shard
        at its own instant)."""
        if limit is not None:
            _validate.count(limit, "limit", 0)
        rows = sorted(
            (key, entry)
            for key, entry in self.world.snapshot().items()
            if key.startswith(prefix)
            and entry.value is not DELETED
            and (after is None or key > after)
        )
        rows = rows if limit is None else rows[:limit]
        return [(k, _entry_copy(e)) for k, e in rows] if self.json_values else rows

    def close(self) -> None:
        """Refuse every write from now on (``KnowledgeBaseClosed``) and wake every
        :meth:`wait` (it returns False from now on, unless changed). A write in flight
        either completes, and is noted, before ``close`` returns, or is refused: each write
        checks under its own lock, and ``close`` passes through every one of them."""
        _guard.check_write("MemoryStorage.close()")
        self.closed = True
        with self._everything_locked():
            pass  # every write that took its lock before ``closed`` was set has noted
        with self.appended:
            self.appended.notify_all()

    def statistics(self) -> ContentionStatistics:
        """The contention counters of every lock of this storage, in the package's uniform
        shape (:mod:`atomics.contention`), counted with ``track_contention=True`` (zeros
        otherwise): ``"registry"``, ``"appended"`` (the lock of :meth:`wait`'s condition),
        ``"topics stripe <i>"`` (the map of topic logs), ``"id stripe <i>"``, ``"world stripe
        <i>"`` and one ``"topic <name>"`` per topic, by name. Thread-safe and lock-free (it
        never blocks); while other threads write, each figure is one that held during the
        call, and a topic created meanwhile may be missing.

        >>> storage = MemoryStorage(stripes=2, track_contention=True)
        >>> storage.append_one("t", "a", "hello", None, 0.0).seq
        0
        >>> rows = storage.statistics()["locks"]
        >>> [row["name"] for row in rows if row["acquisitions"] and "stripe" not in row["name"]]
        ['registry', "topic 't'"]
        """
        named: list[tuple[str, object]] = [
            ("registry", self.registry_lock),
            ("appended", self.appended._lock),  # type: ignore[attr-defined]
        ]
        named += [(f"topics stripe {i}", lock) for i, lock in enumerate(self.logs._locks)]
        named += [(f"id stripe {i}", lock) for i, lock in enumerate(self._id_locks)]
        named += [(f"world stripe {i}", lock) for i, lock in enumerate(self.world._locks)]
        named += [(f"topic {log.topic!r}", log.lock) for _, log in sorted(self.logs.items())]
        return _locks.contention(self.track_contention, named)

    # --- export / import -------------------------------------------------------------------------
    @contextmanager
    def _everything_locked(self) -> Iterator[None]:
        # The documented order: registry lock, world stripes, topic locks.
        with self.registry_lock, ExitStack() as held:
            held.enter_context(self.world._all_stripes())
            for _, log in sorted(self.logs.items()):
                held.enter_context(log.lock)
            yield

    def export(self, page_size: int = 1024) -> Iterator[list[ExportRecord]]:
        """A consistent copy of everything (no write is half seen, across topics and keys),
        taken now, as pages of at most ``page_size`` records.

        From user code (which may hold a lock of this package): each topic and each world
        shard is copied at its own instant, without taking the registry lock or the world's
        stripe locks (taking them could deadlock)."""
        page_size = _validate.count(page_size, "page_size")
        topics, world = self._state()
        return paginate(topics, world, page_size)

    def _state(self) -> tuple[dict[str, TopicState], dict[str, WorldEntry]]:
        if in_user_code():
            logs = {}
            for name, log in sorted(self.logs.items()):
                with log.lock:
                    if log.next_seq:  # (see topics())
                        logs[name] = TopicState(log.next_seq, list(log.entries))
            world = self.world.snapshot()
        else:
            with self._everything_locked():
                logs = {
                    name: TopicState(log.next_seq, list(log.entries))
                    for name, log in self.logs.items()
                    if log.next_seq  # (see topics())
                }
                world = {key: entry for shard in self.world._shards for key, entry in shard.items()}
        if self.json_values:
            logs = {
                name: TopicState(state.next_seq, [_insight_copy(i) for i in state.insights])
                for name, state in logs.items()
            }
            world = {key: _entry_copy(entry) for key, entry in world.items()}
        return logs, world

    def import_state(self, pages: Iterable[Iterable[ExportRecord]]) -> None:
        """Load ``export()`` pages into this storage, which must be empty and not yet used
        by other threads: ``ValueError`` if it is not empty, or for pages out of order,
        before anything is stored."""
        topics, world = collect(pages)
        if self.topics() or len(self.world):
            raise AtomicsValueError("import_state() needs an empty storage")
        if self.retain is not None:  # this storage's retention, whatever the source's
            topics = {
                name: TopicState(state.next_seq, state.insights[-self.retain :])
                for name, state in topics.items()
            }
        if self.json_values:  # what JSON cannot hold: TypeError, before anything is stored
            topics = {
                name: TopicState(state.next_seq, [self._json_insight(i) for i in state.insights])
                for name, state in topics.items()
            }
            world = {
                key: entry
                if entry.value is DELETED
                else entry._replace(value=_json_copy(entry.value, f"world key {key!r}"))
                for key, entry in world.items()
            }
        # No lock: no other thread uses this storage yet (the precondition above;
        # KnowledgeBase.load imports into one it has just made), and a lock here would
        # suggest otherwise -- a reader meanwhile could still see one topic whole and the
        # next not yet imported.
        for name, state in topics.items():
            log = self._log(name)
            log.entries.extend(state.insights)
            log.next_seq = state.next_seq
            for insight in state.insights:
                if has_explicit_id(insight):
                    self.by_id.put(insight.id, insight)
        for key, entry in world.items():
            self.world[key] = entry
