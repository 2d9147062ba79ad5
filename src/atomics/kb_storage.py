"""Compatibility alias: the knowledge base's storage now lives in :mod:`atomics.kb.storage`
(the protocol in ``base``, the in-process backend in ``memory``)."""

from __future__ import annotations

from atomics.kb.records import Draft, Insight, WorldEntry, has_explicit_id
from atomics.kb.storage import ChangeListener, MemoryStorage, Storage, TopicState
from atomics.kb.storage.memory import TopicLog

NewInsight = Draft  # the name before atomics.kb

__all__ = [
    "ChangeListener",
    "Draft",
    "Insight",
    "MemoryStorage",
    "NewInsight",
    "Storage",
    "TopicLog",
    "TopicState",
    "WorldEntry",
    "has_explicit_id",
]
