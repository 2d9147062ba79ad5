"""The named merge reducers. A storage runs them itself, exactly once per merge and
atomically with it (in memory: under the key's stripe lock; on a server: in one
server-side script), so they are plain functions of JSON-able values with no user code.

A reducer is ``fn(current or MISSING, value) -> new``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from atomics.errors import AtomicsTypeError
from atomics.sharded_dict import MISSING

__all__ = ["reducers"]


def _items(current: Any, reducer: str) -> list[Any]:
    """The current value of a list reducer: a list, or absent (a str or a dict would be
    split into characters or keys: refused instead)."""
    if current is MISSING:
        return []
    if not isinstance(current, list):
        raise AtomicsTypeError(
            f"the {reducer!r} reducer needs the current value to be a list (or the key "
            f"absent), got {type(current).__name__}"
        )
    return current


def _append(current: Any, value: Any) -> Any:
    return [*_items(current, "append"), value]


def _union(current: Any, value: Any) -> Any:
    """Elements compare by Python equality (so ``1``, ``1.0`` and ``True`` are one)."""
    items = value if isinstance(value, (list, set, frozenset, tuple)) else [value]
    merged = set(_items(current, "union"))
    merged.update(items)
    return sorted(merged, key=repr)  # a list, so that JSON can hold it


def _max(current: Any, value: Any) -> Any:
    return value if current is MISSING else max(current, value)


def _min(current: Any, value: Any) -> Any:
    return value if current is MISSING else min(current, value)


def _sum(current: Any, value: Any) -> Any:
    return value if current is MISSING else current + value


reducers: Mapping[str, Callable[[Any, Any], Any]] = MappingProxyType(
    {
        "append": _append,
        "union": _union,
        "max": _max,
        "min": _min,
        "sum": _sum,
    }
)
"""The named merge reducers (read-only: a storage runs these, and a server backend only
these). A reducer is ``fn(current or MISSING, value) -> new``; any other reducer is a
callable given to ``World.register_reducer`` (run as a compare-and-set loop)."""
