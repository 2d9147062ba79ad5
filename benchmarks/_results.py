"""Shared benchmark plumbing: timing threads from a common start, and writing raw results
to benchmarks/results/<name>-<interpreter>.json with the runtime facts (interpreter, GIL
state, CPU count) beside the figures.
"""

from __future__ import annotations

import json
import pathlib
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from atomics import runtime

RESULTS = pathlib.Path(__file__).parent / "results"


def save(name: str, payload: dict[str, Any]) -> pathlib.Path:
    """Write ``payload`` plus the runtime facts; return the file's path."""
    info = runtime.runtime_info()
    tag = f"{platform.python_version()}{'t' if info.gil_disabled_build else ''}"
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{tag}.json"
    out.write_text(json.dumps({"runtime": asdict(info), **payload}, indent=2) + "\n")
    print(f"raw results: {out}")
    return out


def time_threads(threads: int, prepare: Callable[[int], Callable[[], object]]) -> float:
    """Wall seconds for ``threads`` threads to run their bodies from a common start.

    ``prepare(t)`` runs in thread t before the start (so what it makes belongs to that
    thread) and returns the body to time.
    """
    start = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        body = prepare(t)
        start.wait()
        body()

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began


def rate_threads(
    threads: int, prepare: Callable[[int], Callable[[], int]], seconds: float
) -> float:
    """Aggregate operations per second of ``threads`` threads running for ``seconds``.

    ``prepare(t)`` runs in thread t before the common start (so what it makes belongs to
    that thread) and returns a step: it does a batch of operations and returns how many.
    Each thread repeats its step until the time is up; its last batch counts in full, and
    the rate divides by the time until the last thread stopped.
    """
    start = threading.Barrier(threads + 1)
    stop = threading.Event()
    done = [0] * threads

    def work(t: int) -> None:
        step = prepare(t)
        start.wait()
        count = 0
        while not stop.is_set():
            count += step()
        done[t] = count

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    stop.wait(seconds)  # a measurement window, not synchronisation: the threads poll `stop`
    stop.set()
    for worker in workers:
        worker.join()
    return sum(done) / (time.perf_counter() - began)
