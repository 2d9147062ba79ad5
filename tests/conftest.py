"""Shared test configuration: name the leg, and fail a leg that ran under the wrong GIL state.

``make test`` runs this suite once per leg and tells each run which leg it is through
``ATOMICS_EXPECT_LEG``: "free-threaded", or "gil-X.Y" for the GIL CPython X.Y legs ("gil"
alone: any GIL interpreter). A free-threaded leg whose GIL is (or becomes) enabled --
``PYTHON_GIL=1``, or an extension module that re-enables it on import -- would silently test
nothing that matters, and a "gil-3.12" leg run by a 3.11 would leave 3.12 untested: either
fails the session instead.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from atomics import runtime

EXPECT_LEG = os.environ.get("ATOMICS_EXPECT_LEG", "")


def pytest_report_header(config: pytest.Config) -> str:
    leg = EXPECT_LEG or "unspecified (run via `make test` to check the leg)"
    return f"atomics leg: {runtime.describe()}; expected leg: {leg}"


def _leg_problem() -> str | None:
    if EXPECT_LEG == "free-threaded" and not runtime.free_threading_active():
        return f"expected a free-threaded leg with the GIL disabled, got: {runtime.describe()}"
    if EXPECT_LEG == "gil" or EXPECT_LEG.startswith("gil-"):
        if runtime.gil_disabled_build() or not runtime.gil_enabled():
            return f"expected a GIL build with the GIL enabled, got: {runtime.describe()}"
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        if EXPECT_LEG.startswith("gil-") and f"gil-{version}" != EXPECT_LEG:
            return f"expected the {EXPECT_LEG} leg, got: {runtime.describe()}"
        return None
    if EXPECT_LEG not in ("", "free-threaded"):
        return f"unknown ATOMICS_EXPECT_LEG {EXPECT_LEG!r} (free-threaded, gil or gil-X.Y)"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import _redis

    _redis.stop()  # the session's redis-server, if a test started one
    # Checked at the end too: an extension imported by some test may have re-enabled the GIL.
    problem = _leg_problem()
    if problem is not None:
        session.config.get_terminal_writer().line(f"\nLEG CHECK FAILED: {problem}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Spin (yielding the CPU) until ``predicate()``; fail after ``timeout`` seconds (60: a
    state that takes a second unloaded missed 10 s with every core busy, under flake-check)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        os.sched_yield()


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """Waits on an observable state with a timeout -- never a sleep as synchronisation."""
    return _wait_until


# --- knowledge-base backends ------------------------------------------------------------------
# The knowledge-base test modules that set ``pytestmark = pytest.mark.usefixtures("kb_backend")``
# run once per backend: every ``KnowledgeBase()`` they make gets that backend's storage. A new
# backend is one more entry (a function of the default storage's keyword arguments).
def _memory(**kwargs: object) -> object:
    from atomics.kb.storage import MemoryStorage

    return MemoryStorage(**kwargs)  # type: ignore[arg-type]


def _memory_json(**kwargs: object) -> object:
    return _memory(**{**kwargs, "json_values": True})


def _redis_storage(**kwargs: object) -> object:
    import _redis

    return _redis.storage(**kwargs)


KB_BACKENDS: dict[str, Callable[..., object]] = {
    "memory": _memory,
    "memory-json": _memory_json,
    "redis": _redis_storage,
}


@pytest.fixture(params=sorted(KB_BACKENDS))
def kb_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The backend every KnowledgeBase made in this test uses (a test marked
    ``memory_only(reason)`` runs on the default in-memory backend only; ``local_only(reason)``
    on the in-memory ones). Storages made are closed at the end of the test."""
    name: str = request.param
    only = request.node.get_closest_marker("memory_only")
    if name != "memory" and only is not None:
        pytest.skip(f"in-memory backend only: {only.args[0] if only.args else ''}")
    local = request.node.get_closest_marker("local_only")
    if name == "redis" and local is not None:
        pytest.skip(f"in-process backends only: {local.args[0] if local.args else ''}")
    import atomics.kb.knowledge_base as module

    made: list[Any] = []

    def make(**kwargs: object) -> object:
        storage = KB_BACKENDS[name](**kwargs)
        made.append(storage)
        return storage

    monkeypatch.setattr(module, "MemoryStorage", make)
    yield name
    for storage in made:
        storage.close()
