"""Benchmark: the CPU-bound agent workload at 1..2xCPU threads (the demo's table).

Writes raw results to benchmarks/results/agent_workload-<interpreter>.json and prints the
speedups as ratios to one thread. Medians of several repetitions; the interpreter, its GIL
state and the CPU count are recorded with the figures.

Run: ``python benchmarks/bench_agent_workload.py`` (``make bench`` runs it on both legs).
"""

from __future__ import annotations

import json
import pathlib
import platform
from dataclasses import asdict

from atomics import demo, runtime

RESULTS = pathlib.Path(__file__).parent / "results"


def main() -> None:
    info = runtime.runtime_info()
    counts = demo.thread_counts(info.cpu_count)
    rows = demo.run_agent_scaling(counts, iterations=300_000, repeats=5)
    tag = f"{platform.python_version()}{'t' if info.gil_disabled_build else ''}"
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"agent_workload-{tag}.json"
    out.write_text(
        json.dumps({"runtime": asdict(info), "rows": [asdict(r) for r in rows]}, indent=2) + "\n"
    )
    print(f"{info.description}, {info.cpu_count} CPUs")
    for row in rows:
        print(f"  {row.threads:>3} threads: {row.speedup:5.2f}x one thread")
    print(f"raw results: {out}")


if __name__ == "__main__":
    main()
