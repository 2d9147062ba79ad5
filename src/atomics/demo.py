"""``python -m atomics demo``: what free threading buys a CPU-bound agent swarm.

The workload is the one from the article that promised ``threading.AtomicInteger``: every
"agent" runs a pure-Python CPU-bound reasoning loop. With the GIL, N agent threads take N
times as long as one; on a free-threaded build they run in parallel, up to the core count.

The demo runs 1, 2, 4, ... agents on as many threads (each agent doing the same fixed work),
repeats each size, and prints aggregate throughput relative to one thread, with the runtime
facts the figures depend on. It replaces the article's runtime check, which reads the
non-existent ``sys.flags.nogil`` and so reports "False" on every build.

>>> rows = run_agent_scaling([1, 2], iterations=2_000, repeats=1)
>>> [row.threads for row in rows]
[1, 2]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from atomics import runtime

__all__ = ["ScalingRow", "agent_reasoning", "main", "run_agent_scaling", "thread_counts"]


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
        rows.append(ScalingRow(threads, seconds, rate, speedup, speedup / threads))
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


def main(iterations: int = 2_000_000, repeats: int = 5, max_threads: int | None = None) -> None:
    """Print the runtime facts and the agent speedup table."""
    info = runtime.runtime_info()
    print("atomics demo: CPU-bound agent swarm, one agent per thread")
    print(f"  interpreter            {info.description}")
    print(f"  executable             {info.executable}")
    print(f"  Py_GIL_DISABLED build  {info.gil_disabled_build}")
    print(f"  GIL enabled (live)     {info.gil_enabled}")
    print(f"  free threading active  {info.free_threading_active}")
    print(f"  CPUs available         {info.cpu_count}")
    nogil_flag = "present" if hasattr(sys.flags, "nogil") else "does not exist"
    print(f"  sys.flags.nogil        {nogil_flag} (the article's check, which always read False)")
    counts = thread_counts(info.cpu_count)
    if max_threads is not None:
        counts = [c for c in counts if c <= max_threads] or [1]
    print(f"\n  {iterations:,} iterations per agent, median of {repeats} runs\n")
    print(f"  {'threads':>7}  {'seconds':>8}  {'M iters/s':>9}  {'speedup':>7}  {'per thread':>10}")
    for row in run_agent_scaling(counts, iterations=iterations, repeats=repeats):
        print(
            f"  {row.threads:>7}  {row.median_seconds:>8.3f}  {row.ops_per_second / 1e6:>9.2f}"
            f"  {row.speedup:>6.2f}x  {row.efficiency:>9.0%}"
        )
    if info.free_threading_active:
        cpus = info.cpu_count
        print(f"\n  Free threading is active: speedup should approach min(threads, {cpus}).")
    else:
        print("\n  The GIL is enabled: threads take turns, so speedup stays near 1x.")
        print("  Run `make demo` to see the same workload on a free-threaded build.")
