"""Lock-order checking: potential deadlocks found the first time an inverted order is *seen*,
without the interleaving that hangs (the idea of the Linux kernel's lockdep).

While :func:`watching` is active, ``threading.Lock`` and ``threading.RLock`` made by any code
are instrumented: each thread's held locks are tracked, and every acquisition of ``B`` while
holding ``A`` adds the edge ``A -> B`` (with the stack where it was first seen) to one
lock-order graph shared by all threads. An edge that closes a cycle (``B`` was taken before
``A`` somewhere, directly or through other locks) is a potential deadlock: recorded as an
:class:`Inversion` with both stacks, and (with ``raise_on_inversion``) raised at once.

>>> import threading
>>> with watching() as checker:
...     a, b = threading.Lock(), threading.Lock()
...     with a, b:
...         pass
...     with b, a:  # the other order, later, on the same thread: nothing hangs
...         pass
>>> len(checker.inversions)
1

Off by default, and zero cost when off: nothing is patched outside :func:`watching`.
Locks made before it began are not instrumented (nor are locks made in C code).

Status: the core of issue 15's item 1 (a branch, not yet landed): the package's own locks,
the pytest marker and the negative controls of the hardening issues are still to come.
"""

from __future__ import annotations

import _thread
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Inversion", "LockOrderChecker", "LockOrderError", "watching"]

_allocate = _thread.allocate_lock  # the real factories (never instrumented)
_RealRLock = _thread.RLock


class LockOrderError(AssertionError):
    """A lock-order inversion (raised when the checker is made with ``raise_on_inversion``)."""


@dataclass(frozen=True)
class Inversion:
    """Two locks taken in both orders: ``first`` (``held -> wanted``, as first seen) and
    ``second`` (the order that closed the cycle), each with its thread and stack."""

    locks: tuple[str, str]
    first_thread: str
    first_stack: str
    second_thread: str
    second_stack: str

    def __str__(self) -> str:
        a, b = self.locks
        return (
            f"potential deadlock: {a} then {b} on thread {self.first_thread!r}:\n"
            f"{self.first_stack}\n"
            f"... and {b} then {a} on thread {self.second_thread!r}:\n{self.second_stack}"
        )


@dataclass
class _Edge:
    thread: str
    stack: str


@dataclass
class LockOrderChecker:
    """The lock-order graph and what it found (see the module docstring). Thread-safe."""

    raise_on_inversion: bool = False
    inversions: list[Inversion] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._graph: dict[int, dict[int, _Edge]] = {}
        self._names: dict[int, str] = {}
        self._mutex = _allocate()  # guards the graph (a real lock: not instrumented)
        self._local = threading.local()
        self._count = 0

    def _name(self, lock: object) -> str:
        with self._mutex:
            key = id(lock)
            if key not in self._names:
                self._count += 1
                self._names[key] = f"{type(lock).__name__}#{self._count}"
            return self._names[key]

    def _held(self) -> list[object]:
        held: list[object] | None = self._local.__dict__.get("held")
        if held is None:
            held = self._local.held = []
        return held

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

    def acquiring(self, lock: object) -> None:
        """Called before ``lock`` is acquired by this thread (not a re-entry)."""
        held = self._held()
        if not held:
            return
        wanted = id(lock)
        if all(id(before) == wanted for before in held):
            return  # (a lock probed by its holder: Condition's _is_owned)
        found: list[Inversion] = []
        stack: str | None = None
        thread = _thread_name()
        with self._mutex:
            for before in held:
                key = id(before)
                if key == wanted:
                    continue
                edges = self._graph.setdefault(key, {})
                if wanted in edges:
                    continue
                if stack is None:
                    stack = "".join(traceback.format_stack()[:-2])  # (less this and acquire)
                if self._reaches(wanted, key):  # wanted -> ... -> before exists: a cycle
                    first = self._graph.get(wanted, {}).get(key)
                    found.append(
                        Inversion(
                            (self._names.get(wanted, "?"), self._names.get(key, "?")),
                            first.thread if first else "?",
                            first.stack if first else "(through other locks)",
                            thread,
                            stack,
                        )
                    )
                edges[wanted] = _Edge(thread, stack)
            self.inversions.extend(found)
        if found and self.raise_on_inversion:
            raise LockOrderError(str(found[0]))

    def acquired(self, lock: object) -> None:
        self._held().append(lock)

    def released(self, lock: object) -> None:
        held = self._held()
        for i in range(len(held) - 1, -1, -1):
            if held[i] is lock:
                del held[i]
                return


def _thread_name() -> str:
    """This thread's name, without ``threading.current_thread()`` (which, in a thread not
    yet registered, makes a dummy Thread -- whose locks would come back here)."""
    ident = _thread.get_ident()
    thread = threading._active.get(ident)  # type: ignore[attr-defined]
    return thread.name if thread is not None else f"thread {ident}"


class CheckedLock:
    """A ``threading.Lock`` that reports to a :class:`LockOrderChecker`."""

    def __init__(self, checker: LockOrderChecker) -> None:
        self._lock = _allocate()
        self._checker = checker
        checker._name(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self._checker.acquiring(self)
        got = self._lock.acquire(blocking, timeout)
        if got:
            self._checker.acquired(self)
        return got

    def release(self) -> None:
        self._lock.release()
        self._checker.released(self)

    def locked(self) -> bool:
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()  # type: ignore[attr-defined]


class CheckedRLock:
    """A ``threading.RLock`` that reports to a :class:`LockOrderChecker` (its first
    acquisition by a thread only: a re-entry orders nothing)."""

    def __init__(self, checker: LockOrderChecker) -> None:
        self._lock: Any = _RealRLock()
        self._checker = checker
        self._depth = threading.local()
        checker._name(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        depth = self._depth.__dict__.get("n", 0)
        if depth == 0:
            self._checker.acquiring(self)
        got: bool = self._lock.acquire(blocking, timeout)
        if got:
            self._depth.n = depth + 1
            if depth == 0:
                self._checker.acquired(self)
        return got

    def release(self) -> None:
        self._lock.release()
        self._depth.n -= 1
        if self._depth.n == 0:
            self._checker.released(self)

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # what threading.Condition uses on an RLock (a wait releases it completely)
    def _is_owned(self) -> bool:
        return bool(self._lock._is_owned())

    def _release_save(self) -> Any:
        state = self._lock._release_save()
        self._depth.n = 0
        self._checker.released(self)
        return state

    def _acquire_restore(self, state: Any) -> None:
        self._checker.acquiring(self)
        self._lock._acquire_restore(state)
        self._depth.n = state[0]
        self._checker.acquired(self)


@contextmanager
def watching(checker: LockOrderChecker | None = None) -> Iterator[LockOrderChecker]:
    """Instrument every ``threading.Lock``/``threading.RLock`` made inside the block
    (``threading.Condition()`` and ``Semaphore`` build on them); yield the checker."""
    checker = checker if checker is not None else LockOrderChecker()
    saved = threading.Lock, threading.RLock

    def make_lock() -> CheckedLock:
        return CheckedLock(checker)

    def make_rlock() -> CheckedRLock:
        return CheckedRLock(checker)

    threading.Lock, threading.RLock = make_lock, make_rlock  # type: ignore[assignment,misc]
    try:
        yield checker
    finally:
        threading.Lock, threading.RLock = saved  # type: ignore[misc]
