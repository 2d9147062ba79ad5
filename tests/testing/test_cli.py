"""python -m atomics stress: the shipped suites found from anywhere, progress lines on stderr
(with each test's share of the budget), the summary table on stdout, the exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SUITE = textwrap.dedent(
    """
    from atomics.testing import Call, assert_linearizable, bulk_stress, fixed_scenario
    from atomics.testing.controls import CounterModel, LockedCounter

    def test_linearizable():
        s = fixed_scenario([[Call("increment")] * 2] * 2, suffix=[Call("get")])
        # time_budget: all 10 runs, whatever the load (the default 1 s let a machine whose
        # cores were all busy, under scripts/flake-check, finish 7 of them)
        assert_linearizable(s, LockedCounter, CounterModel, invocations=10, time_budget=60)

    def test_bulk():
        c = LockedCounter()
        bulk_stress(lambda st, t, i: c.increment(), threads=2, operations=500)
        assert c.get() == 1000

    def test_fails():
        assert False
    """
)


SUITE_MODULES = (
    "stress_agent_workload",
    "stress_bounded_queue",
    "stress_bulk_controls",
    "stress_counters",
    "stress_harness_controls",
    "stress_knowledge_base",
    "stress_sharded_dict",
)


def stress(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atomics", "stress", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k != "STRESS_SECONDS"},
    )


def test_stress_command_prints_progress_and_summary(tmp_path: Path) -> None:
    suite = tmp_path / "test_suite.py"
    suite.write_text(SUITE)
    done = stress("--seconds", "1.5", str(suite), cwd=tmp_path)
    out, err = done.stdout, done.stderr
    assert done.returncode == 1, err  # one test fails on purpose: the status says so
    assert "STRESS_SECONDS=1.5 per suite" in err
    # one line as each test starts, with its share of the suite's budget, one as it ends
    assert "[1/3] test_suite.py::test_linearizable ... (0.5 s budget)" in err
    assert "[1/3] PASSED test_suite.py::test_linearizable (" in err
    assert "[3/3] test_suite.py::test_fails ... (0.5 s budget)" in err
    assert "[3/3] FAILED test_suite.py::test_fails (" in err
    assert "[1/3]" not in out and "budget" not in out  # progress is not a result
    table = out[out.index("operations") - 80 :]
    rows = {line.split()[0].split("::")[-1]: line.split() for line in table.splitlines()[2:]}
    assert rows["test_linearizable"][1] == "passed"
    assert int(rows["test_linearizable"][3].replace(",", "")) == 50  # 10 runs x 5 operations
    assert int(rows["test_linearizable"][4].replace(",", "")) >= 1  # histories checked
    assert int(rows["test_bulk"][3].replace(",", "")) == 1000
    assert rows["test_fails"][1] == "failed"


def test_stress_passing_exits_0(tmp_path: Path) -> None:
    suite = tmp_path / "test_ok.py"
    suite.write_text("def test_ok(stress_seconds):\n    assert stress_seconds == 2.0\n")
    done = stress("--seconds", "2", str(suite), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[1/1] PASSED test_ok.py::test_ok" in done.stderr


def test_the_shipped_suites_are_found_outside_a_checkout(tmp_path: Path) -> None:
    done = stress("--list", cwd=tmp_path)  # an empty folder: no stress/ to find
    assert done.returncode == 0, done.stdout + done.stderr
    for module in SUITE_MODULES:
        assert f"{module}.py::test_" in done.stdout, module
    assert "test_mpmc_moves_a_million_items_exactly_once_within_the_bound" in done.stdout
    assert "PASSED" not in done.stderr  # listed, not run


def test_a_missing_path_is_a_usage_error_without_a_table(tmp_path: Path) -> None:
    done = stress("--seconds", "1", "stress", cwd=tmp_path)
    assert done.returncode == 2
    assert "python -m atomics stress: error: no such file or folder: stress" in done.stderr
    assert "operations" not in done.stdout


def test_no_tests_is_a_usage_error_without_a_table(tmp_path: Path) -> None:
    (tmp_path / "test_empty.py").write_text("")
    done = stress("--seconds", "1", str(tmp_path / "test_empty.py"), cwd=tmp_path)
    assert done.returncode == 2
    assert "python -m atomics stress: error: no tests found in " in done.stderr
    assert "operations" not in done.stdout


def test_a_suite_that_cannot_be_collected_exits_1_not_interrupted(tmp_path: Path) -> None:
    """pytest stops on a collection error with Session.Interrupted: not the user's Ctrl-C."""
    (tmp_path / "test_syntax.py").write_text("def test_x(:\n    pass\n")
    done = stress("--seconds", "1", str(tmp_path / "test_syntax.py"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "interrupted" not in done.stderr.splitlines()[-1]
    assert "python -m atomics stress: error: the suites could not be collected" in done.stderr


def test_the_shipped_suites_print_notes_to_stderr_not_among_the_results() -> None:
    import ast

    from atomics.testing import suites

    for path in Path(suites.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                target = [k.value for k in node.keywords if k.arg == "file"]
                assert target and ast.unparse(target[0]) == "sys.stderr", (
                    f"{path.name}:{node.lineno}"
                )


def test_stress_seconds_must_be_a_positive_number(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "atomics", "stress", "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "STRESS_SECONDS": "soon"},
    )
    assert done.returncode == 2
    assert "STRESS_SECONDS must be a number of seconds, got 'soon'" in done.stderr


def test_a_plain_pytest_run_does_not_collect_the_suites() -> None:
    """src/atomics is in the test paths (doctests): the suites' modules, stress_*.py, are
    imported there but none of their tests runs outside the stress command."""
    from atomics.testing import suites

    folder = Path(suites.__file__).parent
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected, done.stdout  # the package's doctest
    assert not [line for line in collected if "::test_" in line]
