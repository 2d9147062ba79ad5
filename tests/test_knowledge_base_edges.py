"""KnowledgeBase edge cases found by trying it as a new user (each test failed before its fix):
close() and waiters, retention and the id index, abandoned subscriptions, ids, save/load."""

from __future__ import annotations

import threading
import time

import pytest

from atomics import KnowledgeBase, KnowledgeBaseClosed


def wait_until(predicate: object, seconds: float = 30) -> None:
    """Poll ``predicate`` (a state, not a duration) until true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("the state never came")
        time.sleep(0.001)


# --- close() wakes every waiter ------------------------------------------------------------
def test_close_wakes_every_waiter() -> None:
    kb = KnowledgeBase()
    kb.add_insight("a", 0, topic="t")
    outcomes: list[str] = []

    def wait() -> None:
        try:
            kb.wait_for_insights(kb.cursor(), timeout=None)
            outcomes.append("returned")
        except KnowledgeBaseClosed:
            outcomes.append("closed")

    waiters = [threading.Thread(target=wait, daemon=True) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    wait_until(lambda: kb._storage.waiters == 3)  # type: ignore[attr-defined]
    kb.close()
    for waiter in waiters:
        waiter.join(10)
    assert outcomes == ["closed"] * 3
    with pytest.raises(KnowledgeBaseClosed):  # closed, nothing new: at once
        kb.wait_for_insights(kb.cursor(), timeout=None)
    assert kb.wait_for_insights({"t": -1}, timeout=None)  # something new: reads still work


# --- retention bounds the id index ------------------------------------------------------------
def retries(kb: KnowledgeBase) -> list[tuple[int, object]]:
    """A retry of a kept id (returns the stored insight) and of a dropped one (appends)."""
    kept = kb.add_insight("a", "retry", topic="t", insight_id="id4999")
    dropped = kb.add_insight("a", "again", topic="t", insight_id="id1")
    return [(kept.seq, kept.content), (dropped.seq, dropped.content)]


def test_retention_forgets_the_ids_it_drops(tmp_path: object) -> None:
    kb = KnowledgeBase(retain_per_topic=10)
    for i in range(5000):
        kb.add_insight("a", i, topic="t", insight_id=f"id{i}")
    kb.add_insights("a", range(5), topic="t")  # a batch evicts explicit ids too
    assert len(kb._storage.by_id) <= 10  # type: ignore[attr-defined]
    path = f"{tmp_path}/kb.json"
    kb.save(path)
    loaded = KnowledgeBase.load(path)
    assert retries(kb) == retries(loaded) == [(4999, 4999), (5005, "again")]
    assert len(kb._storage.by_id) <= 10  # type: ignore[attr-defined]
