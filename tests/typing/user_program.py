"""A user-style program over the public API, checked by mypy --strict (never run).

``tests/typing/test_typing.py`` runs mypy on this file and compares what mypy reports with
the comments: ``# R: T`` after a ``reveal_type`` line is the type mypy must reveal there
(without the ``builtins.`` prefix), ``# E: code`` marks a line mypy must reject with that
error code. Anything mypy reports on another line, or not as written, fails the check.
(``reveal_type`` is mypy's; one expectation per line, so the formatter is kept off.)
"""
# ruff: noqa: F821, E501
# fmt: off

from __future__ import annotations

import queue

import atomics.testing
import atomics.testing.stats
from atomics import (
    ANY,
    DELETE,
    MISSING,
    AtomicBoolean,
    AtomicInteger,
    AtomicReference,
    BoundedQueue,
    Insight,
    KnowledgeBase,
    Lag,
    QueueLike,
    ShardedDict,
    StripedCounter,
    WorldEvent,
)
from atomics.contention import (
    ContentionStatistics,
    ShardedDictStatistics,
    StripedCounterStatistics,
)
from atomics.sharded_dict import MissingType
from atomics.testing import mpmc_stress

# --- ShardedDict[K, V] -------------------------------------------------------------------
d: ShardedDict[str, int] = ShardedDict()
reveal_type(d["a"])  # R: int
reveal_type(d.get("a"))  # R: int | None
reveal_type(d.get("a", 0))  # R: int
reveal_type(d.get("a", "none"))  # R: int | str
reveal_type(d.pop("a"))  # R: int
reveal_type(d.pop("a", 0))  # R: int
reveal_type(d.pop("a", None))  # R: int | None
reveal_type(d.setdefault("a", 1))  # R: int
reveal_type(d.get_or_create("a", int))  # R: int
reveal_type(d.increment("hits"))  # R: int
reveal_type(d.increment("hits", 5))  # R: int
reveal_type(d.compute("n", lambda v: 1 if v is MISSING else v + 1))  # R: int | atomics.sharded_dict.MissingType
reveal_type(d.compute("n", lambda v: DELETE))  # R: int | atomics.sharded_dict.MissingType
reveal_type(d.compute_if_present("n", lambda v: v * 2))  # R: int | atomics.sharded_dict.MissingType
reveal_type(d.compute_if_absent("n", len))  # R: int | atomics.sharded_dict.MissingType
reveal_type(d.merge("n", 1, max))  # R: int | atomics.sharded_dict.MissingType
reveal_type(d.pop_if("n", lambda v: v > 1))  # R: int | atomics.sharded_dict.MissingType
reveal_type(d.compare_and_set("n", MISSING, 1))  # R: bool
reveal_type(d.replace("n", 1, 2))  # R: bool
reveal_type(d.popitem())  # R: tuple[str, int]
reveal_type(d.snapshot())  # R: dict[str, int]
reveal_type(d.copy())  # R: atomics.sharded_dict.ShardedDict[str, int]
reveal_type(d.handle())  # R: atomics.sharded_dict.ShardedDict[str, int]
d_stats: ShardedDictStatistics = d.statistics()  # the TypedDict itself (its text: long)
uniform: ContentionStatistics = d_stats  # every structure's shares the common keys
reveal_type(d_stats["stripes"])  # R: int
reveal_type(d.statistics()["shard_sizes"])  # R: list[int]
reveal_type(d.statistics()["locks"][0]["contended"])  # R: int
ShardedDict(track_contention="yes")  # E: arg-type
reveal_type(d | {"b": 2})  # R: atomics.sharded_dict.ShardedDict[str, int]
reveal_type(d | {"z": "x"})  # R: atomics.sharded_dict.ShardedDict[str, int | str]
reveal_type({"b": 2} | d)  # R: atomics.sharded_dict.ShardedDict[str, int]
reveal_type({"z": "x"} | d)  # R: atomics.sharded_dict.ShardedDict[str, int | str]
reveal_type(list(d.keys()))  # R: list[str]
reveal_type(list(d.values()))  # R: list[int]
reveal_type(list(d.items()))  # R: list[tuple[str, int]]
reveal_type(list(d))  # R: list[str]
reveal_type(len(d))  # R: int
reveal_type(d.stripes)  # R: int
reveal_type(ShardedDict.fromkeys(["a"], 0))  # R: atomics.sharded_dict.ShardedDict[str, int]

result = d.compute("n", lambda v: 1 if v is MISSING else v + 1)
if result is not MISSING:
    reveal_type(result)  # R: int


def bump(value: int | MissingType) -> int:
    """A named compute function: ``x is MISSING`` narrows ``int | MissingType`` to int."""
    return 0 if value is MISSING else value + 1


reveal_type(d.compute("n", bump))  # R: int | atomics.sharded_dict.MissingType

with d.locked("n") as entry:
    reveal_type(entry)  # R: atomics.sharded_dict.LockedEntry[str, int]
    reveal_type(entry.get())  # R: int | None
    reveal_type(entry.get(0))  # R: int
    reveal_type(entry.key)  # R: str
    reveal_type(entry.present)  # R: bool
    entry.set(1)
    entry.set("one")  # E: arg-type

d["b"] = "two"  # E: assignment
d.update({"b": 2}, c=3)
d.update([("b", 2)])
d.update({"b": "two"})  # E: dict-item
d.update([("b", "two")])  # E: list-item
d.increment("hits", "x")  # E: call-overload
d |= {"w": 2}
d |= [("w", 2)]
d |= {"w": "x"}  # E: dict-item
d |= 5  # E: call-overload
d | 5  # E: operator
reveal_type(ShardedDict[str, float]().increment("k"))  # R: float
reveal_type(ShardedDict[str, float]().increment("k", 0.5))  # R: float
reveal_type(ShardedDict[str, str]().increment("k", "a", ""))  # R: str
ShardedDict[str, str]().increment("k")  # E: call-arg
ShardedDict[str, str]().increment("k", "a")  # E: call-arg
d.increment_many(["hits", "hits"])
d.increment_many({"hits": 2})
ShardedDict[str, float]().increment_many("abc")
d.increment_many([1])  # E: list-item
d.increment_many({"hits": 0.5})  # a mapping is also an iterable of keys: TypeError at run time
ShardedDict[str, str]().increment_many(["k"])  # E: misc
d.compute("n", lambda v: "text")  # E: arg-type, return-value
d.compute_if_present("n", lambda v: v.upper())  # E: attr-defined
ShardedDict[str, int]()[1]  # E: index

# --- BoundedQueue[T] and QueueLike[T] ------------------------------------------------------
q: BoundedQueue[int] = BoundedQueue(8)
q.put(1)
q.put_many([2, 3])
reveal_type(q.get())  # R: int
reveal_type(q.get(timeout=1.0))  # R: int
reveal_type(q.get_nowait())  # R: int
reveal_type(q.get_many(4))  # R: list[int]
reveal_type(q.drain())  # R: list[int]
reveal_type(q.shutdown())  # R: list[int]
reveal_type(list(q))  # R: list[int]
reveal_type(q.qsize())  # R: int
reveal_type(q.maxsize)  # R: int
q.put("x")  # E: arg-type


def consume(source: QueueLike[int]) -> int:
    """A user signature that takes either queue."""
    return source.get(timeout=1.0)


def consume_std(source: queue.Queue[int]) -> int:
    """A user signature that names queue.Queue: it rejects a BoundedQueue."""
    return source.get()


std: queue.Queue[int] = queue.Queue(8)
reveal_type(consume(q))  # R: int
reveal_type(consume(std))  # R: int
consume_std(std)
consume_std(q)  # E: arg-type
strings: BoundedQueue[str] = BoundedQueue(4)
consume(strings)  # E: arg-type
stats = mpmc_stress(lambda: BoundedQueue(4), producers=1, consumers=1, items_per_producer=1)
reveal_type(stats.items)  # R: int
stats = mpmc_stress(lambda: queue.Queue(4), producers=1, consumers=1, items_per_producer=1)
mpmc_stress(lambda: [1], producers=1, consumers=1, items_per_producer=1)  # E: arg-type, return-value

# --- AtomicReference[T] -----------------------------------------------------------------
ref: AtomicReference[tuple[str, int]] = AtomicReference(("v1", 1))
reveal_type(ref.get())  # R: tuple[str, int]
reveal_type(ref.get_and_set(("v2", 2)))  # R: tuple[str, int]
reveal_type(ref.compare_and_set(ref.get(), ("v3", 3)))  # R: bool
reveal_type(ref.compare_and_exchange(ref.get(), ("v4", 4)))  # R: tuple[str, int]
reveal_type(ref.update_and_get(lambda t: (t[0], t[1] + 1)))  # R: tuple[str, int]
reveal_type(ref.get_and_update(lambda t: (t[0], t[1] + 1)))  # R: tuple[str, int]
reveal_type(AtomicReference(1.5))  # R: atomics.atomic_reference.AtomicReference[float]
ref.set(("v5", "five"))  # E: arg-type

# --- AtomicInteger, AtomicBoolean, StripedCounter ---------------------------------------
n = AtomicInteger(0)
reveal_type(n.get())  # R: int
reveal_type(n.add_and_get(2))  # R: int
reveal_type(n.get_and_increment())  # R: int
reveal_type(n.update_and_get(lambda v: v * 2))  # R: int
reveal_type(n.accumulate_and_get(3, max))  # R: int
reveal_type(n.compare_and_set(0, 1))  # R: bool
n += 1
reveal_type(n)  # R: atomics.atomic_integer.AtomicInteger
reveal_type(int(n))  # R: int
n.add_and_get(1.5)  # E: arg-type

flag = AtomicBoolean()
reveal_type(flag.get())  # R: bool
reveal_type(flag.toggle())  # R: bool
reveal_type(flag.get_and_set(True))  # R: bool

counter = StripedCounter()
counter.increment()
reveal_type(counter.sum())  # R: int
reveal_type(counter.sum_then_reset())  # R: int
reveal_type(counter.handle())  # R: atomics.striped_counter.CounterHandle
counter_stats: StripedCounterStatistics = counter.statistics()
reveal_type(counter_stats["acquisitions"])  # R: int
reveal_type(counter.statistics()["cells"])  # R: int
reveal_type(counter.statistics()["locks"][0]["wait_seconds"])  # R: float
reveal_type(StripedCounter(track_contention=True).statistics()["tracking"])  # R: bool

# --- KnowledgeBase ----------------------------------------------------------------------
with KnowledgeBase() as kb:
    insight: Insight = kb.add_insight("agent", "text", topic="t")
    reveal_type(insight.seq)  # R: int
    reveal_type(kb.add_insights("agent", ["a", "b"], topic="t")[0].id)  # R: str
    reveal_type(kb.insights("t")[0].topic)  # R: str
    reveal_type(kb.latest("t")[0].agent_id)  # R: str
    reveal_type(kb.topics())  # R: list[str]
    reveal_type(kb.cursor())  # R: atomics.kb.records.Cursor
    reveal_type(kb.wait_for_insights(kb.cursor(), timeout=0))  # R: bool
    world_entry = kb.world.get("k")
    reveal_type(world_entry.version if world_entry else None)  # R: int | None
    with kb.subscribe(topics=["t"]) as feed:
        event = feed.get(timeout=1.0)
        if isinstance(event, Lag):
            reveal_type(event.dropped)  # R: int
        elif isinstance(event, WorldEvent):
            reveal_type(event.key)  # R: str
        else:
            reveal_type(event.topic)  # R: str
        batch: list[Insight | WorldEvent | Lag] = feed.get_many(8)
        only_insights: list[Insight] = feed.get_many(8)  # E: assignment
    kb.add_insight("agent", "text", topic=1)  # E: arg-type
    kb.world.put("k", 1, agent_id="a", expected_version=7)
    kb.world.put("k", 1, agent_id="a", expected_version=None)
    kb.world.put("k", 1, agent_id="a", expected_version=ANY)
    kb.world.put("k", 1, agent_id="a", expected_version="seven")  # E: arg-type
    kb.world.delete("k", agent_id="a", expected_version=ANY)
    kb.world.delete("k", agent_id="a", expected_version=1.5)  # E: arg-type
    reveal_type(ANY)  # R: Literal[atomics.kb.records.AnyType.ANY]?

# --- atomics.testing: the lazy and deprecated names, typed; no others ----------------------
reveal_type(atomics.testing.SETTINGS)  # R: hypothesis._settings.settings
reveal_type(atomics.testing.CONTROL_SECONDS)  # R: float
reveal_type(atomics.testing.check_history([], dict).verdict)  # R: atomics.testing.checker.Verdict


def moved(result: atomics.testing.MPMCResult, stats: atomics.testing.HarnessStats) -> None:
    """Deprecated names of atomics.testing still type as their homes' classes."""
    reveal_type(result)  # R: atomics.testing.queues.MPMCResult
    reveal_type(stats)  # R: atomics.testing.stats.HarnessStats


_ = atomics.testing.Totally_Not_A_Name  # E: attr-defined
reveal_type(atomics.testing.stats.invocations)  # R: int
reveal_type(atomics.testing.stats.overlap)  # R: float
reveal_type(atomics.testing.stats.process_totals().overlap)  # R: float
_ = atomics.testing.stats.Totally_Not_A_Name  # E: attr-defined
