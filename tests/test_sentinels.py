"""``MISSING`` and ``DELETE`` can never be stored as values (issue 12, item 5): every write
that would store one raises ``ValueError`` and changes nothing.

Before the fix, after ``d[k] = MISSING`` the key was ``in d`` while ``d[k]`` raised
``KeyError``, and a ``get_or_create`` factory that returned ``MISSING`` ran twice.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from atomics import ANY, KnowledgeBase, ShardedDict
from atomics.sharded_dict import DELETE, MISSING

SENTINELS = [MISSING, DELETE]


def _locked_set(d: ShardedDict[str, Any], s: Any) -> None:
    with d.locked("k") as entry:
        entry.set(s)


WRITES: dict[str, Callable[[ShardedDict[str, Any], Any], Any]] = {
    "setitem": lambda d, s: d.__setitem__("k", s),
    "update": lambda d, s: d.update({"k": s}),
    "update kwargs": lambda d, s: d.update(k=s),
    "ior": lambda d, s: d.__ior__({"k": s}),
    "setdefault": lambda d, s: d.setdefault("k", s),
    "merge": lambda d, s: d.merge("k", s, lambda a, b: a),
    "compare_and_set": lambda d, s: d.compare_and_set("k", MISSING, s),
    "replace": lambda d, s: d.replace("old", 1, s),
    "get_or_create": lambda d, s: d.get_or_create("k", lambda: s),
    "locked set": _locked_set,
    "handle setitem": lambda d, s: d.handle().__setitem__("k", s),
}


@pytest.mark.parametrize("sentinel", SENTINELS, ids=repr)
@pytest.mark.parametrize("write", list(WRITES))
def test_a_sentinel_is_never_stored(write: str, sentinel: Any) -> None:
    d: ShardedDict[str, Any] = ShardedDict(old=1)
    with pytest.raises(ValueError, match="sentinel"):
        WRITES[write](d, sentinel)
    assert d == {"old": 1} and "k" not in d


@pytest.mark.parametrize("sentinel", SENTINELS, ids=repr)
def test_a_sentinel_in_the_constructor_or_fromkeys_is_refused(sentinel: Any) -> None:
    with pytest.raises(ValueError, match="sentinel"):
        ShardedDict({"k": sentinel})
    with pytest.raises(ValueError, match="sentinel"):
        ShardedDict.fromkeys(["k"], sentinel)


def test_a_factory_returning_missing_runs_once_per_call_and_stores_nothing() -> None:
    d: ShardedDict[str, Any] = ShardedDict()
    calls = []

    def factory() -> Any:
        calls.append(1)
        return MISSING

    with pytest.raises(ValueError, match="factory"):
        d.get_or_create("k", factory)
    assert calls == [1] and "k" not in d and len(d) == 0


def test_compute_may_still_return_a_sentinel_to_mean_absent() -> None:
    d: ShardedDict[str, Any] = ShardedDict(k=1)
    assert d.compute("k", lambda v: DELETE) is MISSING and "k" not in d
    assert d.compute("k", lambda v: MISSING) is MISSING and "k" not in d


@pytest.mark.parametrize("sentinel", SENTINELS, ids=repr)
def test_the_world_model_refuses_sentinel_values(sentinel: Any) -> None:
    kb = KnowledgeBase()
    kb.world.put("k", 1, agent_id="a")
    with pytest.raises(ValueError, match="sentinel"):
        kb.world.put("k", sentinel, agent_id="a")
    with pytest.raises(ValueError, match="sentinel"):
        kb.world.update("k", lambda v: sentinel, agent_id="a")
    with pytest.raises(ValueError, match="sentinel"):
        kb.world.merge("k", sentinel, agent_id="a")
    kb.world.register_reducer("r*", lambda current, value: sentinel)
    kb.world.put("r1", 1, agent_id="a")
    with pytest.raises(ValueError, match="sentinel"):
        kb.world.merge("r1", 2, agent_id="a")
    entry = kb.world.get("k")
    assert entry is not None and (entry.value, entry.version) == (1, 1)
    entry = kb.world.get("r1")
    assert entry is not None and (entry.value, entry.version) == (1, 1)


# --- sizes and bools: the package's conventions (issue 12, item 10, in part) -----------------


def test_stripes_are_bounded_before_anything_is_allocated() -> None:
    with pytest.raises(ValueError, match="stripes must be at most 65536"):
        ShardedDict(stripes=10**30)  # before the fix: allocated until the process was killed
    with pytest.raises(TypeError, match="stripes"):
        ShardedDict(stripes=True)
    assert ShardedDict(stripes=1 << 16).stripes == 1 << 16


def test_increment_refuses_a_bool_delta_as_the_atomic_classes_do() -> None:
    d: ShardedDict[str, int] = ShardedDict()
    with pytest.raises(TypeError, match="delta"):
        d.increment("k", True)
    assert "k" not in d


# --- found by a review: sentinels through function results, sums and update ------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.compute("k", lambda v: ANY),
        lambda d: d.compute_if_present("k", lambda v: ANY),
        lambda d: d.compute_if_absent("new", lambda k: ANY),
        lambda d: d.merge("k", 1, lambda a, b: ANY),
        lambda d: d.compute("k", lambda v: ShardedDict._no_default),
        lambda d: d.increment("k", SumsToMissing()),
        lambda d: d.update({"g": 1, "h": MISSING}),
        lambda d: d.update([("g", 1), ("h", DELETE)]),
        lambda d: d.update(g=1, h=ANY),
    ],
    ids=["compute", "compute_if_present", "compute_if_absent", "merge", "no_default",
         "increment", "update-mapping", "update-pairs", "update-kwargs"],
)  # fmt: skip
def test_no_sentinel_is_stored_through_a_result(call: Callable[[Any], Any]) -> None:
    d: ShardedDict[str, Any] = ShardedDict(k=1)
    with pytest.raises(ValueError, match="sentinel"):
        call(d)
    assert d.snapshot() == {"k": 1}  # unchanged, "g" included


class SumsToMissing:
    def __radd__(self, other: object) -> Any:
        return MISSING


def test_every_sentinel_pickles_as_itself() -> None:
    no_default = ShardedDict._no_default
    for sentinel in (MISSING, DELETE, ANY, no_default):
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            assert pickle.loads(pickle.dumps(sentinel, protocol)) is sentinel
