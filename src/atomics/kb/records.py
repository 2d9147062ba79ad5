"""The knowledge base's records: what it stores, what it announces, and how readers keep
their place. All immutable except :class:`Cursor` (a plain ``dict`` of the reader's)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from atomics._sentinel import Sentinel
from atomics.sharded_dict import MISSING

__all__ = [
    "ANY",
    "DELETED",
    "AnyType",
    "Cursor",
    "Draft",
    "Insight",
    "Lag",
    "WorldChange",
    "WorldEntry",
    "WorldEvent",
    "has_explicit_id",
    "is_automatic_id",
]

if TYPE_CHECKING:
    import enum
    from typing import Final

    # As MISSING's type (atomics.sharded_dict): to a type checker ANY is the one member of its
    # own enum, so ``expected_version: int | AnyType | None`` rejects anything else. At run
    # time it is a Sentinel object (the else branch): use ``is``, not ``isinstance``.
    class AnyType(enum.Enum):
        ANY = "ANY"

    ANY: Final = AnyType.ANY
else:
    AnyType = Sentinel  # annotations only: ``int | AnyType | None``

    ANY = Sentinel("ANY", "atomics.kb.records")  # expected_version: no version check
    """``expected_version=ANY`` (the default of ``world.put``/``delete``): no version check."""


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


class WorldEntry(NamedTuple):
    """A world-model key's current state: ``(value, version, agent_id, timestamp)``."""

    value: Any
    version: int
    agent_id: str
    timestamp: float


# The value of a deleted key's tombstone: the storage keeps its version, so that versions
# never repeat for a key (a compare-and-set cannot mistake a re-created key for the old one).
DELETED: Any = MISSING


class Draft(NamedTuple):
    """An insight to append: the storage assigns its topic's next seq (and, without an
    explicit ``id``, the automatic id ``"<topic>#<seq>"``)."""

    id: str | None
    agent_id: str
    content: Any
    meta: Mapping[str, Any] | None
    timestamp: float


class WorldChange(NamedTuple):
    """One write of the world model, as the storage's change feed reports it: the key and
    its new entry (a tombstone, ``entry.value is DELETED``, after a delete)."""

    key: str
    entry: WorldEntry


@dataclass(frozen=True)
class WorldEvent:
    """A world-model change delivered to a subscriber: ``entry`` is the new state, ``None``
    after a delete."""

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

    Guarantees
    ----------
    * Passed back as ``since`` (to ``insights`` or ``subscribe``), it never skips an entry,
      with or without ``limit``: seqs are gap-free per topic and assigned with the append.
    * :meth:`advance` only moves forward. A cursor is a plain ``dict``, one reader's
      position: share one between threads only under a lock of your own (two concurrent
      ``advance`` calls may leave the lower seq).

    >>> from atomics import KnowledgeBase
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


def is_automatic_id(insight_id: str) -> bool:
    """Whether ``insight_id`` has the form of an automatic id, ``<topic>#<seq>``."""
    topic, sep, seq = insight_id.rpartition("#")
    return bool(sep and topic and seq.isdigit() and seq.isascii())


def has_explicit_id(insight: Insight) -> bool:
    """Whether ``insight``'s id was given by its writer (not its automatic ``topic#seq``)."""
    return insight.id != f"{insight.topic}#{insight.seq}"
