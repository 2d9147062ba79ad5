"""Histories: what each thread called, when, and what came back.

A history is a list of :class:`OpRecord`, one per completed operation, each with the calling
thread, the call and return times (``time.perf_counter_ns``) and the outcome: a value, or a
:class:`Raised` standing for an exception. Exceptions are results like any other: an
operation that raised ``KeyError('k')`` matches a model that raised ``KeyError('k')``.

Blocking operations: a model's method raises :class:`WouldBlock` when, in the model's
current state, the real call would wait. A blocking call that never returned is recorded
with the outcome :data:`PENDING` and the return time :data:`NEVER_NS` (docs/testing.md,
"Blocking operations").
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NEVER_NS",
    "PENDING",
    "Call",
    "OpRecord",
    "Raised",
    "WouldBlock",
    "freeze",
    "outcome_of",
    "would_block",
]

NEVER_NS = 2**63 - 1  # the return time of a call that never returned (later than any real one)


class WouldBlock(Exception):
    """Raised by a model's operation when, in the model's current state, the real call would
    wait (a ``put`` on a full queue, a ``get`` on an empty one).

    The checker linearizes a completed blocking call only at a point where its model does
    not raise this, and accepts a call left blocked at the end of an invocation only if the
    model raises this for it. Leave the model unchanged before raising it.
    """


class _Pending:
    """The type of :data:`PENDING` (one instance)."""

    _instance: _Pending | None = None

    def __new__(cls) -> _Pending:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "blocked (never returned)"

    def __reduce__(self) -> str:
        return "PENDING"


PENDING = _Pending()
"""The outcome of a blocking call that had not returned when its invocation ended."""


@dataclass(frozen=True)
class Call:
    """One operation of a scenario: a method name and its positional arguments.

    >>> Call("add", (1,))
    Call('add', (1,))
    """

    name: str
    args: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return f"Call({self.name!r}, {self.args!r})"

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(repr, self.args))})"


@dataclass(frozen=True)
class Raised:
    """The outcome of an operation that raised: the exception's type and arguments.

    Two outcomes match when the types are the same and the ``args`` are equal.

    >>> Raised.of(KeyError("k")) == Raised(KeyError, ("k",))
    True
    """

    type: type[BaseException]
    args: tuple[Any, ...] = ()

    @classmethod
    def of(cls, exc: BaseException) -> Raised:
        """The outcome recorded for ``exc``."""
        return cls(type(exc), exc.args)

    def __repr__(self) -> str:
        args = ", ".join(map(repr, self.args))
        return f"raised {self.type.__name__}({args})"


def outcome_of(fn: Any, *args: Any) -> Any:
    """Call ``fn(*args)``; return its result, or a :class:`Raised` if it raised an Exception.

    >>> outcome_of(int, "x")
    raised ValueError("invalid literal for int() with base 10: 'x'")
    """
    try:
        return fn(*args)
    except Exception as exc:  # an exception is a result; BaseException (KeyboardInterrupt) is not
        return Raised.of(exc)


def would_block(outcome: Any) -> bool:
    """True when a model's ``outcome`` says the call would wait (it raised :class:`WouldBlock`).

    >>> would_block(Raised(WouldBlock)), would_block(None)
    (True, False)
    """
    return isinstance(outcome, Raised) and issubclass(outcome.type, WouldBlock)


@dataclass(frozen=True)
class OpRecord:
    """One operation in a history: completed, or (:attr:`pending`) a blocking call that had
    not returned when the invocation ended, with ``return_ns`` :data:`NEVER_NS`.

    ``thread`` numbers the parallel threads 0..T-1; the sequential prefix is thread -1 and
    the suffix thread T. ``index`` is the operation's position within its thread.
    """

    thread: int
    index: int
    call: Call
    call_ns: int
    return_ns: int
    outcome: Any

    @property
    def pending(self) -> bool:
        """True for a blocking call that never returned (outcome :data:`PENDING`)."""
        return self.outcome is PENDING

    def __str__(self) -> str:
        return f"{self.call} -> {self.outcome!r}"


def freeze(value: Any) -> Hashable:
    """A hashable, comparable stand-in for ``value`` (dicts, lists, sets, deques, objects).

    Used to key the checker's memo on model states. Objects are frozen through their
    ``__dict__`` (or ``__slots__``); anything already hashable is returned as is.

    A mapping keeps its iteration (insertion) order: two dicts with the same items in a
    different order are different states, as a model whose ``popitem()`` or iteration
    depends on the order needs (freezing them sorted made the checker reuse one order's
    ``popitem()`` for the other, and reject a correct object).

    >>> freeze({"b": [1, 2], "a": {3}})
    ('dict', (('b', ('list', (1, 2))), ('a', ('set', frozenset({3})))))
    """
    if isinstance(value, Mapping):
        return ("dict", tuple((freeze(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(freeze(v) for v in value))
    if isinstance(value, (list, tuple)) or type(value).__name__ == "deque":
        return ("list", tuple(freeze(v) for v in value))
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value).__qualname__, freeze(vars(value)))
    slots = getattr(type(value), "__slots__", None)
    if slots is not None and not isinstance(value, type):
        return (type(value).__qualname__, tuple(freeze(getattr(value, s, None)) for s in slots))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return value  # type: ignore[no-any-return]
