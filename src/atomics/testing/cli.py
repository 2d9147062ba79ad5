"""``python -m atomics stress``: run the stress/ suites with a progress line and a summary.

Runs pytest (from the ``test`` extra) on the given paths (default ``stress/``), with
``STRESS_SECONDS`` set to the time budget of each suite. After each test it prints one
progress line, and at the end a table: per test, the operations run, histories checked,
failures and the overlap (fraction of operations that overlapped another thread's), taken
recorded with :func:`atomics.testing.stats.recording`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from atomics import runtime
from atomics.testing.stats import HarnessStats, recording

__all__ = ["run_stress"]


@dataclass
class _Row:
    test: str
    outcome: str
    seconds: float
    operations: int
    histories: int
    failures: int
    overlap: float


class _StressPlugin:
    """A pytest plugin: record what the harness ran in each test."""

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.total = 0
        self._began = 0.0
        self._recording: Any = None
        self._ran = HarnessStats()

    def pytest_collection_finish(self, session: Any) -> None:
        self.total = len(session.items)

    def pytest_runtest_setup(self, item: Any) -> None:
        self._began = time.perf_counter()
        self._recording = recording()
        self._ran = self._recording.__enter__()

    def pytest_runtest_teardown(self, item: Any) -> None:
        if self._recording is not None:
            self._recording.__exit__(None, None, None)
            self._recording = None

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
            return
        ran = self._ran
        row = _Row(
            test=report.nodeid,
            outcome=report.outcome,
            seconds=time.perf_counter() - self._began,
            operations=ran.total_operations,
            histories=ran.histories_checked,
            failures=ran.failures,
            overlap=ran.overlap,
        )
        self.rows.append(row)
        print(
            f"\n[{len(self.rows)}/{self.total}] {row.outcome.upper():7} {row.test} "
            f"({row.seconds:.1f}s, {row.operations:,} ops, {row.histories:,} histories)",
            flush=True,
        )

    def table(self) -> str:
        head = (
            f"{'test':60} {'result':>7} {'seconds':>8} {'operations':>12} "
            f"{'histories':>10} {'failures':>8} {'overlap':>7}"
        )
        lines = [head, "-" * len(head)]
        for r in self.rows:
            name = r.test if len(r.test) <= 60 else "..." + r.test[-57:]
            lines.append(
                f"{name:60} {r.outcome:>7} {r.seconds:8.1f} {r.operations:12,} "
                f"{r.histories:10,} {r.failures:8} {r.overlap:7.0%}"
            )
        return "\n".join(lines)


def run_stress(paths: Sequence[str] = ("stress",), seconds: float | None = None) -> int:
    """Run the stress suites; return pytest's exit status."""
    try:
        import pytest
    except ImportError:
        print("python -m atomics stress needs pytest: pip install 'ft-atomics[test]'")
        return 2
    if seconds is not None:
        os.environ["STRESS_SECONDS"] = str(seconds)
    budget = os.environ.get("STRESS_SECONDS", "60")
    print(
        f"atomics stress: {runtime.describe()}, {runtime.cpu_count()} CPUs, "
        f"STRESS_SECONDS={budget}",
        flush=True,
    )
    plugin = _StressPlugin()
    status = pytest.main(
        [
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:atomics",  # the installed plugin's summary: this command prints its own
            "-o",
            "timeout=0",
            "-o",
            "faulthandler_timeout=0",
            "-o",
            "addopts=",
            *paths,
        ],
        plugins=[plugin],
    )
    print("\n" + plugin.table())
    return int(status)
