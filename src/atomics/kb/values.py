"""Which values JSON holds exactly: the rule of ``save()`` and of storages with
``json_values`` (a server backend's rule)."""

from __future__ import annotations

import math
import sys
from typing import Any

from atomics.errors import AtomicsTypeError

__all__ = ["MAX_JSON_DEPTH", "check_json"]

# Nesting deeper than this is refused by save() (json's C decoder recurses per level, so much
# deeper documents could not be loaded back within the default recursion limit).
MAX_JSON_DEPTH = 500


def check_json(value: Any, where: str) -> None:
    """Raise TypeError naming ``where`` (and the path inside it) if JSON cannot hold
    ``value`` exactly: not a JSON type, NaN/infinity, a non-str dict key, an int with more
    digits than ``sys.get_int_max_str_digits()`` allows, a cycle, or nesting deeper than
    ``MAX_JSON_DEPTH``. Iterative: no RecursionError whatever the depth."""
    digits_limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    on_path: set[int] = set()  # containers being walked: a repeat on the path is a cycle
    stack: list[tuple[Any, str, int, bool]] = [(value, where, 0, False)]
    while stack:
        item, at, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(item))
            continue
        if item is None or isinstance(item, (bool, str)):
            continue
        if isinstance(item, int):
            # str(n) raises ValueError past the limit; 3.32 bits per decimal digit
            if digits_limit and item.bit_length() > 3.32 * digits_limit:
                try:
                    str(item)
                except ValueError:
                    raise AtomicsTypeError(
                        f"{at}: an int of more than {digits_limit} digits cannot be stored "
                        "as JSON (sys.set_int_max_str_digits raises the limit)"
                    ) from None
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise AtomicsTypeError(f"{at}: {item!r} cannot be stored as JSON")
            continue
        if isinstance(item, (list, dict)):
            if id(item) in on_path:
                raise AtomicsTypeError(f"{at}: contains itself (a cycle); JSON cannot hold it")
            if depth >= MAX_JSON_DEPTH:
                raise AtomicsTypeError(
                    f"{at}: nested more than {MAX_JSON_DEPTH} levels deep; too deep to store"
                )
            on_path.add(id(item))
            stack.append((item, at, depth, True))
            if isinstance(item, list):
                stack.extend((x, f"{at}[{i}]", depth + 1, False) for i, x in enumerate(item))
            else:
                for key, x in item.items():
                    if not isinstance(key, str):
                        raise AtomicsTypeError(
                            f"{at}: dict key {key!r} is not a str; JSON cannot hold it"
                        )
                    stack.append((x, f"{at}[{key!r}]", depth + 1, False))
            continue
        raise AtomicsTypeError(
            f"{at}: a {type(item).__name__} cannot be stored as JSON "
            "(use lists, dicts with str keys, str, int, float, bool, None)"
        )
