"""The package's one sentinel implementation (``MISSING``, ``DELETE``, ``ANY``, ...).

A sentinel is a unique named object: compared by identity, the same object after
``copy``/``deepcopy`` and after pickling (it pickles as a reference to its module global).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Sentinel"]


class Sentinel:
    """A named unique value, defined as a module global named ``name`` in ``module``.

    Guarantees
    ----------
    * Immutable and compared by identity: safe to share among any number of threads.
    * ``copy``, ``deepcopy`` and pickling give back the very same object.

    >>> import copy, pickle
    >>> from atomics import MISSING
    >>> copy.deepcopy(MISSING) is MISSING, pickle.loads(pickle.dumps(MISSING)) is MISSING
    (True, True)
    """

    __slots__ = ("_module", "_name")

    def __init__(self, name: str, module: str) -> None:
        self._name = name
        self._module = module  # where pickle finds it (the module global ``name``)

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> tuple[Any, ...]:
        # Loads as this very object: the module global ``name`` of ``module``.
        return (_lookup, (self._module, self._name))

    def __copy__(self) -> Sentinel:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Sentinel:
        return self


def _lookup(module: str, name: str) -> Sentinel:
    import importlib

    found = getattr(importlib.import_module(module), name)
    if not isinstance(found, Sentinel):
        raise TypeError(f"{module}.{name} is not a sentinel")
    return found
