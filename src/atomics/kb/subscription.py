"""Subscriptions: a subscriber's stream of events, and the delivery end the knowledge base
registers for it.

Delivery, in short (the rules are in the Guarantees of :class:`Subscription`): the storage
reports each change to the knowledge base under the write's own lock, after the store; the
knowledge base notes it in the outbox of every subscription that wants it (so each topic's
events are in seq order, each key's in version order); the writer, once it holds no lock,
moves outboxes to the subscriptions' queues, where readers see them. One thread at a time
delivers to a subscription (its ``delivering`` lock, which no reader and no storage write
ever needs): a full ``"block"`` subscription holds up only itself and its own writers.
"""

from __future__ import annotations

import queue
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from atomics import _guard, _locks, _validate
from atomics.atomic_boolean import AtomicBoolean
from atomics.atomic_integer import AtomicInteger
from atomics.bounded_queue import BoundedQueue, ShutDown
from atomics.kb.errors import SubscriptionOverflow
from atomics.kb.records import Insight, Lag, WorldEvent

if TYPE_CHECKING:
    from atomics.kb.knowledge_base import KnowledgeBase

__all__ = ["OVERFLOW_POLICIES", "Subscription"]

OVERFLOW_POLICIES = ("drop_oldest", "block", "error")

Event = Insight | WorldEvent | Lag
"""What a :class:`Subscription` yields: an insight, a world change or a :class:`Lag` marker."""


class _Sink:
    """A subscription's delivery end: its queue, filters and counters. The knowledge base
    registers the sink, never the :class:`Subscription` (which the reader holds), so a
    subscription dropped without ``close()`` is collected; its finalizer marks the sink
    abandoned (an attribute store: no lock) and the next writer that meets it unregisters
    it."""

    __slots__ = (
        "__weakref__",
        "abandoned",
        "block_timeout",
        "delivering",
        "dropped",
        "exclude_agent",
        "lagged",
        "outbox",
        "overflow",
        "overflowed",
        "queue",
        "replay",
        "skip_through",
        "topic_filter",
        "world_keys",
    )

    def __init__(
        self,
        *,
        topic_filter: Callable[[str], bool] | None,
        world_keys: frozenset[str] | None,
        maxsize: int,
        overflow: str,
        block_timeout: float | None,
        exclude_agent: str | None,
    ) -> None:
        self.topic_filter = topic_filter
        self.world_keys = world_keys
        self.queue: BoundedQueue[Event] = BoundedQueue(maxsize)
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.exclude_agent = exclude_agent
        self.dropped = AtomicInteger()
        self.lagged = AtomicBoolean()
        self.overflowed = False
        self.abandoned = False
        # Events are put in the outbox under the lock of the state they announce (so each
        # topic's are in seq order, each key's in version order) and moved to the queue,
        # where the reader sees them, only after that lock is released (so the state is
        # readable first) by whichever writer holds ``delivering`` -- a lock no reader and
        # no storage write ever needs: a full "block" subscription holds up only itself.
        self.outbox: deque[Event] = deque()
        self.delivering = _locks.Lock()
        # The backlog of a ``since`` subscription, read before the queue. It is read after
        # the sink is registered, holding ``delivering`` (so nothing live is queued
        # before it); live insights it already holds (``seq <= skip_through[topic]``)
        # are skipped: each exactly once, each topic in seq order.
        self.replay: deque[Insight] = deque()
        self.skip_through: dict[str, int] | None = None

    def wants_insight(self, insight: Insight) -> bool:
        return (
            self.topic_filter is not None
            and insight.agent_id != self.exclude_agent
            and self.topic_filter(insight.topic)
        )

    def wants_world(self, key: str, agent_id: str) -> bool:
        return (
            self.world_keys is not None
            and agent_id != self.exclude_agent
            and (not self.world_keys or key in self.world_keys)
        )

    def drain(self, wait: bool) -> None:
        """Move the outbox to the queue, in order (called with no lock held). One thread at a
        time delivers (``delivering``); a thread that finds it taken leaves its events to the
        deliverer, which re-checks after releasing it -- except a writer with ``wait`` (a
        "block" subscription its own write fed), which waits its turn and then waits for
        room, up to ``block_timeout``; without ``wait``, delivery stops at a full queue."""
        outbox = self.outbox
        while not self.abandoned:
            if not outbox:
                return
            if not self.delivering.acquire(blocking=False):
                if not (wait and self.overflow == "block"):
                    return  # the thread delivering takes our events too (it re-checks)
                # A "block" writer waits its turn to deliver (its own events, at least):
                # leaving them to a deliverer that stops at a full queue without waiting
                # would strand them (found by a review: subscribe(since=...) held the lock
                # while the writer looked, and the writer returned without delivering).
                if not self._acquire_waiting():
                    return
            try:
                while not self.abandoned:
                    try:
                        event = outbox[0]
                    except IndexError:
                        break
                    skip = self.skip_through
                    if (
                        skip is not None
                        and type(event) is Insight
                        and event.seq <= skip.get(event.topic, -1)
                    ):
                        outbox.popleft()  # in the backlog already
                        continue
                    if not self.offer(event, wait):
                        return  # full, and not waiting: the next delivery takes it
                    outbox.popleft()
            finally:
                self.delivering.release()
            # an event queued after our last look, before the release: deliver it too

    def end(self) -> None:
        """Close this subscription's delivery: a writer blocked on it goes on, what was
        announced before is delivered (``drain_now``), then its queue shuts down."""
        self.abandoned = True
        self.drain_now()
        self.queue.shutdown()

    def drain_now(self) -> None:
        """At close: whatever the outbox holds goes to the queue without waiting (a full
        queue drops it, counted); then nothing more is ever delivered."""
        with self.delivering:
            while self.outbox:
                event = self.outbox.popleft()
                skip = self.skip_through
                if (
                    skip is not None
                    and type(event) is Insight
                    and event.seq <= skip.get(event.topic, -1)
                ):
                    continue
                try:
                    self.queue.put_nowait(event)
                except queue.Full:
                    try:
                        self.replace_oldest(event)  # the newest kept, the Lag before them
                    except ShutDown:
                        self.drop()
                except ShutDown:
                    self.drop()

    def _acquire_waiting(self) -> bool:
        """Take ``delivering``, waiting up to ``block_timeout``, in slices (so that a
        subscription abandoned meanwhile lets its writer go on within one slice)."""
        deadline = _validate.deadline(self.block_timeout)
        while not self.abandoned:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            if self.delivering.acquire(timeout=0.05 if remaining is None else min(remaining, 0.05)):
                return True
        return False

    def offer(self, event: Event, wait: bool) -> bool:
        """Put ``event`` in the queue by the overflow policy; False only for a full "block"
        subscription when not waiting (the event stays in the outbox)."""
        q = self.queue
        try:
            if self.overflow == "block":
                if not wait:
                    try:
                        q.put_nowait(event)
                    except queue.Full:
                        return False
                    return True
                self._offer_blocking(event)
                return True
            while True:
                try:
                    q.put_nowait(event)
                    return True
                except queue.Full:
                    if self.overflow == "error":
                        self.overflowed = True
                        q.shutdown()  # the reader drains, then gets SubscriptionOverflow
                        return True
                    self.replace_oldest(event)
                    return True
        except ShutDown:
            return True  # closed subscription: nothing to deliver to

    def replace_oldest(self, event: Event) -> None:
        """Put ``event``, dropping the oldest queued events to make room (counted): the gap
        is then at the front of the queue, and the reader's Lag marker comes before all
        that follows it. (``ShutDown`` passes through.)"""
        q = self.queue
        while True:
            self.lagged.set(True)  # before the drop: a reader that sees what follows the
            try:  # gap sees the Lag too
                q.get_nowait()
                self.dropped.increment_and_get()
            except queue.Empty:
                pass
            try:
                q.put_nowait(event)
                return
            except queue.Full:
                continue

    def _offer_blocking(self, event: Event) -> None:
        # In slices, so that a subscription abandoned or closed while full (nobody will
        # make room) stops holding up its writer within one slice; the event is then
        # counted as dropped.
        deadline = _validate.deadline(self.block_timeout)
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if self.abandoned:
                self.drop()  # nobody reads it any more
                return
            if remaining is not None and remaining <= 0:
                self.replace_oldest(event)  # as "drop_oldest": the Lag comes before the rest
                return
            try:
                self.queue.put(event, timeout=0.1 if remaining is None else min(remaining, 0.1))
                return
            except queue.Full:
                continue

    def drop(self) -> None:
        self.lagged.set(True)
        self.dropped.increment_and_get()


def _abandon(sink: _Sink) -> None:
    """The finalizer of a Subscription dropped without close(): no lock (it may run inside
    any code of the thread that dropped it, or of the garbage collector's)."""
    sink.abandoned = True


class Subscription:
    """A subscriber's stream of events (:class:`Insight`, :class:`WorldEvent`,
    :class:`Lag`), backed by its own BoundedQueue. Made by :meth:`KnowledgeBase.subscribe`.

    Guarantees
    ----------
    * **Delivery**: events are delivered by writers' threads into the subscriber's own
      BoundedQueue -- no user callback ever runs on a writer's thread -- in seq order per topic
      and version order per key, *after* the state they announce is readable (the storage reports
      each change after storing it, under the write's lock, and the event is delivered once the
      writer holds no lock: a subscriber that reads the knowledge base for each event never
      deadlocks with a writer; one that writes, see "block"). ``overflow="drop_oldest"``
      (default): a writer never waits; the oldest event is dropped and counted and the reader gets
      a :class:`Lag` marker next, to catch up from the log with its cursor. ``"block"``: writers
      wait, holding no lock, until the subscriber makes room (up to ``block_timeout``, then drop
      the oldest as above); a full subscription holds up only its own writers. (So a consumer must
      not itself write what its own "block" subscription receives, as with a ``queue.Queue`` it
      both fills and drains: it would wait for room only it can make. ``exclude_agent`` is the way
      out. Consumers of several "block" subscriptions that write what the others receive can wait
      for each other in a cycle: give them a ``block_timeout``.) A :class:`Lag` marker comes where
      the gap is. ``"error"``: the subscription ends with :class:`SubscriptionOverflow` once
      drained; the writer is unaffected. With ``since``, every matching insight after the cursor
      is delivered exactly once: the subscription is registered, then the backlog read, and live
      insights the backlog holds are skipped. A subscription dropped without ``close()`` is
      unregistered once collected.

    ``get``/``get_many`` raise ``queue.Empty`` on timeout and ``ShutDown`` (or
    :class:`SubscriptionOverflow`) once the subscription has ended and is drained;
    iteration stops there. Use it from the reading thread(s); ``close()`` from any. A
    subscription dropped without ``close()`` is unregistered once collected: writers stop
    paying for it.

    >>> from atomics import KnowledgeBase
    >>> kb = KnowledgeBase(); feed = kb.subscribe(topics=["t"])
    >>> _ = kb.add_insight("a", "hello", topic="t"); feed.get(timeout=1).content
    'hello'
    >>> feed.close(); list(feed)
    []
    """

    def __init__(self, kb: KnowledgeBase, sink: _Sink) -> None:
        self._kb = kb
        self._sink = sink
        self._queue = sink.queue
        # events taken from the queue after a gap was found: returned after the Lag marker
        self._held_back: deque[Event] = deque()
        weakref.finalize(self, _abandon, sink)

    # reader side
    @property
    def dropped(self) -> int:
        """Events dropped so far because this subscriber was full."""
        return self._sink.dropped.get()

    def _lag_marker(self) -> Lag | None:
        lagged = self._sink.lagged
        if lagged.get() and lagged.get_and_set(False):
            return Lag(self._sink.dropped.get())
        return None

    def _ended(self) -> Exception:
        if self._sink.overflowed:
            return SubscriptionOverflow("subscriber fell behind")
        return ShutDown()

    def get(self, timeout: float | None = None) -> Event:
        """The next event, waiting up to ``timeout`` seconds (``None``: as long as needed)."""
        _guard.check_write("Subscription.get()")
        _validate.deadline(timeout)  # the package's timeout rule, even when nothing waits
        # In stream order: the backlog (before every live event), the events held back
        # behind a Lag already returned, then a gap found since, then the queue.
        for pending in (self._sink.replay, self._held_back):
            if pending:
                try:
                    return pending.popleft()
                except IndexError:  # another reader took the last one
                    pass
        marker = self._lag_marker()
        if marker is not None:
            return marker
        try:
            if self._sink.outbox:  # left by a delivery that found the queue full
                self._sink.drain(wait=False)
            event = self._queue.get(timeout=timeout)
        except ShutDown:
            raise self._ended() from None
        # A drop marks the gap before it removes an event, so an event taken after a gap
        # sees the mark: the Lag comes first, this event next.
        marker = self._lag_marker()
        if marker is not None:
            self._held_back.append(event)
            return marker
        return event

    def get_many(self, max_items: int, timeout: float | None = None) -> list[Event]:
        """Waits for one event, then takes up to ``max_items`` present (a Lag marker first)."""
        _guard.check_write("Subscription.get_many()")
        _validate.deadline(timeout)
        _validate.count(max_items, "max_items")
        for pending in (self._sink.replay, self._held_back):  # in stream order, as get()
            if pending:
                batch: list[Event] = []
                try:
                    while len(batch) < max_items:
                        batch.append(pending.popleft())
                except IndexError:
                    pass
                if batch:
                    return batch
        marker = self._lag_marker()
        if marker is not None:
            return [marker]
        try:
            if self._sink.outbox:  # left by a delivery that found the queue full
                self._sink.drain(wait=False)
            events = self._queue.get_many(max_items, timeout=timeout)
        except ShutDown:
            raise self._ended() from None
        marker = self._lag_marker()  # as in get(): the Lag before what follows the gap
        if marker is not None:
            self._held_back.extend(events)
            return [marker]
        return events

    def __iter__(self) -> Iterator[Event]:
        """Events until the subscription ends (a SubscriptionOverflow still raises)."""
        while True:
            try:
                yield self.get()
            except ShutDown:
                return

    def close(self) -> None:
        """Stop delivery; the reader drains what is queued, then the stream ends."""
        _guard.check_write("Subscription.close()")
        sink = self._sink
        self._kb._unsubscribe(sink)
        sink.end()

    def __enter__(self) -> Subscription:
        """``with kb.subscribe(...) as feed:``: returns the subscription itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Ends the with-block with :meth:`close`."""
        self.close()
