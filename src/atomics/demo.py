"""``python -m atomics demo``: the article's Research Swarm, done right.

The article that promised ``threading.AtomicInteger`` ran "agents" doing pure-Python
CPU-bound reasoning and sharing findings through a knowledge base that is one lock around a
dict of lists plus a counter (:class:`ArticleKnowledgeBase`), and checked the runtime with
``sys.flags.nogil`` -- which does not exist, so it reported False even on a free-threaded
build. This demo reports the runtime correctly (``sys._is_gil_enabled()`` and the
``Py_GIL_DISABLED`` build flag), then runs the swarm at 1, 2, ... up to ``cpu_count()``
threads with the :class:`~atomics.KnowledgeBase` -- insights per research field, world-model
merges of each field's best score and of the steps done, one subscriber summarising live --
and with the article's knowledge base beside it, printing wall time, speedup over one thread,
insights stored and lost updates (which must be 0).

>>> rows = run_agent_scaling([1, 2], iterations=2_000, repeats=1)
>>> [row.threads for row in rows]
[1, 2]
>>> result = run_swarm(KnowledgeBase(), threads=2, agents=3, steps=2, work=100)
>>> result.insights, result.lost_updates
(6, 0)
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from atomics import runtime
from atomics.kb import KnowledgeBase

__all__ = [
    "ArticleKnowledgeBase",
    "ScalingRow",
    "SwarmResult",
    "agent_reasoning",
    "main",
    "run_agent_scaling",
    "run_swarm",
    "thread_counts",
]

FIELDS = ("physics", "biology", "chemistry", "economics")


def agent_reasoning(agent_id: int, iterations: int) -> int:
    """One agent's CPU-bound work: pure-Python arithmetic, no I/O, no shared state.

    >>> agent_reasoning(3, 10)
    23
    """
    score = 0
    for step in range(iterations):
        score += (step * agent_id + 7) % 11 // 2
    return score


@dataclass(frozen=True)
class ScalingRow:
    """Measured throughput of ``threads`` agents, each on its own thread."""

    threads: int
    median_seconds: float
    ops_per_second: float
    speedup: float  # aggregate throughput relative to the 1-thread row
    efficiency: float  # speedup / threads
    seconds_samples: tuple[float, ...] = ()  # every repetition's wall time, in run order


def _run_agents(threads: int, iterations: int) -> float:
    """Run ``threads`` agents in parallel from a common start; return the wall time."""
    start_line = threading.Barrier(threads + 1)
    results = [0] * threads  # one slot per thread: no two threads write the same slot

    def agent(index: int) -> None:
        start_line.wait()
        results[index] = agent_reasoning(index + 1, iterations)

    workers = [threading.Thread(target=agent, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start_line.wait()  # every worker is started and waiting: release them together
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began


def run_agent_scaling(
    counts: Sequence[int], *, iterations: int = 2_000_000, repeats: int = 5
) -> list[ScalingRow]:
    """Measure the agent workload at each thread count; medians of ``repeats`` runs.

    ``counts`` must start with 1, the baseline for speedups.
    """
    if not counts or counts[0] != 1:
        raise ValueError("counts must start with 1 (the baseline)")
    _run_agents(max(counts), max(1, iterations // 4))  # warm-up: thread start, CPU clocks
    # Interleave the sizes (1, 2, 4, 1, 2, 4, ...) so that drift in the machine's speed
    # during the run affects every size alike instead of biasing the ratios.
    timings: dict[int, list[float]] = {threads: [] for threads in counts}
    for _ in range(repeats):
        for threads in counts:
            timings[threads].append(_run_agents(threads, iterations))
    rows: list[ScalingRow] = []
    base_rate = iterations / statistics.median(timings[1])
    for threads in counts:
        seconds = statistics.median(timings[threads])
        rate = threads * iterations / seconds
        speedup = rate / base_rate
        rows.append(
            ScalingRow(threads, seconds, rate, speedup, speedup / threads, tuple(timings[threads]))
        )
    return rows


def thread_counts(cpus: int) -> list[int]:
    """Powers of two up to the CPU count, the CPU count itself, and 2x it (oversubscribed).

    >>> thread_counts(2)
    [1, 2, 4]
    >>> thread_counts(6)
    [1, 2, 4, 6, 12]
    """
    counts = []
    n = 1
    while n < cpus:
        counts.append(n)
        n *= 2
    counts += [cpus, 2 * cpus]
    return sorted(set(counts))


class ArticleKnowledgeBase:
    """The article's SharedKnowledgeBase: one lock around a dict of lists, plus a counter.
    Appends are safe; nothing else is offered (no ids, no order, no world model)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards _kb and entry_count: every call takes it
        self._kb: dict[str, list[dict[str, Any]]] = {}
        self.entry_count = 0

    def add_insight(self, agent_id: str, content: Any, topic: str = "general") -> None:
        """Append one insight (the article's method)."""
        with self._lock:
            if topic not in self._kb:
                self._kb[topic] = []
            self._kb[topic].append({"agent": agent_id, "content": content, "ts": time.time()})
            self.entry_count += 1

    def insights(self, topic: str) -> list[dict[str, Any]]:
        """A copy of one topic's insights."""
        with self._lock:
            return list(self._kb.get(topic, ()))


@dataclass(frozen=True)
class SwarmResult:
    """One swarm run: wall time, insights stored, and updates lost (expected - stored)."""

    threads: int
    seconds: float
    insights: int
    lost_updates: int
    summary: str


def run_swarm(
    kb: KnowledgeBase | ArticleKnowledgeBase,
    *,
    threads: int,
    agents: int,
    steps: int,
    work: int,
    progress: Any = None,
) -> SwarmResult:
    """Run ``agents`` research agents on ``threads`` threads (agent a on thread a % threads);
    each does ``steps`` steps of ``work`` reasoning iterations and shares every finding.

    With a KnowledgeBase: an insight per step (with an id, so a retried step would not
    duplicate), a ``max`` merge of the field's best score and a ``sum`` merge of the steps
    done; one subscriber thread summarises the findings live. With the article's knowledge
    base: the insight only (it offers nothing else). ``progress(done, total)`` is called
    from the main thread while the swarm runs.
    """
    full = kb if isinstance(kb, KnowledgeBase) else None  # None: the article's base
    if full is not None:
        full.world.register_reducer("best/*", "max")
        full.world.register_reducer("steps-done", "sum")
        subscription = full.subscribe(prefix="research/", exclude_agent="summariser")
    best: dict[str, int] = {}
    seen = [0]

    def summarise() -> None:  # the live subscriber: on its own thread, never a writer's
        for event in subscription:
            if hasattr(event, "content"):
                seen[0] += 1
                field = event.topic.removeprefix("research/")
                best[field] = max(best.get(field, 0), event.content["score"])

    def agent(a: int) -> None:
        field = FIELDS[a % len(FIELDS)]
        name = f"agent-{a}"
        for step in range(steps):
            score = agent_reasoning(a + 1, work)
            finding = {"step": step, "score": score}
            if full is not None:
                full.add_insight(
                    name, finding, topic=f"research/{field}", insight_id=f"{name}/step-{step}"
                )
                full.world.merge(f"best/{field}", score, agent_id=name)
                full.world.merge("steps-done", 1, agent_id=name)
            else:
                kb.add_insight(name, finding, topic=f"research/{field}")

    def worker(t: int) -> None:
        start_line.wait()
        for a in range(t, agents, threads):
            agent(a)

    start_line = threading.Barrier(threads + 1)
    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    reader = threading.Thread(target=summarise) if full is not None else None
    for thread in [*workers, *([reader] if reader else [])]:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for worker_thread in workers:
        while worker_thread.is_alive():
            worker_thread.join(0.25)
            if progress is not None:
                progress(kb.entry_count, agents * steps)
    seconds = time.perf_counter() - began
    expected = agents * steps
    if full is not None:
        stored = full.entry_count
        steps_done = full.world.get("steps-done")
        lost = (expected - stored) + (expected - (steps_done.value if steps_done else 0))
        full.close()  # the subscriber drains, then ends
        assert reader is not None
        reader.join()
        summary = ", ".join(f"{field} {best.get(field, 0)}" for field in FIELDS)
        summary = f"subscriber saw {seen[0]} findings; best: {summary}"
    else:
        stored = sum(len(kb.insights(f"research/{field}")) for field in FIELDS)
        lost = (expected - kb.entry_count) + (expected - stored)
        summary = ""
    return SwarmResult(threads, seconds, stored, lost, summary)


def main(
    threads: Sequence[int] | None = None,
    agents: int = 8,
    steps: int = 20,
    work: int = 150_000,
) -> int:
    """Print the runtime facts and the swarm table; return 1 if any update was lost."""
    info = runtime.runtime_info()
    print("atomics demo: the Research Swarm, agents sharing findings through a knowledge base")
    print(f"  interpreter            {info.description}")
    print(f"  executable             {info.executable}")
    print(f"  Py_GIL_DISABLED build  {info.gil_disabled_build}")
    print(f"  sys._is_gil_enabled()  {info.gil_enabled}")
    print(f"  free threading active  {info.free_threading_active}")
    print(f"  CPUs available         {info.cpu_count}")
    nogil = "present" if hasattr(sys.flags, "nogil") else "does not exist"
    print(f"  sys.flags.nogil        {nogil} (the article's check: it printed False everywhere)")
    counts = (
        list(threads)
        if threads
        else [c for c in thread_counts(info.cpu_count) if c <= info.cpu_count]
    )
    if 1 not in counts:
        counts = [1, *counts]
    print(
        f"\n  {agents} agents x {steps} steps x {work:,} iterations of reasoning; "
        f"threads: {', '.join(map(str, counts))}\n"
    )

    def show(label: str, threads: int) -> Any:
        def progress(done: int, total: int) -> None:
            print(f"\r  running {label} on {threads} threads: {done}/{total} insights", end="")
            sys.stdout.flush()

        return progress

    agent_reasoning(1, 4 * work)  # warm-up, so that the first row is not the slow one
    results: dict[str, list[SwarmResult]] = {"KnowledgeBase": [], "article (one lock)": []}
    for count in counts:
        for label, make in (
            ("KnowledgeBase", KnowledgeBase),
            ("article (one lock)", ArticleKnowledgeBase),
        ):
            result = run_swarm(
                make(),
                threads=count,
                agents=agents,
                steps=steps,
                work=work,
                progress=show(label, count),
            )
            results[label].append(result)
            print("\r" + " " * 79 + "\r", end="")
    print(
        f"  {'knowledge base':20} {'threads':>7} {'seconds':>8} {'speedup':>8}"
        f" {'insights':>9} {'lost':>5}"
    )
    lost_any = False
    for label, rows in results.items():
        base = rows[0].seconds
        for row in rows:
            lost_any |= row.lost_updates != 0
            print(
                f"  {label:20} {row.threads:>7} {row.seconds:>8.2f} {base / row.seconds:>7.2f}x"
                f" {row.insights:>9} {row.lost_updates:>5}"
            )
    print(f"\n  {results['KnowledgeBase'][-1].summary}")
    if info.free_threading_active:
        print(
            f"  Free threading is active: speedup should approach min(threads, {info.cpu_count})."
        )
    else:
        print("  The GIL is enabled: threads take turns, so speedup stays near 1x.")
        print("  Run `make demo` to see the same swarm on a free-threaded build.")
    return 1 if lost_any else 0
