"""KnowledgeBase defects found by a second review (a helper trying to break it as a new user
would); each test failed before its fix, and each concurrency test has its control."""

from __future__ import annotations

import json
import pathlib
import queue
import sys
import threading
from typing import Any

import pytest

from _threads import run_together
from atomics import KnowledgeBase, KnowledgeBaseClosed, Lag, _validate
from atomics.kb.records import Insight, WorldEntry
from atomics.kb.storage import MemoryStorage, TopicHeader, WorldRecord
from atomics.kb.storage.base import collect

DATA = pathlib.Path(__file__).parent / "data"
BACKENDS = pytest.mark.usefixtures("kb_backend")  # once per knowledge-base backend


def drain(feed: Any) -> list[str]:
    """What the subscription holds now, as ``"seq:content"`` and ``"Lag"``."""
    out = []
    while True:
        try:
            event = feed.get(timeout=0.2)
        except queue.Empty:
            return out
        out.append("Lag" if isinstance(event, Lag) else f"{event.seq}:{event.content}")


# --- json_values: a snapshot taken inside an update is a copy too -----------------------------
def test_a_snapshot_inside_an_update_hands_out_copies_with_json_values() -> None:
    kb = KnowledgeBase(json_values=True)
    kb.world.put("k", {"a": [1]}, agent_id="a")
    kb.add_insight("a", {"c": [1]}, topic="t")

    def change_what_the_snapshot_gave(_: Any) -> int:
        snapshot = kb.snapshot()
        snapshot["world"]["k"].value["a"].append("LEAK")
        snapshot["topics"]["t"][0].content["c"].append("LEAK")
        return 1

    kb.world.update("other", change_what_the_snapshot_gave, agent_id="a")
    assert kb.world.get("k").value == {"a": [1]}
    assert kb.insights("t")[0].content == {"c": [1]}


# --- import_state keeps the target's rules ----------------------------------------------------
def five_with_ids() -> MemoryStorage:
    source = MemoryStorage()
    for i in range(5):
        source.append("t", [_draft(i, f"id{i}")])
    return source


def _draft(content: Any, insight_id: str | None = None) -> Any:
    from atomics.kb.records import Draft

    return Draft(insight_id, "a", content, None, 0.0)


def test_import_applies_the_targets_retention_to_the_log_and_the_ids() -> None:
    target = MemoryStorage(retain_per_topic=2)
    target.import_state(five_with_ids().export())
    assert [(i.seq, i.id) for i in target.read("t", -1, None)] == [(3, "id3"), (4, "id4")]
    assert len(target.by_id) == 2
    assert target.append("t", [_draft("again", "id0")])[0].seq == 5  # dropped: appends again


def test_import_into_json_values_refuses_what_json_cannot_hold() -> None:
    source = MemoryStorage()
    source.put_if("k", {1, 2}, "a", None, 0.0)
    target = MemoryStorage(json_values=True)
    with pytest.raises(TypeError, match="world key 'k'"):
        target.import_state(source.export())
    assert collect(target.export()) == ({}, {})


ONE = Insight("t", 0, "t#0", "a", "x", None, 0.0)
FIVE = Insight("t", 5, "t#5", "a", "y", None, 0.0)
ENTRY = WorldEntry(1, 1, "a", 0.0)
UNHOLDABLE: dict[str, list[list[Any]]] = {
    "a gap in the seqs": [[TopicHeader("t", 6), ONE, FIVE]],
    "insights not ending at next_seq - 1": [[TopicHeader("t", 3), ONE]],
    "a negative next_seq": [[TopicHeader("t", -5)]],
    "a bool next_seq": [[TopicHeader("t", True)]],
    "an id in two topics": [
        [TopicHeader("a", 1), ONE._replace(topic="a", id="X")],
        [TopicHeader("b", 1), ONE._replace(topic="b", id="X")],
    ],
    "a topic that is not a str": [[TopicHeader(7, 0)]],  # type: ignore[arg-type]
    "an empty topic": [[TopicHeader("", 0)]],
    "a world entry that is a tuple": [[WorldRecord("k", (1, 1, "a", 0.0))]],  # type: ignore[arg-type]
    "a world version of 0": [[WorldRecord("k", ENTRY._replace(version=0))]],
    "meta that is not a mapping": [[TopicHeader("t", 1), ONE._replace(meta=[1])]],
}


@pytest.mark.parametrize("case", sorted(UNHOLDABLE))
def test_import_refuses_a_state_no_storage_can_hold(case: str) -> None:
    target = MemoryStorage()
    with pytest.raises(ValueError, match="export records"):
        target.import_state(UNHOLDABLE[case])
    assert collect(target.export()) == ({}, {})


# --- a retention no deque can hold --------------------------------------------------------------
@BACKENDS
def test_a_retention_past_sys_maxsize_is_a_value_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="retain_per_topic"):
        KnowledgeBase(retain_per_topic=sys.maxsize + 1)
    KnowledgeBase(retain_per_topic=sys.maxsize).add_insight("a", 1)  # the largest: fine
    document = json.loads((DATA / "knowledge_base-v1.json").read_text())
    document["retain_per_topic"] = 10**20
    path = tmp_path / "kb.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"\$\.retain_per_topic"):
        KnowledgeBase.load(path)


# --- close(): a write in flight is delivered or refused, never stored and lost ----------------
class PausingStorage(MemoryStorage):
    """Pauses an append after the knowledge base has checked it is open, before the store."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered, self.resume = threading.Event(), threading.Event()

    def append_one(self, *args: Any) -> Insight:  # type: ignore[override]
        self.entered.set()
        assert self.resume.wait(10), "never resumed"
        return super().append_one(*args)


def write_across_close(storage: MemoryStorage) -> list[str]:
    """A write paused past the open check while ``close()`` runs; problems found."""
    kb = KnowledgeBase(storage=storage)
    feed = kb.subscribe(topics=["t"], since={})
    outcome: list[Any] = []

    def writer() -> None:
        try:
            outcome.append(kb.add_insight("a", "late", topic="t"))
        except KnowledgeBaseClosed as error:
            outcome.append(error)

    def closer() -> None:
        assert storage.entered.wait(10)  # type: ignore[attr-defined]
        kb.close()
        storage.resume.set()  # type: ignore[attr-defined]

    run_together(writer, closer)
    delivered = [event.content for event in feed]
    if isinstance(outcome[0], Insight) and delivered != ["late"]:
        return [f"stored as seq {outcome[0].seq}, delivered {delivered}"]
    return []


def test_a_write_across_close_is_delivered_or_refused() -> None:
    assert write_across_close(PausingStorage()) == []


class ClosesWithoutRefusing(PausingStorage):
    """Negative control: close() only wakes waiters (writes after it are still stored)."""

    def close(self) -> None:
        with self.appended:
            self.appended.notify_all()


def test_control_the_close_test_catches_a_storage_that_stores_after_close() -> None:
    assert write_across_close(ClosesWithoutRefusing()) != []


def test_every_storage_write_after_close_is_refused() -> None:
    storage = MemoryStorage()
    storage.close()
    for write in (
        lambda: storage.append_one("t", "a", 1, None, 0.0),
        lambda: storage.append("t", [_draft(1, "id")]),
        lambda: storage.put_if("k", 1, "a", None, 0.0),
        lambda: storage.merge("k", 1, "sum", "a", 0.0),
    ):
        with pytest.raises(KnowledgeBaseClosed):
            write()
    assert collect(storage.export()) == ({}, {})


# --- one storage, one knowledge base ------------------------------------------------------------
def test_a_second_knowledge_base_on_a_watched_storage_is_refused() -> None:
    storage = MemoryStorage()
    kb = KnowledgeBase(storage=storage)
    feed = kb.subscribe(topics=["t"])
    with pytest.raises(ValueError, match="already watched"):
        KnowledgeBase(storage=storage)
    kb.add_insight("a", "via the first", topic="t")
    assert feed.get(timeout=5).content == "via the first"


# --- the Lag marker comes where the gap is --------------------------------------------------
@BACKENDS
def test_the_lag_comes_after_the_backlog_of_a_since_subscription() -> None:
    kb = KnowledgeBase()
    for i in range(5):
        kb.add_insight("a", f"old{i}", topic="t")
    feed = kb.subscribe(topics=["t"], since={}, maxsize=2)
    for i in range(5):
        kb.add_insight("a", f"live{i}", topic="t")
    assert drain(feed) == [*(f"{i}:old{i}" for i in range(5)), "Lag", "8:live3", "9:live4"]


@BACKENDS
@pytest.mark.local_only(
    "on Redis the writers are other processes: a block subscription holds none of them up "
    "and keeps its events for its reader (docs/knowledge_base.md, Scaling out)"
)
def test_a_block_timeout_drops_the_oldest_so_the_lag_comes_first() -> None:
    kb = KnowledgeBase()
    feed = kb.subscribe(topics=["u"], maxsize=1, overflow="block", block_timeout=0.05)
    for i in range(3):
        kb.add_insight("a", f"m{i}", topic="u")
    assert drain(feed) == ["Lag", "2:m2"]  # m0 and m1 dropped, before m2


# --- named list reducers refuse what is not a list ----------------------------------------------
@pytest.mark.parametrize("reducer", ["append", "union"])
@pytest.mark.parametrize("current", ["first note", {"x": 1}, 5])
def test_list_reducers_refuse_a_current_value_that_is_not_a_list(
    reducer: str, current: Any
) -> None:
    kb = KnowledgeBase(json_values=True)
    kb.world.register_reducer("k", reducer)
    kb.world.put("k", current, agent_id="a")
    with pytest.raises(TypeError, match="list"):
        kb.world.merge("k", "second", agent_id="a")
    assert kb.world.get("k").value == current and kb.world.get("k").version == 1


# --- wait_for_insights waits for an insight after the cursor --------------------------------
@BACKENDS
def test_wait_for_insights_ignores_appends_the_cursor_covers() -> None:
    kb = KnowledgeBase()
    kb.add_insight("a", 0, topic="x")
    storage: Any = kb._storage  # type: ignore[attr-defined]
    result: list[bool] = []

    def waiter() -> None:
        result.append(kb.wait_for_insights({"x": 100}, timeout=1.0))

    def appender() -> None:
        tick = threading.Event()  # never set: a 1 ms poll of a state
        while not storage.waiters:  # the waiter is waiting
            tick.wait(0.001)
        kb.add_insight("a", 1, topic="x")  # seq 1: not after 100

    run_together(waiter, appender)
    assert result == [False]


# --- names, timeouts, arguments -----------------------------------------------------------------
class Topic(str):
    __slots__ = ()


@BACKENDS
def test_a_str_subclass_topic_is_stored_as_a_plain_str() -> None:
    kb = KnowledgeBase()
    one = kb.add_insight("a", 1, topic=Topic("t"))
    two = kb.add_insights("a", [2], topic=Topic("t"))[0]
    assert (one.seq, two.seq) == (0, 1)
    assert type(one.topic) is str and type(two.topic) is str


@BACKENDS
def test_a_timeout_too_large_for_a_float_waits_as_long_as_needed() -> None:
    assert _validate.deadline(10**400) is None
    kb = KnowledgeBase()
    feed = kb.subscribe(topics=["t"], block_timeout=10**400)
    kb.add_insight("a", "x", topic="t")
    assert feed.get(timeout=10**400).content == "x"


@BACKENDS
def test_insights_refuses_an_agent_id_or_prefix_that_is_not_a_str() -> None:
    kb = KnowledgeBase()
    with pytest.raises(TypeError, match="agent_id"):
        kb.insights(agent_id=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prefix"):
        kb.insights(prefix=5)  # type: ignore[arg-type]


def test_a_batch_json_error_names_the_insight() -> None:
    kb = KnowledgeBase(json_values=True)
    with pytest.raises(TypeError, match="insight 3 of the batch"):
        kb.add_insights("a", [1, 2, 3, (4,), 5], topic="t")
    assert kb.entry_count == 0


# --- block subscriptions in a cycle: resolved by block_timeout ------------------------------
@BACKENDS
def test_block_subscriptions_in_a_cycle_go_on_with_a_block_timeout() -> None:
    """Two agents acknowledge a user's posts on a shared topic, each through its own
    "block" subscription (documented: without a timeout they can wait for each other)."""
    kb = KnowledgeBase()
    feeds = {
        me: kb.subscribe(
            topics=["chat"], maxsize=4, overflow="block", block_timeout=0.05, exclude_agent=me
        )
        for me in "AB"
    }
    posted = threading.Event()

    def agent(me: str) -> None:
        while True:
            try:
                event = feeds[me].get(timeout=2 if posted.is_set() else 30)
            except queue.Empty:
                return
            if not isinstance(event, Lag) and event.agent_id == "user":
                kb.add_insight(me, f"{me} ack {event.content}", topic="chat")

    def user() -> None:
        for i in range(20):
            kb.add_insight("user", i, topic="chat")
        posted.set()

    run_together(lambda: agent("A"), lambda: agent("B"), user, timeout=60)
    assert len(kb.insights("chat", agent_id="user")) == 20


# --- third review: str subclasses and a failing note --------------------------------------------
class AgentId(str):
    """An agent id whose ``!=`` refuses plain strs: run under a lock, it raises there."""

    __hash__ = str.__hash__

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, AgentId):
            raise TypeError("AgentId compared with a plain str")
        return str.__ne__(self, other)


@BACKENDS
def test_a_str_subclass_agent_id_is_stored_as_a_plain_str() -> None:
    kb = KnowledgeBase(retain_per_topic=1)
    kb.add_insight("a", "old", insight_id="old-step")
    sub = kb.subscribe(exclude_agent=AgentId("b"))
    stored = kb.add_insight(AgentId("a"), "x", insight_id="step-1")  # raised under the lock
    assert type(stored.agent_id) is str and sub.get(timeout=5) == stored
    retry = kb.add_insight("a", "again", insight_id="old-step")  # dropped by retention
    assert (retry.seq, retry.content) == (2, "again")
    assert [(i.id, i.seq) for i in kb.insights()] == [("old-step", 2)]
    entry = kb.world.put(AgentId("k"), 1, agent_id=AgentId("a"))
    assert type(entry.agent_id) is str and list(kb.world.snapshot()) == ["k"]
    assert type(next(iter(kb.world.snapshot()))) is str


class StepId(str):
    """An id whose ``==`` writes to the knowledge base it is stored in."""

    kb: KnowledgeBase

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        StepId.kb.add_insight("x", "audit", insight_id="audit-" + str.__str__(self))
        return str.__eq__(self, other)


@BACKENDS
def test_a_str_subclass_insight_id_is_stored_as_a_plain_str() -> None:
    kb = StepId.kb = KnowledgeBase()
    first = kb.add_insight("a", 1, insight_id=StepId("s1"))
    assert type(first.id) is str
    retried: list[Insight] = []
    thread = threading.Thread(
        target=lambda: retried.append(kb.add_insight("a", 2, insight_id=StepId("s1"))),
        daemon=True,
    )
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the retry hung: the id's __eq__ ran under the index's lock"
    assert retried == [first] and kb.entry_count == 1


class RaisingListener:
    """A change listener whose first note raises (a defect of a listener, not of a write)."""

    def __init__(self) -> None:
        self.raised = False

    def note(self, change: Any) -> None:
        if not self.raised:
            self.raised = True
            raise RuntimeError("note failed")

    def settle(self) -> None:
        pass


@pytest.mark.parametrize("with_id", [False, True])
def test_a_note_that_raises_leaves_the_log_and_the_id_index_consistent(with_id: bool) -> None:
    storage = MemoryStorage(retain_per_topic=1)
    storage.append_one("t", "a", "old", None, 0.0, "old-step")
    storage.watch(RaisingListener())
    with pytest.raises(RuntimeError, match="note failed"):  # stored, then the note raised
        storage.append_one("t", "a", "new", None, 0.0, "step-1" if with_id else None)
    [kept] = storage.read("t", -1, None)
    assert kept.content == "new"
    # the evicted id is forgotten: a retry of it appends again
    assert storage.append_one("t", "a", "again", None, 0.0, "old-step").seq == 2
    if with_id:  # the stored id is indexed: a retry of it returns it (no duplicate)
        storage2 = MemoryStorage()
        storage2.watch(RaisingListener())
        with pytest.raises(RuntimeError):
            storage2.append_one("t", "a", "x", None, 0.0, "step-1")
        again = storage2.append_one("t", "a", "y", None, 0.0, "step-1")
        assert (again.seq, again.content, storage2.count()) == (0, "x", 1)


def test_the_storage_takes_a_str_subclass_topic_as_a_plain_str() -> None:
    class Topic(str):
        pass

    insight = MemoryStorage().append_one(Topic("t"), "a", 1, None, 0.0)
    assert type(insight.topic) is str and insight.topic == "t"
