"""``python -m atomics demo``: the article's Research Swarm, done right.

The article that promised ``threading.AtomicInteger`` ran "agents" doing pure-Python
CPU-bound reasoning and sharing findings through a knowledge base that is one lock around a
dict of lists plus a counter (:class:`ArticleKnowledgeBase`), and checked the runtime with
``sys.flags.nogil`` -- which does not exist, so it reported False even on a free-threaded
build. Its swarm also shared a ``SwarmState`` of plain dicts without a lock
(:class:`ArticleSwarmState`): agents read-decide-write the best finding and do
``counts["steps"] += 1`` -- and a step that timed out and ran again appended its finding
twice. This demo reports the runtime correctly (``sys._is_gil_enabled()`` and the
``Py_GIL_DISABLED`` build flag), then runs the same swarm, the same retries included, at 1,
2, ... up to ``cpu_count()`` threads on the :class:`~atomics.KnowledgeBase` (insights with
ids, a step counted once by a compare-and-set, the best finding by a compare-and-set loop,
one subscriber summarising live) and on the article's structures as published, printing
wall time, speedup over one thread, insights, duplicates, lost updates and conflicts
detected.

>>> rows = run_agent_scaling([1, 2], iterations=2_000, repeats=1)
>>> [row.threads for row in rows]
[1, 2]
>>> result = run_swarm(KnowledgeBase(), threads=2, agents=3, steps=4, work=100)
>>> result.insights, result.duplicates, result.lost_updates, result.conflicts >= 3
(12, 0, 0, True)
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
from atomics.kb import Conflict, KnowledgeBase

__all__ = [
    "ArticleKnowledgeBase",
    "ArticleSwarmState",
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


class ArticleSwarmState:
    """The article's SwarmState: plain dicts shared by every agent, no lock -- as published.
    Agents read-decide-write ``shared_context`` (the best finding so far) and do
    ``counts["steps"] += 1``: on a free-threaded build both can lose updates."""

    def __init__(self) -> None:
        self.shared_context: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, int] = {"steps": 0}


@dataclass(frozen=True)
class SwarmResult:
    """One swarm run. ``duplicates``: insights stored twice because a step was retried;
    ``lost_updates``: step counts and best findings that concurrent writers overwrote;
    ``conflicts``: concurrent or repeated writes the knowledge base detected and refused or
    retried (the article's structures cannot detect any)."""

    threads: int
    seconds: float
    insights: int
    duplicates: int
    lost_updates: int
    conflicts: int
    summary: str


def _score(agent: int, step: int, work: int) -> int:
    """A step's finding: the reasoning's result, varied by step (so best findings change)."""
    return (agent_reasoning(agent + 1, work) + 7_919 * step * (agent + 1)) % 10_000


def run_swarm(
    kb: KnowledgeBase | ArticleKnowledgeBase,
    *,
    threads: int,
    agents: int,
    steps: int,
    work: int,
    retry_every: int = 4,
    progress: Any = None,
) -> SwarmResult:
    """Run ``agents`` research agents on ``threads`` threads (agent a on thread a % threads);
    each does ``steps`` steps of ``work`` reasoning iterations. Per step an agent records its
    finding, counts the step, and updates its field's best finding if it beat it. Every
    ``retry_every``-th step "times out" after its writes and is run again -- the same way
    for both knowledge bases (a retry is part of the workload, never staged as a race).

    With a KnowledgeBase: the finding is an insight with an id (a retry returns the stored
    one), the step is counted once (a ``done/<agent>/<step>`` key put with
    ``expected_version=None``: a retry gets ``Conflict``), and the best finding is a
    compare-and-set loop on ``best/<field>`` (a lost race gets ``Conflict`` and decides
    again); one subscriber thread summarises the findings live. With the article's knowledge
    base: its locked append for the finding, and its unlocked ``SwarmState`` dicts for the
    count and the best finding, exactly as published. ``progress(done, total)`` is called
    from the main thread while the swarm runs.
    """
    full = kb if isinstance(kb, KnowledgeBase) else None  # None: the article's base
    state = ArticleSwarmState()
    conflicts = [0] * threads  # one slot per thread: no two threads write the same slot
    if full is not None:
        full.world.register_reducer("steps-done", "sum")
        subscription = full.subscribe(prefix="research/", exclude_agent="summariser")
    seen = [0]

    def summarise() -> None:  # the live subscriber: on its own thread, never a writer's
        for event in subscription:
            if hasattr(event, "content"):
                seen[0] += 1

    def kb_step(t: int, name: str, field: str, step: int, finding: dict[str, Any]) -> None:
        assert full is not None
        full.add_insight(name, finding, topic=f"research/{field}", insight_id=f"{name}/{step}")
        try:
            full.world.put(f"done/{name}/{step}", True, agent_id=name, expected_version=None)
            full.world.merge("steps-done", 1, agent_id=name)
        except Conflict:
            conflicts[t] += 1  # a retried step: counted once already
        while True:  # read, decide, write -- if nobody wrote in between
            entry = full.world.get(f"best/{field}")
            if entry is not None and entry.value["score"] >= finding["score"]:
                return
            try:
                full.world.put(
                    f"best/{field}",
                    {"agent": name, **finding},
                    agent_id=name,
                    expected_version=None if entry is None else entry.version,
                )
                return
            except Conflict:
                conflicts[t] += 1  # another agent wrote first: read again, decide again

    def article_step(name: str, field: str, finding: dict[str, Any]) -> None:
        kb.add_insight(name, finding, topic=f"research/{field}")  # the locked append
        best = state.shared_context.get(field)  # read ...
        if best is None or finding["score"] > best["score"]:  # ... decide ...
            state.shared_context[field] = {"agent": name, **finding}  # ... write
        state.counts["steps"] += 1

    def agent(t: int, a: int) -> None:
        field = FIELDS[a % len(FIELDS)]
        name = f"agent-{a}"
        for step in range(steps):
            finding = {"step": step, "score": _score(a, step, work)}
            attempts = 2 if (step + 1) % retry_every == 0 else 1  # the retried step
            for _ in range(attempts):
                if full is not None:
                    kb_step(t, name, field, step, finding)
                else:
                    article_step(name, field, finding)

    def worker(t: int) -> None:
        start_line.wait()
        for a in range(t, agents, threads):
            agent(t, a)

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
    unique = agents * steps
    retries = agents * (steps // retry_every)
    true_best: dict[str, int] = {}
    for a in range(agents):
        field = FIELDS[a % len(FIELDS)]
        for step in range(steps):
            true_best[field] = max(true_best.get(field, -1), _score(a, step, work))
    if full is not None:
        stored = full.entry_count
        done = full.world.get("steps-done")
        lost = unique - (done.value if done else 0)  # each step counted once: none lost
        for field, score in true_best.items():
            entry = full.world.get(f"best/{field}")
            lost += entry is None or entry.value["score"] < score
        full.close()  # the subscriber drains, then ends
        assert reader is not None
        reader.join()
        summary = f"subscriber saw {seen[0]} findings"
    else:
        stored = kb.entry_count
        lost = (unique + retries) - state.counts["steps"]  # increments that vanished
        for field, score in true_best.items():
            best = state.shared_context.get(field)
            lost += best is None or best["score"] < score
        summary = ""
    return SwarmResult(threads, seconds, stored, stored - unique, lost, sum(conflicts), summary)


def main(
    threads: Sequence[int] | None = None,
    agents: int = 8,
    steps: int = 20,
    work: int = 150_000,
) -> int:
    """Print the runtime facts and the swarm table; return 1 if the KnowledgeBase lost an
    update or stored a duplicate (the article's rows may: that is what they show)."""
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
    retry_every = 4
    print(
        f"\n  {agents} agents x {steps} steps x {work:,} iterations of reasoning; every "
        f"{retry_every}th step times out and is retried ({agents * (steps // retry_every)} "
        f"retries per run);\n  threads: {', '.join(map(str, counts))}\n"
    )
    interactive = sys.stdout.isatty()  # progress only on a terminal: no \r in a pipe

    def show(label: str, threads: int) -> Any:
        def progress(done: int, total: int) -> None:
            print(f"\r  running {label} on {threads} threads: {done}/{total} insights", end="")
            sys.stdout.flush()

        return progress if interactive else None

    agent_reasoning(1, 4 * work)  # warm-up, so that the first row is not the slow one
    labels = ("KnowledgeBase", "article (as published)")
    results: dict[str, list[SwarmResult]] = {label: [] for label in labels}
    for count in counts:
        for label, make in zip(labels, (KnowledgeBase, ArticleKnowledgeBase), strict=True):
            result = run_swarm(
                make(),
                threads=count,
                agents=agents,
                steps=steps,
                work=work,
                retry_every=retry_every,
                progress=show(label, count),
            )
            results[label].append(result)
            if interactive:
                print("\r" + " " * 79 + "\r", end="")
    print(
        f"  {'knowledge base':22} {'threads':>7} {'seconds':>8} {'speedup':>8} {'insights':>9}"
        f" {'duplicates':>10} {'lost':>5} {'conflicts':>9}"
    )
    bad = False
    for label, rows in results.items():
        base = rows[0].seconds
        for row in rows:
            if label == "KnowledgeBase":
                bad |= row.lost_updates != 0 or row.duplicates != 0
            print(
                f"  {label:22} {row.threads:>7} {row.seconds:>8.2f} {base / row.seconds:>7.2f}x"
                f" {row.insights:>9} {row.duplicates:>10} {row.lost_updates:>5}"
                f" {row.conflicts:>9}"
            )
    print(f"\n  {results['KnowledgeBase'][-1].summary}")
    print(
        "  duplicates: insights stored twice by a retried step; lost: step counts and best"
        "\n  findings overwritten by a concurrent writer; conflicts: writes the knowledge base"
        "\n  caught (a retried step refused, a lost race decided again). The article's dicts"
        "\n  cannot catch any: a pattern that lost nothing in this run shows 0."
    )
    if info.free_threading_active:
        print(
            f"  Free threading is active: speedup should approach min(threads, {info.cpu_count})."
        )
    else:
        print("  The GIL is enabled: threads take turns, so speedup stays near 1x (and the")
        print("  article's unlocked dicts seldom lose updates; run `make demo` on 3.13t).")
    return 1 if bad else 0
