"""python -m atomics stress: progress lines and the summary table."""

from __future__ import annotations

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


def test_stress_command_prints_progress_and_summary(tmp_path: Path) -> None:
    suite = tmp_path / "test_suite.py"
    suite.write_text(SUITE)
    done = subprocess.run(
        [sys.executable, "-m", "atomics", "stress", "--seconds", "1", str(suite)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    out = done.stdout
    assert done.returncode == 1, out  # one test fails on purpose: the status says so
    assert "STRESS_SECONDS=1.0" in out
    assert "[1/3] PASSED" in out
    assert "[3/3] FAILED" in out
    table = out[out.index("operations") - 80 :]
    rows = {line.split()[0].split("::")[-1]: line.split() for line in table.splitlines()[2:]}
    assert rows["test_linearizable"][1] == "passed"
    assert int(rows["test_linearizable"][3].replace(",", "")) == 50  # 10 runs x 5 operations
    assert int(rows["test_linearizable"][4].replace(",", "")) >= 1  # histories checked
    assert int(rows["test_bulk"][3].replace(",", "")) == 1000
    assert rows["test_fails"][1] == "failed"
