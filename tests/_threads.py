"""Starting racing threads together, for the tests' two-thread races."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import CodeType


def run_together(*targets: Callable[[], object], timeout: float = 60.0) -> None:
    """Run each target in its own thread, all released at once by a barrier, and join them;
    fail if any is still running after ``timeout`` seconds (a hang, reported, never waited
    out: the threads are daemons)."""
    barrier = threading.Barrier(len(targets), timeout=30)

    def start(target: Callable[[], object]) -> None:
        barrier.wait()
        target()

    threads = [threading.Thread(target=start, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [thread.name for thread in threads if thread.is_alive()]
    assert not hung, f"hung: {hung} still running after {timeout} s"


def wait_until_blocked_or_done(
    thread: threading.Thread,
    code: CodeType,
    line: int | None = None,
    *,
    settle: float = 0.1,
    timeout: float = 10.0,
) -> bool:
    """Wait until ``thread`` has finished (False) or is waiting inside ``code`` -- at
    ``line``, if given -- seen there throughout ``settle`` seconds (True): a thread that only
    passes through is not taken for blocked. For tests that pause one thread holding a lock
    and must know that another now waits for it, without sleeping a guessed time."""
    deadline, since = time.monotonic() + timeout, None
    while thread.is_alive() and time.monotonic() < deadline:
        frame = sys._current_frames().get(thread.ident or 0)
        while frame is not None and frame.f_code is not code:
            frame = frame.f_back
        if frame is None or (line is not None and frame.f_lineno != line):
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= settle:
            return True
        thread.join(0.01)
    assert not thread.is_alive(), f"{thread.name} neither finished nor blocked in {timeout} s"
    return False
