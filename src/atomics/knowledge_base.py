"""Compatibility alias: the knowledge base now lives in :mod:`atomics.kb` (one concept per
module). The public names (those in ``atomics``, plus ``World``, ``reducers`` and the save
format's constants) are importable from here still."""

from __future__ import annotations

from atomics.kb import (
    ANY,
    Conflict,
    Cursor,
    Insight,
    KnowledgeBase,
    KnowledgeBaseClosed,
    Lag,
    Subscription,
    SubscriptionOverflow,
    World,
    WorldEntry,
    WorldEvent,
    reducers,
)
from atomics.kb.persistence import FORMAT, FORMAT_VERSION
from atomics.kb.subscription import OVERFLOW_POLICIES
from atomics.kb.values import MAX_JSON_DEPTH

__all__ = [
    "ANY",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_JSON_DEPTH",
    "OVERFLOW_POLICIES",
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
