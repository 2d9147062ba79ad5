"""``python -m atomics stress``: run the stress/ suites with a progress line and a summary.

Runs pytest (from the ``test`` extra) on the given paths (default ``stress/``), with
``STRESS_SECONDS`` set to the time budget of each suite. After each test it prints one
progress line, and at the end a table: per test, the operations run, histories checked,
failures and the overlap (fraction of operations that overlapped another thread's), taken
from :data:`atomics.testing.stats`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from atomics import runtime
from atomics.testing.stats import stats

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
    """A pytest plugin: snapshot the harness totals around each test."""

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.total = 0
        self._began = 0.0
        self._before: dict[str, Any] = {}

    def pytest_collection_finish(self, session: Any) -> None:
        self.total = len(session.items)

    def pytest_runtest_setup(self, item: Any) -> None:
        self._began = time.perf_counter()
        self._before = dict(vars(stats))

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
            return
        after, before = vars(stats), self._before
        checked = after["checked_operations"] - before.get("checked_operations", 0)
        bulk = after["bulk_operations"] - before.get("bulk_operations", 0)
        overlapping = (
            after["overlapping_operations"]
            - before.get("overlapping_operations", 0)
            + after["bulk_overlapping"]
            - before.get("bulk_overlapping", 0.0)
        )
        row = _Row(
            test=report.nodeid,
            outcome=report.outcome,
            seconds=time.perf_counter() - self._began,
            operations=after["operations"] - before.get("operations", 0) + bulk,
            histories=after["histories_checked"] - before.get("histories_checked", 0),
            failures=after["failures"] - before.get("failures", 0),
            overlap=overlapping / (checked + bulk) if checked + bulk else 0.0,
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
