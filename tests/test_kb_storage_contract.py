"""The knowledge-base storage contract: the storage protocol tested on its own, not through
the KnowledgeBase, once per backend.

A new backend is added by adding one entry to ``BACKENDS`` (a factory of empty storages);
every test here then runs against it unchanged. ``memory-json`` is the in-memory backend
with ``json_values=True``: the values rule a server backend has.

Each concurrency test has a negative control: a broken storage (a subclass of the memory
backend with the defect the test exists for) that the same test catches. The controls force
their interleaving with barriers and events, so they are deterministic on both legs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import _redis
from _threads import run_together
from atomics import ANY, MISSING, Conflict
from atomics.kb.records import DELETED, Draft, Insight, WorldChange, WorldEntry
from atomics.kb.storage import (
    MemoryStorage,
    Storage,
    TopicHeader,
    TopicState,
    WorldRecord,
)
from atomics.kb.storage.base import collect

BACKENDS: dict[str, Callable[..., Storage]] = {
    "memory": MemoryStorage,
    "memory-json": lambda **kw: MemoryStorage(json_values=True, **kw),
    "redis": _redis.storage,
}


@pytest.fixture(params=sorted(BACKENDS))
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Storage]]:
    """A factory of empty storages of one backend (closed at the end of the test)."""
    made: list[Storage] = []

    def factory(**kwargs: Any) -> Storage:
        storage = BACKENDS[request.param](**kwargs)
        made.append(storage)
        return storage

    yield factory
    for storage in made:
        storage.close()


@pytest.fixture
def storage(make: Callable[..., Storage]) -> Storage:
    return make()


ENTRIES = pytest.mark.parametrize("entry", ["append", "append_one"])  # the two ways to append


def draft(content: Any, id_: str | None = None, agent: str = "a") -> Draft:
    return Draft(id_, agent, content, None, 0.0)


class Recorder:
    """A change listener that records what it is told, in order."""

    def __init__(self) -> None:
        self.changes: list[Insight | WorldChange] = []
        self.lock = threading.Lock()  # a leaf lock (notes come from several threads)

    def note(self, change: Insight | WorldChange) -> None:
        with self.lock:
            self.changes.append(change)

    def settle(self) -> None:
        pass


def outcomes(targets: list[Callable[[], Any]]) -> list[Any]:
    """Run ``targets`` together; each one's result, or the exception it raised."""
    results: list[Any] = [None] * len(targets)

    def runner(i: int, target: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                results[i] = target()
            except Exception as error:  # recorded for the assertions
                results[i] = error

        return run

    run_together(*[runner(i, t) for i, t in enumerate(targets)])
    return results


# --- the protocol itself ------------------------------------------------------------------------
def test_memory_storage_implements_the_protocol(storage: Storage) -> None:
    assert isinstance(storage, Storage)


# --- world: conditional writes, versions, tombstones ---------------------------------------------
def test_put_if_assigns_versions_and_checks_them(storage: Storage) -> None:
    assert storage.get("k") is None
    first = storage.put_if("k", 1, "a", None, 1.0)  # None: must not exist
    assert (first.value, first.version, first.agent_id, first.timestamp) == (1, 1, "a", 1.0)
    assert storage.put_if("k", 2, "b", 1, 2.0).version == 2
    assert storage.put_if("k", 3, "b", ANY, 3.0).version == 3  # ANY: no check
    with pytest.raises(Conflict) as caught:
        storage.put_if("k", 4, "b", 1, 4.0)
    assert (caught.value.expected_version, caught.value.current_version) == (1, 3)
    with pytest.raises(Conflict) as caught:
        storage.put_if("k", 4, "b", None, 4.0)
    assert caught.value.current_version == 3
    assert storage.get("k") == WorldEntry(3, 3, "b", 3.0)  # a conflict changes nothing


def test_delete_if_keeps_the_version_so_versions_never_repeat(storage: Storage) -> None:
    assert storage.delete_if("k", "a", ANY, 0.0) is None  # absent: nothing written
    storage.put_if("k", "v", "a", None, 0.0)
    with pytest.raises(Conflict):
        storage.delete_if("k", "a", 7, 0.0)
    tombstone = storage.delete_if("k", "b", 1, 5.0)
    assert tombstone is not None and tombstone.version == 2 and tombstone.value is DELETED
    assert storage.get("k") is None and storage.scan() == []
    assert storage.delete_if("k", "b", ANY, 0.0) is None  # deleted: absent
    with pytest.raises(Conflict) as caught:
        storage.put_if("k", "w", "a", 2, 0.0)  # a deleted key has no version to match
    assert caught.value.current_version is None
    assert storage.put_if("k", "w", "a", None, 0.0).version == 3  # goes on from the tombstone


@pytest.mark.parametrize(
    ("reducer", "values", "result"),
    [
        ("sum", [1, 2, 3], 6),
        ("max", [1, 5, 3], 5),
        ("min", [4, 2, 3], 2),
        ("union", [["x"], ["y", "x"], "z"], ["x", "y", "z"]),
        ("append", [1, [2], "3"], [1, [2], "3"]),
    ],
)
def test_named_merges(storage: Storage, reducer: str, values: list[Any], result: Any) -> None:
    for i, value in enumerate(values, 1):
        assert storage.merge("k", value, reducer, "a", 0.0).version == i
    entry = storage.get("k")
    assert entry is not None and entry.value == result


def test_merge_refuses_an_unknown_reducer_and_changes_nothing(storage: Storage) -> None:
    with pytest.raises(ValueError, match="reducer"):
        storage.merge("k", 1, "median", "a", 0.0)
    assert storage.get("k") is None


def test_a_merge_after_a_delete_starts_from_nothing(storage: Storage) -> None:
    storage.merge("k", 5, "sum", "a", 0.0)
    storage.delete_if("k", "a", ANY, 0.0)
    entry = storage.merge("k", 2, "sum", "a", 0.0)
    assert (entry.value, entry.version) == (2, 3)


def test_scan_is_sorted_filtered_and_paged(storage: Storage) -> None:
    for key in ["b/2", "a/1", "b/1", "c", "b/3"]:
        storage.put_if(key, key, "a", None, 0.0)
    storage.delete_if("b/3", "a", ANY, 0.0)
    assert [k for k, _ in storage.scan()] == ["a/1", "b/1", "b/2", "c"]
    assert [k for k, _ in storage.scan("b/")] == ["b/1", "b/2"]
    assert [k for k, _ in storage.scan("", after="a/1", limit=2)] == ["b/1", "b/2"]
    assert [k for k, _ in storage.scan("", after="b/2", limit=2)] == ["c"]


# --- log: seqs, ids, reads ---------------------------------------------------------------------
def test_append_assigns_gap_free_seqs_and_automatic_ids(storage: Storage) -> None:
    first = storage.append_one("t", "a", "x", None, 1.0)
    rest = storage.append("t", [draft("y"), draft("z")])
    assert [(i.seq, i.id, i.content) for i in [first, *rest]] == [
        (0, "t#0", "x"),
        (1, "t#1", "y"),
        (2, "t#2", "z"),
    ]
    assert storage.read("t", -1, None) == [first, *rest]
    assert storage.read("t", 0, 1) == rest[:1]
    assert storage.latest("t", 2) == rest
    assert storage.read("nope", -1, None) == [] and storage.latest("nope", 3) == []
    assert storage.topics() == ["t"] and storage.tips() == {"t": 2} and storage.count() == 3


def test_an_explicit_id_stored_returns_the_stored_insight(storage: Storage) -> None:
    [stored] = storage.append("t", [draft("x", "step-1")])
    assert stored.id == "step-1" and stored.seq == 0
    [again] = storage.append("other", [draft("different", "step-1")])
    assert again == stored  # whatever its topic, nothing appended, no topic created
    assert storage.append_one("other", "b", "y", None, 1.0, "step-1") == stored  # one rule
    assert storage.topics() == ["t"] and storage.count() == 1
    fresh = storage.append_one("t", "b", "y", None, 1.0, "step-2")
    assert (fresh.id, fresh.seq, fresh.content) == ("step-2", 1, "y")
    assert storage.append("t", [draft("z", "step-2")]) == [fresh] and storage.count() == 2


@ENTRIES
def test_retention_keeps_the_newest_and_forgets_their_ids(
    make: Callable[..., Storage], entry: str
) -> None:
    storage = make(retain_per_topic=2)
    if entry == "append":
        storage.append("t", [draft(i, f"id-{i}") for i in range(4)])
    else:
        for i in range(4):
            storage.append_one("t", "a", i, None, 0.0, f"id-{i}")
    assert [i.seq for i in storage.read("t", -1, None)] == [2, 3]
    assert storage.tips() == {"t": 3} and storage.count() == 2
    [retried] = storage.append("t", [draft("again", "id-0")])  # dropped: appended again
    assert retried.seq == 4


# --- values: one rule per backend -----------------------------------------------------------------
def test_values_round_trip_by_the_backends_rule(storage: Storage) -> None:
    value = {"pair": [1, 2.5], "nested": [{"a": None, "b": True}], "s": "\u00e9"}
    entry = storage.put_if("k", value, "a", None, 0.0)
    insight = storage.append("t", [Draft(None, "a", value, {"m": [3]}, 0.0)])[0]
    got = storage.get("k")
    assert got is not None and got.value == entry.value == insight.content == value
    assert insight.meta == {"m": [3]}
    if storage.json_values:  # a copy, as JSON gives it back: later changes do not leak in
        assert got.value is not value and insight.content is not value
    else:  # as given: the very object
        assert got.value is value and insight.content is value


def test_json_values_refuses_what_json_cannot_hold_and_changes_nothing() -> None:
    storage = MemoryStorage(json_values=True)
    for bad in [(1, 2), {1, 2}, {1: "x"}, float("nan"), object()]:
        with pytest.raises(TypeError, match="value"):
            storage.put_if("k", bad, "a", None, 0.0)
        with pytest.raises(TypeError, match="value"):
            storage.merge("k", bad, "append", "a", 0.0)
        with pytest.raises(TypeError, match="content"):
            storage.append("t", [draft(bad)])
        with pytest.raises(TypeError, match="content"):
            storage.append_one("t", "a", bad, None, 0.0)
    assert storage.get("k") is None and storage.topics() == [] and storage.count() == 0


# --- wait, close, export/import ----------------------------------------------------------------
def wakes_on_append(storage: Storage, timeout: float) -> tuple[bool, float]:
    """One thread waits past the current tips (up to ``timeout``) while another appends;
    returns what the wait returned and how long it took."""
    storage.append_one("t", "a", 0, None, 0.0)
    tips = storage.tips()
    waiting = threading.Event()
    woke: list[tuple[bool, float]] = []

    def waiter() -> None:
        waiting.set()
        began = time.monotonic()
        woke.append((storage.wait(tips, timeout), time.monotonic() - began))

    def appender() -> None:
        assert waiting.wait(10)
        storage.append_one("t", "a", 1, None, 0.0)

    run_together(waiter, appender)
    return woke[0]


def test_wait_times_out_with_nothing_new_and_wakes_on_the_first_append(storage: Storage) -> None:
    storage.append_one("t", "a", 0, None, 0.0)
    assert storage.wait(storage.tips(), 0.05) is False  # nothing new: times out
    assert storage.wait({}, 0.05) is True  # already past that cursor
    result, took = wakes_on_append(storage, 30)
    assert result is True and took < 15  # woken by the append, not by the timeout


def test_close_wakes_every_wait(storage: Storage) -> None:
    waiting = threading.Barrier(3, timeout=10)
    results: list[bool] = []

    def waiter() -> None:
        waiting.wait()
        results.append(storage.wait({}, 30))

    def closer() -> None:
        waiting.wait()
        storage.close()

    run_together(waiter, waiter, closer)
    assert results == [False, False]


def test_export_and_import_round_trip(make: Callable[..., Storage]) -> None:
    source = make(retain_per_topic=3)
    source.append("t", [draft(i, f"id-{i}" if i % 2 else None) for i in range(5)])
    source.put_if("k", [1], "a", None, 0.0)
    source.put_if("gone", 1, "a", None, 0.0)
    source.delete_if("gone", "a", ANY, 0.0)
    topics, world = collect(source.export())
    assert topics == {"t": TopicState(5, source.read("t", -1, None))}
    assert world["gone"].value is DELETED and world["gone"].version == 2
    target = make(retain_per_topic=3)
    target.import_state(source.export(page_size=2))
    assert collect(target.export()) == (topics, world)
    assert target.append("x", [draft("dup", "id-3")])[0].seq == 3  # the id index came too
    assert target.put_if("gone", 2, "a", None, 0.0).version == 3  # the tombstone too


def _describe(record: object) -> tuple[str, str, int]:
    if isinstance(record, TopicHeader):
        return ("header", record.topic, record.next_seq)
    if isinstance(record, WorldRecord):
        return ("world", record.key, record.entry.version)
    assert isinstance(record, Insight)
    return ("insight", record.topic, record.seq)


def test_export_pages_hold_typed_records_in_order(make: Callable[..., Storage]) -> None:
    storage = make()
    storage.append("b", [draft(0), draft(1)])
    storage.append("a", [draft(2)])
    storage.put_if("k", 1, "a", None, 0.0)
    pages = list(storage.export(page_size=4))
    assert [len(page) for page in pages] == [4, 2]
    assert [_describe(r) for page in pages for r in page] == [
        ("header", "a", 1),
        ("insight", "a", 0),
        ("header", "b", 2),
        ("insight", "b", 0),
        ("insight", "b", 1),
        ("world", "k", 1),
    ]
    assert list(make().export()) == []  # nothing stored: no page


def test_export_is_taken_when_called(make: Callable[..., Storage]) -> None:
    storage = make()
    storage.append("t", [draft(0)])
    pages = storage.export(page_size=1)
    storage.append("t", [draft(1)])
    storage.put_if("k", 1, "a", None, 0.0)
    assert [_describe(r) for page in pages for r in page] == [
        ("header", "t", 1),
        ("insight", "t", 0),
    ]


@pytest.mark.parametrize(
    ("page_size", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)]
)
def test_export_refuses_a_bad_page_size(
    make: Callable[..., Storage], page_size: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="page_size"):
        make().export(page_size=page_size)


def test_import_refuses_a_storage_that_is_not_empty(make: Callable[..., Storage]) -> None:
    source = make()
    source.append("t", [draft(0)])
    target = make()
    target.put_if("k", 1, "a", None, 0.0)
    with pytest.raises(ValueError, match="empty"):
        target.import_state(source.export())
    assert target.topics() == []


def _pages_out_of_order() -> dict[str, list[list[Any]]]:
    one = Insight("t", 0, "t#0", "a", "x", None, 0.0)
    entry = WorldEntry(1, 1, "a", 0.0)
    return {
        "insight before its header": [[one]],
        "insight of another topic": [[TopicHeader("u", 1), one]],
        "seq not below next_seq": [[TopicHeader("t", 0), one]],
        "seq not increasing": [[TopicHeader("t", 2), one, one]],
        "topic twice": [[TopicHeader("t", 0)], [TopicHeader("t", 0)]],
        "header after the world": [[WorldRecord("k", entry), TopicHeader("t", 0)]],
        "key twice": [[WorldRecord("k", entry), WorldRecord("k", entry)]],
    }


@pytest.mark.parametrize("case", sorted(_pages_out_of_order()))
def test_import_refuses_pages_out_of_order(make: Callable[..., Storage], case: str) -> None:
    target = make()
    with pytest.raises(ValueError, match=r"order|seq"):
        target.import_state(_pages_out_of_order()[case])
    assert target.topics() == [] and list(target.export()) == []


# --- concurrency, each with its control -------------------------------------------------------
THREADS = 4


def racing_put_ifs(storage: Storage) -> list[Any]:
    """THREADS threads put_if the same key on the same version (1)."""
    storage.put_if("k", "start", "a", None, 0.0)
    return outcomes(
        [lambda t=t: storage.put_if("k", t, f"agent-{t}", 1, 0.0) for t in range(THREADS)]
    )


def test_put_if_on_one_version_has_exactly_one_winner(storage: Storage) -> None:
    results = racing_put_ifs(storage)
    winners = [r for r in results if isinstance(r, WorldEntry)]
    assert len(winners) == 1 and winners[0].version == 2, results
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == THREADS - 1
    assert all(c.current_version == 2 for c in conflicts)  # the winner's version
    assert storage.get("k") == winners[0]


class CheckThenStore(MemoryStorage):
    """Negative control: the version check and the store in two lock holds, every thread
    between them at once (a barrier): all pass the check."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.between = threading.Barrier(THREADS, timeout=10)

    def put_if(
        self, key: str, value: Any, agent_id: str, expected_version: Any, timestamp: float
    ) -> WorldEntry:
        if expected_version is None:
            return super().put_if(key, value, agent_id, expected_version, timestamp)
        current = self.get(key)  # check ...
        if current is None or current.version != expected_version:
            raise Conflict(key, expected_version, None if current is None else current.version)
        self.between.wait()
        return super().put_if(key, value, agent_id, ANY, timestamp)  # ... then act


def test_control_put_if_catches_check_then_store() -> None:
    results = racing_put_ifs(CheckThenStore())
    assert sum(isinstance(r, WorldEntry) for r in results) == THREADS  # all "won": caught


def racing_ids(storage: Storage, entry: str = "append") -> list[Any]:
    """THREADS threads append the same explicit id (to two topics), through ``append`` or
    ``append_one``."""

    def add(t: int) -> Insight:
        if entry == "append_one":
            return storage.append_one(f"t{t % 2}", f"agent-{t}", t, None, 0.0, "the-id")
        return storage.append(f"t{t % 2}", [draft(t, "the-id", f"agent-{t}")])[0]

    return outcomes([lambda t=t: add(t) for t in range(THREADS)])


@ENTRIES
def test_concurrent_appends_of_one_id_store_one_insight(storage: Storage, entry: str) -> None:
    results = racing_ids(storage, entry)
    assert all(isinstance(r, Insight) for r in results), results
    assert len(set(results)) == 1 and results[0].seq == 0
    assert storage.count() == 1


class CheckThenAppend(MemoryStorage):
    """Negative control: the id looked up, then appended, without the id's lock between
    (every thread between them at once)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.between = threading.Barrier(THREADS, timeout=10)
        self.ids: dict[str, Insight] = {}

    def append(self, topic: str, drafts: Any) -> list[Insight]:
        out = []
        for d in drafts:
            stored = self.ids.get(d.id)
            if stored is None:
                self.between.wait()
                stored = super().append(topic, [d._replace(id=None)])[0]
                self.ids[d.id] = stored
            out.append(stored)
        return out

    def append_one(self, *args: Any) -> Insight:  # type: ignore[override]
        topic, agent_id, content, meta, timestamp, insight_id = args
        return self.append(topic, [Draft(insight_id, agent_id, content, meta, timestamp)])[0]


@ENTRIES
def test_control_the_id_test_catches_check_then_append(entry: str) -> None:
    storage = CheckThenAppend()
    racing_ids(storage, entry)
    assert storage.count() == THREADS  # duplicates: caught


MERGES = 100  # per thread and key; union and append copy a growing list each time


def racing_merges(storage: Storage) -> dict[str, Any]:
    def merger(t: int) -> None:
        for i in range(MERGES):
            storage.merge("total", 1, "sum", "a", 0.0)
            storage.merge("seen", [f"{t}-{i}"], "union", "a", 0.0)
            storage.merge("log", t, "append", "a", 0.0)

    run_together(*[lambda t=t: merger(t) for t in range(THREADS)])
    return {key: entry.value for key, entry in storage.scan()} | {
        "versions": [storage.get(k).version for k in ("total", "seen", "log")]  # type: ignore[union-attr]
    }


def test_concurrent_named_merges_are_exact(storage: Storage) -> None:
    got = racing_merges(storage)
    n = THREADS * MERGES
    assert got["total"] == n and len(got["seen"]) == n and len(got["log"]) == n
    assert got["versions"] == [n, n, n]


class ReadThenMerge(MemoryStorage):
    """Negative control: the merge reads the current value outside the lock, and its
    write is conditional on nothing -- with the first two threads forced between the two
    (a barrier, once), one merge is lost."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.between = threading.Barrier(2, timeout=10)

    def merge(self, key: str, value: Any, reducer: str, agent_id: str, timestamp: float) -> Any:
        from atomics.kb.reducers import reducers

        current = self.get(key)
        new = reducers[reducer](MISSING if current is None else current.value, value)
        if not self.between.broken:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.between.wait()
            self.between.abort()  # once: the others go straight on
        return self.put_if(key, new, agent_id, ANY, timestamp)


def test_control_the_merge_test_catches_read_then_merge() -> None:
    got = racing_merges(ReadThenMerge())
    assert got["total"] < THREADS * MERGES  # a lost merge: caught


def feed_order(storage: Storage) -> list[str]:
    """THREADS writers append to two topics and write two keys; the change feed must report
    each change once, in seq order per topic and version order per key. Returns what is
    out of order or missing."""
    recorder = Recorder()
    storage.watch(recorder)

    def writer(t: int) -> None:
        for i in range(200):
            storage.append_one(f"t{i % 2}", f"agent-{t}", i, None, 0.0)
            storage.merge(f"k{i % 2}", 1, "sum", f"agent-{t}", 0.0)

    run_together(*[lambda t=t: writer(t) for t in range(THREADS)])
    storage.watch(None)
    problems = []
    seqs: dict[str, list[int]] = {}
    versions: dict[str, list[int]] = {}
    for change in recorder.changes:
        if isinstance(change, WorldChange):
            versions.setdefault(change.key, []).append(change.entry.version)
        else:
            seqs.setdefault(change.topic, []).append(change.seq)
    for topic, got in seqs.items():
        if got != list(range(len(got))) or len(got) != THREADS * 100:
            problems.append(f"topic {topic}: seqs not 0..n in order")
    for key, got in versions.items():
        if got != list(range(1, len(got) + 1)) or len(got) != THREADS * 100:
            problems.append(f"key {key}: versions not 1..n in order")
    return problems


def test_the_change_feed_is_in_order_per_topic_and_per_key(storage: Storage) -> None:
    assert feed_order(storage) == []


class NotesAfterTheLock(MemoryStorage):
    """Negative control: world changes reported after the stripe lock is released; the
    first writer to get there waits (up to 10 s) until another has reported a later
    version -- so the reports come out of order, deterministically."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.later_noted = threading.Event()
        self.first = threading.Lock()

    def _write(self, key: str, step: Any) -> Any:
        note, self._note = self._note, None
        try:
            new = super()._write(key, step)
        finally:
            self._note = note
        if new is not None and note is not None:
            if new.version == 1 and self.first.acquire(blocking=False):
                self.later_noted.wait(10)  # let another writer report version 2 first
            note(WorldChange(key, new))
            if new.version > 1:
                self.later_noted.set()
        return new


def test_control_the_feed_test_catches_reports_after_the_lock() -> None:
    assert feed_order(NotesAfterTheLock()) != []


class NeverWakes(MemoryStorage):
    """Negative control: a wait() that is never woken: it sleeps out its timeout."""

    def wait(self, tips: Any, timeout: float | None) -> bool:
        time.sleep(timeout or 0.0)
        return self.tips() != dict(tips)


def test_control_the_wait_test_catches_a_wait_that_never_wakes() -> None:
    _, took = wakes_on_append(NeverWakes(), 2)
    assert took >= 1  # it waited out its timeout: caught (the real test allows half of it)
