"""Argument checks shared by the whole package: one rule per kind of argument, so that the
same mistake raises the same exception, naming the argument, everywhere.

* **Timeouts** (:func:`deadline`): ``None`` and ``math.inf`` wait forever; a finite number
  >= 0 waits that many seconds; NaN and negative numbers are a ``ValueError``, anything
  that is not a real number (``bool`` included) a ``TypeError``. Checked before anything
  blocks or changes.
* **Counts** (:func:`count`): an ``int`` (never a ``bool``) within ``[low, high]``.
"""

from __future__ import annotations

import math
import time

__all__ = ["count", "deadline"]


def deadline(timeout: object, name: str = "timeout") -> float | None:
    """The ``time.monotonic()`` deadline ``timeout`` seconds from now; None: no deadline.

    >>> deadline(None) is None, deadline(math.inf) is None
    (True, True)
    >>> deadline(float("nan"))
    Traceback (most recent call last):
    ValueError: timeout must be a non-negative number or None, got nan
    >>> deadline("soon")
    Traceback (most recent call last):
    TypeError: timeout must be a number or None, got str
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{name} must be a number or None, got {type(timeout).__name__}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"{name} must be a non-negative number or None, got {timeout!r}")
    if math.isinf(timeout):
        return None
    return time.monotonic() + timeout


def count(value: object, name: str, low: int = 1, high: int | None = None) -> int:
    """``value`` if it is an int (not a bool) in ``[low, high]``; else TypeError/ValueError.

    >>> count(3, "n")
    3
    >>> count(True, "n")
    Traceback (most recent call last):
    TypeError: n must be an int, got bool
    >>> count(0, "n")
    Traceback (most recent call last):
    ValueError: n must be at least 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value
