"""The knowledge base's world model (``kb.world``): versioned keys, written through the
storage's conditional primitives.

* ``put``: ``put_if`` (last-writer-wins with ``expected_version=ANY``, compare-and-set
  otherwise); ``delete``: ``delete_if``; ``merge`` with a named reducer: the storage's
  ``merge`` (the reducer runs once, atomically, inside the storage).
* ``update(fn)`` and ``merge`` with a *callable* reducer are compare-and-set retry loops:
  read the entry, call the function with no lock held, ``put_if`` the version read; if
  another write came first (``Conflict``), read again and call the function again. So the
  function may run more than once (once per conflict) and must have no other effect; the
  write that lands is based on the value it was given. The same on every backend.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atomics import _guard, _locks, _validate
from atomics.errors import AtomicsTypeError, AtomicsValueError
from atomics.kb.errors import Conflict
from atomics.kb.records import ANY, AnyType, WorldEntry
from atomics.kb.reducers import reducers
from atomics.kb.storage.base import NAMED_REDUCERS, Storage
from atomics.sharded_dict import MISSING

if TYPE_CHECKING:
    from atomics.kb.knowledge_base import KnowledgeBase

__all__ = ["World"]


def _check_expected_version(expected_version: Any) -> None:
    if expected_version is ANY or expected_version is None:
        return
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise AtomicsTypeError(
            f"expected_version must be an int, None or ANY, got {type(expected_version).__name__}"
        )


class World:
    """The KnowledgeBase's versioned key-value world model (``kb.world``).

    Guarantees
    ----------
    * Reads take no lock.
    * **Writes**: every write (put, update, merge, delete) bumps the key's version by
      exactly 1, atomically in the storage (one conditional write). ``put`` is
      last-writer-wins, or compare-and-set with ``expected_version`` (``None``: must not exist)
      raising :class:`Conflict` (which carries the current version). A *named* reducer
      (``"sum"``, ``"max"``, ``"min"``, ``"union"``, ``"append"``) runs exactly once per merge,
      inside the storage. ``update(fn)`` and *callable* reducers are compare-and-set loops:
      ``fn`` runs with no lock held, once per attempt -- again when another write to the key
      came first -- so it may run more than once and must have no other effect (nor change
      the value it is given: return a new one); the value stored is ``fn`` of the value it
      replaces. If ``fn`` raises, nothing changes. Writing to
      the KnowledgeBase (or any other atomics object) from inside it raises
      ``ReentrantCallError``; reads are allowed. This rule is the same on every backend.
      Deleted keys keep a tombstone with their version, so versions never repeat (no ABA).

    >>> from atomics import KnowledgeBase
    >>> world = KnowledgeBase().world
    >>> world.put("plan", "draft", agent_id="a").version, world.get("plan").value
    (1, 'draft')
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._storage: Storage = kb._storage
        self._reducers: list[tuple[str, str | Callable[[Any, Any], Any]]] = []
        # guards registration (reads copy the list ref); counting as the knowledge base's
        self._reducer_lock = _locks.lock(getattr(kb, "_track_contention", False))

    def get(self, key: str) -> WorldEntry | None:
        """``(value, version, agent_id, timestamp)``, or None if absent. No lock."""
        return self._storage.get(_validate.name(key, "key"))

    def put(
        self, key: str, value: Any, *, agent_id: str, expected_version: int | AnyType | None = ANY
    ) -> WorldEntry:
        """Store ``value``: last-writer-wins, or compare-and-set if ``expected_version`` is
        given (``None``: the key must not exist), raising :class:`Conflict` otherwise (it
        carries the current version).

        >>> from atomics import KnowledgeBase
        >>> kb = KnowledgeBase(); kb.world.put("k", 1, agent_id="a").version
        1
        >>> kb.world.put("k", 2, agent_id="a", expected_version=1).version
        2
        """
        agent_id = self._kb._check_writable(agent_id)
        key = _validate.name(key, "key")
        _validate.storable(value, "value")
        _check_expected_version(expected_version)
        try:
            return self._storage.put_if(key, value, agent_id, expected_version, time.time())
        finally:
            self._kb._after_write()

    def update(self, key: str, fn: Callable[[Any], Any], *, agent_id: str) -> WorldEntry:
        """Store ``fn(current value, or MISSING)`` as a compare-and-set loop: ``fn`` runs
        with no lock held, once per attempt (again if another write to the key came first).
        If it raises, nothing changes. ``fn`` must return a new value and not change the one
        it is given (that object is the stored one, shared with readers; a change to it
        would be seen before the write, and repeated by a retry). Writes to the knowledge
        base (or any other atomics object) from inside ``fn`` raise ``ReentrantCallError``;
        reads are allowed.

        >>> from atomics import KnowledgeBase, MISSING
        >>> kb = KnowledgeBase(); kb.world.update("n", lambda v: 1 if v is MISSING else v + 1,
        ...                                       agent_id="a").value
        1
        """
        agent_id = self._kb._check_writable(agent_id)
        key = _validate.name(key, "key")
        _validate.function(fn, "fn")
        return self._retry(key, fn, (), agent_id, "fn()")

    def merge(self, key: str, value: Any, *, agent_id: str) -> WorldEntry:
        """Combine ``value`` into the key with the reducer registered for it (first matching
        pattern; default ``"append"``), atomically: concurrent merges lose nothing. A named
        reducer runs exactly once, inside the storage; a callable one as :meth:`update`'s
        ``fn`` does (a compare-and-set loop: once per attempt)."""
        agent_id = self._kb._check_writable(agent_id)
        key = _validate.name(key, "key")
        reducer = self._reducer_for(key)
        _validate.storable(value, "value")
        if isinstance(reducer, str):
            try:
                return self._storage.merge(key, value, reducer, agent_id, time.time())
            finally:
                self._kb._after_write()
        return self._retry(key, reducer, (value,), agent_id, "reducer()")

    def _retry(
        self,
        key: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        agent_id: str,
        what: str,
    ) -> WorldEntry:
        storage = self._storage
        try:
            while True:
                current = storage.get(key)
                old = MISSING if current is None else current.value
                new = _validate.storable(_guard.run_user(fn, old, *args), what)
                expected = None if current is None else current.version
                try:
                    return storage.put_if(key, new, agent_id, expected, time.time())
                except Conflict:
                    continue  # another write came first: again, from what it stored
        finally:
            self._kb._after_write()

    def delete(
        self, key: str, *, agent_id: str, expected_version: int | AnyType | None = ANY
    ) -> bool:
        """Remove the key (a write: its version goes on from the tombstone); False if absent.
        ``expected_version`` as for :meth:`put`."""
        agent_id = self._kb._check_writable(agent_id)
        key = _validate.name(key, "key")
        _check_expected_version(expected_version)
        try:
            return self._storage.delete_if(key, agent_id, expected_version, time.time()) is not None
        finally:
            self._kb._after_write()

    def snapshot(self, prefix: str = "") -> dict[str, WorldEntry]:
        """A consistent copy of every (matching) key."""
        if not isinstance(prefix, str):
            raise AtomicsTypeError("prefix must be a str")
        return dict(self._storage.scan(prefix))

    def register_reducer(self, pattern: str, reducer: str | Callable[[Any, Any], Any]) -> None:
        """Merge keys matching ``pattern`` (``fnmatch``) with ``reducer``: a name from
        :data:`reducers` (run by the storage, exactly once per merge) or
        ``fn(current or MISSING, value) -> new`` (a compare-and-set loop, like
        :meth:`update`). Earlier patterns win."""
        _guard.check_write("World.register_reducer()")
        _validate.name(pattern, "pattern")
        if isinstance(reducer, str):
            if reducer not in NAMED_REDUCERS:
                raise AtomicsValueError(
                    f"reducer: unknown name {reducer!r}; known: {sorted(NAMED_REDUCERS)}"
                )
        elif not callable(reducer):
            raise AtomicsTypeError("reducer must be a name or a callable")
        else:  # a built-in passed as a function runs as the named one (in the storage)
            reducer = next((name for name, fn in reducers.items() if fn is reducer), reducer)
        with self._reducer_lock:
            self._reducers = [*self._reducers, (pattern, reducer)]  # copy on write

    def _reducer_for(self, key: str) -> str | Callable[[Any, Any], Any]:
        for pattern, reducer in self._reducers:
            if fnmatch.fnmatchcase(key, pattern):
                return reducer
        return "append"
