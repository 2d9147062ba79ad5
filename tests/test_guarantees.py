"""docs/guarantees.md held to the code: every public method, called from inside a user
function that runs under one of the package's locks, does what its row says within 1 s.

The list of public methods is built by introspection, so a new method without a row in
the table fails :func:`test_every_public_method_has_a_row`. Each method is called from
inside ``compute`` and inside a ``locked()`` block (on the map whose lock is held when the
target is a ShardedDict, through the map itself and through a handle) and inside a world
update of a KnowledgeBase (the target's own, when it is one).

The two-thread cases -- two threads inside ``compute`` on one map both iterating it, and
two maps written from each other's ``compute`` -- each have a negative control: the
code as it was (iteration taking stripe locks, a guard that only knew its own map) hangs,
and the same test reports it.
"""

from __future__ import annotations

import copy
import pathlib
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import _redis
from atomics import (
    AtomicBoolean,
    AtomicInteger,
    AtomicReference,
    BoundedQueue,
    CounterHandle,
    KnowledgeBase,
    ShardedDict,
    StripedCounter,
    Subscription,
    _guard,
)
from atomics.errors import AtomicsError, ReentrantCallError, WrongThreadError
from atomics.knowledge_base import World
from atomics.sharded_dict import LockedEntry

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "guarantees.md"
CLASSES: tuple[type, ...] = (
    AtomicInteger,
    AtomicBoolean,
    AtomicReference,
    StripedCounter,
    CounterHandle,
    ShardedDict,
    LockedEntry,
    BoundedQueue,
    KnowledgeBase,
    World,
    Subscription,
)
NOT_API = {
    "__init__", "__new__", "__init_subclass__", "__class_getitem__", "__subclasshook__",
    "__getattribute__", "__setattr__", "__delattr__", "__dir__", "__format__", "__sizeof__",
    "__reduce_ex__", "__getstate__", "__ne__", "__hash__", "__str__", "__weakref__",
    "__slots__", "__module__", "__doc__", "__dict__", "__annotations__", "__parameters__",
    "__orig_bases__", "__abstractmethods__", "__protocol_attrs__", "__reversed__",
    "__match_args__", "__firstlineno__", "__static_attributes__",
}  # fmt: skip
LIMIT = 1.0  # seconds: "completes" and "raises at once" both mean well within this


def public_methods(cls: type) -> list[str]:
    """Public names: not underscored, plus the dunders the package (or the collections.abc
    mixins it inherits) defines -- the protocol methods users call through syntax."""
    names = []
    for name in sorted(dir(cls)):
        if name in NOT_API:
            continue
        if name.startswith("__") and name.endswith("__"):
            owner = next(c for c in cls.__mro__ if name in c.__dict__)
            if not owner.__module__.startswith(("atomics", "collections.abc", "_collections")):
                continue
        elif name.startswith("_"):
            continue
        names.append(f"{cls.__name__}.{name}")
    return names


def table() -> dict[str, str]:
    text = DOC.read_text()
    block = text.split("<!-- guarantees-table -->", 1)[1].split("<!-- /guarantees-table -->")[0]
    rows = {}
    for match in re.finditer(r"^\| `([^`]+)` \| (completes|raises) \|", block, re.M):
        assert match.group(1) not in rows, f"two rows for {match.group(1)}"
        rows[match.group(1)] = match.group(2)
    return rows


def test_every_public_method_has_a_row() -> None:
    rows = table()
    methods = {name for cls in CLASSES for name in public_methods(cls)}
    assert methods - rows.keys() == set(), "public methods without a row in docs/guarantees.md"
    extra = rows.keys() - methods - {"BoundedQueue.maxsize = n"}
    assert extra == set(), "rows for methods that do not exist"
    assert set(RECIPES) == set(rows), "every row needs a recipe in this test"


# --- targets and recipes --------------------------------------------------------------------
class Targets:
    """Fresh objects for one call; ``via_handle`` swaps in handles where a class has them."""

    def __init__(self, tmp: pathlib.Path, via_handle: bool) -> None:
        self.map: ShardedDict[Any, Any] = ShardedDict({"a": 1, "b": 2, "c": 3}, stripes=4)
        self.kb = KnowledgeBase()
        self.kb.add_insight("agent", "x", topic="t")
        self.kb.world.put("w", 1, agent_id="agent")
        self.sub = self.kb.subscribe(topics=["t"])
        self.kb.add_insight("agent", "y", topic="t")  # one event queued for sub
        self.queue: BoundedQueue[int] = BoundedQueue(4)
        self.queue.put_many([1, 2])
        self.counter = StripedCounter(5)
        self.integer = AtomicInteger(6)
        self.boolean = AtomicBoolean(False)
        self.reference: AtomicReference[Any] = AtomicReference("r")
        self.tmp = tmp
        self.via_handle = via_handle
        self.entry: LockedEntry[Any, Any] | None = None
        self.pending = self.map.locked("b")  # made outside user code, entered inside

    def d(self) -> ShardedDict[Any, Any]:
        return self.map.handle() if self.via_handle else self.map


def _state(t: Targets) -> Any:
    """Everything a write could change (read outside user code)."""
    return (
        t.map.snapshot(),
        t.kb.snapshot(),
        t.kb.closed,
        t.sub._queue.qsize(),
        t.queue.qsize(),
        t.queue.unfinished_tasks,
        t.queue.is_shutdown,
        t.queue.maxsize,
        t.counter.sum(),
        t.integer.get(),
        t.boolean.get(),
        t.reference.get(),
    )


def _set_maxsize(t: Targets) -> None:
    t.queue.maxsize = 8


def _iadd(t: Targets, op: str) -> None:
    n = t.integer
    exec(f"n {op} 2", {"n": n})


def _handle_write(t: Targets, what: str) -> None:
    handle = t.counter.handle()  # completes: a new cell, no count changes
    getattr(handle, what)(*([1] if what == "add" else []))


def _with_entry(t: Targets, fn: Callable[[LockedEntry[Any, Any]], Any]) -> Any:
    assert t.entry is not None, "a LockedEntry exists only inside its locked() block"
    return fn(t.entry)


def _refused(fn: Callable[[Any], Any], obj: Any) -> None:
    """Copying/pickling that the class refuses (TypeError) completes: it raises that."""
    with pytest.raises(TypeError):
        fn(obj)


def _exit(obj: Any) -> None:
    obj.__exit__(None, None, None)


R = Callable[[Targets], Any]
RECIPES: dict[str, R] = {
    # AtomicInteger
    "AtomicInteger.__bool__": lambda t: bool(t.integer),
    "AtomicInteger.__copy__": lambda t: copy.copy(t.integer),
    "AtomicInteger.__deepcopy__": lambda t: copy.deepcopy(t.integer),
    "AtomicInteger.__eq__": lambda t: t.integer == 6,
    "AtomicInteger.__ge__": lambda t: t.integer >= 6,
    "AtomicInteger.__gt__": lambda t: t.integer > 6,
    "AtomicInteger.__le__": lambda t: t.integer <= 6,
    "AtomicInteger.__lt__": lambda t: t.integer < 6,
    "AtomicInteger.__index__": lambda t: [0] * 8 * 0 + list(range(t.integer)),
    "AtomicInteger.__int__": lambda t: int(t.integer),
    "AtomicInteger.__reduce__": lambda t: pickle.loads(pickle.dumps(t.integer)),
    "AtomicInteger.__repr__": lambda t: repr(t.integer),
    "AtomicInteger.__iadd__": lambda t: _iadd(t, "+="),
    "AtomicInteger.__isub__": lambda t: _iadd(t, "-="),
    "AtomicInteger.__imul__": lambda t: _iadd(t, "*="),
    "AtomicInteger.__ifloordiv__": lambda t: _iadd(t, "//="),
    "AtomicInteger.__imod__": lambda t: _iadd(t, "%="),
    "AtomicInteger.__ipow__": lambda t: _iadd(t, "**="),
    "AtomicInteger.__ilshift__": lambda t: _iadd(t, "<<="),
    "AtomicInteger.__irshift__": lambda t: _iadd(t, ">>="),
    "AtomicInteger.__iand__": lambda t: _iadd(t, "&="),
    "AtomicInteger.__ior__": lambda t: _iadd(t, "|="),
    "AtomicInteger.__ixor__": lambda t: _iadd(t, "^="),
    "AtomicInteger.get": lambda t: t.integer.get(),
    "AtomicInteger.statistics": lambda t: t.integer.statistics(),
    "AtomicInteger.set": lambda t: t.integer.set(1),
    "AtomicInteger.get_and_set": lambda t: t.integer.get_and_set(1),
    "AtomicInteger.compare_and_set": lambda t: t.integer.compare_and_set(6, 1),
    "AtomicInteger.compare_and_exchange": lambda t: t.integer.compare_and_exchange(6, 1),
    "AtomicInteger.add_and_get": lambda t: t.integer.add_and_get(1),
    "AtomicInteger.get_and_add": lambda t: t.integer.get_and_add(1),
    "AtomicInteger.increment_and_get": lambda t: t.integer.increment_and_get(),
    "AtomicInteger.get_and_increment": lambda t: t.integer.get_and_increment(),
    "AtomicInteger.decrement_and_get": lambda t: t.integer.decrement_and_get(),
    "AtomicInteger.get_and_decrement": lambda t: t.integer.get_and_decrement(),
    "AtomicInteger.update_and_get": lambda t: t.integer.update_and_get(lambda v: v + 1),
    "AtomicInteger.get_and_update": lambda t: t.integer.get_and_update(lambda v: v + 1),
    "AtomicInteger.accumulate_and_get": lambda t: t.integer.accumulate_and_get(9, max),
    "AtomicInteger.get_and_accumulate": lambda t: t.integer.get_and_accumulate(9, max),
    # AtomicBoolean
    "AtomicBoolean.__bool__": lambda t: bool(t.boolean),
    "AtomicBoolean.__copy__": lambda t: copy.copy(t.boolean),
    "AtomicBoolean.__deepcopy__": lambda t: copy.deepcopy(t.boolean),
    "AtomicBoolean.__eq__": lambda t: t.boolean == AtomicBoolean(),
    "AtomicBoolean.__reduce__": lambda t: pickle.loads(pickle.dumps(t.boolean)),
    "AtomicBoolean.__repr__": lambda t: repr(t.boolean),
    "AtomicBoolean.get": lambda t: t.boolean.get(),
    "AtomicBoolean.statistics": lambda t: t.boolean.statistics(),
    "AtomicBoolean.set": lambda t: t.boolean.set(True),
    "AtomicBoolean.get_and_set": lambda t: t.boolean.get_and_set(True),
    "AtomicBoolean.compare_and_set": lambda t: t.boolean.compare_and_set(False, True),
    "AtomicBoolean.toggle": lambda t: t.boolean.toggle(),
    # AtomicReference
    "AtomicReference.__copy__": lambda t: copy.copy(t.reference),
    "AtomicReference.__deepcopy__": lambda t: copy.deepcopy(t.reference),
    "AtomicReference.__reduce__": lambda t: pickle.loads(pickle.dumps(t.reference)),
    "AtomicReference.__repr__": lambda t: repr(t.reference),
    "AtomicReference.get": lambda t: t.reference.get(),
    "AtomicReference.statistics": lambda t: t.reference.statistics(),
    "AtomicReference.set": lambda t: t.reference.set("s"),
    "AtomicReference.get_and_set": lambda t: t.reference.get_and_set("s"),
    "AtomicReference.compare_and_set": lambda t: t.reference.compare_and_set("r", "s"),
    "AtomicReference.compare_and_exchange": lambda t: t.reference.compare_and_exchange("r", "s"),
    "AtomicReference.update_and_get": lambda t: t.reference.update_and_get(str.upper),
    "AtomicReference.get_and_update": lambda t: t.reference.get_and_update(str.upper),
    # StripedCounter and its handles
    "StripedCounter.__copy__": lambda t: copy.copy(t.counter),
    "StripedCounter.__deepcopy__": lambda t: copy.deepcopy(t.counter),
    "StripedCounter.__int__": lambda t: int(t.counter),
    "StripedCounter.__reduce__": lambda t: pickle.loads(pickle.dumps(t.counter)),
    "StripedCounter.__repr__": lambda t: repr(t.counter),
    "StripedCounter.add": lambda t: t.counter.add(1),
    "StripedCounter.increment": lambda t: t.counter.increment(),
    "StripedCounter.decrement": lambda t: t.counter.decrement(),
    "StripedCounter.handle": lambda t: t.counter.handle(),
    "StripedCounter.reset": lambda t: t.counter.reset(),
    "StripedCounter.statistics": lambda t: t.counter.statistics(),
    "StripedCounter.sum": lambda t: t.counter.sum(),
    "StripedCounter.sum_then_reset": lambda t: t.counter.sum_then_reset(),
    "CounterHandle.__copy__": lambda t: _refused(copy.copy, t.counter.handle()),
    "CounterHandle.__deepcopy__": lambda t: _refused(copy.deepcopy, t.counter.handle()),
    "CounterHandle.__reduce__": lambda t: _refused(pickle.dumps, t.counter.handle()),
    "CounterHandle.add": lambda t: _handle_write(t, "add"),
    "CounterHandle.increment": lambda t: _handle_write(t, "increment"),
    "CounterHandle.decrement": lambda t: _handle_write(t, "decrement"),
    # ShardedDict (on the map whose lock is held, or a handle of it)
    "ShardedDict.__contains__": lambda t: "a" in t.d(),
    "ShardedDict.__copy__": lambda t: copy.copy(t.d()),
    "ShardedDict.__delitem__": lambda t: t.d().__delitem__("b"),
    "ShardedDict.__eq__": lambda t: t.d() == t.map,
    "ShardedDict.__getitem__": lambda t: t.d()["b"],
    "ShardedDict.__ior__": lambda t: t.d().__ior__({"z": 1}),
    "ShardedDict.__iter__": lambda t: list(t.d()),
    "ShardedDict.__len__": lambda t: len(t.d()),
    "ShardedDict.__or__": lambda t: t.d() | {"z": 1},
    "ShardedDict.__ror__": lambda t: {"z": 1} | t.d(),
    "ShardedDict.__reduce__": lambda t: pickle.loads(pickle.dumps(t.d())),
    "ShardedDict.__repr__": lambda t: repr(t.d()),
    "ShardedDict.__setitem__": lambda t: t.d().__setitem__("b", 9),
    "ShardedDict.clear": lambda t: t.d().clear(),
    "ShardedDict.compare_and_set": lambda t: t.d().compare_and_set("b", 2, 9),
    "ShardedDict.compute": lambda t: t.d().compute("b", lambda v: 9),
    "ShardedDict.compute_if_absent": lambda t: t.d().compute_if_absent("z", len),
    "ShardedDict.compute_if_present": lambda t: t.d().compute_if_present("b", lambda v: 9),
    "ShardedDict.copy": lambda t: t.d().copy(),
    "ShardedDict.fromkeys": lambda t: ShardedDict.fromkeys("xyz", 0),
    "ShardedDict.get": lambda t: t.d().get("b"),
    "ShardedDict.get_or_create": lambda t: t.d().get_or_create("z", list),
    "ShardedDict.handle": lambda t: t.d().handle(),
    "ShardedDict.increment": lambda t: t.d().increment("b"),
    "ShardedDict.increment_many": lambda t: t.d().increment_many(["b", "b"]),
    "ShardedDict.items": lambda t: [*t.d().items(), dict(t.d().items())],
    "ShardedDict.keys": lambda t: list(t.d().keys()),
    "ShardedDict.locked": lambda t: t.d().locked("b").__enter__(),
    "ShardedDict.merge": lambda t: t.d().merge("b", 1, max),
    "ShardedDict.pop": lambda t: t.d().pop("b"),
    "ShardedDict.pop_if": lambda t: t.d().pop_if("b", bool),
    "ShardedDict.popitem": lambda t: t.d().popitem(),
    "ShardedDict.replace": lambda t: t.d().replace("b", 2, 9),
    "ShardedDict.setdefault": lambda t: t.d().setdefault("z", 0),
    "ShardedDict.snapshot": lambda t: t.d().snapshot(),
    "ShardedDict.statistics": lambda t: t.d().statistics(),
    "ShardedDict.stripes": lambda t: t.d().stripes,
    "ShardedDict.update": lambda t: t.d().update(z=1),
    "ShardedDict.values": lambda t: list(t.d().values()),
    # LockedEntry (only inside its own locked() block)
    "LockedEntry.__enter__": lambda t: t.pending.__enter__(),
    "LockedEntry.__exit__": lambda t: _with_entry(t, lambda e: e.__exit__(None, None, None)),
    "LockedEntry.key": lambda t: _with_entry(t, lambda e: e.key),
    "LockedEntry.present": lambda t: _with_entry(t, lambda e: e.present),
    "LockedEntry.get": lambda t: _with_entry(t, lambda e: e.get()),
    "LockedEntry.set": lambda t: _with_entry(t, lambda e: e.set(7)),
    "LockedEntry.delete": lambda t: _with_entry(t, lambda e: e.delete()),
    # BoundedQueue
    "BoundedQueue.__iter__": lambda t: next(iter(t.queue)),
    "BoundedQueue.__reduce__": lambda t: _refused(pickle.dumps, t.queue),
    "BoundedQueue.__repr__": lambda t: repr(t.queue),
    "BoundedQueue.drain": lambda t: t.queue.drain(),
    "BoundedQueue.empty": lambda t: t.queue.empty(),
    "BoundedQueue.full": lambda t: t.queue.full(),
    "BoundedQueue.get": lambda t: t.queue.get(),
    "BoundedQueue.get_many": lambda t: t.queue.get_many(2),
    "BoundedQueue.get_nowait": lambda t: t.queue.get_nowait(),
    "BoundedQueue.is_shutdown": lambda t: t.queue.is_shutdown,
    "BoundedQueue.join": lambda t: t.queue.join(),
    "BoundedQueue.maxsize": lambda t: t.queue.maxsize,
    "BoundedQueue.maxsize = n": _set_maxsize,
    "BoundedQueue.put": lambda t: t.queue.put(3),
    "BoundedQueue.put_many": lambda t: t.queue.put_many([3]),
    "BoundedQueue.put_nowait": lambda t: t.queue.put_nowait(3),
    "BoundedQueue.qsize": lambda t: t.queue.qsize(),
    "BoundedQueue.statistics": lambda t: t.queue.statistics(),
    "BoundedQueue.shutdown": lambda t: t.queue.shutdown(),
    "BoundedQueue.task_done": lambda t: t.queue.task_done(),
    "BoundedQueue.unfinished_tasks": lambda t: t.queue.unfinished_tasks,
    # KnowledgeBase, World, Subscription
    "KnowledgeBase.__enter__": lambda t: t.kb.__enter__(),
    "KnowledgeBase.__exit__": lambda t: _exit(t.kb),
    "KnowledgeBase.add_insight": lambda t: t.kb.add_insight("agent", "z", topic="t"),
    "KnowledgeBase.add_insights": lambda t: t.kb.add_insights("agent", ["z"], topic="t"),
    "KnowledgeBase.close": lambda t: t.kb.close(),
    "KnowledgeBase.closed": lambda t: t.kb.closed,
    "KnowledgeBase.connect": lambda t: KnowledgeBase.connect(_redis.url(), namespace="guard"),
    "KnowledgeBase.cursor": lambda t: t.kb.cursor(),
    "KnowledgeBase.entry_count": lambda t: t.kb.entry_count,
    "KnowledgeBase.insights": lambda t: t.kb.insights("t"),
    "KnowledgeBase.latest": lambda t: t.kb.latest("t", 2),
    "KnowledgeBase.load": lambda t: (
        t.kb.save(t.tmp / "kb.json"),
        KnowledgeBase.load(t.tmp / "kb.json"),
    ),
    "KnowledgeBase.save": lambda t: t.kb.save(t.tmp / "kb.json"),
    "KnowledgeBase.snapshot": lambda t: t.kb.snapshot(),
    "KnowledgeBase.statistics": lambda t: t.kb.statistics(),
    "KnowledgeBase.subscribe": lambda t: t.kb.subscribe(topics=["t"]),
    "KnowledgeBase.topics": lambda t: t.kb.topics(),
    "KnowledgeBase.wait_for_insights": lambda t: t.kb.wait_for_insights({}, timeout=0),
    "World.delete": lambda t: t.kb.world.delete("w", agent_id="agent"),
    "World.get": lambda t: t.kb.world.get("w"),
    "World.merge": lambda t: t.kb.world.merge("m", 1, agent_id="agent"),
    "World.put": lambda t: t.kb.world.put("w", 2, agent_id="agent"),
    "World.register_reducer": lambda t: t.kb.world.register_reducer("m*", "sum"),
    "World.snapshot": lambda t: t.kb.world.snapshot(),
    "World.update": lambda t: t.kb.world.update("w", lambda v: 2, agent_id="agent"),
    "Subscription.__enter__": lambda t: t.sub.__enter__(),
    "Subscription.__exit__": lambda t: _exit(t.sub),
    "Subscription.__iter__": lambda t: next(iter(t.sub)),
    "Subscription.close": lambda t: t.sub.close(),
    "Subscription.dropped": lambda t: t.sub.dropped,
    "Subscription.get": lambda t: t.sub.get(timeout=0),
    "Subscription.get_many": lambda t: t.sub.get_many(4, timeout=0),
}


# --- running a recipe inside a user function -----------------------------------------------
class _Abort(Exception):
    """Raised by the context's own function after the recipe: the operation then changes
    nothing, so any change seen afterwards is the recipe's."""


def _compute(t: Targets, body: Callable[[], None]) -> None:
    def fn(value: Any) -> Any:
        body()
        raise _Abort

    with pytest.raises(_Abort):
        t.d().compute("a", fn)  # "a": the map's own stripe lock is held


def _locked(t: Targets, body: Callable[[], None]) -> None:
    with t.d().locked("a") as entry:
        t.entry = entry
        try:
            body()
        finally:
            t.entry = None


def _world_update(t: Targets, body: Callable[[], None]) -> None:
    def fn(value: Any) -> Any:
        body()
        raise _Abort

    with pytest.raises(_Abort):
        t.kb.world.update("w", fn, agent_id="agent")


CONTEXTS = {"compute": _compute, "locked": _locked, "world-update": _world_update}


def _run_inside(context: str, t: Targets, recipe: R) -> BaseException | None:
    """Run ``recipe`` inside a user function of ``context``, in a thread, within LIMIT.
    Returns the exception the recipe raised (None: it completed)."""
    outcome: list[BaseException | None] = []

    def body() -> None:
        try:
            recipe(t)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=CONTEXTS[context], args=(t, body), daemon=True)
    worker.start()
    worker.join(LIMIT)
    if worker.is_alive():
        pytest.fail(f"did not finish within {LIMIT} s inside {context}: it hangs")
    assert len(outcome) == 1, "the user function did not run"
    return outcome[0]


ROWS = table()


CASES = [
    pytest.param(row, via_handle, context, id=f"{row}-{context}{'-handle' if via_handle else ''}")
    for row in sorted(ROWS)
    for context in sorted(CONTEXTS)
    # Handles sharing the object's locks: ShardedDict's. A LockedEntry exists only inside
    # its own locked() block.
    for via_handle in ([False, True] if row.startswith("ShardedDict.") else [False])
    if not row.startswith("LockedEntry.") or context == "locked" or row == "LockedEntry.__enter__"
]


@pytest.mark.parametrize(("row", "via_handle", "context"), CASES)
def test_row_holds(row: str, via_handle: bool, context: str, tmp_path: pathlib.Path) -> None:
    t = Targets(tmp_path, via_handle)
    before = _state(t)
    error = _run_inside(context, t, RECIPES[row])
    if ROWS[row] == "completes":
        assert error is None, f"{row} inside {context}: expected to complete, raised {error!r}"
    else:
        assert isinstance(error, ReentrantCallError), f"{row} inside {context}: got {error!r}"
        assert isinstance(error, RuntimeError) and isinstance(error, AtomicsError)
        assert _state(t) == before, f"{row} raised but changed something"
    assert not _guard.in_user_code()  # the guard was left as found


# --- two threads ---------------------------------------------------------------------------
def _two_stripe_keys(d: ShardedDict[Any, Any]) -> tuple[int, int]:
    first = 0
    second = next(k for k in range(1, 1000) if d._index(k) != d._index(first))
    return first, second


def both_iterate_inside_compute(d: ShardedDict[Any, Any]) -> list[str]:
    """Two threads, each inside ``compute`` on its own stripe, both iterate the map (after
    a barrier: both hold their stripe lock). Returns what went wrong ([] if nothing)."""
    k1, k2 = _two_stripe_keys(d)
    d[k1], d[k2] = 1, 2
    barrier = threading.Barrier(2, timeout=LIMIT)
    seen: list[Any] = []

    def fn(value: Any) -> Any:
        barrier.wait()
        seen.append(sorted(d.items()))
        return value

    threads = [threading.Thread(target=d.compute, args=(k, fn), daemon=True) for k in (k1, k2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * LIMIT)
    if any(thread.is_alive() for thread in threads):
        return ["hung: both threads wait for each other's stripe lock"]
    return [] if seen == [[(k1, 1), (k2, 2)]] * 2 else [f"saw {seen}"]


def cross_writes_inside_compute(a: ShardedDict[Any, Any], b: ShardedDict[Any, Any]) -> list[str]:
    """Thread 1 inside ``a.compute`` writes ``b``; thread 2 inside ``b.compute`` writes
    ``a`` (after a barrier: each holds its stripe lock). Both must get ReentrantCallError."""
    barrier = threading.Barrier(2, timeout=LIMIT)
    errors: list[BaseException | None] = []

    def writer(own: ShardedDict[Any, Any], other: ShardedDict[Any, Any]) -> Callable[[Any], Any]:
        def fn(value: Any) -> Any:
            barrier.wait()
            try:
                other["k"] = 1
                errors.append(None)
            except BaseException as error:
                errors.append(error)
            return value

        return fn

    threads = [
        threading.Thread(target=a.compute, args=("k", writer(a, b)), daemon=True),
        threading.Thread(target=b.compute, args=("k", writer(b, a)), daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * LIMIT)
    if any(thread.is_alive() for thread in threads):
        return ["hung: ABBA between the two maps' stripe locks"]
    if not all(isinstance(error, ReentrantCallError) for error in errors):
        return [f"expected ReentrantCallError from both, got {errors}"]
    return []


def test_two_threads_inside_compute_both_iterate() -> None:
    assert both_iterate_inside_compute(ShardedDict(stripes=8)) == []


def test_two_maps_written_from_each_others_compute() -> None:
    a: ShardedDict[Any, Any] = ShardedDict(k=0)
    b: ShardedDict[Any, Any] = ShardedDict(k=0)
    assert cross_writes_inside_compute(a, b) == []
    assert a.snapshot() == {"k": 0} and b.snapshot() == {"k": 0}


class LockingIteration(ShardedDict[Any, Any]):
    """The iteration that landed first: each shard read under its stripe lock."""

    __slots__ = ()

    def _iter_items(self) -> Iterator[tuple[Any, Any]]:
        for index, shard in enumerate(self._shards):
            with self._locks[index]:
                items = list(shard.items())
            yield from items


@pytest.mark.lockcheck(expect=["self"])  # each thread blocks on the stripe it holds
def test_control_iteration_under_stripe_locks_hangs() -> None:
    """Negative control: deterministic (the barrier puts both threads inside compute)."""
    problems = both_iterate_inside_compute(LockingIteration(stripes=8))
    assert problems and problems[0].startswith("hung"), problems


@pytest.mark.lockcheck(expect=["order"])
def test_control_a_guard_that_knows_only_its_own_map_deadlocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Negative control: with writes to *other* maps allowed (the old per-map guard), the
    two threads deadlock ABBA -- deterministically, after the barrier."""
    import atomics.sharded_dict as module

    monkeypatch.setattr(module, "check_write", lambda what: None)
    a: ShardedDict[Any, Any] = ShardedDict(k=0)
    b: ShardedDict[Any, Any] = ShardedDict(k=0)
    problems = cross_writes_inside_compute(a, b)
    assert problems and problems[0].startswith("hung"), problems


# --- found by a review: the knowledge base's own lock order, locked() across threads ---------
def read_topic_inside_update_while_snapshotting(kb: KnowledgeBase) -> list[str]:
    """Thread A, inside user code under a world stripe lock, reads a topic while thread B
    takes ``kb.snapshot()``. A waits until B has either taken the topic's lock (the old
    order: topic locks, then world stripes) or had time to block on A's stripe (the
    documented order: world stripes first), then reads. Returns what went wrong.

    The user code is a stored value's ``__add__``, run by the named ``"sum"`` reducer under
    the key's stripe lock: since ``update`` and callable reducers became compare-and-set
    loops (run with no lock held), operands' own methods are the user code left there."""
    kb.add_insight("a", "x", topic="t")
    kb.world.register_reducer("k", "sum")
    log = kb._storage.logs["t"]  # type: ignore[attr-defined]
    inside = threading.Event()
    outcome: list[Any] = []

    class Reading:
        def __init__(self, n: int) -> None:
            self.n = n

        def __add__(self, other: int) -> Reading:
            inside.set()
            deadline = time.monotonic() + 0.5
            while not log.lock.locked() and time.monotonic() < deadline:
                time.sleep(0.001)  # polling an observable state, with a deadline
            outcome.append(len(kb.insights("t")))
            return Reading(self.n + other)

    kb.world.put("k", Reading(0), agent_id="a")
    updater = threading.Thread(
        target=kb.world.merge, args=("k", 1), kwargs={"agent_id": "a"}, daemon=True
    )
    updater.start()
    assert inside.wait(10)
    snapper = threading.Thread(target=kb.snapshot, daemon=True)
    snapper.start()
    updater.join(3)
    snapper.join(3)
    if updater.is_alive() or snapper.is_alive():
        return ["hung: a world stripe and a topic lock taken in opposite orders"]
    return [] if outcome == [1] else [f"read {outcome}"]


def test_reading_a_topic_inside_a_world_update_while_another_thread_snapshots() -> None:
    assert read_topic_inside_update_while_snapshotting(KnowledgeBase(stripes=1)) == []


@pytest.mark.lockcheck(expect=["order"])
def test_control_the_old_export_order_deadlocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: export taking topic locks before the world's stripes (the order
    that landed first) deadlocks with a topic read inside a world update."""
    from contextlib import ExitStack, contextmanager

    from atomics.kb.storage import MemoryStorage

    @contextmanager
    def old_order(self: MemoryStorage) -> Iterator[None]:
        with self.registry_lock, ExitStack() as held:
            for _, log in sorted(self.logs.items()):
                held.enter_context(log.lock)
            held.enter_context(self.world._all_stripes())
            yield

    monkeypatch.setattr(MemoryStorage, "_everything_locked", old_order)
    problems = read_topic_inside_update_while_snapshotting(KnowledgeBase(stripes=1))
    assert problems and problems[0].startswith("hung"), problems


def test_a_locked_block_closed_by_another_thread_restores_the_guard() -> None:
    d: ShardedDict[str, int] = ShardedDict(k=0)

    def suspended_inside_a_block() -> Iterator[None]:
        with d.locked("k") as entry:
            entry.set(1)
            yield

    generator = suspended_inside_a_block()
    next(generator)  # this thread is now inside the block
    assert _guard.in_user_code()
    closer_saw: list[Any] = []

    def close_elsewhere() -> None:
        generator.close()  # runs the block's exit in this other thread
        closer_saw.append(_guard.in_user_code())
        try:  # this thread never entered user code: its writes inside one are still refused
            d.compute("k", lambda v: ShardedDict().__setitem__("x", 1))
        except ReentrantCallError:
            closer_saw.append("refused")

    thread = threading.Thread(target=close_elsewhere)
    thread.start()
    thread.join(10)
    assert closer_saw == [False, "refused"]
    assert not _guard.in_user_code()  # the thread that entered the block is restored
    d["k"] = 2  # and writes from plain code work again
    assert d.snapshot() == {"k": 2}


def test_a_locked_entry_writes_only_inside_its_block_and_thread() -> None:
    d: ShardedDict[str, int] = ShardedDict(n=0)
    with d.locked("n") as entry:
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                entry.set(5)
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(10)
        assert len(errors) == 1 and isinstance(errors[0], WrongThreadError)
        entry.set(1)
    with pytest.raises(RuntimeError, match="inside its"):
        entry.set(2)  # the lock is no longer held
    with pytest.raises(RuntimeError, match="inside its"):
        entry.delete()
    assert entry.get() == 1 and d.snapshot() == {"n": 1}
    with pytest.raises(RuntimeError, match="one with-block"):
        entry.__enter__()


class WritesWhenCompared:
    """A value whose ``__eq__``/``__radd__`` write to an atomics object."""

    def __init__(self, target: ShardedDict[str, int]) -> None:
        self.target = target

    def __eq__(self, other: object) -> bool:
        self.target["written"] = 1
        return False

    __hash__ = None  # type: ignore[assignment]

    def __radd__(self, other: object) -> int:
        self.target["written"] = 1
        return 1


@pytest.mark.parametrize("same_map", [True, False], ids=["same-map", "other-map"])
def test_a_values_eq_and_add_are_user_code(same_map: bool) -> None:
    d: ShardedDict[str, Any] = ShardedDict(stripes=1)
    target = d if same_map else ShardedDict()
    value = WritesWhenCompared(target)
    d["v"] = value
    d["n"] = 0

    def attempt(call: Callable[[], Any]) -> BaseException | None:
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                call()
                outcome.append(None)
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(LIMIT)
        assert not thread.is_alive(), "hung: a value's method wrote under the stripe lock"
        return outcome[0]

    for call in (
        lambda: d.compare_and_set("v", "something", 1),
        lambda: d.replace("v", "something", 1),
        lambda: d.increment("n", value),
    ):
        assert isinstance(attempt(call), ReentrantCallError)
    assert "written" not in target and d["n"] == 0 and d["v"] is value
