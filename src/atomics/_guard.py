"""The package's one re-entry guard (the rule is in ``docs/guarantees.md``).

User code -- compute/merge/update functions, reducers, factories, predicates, ``locked()``
blocks -- may run under one of the package's locks. While it does, this thread is *in user
code*, and:

* every **write** to any object of the package raises :class:`ReentrantCallError` at once,
  before anything changes (:func:`check_write`): waiting for a lock there could deadlock
  (the same stripe: a self-deadlock; another map's stripe: ABBA with a thread doing the
  reverse);
* every **read** completes without waiting for a lock that user code may run under
  (:func:`in_user_code` selects the lock-free path of whole-map reads).

The package's own code that runs under a lock and calls back into the package (the
knowledge base's storage) says so with :func:`package_code`, which lifts the guard until
it calls user code again.

Cost on the hot path: ``if ACTIVE[0]:`` -- a list item that turns True the first time any
thread enters user code and stays True (a count of threads in user code would need a
shared lock on every compute call); only then is the thread-local depth consulted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from atomics.errors import ReentrantCallError

__all__ = ["ACTIVE", "check_write", "enter", "in_user_code", "leave", "package_code", "run_user"]

R = TypeVar("R")

ACTIVE = [False]  # True once any thread has entered user code (sticky; see the docstring)
_state = threading.local()  # .depth: how deep this thread is in user code (0: not)


def in_user_code() -> bool:
    """Whether this thread is running user code under one of the package's locks."""
    return ACTIVE[0] and getattr(_state, "depth", 0) > 0


def check_write(what: str) -> None:
    """Raise :class:`ReentrantCallError` if this thread is in user code."""
    if ACTIVE[0] and getattr(_state, "depth", 0) > 0:
        raise ReentrantCallError(
            f"{what} was called from inside a function that runs under a lock of the atomics "
            "package (a compute/merge/update function, reducer, factory, predicate or "
            "locked() block). Reads are allowed there; writes to any atomics object are not, "
            "as they could deadlock: return the new value instead, or write after the call "
            "returns. See docs/guarantees.md."
        )


def enter() -> None:
    """Mark this thread as in user code (pair with :func:`leave` in ``finally``)."""
    ACTIVE[0] = True
    _state.depth = getattr(_state, "depth", 0) + 1


def leave() -> None:
    _state.depth -= 1


def run_user(fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)``, with this thread marked as in user code."""
    enter()
    try:
        return fn(*args)
    finally:
        _state.depth -= 1


@contextmanager
def package_code() -> Iterator[None]:
    """Lift the guard for the package's own code called back under a lock (its lock order
    is documented and deadlock-free); user code called from inside marks itself again."""
    depth = getattr(_state, "depth", 0)
    _state.depth = 0
    try:
        yield
    finally:
        _state.depth = depth
