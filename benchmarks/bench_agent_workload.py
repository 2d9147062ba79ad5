"""Benchmark: the CPU-bound agent workload at 1..2xCPU threads (the demo's table).

Writes raw results to benchmarks/results/agent_workload-<interpreter>.json and prints the
speedups as ratios to one thread. Medians of several repetitions; the interpreter, its GIL
state and the CPU count are recorded with the figures.

Run: ``python benchmarks/bench_agent_workload.py`` (``make bench`` runs it on both legs).
"""

from __future__ import annotations

from dataclasses import asdict

import _results
from atomics import demo, runtime


def main() -> None:
    info = runtime.runtime_info()
    counts = demo.thread_counts(info.cpu_count)
    rows = demo.run_agent_scaling(counts, iterations=300_000, repeats=5)
    print(f"{info.description}, {info.cpu_count} CPUs")
    for row in rows:
        print(f"  {row.threads:>3} threads: {row.speedup:5.2f}x one thread")
    _results.save("agent_workload", {"rows": [asdict(r) for r in rows]})


if __name__ == "__main__":
    main()
