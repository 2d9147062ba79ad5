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
