"""Locks of the in-memory knowledge-base storage tested on their own, each with a control
(``../shared/tools/lock-mutants`` removes one function's locking at a time)."""

from __future__ import annotations

import threading
from typing import Any

from _threads import run_together, wait_until_blocked_or_done
from atomics.kb.records import Insight
from atomics.kb.storage.memory import IdIndex, MemoryStorage

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


# --- close() waits for every write in flight ---------------------------------------------------
class PausingListener:
    """A change listener whose first note waits for ``resume`` -- under the write's topic
    lock, after the store."""

    def __init__(self) -> None:
        self.noting, self.resume = threading.Event(), threading.Event()
        self.noted: list[Any] = []

    def note(self, change: Any) -> None:
        if not self.noting.is_set():
            self.noting.set()
            assert self.resume.wait(10), "never resumed"
        self.noted.append(change)

    def settle(self) -> None:
        pass


def close_during_a_write(storage: MemoryStorage) -> list[str]:
    """close() called while an append holds its topic lock, between its store and its note.
    close() must return only after the write is noted (it is in flight: it took its lock
    before ``closed`` was set). Returns what went wrong."""
    storage.append_one("t", "a", 0, None, 0.0)  # the topic exists: close() will lock it
    listener = PausingListener()
    storage.watch(listener)
    writer = threading.Thread(target=storage.append_one, args=("t", "a", 1, None, 0.0))
    writer.start()
    assert listener.noting.wait(10), "the write never reached its note"
    closer = threading.Thread(target=storage.close)
    closer.start()
    locking = MemoryStorage._everything_locked.__wrapped__.__code__  # type: ignore[attr-defined]
    blocked = wait_until_blocked_or_done(closer, locking)  # waits for the writer's lock
    listener.resume.set()
    writer.join(10)
    closer.join(10)
    assert not writer.is_alive() and not closer.is_alive(), "hung"
    return [] if blocked else ["close() returned while a write was in flight, not yet noted"]


def test_close_waits_for_the_write_in_flight() -> None:
    assert close_during_a_write(MemoryStorage()) == []


class UnwaitingClose(MemoryStorage):
    """Negative control: close() sets the flag and wakes the waiters, passing through no
    write's lock."""

    def close(self) -> None:
        self.closed = True
        with self.appended:
            self.appended.notify_all()


def test_control_the_close_test_catches_a_close_that_does_not_wait() -> None:
    assert close_during_a_write(UnwaitingClose()) != []
