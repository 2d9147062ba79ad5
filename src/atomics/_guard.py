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

Cost on the hot path: ``if _GUARD_ON:`` -- a module global of the reading module, bound to
``False`` until the first time any thread enters user code, then to ``True`` for good (a count
of threads in user code would need a shared lock on every compute call); only then is the
thread-local depth consulted. Each reading module declares ``_GUARD_ON = False`` and registers
it with :func:`mirror`, which keeps it equal to ``ACTIVE[0]``. The global is read rather than
``ACTIVE[0]`` because on a free-threaded build loading a *shared mutable* object (the list)
writes its reference count from every thread -- one cache line that all writes of all
structures bounced between cores (measured on 3.13t, 2 threads: a private object's method
with one ``ACTIVE[0]`` test scaled 1.83x, with a global bool 1.97x, the empty method 2.00x)
-- while ``True`` and ``False`` are immortal and loading them writes nothing. The hottest
paths (AtomicInteger's in-place operators) skip even that test: they register an activation
hook (:func:`on_activation`) that swaps in their checking versions before the first user
code runs anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from atomics import _locks
from atomics.errors import ReentrantCallError

__all__ = [
    "ACTIVE",
    "GUARDED",
    "check_write",
    "enter",
    "in_user_code",
    "leave",
    "mirror",
    "on_activation",
    "package_code",
    "run_user",
]

R = TypeVar("R")

ACTIVE = [False]  # True once any thread has entered user code (sticky; see the docstring)
GUARDED = False  # this module's mirror of ACTIVE[0] (see mirror())
_hooks: list[Callable[[], None]] = []
_mirrors: list[tuple[dict[str, Any], str]] = []  # (module globals, name) kept equal to ACTIVE[0]
_activation = _locks.Lock()
_local = threading.local()  # .state: this thread's _State


class _State:
    """One thread's guard state. ``enter`` returns it and ``leave`` takes it back, so that a
    ``locked()`` block whose generator is closed by another thread (which then runs the
    block's exit) still restores the thread that entered it."""

    __slots__ = ("depth",)

    def __init__(self) -> None:
        self.depth = 0  # how deep this thread is in user code (0: not)


def _state() -> _State:
    try:
        return _local.state  # type: ignore[no-any-return]
    except AttributeError:
        state = _local.state = _State()
        return state


_IDLE = _State()  # read in place of a thread's missing state (never changed: depth 0)


def in_user_code() -> bool:
    """Whether this thread is running user code under one of the package's locks."""
    # one call, no try: on the hot paths of every write once the guard is active
    return GUARDED and getattr(_local, "state", _IDLE).depth > 0


def check_write(what: str) -> None:
    """Raise :class:`ReentrantCallError` if this thread is in user code."""
    if GUARDED and getattr(_local, "state", _IDLE).depth > 0:
        raise ReentrantCallError(
            f"{what} was called from inside a function that runs under a lock of the atomics "
            "package (a compute/merge/update function, reducer, factory, predicate, a value's "
            "__eq__/__add__ there, or a locked() block). Reads are allowed there; writes to "
            "any atomics object are not, as they could deadlock: return the new value "
            "instead, or write after the call returns. See docs/guarantees.md."
        )


def on_activation(hook: Callable[[], None]) -> None:
    """Run ``hook`` once, before any thread first enters user code (now, if one has)."""
    with _activation:
        if ACTIVE[0]:
            hook()
        else:
            _hooks.append(hook)


def mirror(namespace: dict[str, Any], name: str = "_GUARD_ON") -> None:
    """Keep the global ``name`` of a module (``namespace``: its ``globals()``) equal to
    ``ACTIVE[0]``: set it now, and to ``True`` on activation, before any user code runs.

    A reading module declares ``_GUARD_ON = False`` (for type checkers and readers), then
    calls ``mirror(globals(), "_GUARD_ON")``; its hot paths test ``if _GUARD_ON:``. Setting
    the value here, under the activation lock, cannot lose a concurrent activation."""
    with _activation:
        namespace[name] = ACTIVE[0]
        _mirrors.append((namespace, name))


def _activate() -> None:
    # Every thread entering user code before activation is complete waits here, so no
    # user code runs while a hook has not been applied or a mirror still reads False.
    global GUARDED
    with _activation:
        if not ACTIVE[0]:
            for hook in _hooks:
                hook()
            for namespace, name in _mirrors:
                namespace[name] = True
            GUARDED = True
            ACTIVE[0] = True  # last: a thread that sees it True finds every mirror True


def enter() -> _State:
    """Mark this thread as in user code; pass the result to :func:`leave` (in ``finally``)."""
    if not ACTIVE[0]:
        _activate()
    state = _state()
    state.depth += 1
    return state


def leave(state: _State) -> None:
    state.depth -= 1


def run_user(fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)``, with this thread marked as in user code."""
    state = enter()
    try:
        return fn(*args)
    finally:
        state.depth -= 1


@contextmanager
def package_code() -> Iterator[None]:
    """Lift the guard for the package's own code called back under a lock (its lock order
    is documented and deadlock-free); user code called from inside marks itself again."""
    state = _state()
    depth, state.depth = state.depth, 0
    try:
        yield
    finally:
        state.depth = depth
