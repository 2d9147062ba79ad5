"""Worker processes of the multi-process KnowledgeBase tests (tests/test_kb_redis.py): a
module of its own so that "spawn" children can import it."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from atomics import KnowledgeBase, Lag
from atomics.kb.records import Insight, WorldEvent

TOPICS = ("t0", "t1", "t2")
KEYS = ("total", "seen", "log")


def worker(
    url: str,
    namespace: str,
    process: int,
    sizes: tuple[int, int, int, int],
    start: Any,
    halfway: Any,
    results: Any,
) -> None:
    """One process of ``processes``: ``threads`` threads each add ``adds`` insights (every
    third with an explicit id, added twice: a retry must return the stored one) and merge
    into each of ``KEYS`` for their first ``merges`` adds; a ``since={}`` subscriber
    collects every event of every process. Puts two reports on ``results``: what was
    acknowledged, then what the subscriber got."""
    processes, threads, adds, merges = sizes
    try:
        kb = KnowledgeBase.connect(url, namespace=namespace, retry_timeout=60.0)
        kb.world.register_reducer("total", "sum")
        kb.world.register_reducer("seen", "union")
        kb.world.register_reducer("log", "append")
        sub = kb.subscribe(prefix="", world_keys=True, since={}, maxsize=1_000_000)
    except Exception as error:
        results.put({"process": process, "error": f"{type(error).__name__}: {error}"})
        return
    acked: list[tuple[str, int, str]] = []  # (topic, seq, id) of every acknowledged add
    errors: list[str] = []
    lock = threading.Lock()
    written = [0]

    def run(thread: int) -> None:
        try:
            for i in range(adds):
                topic = TOPICS[(process + thread + i) % len(TOPICS)]
                content = {"p": process, "t": thread, "i": i}
                if i % 3 == 0:
                    insight_id = f"p{process}-t{thread}-i{i}"
                    first = kb.add_insight("a", content, topic=topic, insight_id=insight_id)
                    again = kb.add_insight("b", "retry", topic="other", insight_id=insight_id)
                    if again != first:
                        raise AssertionError(f"a retried id: {again} is not {first}")
                else:
                    first = kb.add_insight("a", content, topic=topic)
                if i < merges:
                    tag = f"p{process}-t{thread}-{i}"
                    kb.world.merge("total", 1, agent_id="a")
                    kb.world.merge("seen", [tag], agent_id="a")
                    kb.world.merge("log", tag, agent_id="a")
                with lock:
                    acked.append((first.topic, first.seq, first.id))
                    written[0] += 1
                    if written[0] == threads * adds // 2:
                        halfway.set()
        except Exception as error:  # reported to the parent
            with lock:
                errors.append(f"thread {thread}: {type(error).__name__}: {error}")

    start.wait(120)  # a barrier: every process has subscribed (world events are live only)
    pool = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(300)
    halfway.set()  # (even if a thread failed early: the parent must not wait for it)
    results.put({"process": process, "acked": acked, "errors": errors})

    want_insights = processes * threads * adds
    want_changes = processes * threads * merges * len(KEYS)
    insights: list[tuple[str, int, str]] = []
    changes: list[tuple[str, int]] = []
    lags = [0]

    def record(event: Any) -> None:
        if isinstance(event, Insight):
            insights.append((event.topic, event.seq, event.id))
        elif isinstance(event, WorldEvent):
            changes.append((event.key, event.version))
        elif isinstance(event, Lag):
            lags[0] += 1

    deadline = time.monotonic() + 120
    while len(insights) < want_insights or len(changes) < want_changes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            record(sub.get(timeout=remaining))
        except queue.Empty:
            break
    # Anything more would be a duplicate: once the feed has reported every change stored
    # by now, take what is there.
    kb._storage.sync(everything=True)
    while True:
        try:
            record(sub.get(timeout=0))
        except queue.Empty:
            break
    results.put({"process": process, "insights": insights, "changes": changes, "lags": lags[0]})
    kb.close()


def add_in_fork(kb: KnowledgeBase) -> None:
    """A child made by fork writes twice through its parent's KnowledgeBase: with the
    parent's subscription copied here, each write waits until this process's feed (resumed
    where the parent's was) has delivered it -- at once, not after a timeout."""
    kb.add_insight("child", "child")
    kb.add_insight("child", "again")
