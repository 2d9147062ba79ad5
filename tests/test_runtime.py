"""atomics.runtime: the build and live GIL facts, and `python -m atomics info`."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from atomics import runtime

EXPECT_LEG = os.environ.get("ATOMICS_EXPECT_LEG", "")
FT_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def _run_python(code: str, **env: str) -> str:
    environment = {**os.environ, **env}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_build_check_matches_sysconfig() -> None:
    assert runtime.gil_disabled_build() is FT_BUILD


def test_live_check_matches_sys() -> None:
    expected = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    assert runtime.gil_enabled() is expected


def test_free_threading_active_is_build_and_live() -> None:
    assert runtime.free_threading_active() is (FT_BUILD and not runtime.gil_enabled())


@pytest.mark.skipif(EXPECT_LEG != "free-threaded", reason="only the free-threaded leg of make test")
def test_free_threaded_leg_runs_without_gil() -> None:
    assert runtime.gil_disabled_build()
    assert not runtime.gil_enabled()
    assert runtime.free_threading_active()
    assert runtime.describe().endswith("free-threaded, GIL disabled")


GIL_LEG = EXPECT_LEG == "gil" or EXPECT_LEG.startswith("gil-")
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.mark.skipif(not GIL_LEG, reason="only the GIL legs of make test")
def test_gil_leg_reports_gil() -> None:
    assert runtime.gil_enabled()
    assert not runtime.gil_disabled_build()
    assert not runtime.free_threading_active()
    assert runtime.describe().endswith(", GIL enabled")
    if EXPECT_LEG != "gil":
        assert f"gil-{VERSION}" == EXPECT_LEG


def _conftest(config: pytest.Config) -> Any:
    path = Path(__file__).with_name("conftest.py")
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(path):
            return plugin
    raise AssertionError(f"{path} is not a loaded plugin")


def test_leg_check_fails_a_leg_run_by_the_wrong_interpreter(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    conftest = _conftest(request.config)
    gil_build = not runtime.gil_disabled_build() and runtime.gil_enabled()

    def problem(leg: str) -> str | None:
        monkeypatch.setattr(conftest, "EXPECT_LEG", leg)
        result: str | None = conftest._leg_problem()
        return result

    assert (problem("free-threaded") is None) is runtime.free_threading_active()
    assert (problem("gil") is None) is gil_build
    assert (problem(f"gil-{VERSION}") is None) is gil_build
    wrong = problem("gil-3.9")
    assert wrong is not None
    assert ("gil-3.9" in wrong) is gil_build
    assert "unknown ATOMICS_EXPECT_LEG" in (problem("gil3.11") or "")
    assert problem("") is None


@pytest.mark.skipif(not FT_BUILD, reason="PYTHON_GIL has no effect on a GIL build")
def test_python_gil_env_flips_live_status() -> None:
    code = (
        "from atomics import runtime; print(runtime.gil_enabled(), runtime.free_threading_active())"
    )
    assert _run_python(code, PYTHON_GIL="1") == "True False"
    assert _run_python(code, PYTHON_GIL="0") == "False True"


def test_gil_build_ignores_python_gil_env() -> None:
    code = "from atomics import runtime; print(runtime.gil_disabled_build())"
    assert _run_python(code, PYTHON_GIL="1") == str(FT_BUILD)


def test_cpu_count() -> None:
    count = runtime.cpu_count()
    assert isinstance(count, int)
    assert count >= 1
    if hasattr(os, "process_cpu_count"):
        assert count == (os.process_cpu_count() or 1)
    elif hasattr(os, "sched_getaffinity"):
        assert count == len(os.sched_getaffinity(0))


def test_describe_names_interpreter_and_state() -> None:
    text = runtime.describe()
    assert sys.version.split()[0] in text
    assert ("free-threaded" in text) is FT_BUILD
    assert text.endswith("GIL enabled") is runtime.gil_enabled()


def test_runtime_info_is_consistent() -> None:
    info = runtime.runtime_info()
    assert info.description == runtime.describe()
    assert info.free_threading_active is runtime.free_threading_active()
    assert info.executable == sys.executable


def test_cli_info() -> None:
    out = _run_python(
        "import runpy, sys; sys.argv = ['atomics', 'info']; "
        "runpy.run_module('atomics', run_name='__main__')"
    )
    lines = out.splitlines()
    assert lines[0] == runtime.describe()
    assert f"free_threading_active: {runtime.free_threading_active()}" in lines
    assert f"cpu_count:             {runtime.cpu_count()}" in lines


def test_cli_demo_prints_facts_and_the_swarm_table() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "atomics",
            "demo",
            "--threads",
            "1,2",
            "--agents",
            "3",
            "--steps",
            "4",
            "--work",
            "2000",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert runtime.describe() in out and "sys._is_gil_enabled()" in out
    assert f"sys._is_gil_enabled()  {runtime.gil_enabled()}" in out
    assert "\r" not in out  # piped: no progress line
    rows = [line.split() for line in out.splitlines()]
    table = [row for row in rows if len(row) >= 8 and row[-7].isdigit() and row[-5].endswith("x")]
    # (threads, insights, duplicates, lost, conflicts) for both knowledge bases: 3 agents x 4
    # steps, the 4th step of each retried -- the KnowledgeBase stores 12, refuses 3 retries
    kb_rows = [(r[-7], r[-4], r[-3], r[-2]) for r in table if r[0] == "KnowledgeBase"]
    assert kb_rows == [("1", "12", "0", "0"), ("2", "12", "0", "0")]
    assert all(int(r[-1]) >= 3 for r in table if r[0] == "KnowledgeBase")
    article = [(r[-7], r[-4], r[-3]) for r in table if r[0] == "article"]
    assert article == [("1", "15", "3"), ("2", "15", "3")]  # the retries stored twice
    assert table[0][-5] == "1.00x" and "subscriber saw 12 findings" in out


def test_cli_demo_rejects_bad_arguments() -> None:
    for args in (["--threads", "0"], ["--threads", "a,b"], ["--agents", "0"]):
        done = subprocess.run(
            [sys.executable, "-m", "atomics", "demo", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and "demo" in done.stderr


def test_cli_rejects_unknown_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "atomics", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
