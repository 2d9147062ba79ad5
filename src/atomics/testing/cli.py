"""``python -m atomics stress``: run the stress suites with progress lines and a summary.

Runs pytest (from the ``test`` extra) on the suites that ship with the package,
:mod:`atomics.testing.suites` (``--pyargs``), or on the paths given, with ``STRESS_SECONDS``
set to each suite's time budget. Each test prints a line to stderr when it starts (with its
share of the budget) and when it ends; at the end a table goes to stdout: per test the
operations run, histories checked, failures and the overlap (fraction of operations that
overlapped another thread's), taken with :func:`atomics.testing.stats.recording`.

Exit status: 0 every test passed; 1 a test failed (or the suites could not be collected);
2 usage (no tests found, a path that does not exist) or pytest/Hypothesis missing; 130
interrupted.

Thread-safety: one run per process at a time (it sets ``STRESS_SECONDS`` in the environment).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from atomics import runtime
from atomics.testing.stats import HarnessStats, recording

__all__ = ["SUITES", "run_stress"]

SUITES = "atomics.testing.suites"
"""The package whose ``stress_*.py`` modules are the shipped suites."""

_INSTALL_HINT = "pip install 'ft-atomics[test]'"


@dataclass
class _Row:
    test: str
    outcome: str
    seconds: float
    operations: int
    histories: int
    failures: int
    overlap: float


def _message(text: str) -> None:
    sys.stdout.flush()  # keep the order of what goes to stdout and stderr on one terminal
    print(text, file=sys.stderr, flush=True)


class _StressPlugin:
    """A pytest plugin: progress lines, and what the harness ran in each test."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.rows: list[_Row] = []
        self.names: dict[str, str] = {}
        self.budgets: dict[str, float] = {}
        self.total = 0
        self.started = 0
        self.interrupted = False
        self._began = 0.0
        self._recording: Any = None
        self._ran = HarnessStats()

    def pytest_collection_finish(self, session: Any) -> None:
        from atomics.testing.suites import share_of

        items = session.items
        self.total = len(items)
        paths = [item.path for item in items]
        for item in items:
            # module::test, whatever the rootdir: the suites may live in site-packages
            self.names[item.nodeid] = f"{item.path.name}::{item.nodeid.partition('::')[2]}"
            self.budgets[item.nodeid] = share_of(self.seconds, item.path, paths)

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        import pytest

        # pytest raises Session.Interrupted (a KeyboardInterrupt) itself when collection
        # failed: that is not the user's Ctrl-C
        self.interrupted = not isinstance(excinfo.value, pytest.Session.Interrupted)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.started += 1
        _message(
            f"[{self.started}/{self.total}] {self.names.get(nodeid, nodeid)} ... "
            f"({self.budgets.get(nodeid, self.seconds):.3g} s budget)"
        )

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
            test=self.names.get(report.nodeid, report.nodeid),
            outcome=report.outcome,
            seconds=time.perf_counter() - self._began,
            operations=ran.total_operations,
            histories=ran.histories_checked,
            failures=ran.failures,
            overlap=ran.overlap,
        )
        self.rows.append(row)
        _message(
            f"[{self.started}/{self.total}] {row.outcome.upper()} {row.test} "
            f"({row.seconds:.1f} s, {row.operations:,} ops, {row.histories:,} histories)"
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


def run_stress(
    paths: Sequence[str] = (),
    seconds: float | None = None,
    *,
    list_only: bool = False,
    prog: str = "python -m atomics stress",
) -> int:
    """Run the stress suites (``paths``, default the shipped :data:`SUITES`), ``seconds``
    per suite (default ``$STRESS_SECONDS``, else 60); return the exit status: 0 passed, 1 a
    test failed, 2 usage or the ``test`` extra missing, 130 interrupted.

    ``list_only``: print the tests that would run (pytest's ``--collect-only``), run none.
    """
    absent = [name for name in ("pytest", "hypothesis") if importlib.util.find_spec(name) is None]
    if absent:
        _message(
            f"{prog}: error: the stress suites need pytest and Hypothesis "
            f"({' and '.join(absent)} not installed): {_INSTALL_HINT}"
        )
        return 2
    import pytest

    from atomics.testing.suites import fixtures, suite_seconds

    if seconds is not None:
        os.environ["STRESS_SECONDS"] = str(seconds)
    try:
        budget = suite_seconds()
    except ValueError as error:
        _message(f"{prog}: error: {error}")
        return 2
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        _message(f"{prog}: error: no such file or folder: {', '.join(missing)}")
        return 2
    targets = ["--pyargs", SUITES] if not paths else list(paths)
    _message(
        f"atomics stress: {runtime.describe()}, {runtime.cpu_count()} CPUs, "
        f"STRESS_SECONDS={budget:g} per suite"
    )
    plugin = _StressPlugin(budget)
    status = pytest.main(
        [
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:atomics",  # the installed plugin's summary: this command prints its own
            "-o",
            "python_files=stress_*.py test_*.py *_test.py",
            "-o",
            "timeout=0",
            "-o",
            "faulthandler_timeout=0",
            "-o",
            "addopts=",
            "-W",  # atomics and Hypothesis are imported before pytest starts: no rewriting
            "ignore::pytest.PytestAssertRewriteWarning",
            *(["--collect-only"] if list_only else []),
            *targets,
        ],
        plugins=[plugin, fixtures],  # fixtures: stress_seconds for the paths given too
    )
    if plugin.interrupted:
        return 130
    if status == pytest.ExitCode.INTERRUPTED:  # Session.Interrupted: collection errors
        _message(f"{prog}: error: the suites could not be collected (errors above)")
        return 1
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        _message(f"{prog}: error: no tests found in {' '.join(paths) or SUITES}")
        return 2
    if status == pytest.ExitCode.USAGE_ERROR:
        _message(f"{prog}: error: pytest could not run (usage error above)")
        return 2
    if list_only:
        return 0 if status == pytest.ExitCode.OK else 1
    if plugin.rows:
        sys.stderr.flush()
        print("\n" + plugin.table(), flush=True)
    return 0 if status == pytest.ExitCode.OK else 1
