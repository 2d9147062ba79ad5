"""BoundedQueue: a bounded multi-producer multi-consumer FIFO queue, a drop-in for
``queue.Queue(maxsize)`` with batch operations and ``shutdown`` that returns what it drops.

Design
------
One lock guards the items (a ``deque``), the unfinished-task count and the shutdown flag,
with one Condition per wait reason on it (``queue.Queue``'s and ``ArrayBlockingQueue``'s
layout): *not empty* for consumers, *not full* for producers, *all tasks done* for
``join``. Unlike ``queue.Queue`` it counts its sleepers and notifies only when someone is
asleep, which is most of the cost of ``queue.Queue`` when nobody waits. The two-lock
alternative (separate producer and consumer locks, as Michael & Scott and Java's
``LinkedBlockingQueue``) was built and measured; in pure Python it needs a third lock for
the shared count and was slower on the free-threaded build: see ``docs/bounded_queue.md``.

Why bounded only: an unbounded queue hides overload until memory runs out; ``maxsize`` must
be an int >= 1 (``queue.Queue``'s ``maxsize=0`` meaning "unbounded" is not offered).

Guarantees
----------
In the docstring of :class:`BoundedQueue`, where ``help(BoundedQueue)`` and the API reference
show them.

>>> q = BoundedQueue(2)
>>> q.put("a"); q.put_nowait("b"); q.full()
True
>>> q.get()
'a'
>>> q.put_many(["c"]); q.get_many(10)
['b', 'c']
>>> q.shutdown()
[]
>>> list(q)
[]
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Generic, NoReturn, TypeVar

from atomics import _locks, _validate
from atomics._guard import check_write, mirror
from atomics.contention import BoundedQueueStatistics
from atomics.errors import AtomicsTypeError, AtomicsValueError

_GUARD_ON = False  # the re-entry guard's flag: True once any thread ran user code
mirror(globals(), "_GUARD_ON")  # (a global bound to an immortal bool: see atomics._guard)

__all__ = ["BoundedQueue", "Empty", "Full", "ShutDown"]

T = TypeVar("T")

Full = queue.Full
Empty = queue.Empty

if sys.version_info >= (3, 13):
    from queue import ShutDown
else:  # a compatible stand-in (queue.ShutDown is new in 3.13)

    class ShutDown(Exception):
        """Raised by a put on, or a get from an empty, queue that was shut down."""


def _deadline(block: bool, timeout: object) -> float | None:
    """The deadline of a blocking call; ``block=False`` ignores the timeout (as queue.Queue)."""
    return _validate.deadline(timeout) if block else None


class BoundedQueue(Generic[T]):
    """A bounded MPMC FIFO queue; replaces ``queue.Queue(maxsize)``.

    ``maxsize``: an int >= 1 (``TypeError``/``ValueError`` otherwise).

    Guarantees
    ----------
    * **Inside a user function** that runs under a lock of this package: ``qsize``, ``empty``,
      ``full`` and the attributes complete; puts, gets (they may block), ``task_done``,
      ``join``, ``shutdown`` and assigning ``maxsize`` raise
      :class:`~atomics.errors.ReentrantCallError` at once (``docs/guarantees.md``).
    * **Linearizable**: every operation takes the one lock; each takes effect at one instant
      inside its call. FIFO: items come out in the order their puts took effect; a
      ``put_many`` batch is contiguous (no other item lands inside it).
    * **The bound is never exceeded**, even transiently: room is checked and items appended
      under the same lock hold.
    * **Raising leaves the queue unchanged**: ``Full``, ``Empty``, ``ShutDown``, ``ValueError``
      and ``TypeError`` are raised before anything is added or removed. ``put_many`` is
      all-or-nothing, so a timeout or shutdown neither loses nor half-inserts a batch.
    * **Blocking**: ``block=False`` never waits and ignores ``timeout``, as ``queue.Queue``
      does; ``timeout=None`` or ``math.inf`` waits as long as needed; a timeout ``t`` waits at
      most ``t`` seconds plus scheduling slack, then raises ``Full`` (puts) or ``Empty`` (gets).
      A negative or NaN timeout is a ``ValueError``, a non-number a ``TypeError``, raised
      before anything waits or changes (the package's one timeout rule).
    * **Capacity can change**: assigning ``maxsize`` (an int >= 1) takes effect at once. Growing
      wakes blocked producers; shrinking never drops an item (a queue holding more than the new
      bound just accepts nothing until consumers bring it below), and no put after the
      assignment can exceed the new bound.
    * **No lost wake-ups**: every state change that can let a sleeper proceed notifies under
      the lock (sleepers that cannot use it pass it on or wait again).
    * **Shutdown** (``queue.Queue.shutdown``'s semantics, 3.13): afterwards every put raises
      ``ShutDown``; gets return what is left, then raise ``ShutDown``; every blocked producer
      and consumer wakes at once. ``shutdown(immediate=True)`` also empties the queue, marks
      the removed items done for ``join``, and *returns* them, so nothing is dropped silently.
    * ``qsize``, ``empty`` and ``full`` take the lock, as ``queue.Queue``'s do: exact at an
      instant during the call (stale as soon as it returns). Without it they could see a
      ``get_many`` half done -- the deque's length is read atomically, but a batch is taken one
      item at a time.
    * Fairness: none. Waiters are woken in the order ``threading.Condition`` wakes them (FIFO
      in CPython), but a thread arriving between the wake-up and the sleeper running may go
      first.
    * :meth:`statistics` reports the lock's contention in the package's uniform shape
      (:mod:`atomics.contention`), counted only with ``track_contention=True`` (zeros, and a
      plain ``threading.Lock``, otherwise), and how often puts and gets slept for room or
      items (always counted).

    Exceptions are the standard library's own ``queue.Full``, ``queue.Empty`` and (3.13+)
    ``queue.ShutDown``; on older Pythons ``atomics.ShutDown`` is a compatible stand-in.

    >>> q = BoundedQueue(8); q.put(1); q.get()
    1
    """

    __slots__ = (
        "_all_done",
        "_batch_putters",
        "_get_waits",
        "_getters",
        "_items",
        "_lock",
        "_maxsize",
        "_not_empty",
        "_not_full",
        "_put_waits",
        "_putters",
        "_resizes",
        "_shutdown",
        "_unfinished",
    )

    def __init__(self, maxsize: int, *, track_contention: bool | None = None) -> None:
        self._maxsize = _validate.count(maxsize, "maxsize")
        track = _locks.tracking(track_contention)
        self._items: deque[T] = deque()
        # One lock guards everything below; each Condition is one reason to wait on it.
        # (A counting lock with track_contention: atomics.contention.)
        self._lock = _locks.lock(track)
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._all_done = threading.Condition(self._lock)
        self._getters = 0  # threads asleep on _not_empty
        self._putters = 0  # threads asleep on _not_full ...
        self._batch_putters = 0  # ... of which need room for more than one item
        self._unfinished = 0  # items put and not yet task_done()
        self._shutdown = False
        self._resizes = 0  # maxsize assignments so far (lets full() read without the lock)
        self._put_waits = 0  # times a put slept for room (statistics())
        self._get_waits = 0  # times a get slept for an item

    # --- introspection ---------------------------------------------------------------------
    @property
    def maxsize(self) -> int:
        """The capacity. Assignable, as ``queue.Queue.maxsize`` (see "Capacity can change"
        in the class's Guarantees).

        >>> q = BoundedQueue(1); q.put(1); q.maxsize = 2; q.put(2); q.qsize()
        2
        """
        return self._maxsize

    @maxsize.setter
    def maxsize(self, value: int) -> None:
        _validate.count(value, "maxsize")
        if _GUARD_ON:
            check_write("BoundedQueue.maxsize = ...")
        with self._lock:
            self._maxsize = value
            self._resizes += 1  # after the store: see full()
            if self._putters:
                # Growing lets producers in; shrinking may make a waiting batch impossible
                # (it then raises ValueError): either way every producer re-checks.
                self._not_full.notify_all()

    @property
    def unfinished_tasks(self) -> int:
        """Items put and not yet marked done by :meth:`task_done` (``queue.Queue``'s
        attribute; read-only here)."""
        return self._unfinished

    @property
    def is_shutdown(self) -> bool:
        """Whether :meth:`shutdown` was called (as ``queue.Queue.is_shutdown``)."""
        return self._shutdown

    def qsize(self) -> int:
        """The number of items, exact at some instant during the call.

        >>> BoundedQueue(4).qsize()
        0
        """
        with self._lock:  # not a batch half taken (see the class's Guarantees)
            return len(self._items)

    def empty(self) -> bool:
        """``qsize() == 0`` at some instant during the call. Lock-free.

        >>> BoundedQueue(4).empty()
        True
        """
        # No lock needed: one read of the deque's length, atomic on its own. A batch taken
        # by get_many passes through intermediate lengths, but "empty" is reached only at
        # its end (emptiness is monotone along the batch), so the answer is the queue's at
        # the read's instant, or at the batch's start or end: linearizable.
        return not self._items

    def full(self) -> bool:
        """``qsize() >= maxsize`` at some instant during the call. Lock-free.

        >>> q = BoundedQueue(1); q.put(1); q.full()
        True
        """
        # No lock needed: "full" is monotone along a batch (as in empty()), and maxsize is
        # read consistently with the length by retrying if an assignment of maxsize
        # completed meanwhile (the setter bumps _resizes after storing, holding the lock,
        # so no put or get can change the length between its store and its bump).
        while True:
            resizes = self._resizes
            maxsize = self._maxsize
            size = len(self._items)
            if self._resizes == resizes:
                return size >= maxsize

    def __repr__(self) -> str:
        """``<BoundedQueue maxsize=... qsize=...>`` (``qsize`` as of one instant)."""
        state = ", shut down" if self._shutdown else ""
        return f"<BoundedQueue maxsize={self._maxsize} qsize={self.qsize()}{state}>"

    def statistics(self) -> BoundedQueueStatistics:
        """The contention counters of the queue's one lock (``"queue"``) in the package's
        uniform shape (:mod:`atomics.contention`), counted with ``track_contention=True``
        (``"tracking": False`` and zeros otherwise): every put, get, batch, ``qsize``,
        ``task_done``... takes it once, and a put or get woken from a wait takes it again;
        ``empty()`` and ``full()`` take none. Beside them, counted always (only on the path
        that sleeps anyway): ``put_waits`` and ``get_waits``, the times a put slept because
        the queue was full and a get because it was empty -- waiting for room or items, which
        is not lock contention: a producer far ahead of its consumers shows up here, not in
        ``contended``. Thread-safe and lock-free (it never blocks); while other threads work,
        each figure is one that held during the call.

        >>> q = BoundedQueue(2, track_contention=True); q.put(1); q.get()
        1
        >>> s = q.statistics(); s["acquisitions"], s["contended"], s["put_waits"]
        (2, 0, 0)
        """
        lock = self._lock
        counted = _locks.contention(_locks.counters(lock) is not None, (("queue", lock),))
        return {
            "tracking": counted["tracking"],
            "acquisitions": counted["acquisitions"],
            "contended": counted["contended"],
            "wait_seconds": counted["wait_seconds"],
            "locks": counted["locks"],
            "put_waits": self._put_waits,
            "get_waits": self._get_waits,
        }

    def __reduce__(self) -> NoReturn:
        """Refused: ``TypeError`` (a queue holds locks and waiting threads; copy or pickle
        its items instead, e.g. :meth:`drain`).
        """
        raise AtomicsTypeError("cannot pickle a BoundedQueue (it holds locks and waiting threads)")

    # --- waiting helpers (called with the lock held) ---------------------------------------
    def _wait_for_room(self, needed: int, block: bool, deadline: float | None) -> None:
        """Return once ``needed`` slots are free; raise ShutDown, Full or (a batch that the
        current ``maxsize`` can never hold) ValueError; the queue unchanged."""
        while True:
            if self._shutdown:
                raise ShutDown
            if needed > self._maxsize:  # maxsize may have shrunk while we waited
                self._pass_on_room()
                raise AtomicsValueError(
                    f"items: a batch of {needed} can never fit a queue of maxsize {self._maxsize}"
                )
            if self._maxsize - len(self._items) >= needed:
                return
            if not block:
                raise Full
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                self._pass_on_room()  # a notify we consumed may be someone else's
                raise Full
            self._putters += 1
            self._put_waits += 1
            self._batch_putters += needed > 1
            try:
                self._not_full.wait(remaining)
            finally:
                self._putters -= 1
                self._batch_putters -= needed > 1

    def _wait_for_items(self, block: bool, deadline: float | None) -> None:
        """Return once an item is present; raise ShutDown or Empty (queue unchanged)."""
        while not self._items:
            if self._shutdown:
                raise ShutDown
            if not block:
                raise Empty
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise Empty
            self._getters += 1
            self._get_waits += 1
            try:
                self._not_empty.wait(remaining)
            finally:
                self._getters -= 1

    def _added(self, count: int) -> None:
        """After ``count`` items went in: wake consumers, and pass on leftover room."""
        self._unfinished += count
        if self._getters:
            self._not_empty.notify(count)
        self._pass_on_room()

    def _removed(self, count: int) -> None:
        """After ``count`` items came out: wake producers that may now fit."""
        if self._putters:
            if self._batch_putters:
                # A batch producer may need more room than was freed; waking only it could
                # strand a single-item producer that would fit. Wake all; the rest re-wait.
                self._not_full.notify_all()
            else:
                self._not_full.notify(count)
        if self._items and self._getters:
            self._not_empty.notify()  # items left: the next consumer need not wait

    def _pass_on_room(self) -> None:
        if self._putters and len(self._items) < self._maxsize:
            self._not_full.notify()

    # --- single items ------------------------------------------------------------------------
    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Append ``item``, waiting for room as ``queue.Queue.put`` does.

        ``block=False``: raise ``Full`` at once if there is no room. Otherwise wait up to
        ``timeout`` seconds (``None``: without limit) and raise ``Full`` if still no room.
        Raises ``ShutDown`` if the queue is or becomes shut down while waiting.

        >>> q = BoundedQueue(1); q.put("x"); q.put("y", timeout=0.01)
        Traceback (most recent call last):
        queue.Full
        """
        deadline = None if timeout is None else _deadline(block, timeout)
        items = self._items
        if _GUARD_ON:
            check_write("BoundedQueue.put()")
        with self._lock:
            # The common case inline (the helpers are the general path): room, not shut down.
            if self._shutdown or len(items) >= self._maxsize:
                self._wait_for_room(1, block, deadline)
            items.append(item)
            self._unfinished += 1
            if self._getters:
                self._not_empty.notify()
            if self._putters and len(items) < self._maxsize:
                self._not_full.notify()  # room left: pass it on

    def put_nowait(self, item: T) -> None:
        """``put(item, block=False)``."""
        self.put(item, block=False)

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Remove and return the oldest item, waiting as ``queue.Queue.get`` does.

        ``block=False``: raise ``Empty`` at once if there is none. Otherwise wait up to
        ``timeout`` seconds (``None``: without limit) and raise ``Empty`` if still none.
        After shutdown, returns the items left, then raises ``ShutDown``.

        >>> q = BoundedQueue(2); q.put(1); q.get(timeout=1)
        1
        """
        deadline = None if timeout is None else _deadline(block, timeout)
        items = self._items
        if _GUARD_ON:
            check_write("BoundedQueue.get()")
        with self._lock:
            if not items:  # the common case (an item present) inline
                self._wait_for_items(block, deadline)
            item = items.popleft()
            if self._putters:
                self._removed(1)
            elif self._getters and items:
                self._not_empty.notify()  # items left: the next consumer need not wait
            return item

    def get_nowait(self) -> T:
        """``get(block=False)``."""
        return self.get(block=False)

    # --- batches -----------------------------------------------------------------------------
    def put_many(
        self, items: Iterable[T], block: bool = True, timeout: float | None = None
    ) -> None:
        """Append every item of ``items``, all at once or not at all.

        Waits (as :meth:`put`) until there is room for the whole batch, then appends it in
        one step, contiguous and in order. On ``Full`` (``block=False`` or the timeout) or
        ``ShutDown`` nothing was added. A batch longer than ``maxsize`` could never fit:
        ``ValueError``. ``items`` is read into a list first, outside the lock.

        >>> q = BoundedQueue(4); q.put_many("abc"); q.drain()
        ['a', 'b', 'c']
        """
        batch = list(items)
        deadline = _deadline(block, timeout)
        if _GUARD_ON:
            check_write("BoundedQueue.put_many()")
        with self._lock:  # the batch's size is checked against maxsize under the lock
            self._wait_for_room(len(batch), block, deadline)
            if batch:
                self._items.extend(batch)
                self._added(len(batch))

    def get_many(self, max_items: int, block: bool = True, timeout: float | None = None) -> list[T]:
        """Remove and return up to ``max_items`` of the oldest items, oldest first.

        Waits (as :meth:`get`) for at least one item, then takes up to ``max_items`` of
        those present without waiting for more. ``Empty`` on ``block=False`` or timeout;
        after shutdown, ``ShutDown`` once drained. ``max_items``: an int >= 1.

        >>> q = BoundedQueue(4); q.put_many([1, 2, 3]); q.get_many(2), q.get_many(2)
        ([1, 2], [3])
        """
        _validate.count(max_items, "max_items")
        deadline = _deadline(block, timeout)
        if _GUARD_ON:
            check_write("BoundedQueue.get_many()")
        with self._lock:
            self._wait_for_items(block, deadline)
            items = self._items
            count = min(max_items, len(items))
            batch = [items.popleft() for _ in range(count)]
            self._removed(count)
            return batch

    def drain(self) -> list[T]:
        """Remove and return every item present now, oldest first; never blocks or raises
        (``[]`` when empty, shut down or not).

        >>> q = BoundedQueue(4); q.put(1); q.drain(), q.drain()
        ([1], [])
        """
        if _GUARD_ON:
            check_write("BoundedQueue.drain()")
        with self._lock:
            batch = list(self._items)
            self._items.clear()
            if batch:
                self._removed(len(batch))
            return batch

    def __iter__(self) -> Iterator[T]:
        """Yield items as :meth:`get` returns them (blocking) until the queue is shut down
        and drained. Does not call :meth:`task_done`.

        >>> q = BoundedQueue(4); q.put_many([1, 2]); _ = q.shutdown(); list(q)
        [1, 2]
        """
        while True:
            try:
                yield self.get()
            except ShutDown:
                return

    # --- tasks and shutdown ------------------------------------------------------------------
    def task_done(self, n: int = 1) -> None:
        """Mark ``n`` items taken earlier as processed (``queue.Queue.task_done`` when
        ``n == 1``; ``n`` for a batch from :meth:`get_many`). Raises ``ValueError``, marking
        nothing, if that is more than the items put and not yet marked.

        >>> q = BoundedQueue(4); q.put_many("ab"); batch = q.get_many(2); q.task_done(len(batch))
        >>> q.unfinished_tasks
        0
        """
        _validate.count(n, "n")
        if _GUARD_ON:
            check_write("BoundedQueue.task_done()")
        with self._lock:
            if n > self._unfinished:
                raise AtomicsValueError(
                    f"task_done() called too many times ({n} > {self._unfinished} unfinished)"
                )
            self._unfinished -= n
            if self._unfinished == 0:
                self._all_done.notify_all()

    def join(self) -> None:
        """Block until every item put has been marked done (``queue.Queue.join``)."""
        if _GUARD_ON:
            check_write("BoundedQueue.join()")
        with self._lock:
            while self._unfinished:
                self._all_done.wait()

    def shutdown(self, immediate: bool = False) -> list[T]:
        """Shut the queue down, as ``queue.Queue.shutdown`` (3.13), and return what it dropped.

        Puts raise ``ShutDown`` from now on; gets return the items left, then raise
        ``ShutDown``. Every blocked producer and consumer wakes now. ``immediate=True``
        also removes every item, marks each done for :meth:`join`, and returns them
        (oldest first); otherwise returns ``[]``. Calling it again is harmless.

        >>> q = BoundedQueue(4); q.put_many("ab"); q.shutdown(immediate=True)
        ['a', 'b']
        """
        if _GUARD_ON:
            check_write("BoundedQueue.shutdown()")
        with self._lock:
            self._shutdown = True
            dropped: list[T] = []
            if immediate:
                dropped = list(self._items)
                self._items.clear()
                self._unfinished = max(0, self._unfinished - len(dropped))
                if self._unfinished == 0:
                    self._all_done.notify_all()
            self._not_empty.notify_all()
            self._not_full.notify_all()
            return dropped
