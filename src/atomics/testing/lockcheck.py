"""Lock-order checking: potential deadlocks found the first time a bad order is *seen*,
without the interleaving that hangs (the idea of the Linux kernel's lockdep).

While :func:`watching` is active, every lock this package makes is instrumented (and, with
``patch_threading=True``, every ``threading.Lock``/``RLock`` -- and so ``Condition``,
``Semaphore``, ``queue.Queue`` -- that any code makes). Each thread's held locks are
tracked, and every blocking acquisition of ``B`` while holding ``A`` adds the edge
``A -> B`` (with the stack where it was first seen) to one lock-order graph shared by all
threads. Three things are reported, each as a :class:`Finding` with the stacks involved:

* ``"order"`` -- an edge that closes a cycle (``B`` was taken before ``A`` somewhere, directly
  or through other locks): two threads running those paths at the same time can deadlock;
* ``"self"`` -- a thread blocking on a (non-re-entrant) lock it already holds: it waits for
  itself, forever unless another thread releases the lock for it;
* ``"wait"`` -- a thread waiting on a ``Condition`` (a queue's "not full", say) while holding
  another lock ``L``, where a thread seen to wake waiters of that condition takes ``L``
  before it takes the condition's lock again: if it needs ``L`` before it wakes the waiter,
  neither moves (the knowledge base's ``overflow="block"`` deadlock had this shape).

>>> import threading
>>> with watching(patch_threading=True) as checker:
...     a, b = threading.Lock(), threading.Lock()
...     with a, b:
...         pass
...     with b, a:  # the other order, later, on the same thread: nothing hangs
...         pass
>>> [finding.kind for finding in checker.findings]
['order']

With ``raise_on_inversion=True`` the acquisition (or wait) that completes a finding raises
:class:`LockOrderError` instead of going on -- a certain self-deadlock then fails at once
instead of hanging.

Off by default, and zero cost when off: outside :func:`watching` the package's lock
factories (:mod:`atomics._locks`) are ``threading.Lock``/``RLock`` themselves and nothing in
``threading`` is patched. Locks made before the block began stay uninstrumented (and locks
made inside it stay instrumented after it, reporting to its checker). While it is on, every
acquisition of an instrumented lock runs Python code (a few microseconds): a debugging
mode, for tests, not production. Blocks nest and may close in any order: locks made while
several are open report to the innermost one (``threading``'s to the innermost that patches
it), and nothing is patched once all have closed.

The pytest plugin runs a whole test session this way: ``pytest --atomics-lockcheck``
(see docs/testing.md, "Lock-order checking").
"""

from __future__ import annotations

import _thread
import itertools
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from atomics import _locks

__all__ = [
    "CheckedLock",
    "CheckedRLock",
    "Finding",
    "LockOrderChecker",
    "LockOrderError",
    "active_checker",
    "watching",
]

STACK_LIMIT = 24  # frames kept per recorded stack (innermost)
_allocate = _thread.allocate_lock  # the real factories (never instrumented)
_RealRLock = _thread.RLock
_get_ident = _thread.get_ident
_tls = _thread._local()
_next_key = itertools.count(1).__next__
_thread_idents: dict[int, int] = {}  # thread key -> its ident
_known_names: dict[int, str] = {}  # thread key -> its name, once threading knows it


def _me() -> int:
    """A key for this thread, never reused (thread idents are, once a thread ends)."""
    try:
        return _tls.key  # type: ignore[no-any-return]
    except AttributeError:
        key = _tls.key = _next_key()
        _thread_idents[key] = _get_ident()
        return key


class _Names:
    """``_thread_names.get(key, default)``: a thread's name by its key (looked up when first
    needed: a thread takes locks before ``threading`` registers its name)."""

    @staticmethod
    def get(key: int, default: str = "?") -> str:
        name = _known_names.get(key)
        if name is None:
            ident = _thread_idents.get(key)
            thread = threading._active.get(ident) if ident else None  # type: ignore[attr-defined]
            if thread is None:
                return f"thread {ident}" if ident else default
            name = _known_names[key] = thread.name
        return name


_thread_names = _Names()


_active: list[LockOrderChecker] = []  # the checkers of the watching() blocks, innermost last


class LockOrderError(AssertionError):
    """A potential deadlock, raised when the checker has ``raise_on_inversion``."""


FindingKind = Literal["order", "self", "wait"]


@dataclass(frozen=True)
class Finding:
    """One potential deadlock: its ``kind`` (see the module docstring), the ``locks``
    involved (by name: the lock's class, a number, and where it was made), and for each
    side the thread and the stack of the acquisition (or wait) that showed it."""

    kind: FindingKind
    locks: tuple[str, ...]
    first_thread: str
    first_stack: str
    second_thread: str
    second_stack: str

    def __str__(self) -> str:
        if self.kind == "self":
            (lock,) = self.locks
            return (
                f"self-deadlock: thread {self.second_thread!r} blocks on {lock}, which it "
                f"already holds:\n{self.second_stack}"
                f"... it took {lock} here:\n{self.first_stack}"
            )
        if self.kind == "wait":
            held, condition = self.locks
            return (
                f"potential deadlock: thread {self.second_thread!r} waits on a condition of "
                f"{condition} while holding {held}:\n{self.second_stack}"
                f"... and thread {self.first_thread!r}, which also takes {condition} (and so "
                f"may be the one to wake it), takes {held}:\n{self.first_stack}"
            )
        a, b = self.locks
        return (
            f"potential deadlock (lock-order inversion): {a} then {b} on thread "
            f"{self.first_thread!r}:\n{self.first_stack}"
            f"... and {b} then {a} on thread {self.second_thread!r}:\n{self.second_stack}"
        )


@dataclass
class _Edge:
    thread: str
    stack: str


class _ThreadState:
    """One thread's locks as one checker sees them; written by that thread only."""

    __slots__ = ("held", "held_set", "key", "seq", "uses", "waiting")

    def __init__(self, key: int) -> None:
        self.key = key
        self.seq = 0  # blocking acquisitions so far (orders this thread's events)
        self.uses: dict[int, _Use] = {}  # lock id -> how this thread takes it
        self.held: list[Any] = []  # the instrumented locks it holds, in acquisition order
        self.held_set: set[int] = set()  # their serials
        self.waiting: object | None = None  # the lock it blocks on now

    def took(self, lock: Any) -> None:
        """This thread now holds ``lock``."""
        self.held.append(lock)
        self.held_set.add(lock._serial)

    def dropped(self, lock: Any) -> None:
        """This thread no longer holds ``lock`` (the latest entry, if it holds it)."""
        held = self.held
        for i in range(len(held) - 1, -1, -1):
            if held[i] is lock:
                del held[i]
                self.held_set.discard(lock._serial)
                return


@dataclass
class _Use:
    always_held: frozenset[int]  # the locks a thread held at every acquisition of a lock
    stack: traceback.StackSummary  # where it last narrowed
    last_seq: int  # the thread's acquisition count at its latest acquisition of the lock


@dataclass
class _Wait:
    thread_id: int
    thread: str
    held: tuple[int, ...]
    lock: int
    condition: int
    stack: traceback.StackSummary
    names: dict[int, str]  # lock serial -> name, for the report


def _serials(locks: list[Any]) -> Iterator[int]:
    return (lock._serial for lock in locks)


_condition_serial = itertools.count(1).__next__


def _condition_key(condition: object) -> int:
    """A condition's key, never reused (unlike ``id``): kept on the condition itself."""
    attributes = getattr(condition, "__dict__", None)
    if attributes is None:
        return id(condition)
    key: int | None = attributes.get("_lockcheck_key")
    if key is None:
        key = attributes.setdefault("_lockcheck_key", _condition_serial())
    return key


def _capture(skip: int) -> traceback.StackSummary:
    """This thread's stack less the ``skip`` innermost frames, cheap to take (source lines
    are read only when it is formatted)."""
    frame = sys._getframe(skip + 1)
    summary = traceback.StackSummary.extract(
        traceback.walk_stack(frame), limit=STACK_LIMIT, lookup_lines=False
    )
    summary.reverse()
    return summary


def _stack(skip: int) -> str:
    return "".join(_capture(skip + 1).format())


def _origin() -> str:
    """Where the lock being made was made: the first frame outside this module, threading
    and the package's lock factories."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if not name.endswith(("/lockcheck.py", "/threading.py", "/_locks.py")):
            return f" made at {'/'.join(name.rsplit('/', 2)[-2:])}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def _thread_name(ident: int | None = None) -> str:
    """A thread's name, without ``threading.current_thread()`` (which, in a thread not yet
    registered, makes a dummy Thread -- whose locks would come back here)."""
    ident = _get_ident() if ident is None else ident
    thread = threading._active.get(ident)  # type: ignore[attr-defined]
    return f"{thread.name}" if thread is not None else f"thread {ident}"


class LockOrderChecker:
    """The lock-order graph and what it found. Thread-safe.

    ``findings`` lists every :class:`Finding` in the order found (each pair of locks at
    most once per kind). ``holding()`` tells what each thread holds and waits for now (a
    hang report uses it).

    Guarantees
    ----------
    * One graph shared by every thread (guarded by a lock of its own); each thread's held
      locks are its own state, so the instrumented locks' hot path writes nothing shared.
    * A potential deadlock is reported the first time its order is *seen*, whether or not
      the threads ever ran at the same time: an ``"order"`` cycle, a ``"self"`` wait on a
      lock the thread holds, a ``"wait"`` on a condition while holding a lock its notifier
      needs first (the kinds: :mod:`atomics.testing.lockcheck`). Each pair of locks is
      reported at most once per kind.
    * With ``raise_on_inversion=True`` the acquisition (or wait) that completes a finding
      raises :class:`LockOrderError` instead of going on; otherwise locking behaves exactly
      as with plain locks, only slower (a debugging mode, for tests).

    >>> checker = LockOrderChecker()
    >>> checker.findings
    []
    """

    def __init__(self, *, raise_on_inversion: bool = False) -> None:
        if not isinstance(raise_on_inversion, bool):
            raise TypeError("raise_on_inversion must be a bool")
        self.raise_on_inversion = raise_on_inversion
        self.findings: list[Finding] = []
        self._graph: dict[int, dict[int, _Edge]] = {}
        self._preds: dict[int, set[int]] = {}  # lock -> the locks with an edge to it
        self._mutex = _allocate()  # guards the graph and the records (a real lock)
        # per thread, a _ThreadState only that thread writes (no shared write on the hot path)
        self._local = _thread._local()
        self._states: dict[int, _ThreadState] = {}  # thread key -> its state (for reports)
        # lock -> {thread: (the locks it held at *every* acquisition of it, a stack)}
        self._waits: list[_Wait] = []
        self._wait_keys: set[tuple[int, tuple[int, ...], int]] = set()  # (no duplicates)
        self._waited: set[int] = set()  # the locks of the conditions waited on
        # condition -> {thread: (where and when, in its acquisition count, it first notified)}
        self._notifiers: dict[int, dict[int, tuple[traceback.StackSummary, int]]] = {}
        self._reported: set[tuple[Any, ...]] = set()
        self._count = 0

    @property
    def locks_seen(self) -> int:
        """How many locks have been instrumented for this checker (a check that found
        nothing says something only if this is not 0)."""
        return self._count

    # --- naming --------------------------------------------------------------------------------
    def register(self, lock: object) -> tuple[int, str]:
        """A new lock's serial number (its key in the graph: never reused, unlike ``id``)
        and its name: its class, the number, and the line that made it."""
        where = _origin()
        with self._mutex:
            self._count += 1
            serial = self._count
        return serial, f"{type(lock).__name__}#{serial}{where}"

    def name(self, lock: object) -> str:
        """The name reports use for ``lock``."""
        name: str | None = getattr(lock, "_name", None)
        return name if name is not None else f"{type(lock).__name__}@{id(lock):#x}"

    # --- what each thread holds ---------------------------------------------------------------
    def _state(self) -> _ThreadState:
        try:
            return self._local.state  # type: ignore[no-any-return]
        except AttributeError:
            state = self._local.state = _ThreadState(_me())
            with self._mutex:
                self._states[state.key] = state
            return state

    def holding(self) -> dict[str, tuple[list[str], str | None]]:
        """Per thread (by name): the instrumented locks it holds and what it waits for now."""
        with self._mutex:
            states = sorted(self._states.items())
        out: dict[str, tuple[list[str], str | None]] = {}
        for key, state in states:
            held, waiting = list(state.held), state.waiting
            if held or waiting is not None:
                out[_thread_names.get(key, f"thread {key}")] = (
                    [self.name(lock) for lock in held],
                    None if waiting is None else self.name(waiting),
                )
        return out

    def _record(self, finding: Finding, key: tuple[Any, ...]) -> Finding | None:
        # (caller holds self._mutex)
        if key in self._reported:
            return None
        self._reported.add(key)
        self.findings.append(finding)
        return finding

    def _raise(self, found: list[Finding]) -> None:
        if found and self.raise_on_inversion:
            raise LockOrderError(str(found[0]))

    def _reaches(self, start: int, goal: int) -> bool:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            for nxt in self._graph.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    # --- events from the instrumented locks ---------------------------------------------------
    def acquiring(
        self, lock: object, blocking: bool = True, reentrant: bool = False
    ) -> _ThreadState:
        """Called before this thread acquires ``lock`` (not for a re-entry of an RLock);
        returns this thread's state, whose ``waiting`` the caller clears afterwards."""
        state = self._state()
        if not blocking:
            return state  # a non-blocking attempt cannot deadlock: no edge, no use
        held = state.held
        ident = state.key
        wanted: int = lock._serial  # type: ignore[attr-defined]
        state.seq += 1
        use = state.uses.get(wanted)
        if use is None or (use.always_held and not use.always_held <= state.held_set):
            self._note_use(state, wanted, held)
        else:
            previous, use.last_seq = use.last_seq, state.seq
            if previous != state.seq - 1 and wanted in self._waited:
                self._recheck(state, wanted)  # other locks taken since: a waker's loop?
        if not held:
            state.waiting = lock
            return state
        known = self._preds.get(wanted)
        if known is not None and state.held_set <= known:  # every edge known: no mutex
            state.waiting = lock
            return state
        found: list[Finding] = []
        stack: str | None = None
        thread = _thread_names.get(ident, "?")
        with self._mutex:
            for before in held:
                key = before._serial
                if key == wanted:
                    if not reentrant:
                        stack = stack or _stack(2)
                        finding = self._record(
                            Finding(
                                "self",
                                (self.name(lock),),
                                thread,
                                "(in the stack above: the thread still holds it)\n",
                                thread,
                                stack,
                            ),
                            ("self", wanted),
                        )
                        if finding:
                            found.append(finding)
                    continue
                edges = self._graph.setdefault(key, {})
                if wanted in edges:
                    continue
                stack = stack or _stack(2)
                if self._reaches(wanted, key):  # wanted -> ... -> before: a cycle
                    first = self._graph.get(wanted, {}).get(key)
                    finding = self._record(
                        Finding(
                            "order",
                            (self.name(lock), self.name(before)),
                            first.thread if first else "?",
                            first.stack if first else "(through other locks)\n",
                            thread,
                            stack,
                        ),
                        ("order", *sorted((wanted, key))),
                    )
                    if finding:
                        found.append(finding)
                edges[wanted] = _Edge(thread, stack)
                self._preds.setdefault(wanted, set()).add(key)
        self._raise(found)
        state.waiting = lock
        return state

    def released(self, lock: object) -> None:
        """Called when this thread no longer holds ``lock``."""
        self._state().dropped(lock)

    def waiting_on(self, lock: object, condition: object) -> None:
        """Called when this thread is about to wait on ``condition`` (a ``Condition`` of
        ``lock``, which it holds and the wait releases): the ``"wait"`` check."""
        state = self._state()
        others = [other for other in state.held if other is not lock]
        if not others:
            return
        held = tuple(other._serial for other in others)
        serial: int = lock._serial  # type: ignore[attr-defined]
        key = (state.key, held, _condition_key(condition))
        if key in self._wait_keys:
            return  # the same wait again: nothing new to check
        names = {other._serial: self.name(other) for other in others}
        names[serial] = self.name(lock)
        wait = _Wait(
            state.key, _thread_names.get(state.key, "?"), held, serial, key[2], _capture(3), names
        )
        with self._mutex:
            self._wait_keys.add(key)
            self._waits.append(wait)
            self._waited.add(serial)
            found = self._check_wait(wait)
        self._raise(found)

    def notified(self, condition: object) -> None:
        """Called when this thread notifies ``condition`` with a thread waiting on it."""
        ident = _me()
        key = _condition_key(condition)
        if ident in self._notifiers.get(key, {}):
            return
        found: list[Finding] = []
        with self._mutex:
            self._notifiers.setdefault(key, {})[ident] = (_capture(3), self._state().seq)
            for wait in self._waits:
                if wait.condition == key and wait.thread_id != ident:
                    found += self._check_wait(wait, only=ident)
        self._raise(found)

    def _check_wait(self, wait: _Wait, only: int | None = None) -> list[Finding]:
        """A thread waiting on a condition while it holds a lock ``h`` can deadlock with a
        thread that wakes waiters of that condition and, in its own sequence, after a
        notify takes ``h`` (without the condition's lock) and then the condition's lock
        again (without ``h``): a consumer that reads under ``h`` between two gets. Blocked on
        ``h``, it never gets to the next notify. A thread that takes ``h`` only after its
        last use of the condition (a thread's start-up event), only before it first
        notified (setting up), or takes the condition's lock only inside ``h`` (the waiter's
        own order), is not such a waker. (Caller holds ``self._mutex``; ``only``: check
        that thread alone.)"""
        found: list[Finding] = []
        wakers = self._notifiers.get(wait.condition, {})
        for h in wait.held:
            for other, use in self._uses_of(h):
                if other == wait.thread_id or (only is not None and other != only):
                    continue
                woke = wakers.get(other)
                if woke is None or wait.lock in use.always_held:
                    continue
                again = self._states[other].uses.get(wait.lock)
                if again is None or h in again.always_held:
                    continue
                if not woke[1] < use.last_seq < again.last_seq:
                    continue
                finding = self._record(
                    Finding(
                        "wait",
                        (wait.names.get(h, "?"), wait.names.get(wait.lock, "?")),
                        _thread_names.get(other, "?"),
                        "".join(use.stack.format()),
                        wait.thread,
                        "".join(wait.stack.format()),
                    ),
                    ("wait", h, wait.condition),
                )
                if finding is not None:
                    found.append(finding)
        return found

    def _uses_of(self, key: int) -> list[tuple[int, _Use]]:
        """Every thread's record of taking lock ``key``. (Caller holds ``self._mutex``.)"""
        return [
            (thread, use)
            for thread, state in list(self._states.items())
            for use in [state.uses.get(key)]
            if use is not None
        ]

    def _note_use(self, state: _ThreadState, key: int, held: list[Any]) -> None:
        """This thread takes lock ``key`` holding ``held``: narrow what it always holds when
        it takes that lock (in its own record), and check the recorded waits against it."""
        held_ids = frozenset(_serials(held))
        use = state.uses.get(key)
        if use is None:
            state.uses[key] = _Use(held_ids, _capture(3), state.seq)
        else:
            use.always_held = use.always_held & held_ids
            use.stack = _capture(3)
            use.last_seq = state.seq
        if self._waits:
            self._recheck(state, key)

    def _recheck(self, state: _ThreadState, key: int) -> None:
        """Check the waits that lock ``key`` is part of, for this thread as a waker."""
        found: list[Finding] = []
        with self._mutex:
            for wait in self._waits:
                if wait.thread_id != state.key and (key in wait.held or key == wait.lock):
                    found += self._check_wait(wait, only=state.key)
        self._raise(found)


def _waiting_on(checker: LockOrderChecker, lock: object) -> None:
    """From ``Condition.wait`` (two frames up): report the wait unless it has a timeout --
    a waiter that wakes by itself can re-check (the loop of slices that looks at a flag), as
    one that waits for a notify alone cannot."""
    frame = sys._getframe(2)
    if frame.f_locals.get("timeout") is None:
        checker.waiting_on(lock, frame.f_locals.get("self"))


_real_notify = threading.Condition.notify


def _notify(self: threading.Condition, n: int = 1) -> None:
    """``Condition.notify`` while checking: tells the lock's checker who wakes waiters."""
    lock = self._lock  # type: ignore[attr-defined]
    if self._waiters and isinstance(lock, (CheckedLock, CheckedRLock)):  # type: ignore[attr-defined]
        lock._checker.notified(self)
    _real_notify(self, n)


def active_checker() -> LockOrderChecker | None:
    """The checker of the innermost active :func:`watching` block, or None."""
    return _active[-1] if _active else None


class CheckedLock:
    """A ``threading.Lock`` that reports to a :class:`LockOrderChecker`.

    Guarantees
    ----------
    The semantics of ``threading.Lock`` (it wraps a real one): like a plain lock it may be
    released by another thread than the one that took it, and it leaves the taker's held
    locks then. Every blocking acquisition reports its order to the checker first.
    """

    __slots__ = ("__weakref__", "_checker", "_holder", "_lock", "_name", "_serial")

    def __init__(self, checker: LockOrderChecker, lock: Any = None) -> None:
        # ``lock``: the lock to wrap (a counting lock of a structure that tracks contention,
        # atomics.contention); a new plain one by default
        self._lock: _thread.LockType = _allocate() if lock is None else lock
        self._checker = checker
        self._holder: _ThreadState | None = None  # the state of the thread that took it
        self._serial, self._name = checker.register(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As ``threading.Lock.acquire``: True once taken, False if not within ``timeout``
        (or at once, ``blocking=False``). A blocking acquisition first reports to the checker --
        an edge from every lock this thread holds, a ``"self"`` finding if it holds this one
        (with ``raise_on_inversion``, :class:`LockOrderError` before it waits); once taken, the
        lock is among this thread's held locks.

        >>> with watching() as checker:
        ...     lock = CheckedLock(checker)
        ...     with lock:
        ...         held = lock.locked()
        >>> held, lock.locked(), checker.findings
        (True, False, [])
        """
        state = self._checker.acquiring(self, blocking)
        try:
            got = self._lock.acquire(blocking, timeout)
        finally:
            state.waiting = None
        if got:
            state.took(self)
            self._holder = state
        return got

    def release(self) -> None:
        """As ``threading.Lock.release`` (any thread may release it; ``RuntimeError`` if it
        is not held); the lock leaves the held locks of the thread that took it."""
        holder, self._holder = self._holder, None
        self._lock.release()
        if holder is not None:
            holder.dropped(self)

    def locked(self) -> bool:
        """As ``threading.Lock.locked``: whether any thread holds it (reports nothing)."""
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "locked" if self._lock.locked() else "unlocked"
        return f"<{state} {self._checker.name(self)}>"

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()  # type: ignore[attr-defined]

    # what threading.Condition uses when the lock has them (a wait releases the lock)
    def _is_owned(self) -> bool:
        return self._holder is not None and self._holder is self._checker._state()

    def _release_save(self) -> None:
        _waiting_on(self._checker, self)
        self.release()

    def _acquire_restore(self, state: None) -> None:
        self.acquire()


class CheckedRLock:
    """A ``threading.RLock`` that reports to a :class:`LockOrderChecker`.

    Guarantees
    ----------
    The semantics of ``threading.RLock`` (it wraps a real one). Only a thread's first
    acquisition reports its order to the checker: a re-entry orders nothing.
    """

    __slots__ = ("__weakref__", "_checker", "_depth", "_lock", "_name", "_serial")

    def __init__(self, checker: LockOrderChecker) -> None:
        self._lock: Any = _RealRLock()
        self._checker = checker
        self._depth = threading.local()
        self._serial, self._name = checker.register(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """As ``threading.RLock.acquire``: True once taken (again, by its owner), False if
        not within ``timeout``. Only this thread's first, blocking acquisition reports to the
        checker (an edge from every other lock it holds; with ``raise_on_inversion``,
        :class:`LockOrderError` before it waits); a re-entry only counts its depth."""
        depth = self._depth.__dict__.get("n", 0)
        if depth:
            got: bool = self._lock.acquire(blocking, timeout)
            if got:
                self._depth.n = depth + 1
            return got
        state = self._checker.acquiring(self, blocking, reentrant=True)
        try:
            got = self._lock.acquire(blocking, timeout)
        finally:
            state.waiting = None
        if got:
            self._depth.n = 1
            state.took(self)
        return got

    def release(self) -> None:
        """As ``threading.RLock.release`` (``RuntimeError`` from a thread that does not own
        it); the last release takes the lock out of this thread's held locks."""
        self._lock.release()
        self._depth.n -= 1
        if self._depth.n == 0:
            self._checker.released(self)

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<{self._checker.name(self)}>"

    def locked(self) -> bool:
        """Whether any thread holds it (``RLock.locked``, new in 3.14)."""
        if self._lock._is_owned():
            return True
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def _recursion_count(self) -> int:
        return int(self._depth.__dict__.get("n", 0))

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._depth = threading.local()

    def _is_owned(self) -> bool:
        return bool(self._lock._is_owned())

    def _release_save(self) -> Any:
        _waiting_on(self._checker, self)
        state = self._lock._release_save()
        self._depth.n = 0
        self._checker.released(self)
        return state

    def _acquire_restore(self, state: Any) -> None:
        mine = self._checker.acquiring(self, reentrant=True)
        try:
            self._lock._acquire_restore(state)
        finally:
            mine.waiting = None
        self._depth.n = state[0]
        mine.took(self)


@contextmanager
def watching(
    checker: LockOrderChecker | None = None,
    *,
    patch_threading: bool = False,
    raise_on_inversion: bool = False,
) -> Iterator[LockOrderChecker]:
    """Check the lock order of every lock this package makes inside the block (and, with
    ``patch_threading``, of every ``threading.Lock``/``RLock`` any code makes there);
    yield the checker, whose ``findings`` list what it saw.

    ``raise_on_inversion`` applies to a checker made here (pass your own ``checker`` to
    choose otherwise). Not thread-safe to enter from two threads at once: enter it from one
    thread (a test's), around code that starts any number of threads.

    >>> from atomics import ShardedDict
    >>> with watching() as checker:
    ...     d = ShardedDict(k=1)
    ...     d.compute("k", lambda v: v + 1)
    2
    >>> checker.findings
    []
    """
    if checker is None:
        checker = LockOrderChecker(raise_on_inversion=raise_on_inversion)
    entry = (checker, patch_threading)
    _blocks.append(entry)
    _active.append(checker)
    _apply()
    try:
        yield checker
    finally:
        _blocks.remove(entry)
        _active.remove(checker)
        _apply()


_ORIGINAL = (_locks.Lock, _locks.RLock, threading.Lock, threading.RLock)
_blocks: list[tuple[LockOrderChecker, bool]] = []  # open watching() blocks, in entry order


def _apply() -> None:
    """Point the factories at the innermost open block's checker (``threading``'s at the
    innermost one that patches it), or back at the originals: right whatever order the
    blocks close in."""
    package_lock, package_rlock, plain_lock, plain_rlock = _ORIGINAL
    if _blocks:
        checker = _blocks[-1][0]
        package_lock, package_rlock = _factories(checker)
    patching = [checker for checker, patch in _blocks if patch]
    if patching:
        plain_lock, plain_rlock = _factories(patching[-1])
    _locks.Lock, _locks.RLock = package_lock, package_rlock
    setattr(threading, "Lock", plain_lock)  # noqa: B010 (typed as a class there)
    setattr(threading, "RLock", plain_rlock)  # noqa: B010
    threading.Condition.notify = _notify if _blocks else _real_notify  # type: ignore[method-assign]


def _factories(checker: LockOrderChecker) -> tuple[Any, Any]:
    def make_lock(lock: Any = None) -> CheckedLock:
        return CheckedLock(checker, lock)

    def make_rlock() -> CheckedRLock:
        return CheckedRLock(checker)

    return make_lock, make_rlock


def describe_locks() -> str:
    """What each thread holds and waits for, by every active checker ("" when none is
    active): the part of a hang report that stacks alone do not tell."""
    lines: list[str] = []
    for checker in _active:
        for thread, (held, waiting) in checker.holding().items():
            lines.append(
                f"  {thread}: holds {', '.join(held) or 'nothing'}"
                + (f"; waits for {waiting}" if waiting else "")
            )
    if not lines:
        return ""
    return "instrumented locks (atomics.testing.lockcheck):\n" + "\n".join(lines) + "\n"
