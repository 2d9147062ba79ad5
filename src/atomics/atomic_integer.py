"""AtomicInteger: an int whose read-modify-write operations are atomic on every build.

On a free-threaded build, ``counter += 1`` on a shared int attribute is a read, an add and
a write: two threads can read the same value and one increment is lost. AtomicInteger makes
each such operation one indivisible step.

Guarantees
----------
In the docstring of :class:`AtomicInteger`, where ``help(AtomicInteger)`` and the API reference
show them.

Names, and Java's
-----------------
=======================  =======================  ==============================
this class               java.util.concurrent     returns
=======================  =======================  ==============================
``get``/``set``          ``get``/``set``          value / None
``get_and_set``          ``getAndSet``            old value
``compare_and_set``      ``compareAndSet``        True if it was set
``compare_and_exchange`` ``compareAndExchange``   the witness (value seen)
``add_and_get``          ``addAndGet``            new value
``get_and_add``          ``getAndAdd``            old value
``increment_and_get``    ``incrementAndGet``      new value
``get_and_increment``    ``getAndIncrement``      old value
``decrement_and_get``    ``decrementAndGet``      new value
``get_and_decrement``    ``getAndDecrement``      old value
``update_and_get``       ``updateAndGet``         new value
``get_and_update``       ``getAndUpdate``         old value
``accumulate_and_get``   ``accumulateAndGet``     new value
``get_and_accumulate``   ``getAndAccumulate``     old value
=======================  =======================  ==============================

>>> hits = AtomicInteger()
>>> hits.increment_and_get()
1
>>> hits += 10
>>> hits
AtomicInteger(11)
>>> hits.compare_and_set(11, 0), int(hits)
(True, 0)
"""

from __future__ import annotations

import operator as _operator
from collections.abc import Callable
from itertools import repeat as _repeat
from typing import Any

from atomics import _locks, _validate
from atomics._guard import check_write, mirror, on_activation
from atomics.contention import ContentionStatistics
from atomics.errors import AtomicsValueError

_GUARD_ON = False  # the re-entry guard's flag: True once any thread ran user code
mirror(globals(), "_GUARD_ON")  # (a global bound to an immortal bool: see atomics._guard)

__all__ = ["AtomicInteger"]


def _check_int(value: object, name: str) -> int:
    return value if type(value) is int else _validate.integer(value, name)


class AtomicInteger:
    """An integer with atomic read-modify-write operations.

    Guarantees
    ----------
    * **Inside a user function** that runs under a lock of this package (a ``ShardedDict``
      compute function, a reducer, a ``locked()`` block): reads complete; every write, in-place
      operators included, raises :class:`~atomics.errors.ReentrantCallError` at once
      (``docs/guarantees.md``).
    * Every method is **atomic** (linearizable): it takes effect at one instant between its
      call and its return. Writes and read-modify-writes hold the instance's lock; ``get`` reads
      one attribute, which is atomic on its own, so reads take no lock. (The lock is never
      taken by ``acquire()`` before a ``try``: measured at 4 threads, that was 1.1x faster on
      3.13t but collapsed to 0.17x on 3.11, where the GIL can switch threads right after
      ``acquire()`` returns, with the lock held -- a lock convoy; and on every build a
      KeyboardInterrupt can land right there, leaving the lock held for good. Methods use
      ``with``; the in-place operators a faster form with the same property, explained in the
      source. ``_lock`` is private: a subclass must call ``AtomicInteger.__init__`` and must not
      replace it.)
    * Progress: blocking (a lock), with no user code under the lock -- the ``*_update`` and
      ``*_accumulate`` methods call the function *outside* the lock in a compare-and-set retry
      loop, so the function may be called more than once under contention and must be free of
      side effects (as in ``java.util.concurrent``). Fairness: none.
    * A call that raises an error of its own (bad argument, ``//= 0``, a function that raises
      or returns a non-int) leaves the value unchanged. (An asynchronous exception, such as a
      KeyboardInterrupt, can land just after the write.)
    * ``bool`` is rejected wherever an int is expected (``TypeError``): ``True`` as a counter
      value is almost always a bug; use :class:`~atomics.AtomicBoolean`. Other ``int``
      subclasses are accepted and stored as plain ``int``.
    * Mutable, so unhashable. ``copy.copy`` and ``copy.deepcopy`` give a new, independent
      AtomicInteger holding the current value; pickling stores the value only.
    * ``statistics()`` reports the contention of the instance's one lock (``"value"``) in the
      package's uniform shape (:mod:`atomics.contention`); counted only with
      ``track_contention=True`` (or ``ATOMICS_TRACK_CONTENTION=1``), zeros otherwise, when the
      lock is a plain ``threading.Lock`` and nothing costs. Lock-free reads count nothing.

    >>> n = AtomicInteger(5)
    >>> n.get_and_add(3), n.get()
    (5, 8)
    """

    __slots__ = ("__weakref__", "_acquiring", "_lock", "_value")

    def __init__(self, initial: int = 0, *, track_contention: bool | None = None) -> None:
        self._value = _check_int(initial, "initial")
        # guards every write of self._value; counting (atomics.contention) if asked for
        self._lock = _locks.lock(_locks.tracking(track_contention))
        # the in-place operators' way to take it (see "in-place operators" below)
        self._acquiring = map(type(self._lock).acquire, _repeat(self._lock))

    # --- reads and writes ------------------------------------------------------------------
    def get(self) -> int:
        """The current value. Atomic, lock-free (one attribute read).

        >>> AtomicInteger(3).get()
        3
        """
        return self._value

    def set(self, value: int) -> None:
        """Set the value. Atomic; holds the lock so that it cannot land inside another
        thread's read-modify-write (which would then overwrite it).

        >>> n = AtomicInteger(); n.set(4); n.get()
        4
        """
        value = _check_int(value, "value")
        if _GUARD_ON:
            check_write("AtomicInteger.set()")
        with self._lock:
            self._value = value

    def get_and_set(self, value: int) -> int:
        """Set the value; return the previous one. Atomic.

        >>> n = AtomicInteger(1); n.get_and_set(2), n.get()
        (1, 2)
        """
        value = _check_int(value, "value")
        if _GUARD_ON:
            check_write("AtomicInteger.get_and_set()")
        with self._lock:
            old, self._value = self._value, value
        return old

    def compare_and_set(self, expect: int, update: int) -> bool:
        """If the value equals ``expect``, set it to ``update`` and return True; else
        return False and change nothing. Atomic.

        >>> n = AtomicInteger(1); n.compare_and_set(1, 5), n.compare_and_set(1, 6), n.get()
        (True, False, 5)
        """
        return self.compare_and_exchange(expect, update) == expect

    def compare_and_exchange(self, expect: int, update: int) -> int:
        """If the value equals ``expect``, set it to ``update``. Return the value seen (the
        *witness*): equal to ``expect`` exactly when the exchange happened. Atomic.

        >>> n = AtomicInteger(1); n.compare_and_exchange(0, 5), n.compare_and_exchange(1, 5)
        (1, 1)
        """
        expect = _check_int(expect, "expect")
        update = _check_int(update, "update")
        if _GUARD_ON:
            check_write("AtomicInteger.compare_and_exchange()")
        with self._lock:
            witness = self._value
            if witness == expect:
                self._value = update
        return witness

    # --- arithmetic ------------------------------------------------------------------------
    def add_and_get(self, delta: int) -> int:
        """Add ``delta``; return the new value. Atomic.

        >>> AtomicInteger(1).add_and_get(2)
        3
        """
        delta = _check_int(delta, "delta")
        if _GUARD_ON:
            check_write("AtomicInteger.add_and_get()")
        with self._lock:
            self._value = new = self._value + delta
        return new

    def get_and_add(self, delta: int) -> int:
        """Add ``delta``; return the previous value. Atomic.

        >>> AtomicInteger(1).get_and_add(2)
        1
        """
        delta = _check_int(delta, "delta")
        if _GUARD_ON:
            check_write("AtomicInteger.get_and_add()")
        with self._lock:
            old = self._value
            self._value = old + delta
        return old

    def increment_and_get(self) -> int:
        """Add 1; return the new value. Atomic.

        >>> AtomicInteger().increment_and_get()
        1
        """
        if _GUARD_ON:
            check_write("AtomicInteger.increment_and_get()")
        with self._lock:
            self._value = new = self._value + 1
        return new

    def get_and_increment(self) -> int:
        """Add 1; return the previous value. Atomic.

        >>> AtomicInteger().get_and_increment()
        0
        """
        if _GUARD_ON:
            check_write("AtomicInteger.get_and_increment()")
        with self._lock:
            old = self._value
            self._value = old + 1
        return old

    def decrement_and_get(self) -> int:
        """Subtract 1; return the new value. Atomic.

        >>> AtomicInteger().decrement_and_get()
        -1
        """
        if _GUARD_ON:
            check_write("AtomicInteger.decrement_and_get()")
        with self._lock:
            self._value = new = self._value - 1
        return new

    def get_and_decrement(self) -> int:
        """Subtract 1; return the previous value. Atomic.

        >>> AtomicInteger().get_and_decrement()
        0
        """
        if _GUARD_ON:
            check_write("AtomicInteger.get_and_decrement()")
        with self._lock:
            old = self._value
            self._value = old - 1
        return old

    # --- functional updates (retry loop; fn may run more than once) ---------------------------
    def _update(self, fn: Callable[[int], int]) -> tuple[int, int]:
        """Apply ``fn`` with compare-and-set retries; return (old, new)."""
        _validate.function(fn, "fn")
        if _GUARD_ON:
            check_write("AtomicInteger update")
        while True:
            old = self._value  # lock-free read; the compare below validates it
            new = _check_int(fn(old), "the function's result")
            with self._lock:
                if self._value == old:  # unchanged since the read: commit
                    self._value = new
                    return old, new
            # Another thread changed the value while fn ran: run fn again on the new value.

    def update_and_get(self, fn: Callable[[int], int]) -> int:
        """Set the value to ``fn(value)``; return the new value. Atomic.

        ``fn`` runs outside the lock and is retried if another thread changed the value in
        the meantime, so it may be called several times: keep it free of side effects. If
        it raises, or returns a non-int (``TypeError``), the value is unchanged.

        >>> AtomicInteger(3).update_and_get(lambda v: v * 2)
        6
        """
        return self._update(fn)[1]

    def get_and_update(self, fn: Callable[[int], int]) -> int:
        """Set the value to ``fn(value)``; return the previous value. Atomic; ``fn`` as in
        :meth:`update_and_get`.

        >>> AtomicInteger(3).get_and_update(lambda v: v * 2)
        3
        """
        return self._update(fn)[0]

    def accumulate_and_get(self, x: int, fn: Callable[[int, int], int]) -> int:
        """Set the value to ``fn(value, x)``; return the new value. Atomic; ``fn`` as in
        :meth:`update_and_get`.

        >>> AtomicInteger(3).accumulate_and_get(10, max)
        10
        """
        x = _check_int(x, "x")
        _validate.function(fn, "fn")
        return self._update(lambda v: fn(v, x))[1]

    def get_and_accumulate(self, x: int, fn: Callable[[int, int], int]) -> int:
        """Set the value to ``fn(value, x)``; return the previous value. Atomic.

        >>> AtomicInteger(3).get_and_accumulate(10, max)
        3
        """
        x = _check_int(x, "x")
        _validate.function(fn, "fn")
        return self._update(lambda v: fn(v, x))[0]

    # --- in-place operators: each one atomic read-modify-write ------------------------------
    # Written out one by one, with one test on the fast path: through a shared helper they
    # cost 3.5x a bare ``with lock: x += 1`` on 3.13t, whose interpreter does not specialise
    # (every global or builtin name is a dictionary lookup; hence ``_type``/``_int`` bound as
    # defaults, loaded as locals). An operand that is not exactly an int takes
    # :meth:`_operand`, which validates it. The re-entry guard costs nothing here until some
    # thread first runs user code: then _guard's activation hook swaps in the checking
    # versions (_GUARDED below), before that user code runs. An operator that raises
    # (``//= 0``, ``<<= -1``) leaves the value unchanged: the new value is computed before it
    # is stored. Measured in docs/counters.md.
    #
    # How they take the lock: ``for held in self._acquiring: break`` inside the ``try`` --
    # ``_acquiring`` is ``map(Lock.acquire, repeat(lock))``, an endless iterator whose every
    # step calls ``acquire()`` (blocking: True), so the loop's first step takes the lock and
    # sets ``held``, and ``finally`` releases it only if held. Why not ``with``: ``x += 1``
    # reaches a Python ``__iadd__`` through the type slot (a new C-level frame) where the
    # bare locked ``+=`` is inline, and ``with`` costs two method lookups and a
    # three-argument ``__exit__`` call: the operators measured 0.68-0.88x the bare locked
    # ``+=`` at 1 thread with ``with``, 0.91-0.95x this way. Why not ``lock.acquire()``
    # before a ``try``: as fast, but the interpreter checks for signals (and, with the GIL,
    # for a thread switch) as every call returns, so a KeyboardInterrupt can land between
    # ``acquire()`` and the ``try`` and leave the lock held for good (and on the GIL build a
    # switch there holds the lock through a switch interval: 0.35x at 2 threads, a convoy).
    # ``FOR_ITER`` makes no such check, and ``held`` is stored before the next one: an
    # interrupt during the wait (lock not taken) or after ``held`` is set is handled right.
    # A signal handler raising StopIteration inside ``acquire()`` ends the loop instead
    # (``for`` takes StopIteration for "exhausted"; ``map`` is not exhausted by it): the
    # ``else`` raises it again, without the lock. What is not covered, as with ``with``: a
    # tracer or ``sys.monitoring`` callback that raises (a debugger's "quit") between two
    # of these steps. tests/test_atomic_integer.py interrupts every version of every
    # operator with real signals, blocked in ``acquire()`` and not.
    def _operand(self, other: object, symbol: str) -> int:
        return _validate.integer(other, f"the right operand of {symbol}")

    def __iadd__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x += n``: add ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise). An operation that raises leaves the
        value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "+=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value + other
        finally:
            if held:
                self._lock.release()
        return self

    def __isub__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x -= n``: subtract ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise). An operation that raises leaves the
        value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "-=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value - other
        finally:
            if held:
                self._lock.release()
        return self

    def __imul__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x *= n``: multiply by ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise). An operation that raises leaves the
        value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "*=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value * other
        finally:
            if held:
                self._lock.release()
        return self

    def __ifloordiv__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x //= n``: floor-divide by ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise); 0 raises ``ZeroDivisionError``. An
        operation that raises leaves the value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "//=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value // other
        finally:
            if held:
                self._lock.release()
        return self

    def __imod__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x %= n``: reduce modulo ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise); 0 raises ``ZeroDivisionError``. An
        operation that raises leaves the value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "%=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value % other
        finally:
            if held:
                self._lock.release()
        return self

    def __ipow__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x **= n``: raise to the power ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise); ``n < 0`` raises ``ValueError``. An
        operation that raises leaves the value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "**=")
        if other < 0:
            raise AtomicsValueError("**= with a negative exponent would not give an int")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value**other
        finally:
            if held:
                self._lock.release()
        return self

    def __ilshift__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x <<= n``: shift left by ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise); ``n < 0`` raises ``ValueError``. An
        operation that raises leaves the value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "<<=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value << other
        finally:
            if held:
                self._lock.release()
        return self

    def __irshift__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x >>= n``: shift right by ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise); ``n < 0`` raises ``ValueError``. An
        operation that raises leaves the value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, ">>=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value >> other
        finally:
            if held:
                self._lock.release()
        return self

    def __iand__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x &= n``: bitwise and with ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise). An operation that raises leaves the
        value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "&=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value & other
        finally:
            if held:
                self._lock.release()
        return self

    def __ior__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x |= n``: bitwise or with ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise). An operation that raises leaves the
        value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "|=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value | other
        finally:
            if held:
                self._lock.release()
        return self

    def __ixor__(self, other: int, _type: Any = type, _int: Any = int) -> AtomicInteger:
        """``x ^= n``: bitwise xor with ``n``, atomically (one read-modify-write under the lock).

        ``n`` must be an int (``TypeError`` otherwise). An operation that raises leaves the
        value unchanged.
        """
        if _type(other) is not _int:
            other = self._operand(other, "^=")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 (read in finally) takes the lock
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = self._value ^ other
        finally:
            if held:
                self._lock.release()
        return self

    # --- conversions, comparisons, copying ---------------------------------------------------
    def __int__(self) -> int:
        """``int(x)``: the current value (a lock-free read)."""
        return self._value

    def __index__(self) -> int:
        """The current value, wherever Python wants an index (``range(x)``, ``bin(x)``)."""
        return self._value

    def __bool__(self) -> bool:
        """Whether the current value is not 0."""
        return self._value != 0

    def __repr__(self) -> str:
        """``AtomicInteger(<value>)``."""
        return f"AtomicInteger({self._value})"

    @staticmethod
    def _other(other: object) -> int | None:
        if isinstance(other, AtomicInteger):
            return other._value
        if isinstance(other, int) and not isinstance(other, bool):
            return other
        return None

    def __eq__(self, other: object) -> bool:
        """Equal to an int (not a bool) or an AtomicInteger with the same current value."""
        value = self._other(other)
        return NotImplemented if value is None else self._value == value

    def __lt__(self, other: object) -> bool:
        """``x < other`` for an int or an AtomicInteger (current values)."""
        value = self._other(other)
        return NotImplemented if value is None else self._value < value

    def __le__(self, other: object) -> bool:
        """``x <= other`` for an int or an AtomicInteger (current values)."""
        value = self._other(other)
        return NotImplemented if value is None else self._value <= value

    def __gt__(self, other: object) -> bool:
        """``x > other`` for an int or an AtomicInteger (current values)."""
        value = self._other(other)
        return NotImplemented if value is None else self._value > value

    def __ge__(self, other: object) -> bool:
        """``x >= other`` for an int or an AtomicInteger (current values)."""
        value = self._other(other)
        return NotImplemented if value is None else self._value >= value

    __hash__ = None  # type: ignore[assignment]  # mutable: an AtomicInteger is no dict key

    def statistics(self) -> ContentionStatistics:
        """Contention counters of the instance's lock (:mod:`atomics.contention`): with
        ``track_contention=True``, acquisitions (every write and read-modify-write takes the
        lock once; ``get`` takes none), those that waited for another thread, and the time
        waited; ``"tracking": False`` and zeros otherwise. Thread-safe and lock-free: it never
        blocks; while other threads write, each figure is one that held during the call.

        >>> n = AtomicInteger(5, track_contention=True); n.set(5)
        >>> s = n.statistics(); s["tracking"], s["acquisitions"], s["contended"]
        (True, 1, 0)
        """
        lock = self._lock
        return _locks.contention(_locks.counters(lock) is not None, (("value", lock),))

    def __copy__(self) -> AtomicInteger:
        """``copy.copy``: a new AtomicInteger with the current value."""
        return AtomicInteger(self._value)

    def __deepcopy__(self, memo: dict[int, Any]) -> AtomicInteger:
        """``copy.deepcopy``: a new AtomicInteger with the current value."""
        return AtomicInteger(self._value)

    def __reduce__(self) -> tuple[type[AtomicInteger], tuple[int]]:
        """Pickling: the current value."""
        return (AtomicInteger, (self._value,))


def _guarded(name: str, symbol: str, op: Callable[[int, int], int]) -> Callable[..., Any]:
    """The checking version of one in-place operator: the re-entry guard, then as the fast
    version (``op`` is the ``operator`` module's C function, bound as a default)."""
    negative_refused = name == "__ipow__"

    def operator(
        self: AtomicInteger, other: int, _type: Any = type, _int: Any = int, _op: Any = op
    ) -> AtomicInteger:
        if _GUARD_ON:
            check_write(f"AtomicInteger {symbol}")
        if _type(other) is not _int:
            other = self._operand(other, symbol)
        if negative_refused and other < 0:
            raise AtomicsValueError("**= with a negative exponent would not give an int")
        held = False
        try:
            for held in self._acquiring:  # noqa: B007 takes the lock (see __iadd__)
                break
            else:  # acquire() raised StopIteration (from a signal handler)
                raise StopIteration
            self._value = _op(self._value, other)
        finally:
            if held:
                self._lock.release()
        return self

    operator.__name__ = operator.__qualname__ = name
    operator.__doc__ = getattr(AtomicInteger, name).__doc__
    return operator


_GUARDED = {
    name: _guarded(name, symbol, op)
    for name, symbol, op in (
        ("__iadd__", "+=", _operator.add), ("__isub__", "-=", _operator.sub),
        ("__imul__", "*=", _operator.mul), ("__ifloordiv__", "//=", _operator.floordiv),
        ("__imod__", "%=", _operator.mod), ("__ipow__", "**=", _operator.pow),
        ("__ilshift__", "<<=", _operator.lshift), ("__irshift__", ">>=", _operator.rshift),
        ("__iand__", "&=", _operator.and_), ("__ior__", "|=", _operator.or_),
        ("__ixor__", "^=", _operator.xor),
    )
}  # fmt: skip


_FAST = {name: AtomicInteger.__dict__[name] for name in _GUARDED}  # the versions without


def _install_guarded_operators() -> None:
    for name, operator in _GUARDED.items():
        setattr(AtomicInteger, name, operator)


on_activation(_install_guarded_operators)
