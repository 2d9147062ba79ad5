"""The pytest plugin (atomics.testing.pytest_plugin), run as users run it: pytest in a
subprocess on a small test file, through the ``pytest11`` entry point of the installed
package (``-p`` names the module where this checkout is not installed)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from atomics import runtime

INSTALLED = any(ep.name == "atomics" for ep in importlib.metadata.entry_points(group="pytest11"))
LOAD = [] if INSTALLED else ["-p", "atomics.testing.pytest_plugin"]


def pytest_run(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *LOAD, *args, "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


ABBA = """
    import threading
    from atomics import AtomicInteger

    def test_two_orders_one_after_the_other():
        a, b = AtomicInteger(), AtomicInteger()
        def ab():
            with a._lock, b._lock:
                pass
        def ba():
            with b._lock, a._lock:
                pass
        for target in (ab, ba):
            thread = threading.Thread(target=target)
            thread.start()
            thread.join(10)
"""


def test_help_lists_the_options_of_the_installed_plugin() -> None:
    if not INSTALLED and os.environ.get("CI") == "true":
        pytest.fail("the package is not installed in CI's environment: the plugin is not found")
    if not INSTALLED:
        pytest.skip("this checkout is not installed (pip install -e '.[test]' registers it)")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for option in (
        "--atomics-lockcheck",
        "--atomics-lockcheck-threading",
        "--atomics-hang-dump",
        "--atomics-stress-seconds",
        "--atomics-summary",
    ):
        assert option in out


def test_lockcheck_option_fails_a_test_that_inverts_a_lock_order(tmp_path: Path) -> None:
    assert pytest_run(tmp_path, ABBA).returncode == 0  # off by default: nothing hangs
    run = pytest_run(tmp_path, ABBA, "--atomics-lockcheck")
    assert run.returncode == 1, run.stdout
    assert "lock-order inversion" in run.stdout
    assert "in ab" in run.stdout and "in ba" in run.stdout  # both stacks


def test_lockcheck_marker_expects_the_findings_of_a_negative_control(tmp_path: Path) -> None:
    marked = ABBA.replace(
        "    def test_two_orders",
        "    import pytest\n\n"
        "    @pytest.mark.lockcheck(expect=['order'])\n    def test_two_orders",
    )
    assert pytest_run(tmp_path, marked).returncode == 0
    silent = marked.replace("with b._lock, a._lock:", "with a._lock, b._lock:")
    run = pytest_run(tmp_path, silent)
    assert run.returncode == 1 and "expected findings ['order'], saw []" in run.stdout


def test_free_threaded_only_marker(tmp_path: Path) -> None:
    run = pytest_run(
        tmp_path,
        """
        import pytest

        @pytest.mark.free_threaded_only
        def test_only_there():
            pass
        """,
        "-rs",
    )
    assert run.returncode == 0
    assert ("1 skipped" in run.stdout) == (not runtime.free_threading_active()), run.stdout


def test_hang_dump_writes_every_stack_and_the_locks_held(tmp_path: Path) -> None:
    run = pytest_run(
        tmp_path,
        """
        import threading
        from atomics import AtomicInteger

        def test_slow():
            n = AtomicInteger()
            with n._lock:
                threading.Event().wait(2)  # "hangs" for 2 s, holding the lock
        """,
        "--atomics-hang-dump=0.3",
        "--atomics-lockcheck",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "test_slow still running after 0.3 s" in run.stderr
    assert "in test_slow" in run.stderr  # the stack
    assert "holds CheckedLock#1 made at atomics/atomic_integer.py" in run.stderr


def test_summary_and_fixtures(tmp_path: Path) -> None:
    run = pytest_run(
        tmp_path,
        """
        from atomics.testing import Call, assert_linearizable, bulk_stress, fixed_scenario
        from atomics.testing.controls import CounterModel, LockedCounter

        def test_scenario(worker_pool, harness_stats):
            s = fixed_scenario([[Call("increment")], [Call("increment")]])
            assert_linearizable(s, LockedCounter, CounterModel, invocations=10, pool=worker_pool)
            assert harness_stats.invocations == 10

        def test_bulk(harness_stats):
            bulk_stress(lambda state, t, i: None, threads=2, operations=50)
            assert harness_stats.bulk_operations == 100

        def test_nothing(stress_seconds):
            assert stress_seconds == 0.5
        """,
        "--atomics-summary",
        "--atomics-stress-seconds=0.5",
    )
    assert run.returncode == 0, run.stdout
    assert "2 tests ran the harness: 1 scenarios, 10 invocations" in run.stdout
    assert "test_user.py::test_bulk" in run.stdout  # the per-test table
    assert "test_user.py::test_nothing" not in run.stdout


@pytest.mark.parametrize(
    ("markers", "message"),
    [
        ("@pytest.mark.lockcheck(expect='order')", "takes a list of kinds"),
        ("@pytest.mark.lockcheck(expect=['deadlock'])", "takes a list of kinds"),
        ("@pytest.mark.lockcheck(expect=['order'])\n@pytest.mark.no_lockcheck('x')", "choose one"),
    ],
)
def test_a_wrong_lockcheck_marker_is_a_usage_error(
    tmp_path: Path, markers: str, message: str
) -> None:
    source = "import pytest\n\n" + markers + "\ndef test_it():\n    pass\n"
    run = pytest_run(tmp_path, source)
    assert run.returncode != 0
    assert message in run.stdout + run.stderr


def test_the_hang_dump_adds_no_thread_a_test_can_see(tmp_path: Path) -> None:
    run = pytest_run(
        tmp_path,
        """
        import threading

        def test_no_leftover_threads():
            assert threading.enumerate() == [threading.main_thread()]
        """,
        "--atomics-hang-dump=30",
    )
    assert run.returncode == 0, run.stdout
