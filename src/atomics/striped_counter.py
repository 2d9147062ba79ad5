"""StripedCounter: a LongAdder-style counter that scales with the number of writing threads.

One AtomicInteger written by every thread serialises them on its lock, and on a
free-threaded build even lock-free method calls on *one shared object* contend on that
object's reference count (measured on 3.13t, 2 threads: 0.7-0.85x the speed of one thread).
StripedCounter gives every writing thread a cell of its own -- its stripe -- so that writers
never share one, and adds the cells up when read.

Design
------
* Each cell has two fields, each with a single writer: ``added``, written only by the
  thread that owns the cell (a plain ``+=`` on an attribute no other thread writes needs no
  lock), and ``taken``, written only under the counter's lock by :meth:`reset` and
  :meth:`sum_then_reset`. A cell's contribution is ``added - taken``.
* :meth:`add`, :meth:`increment`, :meth:`decrement` find the calling thread's cell through a
  ``threading.local``. That still touches the shared counter and its local object on every
  call; :meth:`handle` returns a :class:`CounterHandle` created by, and private to, the
  calling thread, whose hot path touches only objects that thread created. Use a handle in
  hot loops.
* When a thread exits (or a handle is garbage-collected), its cell's count is folded into a
  ``retired`` total, so that many short-lived threads do not grow the counter without bound.
  The finalizer that notices this takes no lock (it may run inside :meth:`sum` in the same
  thread, when the cyclic garbage collector runs there): it only queues the cell, and the
  next operation that holds the lock anyway folds it. Until then the cell is simply still
  counted where it is, so nothing is lost or counted twice.

Guarantees
----------
In the docstring of :class:`StripedCounter`, where ``help(StripedCounter)`` and the API
reference show them.

>>> requests = StripedCounter()
>>> requests.increment(); requests.add(10)
>>> requests.sum()
11
>>> mine = requests.handle()        # in a worker thread's hot loop
>>> for _ in range(5):
...     mine.increment()
>>> requests.sum_then_reset(), requests.sum()
(16, 0)
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import Any, NoReturn

from atomics import _locks, _validate
from atomics._guard import check_write, mirror
from atomics.contention import StripedCounterStatistics
from atomics.errors import AtomicsTypeError, WrongThreadError

_GUARD_ON = False  # the re-entry guard's flag: True once any thread ran user code
mirror(globals(), "_GUARD_ON")  # (a global bound to an immortal bool: see atomics._guard)

__all__ = ["CounterHandle", "StripedCounter"]

_get_ident = threading.get_ident


def _check_int(value: object, name: str) -> int:
    return value if type(value) is int else _validate.integer(value, name)


class _Cell:
    """One stripe: ``added`` has one writer (the owning thread), ``taken`` another (the
    counter, under its lock). Each field is written by one thread only, so neither needs a
    lock; readers see a recent value of each (attribute reads are atomic)."""

    __slots__ = ("added", "taken")

    def __init__(self) -> None:
        self.added = 0
        self.taken = 0


class CounterHandle:
    """A thread's private view of a :class:`StripedCounter`: add, increment, decrement.

    Created by :meth:`StripedCounter.handle`; use it only in the thread that created it.

    Guarantees
    ----------
    * Owned by the thread that created it: a call from another thread raises
      :class:`~atomics.errors.WrongThreadError`, a ``RuntimeError`` (two writers on one
      cell could lose updates).
    * ``add``/``increment``/``decrement`` are atomic and never lost: each is counted exactly
      once by the counter's sums that follow it, as the counter's own adds are (the
      guarantees of :class:`StripedCounter` hold for them).
    * **Inside a user function** that runs under a lock of this package, its adds raise
      :class:`~atomics.errors.ReentrantCallError` at once (``docs/guarantees.md``).
    * It cannot be copied or pickled (``TypeError``): a copy would write a cell no counter
      reads. When the handle is collected, its count stays in the counter.

    >>> c = StripedCounter(); h = c.handle(); h.add(3); h.decrement(); c.sum()
    2
    """

    __slots__ = ("__weakref__", "_cell", "_owner")

    def __init__(self, cell: _Cell) -> None:
        self._cell = cell
        self._owner = _get_ident()

    @staticmethod
    def _wrong_thread() -> WrongThreadError:
        return WrongThreadError(
            "a CounterHandle may only be used by the thread that created it; "
            "call counter.handle() in each thread"
        )

    def add(self, n: int) -> None:
        """Add ``n`` (an int). Atomic; lock-free; touches only this thread's objects."""
        n = _check_int(n, "n")
        if _get_ident() != self._owner:
            raise self._wrong_thread()
        if _GUARD_ON:
            check_write("CounterHandle.add()")
        self._cell.added += n  # single writer: this thread

    def increment(self) -> None:
        """Add 1. Atomic; lock-free."""
        if _get_ident() != self._owner:
            raise self._wrong_thread()
        if _GUARD_ON:
            check_write("CounterHandle.increment()")
        self._cell.added += 1  # single writer: this thread

    def decrement(self) -> None:
        """Subtract 1. Atomic; lock-free."""
        if _get_ident() != self._owner:
            raise self._wrong_thread()
        if _GUARD_ON:
            check_write("CounterHandle.decrement()")
        self._cell.added -= 1  # single writer: this thread

    def _not_copyable(self, *args: object) -> NoReturn:
        """Refused: ``TypeError`` (``copy``, ``deepcopy`` and pickling alike: a copy would add
        to a cell no counter reads). Call ``counter.handle()`` instead.
        """
        raise AtomicsTypeError(
            "a CounterHandle cannot be copied or pickled: the copy would add to a cell that "
            "no counter reads (its counts would be lost); call counter.handle() instead"
        )

    __copy__ = __deepcopy__ = __reduce__ = __reduce_ex__ = _not_copyable


class _ThreadSlot:
    """What the counter's ``threading.local`` holds for one thread: its cell. Dropped when
    the thread exits, which retires the cell (see ``StripedCounter._retire``)."""

    __slots__ = ("__weakref__", "cell")

    def __init__(self, cell: _Cell) -> None:
        self.cell = cell


class StripedCounter:
    """A counter with one cell per writing thread; reads add the cells up.

    Guarantees
    ----------
    * **Inside a user function** that runs under a lock of this package: ``sum``,
      ``statistics`` and ``handle()`` complete; adds and resets raise
      :class:`~atomics.errors.ReentrantCallError` at once (``docs/guarantees.md``).
    * ``add``/``increment``/``decrement`` (and a handle's) are atomic and never lost:
      each is counted exactly once by the sums that follow it.
    * :meth:`sum` is exact when no add is in flight (for example after the writers were
      joined). While threads add, it is *weakly consistent*: it includes every add that returned
      before ``sum()`` was called, may include adds concurrent with it, and is not a snapshot of
      one instant (as ``java.util.concurrent.atomic.LongAdder.sum``).
    * :meth:`sum_then_reset` returns what was added since the previous reset, and each add
      lands in exactly one such result (an add concurrent with it is counted now or by the next
      one, never both, never neither). :meth:`reset` is the same with the result discarded.
    * A :class:`CounterHandle` must be used only by the thread that created it: another thread
      gets ``RuntimeError`` (two writers on one cell could lose updates).
    * Mutable, so unhashable. ``copy.copy`` gives an independent counter starting at the
      current sum; pickling stores the sum. A :class:`CounterHandle` cannot be copied or
      pickled (``TypeError``): a copy would write a cell no counter reads.
    * :meth:`statistics` reports the contention of the counter's one lock in the package's
      uniform shape (:mod:`atomics.contention`), counted only with ``track_contention=True``.
      Adds take no lock (through the counter or a handle) and count nothing.

    >>> c = StripedCounter(5)
    >>> c.decrement(); c.sum()
    4
    """

    __slots__ = ("__weakref__", "_cells", "_local", "_lock", "_retired", "_retiring")

    def __init__(self, initial: int = 0, *, track_contention: bool | None = None) -> None:
        # _lock guards: the _cells list, _retired, and every cell's ``taken`` field.
        # (A counting lock with track_contention: atomics.contention.)
        self._lock = _locks.lock(_locks.tracking(track_contention))
        self._cells: list[_Cell] = []
        self._retired = _check_int(initial, "initial")
        self._local = threading.local()
        # Cells whose owner is gone, queued by finalizers without a lock (deque.append is
        # atomic); folded into _retired under the lock by _fold_retiring.
        self._retiring: deque[_Cell] = deque()

    # --- cells ---------------------------------------------------------------------------------
    def _new_cell(self) -> _Cell:
        """A cell registered with this counter (its count is part of every sum)."""
        cell = _Cell()
        with self._lock:
            self._fold_retiring()
            self._cells.append(cell)
        return cell

    def _retire_when_gone(self, owner: object, cell: _Cell) -> None:
        """Fold ``cell`` into the retired total once ``owner`` is garbage-collected."""
        weakref.finalize(owner, type(self)._retire, weakref.ref(self), cell)

    @staticmethod
    def _retire(counter_ref: weakref.ref[StripedCounter], cell: _Cell) -> None:
        """The finalizer: the owner is gone, so nothing writes ``added`` any more. Takes no
        lock -- it can run in any thread at any allocation, including inside ``sum()`` while
        that thread holds the counter's lock: it only queues the cell for folding."""
        counter = counter_ref()
        if counter is not None:
            counter._retiring.append(cell)

    def _fold_retiring(self) -> None:
        """Fold queued cells into ``_retired`` (lock held). A cell stays counted in
        ``_cells`` until this moves it, so sums are right before and after."""
        retiring = self._retiring
        while retiring:
            cell = retiring.popleft()
            self._retired += cell.added - cell.taken
            self._cells.remove(cell)

    def _thread_cell(self) -> _Cell:
        try:
            slot: _ThreadSlot = self._local.slot
        except AttributeError:
            slot = _ThreadSlot(self._new_cell())
            self._retire_when_gone(slot, slot.cell)
            self._local.slot = slot
        return slot.cell

    def handle(self) -> CounterHandle:
        """A new handle for the calling thread: its hot path touches only objects this
        thread created. Keep one per thread for the thread's lifetime; when it is garbage
        collected its count is kept (folded into the counter).

        >>> c = StripedCounter(); c.handle().increment(); c.sum()
        1
        """
        handle = CounterHandle(self._new_cell())
        self._retire_when_gone(handle, handle._cell)
        return handle

    # --- writes --------------------------------------------------------------------------------
    def add(self, n: int) -> None:
        """Add ``n`` (an int) in the calling thread's cell. Atomic; lock-free after the
        thread's first call.

        Every call still touches this shared counter and its ``threading.local`` (on a
        free-threaded build, their reference counts: a cache line that all calling threads
        write), so the shared object's methods scale less than a handle's; in a hot loop,
        use :meth:`handle` (``docs/counters.md``, "Scaling").

        >>> c = StripedCounter(); c.add(-3); c.sum()
        -3
        """
        n = _check_int(n, "n")
        if _GUARD_ON:
            check_write("StripedCounter.add()")
        try:  # inline: a call of _thread_cell would touch the shared self twice more
            self._local.slot.cell.added += n  # single writer: the calling thread owns it
        except AttributeError:  # this thread's first call: no slot yet
            self._thread_cell().added += n

    def increment(self) -> None:
        """Add 1. Atomic; lock-free after the thread's first call.

        Scaling: this method is called on the object every thread shares; on a free-threaded
        build each call writes that object's reference count (the caller's load of it, the
        call's reference to ``self``), so threads calling it contend even though each adds
        to a cell of its own. Measured on 3.13t, 2 cores, 2 threads against 1: 0.7-1.4x
        (low when the cores do not share a cache), as an *empty* method on a shared object
        (0.7-1.3x); a handle 2.0x. The only path that scales with the thread count is a
        per-thread :meth:`handle` (``docs/counters.md``, "Scaling").

        >>> c = StripedCounter(); c.increment(); c.sum()
        1
        """
        if _GUARD_ON:
            check_write("StripedCounter.increment()")
        try:  # inline: a call of _thread_cell would touch the shared self twice more
            self._local.slot.cell.added += 1  # single writer: the calling thread owns it
        except AttributeError:  # this thread's first call: no slot yet
            self._thread_cell().added += 1

    def decrement(self) -> None:
        """Subtract 1. Atomic; lock-free after the thread's first call. Scales as
        :meth:`increment` (use a :meth:`handle` in hot loops).

        >>> c = StripedCounter(); c.decrement(); c.sum()
        -1
        """
        if _GUARD_ON:
            check_write("StripedCounter.decrement()")
        try:  # inline: a call of _thread_cell would touch the shared self twice more
            self._local.slot.cell.added -= 1  # single writer: the calling thread owns it
        except AttributeError:  # this thread's first call: no slot yet
            self._thread_cell().added -= 1

    # --- reads ---------------------------------------------------------------------------------
    def sum(self) -> int:
        """The total. Exact when no add is in flight; weakly consistent during adds (see
        the class's Guarantees). Holds the lock while it reads the cells (O(cells)).

        >>> StripedCounter(7).sum()
        7
        """
        with self._lock:
            self._fold_retiring()
            return self._retired + sum(cell.added - cell.taken for cell in self._cells)

    def sum_then_reset(self) -> int:
        """Return the total and start again from zero, losing and double-counting nothing:
        each add is counted by exactly one call. Holds the lock.

        >>> c = StripedCounter(); c.add(4); c.sum_then_reset(), c.sum()
        (4, 0)
        """
        if _GUARD_ON:
            check_write("StripedCounter.sum_then_reset()")
        with self._lock:
            self._fold_retiring()
            total, self._retired = self._retired, 0
            for cell in self._cells:
                added = cell.added  # one read: adds after it stay for the next reset
                total += added - cell.taken
                cell.taken = added
            return total

    def reset(self) -> None:
        """Start again from zero (as :meth:`sum_then_reset`, result discarded)."""
        self.sum_then_reset()

    def __int__(self) -> int:
        """``int(counter)``: :meth:`sum`."""
        return self.sum()

    def __repr__(self) -> str:
        """``StripedCounter(<sum>)``."""
        return f"StripedCounter({self.sum()})"

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __copy__(self) -> StripedCounter:
        """``copy.copy``: a new StripedCounter starting at the current :meth:`sum`."""
        return StripedCounter(self.sum())

    def __deepcopy__(self, memo: dict[int, Any]) -> StripedCounter:
        """``copy.deepcopy``: a new StripedCounter starting at the current :meth:`sum`."""
        return StripedCounter(self.sum())

    def __reduce__(self) -> tuple[type[StripedCounter], tuple[int]]:
        """Pickling: the current :meth:`sum`."""
        return (StripedCounter, (self.sum(),))

    def statistics(self) -> StripedCounterStatistics:
        """Debugging figures: ``cells`` (live cells: threads and handles), ``retired`` (the
        count folded from cells whose owner is gone), and the contention counters of the
        counter's one lock (``"cells"``) in the package's uniform shape
        (:mod:`atomics.contention`), counted with ``track_contention=True`` (``"tracking":
        False`` and zeros otherwise). Adds -- through the counter or a handle -- are lock-free
        and count nothing; the lock is taken to register a thread's or handle's cell, by
        :meth:`sum`/:meth:`reset`/:meth:`sum_then_reset` and by this method, whose own
        acquisition is counted by the next call, not this one (the counters are read first).
        Thread-safe; it takes the lock briefly (to fold retired cells).

        >>> c = StripedCounter(track_contention=True); c.increment(); c.increment()
        >>> s = c.statistics(); s["cells"], s["acquisitions"], s["contended"]
        (1, 1, 0)
        """
        lock = self._lock
        counted = _locks.contention(_locks.counters(lock) is not None, (("cells", lock),))
        with lock:
            self._fold_retiring()
            cells, retired = len(self._cells), self._retired
        return {
            "tracking": counted["tracking"],
            "acquisitions": counted["acquisitions"],
            "contended": counted["contended"],
            "wait_seconds": counted["wait_seconds"],
            "locks": counted["locks"],
            "cells": cells,
            "retired": retired,
        }
