"""ShardedDict: a striped-lock concurrent mapping with atomic per-key compound operations.

Keys are spread over ``stripes`` shards by ``hash(key) % stripes``; each shard is a plain
``dict`` with its own lock. Threads that write different keys mostly take different locks
and write different dicts, so they do not serialise on one lock (a lock convoy) nor all
write one dict (on free-threaded builds, one dict written by every thread collapses).

Guarantees
----------
In the docstring of :class:`ShardedDict`, where ``help(ShardedDict)`` and the API reference show
them.

>>> d = ShardedDict(a=1)
>>> d["b"] = 2
>>> d.increment("hits"); d.increment("hits", 5)
1
6
>>> d.compute("a", lambda v: v + 10)
11
>>> sorted(d.items())
[('a', 11), ('b', 2), ('hits', 6)]
"""

from __future__ import annotations

import itertools
import operator
import sys
import sysconfig
import threading
from collections import Counter
from collections.abc import (
    Callable,
    Hashable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from atomics import _locks, _validate, runtime
from atomics._guard import check_write, enter, in_user_code, leave, mirror
from atomics._sentinel import Sentinel
from atomics.contention import ShardedDictStatistics
from atomics.errors import AtomicsTypeError, AtomicsValueError, WrongThreadError

_GUARD_ON = False  # the re-entry guard's flag: True once any thread ran user code
mirror(globals(), "_GUARD_ON")  # (a global bound to an immortal bool: see atomics._guard)

__all__ = ["DELETE", "MISSING", "DeleteType", "LockedEntry", "MissingType", "ShardedDict"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")
T = TypeVar("T")
HK = TypeVar("HK", bound=Hashable)


if TYPE_CHECKING:
    import enum
    from typing import Final

    from _typeshed import SupportsKeysAndGetItem

    # To a type checker each sentinel is the one member of its own enum, so ``x is MISSING``
    # narrows ``int | MissingType`` to ``int`` (as ``x is None`` narrows an Optional). At run
    # time both are Sentinel objects (the else branch): use ``is``, not ``isinstance``.
    class MissingType(enum.Enum):
        MISSING = "MISSING"

    class DeleteType(enum.Enum):
        DELETE = "DELETE"

    MISSING: Final = MissingType.MISSING
    DELETE: Final = DeleteType.DELETE
else:
    MissingType = DeleteType = Sentinel  # annotations only: ``int | MissingType``

    MISSING = Sentinel("MISSING", __name__)
    """Passed to ``compute``'s function for an absent key; returned when a key ends up absent."""

    DELETE = Sentinel("DELETE", __name__)
    """Returned by a ``compute``/``merge`` function to remove the key."""


# Free-threaded 3.13: dict.get nests a critical section in the slow path of a lookup that
# meets another live thread's object (0.02-0.05 M/s against 8-16 for d[k]; see _read), so
# the map reads with `in` and [] there. CPython 3.14 removed that critical section
# (python/cpython#129336); GIL builds never had it.
_GET_NESTS = bool(sysconfig.get_config_var("Py_GIL_DISABLED")) and sys.version_info < (3, 14)

_NO_DEFAULT: Any = Sentinel("_NO_DEFAULT", __name__)  # pop()'s "no default given"

# Built-in value types whose ``==`` and ``+`` run no user code: compare_and_set and
# increment skip the re-entry guard for them (their hot path).
_PLAIN = frozenset({int, float, str, bytes, bool, type(None), complex})

# The value types increment_many adds to under a stripe lock: ``+`` with an int is C code
# there (no user code) and never raises.
_NUMBERS = frozenset({int, float, bool})

_add, _mod = operator.add, operator.mod

MAX_STRIPES = 1 << 16
"""The most stripes a ShardedDict may have (each costs a dict and a lock up front)."""


def default_stripes(cpus: int | None = None) -> int:
    """Several stripes per core, a power of two, at least 16.

    With 4 stripes per core, two threads writing random keys meet on the same stripe about
    1 time in 4 x cores; more stripes cost memory and slow whole-map operations.

    >>> default_stripes(2), default_stripes(16)
    (16, 64)
    """
    wanted = 4 * (cpus if cpus is not None else runtime.cpu_count())
    stripes = 16
    while stripes < wanted:
        stripes *= 2
    return stripes


class LockedEntry(Generic[K, V]):
    """One key of a ShardedDict with its stripe lock held: the context manager that
    :meth:`ShardedDict.locked` returns (``with d.locked(key) as entry:``).

    Guarantees
    ----------
    * The block runs with the key's stripe lock held, as a ``compute`` function does: what
      it reads and writes through the entry is atomic with respect to every other operation
      on that key (the rules for user functions of :class:`ShardedDict` apply: writes to
      atomics objects other than through this entry raise
      :class:`~atomics.errors.ReentrantCallError`).
    * ``set``/``delete`` work only inside the block and only in the thread that entered it
      (``RuntimeError``/:class:`~atomics.errors.WrongThreadError` otherwise): after the
      block, the lock is no longer held, so a write through the entry could be lost. ``get``
      and ``present`` are plain reads and work anywhere.
    """

    __slots__ = ("_guard", "_key", "_lock", "_owner", "_shard", "_state")

    def __init__(self, shard: dict[K, V], lock: threading.Lock, key: K) -> None:
        self._shard = shard
        self._lock = lock
        self._key = key
        self._state = 0  # 0: not entered yet, 1: inside the block, 2: exited
        self._owner = 0
        self._guard: Any = None

    def __enter__(self) -> LockedEntry[K, V]:
        """Take the key's stripe lock (waiting while another thread holds it) and return this
        entry. One with-block per entry; a write to any atomics object inside raises.
        """
        if self._state:
            raise RuntimeError("a locked() entry can be used for one with-block only")
        if _GUARD_ON:  # entering takes a stripe lock: a write, as far as the guard goes
            check_write("LockedEntry.__enter__ (with d.locked(key))")
        self._lock.acquire()
        # The block is user code: writes to any atomics object raise. The guard state is
        # kept here, so the exit restores this thread even if another thread runs it (a
        # generator suspended inside the block and closed elsewhere).
        self._guard = enter()
        self._owner = threading.get_ident()
        self._state = 1
        return self

    def __exit__(self, *exc: object) -> None:
        """Release the stripe lock (the first exit only); an exception from the block propagates."""
        if self._state != 1:
            return
        self._state = 2
        leave(self._guard)
        self._lock.release()

    def _check_open(self) -> None:
        if self._state != 1:
            raise RuntimeError(
                "LockedEntry: set/delete only inside its `with d.locked(key)` block (the "
                "stripe lock is held only there)"
            )
        if threading.get_ident() != self._owner:
            raise WrongThreadError(
                "LockedEntry: set/delete only in the thread that entered the locked() block"
            )

    @property
    def key(self) -> K:
        """The key."""
        return self._key

    @property
    def present(self) -> bool:
        """Whether the key is in the mapping."""
        return self._key in self._shard

    @overload
    def get(self) -> V | None: ...
    @overload
    def get(self, default: V) -> V: ...
    @overload
    def get(self, default: D) -> V | D: ...

    def get(self, default: D | None = None) -> V | D | None:
        """The value, or ``default`` if the key is absent."""
        return _read(self._shard, self._key, default)

    def set(self, value: V) -> None:
        """Set the value (``MISSING``/``DELETE``: ``ValueError``; use :meth:`delete`)."""
        self._check_open()
        if type(value) is Sentinel:
            raise _validate.sentinel_error(value)
        self._shard[self._key] = value

    def delete(self) -> None:
        """Remove the key (nothing happens if it is absent)."""
        self._check_open()
        self._shard.pop(self._key, None)


class ShardedDict(MutableMapping[K, V]):
    """A concurrent mapping: the ``dict`` API plus atomic per-key compound operations.

    ``ShardedDict(data=(), /, *, stripes=None, track_contention=None, **kwargs)`` is built like
    ``dict``; ``stripes`` (an int >= 1) defaults to :func:`default_stripes`;
    ``track_contention`` (a bool; None: the process default) counts lock contention per
    stripe (:meth:`statistics`). So neither can be a key given as a keyword argument. Keys
    are spread over the stripes by ``hash(key) % stripes``; each stripe is a plain ``dict``
    with its own lock.

    Guarantees
    ----------
    * **Reads take no lock** (``d[k]``, ``get``, ``in``): each is one operation on one shard's
      dict, which is atomic on its own (internally locked on free-threaded builds, under the
      GIL otherwise), and every write to that key happens as one dict operation under the
      stripe lock, so a read sees the value before or after any write, never a mix.
    * **Writes and compound operations take exactly one stripe lock** and are atomic with
      respect to every other operation on the same key: ``d[k] = v``, ``del``, ``pop``,
      ``setdefault``, ``get_or_create``, ``compute``, ``compute_if_present``,
      ``compute_if_absent``, ``merge``, ``increment``, ``compare_and_set``, ``replace``,
      ``pop_if``.
    * **User functions** (``compute``'s ``fn``, ``get_or_create``'s ``factory``, ``pop_if``'s
      ``predicate``, ``locked()`` blocks ...) are called exactly once per operation, under the
      stripe lock. If one raises, the mapping is unchanged and the exception propagates. Inside
      one, reads of any atomics object complete (this map included: ``d[k]``, iteration,
      ``len``, ``snapshot``, ``==``, ``repr``, ``copy``) and writes to any atomics object raise
      :class:`~atomics.errors.ReentrantCallError` (a ``RuntimeError``) at once -- waiting
      there could deadlock. The rule, method by method: ``docs/guarantees.md``. Two things are
      unsafe instead: key objects whose ``__eq__``/``__hash__`` call back into the same map
      (they run under the stripe lock), and ``dict(d)``/``{**d}``/``x.update(d)`` for a plain
      ``dict`` ``x`` under concurrent deletes (they call ``keys()`` then ``d[k]``, which may
      raise ``KeyError``): use ``d.snapshot()`` or ``d.copy()``. ``ShardedDict(d)`` and
      ``ShardedDict.update(d)`` do that for you.
    * **Whole-map operations** (``clear``, ``copy``, ``snapshot``, ``==``, ``popitem`` when it
      must search) take every stripe lock in index order, through one helper, so no two
      operations can deadlock. ``snapshot()`` is a consistent point-in-time ``dict`` -- except
      inside a user function, where it takes no lock and each shard is copied at its own
      instant (the thread holds a stripe lock: taking all of them could deadlock).
    * **Iteration** (``iter``, ``keys``, ``values``, ``items``) is weakly consistent: it never
      raises "changed size during iteration" and never yields a key twice; it visits shard by
      shard, each shard as it was when the iterator reached it, so it yields every key present
      for the whole iteration, no key absent for the whole iteration, and may or may not yield
      keys added or removed meanwhile. Order: by shard, not by insertion (as
      ``ConcurrentHashMap``) -- the one difference from ``dict`` in a single-threaded program.
    * ``len()`` sums the shards' sizes without locking: exact when no write is in flight;
      during writes it counts every key present for the whole call and no key absent for the
      whole call.
    * **Batches** (``increment_many``, ``update``, ``|=``) take each stripe lock they need
      once, one at a time (never two at once), and apply the batch's part in that stripe
      atomically: atomic per key and per stripe, not as a whole.
    * Fairness: none (``threading.Lock``). Keys must be hashable (``TypeError`` as ``dict``).
    * ``MISSING`` and ``DELETE`` are never stored as values: every write that would store one
      raises ``ValueError`` and changes nothing (a ``get_or_create`` factory that returns one
      included); ``compute``-family functions return them to mean "absent"/"remove".
    * ``handle()`` gives a per-thread view with the same contents, API and guarantees (it shares
      the shards and locks); it only saves the contended reference counting of one shared
      object on free-threaded builds.
    * :meth:`statistics` reports the stripe locks' contention in the package's uniform shape
      (:mod:`atomics.contention`), counted only with ``track_contention=True`` (zeros, and
      plain ``threading.Lock`` stripe locks that cost nothing, otherwise).

    >>> ShardedDict([("x", 1)], y=2) == {"x": 1, "y": 2}
    True
    """

    __slots__ = ("__weakref__", "_locks", "_shards", "_stripes")

    def __init__(
        self,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        /,
        *,
        stripes: int | None = None,
        track_contention: bool | None = None,
        **kwargs: V,
    ) -> None:
        track = _locks.tracking(track_contention)  # checked before anything is made
        # Sized up front (a dict and a lock per stripe): bounded, with a clear error, so a
        # typo cannot allocate until the process is killed.
        stripes = (
            default_stripes()
            if stripes is None
            else _validate.count(stripes, "stripes", 1, MAX_STRIPES)
        )
        self._stripes = stripes

        # _locks[i] guards every write to _shards[i]; taken in index order when several are.
        self._shards: tuple[dict[K, V], ...] = tuple({} for _ in range(stripes))
        # (counting locks with track_contention: atomics.contention; plain ones otherwise)
        self._locks: tuple[threading.Lock, ...] = tuple(_locks.lock(track) for _ in range(stripes))
        if data or kwargs:
            # Filled directly: no other thread can see this map yet (so no lock, and no
            # re-entry check: building a map inside a compute function is allowed).
            source: dict[Any, Any] = (
                data.snapshot() if isinstance(data, ShardedDict) else dict(cast(Any, data))
            )
            source.update(kwargs)
            for value in source.values():
                if type(value) is Sentinel:
                    raise _validate.sentinel_error(value)
            for key, value in source.items():
                self._shards[hash(key) % stripes][key] = value

    # --- locking helpers -------------------------------------------------------------------------
    def _index(self, key: object) -> int:
        return hash(key) % self._stripes  # raises TypeError for an unhashable key, as dict does

    @contextmanager
    def _all_stripes(self) -> Iterator[None]:
        """Hold every stripe lock, taken in index order (the one place that takes several).

        Never from user code (callers check): that thread holds a stripe lock already, and
        taking a second could deadlock against a thread here.
        """
        taken = 0
        try:
            for lock in self._locks:
                lock.acquire()
                taken += 1
            yield
        finally:
            for lock in self._locks[:taken]:
                lock.release()

    # --- reads: no lock (one atomic dict operation each) --------------------------------------
    def __getitem__(self, key: K) -> V:
        """``d[key]``: the value, or ``KeyError``. Lock-free and atomic (one read of one shard).

        >>> ShardedDict(a=1)["a"]
        1
        """
        # d[k] and `in`, never dict.get: see _read
        return self._shards[hash(key) % self._stripes][key]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V, /) -> V: ...
    @overload
    def get(self, key: K, default: D, /) -> V | D: ...

    def get(self, key: K, default: D | None = None, /) -> V | D | None:
        """The value for ``key``, or ``default``. Lock-free and atomic.

        >>> ShardedDict(a=1).get("b", 0)
        0
        """
        shard = self._shards[hash(key) % self._stripes]
        if not _GET_NESTS:
            return shard.get(key, default)
        if key in shard:  # `in` and [], not dict.get on 3.13t: see _read
            try:
                return shard[key]
            except KeyError:  # removed in between: absent now
                pass
        return default

    def __contains__(self, key: object) -> bool:
        """``key in d``. Lock-free and atomic."""
        return key in self._shards[hash(key) % self._stripes]

    def __len__(self) -> int:
        # Each shard's len() is atomic; the sum is exact when no write is in flight.
        """``len(d)``: the shards' sizes summed without locking (exact when no write is in
        flight; during writes, it counts every key present for the whole call).
        """
        return sum(len(shard) for shard in self._shards)

    # Iteration takes no lock: ``dict.copy()`` is one atomic operation on the shard
    # (internally locked on free-threaded builds, one C call under the GIL otherwise), and
    # every write to a shard is one dict operation, so the copy is the shard as it was at
    # one instant. No lock also means iterating inside a compute function, or from two
    # threads each inside one, cannot deadlock.
    def __iter__(self) -> Iterator[K]:
        """``iter(d)``: the keys, weakly consistent (no lock): shard by shard, each shard as it
        was when reached; never raises for concurrent changes and never yields a key twice.
        """
        for shard in self._shards:
            if shard:
                yield from shard.copy()

    def _iter_items(self) -> Iterator[tuple[K, V]]:
        for shard in self._shards:
            if shard:
                yield from shard.copy().items()

    def keys(self) -> KeysView[K]:
        """A view of the keys (weakly consistent iteration: see "Iteration" in the class's
        Guarantees)."""
        return KeysView(self)

    def values(self) -> ValuesView[V]:
        """A view of the values, iterated shard by shard like the keys."""
        return _ValuesView(self)

    def items(self) -> ItemsView[K, V]:
        """A view of (key, value) pairs; each pair is one consistent reading of that key."""
        return _ItemsView(self)

    def snapshot(self) -> dict[K, V]:
        """A consistent point-in-time copy as a plain ``dict`` (holds every stripe lock).

        >>> ShardedDict(a=1).snapshot()
        {'a': 1}
        """
        result: dict[K, V] = {}
        if _GUARD_ON and in_user_code():
            # This thread holds a stripe lock (of this map or another): taking every stripe
            # lock could deadlock. Each shard's copy is atomic, the whole is not.
            for shard in self._shards:
                result.update(shard.copy())
            return result
        with self._all_stripes():
            for shard in self._shards:
                result.update(shard)
        return result

    # --- single-key writes: one stripe lock --------------------------------------------------
    def __setitem__(self, key: K, value: V) -> None:
        # Locked although one dict store is atomic: a store must not land between a
        # compute's read and its write on the same key.
        """``d[key] = value``, under the key's stripe lock (so it cannot land between a
        ``compute``'s read and write of that key). ``MISSING``/``DELETE``: ``ValueError``.

        >>> d = ShardedDict(); d["a"] = 1; d
        ShardedDict({'a': 1})
        """
        index = hash(key) % self._stripes
        if type(value) is Sentinel:
            raise _validate.sentinel_error(value)
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.__setitem__")
        with self._locks[index]:
            shard = self._shards[index]
            shard[key] = value

    def __delitem__(self, key: K) -> None:
        """``del d[key]`` (``KeyError`` if absent), under the key's stripe lock."""
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.__delitem__")
        with self._locks[index]:
            shard = self._shards[index]
            del shard[key]

    _no_default: Any = _NO_DEFAULT

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, default: V, /) -> V: ...
    @overload
    def pop(self, key: K, default: D, /) -> V | D: ...

    def pop(self, key: K, default: D = _no_default, /) -> V | D:
        """Remove ``key`` and return its value, or ``default``; KeyError if absent without one."""
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.pop()")
        with self._locks[index]:
            shard = self._shards[index]
            if default is self._no_default:
                return shard.pop(key)
            return shard.pop(key, default)

    @overload
    def setdefault(self: ShardedDict[K, T | None], key: K, default: None = None, /) -> T | None: ...
    @overload
    def setdefault(self, key: K, default: V, /) -> V: ...

    def setdefault(self, key: K, default: Any = None, /) -> Any:
        """``d[key]`` if present, else store and return ``default``. Atomic.

        >>> d = ShardedDict(); d.setdefault("k", []).append(1); d["k"]
        [1]
        """
        index = hash(key) % self._stripes
        if type(default) is Sentinel:
            raise _validate.sentinel_error(default, "default")
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.setdefault()")
        with self._locks[index]:
            shard = self._shards[index]
            return shard.setdefault(key, default)

    def popitem(self) -> tuple[K, V]:
        """Remove and return some (key, value) pair; ``KeyError`` if empty. Atomic.

        Which pair is not specified (dict's is the last inserted; here, the last of the
        first non-empty shard).
        """
        if _GUARD_ON:
            check_write("ShardedDict.popitem()")
        for index, shard in enumerate(self._shards):
            if shard:
                with self._locks[index]:
                    if shard:  # re-checked under the lock
                        return shard.popitem()
        # Nothing found shard by shard -- but a shard passed over may have filled since.
        # "Empty" must be true at one instant: search again holding every stripe lock.
        with self._all_stripes():
            for shard in self._shards:
                if shard:
                    return shard.popitem()
        raise KeyError("popitem(): dictionary is empty")

    def clear(self) -> None:
        """Remove every key; atomic (holds every stripe lock)."""
        if _GUARD_ON:
            check_write("ShardedDict.clear()")
        with self._all_stripes():
            for shard in self._shards:
                shard.clear()

    # --- atomic compound operations (user code runs once, under the stripe lock) ------------
    def get_or_create(self, key: K, factory: Callable[[], V]) -> V:
        """``d[key]``; if absent, store and return ``factory()``. The factory runs at most
        once per key even when many threads race for it (under the stripe lock).

        >>> d = ShardedDict(); d.get_or_create("k", list) is d.get_or_create("k", list)
        True
        """
        if not callable(factory):
            _validate.function(factory, "factory")
        if _GUARD_ON:  # a write, even when the key is present: one rule, whatever the state
            check_write("ShardedDict.get_or_create()")
        index = self._index(key)
        value = _read(self._shards[index], key, MISSING)  # lock-free fast path
        if value is not MISSING:
            return value
        with self._locks[index]:
            shard = self._shards[index]
            value = (
                (shard[key] if key in shard else MISSING) if _GET_NESTS else shard.get(key, MISSING)
            )
            if value is MISSING:
                guard = enter()  # the thread is in user code: writes to any atomics object raise
                try:
                    value = factory()
                finally:
                    leave(guard)
                if type(value) is Sentinel:  # stored, it would run again
                    raise _validate.sentinel_error(value, "factory()")
                shard[key] = value
            return value

    def compute(
        self, key: K, fn: Callable[[V | MissingType], V | DeleteType | MissingType]
    ) -> V | MissingType:
        """Set ``key`` to ``fn(current)``, where ``current`` is the value or ``MISSING``;
        ``fn`` may return ``DELETE`` to remove the key. Returns the new value, or ``MISSING``
        if the key ends absent. Atomic; ``fn`` runs exactly once, under the stripe lock.

        >>> d = ShardedDict()
        >>> d.compute("n", lambda v: 1 if v is MISSING else v + 1)
        1
        >>> d.compute("n", lambda v: DELETE), "n" in d
        (MISSING, False)
        """
        if not callable(fn):
            _validate.function(fn, "fn")
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.compute()")
        with self._locks[index]:
            shard = self._shards[index]
            current = (
                (shard[key] if key in shard else MISSING) if _GET_NESTS else shard.get(key, MISSING)
            )
            guard = enter()  # the thread is in user code: writes to any atomics object raise
            try:
                new = fn(current)
            finally:
                leave(guard)
            return self._store(shard, key, current, new)

    @staticmethod
    def _store(
        shard: dict[K, V], key: K, current: V | MissingType, new: V | DeleteType | MissingType
    ) -> V | MissingType:
        if new is DELETE or new is MISSING:
            if current is not MISSING:
                del shard[key]
            return MISSING
        if type(new) is Sentinel:  # ANY, ...: never stored
            raise _validate.sentinel_error(new, "the function's result")
        shard[key] = new
        return new

    def compute_if_present(
        self, key: K, fn: Callable[[V], V | DeleteType | MissingType]
    ) -> V | MissingType:
        """If ``key`` is present, set it to ``fn(value)`` (``DELETE`` removes it); return the
        new value, or ``MISSING`` if absent (``fn`` is then not called). Atomic.

        >>> ShardedDict(a=1).compute_if_present("a", lambda v: v * 5)
        5
        """
        if not callable(fn):
            _validate.function(fn, "fn")
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.compute_if_present()")
        with self._locks[index]:
            shard = self._shards[index]
            current = (
                (shard[key] if key in shard else MISSING) if _GET_NESTS else shard.get(key, MISSING)
            )
            if current is MISSING:
                return MISSING
            guard = enter()  # the thread is in user code: writes to any atomics object raise
            try:
                new = fn(current)
            finally:
                leave(guard)
            return self._store(shard, key, current, new)

    def compute_if_absent(
        self, key: K, fn: Callable[[K], V | DeleteType | MissingType]
    ) -> V | MissingType:
        """If ``key`` is absent, store ``fn(key)`` (unless it is ``DELETE``); return the value
        now stored, or ``MISSING``. ``fn`` runs at most once per call, under the lock.

        >>> ShardedDict().compute_if_absent("ab", len)
        2
        """
        if not callable(fn):
            _validate.function(fn, "fn")
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.compute_if_absent()")
        with self._locks[index]:
            shard = self._shards[index]
            current = (
                (shard[key] if key in shard else MISSING) if _GET_NESTS else shard.get(key, MISSING)
            )
            if current is not MISSING:
                return current
            guard = enter()  # the thread is in user code: writes to any atomics object raise
            try:
                new = fn(key)
            finally:
                leave(guard)
            return self._store(shard, key, current, new)

    def merge(
        self, key: K, value: V, fn: Callable[[V, V], V | DeleteType | MissingType]
    ) -> V | MissingType:
        """Store ``value`` if ``key`` is absent, else ``fn(current, value)`` (``DELETE``
        removes the key); return the new value or ``MISSING``. Atomic.

        >>> d = ShardedDict(); d.merge("k", [1], list.__add__); d.merge("k", [2], list.__add__)
        [1]
        [1, 2]
        """
        if not callable(fn):
            _validate.function(fn, "fn")
        index = hash(key) % self._stripes
        if type(value) is Sentinel:
            raise _validate.sentinel_error(value)
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.merge()")
        with self._locks[index]:
            shard = self._shards[index]
            current = (
                (shard[key] if key in shard else MISSING) if _GET_NESTS else shard.get(key, MISSING)
            )
            if current is MISSING:
                shard[key] = value
                return value
            guard = enter()  # the thread is in user code: writes to any atomics object raise
            try:
                new = fn(current, value)
            finally:
                leave(guard)
            return self._store(shard, key, current, new)

    # The defaults (1, 0) are ints: only an int or float map may leave them out (a str map's
    # ``increment("k")`` would raise TypeError); any other value type passes both.
    @overload
    def increment(self: ShardedDict[K, int], key: K, delta: int = 1, default: int = 0) -> int: ...
    @overload
    def increment(
        self: ShardedDict[K, float], key: K, delta: float = 1, default: float = 0
    ) -> float: ...
    @overload
    def increment(self, key: K, delta: V, default: V) -> V: ...

    def increment(self, key: K, delta: Any = 1, default: Any = 0) -> Any:
        """``d[key] = d.get(key, default) + delta``, atomically; return the new value. (To a
        type checker, ``delta`` and ``default`` may be left out only on an int or float map.)

        >>> d = ShardedDict(); d.increment("k"), d.increment("k", 10)
        (1, 11)
        """
        if isinstance(delta, bool):  # the package's rule: a bool is not a number here
            raise AtomicsTypeError("delta must be a number, not bool")
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.increment()")
        with self._locks[index]:
            shard = self._shards[index]
            current: Any = (
                (shard[key] if key in shard else default) if _GET_NESTS else shard.get(key, default)
            )  # not dict.get on 3.13t: see _read
            if (type(current) is int and type(delta) is int) or (
                type(current) in _PLAIN and type(delta) in _PLAIN
            ):
                new: V = current + delta  # may raise: nothing stored
            else:  # a value's __add__/__radd__ is user code under the lock
                guard = enter()
                try:
                    new = current + delta
                finally:
                    leave(guard)
                if type(new) is Sentinel:
                    raise _validate.sentinel_error(new, "the sum")
            shard[key] = new
            return new

    # Only an int or float map (as increment's defaults): to a type checker, on a map of
    # other values the call has no matching overload.
    @overload
    def increment_many(
        self: ShardedDict[K, int], keys_or_counts: Mapping[K, int] | Iterable[K], /
    ) -> None: ...
    @overload
    def increment_many(
        self: ShardedDict[K, float], keys_or_counts: Mapping[K, int] | Iterable[K], /
    ) -> None: ...

    def increment_many(self, keys_or_counts: Any, /) -> None:
        """Add a batch of counts: ``increment(key, n)`` for each key, taking each stripe lock
        once per batch (the map counterpart of ``BoundedQueue.put_many``).

        ``keys_or_counts`` is what ``collections.Counter.update`` takes: an iterable of keys
        (each occurrence adds 1; a ``str`` is an iterable of characters) or a mapping of key
        -> int amount (a ``Counter`` included; amounts may be 0 or negative, and an absent
        key starts from 0, so a key with amount 0 is stored as 0). Returns None.

        Atomicity: each key's addition is atomic with respect to every other operation on
        that key (as :meth:`increment`), and the part of the batch that falls in one stripe
        is applied atomically (one lock acquisition, one ``dict.update``): a reader never
        sees half of a stripe's part. The batch as a whole is not atomic: a reader may see
        some stripes updated and others not yet.

        Errors: an unhashable key, or an amount whose type is not exactly ``int`` (a bool or
        other int subclass included), raise ``TypeError`` before anything changes. A value
        already in the map under one of the keys that is not an int or float (``"x"``,
        ``None``, a ``Decimal``...) cannot be added to here: the stripe holding it is left
        entirely unchanged (checked under its lock before writing), every other stripe of
        the batch is updated, and then ``TypeError`` names that key. (Use ``increment`` for
        other value types.) Likewise a sum that overflows (a float value plus an int amount
        too large for a float): that stripe is left unchanged, the others are updated, then
        ``OverflowError`` names the key. No user code runs under a stripe lock, except the
        keys' ``__eq__`` as in every method. (A type checker accepts a mapping of float
        amounts, since a mapping is also an iterable of its keys; it raises ``TypeError``.)

        >>> d = ShardedDict(a=5)
        >>> d.increment_many(["a", "b", "a"]); d.increment_many({"b": 10}); sorted(d.items())
        [('a', 7), ('b', 11)]
        """
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.increment_many()")
        parts: list[tuple[int, dict[Any, int]]]
        if _mostly_distinct(keys_or_counts):
            # Few repeats: counting the whole batch first folds almost nothing. Group the
            # keys by stripe, then count each stripe's part (C-level, small dicts): on text of
            # all-distinct words 3.13t ran 1.4x the count-first path at 2 threads.
            parts = self._occurrences_by_stripe(keys_or_counts)
        else:
            counts = _counts(keys_or_counts)
            parts = [(index, dict(pairs)) for index, pairs in self._by_stripe(counts)]
        if not parts:
            return
        shards, locks = self._shards, self._locks
        # Per stripe left unchanged: the key whose value could not be added to, and why.
        unchanged: list[tuple[Any, ArithmeticError | None]] = []
        for index, new in parts:  # new: key -> amount; an absent key then stores 0 + amount
            shard = shards[index]
            with locks[index]:
                # C-level passes, no .get (on 3.13t, dict.get of a key stored by another
                # live thread can take a slow path 100x over; see the docs)
                present = new.keys() & shard.keys()  # usually few, often none
                if present:
                    keys = list(present)
                    old = list(map(shard.__getitem__, keys))
                    if not _NUMBERS.issuperset(map(type, old)):  # user code: not here
                        bad = keys[[type(v) in _NUMBERS for v in old].index(False)]
                        unchanged.append((bad, None))
                        continue
                    amounts = list(map(new.__getitem__, keys))
                    try:  # every sum first (a float + a huge int overflows): then one update
                        sums = list(map(_add, old, amounts))
                    except ArithmeticError as exc:
                        triples = zip(keys, old, amounts, strict=True)
                        bad = next(k for k, v, n in triples if _fails(v, n))
                        unchanged.append((bad, exc))
                        continue
                    dict.update(new, zip(keys, sums, strict=True))  # set (Counter adds)
                shard.update(new)
        if unchanged:
            key, error = next(((k, e) for k, e in unchanged if e is None), unchanged[0])
            left = (
                f"so {len(unchanged)} stripe(s) of the batch were left unchanged (every other "
                "stripe was updated)"
            )
            if error is None:
                raise AtomicsTypeError(
                    f"increment_many: the value of {key!r} is not an int or float, {left}; use "
                    "increment() for other value types"
                )
            raise type(error)(f"increment_many: adding to the value of {key!r}: {error}, {left}")

    def _occurrences_by_stripe(self, keys: list[Any]) -> list[tuple[int, dict[Any, int]]]:
        """``keys`` (a list, repeats allowed) grouped by stripe and counted per stripe:
        ``(index, Counter)`` for each stripe present, in first-occurrence order, in C-level
        steps. An unhashable key raises ``TypeError`` here, before anything changes."""
        try:
            indices = list(map(_mod, map(hash, keys), itertools.repeat(self._stripes)))
        except TypeError as exc:
            raise AtomicsTypeError(f"keys_or_counts: {exc}") from exc
        buckets: dict[int, list[Any]] = {i: [] for i in dict.fromkeys(indices)}
        any(map(list.append, map(buckets.__getitem__, indices), keys))
        return [(index, Counter(part)) for index, part in buckets.items()]

    def _by_stripe(self, source: dict[Any, Any]) -> list[tuple[int, list[tuple[Any, Any]]]]:
        """``source``'s items split by stripe: ``(index, [(key, value), ...])`` for each
        stripe present, in the order the stripes first occur in ``source`` (so two threads
        batching at once do not walk the stripes in the same order), built in C-level steps
        (no Python loop over the keys)."""
        stripes = self._stripes
        if stripes == 1:
            return [(0, list(source.items()))]
        indices = list(map(_mod, map(hash, source), itertools.repeat(stripes)))
        buckets: dict[int, list[tuple[Any, Any]]] = {i: [] for i in dict.fromkeys(indices)}
        any(map(list.append, map(buckets.__getitem__, indices), source.items()))
        return list(buckets.items())

    def compare_and_set(self, key: K, expected: V | MissingType, new: V) -> bool:
        """If ``d[key] == expected`` (or ``expected`` is ``MISSING`` and the key is absent),
        set it to ``new`` and return True; else return False. Atomic.

        >>> d = ShardedDict(); d.compare_and_set("k", MISSING, 1), d.compare_and_set("k", 0, 2)
        (True, False)
        """
        index = hash(key) % self._stripes
        if type(new) is Sentinel:
            raise _validate.sentinel_error(new, "new")
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.compare_and_set()")
        with self._locks[index]:
            shard = self._shards[index]
            current = (
                (shard[key] if key in shard else MISSING) if _GET_NESTS else shard.get(key, MISSING)
            )
            if current is MISSING:
                matches = expected is MISSING
            elif expected is MISSING:
                matches = False
            elif current is expected or (type(current) in _PLAIN and type(expected) in _PLAIN):
                matches = current is expected or current == expected
            else:  # the value's __eq__ is user code under the lock
                guard = enter()
                try:
                    matches = bool(current == expected)
                finally:
                    leave(guard)
            if matches:
                shard[key] = new
            return matches

    def replace(self, key: K, old: V, new: V) -> bool:
        """If ``key`` is present with a value equal to ``old``, set it to ``new``; return
        whether it did. Atomic (``ConcurrentHashMap.replace(key, old, new)``).

        >>> ShardedDict(a=1).replace("a", 1, 2)
        True
        """
        if type(new) is Sentinel:
            raise _validate.sentinel_error(new, "new")
        if old is MISSING:
            return False
        return self.compare_and_set(key, old, new)

    def pop_if(self, key: K, predicate: Callable[[V], object]) -> V | MissingType:
        """Remove ``key`` if present and ``predicate(value)`` is true; return the removed
        value, or ``MISSING``. Atomic; ``predicate`` runs once, under the lock.

        >>> d = ShardedDict(a=1, b=2); d.pop_if("a", lambda v: v > 1), d.pop_if("b", bool)
        (MISSING, 2)
        """
        if not callable(predicate):
            _validate.function(predicate, "predicate")
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.pop_if()")
        with self._locks[index]:
            shard = self._shards[index]
            current = (
                (shard[key] if key in shard else MISSING) if _GET_NESTS else shard.get(key, MISSING)
            )
            if current is MISSING:
                return MISSING
            guard = enter()  # the thread is in user code: writes to any atomics object raise
            try:
                remove = predicate(current)
            finally:
                leave(guard)
            if remove:
                del shard[key]
                return current
            return MISSING

    def _remove_if_is(self, key: K, value: object) -> bool:
        """Package-internal: remove ``key`` if it maps to this very object (``is``, no user
        code). For the knowledge base's id index (dropping ids of insights no longer kept)."""
        index = hash(key) % self._stripes
        with self._locks[index]:
            shard = self._shards[index]
            if key in shard and shard[key] is value:
                del shard[key]
                return True
            return False

    def locked(self, key: K) -> LockedEntry[K, V]:
        """Hold ``key``'s stripe lock for a multi-step update: ``with d.locked(key) as
        entry:`` gives a :class:`LockedEntry` (``get``/``set``/``delete``).

        Other threads' operations on keys of the same stripe wait. The block is user code:
        inside it, use the entry to write; writes to any atomics object (this map included)
        raise ``ReentrantCallError`` (they could deadlock).

        >>> d = ShardedDict(n=1)
        >>> with d.locked("n") as entry:
        ...     entry.set(entry.get() * 10)
        >>> d["n"]
        10
        """
        index = hash(key) % self._stripes
        if _GUARD_ON:  # some thread has run user code: is this one inside it?
            check_write("ShardedDict.locked()")
        return LockedEntry(self._shards[index], self._locks[index], key)

    def handle(self) -> ShardedDict[K, V]:
        """A view of this map for the calling thread to use: same contents, API and guarantees.

        The handle shares this map's shards and stripe locks -- every write through it is a
        write to this map, under the same lock -- but holds its own tuples of them, created by
        the calling thread. Why: on free-threaded builds each method call on a shared object
        bumps reference counts that every thread shares (the map itself, its tuples of shards
        and locks), and those contended atomic updates alone cost scaling (measured in
        ``docs/sharded_dict.md``, 3.13t: 2-thread writes through one shared map ran at
        1.00-1.09x one thread, through per-thread handles 1.48-1.81x). A handle is correct
        from any thread; it is only faster in the thread that made it. Make one per thread,
        e.g. at thread start.

        >>> d = ShardedDict(); h = d.handle(); h["k"] = 1; h.increment("k"); d["k"]
        2
        2
        """
        view: ShardedDict[K, V] = ShardedDict.__new__(type(self))
        view._stripes = self._stripes
        # New tuple objects, made (and so owned) by the calling thread: tuple(a_tuple) would
        # return the shared one.
        view._shards = tuple(shard for shard in self._shards)
        view._locks = tuple(lock for lock in self._locks)
        return view

    # --- whole-map and dict-compatibility ------------------------------------------------------
    @overload
    def update(self, other: SupportsKeysAndGetItem[K, V], /, **kwargs: V) -> None: ...
    @overload
    def update(self, other: Iterable[tuple[K, V]], /, **kwargs: V) -> None: ...
    @overload
    def update(self: ShardedDict[str, V], /, **kwargs: V) -> None: ...

    def update(self, other: Any = (), /, **kwargs: V) -> None:
        """``dict.update``: from a mapping, an iterable of pairs, and/or keywords (the last
        value of a duplicate key wins). Atomic per stripe, not as a whole: the pairs are
        grouped by stripe first (so a bad pair raises before anything changes), then each
        stripe's part is stored under its lock in one ``dict.update`` -- a reader never sees
        half of one stripe's part, but may see some stripes updated and others not yet.
        A ShardedDict source is read with :meth:`snapshot` (the
        generic ``keys()``-then-``d[k]`` could raise ``KeyError`` under concurrent deletes).

        >>> d = ShardedDict(a=1); d.update(ShardedDict(b=2), c=3); sorted(d)
        ['a', 'b', 'c']
        """
        if _GUARD_ON:
            check_write("ShardedDict.update()")
        if isinstance(other, ShardedDict):
            pairs = list(other.snapshot().items())
        elif isinstance(other, Mapping):
            pairs = [(key, other[key]) for key in other]
        elif hasattr(other, "keys"):  # dict.update's rule for mapping-like objects
            pairs = [(key, other[key]) for key in other.keys()]  # noqa: SIM118
        else:
            pairs = [_pair(item) for item in other]
        pairs += kwargs.items()
        for _, value in pairs:  # all checked before anything is stored
            if type(value) is Sentinel:
                raise _validate.sentinel_error(value)
        merged = dict(pairs)  # the last value of a duplicate key wins; TypeError if unhashable
        shards, locks = self._shards, self._locks
        for index, part in self._by_stripe(merged):
            with locks[index]:
                shards[index].update(part)

    def copy(self) -> ShardedDict[K, V]:
        """A new ShardedDict with a consistent copy of the contents and the same stripes."""
        return ShardedDict(self.snapshot(), stripes=self._stripes)

    __copy__ = copy

    @overload
    @classmethod
    def fromkeys(
        cls, iterable: Iterable[HK], value: None = None, /
    ) -> ShardedDict[HK, Any | None]: ...
    @overload
    @classmethod
    def fromkeys(cls, iterable: Iterable[HK], value: T, /) -> ShardedDict[HK, T]: ...

    @classmethod
    def fromkeys(cls, iterable: Iterable[HK], value: T | None = None, /) -> ShardedDict[HK, Any]:
        """A new ShardedDict with keys from ``iterable``, each set to ``value``."""
        made: ShardedDict[HK, Any] = cast(Any, cls)(dict.fromkeys(iterable, value))
        return made

    def __eq__(self, other: object) -> bool:
        """Equal to any mapping with the same items, compared on a consistent snapshot of this
        map (and of ``other``, one map at a time, if it is a ShardedDict).
        """
        if isinstance(other, ShardedDict):
            return self.snapshot() == other.snapshot()  # one map at a time: no lock ordering
        if isinstance(other, Mapping):
            return self.snapshot() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """``ShardedDict({...})`` of a consistent snapshot."""
        return f"ShardedDict({self.snapshot()!r})"

    # As typeshed types dict's: the same key and value types keep them, others widen them.
    @overload
    def __or__(self, other: Mapping[K, V], /) -> ShardedDict[K, V]: ...
    @overload
    def __or__(self, other: Mapping[HK, T], /) -> ShardedDict[K | HK, V | T]: ...

    def __or__(self, other: object, /) -> ShardedDict[Any, Any]:
        """``d | other``: a new ShardedDict (this map's stripes); ``other``'s values win."""
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.snapshot()
        merged.update(other.snapshot() if isinstance(other, ShardedDict) else dict(other))
        return ShardedDict(merged, stripes=self._stripes)

    @overload
    def __ror__(self, other: Mapping[K, V], /) -> ShardedDict[K, V]: ...
    @overload
    def __ror__(self, other: Mapping[HK, T], /) -> ShardedDict[K | HK, V | T]: ...

    def __ror__(self, other: object, /) -> ShardedDict[Any, Any]:
        """``other | d``: a new ShardedDict (this map's stripes); this map's values win."""
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = dict(other)
        merged.update(self.snapshot())
        return ShardedDict(merged, stripes=self._stripes)

    # Takes pairs too, as dict's (and update) does, so unlike __or__'s: mypy's [misc], which
    # it reports on the overloads and on the implementation.
    @overload  # type: ignore[misc]
    def __ior__(self, other: SupportsKeysAndGetItem[K, V], /) -> ShardedDict[K, V]: ...
    @overload
    def __ior__(self, other: Iterable[tuple[K, V]], /) -> ShardedDict[K, V]: ...

    def __ior__(self, other: Any, /) -> ShardedDict[K, V]:  # type: ignore[misc]
        """``d |= other``: :meth:`update` (atomic per stripe, not as a whole); returns ``d``."""
        self.update(other)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickling: a consistent snapshot and the stripe count."""
        return (_rebuild, (self.snapshot(), self._stripes))

    @property
    def stripes(self) -> int:
        """The number of stripes (shards)."""
        return self._stripes

    def statistics(self) -> ShardedDictStatistics:
        """Debugging figures: ``stripes``, ``shard_sizes`` (the number of keys in each shard)
        and the contention counters of the stripe locks in the package's uniform shape
        (:mod:`atomics.contention`; ``locks``: one per stripe, ``"stripe <i>"``, in stripe
        order). The counters count with ``track_contention=True`` (``"tracking": False`` and
        zeros otherwise): every write and compound operation takes one stripe lock, a
        whole-map operation every stripe's once; reads take none and count nothing. A handle
        shares the map's locks, so its operations count here too, and its ``statistics()``
        is the map's. Thread-safe and lock-free (it never blocks, also inside a ``locked()``
        block); while other threads write, each figure is one that held during the call.

        >>> d = ShardedDict(stripes=4, track_contention=True); d["k"] = 0; d.increment("k")
        1
        >>> s = d.statistics(); s["stripes"], sum(s["shard_sizes"]), s["acquisitions"]
        (4, 1, 2)
        """
        locks = self._locks
        counted = _locks.contention(
            _locks.counters(locks[0]) is not None,
            ((f"stripe {index}", lock) for index, lock in enumerate(locks)),
        )
        return {
            "tracking": counted["tracking"],
            "acquisitions": counted["acquisitions"],
            "contended": counted["contended"],
            "wait_seconds": counted["wait_seconds"],
            "locks": counted["locks"],
            "stripes": self._stripes,
            "shard_sizes": [len(s) for s in self._shards],
        }

    def _check_invariants(self) -> None:
        """Every key lives in the shard its hash selects (tests call this)."""
        for index, shard in enumerate(self._shards):
            for key in list(shard):
                assert self._index(key) == index, f"{key!r} in shard {index}"


def _counts(keys_or_counts: object) -> dict[Any, int]:
    """increment_many's argument as a new dict of key -> int amount, validated."""
    if isinstance(keys_or_counts, ShardedDict):
        counts: dict[Any, Any] = keys_or_counts.snapshot()
    elif isinstance(keys_or_counts, dict):
        counts = keys_or_counts.copy() if type(keys_or_counts) is dict else dict(keys_or_counts)
    elif isinstance(keys_or_counts, Mapping):
        counts = {key: keys_or_counts[key] for key in keys_or_counts}
    elif isinstance(keys_or_counts, Iterable):
        try:
            counted = Counter(keys_or_counts)  # C-level counting
        except TypeError as exc:
            raise AtomicsTypeError(f"keys_or_counts: {exc}") from exc
        return counted
    else:
        raise AtomicsTypeError(
            "keys_or_counts must be an iterable of keys or a mapping of key -> int, not "
            f"{type(keys_or_counts).__name__}"
        )
    if not {int}.issuperset(map(type, counts.values())):
        for key, amount in counts.items():
            if type(amount) is not int:
                raise AtomicsTypeError(
                    f"keys_or_counts: the amount for {key!r} must be an int, not "
                    f"{type(amount).__name__}"
                )
    return counts


_SAMPLE = 64  # keys looked at to tell a batch of mostly distinct keys


def _mostly_distinct(keys_or_counts: object) -> bool:
    """Whether increment_many's argument is a list of keys with few repeats (7 in 8 of its
    first _SAMPLE distinct): then grouping by stripe before counting is the faster path."""
    if type(keys_or_counts) is not list or len(keys_or_counts) < _SAMPLE:
        return False
    try:
        return len(set(keys_or_counts[:_SAMPLE])) * 8 >= _SAMPLE * 7
    except TypeError:  # an unhashable key: the other path reports it
        return False


def _fails(value: Any, amount: int) -> bool:
    """Whether ``value + amount`` raises ArithmeticError (ints and floats only)."""
    try:
        value + amount
    except ArithmeticError:
        return True
    return False


def _read(shard: dict[Any, T], key: object, default: D) -> T | D:
    """``shard.get(key, default)`` for a reader that holds no lock, without ``dict.get``.

    On free-threaded CPython 3.13, ``dict.get`` runs inside the dict's critical section, and
    when its lookup meets a stored key object made by another thread that is still running
    it falls back to a second, nested critical section: measured 0.02-0.05 M gets/s against
    8-16 M/s for ``d[k]`` and ``k in d`` on the same dict and keys (``docs/lock_granularity.md``,
    rule 2). ``in`` and ``[]`` take that fallback without the nesting. Under a stripe lock the
    two steps see one state; without it, a key removed in between reads as absent (it was,
    during the call). Hot paths inline this. Elsewhere (GIL builds, 3.14+) ``dict.get`` is
    kept: ``in`` then ``[]`` hashes the key twice, which a key with a Python-level
    ``__hash__`` pays for (a frozen dataclass key: ``get`` 27% slower on 3.11).
    """
    if not _GET_NESTS:
        return shard.get(key, default)
    if key in shard:
        try:
            return shard[key]
        except KeyError:  # removed in between: absent now
            pass
    return default


def _pair(item: Any) -> tuple[Any, Any]:
    pair = tuple(item)  # TypeError for a non-iterable, as dict.update
    if len(pair) != 2:
        raise AtomicsValueError(
            f"update: sequence element has length {len(pair)}; 2 is required (a key-value pair)"
        )
    return pair[0], pair[1]


def _rebuild(data: dict[Any, Any], stripes: int) -> ShardedDict[Any, Any]:
    return ShardedDict(data, stripes=stripes)


class _ValuesView(ValuesView[V]):
    def __iter__(self) -> Iterator[V]:
        for _, value in cast(Any, self)._mapping._iter_items():
            yield value


class _ItemsView(ItemsView[K, V]):
    def __iter__(self) -> Iterator[tuple[K, V]]:
        yield from cast(Any, self)._mapping._iter_items()
