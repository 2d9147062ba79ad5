"""The knowledge base's copy-on-write registries -- its subscriptions and its reducers --
under racing writers, each test with a control: the same race without the lock loses a
registration (``../shared/tools/lock-mutants`` removes one function's locking at a time).

The racing tests copy registries that grow to hundreds of entries, so a missing lock shows;
their controls also yield the CPU between reading a registry and storing its new copy (only
they: the tested code runs as it is), so that their race is seen within the time budget on
both legs. close() racing a registration is forced instead: the registration pauses between
its check and its store.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from typing import Any

import pytest

from _threads import run_together
from atomics import KnowledgeBase, KnowledgeBaseClosed
from atomics.kb.subscription import Subscription, _Sink
from atomics.kb.world import World
from atomics.testing.bulk import CONTROL_SECONDS, rounds

THREADS = 2
PER_THREAD = 300
# Rounds of each racing test: one round catches a registry without its lock about half the
# time on 3.13t (measured: 9 of 20 for subscribe); ten make a miss rare (the controls, which
# yield inside the window, search until caught).
ROUNDS = 10


def yield_cpu() -> None:
    time.sleep(0)  # (controls only) give the other thread the window: not synchronisation


# --- subscribe / close: every registration kept, every closed one gone --------------------------
def subscribe_and_close(kb: KnowledgeBase) -> tuple[int, int]:
    """THREADS threads subscribe PER_THREAD times each, together; then they close them all,
    together. Returns (registered after subscribing, registered after closing): exactly
    (THREADS * PER_THREAD, 0) when no registration is lost."""
    subs: list[list[Subscription]] = [[] for _ in range(THREADS)]

    def subscriber(t: int) -> None:
        for _ in range(PER_THREAD):
            subs[t].append(kb.subscribe(topics=["t"]))

    def closer(t: int) -> None:
        for sub in subs[t]:
            sub.close()

    run_together(*[lambda t=t: subscriber(t) for t in range(THREADS)])
    registered = len(kb._subscriptions)
    run_together(*[lambda t=t: closer(t) for t in range(THREADS)])
    return registered, len(kb._subscriptions)


def test_racing_subscriptions_are_all_registered_and_all_unregistered() -> None:
    for _ in range(ROUNDS):
        assert subscribe_and_close(KnowledgeBase()) == (THREADS * PER_THREAD, 0)


class UnlockedRegistry(KnowledgeBase):
    """Negative control: register and unsubscribe without the registry's lock."""

    def _register(self, sink: _Sink) -> None:
        current = self._subscriptions
        yield_cpu()
        self._subscriptions = (*current, sink)

    def _unsubscribe(self, sink: _Sink) -> None:
        current = self._subscriptions
        yield_cpu()
        self._subscriptions = tuple(s for s in current if s is not sink)


def test_control_the_subscription_test_catches_an_unlocked_registry() -> None:
    for _ in rounds(CONTROL_SECONDS):
        if subscribe_and_close(UnlockedRegistry()) != (THREADS * PER_THREAD, 0):
            return
    pytest.fail("the unlocked registry never lost a registration")


# --- pruning abandoned subscriptions never drops a live one --------------------------------------
def prune_while_subscribing(kb: KnowledgeBase) -> int:
    """One thread subscribes PER_THREAD times (keeping each); the other abandons
    subscriptions (dropped without close()) and writes, so that every write prunes. Returns
    how many of the kept subscriptions are no longer registered (0 when pruning is atomic
    with registering)."""
    kept: list[Subscription] = []

    def subscriber() -> None:
        for _ in range(PER_THREAD):
            kept.append(kb.subscribe(topics=["t"]))

    def abandoner() -> None:
        for i in range(PER_THREAD):
            kb.subscribe(topics=["t"])  # dropped at once: collected, abandoned
            gc.collect(0) if i % 50 == 0 else None
            kb.add_insight("a", i, topic="t")  # sees the abandoned one: prunes

    run_together(subscriber, abandoner)
    sinks = set(map(id, kb._subscriptions))
    missing = sum(id(sub._sink) not in sinks for sub in kept)
    for sub in kept:
        sub.close()
    return missing


def test_pruning_never_drops_a_live_subscription() -> None:
    for _ in range(ROUNDS):
        assert prune_while_subscribing(KnowledgeBase()) == 0


class UnlockedPrune(KnowledgeBase):
    """Negative control: pruning without the registry's lock."""

    def _prune(self) -> None:
        current = self._subscriptions
        yield_cpu()
        self._subscriptions = tuple(s for s in current if not s.abandoned)


def test_control_the_prune_test_catches_an_unlocked_prune() -> None:
    for _ in rounds(CONTROL_SECONDS):
        if prune_while_subscribing(UnlockedPrune()) != 0:
            return
    pytest.fail("the unlocked prune never dropped a live subscription")


# --- close racing subscribe: no subscription registered after close, none left open -------------
class PausingRegistration(KnowledgeBase):
    """Pauses its next registration between the check that the knowledge base is open and
    the store, until close() has swapped the registry out -- at most 0.5 s: with close()'s
    lock, close() waits for the registration instead, and the pause runs out."""

    def __init__(self) -> None:
        self._open_flag, self._registry = True, ()
        self.armed = False
        self.checking, self.swapped = threading.Event(), threading.Event()
        super().__init__()

    @property  # type: ignore[override]
    def _closed(self) -> bool:
        closed = not self._open_flag
        if self.armed and sys._getframe(1).f_code.co_name == "_register":
            self.armed = False
            self.checking.set()
            self.swapped.wait(0.5)  # bounded: see the class docstring
        return closed

    @_closed.setter
    def _closed(self, value: bool) -> None:
        self._open_flag = not value

    @property  # type: ignore[override]
    def _subscriptions(self) -> tuple[_Sink, ...]:
        return self._registry

    @_subscriptions.setter
    def _subscriptions(self, value: tuple[_Sink, ...]) -> None:
        self._registry = value
        if not self._open_flag and value == ():
            self.swapped.set()


def subscribe_across_close(kb: PausingRegistration) -> list[str]:
    """A subscribe() paused inside its registration while another thread closes the
    knowledge base; returns what went wrong (a subscription registered after close(), or
    never shut down: its reader would wait forever)."""
    got: list[Subscription] = []

    def subscriber() -> None:
        kb.armed = True
        with contextlib.suppress(KnowledgeBaseClosed):
            got.append(kb.subscribe(topics=["t"]))

    def closer() -> None:
        assert kb.checking.wait(10), "the registration never checked"
        kb.close()

    run_together(subscriber, closer)
    wrong = []
    for sub in got:
        if sub._sink in kb._subscriptions:
            wrong.append("registered after close()")
        if not sub._queue.is_shutdown:
            wrong.append("never shut down")
    return wrong


def test_close_leaves_no_subscription_registered_or_open() -> None:
    assert subscribe_across_close(PausingRegistration()) == []


class UnlockedClose(PausingRegistration):
    """Negative control: close() swaps the registry out without its lock."""

    def close(self) -> None:
        self._closed = True
        self._storage.close()
        subs = self._subscriptions
        self._subscriptions = ()
        for sink in subs:
            sink.end()


def test_control_the_close_test_catches_an_unlocked_close() -> None:
    assert subscribe_across_close(UnlockedClose()) == [
        "registered after close()",
        "never shut down",
    ]


# --- register_reducer: every pattern kept ---------------------------------------------------------
def register_reducers(world: World) -> int:
    """THREADS threads register PER_THREAD distinct patterns each, together; returns how
    many are registered (THREADS * PER_THREAD when none is lost)."""

    def registrar(t: int) -> None:
        for i in range(PER_THREAD):
            world.register_reducer(f"k-{t}-{i}", "sum")

    run_together(*[lambda t=t: registrar(t) for t in range(THREADS)])
    return len(world._reducers)


def test_racing_reducer_registrations_are_all_kept() -> None:
    for _ in range(ROUNDS):
        assert register_reducers(KnowledgeBase().world) == THREADS * PER_THREAD


class UnlockedReducers(World):
    """Negative control: register_reducer without its lock."""

    def register_reducer(self, pattern: str, reducer: Any) -> None:
        current = self._reducers
        yield_cpu()
        self._reducers = [*current, (pattern, reducer)]


def test_control_the_reducer_test_catches_an_unlocked_registration() -> None:
    for _ in rounds(CONTROL_SECONDS):
        if register_reducers(UnlockedReducers(KnowledgeBase())) != THREADS * PER_THREAD:
            return
    pytest.fail("the unlocked registration never lost a pattern")
