"""The demo across processes: ``python -m atomics demo --backend redis://...`` runs the
Research Swarm with its agents in several processes sharing one KnowledgeBase on Redis --
nothing lost, nothing duplicated, the namespace dropped -- and an unreachable server or a
bad URL is a one-line error with an exit status, never a traceback or a hang."""

from __future__ import annotations

import importlib.util
import os
import queue
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

import _redis
from atomics import demo

HAVE_CLIENT = importlib.util.find_spec("redis") is not None


def _demo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atomics", "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _leftover(url: str, pattern: str) -> list[str]:
    import redis

    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
    try:
        return list(client.scan_iter(match=pattern, count=1000))
    finally:
        client.close()


def test_swarm_across_processes_loses_and_duplicates_nothing() -> None:
    url = _redis.url()
    # 2 processes x 2 threads; 6 agents x 8 steps, every 4th step retried (12 retries)
    result = demo.run_swarm_processes(url, processes=2, threads=2, agents=6, steps=8, work=2_000)
    assert (result.processes, result.threads) == (2, 2)
    assert (result.insights, result.duplicates, result.lost_updates) == (48, 0, 0)
    assert result.conflicts >= 12  # every retry refused (and any lost race decided again)
    assert result.summary == "subscriber (in the parent process) saw 48 findings"
    # the run's namespace is dropped (this process's runs are named after its pid)
    assert _leftover(url, f"{{atomics-demo-{os.getpid()}-*") == []


def test_cli_demo_with_redis_backend_prints_the_table() -> None:
    url = _redis.url()
    done = _demo("--backend", url, "--processes", "1,2", "--agents", "3", "--steps", "4")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "sys._is_gil_enabled()" in out and "\r" not in out
    rows = [line.split() for line in out.splitlines()]
    # knowledge base, processes, threads, seconds, speedup, insights, duplicates, lost, conflicts
    table = [r[2:] for r in rows if r[:2] == ["KnowledgeBase", "(Redis)"]]
    assert [(r[0], r[1], r[4], r[5], r[6]) for r in table] == [
        ("1", "1", "12", "0", "0"),
        ("2", "1", "12", "0", "0"),
    ]
    assert table[0][3] == "1.00x" and all(int(r[7]) >= 3 for r in table)
    assert "saw 12 findings" in out
    assert _leftover(url, "{atomics-demo-*") == []  # every run's namespace dropped


def test_cli_demo_unreachable_server_is_one_line_and_exit_1() -> None:
    done = _demo("--backend", "redis://user:secret@127.0.0.1:1/0", "--connect-timeout", "1")
    assert done.returncode == 1
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].startswith("python -m atomics demo: error: ")
    if HAVE_CLIENT:
        assert "redis://user:***@127.0.0.1:1/0" in errors[0] and "unreachable" in errors[0]
    else:
        assert "ft-atomics[redis]" in errors[0]
    assert "secret" not in done.stderr + done.stdout  # never the password


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "http://example.com"], "redis://"),
        (["--processes", "2"], "--processes needs --backend"),
        (["--backend", "redis://127.0.0.1:1/0", "--processes", "0"], "at least 1"),
        (["--backend", "redis://127.0.0.1:1/0", "--connect-timeout", "0"], "positive"),
    ],
)
def test_cli_demo_rejects_bad_backend_arguments(args: list[str], message: str) -> None:
    done = _demo(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not HAVE_CLIENT, reason="the redis client parses the URL")
def test_cli_demo_unparsable_url_is_exit_2() -> None:
    done = _demo("--backend", "redis://host:notaport/0", "--connect-timeout", "1")
    errors = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(errors) == 1 and "bad --backend URL" in errors[0]


@dataclass
class _Exited:
    """A child process that exited with ``exitcode`` (for ``_collect``)."""

    exitcode: int

    def is_alive(self) -> bool:
        return False


def test_a_process_that_exits_without_reporting_is_an_error_not_a_hang() -> None:
    reports: queue.Queue[tuple[str, int, int]] = queue.Queue()
    reports.put(("ready", 0, 0))
    with pytest.raises(demo.BackendError, match="process 1 exited \\(code 3\\)"):
        demo._collect(reports, [_Exited(0), _Exited(3)], "ready", timeout=30)


def test_a_process_error_report_is_an_error() -> None:
    reports: queue.Queue[tuple[str, int, str]] = queue.Queue()
    reports.put(("error", 1, "StorageUnavailable: Redis at redis://x unreachable\nfor 10 s"))
    with pytest.raises(demo.BackendError) as caught:
        demo._collect(reports, [_Exited(0), _Exited(1)], "done", timeout=None)
    assert str(caught.value) == (
        "agent process 1: StorageUnavailable: Redis at redis://x unreachable for 10 s"
    )


def test_server_killed_mid_run_is_an_error_not_a_hang() -> None:
    _redis.url()  # skips (fails in CI) without a redis-server or the client
    from atomics.kb.storage.local_redis import LocalRedis

    server = LocalRedis().start()  # our own: this test kills it
    try:
        killed: list[float] = []

        def progress(done: int, total: int) -> None:  # the parent's tick, every 0.25 s
            if done >= 4 and server.process is not None:
                server.kill()  # insights stored: the run is under way
                killed.append(time.monotonic())

        with pytest.raises(demo.BackendError, match="unreachable"):
            demo.run_swarm_processes(
                server.url,
                processes=2,
                agents=4,
                steps=100_000,  # far longer than the test: only the kill ends it
                work=2_000,
                connect_timeout=2.0,
                retry_timeout=2.0,
                progress=progress,
            )
        # bounded from the kill (the start of processes is not what is measured: under a
        # CPU hog it alone took 30 s): retry_timeout, then the error reaches the parent
        assert killed and time.monotonic() - killed[0] < 30
    finally:
        server.stop()
