"""The package's lock factories: every lock of this package is made through them.

``_locks.Lock()`` and ``_locks.RLock()`` are ``threading.Lock()`` and ``threading.RLock()``
themselves (the same objects, not wrappers) unless :mod:`atomics.testing.lockcheck` is
checking lock order, which rebinds them to factories of instrumented locks while it runs.
So the package's locks are always visible to the checker, and cost nothing when it is off:
the only difference is one module attribute read when a lock is *made*, none when it is
taken. Call them through the module (``_locks.Lock()``), never ``from ... import Lock``,
or the rebinding would not be seen.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Condition", "Lock", "RLock"]

Lock: Any = threading.Lock
RLock: Any = threading.RLock


def Condition() -> threading.Condition:  # noqa: N802 (named as the class it makes)
    """A ``threading.Condition`` over a new :func:`Lock` (a plain lock, not an RLock)."""
    return threading.Condition(Lock())
