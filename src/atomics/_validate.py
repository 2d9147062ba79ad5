"""Argument checks shared by the whole package: one rule per kind of argument, so that the
same mistake raises the same exception, naming the argument, everywhere. Every check runs
before anything blocks or changes.

* **Wrong type** -> :class:`~atomics.errors.AtomicsTypeError` (a ``TypeError``); **right type,
  wrong value** -> :class:`~atomics.errors.AtomicsValueError` (a ``ValueError``).
* **Ints** (:func:`integer`, :func:`count`): an ``int``, never a ``bool`` (``True`` as a
  count or a delta is almost always a bug); :func:`count` adds a range ``[low, high]``.
  Arguments that size memory up front have a ``high``.
* **Bools** (:func:`boolean`): exactly ``True`` or ``False``.
* **Names** (:func:`name`): a non-empty ``str``.
* **Timeouts** (:func:`deadline`): ``None`` and ``math.inf`` wait forever; a finite number
  >= 0 waits that many seconds; NaN and negative numbers are a ``ValueError``, anything
  that is not a real number (``bool`` included) a ``TypeError``.
* **Sentinels** (:func:`storable`): ``MISSING``, ``DELETE`` and the package's other
  sentinels are never stored as values.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from atomics._sentinel import Sentinel
from atomics.errors import AtomicsTypeError, AtomicsValueError

__all__ = [
    "boolean",
    "count",
    "cursor",
    "deadline",
    "function",
    "integer",
    "name",
    "names",
    "storable",
]

T = TypeVar("T")


def deadline(timeout: object, name: str = "timeout") -> float | None:
    """The ``time.monotonic()`` deadline ``timeout`` seconds from now; None: no deadline.

    >>> deadline(None) is None, deadline(math.inf) is None, deadline(10**400) is None
    (True, True, True)
    >>> deadline(float("nan"))
    Traceback (most recent call last):
    atomics.errors.AtomicsValueError: timeout must be a non-negative number or None, got nan
    >>> deadline("soon")
    Traceback (most recent call last):
    atomics.errors.AtomicsTypeError: timeout must be a number or None, got str
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise AtomicsTypeError(f"{name} must be a number or None, got {type(timeout).__name__}")
    if timeout < 0 or (type(timeout) is not int and math.isnan(timeout)):
        raise AtomicsValueError(f"{name} must be a non-negative number or None, got {timeout!r}")
    if timeout > threading.TIMEOUT_MAX:  # inf, or an int no float holds: as long as needed
        return None
    return time.monotonic() + timeout


def integer(value: object, name: str) -> int:
    """``value`` as a plain ``int`` if it is an int (not a bool); else ``TypeError``.

    >>> integer(3, "delta")
    3
    >>> integer(True, "delta")
    Traceback (most recent call last):
    atomics.errors.AtomicsTypeError: delta must be an int (not bool), got bool
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise AtomicsTypeError(f"{name} must be an int (not bool), got {type(value).__name__}")
    return int(value)


def count(value: object, name: str, low: int = 1, high: int | None = None) -> int:
    """``value`` if it is an int (not a bool) in ``[low, high]``; else TypeError/ValueError.

    >>> count(3, "n")
    3
    >>> count(True, "n")
    Traceback (most recent call last):
    atomics.errors.AtomicsTypeError: n must be an int (not bool), got bool
    >>> count(0, "n")
    Traceback (most recent call last):
    atomics.errors.AtomicsValueError: n must be at least 1, got 0
    """
    value = integer(value, name)
    if value < low:
        raise AtomicsValueError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise AtomicsValueError(f"{name} must be at most {high}, got {value}")
    return value


def boolean(value: object, name: str) -> bool:
    """``value`` if it is ``True`` or ``False``; else ``TypeError``.

    >>> boolean(1, "flag")
    Traceback (most recent call last):
    atomics.errors.AtomicsTypeError: flag must be a bool, got int
    """
    if not isinstance(value, bool):
        raise AtomicsTypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def name(value: object, argument: str) -> str:
    """``value`` as a plain ``str`` if it is a non-empty ``str`` (a subclass's value is
    copied to a plain str: a name is stored, interned and compared as one); else
    TypeError/ValueError.

    >>> name("", "topic")
    Traceback (most recent call last):
    atomics.errors.AtomicsValueError: topic must not be empty
    """
    if not isinstance(value, str):
        raise AtomicsTypeError(f"{argument} must be a str, got {type(value).__name__}")
    if not value:
        raise AtomicsValueError(f"{argument} must not be empty")
    return value if type(value) is str else str.__str__(value)


def storable(value: T, argument: str = "value") -> T:
    """``value`` unless it is one of the package's sentinels (``ValueError``).

    >>> from atomics import MISSING
    >>> storable(MISSING, "value")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    atomics.errors.AtomicsValueError: value: MISSING is a sentinel and cannot be stored ...
    """
    if isinstance(value, Sentinel):
        raise sentinel_error(value, argument)
    return value


def sentinel_error(value: Any, argument: str = "value") -> AtomicsValueError:
    return AtomicsValueError(
        f"{argument}: {value!r} is a sentinel and cannot be stored as a value (it would make "
        "the key look absent to get() and present to `in`)"
    )


def function(value: object, argument: str) -> None:
    """``TypeError`` naming ``argument`` unless ``value`` is callable.

    >>> function(5, "fn")
    Traceback (most recent call last):
    atomics.errors.AtomicsTypeError: fn must be callable, got int
    """
    if not callable(value):
        raise AtomicsTypeError(f"{argument} must be callable, got {type(value).__name__}")


def names(values: object, argument: str) -> list[str]:
    """A list of non-empty ``str`` from an iterable of them (a lone ``str`` is refused: it
    would be taken letter by letter).

    >>> names("alerts", "topics")
    Traceback (most recent call last):
    atomics.errors.AtomicsTypeError: topics must be an iterable of str, not a str (use ['alerts'])
    """
    if isinstance(values, str):
        raise AtomicsTypeError(
            f"{argument} must be an iterable of str, not a str (use [{values!r}])"
        )
    try:
        items = list(values)  # type: ignore[call-overload]
    except TypeError:
        raise AtomicsTypeError(
            f"{argument} must be an iterable of str, got {type(values).__name__}"
        ) from None
    return [name(item, argument) for item in items]


def cursor(value: object, argument: str = "since") -> dict[str, int]:
    """A cursor: a mapping of topic name -> seq (an int, not a bool), as a plain dict.

    >>> cursor({"t": True})
    Traceback (most recent call last):
    atomics.errors.AtomicsTypeError: since['t'] must be an int (not bool), got bool
    """
    if not isinstance(value, Mapping):
        raise AtomicsTypeError(
            f"{argument} must be a cursor mapping (topic -> seq), got {type(value).__name__}"
        )
    return {
        name(topic, f"{argument} key"): integer(seq, f"{argument}[{topic!r}]")
        for topic, seq in value.items()
    }
