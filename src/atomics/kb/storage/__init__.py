"""Knowledge-base storage: the protocol (:mod:`atomics.kb.storage.base`) and its
backends, one file each (:mod:`atomics.kb.storage.memory`: the in-process default)."""

from __future__ import annotations

from atomics.kb.storage.base import (
    ChangeListener,
    ExportRecord,
    Storage,
    TopicHeader,
    TopicState,
    WorldRecord,
)
from atomics.kb.storage.memory import MemoryStorage

__all__ = [
    "ChangeListener",
    "ExportRecord",
    "MemoryStorage",
    "Storage",
    "TopicHeader",
    "TopicState",
    "WorldRecord",
]
