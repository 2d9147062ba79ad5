"""Every lock of ShardedDict tested on its own: for each method that takes a stripe lock, a
two- or three-thread race that fails without it (``../shared/tools/lock-mutants`` removes
one method's locking at a time and runs this file; see docs/testing.md), each with a
negative control that searches until it catches a deliberately unlocked twin."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from _threads import run_together
from atomics import MISSING, ShardedDict, runtime
from atomics.testing.bulk import CONTROL_SECONDS, rounds

# The controls run on both legs, except where the GIL leg was measured not to catch them
# (3.11.7, each searched 10-15 s): the reason says so.
GIL = not runtime.free_threading_active()


class PutMap(ShardedDict[Any, Any]):
    """ShardedDict with a named ``put``."""

    __slots__ = ()

    def put(self, key: Any, value: Any) -> None:
        self[key] = value


def add(a: int, b: int) -> int:
    return a + b


# --- snapshot() is one instant under concurrent writers (kills the unlocked snapshot) --------
def _ordered_keys(d: ShardedDict[Any, Any]) -> tuple[int, int]:
    """Two int keys, the first in a lower stripe than the second."""
    first = next(k for k in range(1000) if d._index(k) == 0)
    second = next(k for k in range(1000) if d._index(k) == d.stripes - 1)
    return first, second


def torn_snapshots(d: ShardedDict[Any, Any], writes: int = 50_000) -> list[str]:
    """A writer sets ``d[a] = i`` then ``d[b] = i`` for i = 1, 2, ... (``a`` in a lower stripe
    than ``b``); at every instant ``d[a] >= d[b]``. A reader takes snapshots meanwhile: one
    that copies ``a``'s shard before the writer moves on and ``b``'s after shows ``a < b``."""
    a, b = _ordered_keys(d)
    d[a] = d[b] = 0
    finished = threading.Event()
    torn: list[str] = []

    def writer() -> None:
        try:
            for i in range(1, writes + 1):
                d[a] = i
                d[b] = i
        finally:
            finished.set()

    def reader() -> None:
        while not finished.is_set() and not torn:
            snap = d.snapshot()
            if snap[a] < snap[b]:
                torn.append(f"snapshot saw d[a]={snap[a]} < d[b]={snap[b]}")

    run_together(writer, reader)
    return torn


def test_snapshot_is_one_instant_under_a_writer() -> None:
    assert torn_snapshots(ShardedDict(stripes=64)) == []


class ShardByShardSnapshot(PutMap):
    """Negative control: a snapshot that copies each shard at its own instant."""

    __slots__ = ()

    def snapshot(self) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for shard in self._shards:
            result.update(shard.copy())
        return result


def test_control_the_snapshot_test_catches_a_shard_by_shard_snapshot() -> None:
    for _ in rounds(CONTROL_SECONDS):
        if torn_snapshots(ShardByShardSnapshot(stripes=64), 20_000):
            return
    pytest.fail(f"no torn snapshot in {CONTROL_SECONDS} s")


# --- every locked compound operation, raced against another (each lock tested on its own) ---
# Counts live in one key. "Adders" add 1 per call; "takers" remove the key and report the
# value they removed. Nothing may be lost or counted twice: taken + left == added. An
# operation without its lock lets another thread's write land between its read and its
# write (a lost or doubled count).
class _SlowEqual:
    """(In the controls.) An expected value equal to ``value`` whose ``__eq__`` gives up the
    CPU first: the compare in ``compare_and_set``/``replace`` (user code for a non-plain
    type) widens the window between the operation's read and its write. With the GIL a
    thread switch inside that window was otherwise rare: the unlocked ``replace`` went
    uncaught for 15 s in one of four searches on 3.11.7 (``os.sched_yield()`` releases the
    GIL)."""

    __slots__ = ("value",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        os.sched_yield()
        return other == self.value


def _expected(seen: Any) -> Any:
    """What compare_and_set/replace compare with: ``seen``, or in the controls a
    :class:`_SlowEqual` of it."""
    return _SlowEqual(seen) if _YIELDING[0] else seen


def _cas_add(d: ShardedDict[Any, Any], key: Any) -> int:
    while True:
        seen = d.get(key, MISSING)
        if seen is MISSING:
            if d.compare_and_set(key, MISSING, 1):
                return 1
        elif d.compare_and_set(key, _expected(seen), seen + 1):
            return 1


def _replace_add(d: ShardedDict[Any, Any], key: Any) -> int:
    seen = d.get(key, MISSING)
    return 1 if seen is not MISSING and d.replace(key, _expected(seen), seen + 1) else 0


# Set by the conservation controls only: the unlocked twins' race windows give up the CPU
# (see _work and _SlowEqual). The locked tests run without it: under scripts/flake-check's
# CPU hog, with the GIL, each yield waited for a time slice, and a 20,000-operation test
# took 60 s.
_YIELDING = [False]


def _work(value: Any) -> Any:
    """``value``, after a little work: user functions that take a moment widen the window
    between an operation's read and its write, where an unlocked write of another thread
    lands (measured: without it, two of these mutants survived a run on a loaded machine).
    In the controls it also gives up the CPU (``os.sched_yield()`` releases the GIL): with
    the GIL, a thread switch inside the window was otherwise rare, and the unlocked
    ``compute_if_absent`` and ``get_or_create`` went uncaught for 15 s in one of four
    searches on 3.11.7."""
    for _ in range(20):
        pass
    if _YIELDING[0]:
        os.sched_yield()
    return value


def _absent_add(d: ShardedDict[Any, Any], key: Any) -> int:
    ran = []
    d.compute_if_absent(key, lambda _: _work(ran.append(1) or 1))
    return len(ran)


def _factory_add(d: ShardedDict[Any, Any], key: Any) -> int:
    ran = []
    d.get_or_create(key, lambda: _work(ran.append(1) or 1))
    return len(ran)


ADDERS: dict[str, Callable[[ShardedDict[Any, Any], Any], int]] = {
    "increment": lambda d, k: (d.increment(k), 1)[1],
    "compute": lambda d, k: (d.compute(k, lambda v: _work(1 if v is MISSING else v + 1)), 1)[1],
    "compute_if_present": lambda d, k: int(
        d.compute_if_present(k, lambda v: _work(v + 1)) is not MISSING
    ),
    "compute_if_absent": _absent_add,
    "get_or_create": _factory_add,
    "merge": lambda d, k: (d.merge(k, 1, lambda a, b: _work(a + b)), 1)[1],
    "compare_and_set": _cas_add,
    "replace": _replace_add,
}


def _popitem_take(d: ShardedDict[Any, Any], key: Any) -> int:
    try:
        return int(d.popitem()[1])
    except KeyError:
        return 0


TAKERS: dict[str, Callable[[ShardedDict[Any, Any], Any], int]] = {
    "pop": lambda d, k: int(d.pop(k, 0)),
    "pop_if": lambda d, k: _missing_as_zero(d.pop_if(k, lambda v: _work(True))),
    "popitem": _popitem_take,
}


def _missing_as_zero(value: Any) -> int:
    return 0 if value is MISSING else int(value)


def counts_conserved(
    d: ShardedDict[Any, Any], adder: str, helper: str, taker: str, ops: int = 20_000
) -> int:
    """Thread 1 adds with ``adder``, thread 2 with ``helper`` (another adder), thread 3
    takes with ``taker``; returns taken + left - added (0 when nothing is lost or doubled)."""
    key = "hot"
    d[key] = 1  # present at the start (compute_if_present needs it), counted as added
    added = [1, 0, 0]
    taken = [0]
    adders_done = threading.Event()
    barrier = threading.Barrier(3, timeout=30)

    def add_with(name: str, slot: int) -> None:
        barrier.wait()
        op = ADDERS[name]
        total = 0
        for _ in range(ops):
            total += op(d, key)
        added[slot] = total

    def take() -> None:
        barrier.wait()
        op = TAKERS[taker]
        total = 0
        while not adders_done.is_set():
            total += op(d, key)
        taken[0] = total

    adders = [
        threading.Thread(target=add_with, args=(adder, 1)),
        threading.Thread(target=add_with, args=(helper, 2)),
    ]
    taker_thread = threading.Thread(target=take)
    for thread in [*adders, taker_thread]:
        thread.start()
    for thread in adders:
        thread.join(60)
    adders_done.set()
    taker_thread.join(60)
    assert not any(t.is_alive() for t in [*adders, taker_thread]), "hung"
    return taken[0] + int(d.get(key, 0)) - sum(added)


# Each locked operation once as the adder (against locked increments) or the taker.
CONSERVATION = [(name, "increment", "pop") for name in ADDERS] + [
    ("compute", "increment", name) for name in TAKERS
]


@pytest.mark.parametrize(("adder", "helper", "taker"), CONSERVATION)
def test_counts_are_conserved(adder: str, helper: str, taker: str) -> None:
    assert counts_conserved(ShardedDict(stripes=4), adder, helper, taker) == 0


class UnlockedMap(PutMap):
    """Negative control: every stripe lock replaced by one that excludes nothing."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._locks = tuple(_NoLock() for _ in self._locks)  # type: ignore[misc]


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


@pytest.mark.parametrize(("adder", "helper", "taker"), CONSERVATION)
def test_control_conservation_catches_unlocked_operations(
    adder: str, helper: str, taker: str
) -> None:
    if GIL and adder == "increment":
        pytest.skip(
            "with the GIL, an unlocked increment's read and store are not interrupted by pops "
            "(measured on 3.11.7: not caught in 10 s, 419 rounds; every other case was, "
            "within 4.6 s)"
        )
    _YIELDING[0] = True
    try:
        for _ in rounds(CONTROL_SECONDS):
            if counts_conserved(UnlockedMap(stripes=4), adder, helper, taker, ops=3_000):
                return
    finally:
        _YIELDING[0] = False
    pytest.fail(f"no lost or doubled count in {CONTROL_SECONDS} s")


# --- clear() is one instant (kills the unlocked clear) ----------------------------------------
def torn_clears(d: ShardedDict[Any, Any], writes: int = 3_000) -> list[str]:
    """A writer sets ``d[low] = i`` then ``d[high] = i`` (``low`` in stripe 0, ``high`` in the
    last stripe), then takes a snapshot; another thread clears meanwhile. An atomic clear
    comes before both writes, between them or after both: the snapshot then shows both keys,
    ``high`` alone or neither -- never ``low`` alone. A clear that empties the shards one
    after another (stripe 0 first) can miss ``low`` and then remove ``high``."""
    low, high = _ordered_keys(d)
    finished = threading.Event()
    torn: list[str] = []

    def writer() -> None:
        try:
            for i in range(writes):
                d[low] = i
                d[high] = i
                snap = d.snapshot()
                if low in snap and high not in snap:
                    torn.append(f"after a clear: {snap}")
                    break
        finally:
            finished.set()

    def clearer() -> None:
        while not finished.is_set():
            d.clear()

    run_together(writer, clearer)
    return torn


def test_clear_is_one_instant_under_a_writer() -> None:
    assert torn_clears(ShardedDict(stripes=256)) == []


class ShardByShardClear(PutMap):
    """Negative control: a clear that empties each shard at its own instant."""

    __slots__ = ()

    def clear(self) -> None:
        for shard in self._shards:
            shard.clear()


@pytest.mark.no_lockcheck(
    "a race search: under the checker every stripe lock taken by the writer's snapshot runs "
    "Python code, and the race was not caught in 60 s (measured on 3.13.15t)"
)
def test_control_the_clear_test_catches_a_shard_by_shard_clear() -> None:
    for _ in rounds(CONTROL_SECONDS):
        if torn_clears(ShardByShardClear(stripes=256), 500):
            return
    pytest.fail(f"no torn clear in {CONTROL_SECONDS} s")


# --- del d[k] and d[k] = v against computes (kill the unlocked __delitem__/__setitem__) ------
# One interleaving each, forced by events: the compute function waits, up to 0.1 s, for
# another thread's write to the same key to return. Locked, the write waits for the compute
# and lands after it; unlocked, it lands inside the compute's read-modify-write and the
# compute's write undoes it. (These were random searches of 5,000-50,000 rounds; the store
# control missed its 60 s budget on the GIL leg of CI once, with no extra load: with the GIL
# a thread switch between a compute's read and write is rare.)
def _write_inside_compute(
    d: ShardedDict[Any, Any],
    write: Callable[[], None],
    result: Callable[[Any], Any] = lambda value: value,
) -> None:
    """Run ``d.compute("hot", fn)``, ``fn`` returning ``result(value)`` (the identity by
    default), with ``write()`` called from a second thread while ``fn`` runs (waiting up to
    0.1 s for it to return)."""
    inside, returned = threading.Event(), threading.Event()

    def fn(value: Any) -> Any:
        inside.set()
        returned.wait(0.1)  # a bounded wait for the write (see above)
        return result(value)

    def computer() -> None:
        d.compute("hot", fn)

    def writer() -> None:
        assert inside.wait(10), "the compute function never ran"
        write()
        returned.set()

    run_together(computer, writer)


def delete_undone(d: ShardedDict[Any, Any]) -> bool:
    """Whether a ``del d["hot"]`` that returned inside a compute was undone (the key present
    again afterwards)."""
    d["hot"] = 0

    def delete() -> None:
        del d["hot"]

    _write_inside_compute(d, delete)
    return "hot" in d


def store_undone(d: ShardedDict[Any, Any]) -> bool:
    """Whether a ``d["hot"] = "mine"`` that returned inside a compute was undone (another
    value there afterwards)."""
    d["hot"] = 0

    def store() -> None:
        d["hot"] = "mine"

    _write_inside_compute(d, store)
    return bool(d["hot"] != "mine")


@pytest.mark.parametrize("stripes", [1, 4])
def test_deletes_are_never_undone(stripes: int) -> None:
    assert not delete_undone(ShardedDict(stripes=stripes))


@pytest.mark.parametrize("stripes", [1, 4])
def test_stores_are_never_undone(stripes: int) -> None:
    assert not store_undone(ShardedDict(stripes=stripes))


class UnlockedDelete(PutMap):
    """Negative control: ``del d[k]`` without the stripe lock (one atomic dict operation,
    but it can land inside another operation's read-modify-write)."""

    __slots__ = ()

    def __delitem__(self, key: Any) -> None:
        del self._shards[self._index(key)][key]


class UnlockedStore(PutMap):
    """Negative control: ``d[k] = v`` without the stripe lock."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        self._shards[self._index(key)][key] = value


def test_control_the_delete_test_catches_an_unlocked_delete() -> None:
    """Deterministic on both legs (the events force the interleaving)."""
    assert delete_undone(UnlockedDelete(stripes=4))


def test_control_the_store_test_catches_an_unlocked_store() -> None:
    """Deterministic on both legs (the events force the interleaving)."""
    assert store_undone(UnlockedStore(stripes=4))


# --- setdefault against computes (kills the unlocked setdefault) ------------------------------
def setdefault_undone(d: ShardedDict[Any, Any]) -> bool:
    """A compute on an absent key (absent -> ``-1``) whose function waits, up to 0.1 s, for
    another thread's ``setdefault(key, "mine")`` to return. Locked, the setdefault waits for
    the compute and returns ``-1``; unlocked, it stores ``"mine"``, returns it, and the
    compute then overwrites it with ``-1``: a setdefault undone. Returns whether it was.

    One interleaving, forced by events. (This was a random search of 30,000 rounds; its
    control missed the 60 s budget once under scripts/flake-check's CPU hog, and on the
    GIL leg it could not be caught at all.)"""
    seen: dict[str, Any] = {}

    def setdefault() -> None:
        seen["returned"] = d.setdefault("hot", "mine")

    _write_inside_compute(d, setdefault, lambda value: -1 if value is MISSING else value)
    return seen["returned"] == "mine" and d.get("hot") != "mine"


def test_setdefaults_are_never_undone() -> None:
    assert not setdefault_undone(ShardedDict(stripes=4))
    assert not setdefault_undone(ShardedDict(stripes=1))


class UnlockedSetdefault(PutMap):
    """Negative control: setdefault without the stripe lock (one atomic dict operation,
    but it can land inside a compute's read-modify-write)."""

    __slots__ = ()

    def setdefault(self, key: Any, default: Any = None, /) -> Any:
        return self._shards[self._index(key)].setdefault(key, default)


def test_control_the_setdefault_test_catches_an_unlocked_setdefault() -> None:
    """Deterministic on both legs (the events force the interleaving)."""
    assert setdefault_undone(UnlockedSetdefault(stripes=4))


# --- deterministic: no write lands while a user function runs under the stripe lock ---------
# The user function waits (up to HOLD seconds) for another thread's write to the same key.
# With the lock held, that write waits for the operation to finish, and the wait times out;
# without it, the write lands inside the operation, which then overwrites (or misses) it.
# One interleaving, forced by events: no luck of scheduling involved.
HOLD = 0.1


def _holding(inside: threading.Event, wrote: threading.Event, result: Any) -> Callable[..., Any]:
    def user_function(*args: Any) -> Any:
        inside.set()
        wrote.wait(HOLD)  # a bounded wait for the other thread's write (see above)
        return result

    return user_function


# operation under test -> a call of it whose user function is the holding one
HOLDERS: dict[str, Callable[[ShardedDict[Any, Any], Callable[..., Any]], Any]] = {
    "compute": lambda d, fn: d.compute("k", fn),
    "compute_if_present": lambda d, fn: d.compute_if_present("k", fn),
    "compute_if_absent": lambda d, fn: d.compute_if_absent("k", fn),
    "get_or_create": lambda d, fn: d.get_or_create("k", fn),
    "merge": lambda d, fn: d.merge("k", 1, fn),
    "pop_if": lambda d, fn: d.pop_if("k", fn),
}
# write under test -> a call of it
WRITERS: dict[str, Callable[[ShardedDict[Any, Any]], Any]] = {
    "__setitem__": lambda d: d.__setitem__("k", "writer"),
    "__delitem__": lambda d: d.__delitem__("k"),
    "pop": lambda d: d.pop("k", None),
    "setdefault": lambda d: d.setdefault("k", "writer"),
    "increment": lambda d: d.increment("k", "!", ""),  # str + str: any value works
    "compare_and_set": lambda d: d.compare_and_set("k", "before", "writer"),
    "popitem": lambda d: d.popitem() if d else None,
    "clear": lambda d: d.clear(),
}


def write_during_user_function(holder: str, writer: str, d: ShardedDict[Any, Any]) -> list[str]:
    """Run ``holder`` with a holding user function and ``writer`` from another thread once
    the function runs; return what shows the write landed inside the operation."""
    present = holder not in ("compute_if_absent", "get_or_create")
    if present:
        d["k"] = "before"
    inside, wrote = threading.Event(), threading.Event()
    result = True if holder == "pop_if" else "held"  # pop_if's predicate: remove
    outcome: dict[str, Any] = {}

    def hold() -> None:
        outcome["holder"] = HOLDERS[holder](d, _holding(inside, wrote, result))

    def write() -> None:
        assert inside.wait(10), "the user function never ran"
        outcome["writer"] = WRITERS[writer](d)
        outcome["after"] = d.get("k", MISSING)
        wrote.set()

    run_together(hold, write)
    final = d.get("k", MISSING)
    # Atomic: the write came after the operation, so the key is as the write left it.
    return [] if final == outcome["after"] else [f"{holder} undid {writer}: {final!r}"]


HOLD_CASES = [("compute", w) for w in WRITERS] + [(h, "__setitem__") for h in HOLDERS]


@pytest.mark.parametrize(("holder", "writer"), HOLD_CASES)
def test_no_write_lands_inside_a_user_function(holder: str, writer: str) -> None:
    assert write_during_user_function(holder, writer, ShardedDict(stripes=4)) == []


@pytest.mark.parametrize(("holder", "writer"), HOLD_CASES)
def test_control_an_unlocked_map_lets_the_write_in(holder: str, writer: str) -> None:
    """Negative control, deterministic on both legs (the events force the interleaving)."""
    problems = write_during_user_function(holder, writer, UnlockedMap(stripes=4))
    assert problems, "the unlocked map was not caught"


# --- _remove_if_is (package-internal: the knowledge base's id index) never undoes a store ------
class PausingShard(dict):  # type: ignore[type-arg]
    """A shard whose next ``shard[key]`` (once armed) reads, then waits, up to HOLD seconds,
    for another thread's store to return, then answers what it read: a check whose act comes
    after the other thread's store. (The map reads with ``in`` and ``[]``, never
    ``dict.get``: see ``sharded_dict._read``.)"""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.inside, self.stored = threading.Event(), threading.Event()

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        if self.armed:
            self.armed = False
            self.inside.set()
            self.stored.wait(HOLD)  # a bounded wait for the other thread's store
        return value


def store_undone_by_remove_if_is(d: ShardedDict[Any, Any]) -> bool:
    """``_remove_if_is("k", old)`` pauses after taking its stripe lock, inside its check;
    another thread stores ``d["k"] = "new"`` then. Locked, the store waits and lands after
    the removal; unlocked, it lands inside, and the removal deletes the new value. Returns
    whether the store was undone. One interleaving, forced by events."""
    shard = PausingShard()
    d._shards = (shard,)  # type: ignore[misc]  (a one-stripe map)
    old = object()
    d["k"] = old
    shard.armed = True

    def remove() -> None:
        d._remove_if_is("k", old)

    def store() -> None:
        assert shard.inside.wait(10), "the removal never ran"
        d["k"] = "new"
        shard.stored.set()

    run_together(remove, store)
    return d.get("k") != "new"


def test_remove_if_is_never_undoes_a_store() -> None:
    assert not store_undone_by_remove_if_is(ShardedDict(stripes=1))


class UnlockedRemoveIfIs(ShardedDict[Any, Any]):
    """Negative control: the check and the delete without the stripe lock."""

    __slots__ = ()

    def _remove_if_is(self, key: Any, value: object) -> bool:
        shard = self._shards[self._index(key)]
        if key in shard and shard[key] is value:
            del shard[key]
            return True
        return False


def test_control_the_remove_test_catches_an_unlocked_remove_if_is() -> None:
    assert store_undone_by_remove_if_is(UnlockedRemoveIfIs(stripes=1))
