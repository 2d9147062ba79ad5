"""The test session's Redis server: started on first use (a real ``redis-server`` on a
free loopback port, in a temporary directory, see ``atomics.kb.storage.local_redis``) and
stopped by its pid when the session ends (``conftest.pytest_sessionfinish``).

Where the server or the client is missing a Redis test skips, saying why -- except in CI
(``CI=true``), where it fails: CI must run them (``scripts/ensure-redis`` installs the
server, the ``test`` extra the client)."""

from __future__ import annotations

import atexit
import itertools
import os
import threading
from typing import Any

import pytest

_lock = threading.Lock()
_server: Any = None
_problem: str | None = None
_names = itertools.count()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip the test -- fail it in CI."""
    if IN_CI:
        pytest.fail(f"Redis test cannot run in CI: {reason}")
    pytest.skip(reason)


def url() -> str:
    """The session server's URL (starting it the first time)."""
    global _server, _problem
    with _lock:
        if _server is None and _problem is None:
            try:
                import redis  # noqa: F401

                from atomics.kb.storage.local_redis import LocalRedis

                _server = LocalRedis().start()
                atexit.register(stop)  # (also at session end; a run killed harder leaves
                # an orphan, which scripts/run-tests stops)
            except ImportError:
                _problem = "the redis client is not installed (pip install 'ft-atomics[redis]')"
            except Exception as error:
                _problem = f"no redis-server: {error}"
        if _problem is not None:
            unavailable(_problem)
        return str(_server.url)


def namespace(prefix: str = "t") -> str:
    """A namespace no other test uses."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def storage(**kwargs: Any) -> Any:
    """A RedisStorage on a fresh namespace of the session server (``retain_per_topic``
    honoured; ``stripes``/``json_values``/``track_contention`` are the in-memory backend's
    and ignored: Redis always stores JSON, and counts no lock contention)."""
    from atomics.kb.storage.redis_storage import RedisStorage

    kwargs.pop("stripes", None)
    kwargs.pop("json_values", None)
    kwargs.pop("track_contention", None)
    return RedisStorage(url(), namespace=namespace(), **kwargs)


def stop() -> None:
    """Stop the session server (by its pid); idempotent."""
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None
