"""Locks of the in-memory knowledge-base storage tested on their own, each with a control
(``../shared/tools/lock-mutants`` removes one function's locking at a time)."""

from __future__ import annotations

import threading
from typing import Any

from _threads import run_together
from atomics.kb.records import Insight
from atomics.kb.storage.memory import IdIndex

STORED = Insight("t", 0, "X", "a", "stored", None, 0.0)
OTHER = Insight("t", 9, "X", "a", "an older one", None, 0.0)


class PausingShard(dict[str, Insight]):
    """A shard whose first ``pop`` of a present id waits (up to 0.1 s) for ``returned``."""

    def __init__(self) -> None:
        super().__init__()
        self.popped, self.returned = threading.Event(), threading.Event()

    def pop(self, key: str, default: Any = None) -> Any:
        value = super().pop(key, default)
        if value is not None and not self.popped.is_set():
            self.popped.set()
            self.returned.wait(0.1)  # a bounded wait for the other thread (see below)
        return value


def appends_while_forgetting(index: IdIndex) -> list[str]:
    """``remove_if_is(X, an older insight)`` (which keeps X: it maps to another) races a
    retry of X: the retry must find X, never append again. The forget pauses between its
    pop and its put-back; locked, the retry waits for it. Returns what went wrong."""
    shard = PausingShard()
    index.shards = (shard,)
    index.locks = (threading.Lock(),)
    index.get_or_append("X", lambda: STORED)
    shard.popped.clear()
    appended: list[Insight] = []

    def forget() -> None:
        index.remove_if_is("X", OTHER)

    def retry() -> None:
        assert shard.popped.wait(10), "the forget never popped"

        def append() -> Insight:
            appended.append(OTHER)
            return OTHER

        got = index.get_or_append("X", append)
        shard.returned.set()
        if got is not STORED:
            appended.append(got)

    run_together(forget, retry)
    return [f"appended again: {a.content}" for a in appended]


def test_a_retry_never_appends_while_its_id_is_being_checked() -> None:
    assert appends_while_forgetting(IdIndex(1)) == []


class UnlockedForget(IdIndex):
    """Negative control: remove_if_is without the stripe lock."""

    __slots__ = ()

    def remove_if_is(self, insight_id: str, insight: Insight) -> None:
        shard = self.shards[hash(insight_id) % len(self.locks)]
        stored = shard.pop(insight_id, None)
        if stored is not None and stored is not insight:
            shard[insight_id] = stored


def test_control_the_forget_test_catches_an_unlocked_forget() -> None:
    assert appends_while_forgetting(UnlockedForget(1)) != []
