"""One conventions layer (issue 12, item 10): the same mistake raises the same exception
type everywhere, every exception the package raises for bad input is an AtomicsError that
is also the standard type, sentinels are one implementation, and sizes have bounds."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import atomics
from atomics import (
    ANY,
    DELETE,
    MISSING,
    AtomicBoolean,
    AtomicInteger,
    AtomicsError,
    AtomicsTypeError,
    AtomicsValueError,
    BoundedQueue,
    KnowledgeBase,
    ShardedDict,
    StripedCounter,
    WrongThreadError,
)
from atomics._sentinel import Sentinel

# Each: a call with a mistake, and the standard type it must raise (also an AtomicsError).
# fmt: off
MISTAKES: list[tuple[str, Callable[[], Any], type[Exception]]] = [
    # a float where an int count is meant: TypeError everywhere
    ("latest n=1.5", lambda: KnowledgeBase().latest("t", 1.5), TypeError),  # type: ignore[arg-type]
    ("insights limit=1.5", lambda: KnowledgeBase().insights(limit=1.5), TypeError),  # type: ignore[arg-type]
    ("subscribe maxsize=1.5", lambda: KnowledgeBase().subscribe(maxsize=1.5), TypeError),  # type: ignore[arg-type]
    ("retain_per_topic=1.5", lambda: KnowledgeBase(retain_per_topic=1.5), TypeError),  # type: ignore[arg-type]
    ("BoundedQueue(1.5)", lambda: BoundedQueue(1.5), TypeError),  # type: ignore[arg-type]
    ("get_many(1.5)", lambda: BoundedQueue(1).get_many(1.5), TypeError),  # type: ignore[arg-type]
    ("stripes=1.5", lambda: ShardedDict(stripes=1.5), TypeError),  # type: ignore[arg-type]
    # a bool where an int is meant: TypeError everywhere
    ("latest n=True", lambda: KnowledgeBase().latest("t", True), TypeError),
    ("insights limit=True", lambda: KnowledgeBase().insights(limit=True), TypeError),
    ("BoundedQueue(True)", lambda: BoundedQueue(True), TypeError),
    ("stripes=True", lambda: ShardedDict(stripes=True), TypeError),
    ("AtomicInteger(True)", lambda: AtomicInteger(True), TypeError),
    ("StripedCounter.add(True)", lambda: StripedCounter().add(True), TypeError),
    ("StripedCounter(True)", lambda: StripedCounter(True), TypeError),
    ("increment delta=True", lambda: ShardedDict().increment("k", True), TypeError),
    ("AtomicInteger += True", lambda: AtomicInteger().__iadd__(True), TypeError),
    # an int where a bool is meant
    ("AtomicBoolean(1)", lambda: AtomicBoolean(1), TypeError),  # type: ignore[arg-type]
    # out of range: ValueError everywhere
    ("latest n=-1", lambda: KnowledgeBase().latest("t", -1), ValueError),
    ("insights limit=-1", lambda: KnowledgeBase().insights(limit=-1), ValueError),
    ("BoundedQueue(0)", lambda: BoundedQueue(0), ValueError),
    ("stripes=0", lambda: ShardedDict(stripes=0), ValueError),
    ("stripes=10**30", lambda: ShardedDict(stripes=10**30), ValueError),
    ("retain_per_topic=0", lambda: KnowledgeBase(retain_per_topic=0), ValueError),
    ("task_done(0)", lambda: BoundedQueue(1).task_done(0), ValueError),
    ("task_done too many", lambda: BoundedQueue(1).task_done(), ValueError),
    ("AtomicInteger **= -1", lambda: AtomicInteger(2).__ipow__(-1), ValueError),
    # names
    ("topic=''", lambda: KnowledgeBase().add_insight("a", "x", topic=""), ValueError),
    ("topic=1", lambda: KnowledgeBase().add_insight("a", "x", topic=1), TypeError),  # type: ignore[arg-type]
    ("agent_id=None", lambda: KnowledgeBase().add_insight(None, "x"), TypeError),  # type: ignore[arg-type]
    # timeouts
    ("get timeout=nan", lambda: BoundedQueue(1).get(timeout=float("nan")), ValueError),
    ("get timeout='1'", lambda: BoundedQueue(1).get(timeout="1"), TypeError),  # type: ignore[arg-type]
    ("wait timeout=-1", lambda: KnowledgeBase().wait_for_insights({}, timeout=-1), ValueError),
    # sentinels as values
    ("d[k] = MISSING", lambda: ShardedDict().__setitem__("k", MISSING), ValueError),
    ("d[k] = DELETE", lambda: ShardedDict().__setitem__("k", DELETE), ValueError),
    ("d[k] = ANY", lambda: ShardedDict().__setitem__("k", ANY), ValueError),
    ("world.put(ANY)", lambda: KnowledgeBase().world.put("k", ANY, agent_id="a"), ValueError),
    ("put(MISSING)", lambda: KnowledgeBase().world.put("k", MISSING, agent_id="a"), ValueError),
]
# fmt: on


@pytest.mark.parametrize(("what", "call", "expected"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_the_same_mistake_raises_the_same_type(
    what: str, call: Callable[[], Any], expected: type[Exception]
) -> None:
    with pytest.raises(expected) as caught:
        call()
    assert isinstance(caught.value, AtomicsError), f"{what}: {caught.value!r} is no AtomicsError"
    family = AtomicsTypeError if expected is TypeError else AtomicsValueError
    assert isinstance(caught.value, family)


def test_the_exception_hierarchy() -> None:
    assert issubclass(atomics.ReentrantCallError, RuntimeError)
    assert issubclass(atomics.WrongThreadError, RuntimeError)
    for cls in (atomics.Conflict, atomics.KnowledgeBaseClosed, atomics.SubscriptionOverflow):
        assert issubclass(cls, AtomicsError)
    assert issubclass(atomics.KnowledgeBaseClosed, RuntimeError)
    # the queue exceptions stay the standard library's: BoundedQueue is a drop-in
    import queue

    q: BoundedQueue[int] = BoundedQueue(1)
    q.put(1)
    with pytest.raises(queue.Full) as full:
        q.put_nowait(2)
    assert type(full.value) is queue.Full
    q.get()
    with pytest.raises(queue.Empty) as empty:
        q.get_nowait()
    assert type(empty.value) is queue.Empty


def test_a_handle_used_by_another_thread() -> None:
    import threading

    handle = StripedCounter().handle()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            handle.increment()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    assert len(errors) == 1 and isinstance(errors[0], WrongThreadError)
    assert isinstance(errors[0], RuntimeError)


@pytest.mark.parametrize("sentinel", [MISSING, DELETE, ANY], ids=repr)
def test_one_sentinel_implementation(sentinel: Any) -> None:
    assert type(sentinel) is Sentinel
    assert copy.copy(sentinel) is sentinel and copy.deepcopy(sentinel) is sentinel
    assert pickle.loads(pickle.dumps(sentinel)) is sentinel
    assert repr(sentinel) in ("MISSING", "DELETE", "ANY")


def test_one_validation_module() -> None:
    """The hand-written int checks are gone: every module uses atomics._validate, so the
    messages name the argument the same way."""
    import atomics.atomic_integer as ai
    import atomics.striped_counter as sc

    for call, name in (
        (lambda: AtomicInteger("1"), "initial"),  # type: ignore[arg-type]
        (lambda: StripedCounter().add("1"), "n"),  # type: ignore[arg-type]
        (lambda: ai.AtomicInteger().add_and_get(1.0), "delta"),  # type: ignore[arg-type]
        (lambda: sc.StripedCounter().handle().add(1.0), "n"),  # type: ignore[arg-type]
    ):
        with pytest.raises(AtomicsTypeError, match=rf"^{name} must be an int \(not bool\)"):
            call()


# --- found by a review: a lone str taken letter by letter, cursors, functions ---------------
REVIEW_MISTAKES: list[tuple[str, Callable[[Any], Any], type[Exception]]] = [
    ("subscribe topics=str", lambda kb: kb.subscribe(topics="alerts"), TypeError),
    ("subscribe world_keys=str", lambda kb: kb.subscribe(world_keys="plan"), TypeError),
    ("subscribe world_keys=5", lambda kb: kb.subscribe(world_keys=5), TypeError),
    ("add_insights contents=str", lambda kb: kb.add_insights("a", "abc"), TypeError),
    ("add_insights contents=5", lambda kb: kb.add_insights("a", 5), TypeError),
    ("subscribe since=5", lambda kb: kb.subscribe(since=5, topics=["t"]), TypeError),
    ("wait since=None", lambda kb: kb.wait_for_insights(None, 0), TypeError),
    ("wait since={'t': 'x'}", lambda kb: kb.wait_for_insights({"t": "x"}, 0), TypeError),
    ("insights since={'t': 'x'}", lambda kb: kb.insights(since={"t": "x"}), TypeError),
    ("insights since={'t': True}", lambda kb: kb.insights(since={"t": True}), TypeError),
    ("compute fn=5", lambda kb: ShardedDict().compute("k", 5), TypeError),
    ("pop_if predicate=5", lambda kb: ShardedDict(k=1).pop_if("k", 5), TypeError),
    ("get_or_create factory=5", lambda kb: ShardedDict().get_or_create("k", 5), TypeError),
    ("update_and_get fn=5", lambda kb: AtomicInteger().update_and_get(5), TypeError),
    ("accumulate fn=5", lambda kb: AtomicInteger().accumulate_and_get(1, 5), TypeError),
    ("reference update fn=5", lambda kb: atomics.AtomicReference(1).update_and_get(5), TypeError),
]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("what", "call", "expected"), REVIEW_MISTAKES, ids=[m[0] for m in REVIEW_MISTAKES]
)
def test_review_mistakes_raise_a_clear_error(
    what: str, call: Callable[[Any], Any], expected: type[Exception]
) -> None:
    kb = KnowledgeBase()
    kb.add_insight("a", "x", topic="t")
    with pytest.raises(expected) as caught:
        call(kb)
    assert isinstance(caught.value, AtomicsError), f"{what}: {caught.value!r}"
    assert kb.entry_count == 1  # nothing added
