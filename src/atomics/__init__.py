"""atomics: thread-safe primitives and collections for free-threaded CPython.

Works on free-threaded builds (``python3.13t``, ``python3.14t``: threads run in parallel)
and on ordinary GIL builds alike. Standard library only.

Layout: one module per structure; this module only re-exports the public names.

* :class:`AtomicInteger`, :class:`AtomicBoolean`, :class:`AtomicReference` -- atomic
  read-modify-write on one shared value;
* :class:`StripedCounter` -- a LongAdder-style counter that scales with writing threads;
* :class:`ShardedDict` -- a striped-lock concurrent mapping with atomic per-key compute;
* :class:`BoundedQueue` -- a bounded MPMC FIFO queue, a drop-in for ``queue.Queue(maxsize)``
  with batches and a ``shutdown`` that returns what it drops (``ShutDown`` is
  ``queue.ShutDown`` on 3.13+);
* :class:`KnowledgeBase` -- shared knowledge for agent swarms: per-topic insight logs, a
  versioned world model, subscriptions, atomic saves (the subpackage :mod:`atomics.kb`,
  with its storage protocol in :mod:`atomics.kb.storage`);
* :mod:`atomics.errors` -- the package's exceptions (:class:`AtomicsError` and subclasses
  that are also ``TypeError``/``ValueError``/``RuntimeError``);
* :mod:`atomics.runtime` -- is this a free-threaded build, is the GIL off right now?
* ``docs/guarantees.md`` -- what each method does when called from inside a compute
  function, reducer, factory or ``locked()`` block (reads complete, writes raise);
* :mod:`atomics.testing` -- the stress harness and linearizability checker (imported on
  its own: ``from atomics.testing import ...``).

``atomics.__version__`` is the release (semantic versioning from 0.2.0; what is public and how
a name is deprecated: ``docs/stability.md``).

>>> import atomics
>>> atomics.runtime.cpu_count() >= 1
True
"""

from __future__ import annotations

from atomics import errors, runtime
from atomics.atomic_boolean import AtomicBoolean
from atomics.atomic_integer import AtomicInteger
from atomics.atomic_reference import AtomicReference
from atomics.bounded_queue import BoundedQueue, ShutDown
from atomics.errors import (
    AtomicsError,
    AtomicsTypeError,
    AtomicsValueError,
    ReentrantCallError,
    WrongThreadError,
)
from atomics.kb import (
    ANY,
    Conflict,
    Cursor,
    Insight,
    KnowledgeBase,
    KnowledgeBaseClosed,
    Lag,
    StorageUnavailable,
    Subscription,
    SubscriptionOverflow,
    WorldEntry,
    WorldEvent,
)
from atomics.protocols import QueueLike
from atomics.runtime import free_threading_active, gil_disabled_build, gil_enabled
from atomics.sharded_dict import DELETE, MISSING, ShardedDict
from atomics.striped_counter import CounterHandle, StripedCounter

__all__ = [
    "ANY",
    "DELETE",
    "MISSING",
    "AtomicBoolean",
    "AtomicInteger",
    "AtomicReference",
    "AtomicsError",
    "AtomicsTypeError",
    "AtomicsValueError",
    "BoundedQueue",
    "Conflict",
    "CounterHandle",
    "Cursor",
    "Insight",
    "KnowledgeBase",
    "KnowledgeBaseClosed",
    "Lag",
    "QueueLike",
    "ReentrantCallError",
    "ShardedDict",
    "ShutDown",
    "StorageUnavailable",
    "StripedCounter",
    "Subscription",
    "SubscriptionOverflow",
    "WorldEntry",
    "WorldEvent",
    "WrongThreadError",
    "errors",
    "free_threading_active",
    "gil_disabled_build",
    "gil_enabled",
    "runtime",
]

__version__ = "0.2.0"  # written here only: pyproject.toml reads it ([tool.hatch.version])
