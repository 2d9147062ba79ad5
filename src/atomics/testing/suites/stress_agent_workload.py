"""Long run: the agent workload in parallel threads computes what it computes alone.

Runs for its share of the suite budget (``stress_seconds``): rounds of 2x-CPU agent threads
released together, each result compared with the single-threaded reference.
"""

from __future__ import annotations

import sys
import threading
import time

from atomics import demo, runtime


def test_parallel_agents_match_sequential_reference(stress_seconds: float) -> None:
    threads = 2 * runtime.cpu_count()
    iterations = 50_000
    reference = [demo.agent_reasoning(i + 1, iterations) for i in range(threads)]
    deadline = time.monotonic() + stress_seconds
    rounds = 0
    while rounds == 0 or time.monotonic() < deadline:
        results = [0] * threads  # one slot per thread
        start_line = threading.Barrier(threads)

        def agent(
            index: int, results: list[int] = results, start_line: threading.Barrier = start_line
        ) -> None:
            start_line.wait(timeout=60)
            results[index] = demo.agent_reasoning(index + 1, iterations)

        workers = [threading.Thread(target=agent, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
            assert not worker.is_alive(), "agent thread hung"
        assert results == reference
        rounds += 1
    # a note, not a result: stdout is the stress command's table
    print(f"{rounds} rounds of {threads} agents on {runtime.describe()}", file=sys.stderr)
