"""BoundedQueue as a drop-in for ``queue.Queue(maxsize)``: the timeout rule, an assignable
``maxsize``, ``unfinished_tasks`` and ``task_done(n)`` (issue 12, items 6 and 7).

Each test here failed on the code before the fix: NaN spun at 100% CPU forever, ``inf``
raised "timestamp out of range", ``put(x, block=False, timeout=-1)`` raised, and the
attribute and ``task_done(n)`` were missing.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest

from atomics import BoundedQueue

WaitUntil = Callable[..., None]  # the wait_until fixture (tests/conftest.py)


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``fn`` in a daemon thread; its result or exception lands in the list."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # reported to the test through ``out``
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("call", ["get", "put", "get_many", "put_many"])
@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        (math.nan, ValueError),
        (-1, ValueError),
        (-math.inf, ValueError),
        ("soon", TypeError),
        (True, TypeError),
    ],
)
def test_a_bad_timeout_raises_at_once_naming_it(call: str, timeout: Any, error: type) -> None:
    q: BoundedQueue[int] = BoundedQueue(1)
    if call.startswith("get"):
        args: tuple[Any, ...] = () if call == "get" else (1,)
    else:
        q.put(0)  # full: a put would wait
        args = (1,) if call == "put" else ([1],)
    thread, out = in_thread(lambda: getattr(q, call)(*args, timeout=timeout))
    thread.join(5)  # before the fix, NaN spun here forever
    assert not thread.is_alive(), f"{call}(timeout={timeout!r}) did not return"
    assert isinstance(out[0], error), out
    assert "timeout" in str(out[0])
    assert q.qsize() == (0 if call.startswith("get") else 1)


@pytest.mark.parametrize("call", ["get", "get_many"])
def test_an_infinite_timeout_waits_like_none(call: str, wait_until: WaitUntil) -> None:
    q: BoundedQueue[int] = BoundedQueue(1)
    args = () if call == "get" else (1,)
    thread, out = in_thread(lambda: getattr(q, call)(*args, timeout=math.inf))
    wait_until(lambda: q._getters == 1 or bool(out))  # asleep (or failed at once)
    q.put(7)
    thread.join(5)
    assert out == [7] if call == "get" else out == [[7]]


def test_an_infinite_timeout_put_waits_like_none(wait_until: WaitUntil) -> None:
    q: BoundedQueue[int] = BoundedQueue(1)
    q.put(1)
    thread, out = in_thread(lambda: q.put(2, timeout=math.inf))
    wait_until(lambda: q._putters == 1 or bool(out))
    assert q.get() == 1
    thread.join(5)
    assert out == [None] and q.get_nowait() == 2


@pytest.mark.parametrize("timeout", [-1, math.nan, "soon", None, 0])
def test_block_false_ignores_the_timeout_as_queue_queue_does(timeout: Any) -> None:
    for q in (BoundedQueue(1), queue.Queue(1)):
        q.put(1, block=False, timeout=timeout)
        with pytest.raises(queue.Full):
            q.put(2, block=False, timeout=timeout)
        assert q.get(block=False, timeout=timeout) == 1
        with pytest.raises(queue.Empty):
            q.get(block=False, timeout=timeout)


def test_maxsize_is_assignable_growing_wakes_producers(wait_until: WaitUntil) -> None:
    q: BoundedQueue[int] = BoundedQueue(1)
    q.put(1)
    thread, out = in_thread(lambda: q.put(2))
    wait_until(lambda: q._putters == 1)
    q.maxsize = 2  # queue.Queue code does this; before the fix: AttributeError
    thread.join(5)
    assert out == [None] and q.qsize() == 2 and q.maxsize == 2


def test_shrinking_maxsize_never_drops_and_bounds_new_puts() -> None:
    q: BoundedQueue[int] = BoundedQueue(4)
    q.put_many([1, 2, 3])
    q.maxsize = 1
    assert q.qsize() == 3 and q.full()
    with pytest.raises(queue.Full):
        q.put_nowait(4)
    assert q.get() == 1 and q.get() == 2
    with pytest.raises(queue.Full):
        q.put_nowait(4)  # still 1 item: the new bound
    assert q.get() == 3
    q.put_nowait(4)
    assert q.drain() == [4]


def test_a_waiting_batch_that_can_no_longer_fit_raises(wait_until: WaitUntil) -> None:
    q: BoundedQueue[int] = BoundedQueue(3)
    q.put(0)
    thread, out = in_thread(lambda: q.put_many([1, 2, 3]))
    wait_until(lambda: q._putters == 1)
    q.maxsize = 2
    thread.join(5)
    assert isinstance(out[0], ValueError) and "items" in str(out[0])
    assert q.drain() == [0]


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (2.0, TypeError), (True, TypeError)])
def test_a_bad_maxsize_assignment_changes_nothing(value: Any, error: type) -> None:
    q: BoundedQueue[int] = BoundedQueue(3)
    with pytest.raises(error, match="maxsize"):
        q.maxsize = value
    assert q.maxsize == 3


def test_unfinished_tasks_and_task_done_for_a_batch() -> None:
    q: BoundedQueue[str] = BoundedQueue(8)
    q.put_many("abc")
    assert q.unfinished_tasks == 3
    batch = q.get_many(3)
    q.task_done(len(batch))
    assert q.unfinished_tasks == 0
    q.join()  # returns at once
    q.put("d")
    with pytest.raises(ValueError, match="too many"):
        q.task_done(2)
    assert q.unfinished_tasks == 1  # nothing marked
    with pytest.raises(TypeError, match="n must"):
        q.task_done(True)
    q.task_done()
    assert q.unfinished_tasks == 0
