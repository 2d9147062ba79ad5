"""The pytest plugin of :mod:`atomics.testing` (loaded by pytest when ``ft-atomics`` is
installed, through the ``pytest11`` entry point ``atomics``; ``-p no:atomics`` turns it off).

Options (``pytest --help``, group "atomics.testing"):

``--atomics-lockcheck``
    run every test under the lock-order checker (:mod:`atomics.testing.lockcheck`): the
    package's locks made during the test are instrumented, and a test whose run showed a
    potential deadlock fails at teardown with the report;
``--atomics-lockcheck-threading``
    with it, also instrument every ``threading.Lock``/``RLock`` made during each test
    (user code, ``queue.Queue``, ...);
``--atomics-hang-dump=SECONDS``
    when a test is still running after SECONDS, write every thread's stack -- and, under
    the lock-order checker, what each thread holds and waits for -- to stderr (the test goes
    on: pair it with a hard limit such as pytest-timeout's);
``--atomics-stress-seconds=SECONDS``
    the budget the ``stress_seconds`` fixture gives (default ``$STRESS_SECONDS``, else 60);
``--atomics-summary``
    after the run, one line per test that ran the harness: scenarios, invocations,
    histories checked, operations, overlap (the totals line is always printed when the
    harness ran).

Markers: ``free_threaded_only`` (skipped unless the GIL is disabled: a test that can only
fail on a free-threaded build), ``lockcheck(patch_threading=False, expect=())`` (run this
test under the checker; ``expect`` lists the kinds of finding the test must produce -- for
negative controls -- and any other finding fails it), ``no_lockcheck(reason)`` (never under
the checker: for a test that measures what the instrumentation changes, such as where a
signal can land inside ``Lock.acquire``).

Fixtures: ``lockcheck`` (the test's :class:`~atomics.testing.lockcheck.LockOrderChecker`,
checking for this test whether or not the option is given), ``worker_pool`` (a
:class:`~atomics.testing.WorkerPool` of 4 threads, closed after the test; make your own
for other sizes), ``stress_seconds`` (a bulk-stress loop's time budget, for
:func:`atomics.testing.bulk.rounds`), ``harness_stats`` (a
:class:`~atomics.testing.stats.HarnessStats` of what the harness ran in this test so far).
"""

from __future__ import annotations

import _thread
import faulthandler
import os
import sys
from collections.abc import Generator, Iterator
from typing import Any, get_args

import pytest

from atomics import runtime
from atomics.testing.lockcheck import FindingKind, LockOrderChecker, describe_locks, watching
from atomics.testing.runner import WorkerPool
from atomics.testing.stats import HarnessStats, recording

_RAN = pytest.StashKey[HarnessStats]()
_CHECKER = pytest.StashKey[LockOrderChecker]()
_STDERR = pytest.StashKey[int]()
_KINDS = frozenset(get_args(FindingKind))
_ROWS = pytest.StashKey[list[tuple[str, HarnessStats]]]()  # per test that ran the harness


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the plugin's options (``pytest --help``, group "atomics.testing")."""
    group = parser.getgroup("atomics.testing", "atomics.testing (ft-atomics)")
    group.addoption(
        "--atomics-lockcheck",
        action="store_true",
        help="run every test under the lock-order checker; a potential deadlock fails it",
    )
    group.addoption(
        "--atomics-lockcheck-threading",
        action="store_true",
        help="with --atomics-lockcheck: also check every threading.Lock/RLock made in a test",
    )
    group.addoption(
        "--atomics-hang-dump",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="dump every thread's stack (and lock holdings) when a test runs longer (0: off)",
    )
    group.addoption(
        "--atomics-stress-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="the time budget of the stress_seconds fixture (default: $STRESS_SECONDS or 60)",
    )
    group.addoption(
        "--atomics-summary",
        action="store_true",
        help="print what the harness ran in each test (scenarios, invocations, overlap)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers and keep a copy of the real stderr for hang dumps."""
    config.stash[_ROWS] = []
    # the real stderr, for hang dumps written while a test runs (its output is captured);
    # pytest's capture is suspended here (as pytest's own faulthandler plugin relies on)
    config.stash[_STDERR] = os.dup(sys.__stderr__.fileno()) if sys.__stderr__ else -1
    config.addinivalue_line(
        "markers",
        "free_threaded_only: the test can only fail on a free-threaded build (skipped with "
        "the GIL)",
    )
    config.addinivalue_line(
        "markers",
        "lockcheck(patch_threading=False, expect=()): run the test under the lock-order "
        "checker; expect lists the kinds of finding it must produce",
    )
    config.addinivalue_line(
        "markers",
        "no_lockcheck(reason): never run this test under the lock-order checker (the test "
        "measures something the instrumentation changes)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the stderr copy that :func:`pytest_configure` made."""
    fd = config.stash.get(_STDERR, -1)
    if fd >= 0:
        os.close(fd)
        config.stash[_STDERR] = -1


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a ``free_threaded_only`` test unless the GIL is disabled."""
    if item.get_closest_marker("free_threaded_only") and not runtime.free_threading_active():
        pytest.skip(f"free-threaded only (this is {runtime.describe()})")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    """Run each test recording what the harness runs in it (for ``harness_stats`` and the
    summary), with the ``--atomics-hang-dump`` watchdog when that option is given."""
    seconds = float(item.config.getoption("atomics_hang_dump") or 0.0)
    finished = _thread.allocate_lock()
    finished.acquire()
    if seconds > 0:
        # a bare thread: not in threading.enumerate(), so a test that checks for leftover
        # threads does not see it
        _thread.start_new_thread(
            _watchdog, (item.nodeid, seconds, finished, item.config.stash.get(_STDERR, -1))
        )
    try:
        with recording() as ran:
            item.stash[_RAN] = ran
            return (yield)
    finally:
        finished.release()
        if ran.scenarios or ran.total_operations:
            item.config.stash[_ROWS].append((item.nodeid, ran))


def _watchdog(nodeid: str, seconds: float, finished: Any, fd: int) -> None:
    if finished.acquire(timeout=seconds) or fd < 0:
        return
    os.write(fd, f"\n+++ atomics: {nodeid} still running after {seconds:g} s\n".encode())
    faulthandler.dump_traceback(fd, all_threads=True)
    os.write(fd, describe_locks().encode())


@pytest.fixture(autouse=True)
def _atomics_lockcheck(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    marker = request.node.get_closest_marker("lockcheck")
    config = request.config
    off = request.node.get_closest_marker("no_lockcheck") is not None
    if off and marker is not None:
        raise pytest.UsageError(
            f"{request.node.nodeid}: both lockcheck and no_lockcheck markers: choose one"
        )
    if off or (marker is None and not config.getoption("atomics_lockcheck")):
        yield
        return
    options = dict(marker.kwargs) if marker is not None else {}
    patch = bool(options.pop("patch_threading", config.getoption("atomics_lockcheck_threading")))
    expect = options.pop("expect", ())
    if options or (marker is not None and marker.args):
        raise pytest.UsageError(f"{request.node.nodeid}: lockcheck marker: unknown {marker}")
    if isinstance(expect, str) or not all(kind in _KINDS for kind in expect):
        raise pytest.UsageError(
            f"{request.node.nodeid}: lockcheck(expect=...) takes a list of kinds out of "
            f"{sorted(_KINDS)}, got {expect!r}"
        )
    expect = sorted(set(expect))
    with watching(patch_threading=patch) as checker:
        request.node.stash[_CHECKER] = checker
        yield
    kinds = sorted({finding.kind for finding in checker.findings})
    if kinds != expect:
        report = "\n\n".join(map(str, checker.findings)) or "(nothing)"
        pytest.fail(
            f"lock-order checker: expected findings {expect}, saw {kinds}:\n{report}",
            pytrace=False,
        )


@pytest.fixture
def lockcheck(request: pytest.FixtureRequest) -> Iterator[LockOrderChecker]:
    """The lock-order checker of this test (see :mod:`atomics.testing.lockcheck`): checking
    whether or not ``--atomics-lockcheck`` was given; the test asserts on its findings."""
    checker = request.node.stash.get(_CHECKER, None)
    if checker is not None:
        yield checker
        return
    with watching() as checker:
        yield checker


@pytest.fixture
def worker_pool() -> Iterator[WorkerPool]:
    """A :class:`~atomics.testing.WorkerPool` of 4 threads for this test, closed after it."""
    with WorkerPool(4) as pool:
        yield pool


@pytest.fixture
def stress_seconds(request: pytest.FixtureRequest) -> float:
    """The time budget of a bulk-stress or search loop in this test, in seconds
    (``--atomics-stress-seconds``, else ``$STRESS_SECONDS``, else 60): use it with
    :func:`atomics.testing.bulk.rounds` so that CI and a long soak run the same test."""
    given = request.config.getoption("atomics_stress_seconds")
    seconds = float(given if given is not None else os.environ.get("STRESS_SECONDS", "60"))
    if not seconds > 0:
        raise pytest.UsageError(f"the stress time budget must be positive, got {seconds}")
    return seconds


@pytest.fixture
def harness_stats(request: pytest.FixtureRequest) -> HarnessStats:
    """What the harness has run in this test so far (updated as it runs)."""
    ran: HarnessStats = request.node.stash[_RAN]
    return ran


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the "atomics.testing" section: the harness's totals, and with
    ``--atomics-summary`` one line per test that ran it (nothing if no test did)."""
    rows = config.stash.get(_ROWS, [])
    if not rows:
        return
    total = HarnessStats()
    for _, ran in rows:
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(ran, name))
    write = terminalreporter.write_line
    terminalreporter.section("atomics.testing")
    if config.getoption("atomics_summary"):
        write(
            f"{'test':58} {'scen.':>6} {'invoc.':>8} {'histories':>9} {'operations':>11} "
            f"{'overlap':>7}"
        )
        for nodeid, ran in rows:
            name = nodeid if len(nodeid) <= 58 else "..." + nodeid[-55:]
            write(
                f"{name:58} {ran.scenarios:6} {ran.invocations:8,} {ran.histories_checked:9,} "
                f"{ran.total_operations:11,} {ran.overlap:7.0%}"
            )
    write(
        f"{len(rows)} tests ran the harness: {total.scenarios:,} scenarios, "
        f"{total.invocations:,} invocations, {total.histories_checked:,} histories checked, "
        f"{total.total_operations:,} operations, {total.overlap:.0%} overlapping "
        f"({runtime.describe()})"
    )
