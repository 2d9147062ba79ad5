"""Benchmark: the CPU-bound agent workload at 1..2xCPU threads (the demo's table).

Writes a new run file under benchmarks/results/runs/ (see benchmarks/README.md); prints the
speedups as ratios to one thread. Medians of several repetitions; the interpreter, its GIL
state and the CPU count are recorded with the figures.

Run: ``python benchmarks/bench_agent_workload.py`` (``make bench`` runs it on both legs).
"""

from __future__ import annotations

import _results
from atomics import demo, runtime


def main() -> None:
    info = runtime.runtime_info()
    counts = demo.thread_counts(info.cpu_count)
    iterations, repeats = 2_000_000, 5  # the demo's default work per agent
    rows = demo.run_agent_scaling(counts, iterations=iterations, repeats=repeats)
    print(f"{info.description}, {info.cpu_count} CPUs")
    for row in rows:
        print(f"  {row.threads:>3} threads: {row.speedup:5.2f}x one thread")
    _results.save(
        "agent_workload",
        [
            _results.cell(
                {"threads": row.threads},
                "iterations_per_second",
                [row.threads * iterations / s for s in row.seconds_samples],
                unit="iterations/s",
            )
            for row in rows
        ],
        parameters={"iterations": iterations, "repeats": repeats, "thread_counts": counts},
        derived={f"speedup_{row.threads}t": row.speedup for row in rows},
    )


if __name__ == "__main__":
    main()
