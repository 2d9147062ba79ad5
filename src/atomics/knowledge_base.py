"""KnowledgeBase: shared knowledge for agent swarms -- insight logs, a versioned world model,
subscriptions and persistence -- that many agent threads write and read in parallel without
serialising on one lock.

Built from the package's primitives (see :mod:`atomics.kb_storage` for the storage layer):
per-topic logs found through a ShardedDict, a ShardedDict world model whose writes are
per-key ``compute`` calls, and one BoundedQueue per subscription.

Guarantees
----------
* **Inside a world update or reducer** (and any other user function under a lock of this
  package): queries complete (``snapshot``/``save`` then copy each topic and world shard at
  its own instant); writes, ``subscribe``, ``close`` and the blocking calls raise
  :class:`~atomics.errors.ReentrantCallError` at once (``docs/guarantees.md``).
* **Insights**: ``seq`` is per topic, gap-free and totally ordered, assigned atomically with
  the append (one topic lock). An explicit ``insight_id`` already stored returns the stored
  insight (a retried step never duplicates; ``get_or_create`` on the id). Auto ids are
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
* **World model**: every write (put, update, merge, delete) bumps the key's version by
  exactly 1, as one ``compute`` under the key's stripe lock. ``put`` is last-writer-wins, or
  compare-and-set with ``expected_version`` (``None``: must not exist) raising
  :class:`Conflict`. ``update`` and reducers are called exactly once per call, under the
  stripe lock; if one raises, nothing changes. Writing to the KnowledgeBase (or any
  other atomics object) from inside them raises ``ReentrantCallError`` (no deadlock); reads
  are allowed.
  Deleted keys keep a tombstone with their version, so versions never repeat (no ABA).
* **Subscriptions**: events are delivered by writers' threads into the subscriber's own
  BoundedQueue -- no user callback ever runs on a writer's thread -- in seq order per topic
  and version order per key, *after* the state they announce is readable (an event is
  noted under the lock of its write and delivered once the writer holds no lock: a
  subscriber that reads or writes the knowledge base for each event never deadlocks with a
  writer). ``overflow="drop_oldest"`` (default): a writer never waits; the oldest event is
  dropped and counted and the reader gets a :class:`Lag` marker next, to catch up from the
  log with its cursor. ``"block"``: writers wait, holding no lock, until the subscriber
  makes room (up to ``block_timeout``, then drop as above); a full subscription holds up
  only its own writers. (So a consumer must not itself write what its own "block"
  subscription receives, as with a ``queue.Queue`` it both fills and drains: it would wait
  for room only it can make. ``exclude_agent`` is the way out.) ``"error"``: the
  subscription ends with :class:`SubscriptionOverflow` once drained; the writer is
  unaffected. With ``since``,
  every matching insight after the cursor is delivered exactly once: the backlog is read
  and the subscription registered as one step with respect to appends. A subscription
  dropped without ``close()`` is unregistered once collected.
* **snapshot()** is consistent across all keys and topics (every lock, in one order).
  ``save(path)`` writes versioned JSON to a temporary file, fsyncs and renames it over
  ``path`` atomically: a crash mid-save leaves the previous file intact. Content JSON cannot
  hold (tuples, sets, non-str keys, NaN, objects) fails with ``TypeError`` naming where,
  before anything is written.
* **close()**: later writes raise :class:`KnowledgeBaseClosed`; reads still work;
  subscribers drain what they have, then end.

>>> kb = KnowledgeBase()
>>> kb.add_insight("agent-1", "water boils at 100C", topic="physics").seq
0
>>> kb.world.merge("facts", "boiling", agent_id="agent-1").value
['boiling']
>>> [i.content for i in kb.insights("physics")]
['water boils at 100C']
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import pathlib
import queue
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from atomics import _guard, _validate
from atomics._sentinel import Sentinel
from atomics.atomic_boolean import AtomicBoolean
from atomics.atomic_integer import AtomicInteger
from atomics.bounded_queue import BoundedQueue, ShutDown
from atomics.errors import AtomicsError, AtomicsTypeError, AtomicsValueError
from atomics.kb_storage import Insight, MemoryStorage, NewInsight, Storage, WorldEntry, matching
from atomics.sharded_dict import MISSING

__all__ = [
    "ANY",
    "Conflict",
    "Cursor",
    "Insight",
    "KnowledgeBase",
    "KnowledgeBaseClosed",
    "Lag",
    "Subscription",
    "SubscriptionOverflow",
    "World",
    "WorldEntry",
    "WorldEvent",
    "reducers",
]

FORMAT = "atomics.KnowledgeBase"
FORMAT_VERSION = 1
OVERFLOW_POLICIES = ("drop_oldest", "block", "error")


ANY: Any = Sentinel("ANY", __name__)  # world.put's default expected_version: no version check


class Conflict(AtomicsError):
    """A compare-and-set found another version. ``current_version`` is ``None`` when the
    key does not exist."""

    def __init__(self, key: str, expected_version: int | None, current_version: int | None):
        super().__init__(
            f"world key {key!r}: expected version {expected_version}, "
            f"current version {current_version}"
        )
        self.key = key
        self.expected_version = expected_version
        self.current_version = current_version


class KnowledgeBaseClosed(AtomicsError, RuntimeError):
    """A write to a KnowledgeBase after ``close()``."""


class SubscriptionOverflow(AtomicsError, RuntimeError):
    """An ``overflow="error"`` subscription fell behind by more than its ``maxsize``."""


@dataclass(frozen=True)
class WorldEvent:
    """A world-model change: ``entry`` is the new state, ``None`` after a delete."""

    key: str
    version: int
    agent_id: str
    entry: WorldEntry | None


@dataclass(frozen=True)
class Lag:
    """Events were dropped (``dropped`` in total so far): catch up from the log."""

    dropped: int


class Cursor(dict[str, int]):
    """``topic -> last seq seen``: pass it as ``since`` to read only what is new.

    >>> kb = KnowledgeBase(); cursor = Cursor()
    >>> _ = kb.add_insight("a", 1, topic="t"); new = kb.insights(since=cursor)
    >>> cursor.advance(new); [i.content for i in kb.insights(since=cursor)]
    []
    """

    def advance(self, insights: Iterable[Insight]) -> None:
        """Move past ``insights`` (only forward)."""
        for insight in insights:
            if insight.seq > self.get(insight.topic, -1):
                self[insight.topic] = insight.seq


# --- reducers --------------------------------------------------------------------------------
def _append(current: Any, value: Any) -> Any:
    return [value] if current is MISSING else [*current, value]


def _union(current: Any, value: Any) -> Any:
    items = value if isinstance(value, (list, set, frozenset, tuple)) else [value]
    merged = set() if current is MISSING else set(current)
    merged.update(items)
    return sorted(merged, key=repr)  # a list, so that JSON can hold it


def _max(current: Any, value: Any) -> Any:
    return value if current is MISSING else max(current, value)


def _min(current: Any, value: Any) -> Any:
    return value if current is MISSING else min(current, value)


def _sum(current: Any, value: Any) -> Any:
    return value if current is MISSING else current + value


reducers: dict[str, Callable[[Any, Any], Any]] = {
    "append": _append,
    "union": _union,
    "max": _max,
    "min": _min,
    "sum": _sum,
}
"""Built-in merge reducers, by name. A reducer is ``fn(current or MISSING, value) -> new``."""


# --- validation ------------------------------------------------------------------------------
def _name(argument: str, value: object) -> str:
    return _validate.name(value, argument)


def _is_automatic_id(insight_id: str) -> bool:
    """Whether ``insight_id`` has the form of an automatic id, ``<topic>#<seq>``."""
    topic, sep, seq = insight_id.rpartition("#")
    return bool(sep and topic and seq.isdigit() and seq.isascii())


def _check_explicit_id(insight_id: object) -> None:
    _name("insight_id", insight_id)
    if _is_automatic_id(insight_id):  # type: ignore[arg-type]
        raise AtomicsValueError(
            f"insight_id {insight_id!r} has the form of an automatic id (<topic>#<seq>), "
            "which could name another insight: use ids that do not end in '#<digits>'"
        )


def _check_meta(meta: object) -> None:
    if meta is not None and not isinstance(meta, Mapping):
        raise AtomicsTypeError(f"meta must be a mapping or None, got {type(meta).__name__}")


# Nesting deeper than this is refused by save() (json's C decoder recurses per level, so much
# deeper documents could not be loaded back within the default recursion limit).
MAX_JSON_DEPTH = 500


def _check_json(value: Any, where: str) -> None:
    """Raise TypeError naming ``where`` (and the path inside it) if JSON cannot hold
    ``value`` exactly: not a JSON type, NaN/infinity, a non-str dict key, an int with more
    digits than ``sys.get_int_max_str_digits()`` allows, a cycle, or nesting deeper than
    ``MAX_JSON_DEPTH``. Iterative: no RecursionError whatever the depth."""
    digits_limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    on_path: set[int] = set()  # containers being walked: a repeat on the path is a cycle
    stack: list[tuple[Any, str, int, bool]] = [(value, where, 0, False)]
    while stack:
        item, at, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(item))
            continue
        if item is None or isinstance(item, (bool, str)):
            continue
        if isinstance(item, int):
            # str(n) raises ValueError past the limit; 3.32 bits per decimal digit
            if digits_limit and item.bit_length() > 3.32 * digits_limit:
                try:
                    str(item)
                except ValueError:
                    raise AtomicsTypeError(
                        f"{at}: an int of more than {digits_limit} digits cannot be stored "
                        "as JSON (sys.set_int_max_str_digits raises the limit)"
                    ) from None
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise AtomicsTypeError(f"{at}: {item!r} cannot be stored as JSON")
            continue
        if isinstance(item, (list, dict)):
            if id(item) in on_path:
                raise AtomicsTypeError(f"{at}: contains itself (a cycle); JSON cannot hold it")
            if depth >= MAX_JSON_DEPTH:
                raise AtomicsTypeError(
                    f"{at}: nested more than {MAX_JSON_DEPTH} levels deep; too deep to store"
                )
            on_path.add(id(item))
            stack.append((item, at, depth, True))
            if isinstance(item, list):
                stack.extend((x, f"{at}[{i}]", depth + 1, False) for i, x in enumerate(item))
            else:
                for key, x in item.items():
                    if not isinstance(key, str):
                        raise AtomicsTypeError(
                            f"{at}: dict key {key!r} is not a str; JSON cannot hold it"
                        )
                    stack.append((x, f"{at}[{key!r}]", depth + 1, False))
            continue
        raise AtomicsTypeError(
            f"{at}: a {type(item).__name__} cannot be stored as JSON "
            "(use lists, dicts with str keys, str, int, float, bool, None)"
        )


# --- loading: every shape checked, every error names its JSON path -------------------------------
def _is_int(value: object) -> bool:
    return type(value) is int


def _is_number(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]


def _parse_document(
    document: Mapping[str, Any], path: str
) -> tuple[int | None, dict[str, Any], dict[str, WorldEntry]]:
    """(retain_per_topic, topics, world) from a version-1 document, or a ValueError naming
    the first malformed place as a JSON path (``$.topics["t"].insights[3][0]``)."""

    def bad(at: str, what: str) -> AtomicsValueError:
        return AtomicsValueError(f"{path}: malformed KnowledgeBase file: {at}: {what}")

    for field in ("retain_per_topic", "topics", "world"):
        if field not in document:
            raise bad("$", f"no {field!r} field")
    retain = document["retain_per_topic"]
    if retain is not None and not (_is_int(retain) and retain >= 1):
        raise bad("$.retain_per_topic", f"must be null or an int >= 1, got {retain!r}")
    if not isinstance(document["topics"], dict):
        raise bad("$.topics", f"must be an object, got {type(document['topics']).__name__}")
    if not isinstance(document["world"], dict):
        raise bad("$.world", f"must be an object, got {type(document['world']).__name__}")
    ids: dict[str, str] = {}  # every insight id -> where it is: ids are unique
    topics: dict[str, Any] = {}
    for name, data in document["topics"].items():
        at = f"$.topics[{json.dumps(name)}]"
        if not name:
            raise bad(at, "a topic name must not be empty")
        if not isinstance(data, dict) or set(data) != {"next_seq", "insights"}:
            raise bad(at, 'must be an object with exactly "next_seq" and "insights"')
        next_seq, rows = data["next_seq"], data["insights"]
        if not (_is_int(next_seq) and next_seq >= 0):
            raise bad(f"{at}.next_seq", f"must be an int >= 0, got {next_seq!r}")
        if not isinstance(rows, list):
            raise bad(f"{at}.insights", "must be an array")
        if len(rows) > next_seq or (retain is not None and len(rows) > retain):
            raise bad(f"{at}.insights", f"{len(rows)} insights, more than next_seq or retained")
        if retain is None and len(rows) != next_seq:
            raise bad(
                f"{at}.insights", f"{len(rows)} insights without retention, next_seq {next_seq}"
            )
        first = next_seq - len(rows)  # the retained insights are the last ones, gap-free
        insights = []
        for index, row in enumerate(rows):
            where = f"{at}.insights[{index}]"
            if not isinstance(row, list) or len(row) != 6:
                raise bad(where, "must be [seq, id, agent_id, content, meta, timestamp]")
            seq, id_, agent, content, meta, stamp = row
            if seq != first + index or not _is_int(seq):
                raise bad(
                    f"{where}[0]",
                    f"seq must be {first + index} (gap-free, ending at "
                    f"next_seq - 1 = {next_seq - 1}), got {seq!r}",
                )
            if not isinstance(id_, str) or not id_:
                raise bad(f"{where}[1]", f"id must be a non-empty str, got {id_!r}")
            if id_ in ids:
                raise bad(f"{where}[1]", f"id {id_!r} also at {ids[id_]}")
            if id_ != f"{name}#{seq}" and _is_automatic_id(id_):
                raise bad(f"{where}[1]", f"explicit id {id_!r} has the automatic form")
            ids[id_] = where
            if not isinstance(agent, str) or not agent:
                raise bad(f"{where}[2]", f"agent_id must be a non-empty str, got {agent!r}")
            if meta is not None and not isinstance(meta, dict):
                raise bad(f"{where}[4]", f"meta must be an object or null, got {meta!r}")
            if not _is_number(stamp):
                raise bad(f"{where}[5]", f"timestamp must be a number, got {stamp!r}")
            for index_, value in ((3, content), (4, meta)):
                try:
                    _check_json(value, f"{where}[{index_}]")  # NaN, Infinity: save refuses them
                except TypeError as error:
                    raise bad(f"{where}[{index_}]", str(error)) from None
            insights.append(Insight(name, seq, id_, agent, content, meta, stamp))
        topics[name] = {"next_seq": next_seq, "insights": insights}
    world: dict[str, WorldEntry] = {}
    fields = {"value", "deleted", "version", "agent_id", "timestamp"}
    for key, data in document["world"].items():
        at = f"$.world[{json.dumps(key)}]"
        if not key:
            raise bad(at, "a key must not be empty")
        if not isinstance(data, dict) or set(data) != fields:
            raise bad(at, f"must be an object with exactly {sorted(fields)}")
        if type(data["deleted"]) is not bool:
            raise bad(f"{at}.deleted", f"must be true or false, got {data['deleted']!r}")
        if data["deleted"] and data["value"] is not None:
            raise bad(f"{at}.value", "must be null for a deleted key")
        if not (_is_int(data["version"]) and data["version"] >= 1):
            raise bad(f"{at}.version", f"must be an int >= 1, got {data['version']!r}")
        if not isinstance(data["agent_id"], str) or not data["agent_id"]:
            raise bad(f"{at}.agent_id", f"must be a non-empty str, got {data['agent_id']!r}")
        if not _is_number(data["timestamp"]):
            raise bad(f"{at}.timestamp", f"must be a number, got {data['timestamp']!r}")
        try:
            _check_json(data["value"], f"{at}.value")
        except TypeError as error:
            raise bad(f"{at}.value", str(error)) from None
        world[key] = WorldEntry(
            MISSING if data["deleted"] else data["value"],
            data["version"],
            data["agent_id"],
            data["timestamp"],
        )
    return retain, topics, world


# --- subscriptions ---------------------------------------------------------------------------
class _Sink:
    """A subscription's delivery end: its queue, filters and counters. The knowledge base
    registers the sink, never the :class:`Subscription` (which the reader holds), so a
    subscription dropped without ``close()`` is collected; its finalizer marks the sink
    abandoned (an attribute store: no lock) and the next writer that meets it unregisters
    it."""

    __slots__ = (
        "__weakref__",
        "abandoned",
        "block_timeout",
        "delivering",
        "dropped",
        "exclude_agent",
        "lagged",
        "outbox",
        "overflow",
        "overflowed",
        "queue",
        "replay",
        "topic_filter",
        "world_keys",
    )

    def __init__(
        self,
        *,
        topic_filter: Callable[[str], bool] | None,
        world_keys: frozenset[str] | None,
        maxsize: int,
        overflow: str,
        block_timeout: float | None,
        exclude_agent: str | None,
    ) -> None:
        self.topic_filter = topic_filter
        self.world_keys = world_keys
        self.queue: BoundedQueue[Any] = BoundedQueue(maxsize)
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.exclude_agent = exclude_agent
        self.dropped = AtomicInteger()
        self.lagged = AtomicBoolean()
        self.overflowed = False
        self.abandoned = False
        # Events are put in the outbox under the lock of the state they announce (so each
        # topic's are in seq order, each key's in version order) and moved to the queue,
        # where the reader sees them, only after that lock is released (so the state is
        # readable first) by whichever writer holds ``delivering`` -- a lock no reader and
        # no storage write ever needs: a full "block" subscription holds up only itself.
        self.outbox: deque[Any] = deque()
        self.delivering = threading.Lock()
        # The backlog of a ``since`` subscription, filled before any live event can be
        # queued and read before the queue: so each topic stays in seq order.
        self.replay: deque[Insight] = deque()

    def wants_insight(self, insight: Insight) -> bool:
        return (
            self.topic_filter is not None
            and insight.agent_id != self.exclude_agent
            and self.topic_filter(insight.topic)
        )

    def wants_world(self, key: str, agent_id: str) -> bool:
        return (
            self.world_keys is not None
            and agent_id != self.exclude_agent
            and (not self.world_keys or key in self.world_keys)
        )

    def drain(self, wait: bool) -> None:
        """Move the outbox to the queue, in order, as far as each head is ready (called with
        no lock held). One thread at a time delivers (``delivering``); a thread that finds it
        taken leaves its events to the deliverer, which re-checks after releasing it. With
        ``wait`` (only for a subscription this writer's own write fed) a "block" subscription
        waits for room, up to ``block_timeout``; without, it stops at a full queue."""
        outbox = self.outbox
        while not self.abandoned:
            try:
                head = outbox[0]
            except IndexError:
                return
            if type(head) is _Unready and not head.ready:
                return  # its writer delivers it once its state is stored
            if not self.delivering.acquire(blocking=False):
                if wait and self.overflow == "block":
                    self._wait_for_room()
                return  # the thread delivering takes our events too (it re-checks)
            try:
                while not self.abandoned:
                    try:
                        event = outbox[0]
                    except IndexError:
                        break
                    if type(event) is _Unready:
                        if not event.ready:
                            break
                        event = event.event
                    if not self.offer(event, wait):
                        return  # full, and not waiting: the next delivery takes it
                    outbox.popleft()
            finally:
                self.delivering.release()
            # an event queued after our last look, before the release: deliver it too

    def drain_now(self) -> None:
        """At close: whatever the outbox holds goes to the queue without waiting (a full
        queue drops it, counted); then nothing more is ever delivered."""
        with self.delivering:
            while self.outbox:
                event = self.outbox.popleft()
                if type(event) is _Unready:
                    event = event.event
                try:
                    self.queue.put_nowait(event)
                except (queue.Full, ShutDown):
                    self.drop()

    def _wait_for_room(self) -> None:
        deadline = _validate.deadline(self.block_timeout)
        while len(self.outbox) > self.queue.maxsize and not self.abandoned:
            if deadline is not None and time.monotonic() >= deadline:
                return
            if self.delivering.acquire(timeout=0.05):  # nobody delivering: we will
                self.delivering.release()
                return

    def offer(self, event: Any, wait: bool) -> bool:
        """Put ``event`` in the queue by the overflow policy; False only for a full "block"
        subscription when not waiting (the event stays in the outbox)."""
        q = self.queue
        try:
            if self.overflow == "block":
                if not wait:
                    try:
                        q.put_nowait(event)
                    except queue.Full:
                        return False
                    return True
                self._offer_blocking(event)
                return True
            while True:
                try:
                    q.put_nowait(event)
                    return True
                except queue.Full:
                    if self.overflow == "error":
                        self.overflowed = True
                        q.shutdown()  # the reader drains, then gets SubscriptionOverflow
                        return True
                    self.lagged.set(True)  # before the drop: a reader that sees what
                    try:  # follows the gap sees the Lag too
                        q.get_nowait()  # drop the oldest, then try again
                        self.dropped.increment_and_get()
                    except queue.Empty:
                        pass
        except ShutDown:
            return True  # closed subscription: nothing to deliver to

    def _offer_blocking(self, event: Any) -> None:
        # In slices, so that a subscription abandoned or closed while full (nobody will
        # make room) stops holding up its writer within one slice; the event is then
        # counted as dropped.
        deadline = _validate.deadline(self.block_timeout)
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if self.abandoned or (remaining is not None and remaining <= 0):
                self.drop()
                return
            try:
                self.queue.put(event, timeout=0.1 if remaining is None else min(remaining, 0.1))
                return
            except queue.Full:
                continue

    def drop(self) -> None:
        self.lagged.set(True)
        self.dropped.increment_and_get()


class _Unready:
    """A world event in an outbox before its write is stored: the writer marks it ready
    once ``compute`` has stored the entry, and deliveries stop at it until then (so no
    reader sees the event before ``world.get`` shows its version)."""

    __slots__ = ("event", "ready")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.ready = False


def _abandon(sink: _Sink) -> None:
    """The finalizer of a Subscription dropped without close(): no lock (it may run inside
    any code of the thread that dropped it, or of the garbage collector's)."""
    sink.abandoned = True


class Subscription:
    """A subscriber's stream of events (:class:`Insight`, :class:`WorldEvent`,
    :class:`Lag`), backed by its own BoundedQueue. Made by :meth:`KnowledgeBase.subscribe`.

    ``get``/``get_many`` raise ``queue.Empty`` on timeout and ``ShutDown`` (or
    :class:`SubscriptionOverflow`) once the subscription has ended and is drained;
    iteration stops there. Use it from the reading thread(s); ``close()`` from any. A
    subscription dropped without ``close()`` is unregistered once collected: writers stop
    paying for it.

    >>> kb = KnowledgeBase(); feed = kb.subscribe(topics=["t"])
    >>> _ = kb.add_insight("a", "hello", topic="t"); feed.get(timeout=1).content
    'hello'
    >>> feed.close(); list(feed)
    []
    """

    def __init__(self, kb: KnowledgeBase, sink: _Sink) -> None:
        self._kb = kb
        self._sink = sink
        self._queue = sink.queue
        # events taken from the queue after a gap was found: returned after the Lag marker
        self._held_back: deque[Any] = deque()
        weakref.finalize(self, _abandon, sink)

    # reader side
    @property
    def dropped(self) -> int:
        """Events dropped so far because this subscriber was full."""
        return self._sink.dropped.get()

    def _lag_marker(self) -> Lag | None:
        lagged = self._sink.lagged
        if lagged.get() and lagged.get_and_set(False):
            return Lag(self._sink.dropped.get())
        return None

    def _ended(self) -> Exception:
        if self._sink.overflowed:
            return SubscriptionOverflow("subscriber fell behind")
        return ShutDown()

    def get(self, timeout: float | None = None) -> Any:
        """The next event, waiting up to ``timeout`` seconds (``None``: as long as needed)."""
        _guard.check_write("Subscription.get()")
        _validate.deadline(timeout)  # the package's timeout rule, even when nothing waits
        marker = self._lag_marker()
        if marker is not None:
            return marker
        for pending in (self._held_back, self._sink.replay):
            if pending:
                try:
                    return pending.popleft()
                except IndexError:  # another reader took the last one
                    pass
        try:
            event = self._queue.get(timeout=timeout)
        except ShutDown:
            raise self._ended() from None
        # A drop marks the gap before it removes an event, so an event taken after a gap
        # sees the mark: the Lag comes first, this event next.
        marker = self._lag_marker()
        if marker is not None:
            self._held_back.append(event)
            return marker
        return event

    def get_many(self, max_items: int, timeout: float | None = None) -> list[Any]:
        """Waits for one event, then takes up to ``max_items`` present (a Lag marker first)."""
        _guard.check_write("Subscription.get_many()")
        _validate.deadline(timeout)
        _validate.count(max_items, "max_items")
        marker = self._lag_marker()
        if marker is not None:
            return [marker]
        for pending in (self._held_back, self._sink.replay):
            if pending:
                batch: list[Any] = []
                try:
                    while len(batch) < max_items:
                        batch.append(pending.popleft())
                except IndexError:
                    pass
                if batch:
                    return batch
        try:
            events = self._queue.get_many(max_items, timeout=timeout)
        except ShutDown:
            raise self._ended() from None
        marker = self._lag_marker()  # as in get(): the Lag before what follows the gap
        if marker is not None:
            self._held_back.extend(events)
            return [marker]
        return events

    def __iter__(self) -> Iterator[Any]:
        """Events until the subscription ends (a SubscriptionOverflow still raises)."""
        while True:
            try:
                yield self.get()
            except ShutDown:
                return

    def close(self) -> None:
        """Stop delivery; the reader drains what is queued, then the stream ends."""
        _guard.check_write("Subscription.close()")
        sink = self._sink
        self._kb._unsubscribe(sink)
        sink.abandoned = True  # a writer blocked delivering to it goes on
        sink.drain_now()  # what was announced before close() is delivered
        self._queue.shutdown()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _require_version(key: str, current: WorldEntry | None, expected_version: Any) -> None:
    """Raise Conflict unless ``expected_version`` is ANY or the key's version (None: absent,
    a tombstone counting as absent). Called under the key's stripe lock."""
    if expected_version is ANY:
        return
    now = None if current is None or current.value is MISSING else current.version
    if now != expected_version:
        raise Conflict(key, expected_version, now)


def _check_expected_version(expected_version: Any) -> None:
    if expected_version is ANY or expected_version is None:
        return
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise AtomicsTypeError(
            f"expected_version must be an int, None or ANY, got {type(expected_version).__name__}"
        )


# --- the world model -------------------------------------------------------------------------
class World:
    """The KnowledgeBase's versioned key-value world model (``kb.world``). Every method is
    atomic per key (one ``compute`` under the key's stripe lock); reads take no lock.

    >>> world = KnowledgeBase().world
    >>> world.put("plan", "draft", agent_id="a").version, world.get("plan").value
    (1, 'draft')
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._storage = kb._storage
        self._reducers: list[tuple[str, Callable[[Any, Any], Any]]] = []
        self._reducer_lock = threading.Lock()  # guards registration (reads copy the list ref)

    def get(self, key: str) -> WorldEntry | None:
        """``(value, version, agent_id, timestamp)``, or None if absent. No lock."""
        return self._storage.world_get(_name("key", key))

    def put(
        self, key: str, value: Any, *, agent_id: str, expected_version: Any = ANY
    ) -> WorldEntry:
        """Store ``value``: last-writer-wins, or compare-and-set if ``expected_version`` is
        given (``None``: the key must not exist), raising :class:`Conflict` otherwise.

        >>> kb = KnowledgeBase(); kb.world.put("k", 1, agent_id="a").version
        1
        >>> kb.world.put("k", 2, agent_id="a", expected_version=1).version
        2
        """
        self._kb._check_writable(agent_id)
        _name("key", key)
        _validate.storable(value, "value")
        _check_expected_version(expected_version)

        def write(current: WorldEntry | None) -> WorldEntry:
            _require_version(key, current, expected_version)
            return self._next(current, value, agent_id)

        return self._compute(key, write)

    def update(self, key: str, fn: Callable[[Any], Any], *, agent_id: str) -> WorldEntry:
        """Store ``fn(current value, or MISSING)``; ``fn`` runs exactly once, under the key's
        stripe lock. If it raises, nothing changes.

        >>> kb = KnowledgeBase(); kb.world.update("n", lambda v: 1 if v is MISSING else v + 1,
        ...                                       agent_id="a").value
        1
        """
        self._kb._check_writable(agent_id)
        _name("key", key)

        def write(current: WorldEntry | None) -> WorldEntry:
            old = MISSING if current is None else current.value
            new = _validate.storable(_guard.run_user(fn, old), "fn()")  # raising: nothing changes
            return self._next(current, new, agent_id)

        return self._compute(key, write)

    def merge(self, key: str, value: Any, *, agent_id: str) -> WorldEntry:
        """Combine ``value`` into the key with the reducer registered for it (first matching
        pattern; default ``"append"``), atomically: concurrent merges lose nothing."""
        self._kb._check_writable(agent_id)
        reducer = self._reducer_for(_name("key", key))
        _validate.storable(value, "value")

        def write(current: WorldEntry | None) -> WorldEntry:
            old = MISSING if current is None else current.value
            new = _validate.storable(_guard.run_user(reducer, old, value), "reducer()")
            return self._next(current, new, agent_id)

        return self._compute(key, write)

    def delete(self, key: str, *, agent_id: str, expected_version: Any = ANY) -> bool:
        """Remove the key (a write: its version goes on from the tombstone); False if absent.
        ``expected_version`` as for :meth:`put`."""
        self._kb._check_writable(agent_id)
        _name("key", key)
        _check_expected_version(expected_version)
        deleted = False

        def write(current: WorldEntry | None) -> WorldEntry | None:
            nonlocal deleted
            _require_version(key, current, expected_version)
            if current is None or current.value is MISSING:  # absent, or a tombstone
                return None
            deleted = True
            return self._next(current, MISSING, agent_id)

        try:
            self._storage.world_compute(key, write)
        finally:
            if self._kb._subscriptions:
                self._kb._deliver()
        return deleted

    def snapshot(self, prefix: str = "") -> dict[str, WorldEntry]:
        """A consistent copy of every (matching) key: every stripe lock at once."""
        return self._storage.world_scan(prefix)

    def register_reducer(self, pattern: str, reducer: str | Callable[[Any, Any], Any]) -> None:
        """Merge keys matching ``pattern`` (``fnmatch``) with ``reducer``: a name from
        :data:`reducers` or ``fn(current or MISSING, value) -> new``. Earlier patterns win."""
        _guard.check_write("World.register_reducer()")
        _name("pattern", pattern)
        if isinstance(reducer, str):
            if reducer not in reducers:
                raise AtomicsValueError(
                    f"reducer: unknown name {reducer!r}; known: {sorted(reducers)}"
                )
            reducer = reducers[reducer]
        elif not callable(reducer):
            raise AtomicsTypeError("reducer must be a name or a callable")
        with self._reducer_lock:
            self._reducers = [*self._reducers, (pattern, reducer)]  # copy on write

    def _reducer_for(self, key: str) -> Callable[[Any, Any], Any]:
        for pattern, reducer in self._reducers:
            if fnmatch.fnmatchcase(key, pattern):
                return reducer
        return _append

    @staticmethod
    def _next(current: WorldEntry | None, value: Any, agent_id: str) -> WorldEntry:
        version = 1 if current is None else current.version + 1
        return WorldEntry(value, version, agent_id, time.time())

    def _compute(
        self, key: str, write: Callable[[WorldEntry | None], WorldEntry | None]
    ) -> WorldEntry:
        try:
            result = self._storage.world_compute(key, write)
        finally:
            if self._kb._subscriptions:
                self._kb._deliver()
        assert result is not None  # only delete may leave a key absent, and it ignores this
        return result


# --- the knowledge base ----------------------------------------------------------------------
class KnowledgeBase:
    """Shared knowledge for agent swarms. See the module's Guarantees.

    ``retain_per_topic``: keep the newest N insights per topic (None: all). ``stripes``:
    for the ShardedDicts inside. ``storage``: a :class:`~atomics.kb_storage.Storage`
    (default: in-process).

    >>> kb = KnowledgeBase(); _ = kb.add_insights("a", ["x", "y"], topic="t")
    >>> [(i.seq, i.content) for i in kb.latest("t", 2)], kb.entry_count
    ([(0, 'x'), (1, 'y')], 2)
    """

    def __init__(
        self,
        *,
        retain_per_topic: int | None = None,
        stripes: int | None = None,
        storage: Storage | None = None,
    ) -> None:
        if retain_per_topic is not None:
            _validate.count(retain_per_topic, "retain_per_topic")
        self.retain_per_topic = retain_per_topic
        self._storage: Storage = storage or MemoryStorage(
            retain_per_topic=retain_per_topic, stripes=stripes
        )
        self._storage.on_insight = self._publish_insight
        self._storage.on_world = self._publish_world
        self._subscriptions: tuple[_Sink, ...] = ()  # copy on write, read without lock
        self._subscriptions_lock = threading.Lock()
        # per writer thread, between its write and its _deliver: its world events not yet
        # stored (.unready) and the "block" subscriptions it fed (.fed)
        self._written = threading.local()
        self._closed = False
        self.world = World(self)

    # --- insights ------------------------------------------------------------------------------
    def _check_writable(self, agent_id: str) -> None:
        _name("agent_id", agent_id)
        if self._closed:
            raise KnowledgeBaseClosed("this KnowledgeBase is closed")
        _guard.check_write("a KnowledgeBase write")

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
            or _guard.ACTIVE[0]
        ):  # something to refuse: the precise checks below raise the right error
            self._check_writable(agent_id)
            _name("topic", topic)
            if insight_id is not None:
                _check_explicit_id(insight_id)
            _check_meta(meta)
        # Interned: one immortal str per topic name on 3.13t, so lookups by other threads'
        # equal strings avoid the cross-thread cost (docs/sharded_dict.md).
        try:
            if insight_id is None:
                return self._storage.log_append_one(
                    sys.intern(topic), agent_id, content, meta, time.time()
                )
            record = NewInsight(insight_id, agent_id, content, meta, time.time())
            return self._storage.log_append(sys.intern(topic), (record,))[0]
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
        self._check_writable(agent_id)
        _name("topic", topic)
        _check_meta(meta)
        now = time.time()
        if isinstance(contents, (str, bytes)) or not isinstance(contents, Iterable):
            raise AtomicsTypeError(
                f"contents must be an iterable of insights (a list), got {type(contents).__name__}"
            )
        records = [NewInsight(None, agent_id, content, meta, now) for content in contents]
        try:
            return self._storage.log_append(topic, records) if records else []
        finally:
            if self._subscriptions:
                self._deliver()

    @property
    def entry_count(self) -> int:
        """Insights stored (retained); exact whenever no write is in flight."""
        return self._storage.log_count()

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
            _name("topic", topic)
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
            batch = self._storage.log_read(name, cursor.get(name, -1), room)
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
        return self._storage.log_latest(topic, n) if n else []

    def topics(self, prefix: str = "") -> list[str]:
        """Topic names (with at least one insight ever), sorted."""
        if not isinstance(prefix, str):
            raise AtomicsTypeError("prefix must be a str")
        return [name for name in self._storage.log_topics() if name.startswith(prefix)]

    def cursor(self) -> Cursor:
        """A cursor at the current end of every topic (read from here on: only new ones)."""
        return Cursor(self._storage.log_tips())

    def wait_for_insights(self, since: Mapping[str, int], timeout: float | None = None) -> bool:
        """Block until some topic has an insight after ``since``; False on timeout.
        :class:`KnowledgeBaseClosed` if the knowledge base is closed (or gets closed while
        waiting) with nothing new: nothing more can arrive.

        ``timeout``: seconds; ``None`` or ``math.inf`` waits as long as needed; NaN or
        negative is a ``ValueError``, a non-number a ``TypeError`` (before any wait)."""
        _guard.check_write("KnowledgeBase.wait_for_insights() (it blocks)")
        since = _validate.cursor(since)
        _validate.deadline(timeout)
        tips = self._storage.log_tips()
        if any(seq > since.get(name, -1) for name, seq in tips.items()):
            return True
        if self._closed:
            raise KnowledgeBaseClosed("this KnowledgeBase is closed: nothing more can arrive")
        if self._storage.log_wait(tips, timeout):
            return True
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
        first, then live ones: each exactly once. See the module's Guarantees for
        ``overflow``; ``exclude_agent`` skips that agent's own events."""
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
        if exclude_agent is not None:
            _name("exclude_agent", exclude_agent)
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
        topic_filter = matching(topic_list, prefix) if wants_insights else None
        sink = _Sink(
            topic_filter=topic_filter,
            world_keys=keys,
            maxsize=maxsize,
            overflow=overflow,
            block_timeout=block_timeout,
            exclude_agent=exclude_agent,
        )
        sub = Subscription(self, sink)

        def register(backlog: list[Insight]) -> None:
            # With ``since``: called with every matching topic locked, so no live event can
            # be queued before the backlog is in place.
            sink.replay.extend(i for i in backlog if i.agent_id != exclude_agent)
            with self._subscriptions_lock:
                self._subscriptions = (*self._subscriptions, sink)

        if since is None or topic_filter is None:
            register([])
        else:
            self._storage.log_subscribe(topic_filter, since, register)
        return sub

    def _unsubscribe(self, sink: _Sink) -> None:
        with self._subscriptions_lock:  # a leaf lock: taken last, under any other
            self._subscriptions = tuple(s for s in self._subscriptions if s is not sink)

    def _deliver(self) -> None:
        """Called by each writer once its write is stored and it holds no lock: marks its
        world events ready, moves every subscription's pending events to its queue without
        waiting, then waits (holding no lock) only for the "block" subscriptions its own
        write fed -- so a full one holds up only its own writers, and a consumer that
        writes elsewhere never waits for its own queue."""
        mine = self._written.__dict__
        unready: list[_Unready] | None = mine.pop("unready", None)
        fed: list[_Sink] | None = mine.pop("fed", None)
        if unready:
            for event in unready:
                event.ready = True
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
            key, entry.version, entry.agent_id, None if entry.value is MISSING else entry
        )
        abandoned = False
        pending: _Unready | None = None
        for sink in sinks:
            if sink.abandoned:
                abandoned = True
            elif sink.wants_world(key, entry.agent_id):
                if pending is None:
                    pending = _Unready(event)
                    self._written.__dict__.setdefault("unready", []).append(pending)
                sink.outbox.append(pending)  # delivered by _deliver, once stored
                if sink.overflow == "block":
                    self._fed(sink)
        if abandoned:
            self._prune()

    # --- snapshot, persistence, close ----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A consistent copy: ``{"topics": {name: [Insight, ...]}, "world": {key: WorldEntry}}``."""
        state = self._storage.export()
        return {
            "topics": {name: list(data["insights"]) for name, data in state["topics"].items()},
            "world": {
                key: entry for key, entry in state["world"].items() if entry.value is not MISSING
            },
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write everything to ``path`` as versioned JSON, atomically (temporary file, fsync,
        rename): a crash mid-save leaves the previous file intact."""
        document = self._document(self._storage.export())
        text = json.dumps(document, allow_nan=False)  # validated above: cannot fail on content
        target = pathlib.Path(path)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
            directory = os.open(target.parent or ".", os.O_DIRECTORY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def _document(self, state: Mapping[str, Any]) -> dict[str, Any]:
        topics = {}
        for name, data in state["topics"].items():
            rows = []
            for insight in data["insights"]:
                where = f"insight {insight.id!r} (topic {name!r}, seq {insight.seq})"
                _check_json(insight.content, f"{where} content")
                _check_json(None if insight.meta is None else dict(insight.meta), f"{where} meta")
                rows.append(
                    [
                        insight.seq,
                        insight.id,
                        insight.agent_id,
                        insight.content,
                        None if insight.meta is None else dict(insight.meta),
                        insight.timestamp,
                    ]
                )
            topics[name] = {"next_seq": data["next_seq"], "insights": rows}
        world = {}
        for key, entry in state["world"].items():
            deleted = entry.value is MISSING
            if not deleted:
                _check_json(entry.value, f"world key {key!r}")
            world[key] = {
                "value": None if deleted else entry.value,
                "deleted": deleted,
                "version": entry.version,
                "agent_id": entry.agent_id,
                "timestamp": entry.timestamp,
            }
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "retain_per_topic": self.retain_per_topic,
            "topics": topics,
            "world": world,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KnowledgeBase:
        """A KnowledgeBase from a file written by :meth:`save`; ``ValueError`` if the file is
        not one, of an unknown format version, or malformed anywhere (the message names the
        first malformed place as a JSON path, e.g. ``$.topics["t"].insights[3][0]``)."""
        try:
            document = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, too deep
            raise AtomicsValueError(f"{path}: not a KnowledgeBase file ({error})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise AtomicsValueError(f"{path}: not a KnowledgeBase file")
        version = document.get("version")
        if type(version) is not int or version != FORMAT_VERSION:
            raise AtomicsValueError(
                f"{path}: format version {document.get('version')!r}, "
                f"this library reads {FORMAT_VERSION}"
            )
        retain, topics, world = _parse_document(document, str(path))
        kb = cls(retain_per_topic=retain)
        with _guard.package_code():  # a new KnowledgeBase no other thread can see yet
            kb._storage.import_state({"topics": topics, "world": world})
        return kb

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Refuse writes from now on; every subscription drains, then ends; every thread in
        :meth:`wait_for_insights` wakes (with :class:`KnowledgeBaseClosed`). Idempotent."""
        _guard.check_write("KnowledgeBase.close()")
        self._closed = True
        self._storage.close()  # wakes every wait_for_insights()
        with self._subscriptions_lock:
            subs, self._subscriptions = self._subscriptions, ()
        for sink in subs:
            sink.abandoned = True  # a writer blocked on it goes on
            sink.drain_now()  # what was announced before close() is delivered
            sink.queue.shutdown()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
