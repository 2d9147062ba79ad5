"""The KnowledgeBase: the public face of the knowledge base (its Guarantees are in the class
docstring), written against the storage protocol (:mod:`atomics.kb.storage`)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from atomics import _guard, _locks, _validate
from atomics._guard import in_user_code as _in_user_code
from atomics._guard import mirror as _mirror
from atomics.contention import ContentionStatistics
from atomics.errors import AtomicsTypeError, AtomicsValueError
from atomics.kb import persistence
from atomics.kb.errors import KnowledgeBaseClosed
from atomics.kb.records import (
    DELETED,
    Cursor,
    Draft,
    Insight,
    WorldChange,
    WorldEntry,
    WorldEvent,
    is_automatic_id,
)
from atomics.kb.storage.base import Storage, collect, paginate
from atomics.kb.storage.memory import MemoryStorage
from atomics.kb.subscription import OVERFLOW_POLICIES, Subscription, _Sink
from atomics.kb.world import World

_GUARD_ON = False  # the re-entry guard's flag: True once any thread ran user code
_mirror(globals(), "_GUARD_ON")  # (a global bound to an immortal bool: see atomics._guard)

__all__ = ["KnowledgeBase"]


def _name(argument: str, value: object) -> str:
    return _validate.name(value, argument)


def _check_explicit_id(insight_id: object) -> str:
    """``insight_id`` as a plain str (a subclass's own ``__eq__``/``__hash__`` would run
    under the id index's lock), or the error naming it."""
    insight_id = _name("insight_id", insight_id)
    if is_automatic_id(insight_id):
        raise AtomicsValueError(
            f"insight_id {insight_id!r} has the form of an automatic id (<topic>#<seq>), "
            "which could name another insight: use ids that do not end in '#<digits>'"
        )
    return insight_id


def _check_meta(meta: object) -> None:
    if meta is not None and not isinstance(meta, Mapping):
        raise AtomicsTypeError(f"meta must be a mapping or None, got {type(meta).__name__}")


def _matching(topics: Iterable[str] | None, prefix: str | None) -> Any:
    """A topic filter: in ``topics``, or starting with ``prefix``; everything when both
    are None."""
    chosen = None if topics is None else frozenset(topics)
    if chosen is None and prefix is None:
        return _every_topic
    return lambda topic: (
        (chosen is not None and topic in chosen)
        or (prefix is not None and topic.startswith(prefix))
    )


def _every_topic(topic: str) -> bool:
    return True


class _Listener:
    """The knowledge base as its storage's change listener (kept off its public API)."""

    __slots__ = ("note", "settle")

    # Changes stored before the first subscription (the first sync(everything=True)) are
    # not needed: a networked backend need not read its feed until then.
    on_demand = True

    def __init__(self, kb: KnowledgeBase) -> None:
        self.note = kb._note  # called under the write's lock, after the store
        self.settle = kb._settle  # a feed thread's batch is noted: deliver, never waiting


class KnowledgeBase:
    """Shared knowledge for agent swarms: insight logs, a versioned world model,
    subscriptions and persistence, written and read by many threads in parallel.

    ``retain_per_topic``: keep the newest N insights per topic (None: all). ``stripes``:
    for the ShardedDicts inside. ``json_values``: store values as JSON copies, refusing
    what JSON cannot hold exactly (a server backend's rule; see :mod:`atomics.kb.storage`).
    ``storage``: a :class:`~atomics.kb.storage.Storage` (default: a new in-process
    :class:`~atomics.kb.storage.MemoryStorage` made with the arguments above).
    ``track_contention``: count lock contention (:meth:`statistics`) in the knowledge base's
    own locks and in the default storage's (a storage given as ``storage`` counts as it was
    made); None: the process default (:mod:`atomics.contention`).

    Guarantees
    ----------
    * **Inside a world update function or reducer** (and any other user function of this
      package): queries complete (``snapshot``/``save`` copy each topic and world shard at
      its own instant when called under a lock); writes, ``subscribe``, ``close`` and the
      blocking calls raise :class:`~atomics.errors.ReentrantCallError` at once
      (``docs/guarantees.md``).
    * **Values**: stored as given (objects are shared, not copied), or, with
      ``KnowledgeBase(json_values=True)``, as JSON copies, a value JSON cannot hold exactly
      being a ``TypeError`` before anything changes -- the rule of a server backend, so agent
      code can be tested in memory with its semantics.
    * **Insights**: ``seq`` is per topic, gap-free and totally ordered, assigned atomically with
      the append (one topic lock). An explicit ``insight_id`` already stored returns the stored
      insight (a retried step never duplicates: the id's check and the append are one atomic
      step of the storage, under the id's stripe lock in memory). Auto ids are
      ``"<topic>#<seq>"``; explicit ids are your namespace, except that form (an explicit id
      ending in ``#<digits>`` is a ``ValueError``: it could name another insight).
      ``entry_count`` is exact whenever no write is in flight. ``retain_per_topic=N`` keeps
      the newest N per topic (seqs go on) and forgets the explicit ids of the insights it
      drops: deduplication holds for the ids still kept; a retry of a dropped id appends again
      (the same before and after save/load).
    * **Queries** read a consistent copy of each topic (under its lock), never create state,
      and return seq order per topic (topics in name order). A cursor (``topic -> last seq
      seen``, see :class:`Cursor`) passed back as ``since`` never skips an entry, with or
      without ``limit``.
    * **World model** (``kb.world``): every write bumps the key's version by exactly 1,
      atomically in the storage; ``put`` is last-writer-wins or compare-and-set
      (``expected_version``, raising :class:`Conflict`); named reducers run exactly once per
      merge, ``update(fn)`` and callable reducers are compare-and-set loops whose ``fn`` runs
      with no lock held and may run more than once; writing to any atomics object from inside
      ``fn`` raises ``ReentrantCallError``. The full rules: the Guarantees of
      :class:`~atomics.kb.world.World`.
    * **Subscriptions** (:meth:`subscribe`): events are delivered by writers' threads into the
      subscriber's own BoundedQueue (no user callback on a writer's thread), in order, after
      the state they announce is readable, with an explicit overflow policy
      (``"drop_oldest"``, ``"block"``, ``"error"``). The full rules, and what a consumer of a
      ``"block"`` subscription must not do: the Guarantees of :class:`Subscription`.
    * **snapshot()** is consistent across all keys and topics (every lock, in one order).
      ``save(path)`` writes versioned JSON to a temporary file, fsyncs and renames it over
      ``path`` atomically: a crash mid-save leaves the previous file intact. Content JSON cannot
      hold (tuples, sets, non-str keys, NaN, objects) fails with ``TypeError`` naming where,
      before anything is written.
    * **close()**: later writes raise :class:`KnowledgeBaseClosed`; a write in flight either
      completes, delivered to every subscriber, before ``close()`` returns, or is refused; reads
      still work; subscribers drain what they have, then end.
    * :meth:`statistics` reports the contention of its locks and, with the in-memory storage,
      the storage's, in the package's uniform shape (:mod:`atomics.contention`), counted only
      with ``track_contention=True`` (zeros, and plain ``threading.Lock`` objects, otherwise).

    >>> kb = KnowledgeBase(); _ = kb.add_insights("a", ["x", "y"], topic="t")
    >>> [(i.seq, i.content) for i in kb.latest("t", 2)], kb.entry_count
    ([(0, 'x'), (1, 'y')], 2)
    """

    def __init__(
        self,
        *,
        retain_per_topic: int | None = None,
        stripes: int | None = None,
        json_values: bool = False,
        storage: Storage | None = None,
        track_contention: bool | None = None,
    ) -> None:
        track = _locks.tracking(track_contention)
        if storage is None:
            storage = MemoryStorage(
                retain_per_topic=retain_per_topic,
                stripes=stripes,
                json_values=json_values,
                track_contention=track,
            )
        elif not isinstance(storage, Storage):
            raise AtomicsTypeError(
                f"storage must implement atomics.kb.storage.Storage, got {type(storage).__name__}"
            )
        elif retain_per_topic is not None or stripes is not None or json_values:
            # the storage has its own (silently ignoring these let save() write a file
            # that load() refused: retention taken from the wrong place)
            raise AtomicsValueError(
                "retain_per_topic, stripes and json_values configure the default storage: "
                "with storage=..., give them to the storage"
            )
        self.retain_per_topic: int | None = storage.retain_per_topic
        self._storage: Storage = storage
        self._subscriptions: tuple[_Sink, ...] = ()  # copy on write, read without lock
        self._subscriptions_lock = _locks.lock(track)
        # per writer thread, between its write and its _deliver: the "block"
        # subscriptions its write fed (.fed)
        self._written = threading.local()
        self._closed = False
        self._track_contention = track  # World's lock follows it
        self.world = World(self)
        storage.watch(_Listener(self))  # note() under the write's lock; then we deliver

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        namespace: str,
        retain_per_topic: int | None = None,
        connect_timeout: float = 5.0,
        retry_timeout: float = 10.0,
    ) -> KnowledgeBase:
        """A KnowledgeBase stored on the Redis server at ``url`` under ``namespace``,
        shared with every process and machine that connects to the same one (the same
        agent code runs on either backend; see "Scaling out" in docs/knowledge_base.md).
        Needs the ``redis`` client: ``pip install 'ft-atomics[redis]'`` (an ``ImportError``
        saying so otherwise). A server that cannot be reached within ``connect_timeout``
        seconds (or, mid-run, ``retry_timeout``) is a
        :class:`~atomics.kb.storage.redis_storage.StorageUnavailable` naming the URL,
        never its password. ``retain_per_topic`` is the namespace's (fixed by its first
        client). Values are JSON, as with ``json_values=True``.

        ``KnowledgeBase.connect("redis://localhost:6379/0", namespace="swarm-1")``
        """
        from atomics.kb.storage.redis_storage import RedisStorage

        storage = RedisStorage(
            url,
            namespace=namespace,
            retain_per_topic=retain_per_topic,
            connect_timeout=connect_timeout,
            retry_timeout=retry_timeout,
        )
        return cls(storage=storage)

    # --- the change feed (the storage reports to _Listener(self)) --------------------------------
    def _note(self, change: Insight | WorldChange) -> None:
        """Record ``change`` for the subscriptions that want it (called under the write's
        lock, after the store: only records)."""
        if self._subscriptions:
            if type(change) is WorldChange:
                self._publish_world(change.key, change.entry)
            else:
                self._publish_insight(change)  # type: ignore[arg-type]

    def _after_write(self) -> None:
        if self._subscriptions:
            self._deliver()

    # --- insights ------------------------------------------------------------------------------
    def _check_writable(self, agent_id: str) -> str:
        """``agent_id`` as a plain str (what is stored: no subclass's methods run later,
        under a lock), or the error naming it; the knowledge base open, this thread not in
        user code."""
        agent_id = _name("agent_id", agent_id)
        if self._closed:
            raise KnowledgeBaseClosed("this KnowledgeBase is closed")
        _guard.check_write("a KnowledgeBase write")
        return agent_id

    def add_insight(
        self,
        agent_id: str,
        content: Any,
        *,
        topic: str = "general",
        meta: Mapping[str, Any] | None = None,
        insight_id: str | None = None,
    ) -> Insight:
        """Append one insight to ``topic``; return it (or the stored one, if ``insight_id``
        was stored before -- whatever its topic).

        >>> kb = KnowledgeBase(); kb.add_insight("a", "hi", insight_id="step-1").seq
        0
        >>> kb.add_insight("a", "hi", insight_id="step-1").seq, kb.entry_count
        (0, 1)
        """
        if (
            self._closed
            or type(agent_id) is not str
            or not agent_id
            or type(topic) is not str
            or not topic
            or (
                insight_id is not None
                and (type(insight_id) is not str or not insight_id or "#" in insight_id)
            )
            or (meta is not None and not isinstance(meta, Mapping))
            # (the guard turns on for good the first time any thread runs user code: only
            # this thread being in user code is something to refuse)
            or (_GUARD_ON and _in_user_code())
        ):  # something to refuse: the precise checks below raise the right error
            agent_id = self._check_writable(agent_id)
            topic = _name("topic", topic)
            if insight_id is not None:
                insight_id = _check_explicit_id(insight_id)
            _check_meta(meta)
        try:
            return self._storage.append_one(topic, agent_id, content, meta, time.time(), insight_id)
        finally:
            if self._subscriptions:
                self._deliver()

    def add_insights(
        self,
        agent_id: str,
        contents: Iterable[Any],
        *,
        topic: str = "general",
        meta: Mapping[str, Any] | None = None,
    ) -> list[Insight]:
        """Append several insights to ``topic`` with contiguous seqs (one lock hold)."""
        agent_id = self._check_writable(agent_id)
        topic = _name("topic", topic)
        _check_meta(meta)
        now = time.time()
        if isinstance(contents, (str, bytes)) or not isinstance(contents, Iterable):
            raise AtomicsTypeError(
                f"contents must be an iterable of insights (a list), got {type(contents).__name__}"
            )
        drafts = [Draft(None, agent_id, content, meta, now) for content in contents]
        try:
            return self._storage.append(topic, drafts) if drafts else []
        finally:
            if self._subscriptions:
                self._deliver()

    @property
    def entry_count(self) -> int:
        """Insights stored (retained); exact whenever no write is in flight."""
        return self._storage.count()

    # --- queries -------------------------------------------------------------------------------
    def insights(
        self,
        topic: str | None = None,
        *,
        prefix: str | None = None,
        agent_id: str | None = None,
        since: Mapping[str, int] | int | None = None,
        limit: int | None = None,
    ) -> list[Insight]:
        """Insights in seq order per topic (topics by name): of ``topic``, or of topics
        starting with ``prefix``, or all; by ``agent_id`` if given; after ``since`` (a
        cursor, or with one ``topic`` a seq); at most ``limit``. Never creates state."""
        if topic is not None:
            topic = _name("topic", topic)
        if prefix is not None and not isinstance(prefix, str):
            raise AtomicsTypeError(f"prefix must be a str or None, got {type(prefix).__name__}")
        if agent_id is not None:
            _name("agent_id", agent_id)
        if limit is not None:
            _validate.count(limit, "limit", 0)
        if isinstance(since, int) and not isinstance(since, bool):
            if topic is None:
                raise AtomicsTypeError("since: a seq (int) needs one topic; use a cursor mapping")
            cursor: Mapping[str, int] = {topic: since}
        elif since is None or isinstance(since, Mapping):
            cursor = _validate.cursor(since or {})
        else:
            raise AtomicsTypeError("since must be a cursor mapping, an int seq or None")
        names = [topic] if topic is not None else self.topics(prefix or "")
        out: list[Insight] = []
        for name in names:
            room = None if limit is None or agent_id is not None else limit - len(out)
            batch = self._storage.read(name, cursor.get(name, -1), room)
            if agent_id is not None:
                batch = [insight for insight in batch if insight.agent_id == agent_id]
            out.extend(batch)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def latest(self, topic: str, n: int = 1) -> list[Insight]:
        """The newest ``n`` insights of ``topic``, oldest first."""
        _name("topic", topic)
        _validate.count(n, "n", 0)
        return self._storage.latest(topic, n) if n else []

    def topics(self, prefix: str = "") -> list[str]:
        """Topic names (with at least one insight ever), sorted."""
        if not isinstance(prefix, str):
            raise AtomicsTypeError("prefix must be a str")
        return [name for name in self._storage.topics() if name.startswith(prefix)]

    def cursor(self) -> Cursor:
        """A cursor at the current end of every topic (read from here on: only new ones)."""
        return Cursor(self._storage.tips())

    def wait_for_insights(self, since: Mapping[str, int], timeout: float | None = None) -> bool:
        """Block until some topic has an insight after ``since``; False on timeout.
        :class:`KnowledgeBaseClosed` if the knowledge base is closed (or gets closed while
        waiting) with nothing new: nothing more can arrive.

        ``timeout``: seconds; ``None`` or ``math.inf`` waits as long as needed; NaN or
        negative is a ``ValueError``, a non-number a ``TypeError`` (before any wait)."""
        _guard.check_write("KnowledgeBase.wait_for_insights() (it blocks)")
        since = _validate.cursor(since)
        _validate.deadline(timeout)
        deadline = _validate.deadline(timeout)
        while True:
            tips = self._storage.tips()
            if any(seq > since.get(name, -1) for name, seq in tips.items()):
                return True
            if self._closed:
                raise KnowledgeBaseClosed("this KnowledgeBase is closed: nothing more can arrive")
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            # The storage wakes on any change of the tips: one that is not after ``since``
            # (a cursor ahead of the log) means waiting again, for what is left of timeout.
            if not self._storage.wait(tips, remaining):
                if self._closed:  # close() woke this wait
                    raise KnowledgeBaseClosed("this KnowledgeBase was closed while waiting")
                return False

    # --- subscriptions -------------------------------------------------------------------------
    def subscribe(
        self,
        *,
        topics: Iterable[str] | None = None,
        prefix: str | None = None,
        world_keys: Iterable[str] | bool | None = None,
        since: Mapping[str, int] | None = None,
        maxsize: int = 1024,
        overflow: str = "drop_oldest",
        block_timeout: float | None = None,
        exclude_agent: str | None = None,
    ) -> Subscription:
        """A stream of new insights (of ``topics`` / topics starting with ``prefix``; all
        topics if neither is given and ``world_keys`` is not either) and world changes (of
        ``world_keys``; ``True``: every key). With ``since``, the insights after that cursor
        first, then live ones: each exactly once. ``overflow``: see "Subscriptions" in the
        class's Guarantees; ``exclude_agent`` skips that agent's own events."""
        _guard.check_write("KnowledgeBase.subscribe()")
        if self._closed:
            raise KnowledgeBaseClosed("this KnowledgeBase is closed")
        _validate.deadline(block_timeout, "block_timeout")  # before anything is registered
        if overflow not in OVERFLOW_POLICIES:
            raise AtomicsValueError(
                f"overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}"
            )
        _validate.count(maxsize, "maxsize")
        if since is not None:
            since = _validate.cursor(since)
        if exclude_agent is not None:  # a plain str: compared with each agent_id under a lock
            exclude_agent = _name("exclude_agent", exclude_agent)
        if prefix is not None and not isinstance(prefix, str):
            raise AtomicsTypeError("prefix must be a str or None")
        topic_list = None if topics is None else _validate.names(topics, "topics")
        if world_keys is True:
            keys: frozenset[str] | None = frozenset()  # empty set: every key
        elif world_keys is None or world_keys is False:
            keys = None
        else:
            keys = frozenset(_validate.names(world_keys, "world_keys"))
            if not keys:
                raise AtomicsValueError("world_keys must not be empty (use True for every key)")
        wants_insights = topic_list is not None or prefix is not None or keys is None
        topic_filter = _matching(topic_list, prefix) if wants_insights else None
        sink = _Sink(
            topic_filter=topic_filter,
            world_keys=keys,
            maxsize=maxsize,
            overflow=overflow,
            block_timeout=block_timeout,
            exclude_agent=exclude_agent,
        )
        sub = Subscription(self, sink)

        # A networked backend: its feed has reported what was stored before this call (so
        # that is not "new" to this subscription), and reports what comes after.
        self._storage.sync(everything=True)
        if since is None or topic_filter is None:
            self._register(sink)
            return sub
        # With ``since``: registered first, then the backlog is read -- holding the sink's
        # delivering lock, so that no live event is queued before the backlog is in place.
        # An insight stored after the registration and before its topic was read is both in
        # the backlog and noted live: deliveries skip it (seq <= skip_through[topic]).
        with sink.delivering:
            skip = dict(since)  # what the cursor covers is never delivered ...
            sink.skip_through = skip
            self._register(sink)
            for name in self._storage.topics():
                if topic_filter(name):
                    backlog = self._storage.read(name, since.get(name, -1), None)
                    if backlog:  # ... nor what the backlog holds
                        skip[name] = backlog[-1].seq
                        sink.replay.extend(i for i in backlog if i.agent_id != exclude_agent)
        sink.drain(wait=False)  # live events noted meanwhile (their writers left them to us)
        return sub

    def _register(self, sink: _Sink) -> None:
        with self._subscriptions_lock:
            if self._closed:  # (checked here: close() empties the list under this lock)
                raise KnowledgeBaseClosed("this KnowledgeBase is closed")
            self._subscriptions = (*self._subscriptions, sink)

    def _unsubscribe(self, sink: _Sink) -> None:
        with self._subscriptions_lock:  # a leaf lock: taken last, under any other
            self._subscriptions = tuple(s for s in self._subscriptions if s is not sink)

    def _settle(self) -> None:
        """A feed thread's delivery (networked backends): every subscription's pending events
        to its queue, without waiting -- a full "block" subscription keeps them in its outbox
        for its reader, who moves them as it makes room -- so one slow subscriber never holds
        up the feed (its writers are in other processes: nobody here to hold up)."""
        self._written.__dict__.pop("fed", None)
        for sink in self._subscriptions:
            if sink.outbox:
                sink.drain(wait=False)

    def _deliver(self) -> None:
        """Called by each writer once its write is stored and it holds no lock: moves every
        subscription's pending events to its queue without waiting, then waits (holding no
        lock) only for the "block" subscriptions its own write fed -- so a full one holds up
        only its own writers, and a consumer that writes elsewhere never waits for its own
        queue."""
        self._storage.sync()  # a networked backend: until its feed has reported our write
        fed: list[_Sink] | None = self._written.__dict__.pop("fed", None)
        sinks = self._subscriptions
        for sink in sinks:
            if sink.outbox:
                sink.drain(wait=False)
        if fed:
            for sink in fed:
                if sink.overflow == "block" and sink.outbox:
                    sink.drain(wait=True)

    def _fed(self, sink: _Sink) -> None:
        fed = self._written.__dict__.setdefault("fed", [])
        if sink not in fed:
            fed.append(sink)

    def _prune(self) -> None:
        """Unregister abandoned sinks (their Subscription was collected without close())."""
        with self._subscriptions_lock:
            self._subscriptions = tuple(s for s in self._subscriptions if not s.abandoned)

    def _publish_insight(self, insight: Insight) -> None:
        abandoned = False
        for sink in self._subscriptions:  # a tuple: read without a lock (usually empty)
            if sink.abandoned:
                abandoned = True
            elif sink.wants_insight(insight):
                sink.outbox.append(insight)  # delivered by _deliver, after the lock
                if sink.overflow == "block":
                    self._fed(sink)
        if abandoned:
            self._prune()

    def _publish_world(self, key: str, entry: WorldEntry) -> None:
        sinks = self._subscriptions
        if not sinks:
            return
        event = WorldEvent(
            key, entry.version, entry.agent_id, None if entry.value is DELETED else entry
        )
        abandoned = False
        for sink in sinks:
            if sink.abandoned:
                abandoned = True
            elif sink.wants_world(key, entry.agent_id):
                sink.outbox.append(event)  # delivered by _deliver, after the lock
                if sink.overflow == "block":
                    self._fed(sink)
        if abandoned:
            self._prune()

    # --- snapshot, persistence, close ----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A consistent copy: ``{"topics": {name: [Insight, ...]}, "world": {key: WorldEntry}}``."""
        topics, world = collect(self._storage.export())
        return {
            "topics": {name: list(state.insights) for name, state in topics.items()},
            "world": {key: entry for key, entry in world.items() if entry.value is not DELETED},
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write everything to ``path`` as versioned JSON (format version 1), atomically
        (temporary file, fsync, rename): a crash mid-save leaves the previous file intact.
        Content JSON cannot hold is a ``TypeError`` naming the insight or key, before
        anything is written."""
        topics, world = collect(self._storage.export())
        document = persistence.document(topics, world, self.retain_per_topic)
        # validated above: cannot fail on content
        persistence.write_atomically(path, json.dumps(document, allow_nan=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KnowledgeBase:
        """A KnowledgeBase from a file written by :meth:`save`; ``ValueError`` if the file is
        not one, of an unknown format version, or malformed anywhere (the message names the
        first malformed place as a JSON path, e.g. ``$.topics["t"].insights[3][0]``)."""
        retain, topics, world = persistence.read(path)
        kb = cls(retain_per_topic=retain)
        with _guard.package_code():  # a new KnowledgeBase no other thread can see yet
            kb._storage.import_state(paginate(topics, world, 1024))
        return kb

    def statistics(self) -> ContentionStatistics:
        """The contention counters of the knowledge base's locks (``"subscriptions"``,
        ``"reducers"``) and, with the in-memory storage, of the storage's (see
        :meth:`MemoryStorage.statistics <atomics.kb.storage.MemoryStorage.statistics>`: world
        and id stripes, one lock per topic...), in the package's uniform shape
        (:mod:`atomics.contention`), counted with ``track_contention=True`` (``"tracking":
        False`` and zeros otherwise). A subscription's queue is not included (its events are
        delivered outside these locks). Thread-safe and lock-free (it never blocks); while
        other threads write, each figure is one that held during the call.

        >>> kb = KnowledgeBase(track_contention=True)
        >>> _ = kb.add_insight("a", "hello", topic="news")
        >>> s = kb.statistics(); s["tracking"], s["contended"]
        (True, 0)
        >>> [r["acquisitions"] for r in s["locks"] if r["name"] == "topic 'news'"]
        [1]
        """
        named: list[tuple[str, object]] = [
            ("subscriptions", self._subscriptions_lock),
            ("reducers", self.world._reducer_lock),
        ]
        counted = _locks.contention(self._track_contention, named)
        storage_statistics = getattr(self._storage, "statistics", None)  # MemoryStorage's
        if storage_statistics is not None:
            stored: ContentionStatistics = storage_statistics()
            counted["tracking"] = counted["tracking"] or stored["tracking"]
            counted["locks"] += stored["locks"]
            counted["acquisitions"] += stored["acquisitions"]
            counted["contended"] += stored["contended"]
            counted["wait_seconds"] += stored["wait_seconds"]
        return counted

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Refuse writes from now on; every subscription drains, then ends; every thread in
        :meth:`wait_for_insights` wakes (with :class:`KnowledgeBaseClosed`). Idempotent."""
        _guard.check_write("KnowledgeBase.close()")
        self._closed = True
        try:
            self._storage.close()  # wakes every wait_for_insights()
        finally:  # (even if the storage's close failed: no subscriber is left waiting)
            with self._subscriptions_lock:
                subs, self._subscriptions = self._subscriptions, ()
            for sink in subs:
                sink.end()  # delivers what was announced before close(), then ends

    def __enter__(self) -> KnowledgeBase:
        """``with KnowledgeBase() as kb:``: returns the knowledge base itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Ends the with-block with :meth:`close`."""
        self.close()
