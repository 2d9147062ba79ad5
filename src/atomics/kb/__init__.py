"""KnowledgeBase: shared knowledge for agent swarms -- insight logs, a versioned world model,
subscriptions and persistence -- that many agent threads write and read in parallel without
serialising on one lock.

One concept per module: :mod:`~atomics.kb.records` (Insight, WorldEntry, events, Cursor),
:mod:`~atomics.kb.errors`, :mod:`~atomics.kb.world` (``kb.world``),
:mod:`~atomics.kb.subscription`, :mod:`~atomics.kb.persistence` (save/load),
:mod:`~atomics.kb.reducers`, and :mod:`atomics.kb.storage`: the storage protocol of
conditional primitives the KnowledgeBase is written against, with its in-process
implementation (:class:`~atomics.kb.storage.MemoryStorage`, built from the package's
primitives: per-topic logs found through a ShardedDict, a striped world model, one
BoundedQueue per subscription). A second backend is one new file there.

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
* **World model**: every write (put, update, merge, delete) bumps the key's version by
  exactly 1, atomically in the storage (one conditional write). ``put`` is
  last-writer-wins, or compare-and-set with ``expected_version`` (``None``: must not exist)
  raising :class:`Conflict` (which carries the current version). A *named* reducer
  (``"sum"``, ``"max"``, ``"min"``, ``"union"``, ``"append"``) runs exactly once per merge,
  inside the storage. ``update(fn)`` and *callable* reducers are compare-and-set loops:
  ``fn`` runs with no lock held, once per attempt -- again when another write to the key
  came first -- so it may run more than once and must have no other effect (nor change
  the value it is given: return a new one); the value stored is ``fn`` of the value it
  replaces. If ``fn`` raises, nothing changes. Writing to
  the KnowledgeBase (or any other atomics object) from inside it raises
  ``ReentrantCallError``; reads are allowed. This rule is the same on every backend.
  Deleted keys keep a tombstone with their version, so versions never repeat (no ABA).
* **Subscriptions**: events are delivered by writers' threads into the subscriber's own
  BoundedQueue -- no user callback ever runs on a writer's thread -- in seq order per topic
  and version order per key, *after* the state they announce is readable (the storage reports
  each change after storing it, under the write's lock, and the event is delivered once the
  writer holds no lock: a subscriber that reads the knowledge base for each event never
  deadlocks with a writer; one that writes, see "block"). ``overflow="drop_oldest"``
  (default): a writer never waits; the oldest event is dropped and counted and the reader gets
  a :class:`Lag` marker next, to catch up from the log with its cursor. ``"block"``: writers
  wait, holding no lock, until the subscriber makes room (up to ``block_timeout``, then drop
  the oldest as above); a full subscription holds up only its own writers. (So a consumer must
  not itself write what its own "block" subscription receives, as with a ``queue.Queue`` it
  both fills and drains: it would wait for room only it can make. ``exclude_agent`` is the way
  out. Consumers of several "block" subscriptions that write what the others receive can wait
  for each other in a cycle: give them a ``block_timeout``.) A :class:`Lag` marker comes where
  the gap is. ``"error"``: the subscription ends with :class:`SubscriptionOverflow` once
  drained; the writer is unaffected. With ``since``, every matching insight after the cursor
  is delivered exactly once: the subscription is registered, then the backlog read, and live
  insights the backlog holds are skipped. A subscription dropped without ``close()`` is
  unregistered once collected.
* **snapshot()** is consistent across all keys and topics (every lock, in one order).
  ``save(path)`` writes versioned JSON to a temporary file, fsyncs and renames it over
  ``path`` atomically: a crash mid-save leaves the previous file intact. Content JSON cannot
  hold (tuples, sets, non-str keys, NaN, objects) fails with ``TypeError`` naming where,
  before anything is written.
* **close()**: later writes raise :class:`KnowledgeBaseClosed`; a write in flight either
  completes, delivered to every subscriber, before ``close()`` returns, or is refused; reads
  still work; subscribers drain what they have, then end.

>>> from atomics import KnowledgeBase
>>> kb = KnowledgeBase()
>>> kb.add_insight("agent-1", "water boils at 100C", topic="physics").seq
0
>>> kb.world.merge("facts", "boiling", agent_id="agent-1").value
['boiling']
>>> [i.content for i in kb.insights("physics")]
['water boils at 100C']
"""

from __future__ import annotations

from atomics.kb.errors import (
    Conflict,
    KnowledgeBaseClosed,
    StorageUnavailable,
    SubscriptionOverflow,
)
from atomics.kb.knowledge_base import KnowledgeBase
from atomics.kb.records import ANY, Cursor, Insight, Lag, WorldEntry, WorldEvent
from atomics.kb.reducers import reducers
from atomics.kb.subscription import Subscription
from atomics.kb.world import World

__all__ = [
    "ANY",
    "Conflict",
    "Cursor",
    "Insight",
    "KnowledgeBase",
    "KnowledgeBaseClosed",
    "Lag",
    "StorageUnavailable",
    "Subscription",
    "SubscriptionOverflow",
    "World",
    "WorldEntry",
    "WorldEvent",
    "reducers",
]
