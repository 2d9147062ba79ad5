"""The KnowledgeBase's storage interface, and its in-process implementation.

:class:`Storage` is the narrow interface the :class:`~atomics.KnowledgeBase` is written
against -- world get / compute / scan, log append / read / wait, subscribe (backlog plus
registration as one step), export / import -- so that a networked backend can be added later
without changing agent code. :class:`MemoryStorage` is the embedded default, built from the
package's primitives:

* the **log**: one :class:`TopicLog` per topic (a lock and a ``deque``; ``seq`` assigned under
  that lock with the append, so per topic it is gap-free and totally ordered), found through
  a :class:`~atomics.ShardedDict` of topics; explicit insight ids in a ShardedDict
  ``id -> Insight``, whose ``get_or_create`` makes a retried id return the stored insight;
* the **world**: a ShardedDict ``key -> WorldEntry``; every write is one ``compute`` on the
  key's stripe, so versions step by exactly 1. Deleted keys keep a tombstone (their version)
  so that a compare-and-set cannot mistake a re-created key for the old one (no ABA);
* **publication**: the storage calls ``on_insight``/``on_world`` under the topic's lock or
  the key's stripe lock, so events are noted in seq (version) order; the knowledge base
  delivers them once the write is done and no lock is held.

Lock order, the one way locks are ever nested (so nothing can deadlock): id-index stripe ->
registry lock -> world stripes (index order) -> topic locks (several: by topic name) -> the
knowledge base's subscription-list lock (a leaf). Subscription queues are not in it: the
knowledge base delivers events after the write, holding none of these. (An insight with
an explicit id takes its id stripe, then creates the topic if need be and takes the topic
lock; a subscriber with ``since`` takes the registry lock, then topic locks; ``export``
takes the registry lock, every world stripe, then every topic lock; a world update
function -- user code, under its key's stripe -- may read a topic, taking that topic's
lock.)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, NamedTuple, Protocol

from atomics import _validate
from atomics._guard import in_user_code, package_code
from atomics.sharded_dict import DELETE, MISSING, ShardedDict

__all__ = ["Insight", "MemoryStorage", "NewInsight", "Storage", "TopicLog", "WorldEntry"]


class Insight(NamedTuple):
    """One entry of a topic's log (immutable). ``seq`` is per topic: 0, 1, 2, ... with no
    gaps. (A NamedTuple rather than a frozen dataclass: it is built on every append, and a
    frozen dataclass's ``__init__`` costs several times more.)"""

    topic: str
    seq: int
    id: str
    agent_id: str
    content: Any
    meta: Mapping[str, Any] | None
    timestamp: float


# Builds an Insight from a tuple without NamedTuple's Python-level __new__ (half the cost).
_make_insight = tuple.__new__


class WorldEntry(NamedTuple):
    """A world-model key's current state: ``(value, version, agent_id, timestamp)``."""

    value: Any
    version: int
    agent_id: str
    timestamp: float


class NewInsight(NamedTuple):
    """An insight to append (its topic and seq are assigned by the log)."""

    id: str | None
    agent_id: str
    content: Any
    meta: Mapping[str, Any] | None
    timestamp: float


# A deleted key's tombstone keeps its version (so versions never repeat for a key).
DELETED: Any = MISSING


class Storage(Protocol):
    """What the KnowledgeBase needs from a backend."""

    on_insight: Callable[[Insight], None]  # called in seq order per topic
    on_world: Callable[[str, WorldEntry], None]  # called in version order per key

    def log_append(self, topic: str, records: Sequence[NewInsight]) -> list[Insight]: ...
    def log_append_one(
        self, topic: str, agent_id: str, content: Any, meta: Any, timestamp: float
    ) -> Insight: ...
    def log_read(self, topic: str, after: int, limit: int | None) -> list[Insight]: ...
    def log_latest(self, topic: str, n: int) -> list[Insight]: ...
    def log_topics(self) -> list[str]: ...
    def log_count(self) -> int: ...
    def log_tips(self) -> dict[str, int]: ...
    def log_wait(self, tips: Mapping[str, int], timeout: float | None) -> bool: ...
    def log_subscribe(
        self,
        topics: Callable[[str], bool],
        since: Mapping[str, int],
        register: Callable[[list[Insight]], None],
    ) -> None: ...
    def world_get(self, key: str) -> WorldEntry | None: ...
    def world_compute(
        self, key: str, fn: Callable[[WorldEntry | None], WorldEntry | None]
    ) -> WorldEntry | None: ...
    def world_scan(self, prefix: str) -> dict[str, WorldEntry]: ...
    def export(self) -> dict[str, Any]: ...
    def import_state(self, state: Mapping[str, Any]) -> None: ...
    def close(self) -> None: ...  # wake every log_wait (which then returns False)


class TopicLog:
    """One topic's append-only log (with optional retention of the newest ``retain``)."""

    __slots__ = ("entries", "lock", "next_seq")

    def __init__(self, retain: int | None) -> None:
        self.lock = threading.Lock()  # guards both fields; seq is assigned under it
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


def _every_topic(topic: str) -> bool:
    return True


class MemoryStorage:
    """The in-process :class:`Storage` (see the module docstring)."""

    def __init__(self, *, retain_per_topic: int | None = None, stripes: int | None = None) -> None:
        self.retain = retain_per_topic
        self.topics: ShardedDict[str, TopicLog] = ShardedDict(stripes=stripes)
        self.by_id: ShardedDict[str, Insight] = ShardedDict(stripes=stripes)
        self.world: ShardedDict[str, WorldEntry] = ShardedDict(stripes=stripes)
        # Held while a topic is created or a subscriber registers with a backlog: a topic
        # cannot appear between a subscriber's backlog read and its registration.
        self.local = threading.local()  # .logs: this thread's topic -> TopicLog cache
        self.registry_lock = threading.Lock()
        self.appended = threading.Condition(threading.Lock())  # log_wait's wake-up
        self.waiters = 0  # under appended's lock
        self.closed = False
        self.on_insight: Callable[[Insight], None] = lambda insight: None
        self.on_world: Callable[[str, WorldEntry], None] = lambda key, entry: None

    # --- log -------------------------------------------------------------------------------------
    def _log(self, topic: str) -> TopicLog:
        # A per-thread cache first: on free-threaded 3.13 a lookup in a dict shared between
        # threads, of an object another live thread created, is ~100x slower than in a dict
        # the calling thread owns (docs/sharded_dict.md). Logs are never removed, so a cached
        # one stays valid.
        cache: dict[str, TopicLog] | None = getattr(self.local, "logs", None)
        if cache is None:
            cache = self.local.logs = {}
        log = cache.get(topic)
        if log is None:
            log = self.topics.get(topic)
            if log is None:
                with self.registry_lock:
                    log = self.topics.get_or_create(topic, lambda: TopicLog(self.retain))
            cache[topic] = log
        return log

    def log_append(self, topic: str, records: Sequence[NewInsight]) -> list[Insight]:
        """Append ``records`` to ``topic``; a record whose explicit id is stored already
        returns the stored insight instead (and changes nothing, not even creating the
        topic). Records without ids get contiguous seqs."""
        evicted: list[Insight] = []  # by retention: their ids are forgotten at the end
        try:
            return self._append_records(topic, records, evicted)
        finally:
            if evicted:
                self._forget(evicted)

    def _append_records(
        self, topic: str, records: Sequence[NewInsight], evicted: list[Insight]
    ) -> list[Insight]:
        if all(record.id is None for record in records):
            return self._append_locked(self._log(topic), topic, records, evicted)
        out = []
        for record in records:
            if record.id is None:
                out.extend(self._append_locked(self._log(topic), topic, [record], evicted))
                continue
            stored = self.by_id.get(record.id)  # a retry: no lock needed to find it
            if stored is None:
                # get_or_create: the factory runs at most once per id, under the id's stripe.
                def append_one(record: NewInsight = record) -> Insight:
                    # Our own code under the id's stripe lock: the documented lock order
                    # (id stripe, then registry lock, then topic lock) -- no user code here.
                    with package_code():
                        return self._append_locked(self._log(topic), topic, [record], evicted)[0]

                stored = self.by_id.get_or_create(record.id, append_one)
                if self.retain is not None:
                    self._forget_if_dropped(stored)
            out.append(stored)
        return out

    def _forget_if_dropped(self, insight: Insight) -> None:
        """Drop ``insight``'s explicit id from the index if retention dropped it from the
        log (it can be dropped while its id is being stored: an append that evicts it
        runs the eviction's forgetting before the id is in the index)."""
        log = self.topics.get(insight.topic)
        if log is not None and insight.seq < log.next_seq - len(log.entries):
            self.by_id._remove_if_is(insight.id, insight)

    def _forget(self, evicted: Iterable[Insight]) -> None:
        """Drop the explicit ids of insights retention evicted from the index (called after
        the topic lock is released: the id index comes first in the lock order)."""
        for insight in evicted:
            if has_explicit_id(insight):
                self.by_id._remove_if_is(insight.id, insight)

    def log_append_one(
        self, topic: str, agent_id: str, content: Any, meta: Any, timestamp: float
    ) -> Insight:
        """Append one insight without an explicit id (the hot path, kept flat)."""
        log = self._log(topic)
        with log.lock:
            seq = log.next_seq
            insight = _make_insight(
                Insight, (topic, seq, f"{topic}#{seq}", agent_id, content, meta, timestamp)
            )
            entries = log.entries
            evicted = entries[0] if len(entries) == entries.maxlen else None  # retention
            entries.append(insight)
            log.next_seq = seq + 1
            self.on_insight(insight)  # under the lock: subscribers see seq order
        if evicted is not None:
            self._forget((evicted,))
        if self.waiters:
            self._wake_waiters()
        return insight

    def _append_locked(
        self, log: TopicLog, topic: str, records: Sequence[NewInsight], evicted: list[Insight]
    ) -> list[Insight]:
        """Append under the topic lock; what retention drops goes to ``evicted`` (whose ids
        the caller forgets once it holds no lock: it may hold an id stripe here)."""
        out = []
        with log.lock:
            seq = log.next_seq
            entries = log.entries
            for record in records:
                if len(entries) == entries.maxlen:  # retention drops the oldest
                    evicted.append(entries[0])
                insight = _make_insight(
                    Insight,
                    (
                        topic,
                        seq,
                        record.id if record.id is not None else f"{topic}#{seq}",
                        record.agent_id,
                        record.content,
                        record.meta,
                        record.timestamp,
                    ),
                )
                entries.append(insight)
                seq += 1
                out.append(insight)
            log.next_seq = seq
            for insight in out:  # under the lock: subscribers see this topic in seq order
                self.on_insight(insight)
        if self.waiters:
            self._wake_waiters()
        return out

    def _wake_waiters(self) -> None:
        # Called after a racy read of ``waiters`` (appends stay cheap); a waiter that misses
        # this re-checks within its wait slice (see log_wait).
        with self.appended:
            self.appended.notify_all()

    def log_read(self, topic: str, after: int, limit: int | None) -> list[Insight]:
        log = self.topics.get(topic)  # a read never creates a topic
        if log is None:
            return []
        with log.lock:  # a deque cannot be read while another thread appends
            return log.read(after, limit)

    def log_latest(self, topic: str, n: int) -> list[Insight]:
        log = self.topics.get(topic)
        if log is None:
            return []
        with log.lock:
            return log.read(log.next_seq - n - 1, None)

    def log_topics(self) -> list[str]:
        return sorted(self.topics)

    def log_count(self) -> int:
        # Without locks: each len() is exact at its instant; exact overall with no write in flight.
        return sum(len(log.entries) for log in self.topics.values())

    def log_tips(self) -> dict[str, int]:
        """topic -> the last seq stored (topics with entries)."""
        return {topic: log.next_seq - 1 for topic, log in self.topics.items() if log.next_seq}

    def log_wait(self, tips: Mapping[str, int], timeout: float | None) -> bool:
        """Wait until some topic's last seq differs from ``tips`` (or a topic appeared);
        True if so, False on timeout."""

        def changed() -> bool:
            return self.log_tips() != dict(tips)

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

    def log_subscribe(
        self,
        topics: Callable[[str], bool],
        since: Mapping[str, int],
        register: Callable[[list[Insight]], None],
    ) -> None:
        """Read every matching insight after ``since`` and call ``register(backlog)``, as one
        step with respect to appends: each append lands in the backlog or reaches the
        subscriber live, never both, never neither."""
        with self.registry_lock, ExitStack() as held:
            chosen = [(name, log) for name, log in sorted(self.topics.items()) if topics(name)]
            for _, log in chosen:  # topic locks in name order (the documented lock order)
                held.enter_context(log.lock)
            backlog = [
                insight for name, log in chosen for insight in log.read(since.get(name, -1), None)
            ]
            register(backlog)

    # --- world -----------------------------------------------------------------------------------
    def world_get(self, key: str) -> WorldEntry | None:
        entry = self.world.get(key)
        return None if entry is None or entry.value is DELETED else entry

    def world_compute(
        self, key: str, fn: Callable[[WorldEntry | None], WorldEntry | None]
    ) -> WorldEntry | None:
        """Replace the key's entry with ``fn(current)`` under its stripe lock (``None`` from
        ``fn``: no change). ``fn`` sees ``None`` for an absent key; a tombstone is passed
        as is, so a write after a delete continues the version count."""

        def step(current: Any) -> Any:
            # Our own code under the stripe lock (it publishes into subscriber queues): the
            # guard is lifted, and set again around the user's function by ``fn``.
            with package_code():
                new = fn(None if current is MISSING else current)
                if new is None:  # no change (DELETE on an absent key stores nothing)
                    return DELETE if current is MISSING else current
                self.on_world(key, new)  # under the stripe lock: version order per key
                return new

        result = self.world.compute(key, step)
        return None if result is MISSING else result

    def world_scan(self, prefix: str) -> dict[str, WorldEntry]:
        return {
            key: entry
            for key, entry in self.world.snapshot().items()
            if key.startswith(prefix) and entry.value is not DELETED
        }

    def close(self) -> None:
        """Wake every :meth:`log_wait` (it returns False from now on, unless changed)."""
        self.closed = True
        with self.appended:
            self.appended.notify_all()

    # --- export / import -------------------------------------------------------------------------
    @contextmanager
    def _everything_locked(self) -> Iterator[None]:
        # The documented order: registry lock, world stripes, topic locks. World stripes
        # come before topic locks because a world update function (user code, holding its
        # stripe) may read a topic, which takes that topic's lock.
        with self.registry_lock, ExitStack() as held:
            held.enter_context(self.world._all_stripes())
            for _, log in sorted(self.topics.items()):
                held.enter_context(log.lock)
            yield

    def export(self) -> dict[str, Any]:
        """A consistent copy of everything: no write is half seen, across topics and keys.

        From user code (a world update or reducer, which holds a world stripe lock): each
        topic and each world shard is copied at its own instant, without taking the
        registry lock or the world's stripe locks (taking them could deadlock)."""
        if in_user_code():
            logs = {}
            for name, log in sorted(self.topics.items()):
                with log.lock:
                    logs[name] = {"next_seq": log.next_seq, "insights": list(log.entries)}
            return {"topics": logs, "world": self.world.snapshot()}
        with self._everything_locked():
            logs = {
                name: {"next_seq": log.next_seq, "insights": list(log.entries)}
                for name, log in self.topics.items()
            }
            world = {key: entry for shard in self.world._shards for key, entry in shard.items()}
        return {"topics": logs, "world": world}

    def import_state(self, state: Mapping[str, Any]) -> None:
        """Load ``export()``-shaped state into this (empty) storage."""
        for name, data in state["topics"].items():
            log = self._log(name)
            with log.lock:
                log.entries.extend(data["insights"])
                log.next_seq = data["next_seq"]
            for insight in data["insights"]:
                if has_explicit_id(insight):
                    self.by_id[insight.id] = insight
        for key, entry in state["world"].items():
            self.world[key] = entry


def has_explicit_id(insight: Insight) -> bool:
    """Whether ``insight``'s id was given by its writer (not its automatic ``topic#seq``)."""
    return insight.id != f"{insight.topic}#{insight.seq}"


def matching(topics: Iterable[str] | None, prefix: str | None) -> Callable[[str], bool]:
    """A topic filter: in ``topics``, or starting with ``prefix``; everything when both
    are None."""
    chosen = None if topics is None else frozenset(topics)
    if chosen is None and prefix is None:
        return _every_topic
    return lambda topic: (
        (chosen is not None and topic in chosen)
        or (prefix is not None and topic.startswith(prefix))
    )
