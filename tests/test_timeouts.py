"""The package's one timeout rule on the knowledge base's waits (issue 12, item 6):
``None`` and ``inf`` wait forever; NaN, negative and non-numbers raise at once, naming the
argument, before anything waits or is registered. BoundedQueue's side is in
test_bounded_queue_dropin.py.

Before the fix ``wait_for_insights(timeout=nan)`` spun at 100% CPU forever and
``subscribe(block_timeout=-1)`` was accepted, after which every matching ``add_insight``
stored its insight and then raised.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

from atomics import KnowledgeBase

WaitUntil = Callable[..., None]  # the wait_until fixture (tests/conftest.py)
BAD = [(math.nan, ValueError), (-1, ValueError), ("soon", TypeError), (True, TypeError)]


@pytest.mark.parametrize(("timeout", "error"), BAD)
def test_wait_for_insights_rejects_a_bad_timeout_at_once(timeout: Any, error: type) -> None:
    kb = KnowledgeBase()
    out: list[BaseException] = []

    def wait() -> None:
        try:
            kb.wait_for_insights({}, timeout=timeout)
        except BaseException as exc:  # reported to the test
            out.append(exc)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    thread.join(5)  # before the fix, NaN spun here forever
    assert not thread.is_alive()
    assert isinstance(out[0], error) and "timeout" in str(out[0])


def test_wait_for_insights_with_an_infinite_timeout_waits_like_none(
    wait_until: WaitUntil,
) -> None:
    kb = KnowledgeBase()
    out: list[Any] = []
    thread = threading.Thread(
        target=lambda: out.append(kb.wait_for_insights({}, timeout=math.inf)), daemon=True
    )
    thread.start()
    wait_until(lambda: kb._storage.waiters == 1 or bool(out))  # type: ignore[attr-defined]
    kb.add_insight("a", "x", topic="t")
    thread.join(5)
    assert out == [True]


@pytest.mark.parametrize(("timeout", "error"), BAD)
def test_subscribe_rejects_a_bad_block_timeout_and_registers_nothing(
    timeout: Any, error: type
) -> None:
    kb = KnowledgeBase()
    with pytest.raises(error, match="block_timeout"):
        kb.subscribe(topics=["t"], overflow="block", block_timeout=timeout)
    assert kb.add_insight("a", "x", topic="t").seq == 0  # no broken subscriber in the way
    feed = kb.subscribe(topics=["t"], overflow="block", block_timeout=math.inf)
    kb.add_insight("a", "y", topic="t")
    assert feed.get(timeout=math.inf).content == "y"


@pytest.mark.parametrize(("timeout", "error"), BAD)
def test_subscription_get_rejects_a_bad_timeout_even_with_events_waiting(
    timeout: Any, error: type
) -> None:
    kb = KnowledgeBase()
    feed = kb.subscribe(topics=["t"])
    kb.add_insight("a", "x", topic="t")
    with pytest.raises(error, match="timeout"):
        feed.get(timeout=timeout)
    with pytest.raises(error, match="timeout"):
        feed.get_many(4, timeout=timeout)
    assert feed.get(timeout=0).content == "x"  # nothing was taken
