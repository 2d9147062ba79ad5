"""The storage protocol: what the KnowledgeBase needs from a backend.

The contract every backend keeps is in the docstring of :class:`Storage`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeAlias, runtime_checkable

from atomics.errors import AtomicsTypeError, AtomicsValueError
from atomics.kb.records import Draft, Insight, WorldChange, WorldEntry

__all__ = [
    "ChangeListener",
    "ExportRecord",
    "Storage",
    "TopicHeader",
    "TopicState",
    "WorldRecord",
    "collect",
    "paginate",
]

NAMED_REDUCERS = ("append", "union", "max", "min", "sum")


class TopicState(NamedTuple):
    """One topic in an export: the next seq it will assign and the insights it keeps."""

    next_seq: int
    insights: list[Insight]


class TopicHeader(NamedTuple):
    """An export record: a topic and the next seq it will assign; its insights follow."""

    topic: str
    next_seq: int


class WorldRecord(NamedTuple):
    """An export record: a world key and its entry (a tombstone for a deleted key)."""

    key: str
    entry: WorldEntry


ExportRecord: TypeAlias = TopicHeader | Insight | WorldRecord


def paginate(
    topics: Mapping[str, TopicState], world: Mapping[str, WorldEntry], page_size: int
) -> Iterator[list[ExportRecord]]:
    """The export pages of a state: topics sorted by name, each a :class:`TopicHeader` and
    its insights in seq order, then the world sorted by key; at most ``page_size`` records
    a page, no page empty (a state with nothing in it is no page)."""
    page: list[ExportRecord] = []
    for name in sorted(topics):
        state = topics[name]
        page.append(TopicHeader(name, state.next_seq))
        for insight in state.insights:
            if len(page) >= page_size:
                yield page
                page = []
            page.append(insight)
        if len(page) >= page_size:
            yield page
            page = []
    for key in sorted(world):
        page.append(WorldRecord(key, world[key]))
        if len(page) >= page_size:
            yield page
            page = []
    if page:
        yield page


def _bad(message: str) -> AtomicsValueError:
    return AtomicsValueError(f"export records: {message}")


def _is_int(value: object) -> bool:
    return type(value) is int


def _check_ends(name: str | None, topics: Mapping[str, TopicState]) -> None:
    """A topic's insights, if any, end at its next seq - 1 (retention keeps the newest)."""
    if name is not None:
        state = topics[name]
        if state.insights and state.insights[-1].seq != state.next_seq - 1:
            raise _bad(
                f"topic {name!r}: its last insight has seq {state.insights[-1].seq}, "
                f"its next seq is {state.next_seq}"
            )


def collect(
    pages: Iterable[Iterable[ExportRecord]],
) -> tuple[dict[str, TopicState], dict[str, WorldEntry]]:
    """The state that export pages describe. ``ValueError`` for records out of order or
    that no storage could hold: an insight before any header or of another topic, seqs not
    consecutive or not ending at the topic's next seq - 1, a topic, key or explicit id
    twice, a header after the world began, a malformed header, insight or world entry
    (``TypeError`` for what is not a record at all)."""
    topics: dict[str, TopicState] = {}
    world: dict[str, WorldEntry] = {}
    ids: set[str] = set()
    current: str | None = None
    for page in pages:
        for record in page:
            if isinstance(record, TopicHeader):
                _check_ends(current, topics)
                name, next_seq = record
                if type(name) is not str or not name:
                    raise _bad(f"a topic name must be a non-empty str, got {name!r}")
                if not _is_int(next_seq) or next_seq < 0:
                    raise _bad(f"topic {name!r}: next_seq must be an int >= 0, got {next_seq!r}")
                if world or name in topics:
                    raise _bad(f"out of order at topic {name!r}")
                topics[name] = TopicState(next_seq, [])
                current = name
            elif isinstance(record, Insight):
                if current is None or world or record.topic != current:
                    raise _bad(f"out of order at insight {record.id!r}")
                state = topics[current]
                seq = record.seq
                if not _is_int(seq) or not 0 <= seq < state.next_seq:
                    raise _bad(
                        f"insight {record.id!r}: seq {seq!r} not an int in "
                        f"[0, {state.next_seq}) (the topic's next seq)"
                    )
                if state.insights and seq != state.insights[-1].seq + 1:
                    raise _bad(
                        f"insight {record.id!r}: seq {seq} does not follow {state.insights[-1].seq}"
                    )
                if type(record.id) is not str or not record.id or record.id in ids:
                    raise _bad(f"insight id {record.id!r}: empty, not a str, or twice")
                if type(record.agent_id) is not str:
                    raise _bad(f"insight {record.id!r}: agent_id must be a str")
                if not isinstance(record.timestamp, (int, float)):
                    raise _bad(f"insight {record.id!r}: timestamp must be a number")
                if record.meta is not None and not isinstance(record.meta, Mapping):
                    raise _bad(f"insight {record.id!r}: meta must be a mapping or None")
                ids.add(record.id)
                state.insights.append(record)
            elif isinstance(record, WorldRecord):
                _check_ends(current, topics)
                current = None
                key, entry = record
                if type(key) is not str or not key:
                    raise _bad(f"a world key must be a non-empty str, got {key!r}")
                if key in world:
                    raise _bad(f"out of order: world key {key!r} twice")
                if (
                    not isinstance(entry, WorldEntry)
                    or not _is_int(entry.version)
                    or entry.version < 1
                    or type(entry.agent_id) is not str
                    or not isinstance(entry.timestamp, (int, float))
                ):
                    raise _bad(f"world key {key!r}: not a WorldEntry with a version >= 1")
                world[key] = entry
            else:
                raise AtomicsTypeError(f"not an export record: {record!r}")
    _check_ends(current, topics)
    return topics, world


class ChangeListener(Protocol):
    """Where a storage reports its changes (the knowledge base is one).

    Guarantees
    ----------
    The storage calls ``note`` once per stored change, in seq order per topic and version
    order per key, only once the change is readable. An in-process backend calls it under
    the write's own lock: ``note`` must only record the change (no blocking, no call into
    the storage). A networked backend calls it from a feed thread that holds no lock, then
    ``settle`` after each batch.
    """

    def note(self, change: Insight | WorldChange) -> None:
        """Record ``change`` for delivery. May be called under a storage lock: only record."""

    def settle(self) -> None:
        """Deliver what was noted (called by a feed thread holding no lock)."""

    # Optional: a listener with ``on_demand = True`` needs only the changes stored after
    # the first ``sync(everything=True)`` (a knowledge base before its first subscription),
    # so a networked backend may start reading its feed then.


@runtime_checkable
class Storage(Protocol):
    """What the KnowledgeBase needs from a backend: the contract every backend keeps.

    Guarantees
    ----------
    Conditional primitives only, so that a backend on a server can implement each per-key or
    per-append method as one round trip or one server-side script, and none holds a lock
    across the caller's code:

    * **world**: ``get``; ``put_if`` (compare-and-set: ``expected_version`` is a version, ``None``
      for "must not exist", or ``ANY``; the storage assigns the next version); ``delete_if`` (a
      tombstone keeps the version, so versions never repeat); ``merge`` with a *named* reducer
      (``sum``, ``max``, ``min``, ``union``, ``append``), run by the storage exactly once,
      atomically with the write; ``scan`` (sorted by key, paged with ``after``/``limit``).
    * **log**: ``append`` (gap-free seqs per topic, and explicit ids deduplicated in the same
      atomic step: a draft whose id is stored returns the stored insight and appends nothing);
      ``append_one`` (the same for one insight, with or without an id: the hot path); ``read``,
      ``latest``, ``topics``, ``tips``, ``count``; ``wait`` (block until some topic's tip
      differs from the caller's, or a timeout).
    * **change feed**: every stored change (an :class:`Insight`, a :class:`WorldChange`) is
      reported to the listener given to ``watch``, in seq order per topic and version order per
      key, each exactly once, and only once it is readable through ``read``/``get``. An
      in-process backend reports under the write's own lock (``note`` must only record the
      change: no blocking, no call into the storage) and the writer then delivers; a networked
      backend reports from a feed thread that holds no lock and calls ``settle`` after each
      batch (which delivers without waiting: a full subscription's reader moves its events as it
      makes room, so one slow subscriber never holds up the feed).
    * ``export``/``import_state``: everything as pages of typed records (a
      :class:`TopicHeader` then the topic's insights in seq order, topic by topic; then a
      :class:`WorldRecord` per key, tombstones included), so that a backend on a server can
      stream a large state in bounded round trips; ``close``: refuses every later write
      (``KnowledgeBaseClosed``) and wakes every ``wait``; a write in flight either completes,
      reported to the listener, before ``close`` returns, or is refused.

    **User functions never reach the storage.** ``world.update(fn)`` and callable reducers are
    compare-and-set retry loops in the KnowledgeBase (``get``, run ``fn`` with no lock held,
    ``put_if`` the version read; on :class:`~atomics.kb.errors.Conflict`, again), so ``fn`` may
    run more than once, on every backend alike.

    **Values**: a backend with ``json_values`` true stores values (world values, insight
    content and meta) as JSON: what is read back is an equal copy, and a value JSON cannot
    hold exactly -- a tuple or set, a non-str dict key, NaN or infinity, any other object, a
    cycle -- is a ``TypeError`` naming it, before anything changes (the rule of ``save()``).
    The in-memory backend stores objects as they are unless it is made with
    ``json_values=True`` -- the rule a server backend has, for testing agent code in memory
    with server semantics.
    """

    json_values: bool
    retain_per_topic: int | None  # the newest N insights kept per topic (None: all)

    # --- world -----------------------------------------------------------------------------
    def get(self, key: str) -> WorldEntry | None:
        """The key's entry, or None if absent or deleted."""

    def put_if(
        self, key: str, value: Any, agent_id: str, expected_version: Any, timestamp: float
    ) -> WorldEntry:
        """Store ``value`` as the key's next version if its version is ``expected_version``
        (``None``: absent or deleted; ``ANY``: no check); else raise ``Conflict`` carrying
        the current version."""

    def delete_if(
        self, key: str, agent_id: str, expected_version: Any, timestamp: float
    ) -> WorldEntry | None:
        """Delete the key (its tombstone takes the next version) if its version is
        ``expected_version`` (as for ``put_if``); return the tombstone, or None if the key
        was absent (nothing written)."""

    def merge(
        self, key: str, value: Any, reducer: str, agent_id: str, timestamp: float
    ) -> WorldEntry:
        """Store ``reducers[reducer](current value or MISSING, value)`` as the next version,
        atomically; the reducer runs exactly once. ``reducer`` is one of the named ones."""

    def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, WorldEntry]]:
        """Live keys starting with ``prefix``, sorted, after the key ``after``, at most
        ``limit``. One page (``limit=None``) is a consistent copy on the in-memory backend."""

    # --- log -------------------------------------------------------------------------------
    def append(self, topic: str, drafts: Sequence[Draft]) -> list[Insight]:
        """Append ``drafts`` with the topic's next seqs; a draft whose explicit id is stored
        returns the stored insight (whatever its topic) and appends nothing."""

    def append_one(
        self,
        topic: str,
        agent_id: str,
        content: Any,
        meta: Any,
        timestamp: float,
        insight_id: str | None = None,
    ) -> Insight:
        """Append one insight (the hot path): ``append(topic, [Draft(insight_id, ...)])[0]``
        in one step -- without an id, the automatic one; with an id stored already, the
        stored insight, appending nothing."""

    def read(self, topic: str, after: int, limit: int | None) -> list[Insight]:
        """The topic's insights with seq > ``after``, in seq order, at most ``limit``."""

    def latest(self, topic: str, n: int) -> list[Insight]:
        """The topic's newest ``n`` insights, oldest first."""

    def topics(self) -> list[str]:
        """Every topic with at least one insight ever, sorted."""

    def tips(self) -> dict[str, int]:
        """topic -> the last seq assigned."""

    def count(self) -> int:
        """Insights kept (exact whenever no append is in flight)."""

    def wait(self, tips: Mapping[str, int], timeout: float | None) -> bool:
        """Block until ``tips()`` differs from ``tips``: True; False on timeout or close."""

    # --- change feed, export / import, close -------------------------------------------------
    def watch(self, listener: ChangeListener | None) -> None:
        """Report every change from now on to ``listener`` (None: to nobody); one listener
        at a time (``ValueError`` while another watches)."""

    def sync(self, everything: bool = False) -> None:
        """Return once the listener has been told every change this thread stored (with
        ``everything``: every change stored before the call). An in-process backend
        reports under the write's lock: nothing to wait for."""

    def export(self, page_size: int = 1024) -> Iterator[list[ExportRecord]]:
        """Every topic and every world entry (tombstones included), consistent as one, as
        pages of at most ``page_size`` records (in the order :func:`paginate` gives). The
        state is taken when ``export`` is called, not when the pages are read."""

    def import_state(self, pages: Iterable[Iterable[ExportRecord]]) -> None:
        """Load exported pages into this storage, which must be empty (``ValueError``
        otherwise, or for pages out of order, before anything is stored)."""

    def close(self) -> None:
        """Refuse every later write (``KnowledgeBaseClosed``); a write in flight completes,
        reported to the listener, before this returns, or is refused. Wake every ``wait``
        (which returns False from now on, unless changed)."""
