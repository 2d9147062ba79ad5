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
In the docstring of :class:`KnowledgeBase`, where ``help(KnowledgeBase)`` and the API
reference show them; each part's also on its class: :class:`~atomics.kb.world.World`,
:class:`Subscription`, :class:`Cursor`.

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
from atomics.kb.records import ANY, AnyType, Cursor, Insight, Lag, WorldEntry, WorldEvent
from atomics.kb.reducers import reducers
from atomics.kb.subscription import Subscription
from atomics.kb.world import World

__all__ = [
    "ANY",
    "AnyType",
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
