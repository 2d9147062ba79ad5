"""Benchmark: KnowledgeBase vs the article's single-lock knowledge base.

1. ``add_insight`` throughput at 1/2/4/8 writer threads (each thread its own agent id,
   insights spread over 4 shared topics; SECONDS per measurement, medians of REPEATS).
   Also with an explicit ``insight_id`` per add, each thread writing topics of its own (as
   the "own topics" row; a new str id made by the adding thread, as an
   agent makes its step ids: an unbounded stream, never repeated), and the same ids
   ``sys.intern``-ed (immortal on 3.13t: the reference for the cross-thread object cliff,
   not a fix, since interning an unbounded stream leaks).
2. Read latency of ``insights(topic, since=cursor)`` (the article's base has no ``since``:
   it copies the topic's list under its lock and the reader slices it) from one reader
   thread while 1/2/4/8 writer threads add insights; median and 99th percentile in us.

Every variant runs in the same process, interleaved; ratios against the article's base.
Usage: python benchmarks/bench_knowledge_base.py
"""

from __future__ import annotations

import gc
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import _results
from atomics import KnowledgeBase, runtime
from atomics.demo import ArticleKnowledgeBase

REPEATS = 5
SECONDS = 0.5
BATCH = 500
THREAD_COUNTS = (1, 2, 4, 8)
TOPICS = 4

Adder = Callable[[str, Any, str], Any]  # (agent_id, content, topic)


def make_kb() -> tuple[Adder, Callable[[str, int], int]]:
    """(add, read since) for a fresh KnowledgeBase; read returns the new last seq."""
    kb = KnowledgeBase()

    def add(agent: str, content: Any, topic: str) -> Any:
        return kb.add_insight(agent, content, topic=topic)

    def read(topic: str, last: int) -> int:
        new = kb.insights(topic, since=last)
        return new[-1].seq if new else last

    return add, read


def make_article() -> tuple[Adder, Callable[[str, int], int]]:
    kb = ArticleKnowledgeBase()

    def add(agent: str, content: Any, topic: str) -> Any:
        return kb.add_insight(agent, content, topic)

    def read(topic: str, last: int) -> int:
        entries = kb.insights(topic)  # the whole list, copied under the one lock
        new = entries[last + 1 :]
        return last + len(new)

    return add, read


VARIANTS = {"KnowledgeBase": make_kb, "article (one lock)": make_article}
OWN_TOPICS = "KnowledgeBase, own topics"  # control: each thread writes topics of its own


def add_rate(threads: int, make: Callable[[], tuple[Adder, Any]], own: bool = False) -> float:
    gc.collect()  # every measurement starts from the same heap: the last one's garbage is gone
    add, _ = make()

    def prepare(t: int) -> Callable[[], int]:
        agent = f"agent-{t}"
        prefix = f"{agent}/" if own else ""
        topics = [f"{prefix}topic-{n % TOPICS}" for n in range(t, t + BATCH)]

        def step() -> int:
            for n, topic in enumerate(topics):
                add(agent, n, topic)
            return BATCH

        return step

    return _results.rate_threads(threads, prepare, SECONDS)


def id_add_rate(threads: int, intern: bool) -> float:
    """``add_rate`` of a KnowledgeBase with an explicit id per add (see the docstring)."""
    gc.collect()
    kb = KnowledgeBase()

    def prepare(t: int) -> Callable[[], int]:
        agent = f"agent-{t}"
        topics = [f"{agent}/topic-{n % TOPICS}" for n in range(t, t + BATCH)]  # own topics
        made = [0]

        def step() -> int:
            base = made[0]
            for n, topic in enumerate(topics):
                insight_id = f"{agent}/step-{base + n}"
                if intern:
                    insight_id = sys.intern(insight_id)
                kb.add_insight(agent, n, topic=topic, insight_id=insight_id)
            made[0] = base + BATCH
            return BATCH

        return step

    return _results.rate_threads(threads, prepare, SECONDS)


# Own topics, as the control row: with shared topics the writers serialise on the topic
# locks whatever the ids (automatic ids: 0.94x at 2 threads); the rows compare with it.
ID_VARIANTS = {
    "KnowledgeBase, explicit ids, own topics": False,
    "KnowledgeBase, interned ids, own topics": True,
}


def read_latencies(writers: int, make: Callable[[], tuple[Adder, Any]]) -> list[float]:
    """Per-call latencies (seconds) of the reader while ``writers`` threads add."""
    gc.collect()
    add, read = make()
    stop = threading.Event()
    start = threading.Barrier(writers + 1)

    def write(t: int) -> None:
        agent, n = f"agent-{t}", 0
        start.wait()
        while not stop.is_set():
            add(agent, n, f"topic-{n % TOPICS}")
            n += 1

    threads = [threading.Thread(target=write, args=(t,)) for t in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    latencies, last, deadline = [], -1, time.perf_counter() + SECONDS
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        last = read("topic-0", last)
        latencies.append(time.perf_counter() - began)
    stop.set()
    for thread in threads:
        thread.join()
    return latencies


def main() -> None:
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {SECONDS} s per measurement, "
        f"median of {REPEATS}"
    )
    rates: dict[tuple[str, int], list[float]] = {}
    for _ in range(REPEATS):
        for threads in THREAD_COUNTS:
            for name, make in VARIANTS.items():
                rates.setdefault((name, threads), []).append(add_rate(threads, make))
            rates.setdefault((OWN_TOPICS, threads), []).append(add_rate(threads, make_kb, True))
            for name, intern in ID_VARIANTS.items():
                rates.setdefault((name, threads), []).append(id_add_rate(threads, intern))
    article = "article (one lock)"
    print("\nadd_insight: aggregate K insights/s (x own 1 thread; x the article's at that count)")
    cells: list[dict[str, Any]] = []
    for name in [*VARIANTS, OWN_TOPICS, *ID_VARIANTS]:
        line = ""
        for threads in THREAD_COUNTS:
            rate = statistics.median(rates[(name, threads)])
            own = rate / statistics.median(rates[(name, 1)])
            vs = rate / statistics.median(rates[(article, threads)])
            line += f"{rate / 1e3:8.0f} ({own:4.2f}x, {vs:4.2f}x)"
            cells.append(
                _results.cell(
                    {"test": "add", "variant": name, "threads": threads},
                    "insights_per_second",
                    rates[(name, threads)],
                    unit="insights/s",
                )
            )
        print(f"  {name:26}{line}")
    print("\ninsights(since=...) latency from one reader while N writers add: median / p99 us")
    print("(medians over repetitions of each repetition's median and 99th percentile)")
    for name, make in VARIANTS.items():
        line = ""
        for writers in THREAD_COUNTS:
            medians, p99s, reads = [], [], 0
            for _ in range(REPEATS):
                samples = sorted(read_latencies(writers, make))
                medians.append(statistics.median(samples))
                p99s.append(samples[int(len(samples) * 0.99)])
                reads += len(samples)
            line += (
                f"{statistics.median(medians) * 1e6:9.1f} / {statistics.median(p99s) * 1e6:7.1f}"
            )
            key = {"test": "read latency", "variant": name, "writers": writers}
            for metric, values in (("median_latency_s", medians), ("p99_latency_s", p99s)):
                cells.append(
                    _results.cell(
                        key,
                        metric,
                        values,
                        unit="s",
                        higher_is_better=False,
                        info={"reads": reads},
                    )
                )
        print(f"  {name:26}{line}")
    sys.stdout.flush()
    _results.save(
        "knowledge_base",
        cells,
        parameters={
            "seconds": SECONDS,
            "repeats": REPEATS,
            "batch": BATCH,
            "topics": TOPICS,
            "thread_counts": THREAD_COUNTS,
        },
    )


if __name__ == "__main__":
    main()
