"""Long runs for the KnowledgeBase: 8 agent threads x 100,000 insights (and more rounds while
the budget lasts), with a "block" subscriber and a ``since`` subscriber reading throughout."""

from __future__ import annotations

import threading
from typing import Any

from atomics import KnowledgeBase
from atomics.testing import bulk_stress
from atomics.testing.bulk import rounds

AGENTS, PER_AGENT, RETRY_EVERY = 8, 100_000, 100


def read_in_order(sub: Any, total: int, expected: dict[str, int]) -> None:
    """Take ``total`` events; each topic's seqs must come 0, 1, 2, ... (exactly once)."""
    seen = 0
    while seen < total:
        for event in sub.get_many(1024, timeout=300):
            assert event.seq == expected.get(event.topic, 0), event
            expected[event.topic] = event.seq + 1
            seen += 1


def swarm_round() -> None:
    kb = KnowledgeBase()
    retried = AGENTS * (PER_AGENT // RETRY_EVERY)
    total = AGENTS * PER_AGENT + retried
    live = kb.subscribe(overflow="block", maxsize=1024, block_timeout=300)
    replay = kb.subscribe(since={}, overflow="block", maxsize=1024, block_timeout=300)
    next_seq: dict[str, dict[str, int]] = {"live": {}, "replay": {}}
    readers = [
        threading.Thread(target=read_in_order, args=(live, total, next_seq["live"])),
        threading.Thread(target=read_in_order, args=(replay, total, next_seq["replay"])),
    ]
    for reader in readers:
        reader.start()

    def op(last: dict[str, int], t: int, i: int) -> None:
        topic = f"topic-{(t + i) % 8}"
        insight = kb.add_insight(f"agent-{t}", i, topic=topic)
        assert insight.seq > last.get(topic, -1)  # an agent's own insights in its order
        last[topic] = insight.seq
        if i % RETRY_EVERY == 0:  # a step retried: stored once
            first = kb.add_insight(f"agent-{t}", i, topic=topic, insight_id=f"{t}/{i}")
            assert kb.add_insight(f"agent-{t}", i, topic=topic, insight_id=f"{t}/{i}") is first
            kb.world.merge("progress", [t, i], agent_id=f"agent-{t}")

    bulk_stress(op, threads=AGENTS, operations=PER_AGENT, thread_state=lambda t: {})
    for reader in readers:
        reader.join(600)
        assert not reader.is_alive()
    assert kb.entry_count == total
    for topic in kb.topics():
        seqs = [insight.seq for insight in kb.insights(topic)]
        assert seqs == list(range(len(seqs)))  # unique and gap-free
    assert len(kb.world.get("progress").value) == retried  # type: ignore[union-attr]
    for name, expected in next_seq.items():  # every insight, once, in seq order per topic
        assert sum(expected.values()) == total, name


def test_swarm_of_8_agents_x_100000_insights(stress_seconds: float) -> None:
    for _ in rounds(stress_seconds):
        swarm_round()
