"""Structural types for code that accepts this package's objects or the standard library's.

:class:`QueueLike` is what ``queue.Queue[T]`` and :class:`atomics.BoundedQueue[T]
<atomics.BoundedQueue>` have in common: annotate a parameter ``QueueLike[T]`` and a type
checker accepts either (``queue.Queue`` is a class, not a protocol, so a parameter annotated
``queue.Queue[T]`` rejects a ``BoundedQueue[T]``, although it works at run time).

>>> import queue
>>> from atomics import BoundedQueue, QueueLike
>>> def put_all(q: QueueLike[int], items: list[int]) -> None:
...     for item in items:
...         q.put(item)
>>> for q in (queue.Queue(4), BoundedQueue(4)):
...     put_all(q, [1, 2]); print(type(q).__name__, q.qsize())
Queue 2
BoundedQueue 2
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["QueueLike"]

T = TypeVar("T")


@runtime_checkable
class QueueLike(Protocol[T]):
    """The methods of ``queue.Queue[T]`` that :class:`~atomics.BoundedQueue` also has, with
    the same signatures (as typeshed writes them): ``put``, ``get``, ``put_nowait``,
    ``get_nowait``, ``qsize``, ``empty``, ``full``, ``task_done`` and ``join``.

    A protocol: nothing to inherit; any object with these methods is a ``QueueLike``. Not
    part of it: ``shutdown`` (``queue.Queue`` has it from 3.13 only, returning None, while
    ``BoundedQueue.shutdown`` returns the items it drops) and the batch methods
    (``put_many``/``get_many``: ``BoundedQueue`` only). ``isinstance(obj, QueueLike)``
    checks only that the methods exist, not their signatures nor the item type.

    Guarantees
    ----------
    None of its own: a protocol has no implementation. Thread safety is the implementing
    class's: ``queue.Queue`` and ``BoundedQueue`` are both safe to share between threads,
    each with the guarantees its own documentation states.

    >>> import queue
    >>> isinstance(queue.Queue(), QueueLike), isinstance([], QueueLike)
    (True, False)
    """

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item``, waiting for room (``queue.Full`` when none comes in time)."""
        ...

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Remove and return an item, waiting for one (``queue.Empty`` when none comes)."""
        ...

    def put_nowait(self, item: T) -> None:
        """Put ``item`` if there is room now, else raise ``queue.Full``."""
        ...

    def get_nowait(self) -> T:
        """Remove and return an item if one is there now, else raise ``queue.Empty``."""
        ...

    def qsize(self) -> int:
        """The number of items (approximate while other threads put and get)."""
        ...

    def empty(self) -> bool:
        """Whether there are no items (approximate, as ``qsize``)."""
        ...

    def full(self) -> bool:
        """Whether there is no room (approximate, as ``qsize``)."""
        ...

    def task_done(self) -> None:
        """Mark one item taken by ``get`` as processed (for ``join``)."""
        ...

    def join(self) -> None:
        """Wait until every item put has been marked done by ``task_done``."""
        ...
