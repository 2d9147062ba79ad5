"""Starting racing threads together, for the tests' two-thread races."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


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
