"""The package's exceptions: one base, :class:`AtomicsError`, and subclasses that are also
the standard exceptions code already catches.

=============================  ==========================  ===============================
exception                      also a                      raised when
=============================  ==========================  ===============================
:class:`AtomicsTypeError`      ``TypeError``               an argument has the wrong type
:class:`AtomicsValueError`     ``ValueError``              an argument is out of range, or a
                                                           sentinel would be stored
:class:`ReentrantCallError`    ``RuntimeError``            a write is called from inside a
                                                           function running under one of the
                                                           package's locks (see
                                                           ``docs/guarantees.md``)
:class:`WrongThreadError`      ``RuntimeError``            a per-thread handle is used by
                                                           another thread
=============================  ==========================  ===============================

Errors raised by *your values* are not the package's and propagate as Python raises them:
``ZeroDivisionError`` from ``counter //= 0``, ``int``'s ``ValueError`` for a negative shift
count, a ``TypeError`` from ``d.increment(k, "x")`` adding a str to an int. Each leaves the
structure unchanged.

The knowledge base's own (``Conflict``, ``KnowledgeBaseClosed``, ``SubscriptionOverflow``)
derive from :class:`AtomicsError` too. ``queue.Full``, ``queue.Empty`` and ``ShutDown``
stay exactly the standard library's, so ``BoundedQueue`` is a drop-in for ``queue.Queue``.

>>> from atomics import AtomicInteger
>>> try:
...     AtomicInteger("1")
... except AtomicsError as error:
...     isinstance(error, TypeError)
True
"""

from __future__ import annotations

__all__ = [
    "AtomicsError",
    "AtomicsTypeError",
    "AtomicsValueError",
    "ReentrantCallError",
    "WrongThreadError",
]


class AtomicsError(Exception):
    """Base of every exception this package defines."""


class AtomicsTypeError(AtomicsError, TypeError):
    """An argument of the wrong type (``bool`` where an int is meant included)."""


class AtomicsValueError(AtomicsError, ValueError):
    """An argument of the right type but a wrong value (out of range, NaN, a sentinel)."""


class ReentrantCallError(AtomicsError, RuntimeError):
    """A write to an object of this package from inside a user function that runs under
    one of the package's locks (a compute function, reducer, factory, ``locked()`` block).
    Raised at once, before anything changes: waiting could deadlock."""


class WrongThreadError(AtomicsError, RuntimeError):
    """A per-thread handle used by a thread other than the one that created it."""
