"""Knowledge-base storage: the protocol (:mod:`atomics.kb.storage.base`) and its
backends, one file each (:mod:`atomics.kb.storage.memory`: the in-process default)."""

from __future__ import annotations

from atomics.kb.storage.base import ChangeListener, Storage, TopicState
from atomics.kb.storage.memory import MemoryStorage

__all__ = ["ChangeListener", "MemoryStorage", "Storage", "TopicState"]
