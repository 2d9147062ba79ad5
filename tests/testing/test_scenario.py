"""Scenario and the scenarios() strategy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atomics.testing import Call, Scenario, scenarios
from atomics.testing.scenario import fixed_scenario, small_keys, small_values

TABLE = {"add": st.tuples(small_keys(2), small_values()), "size": None}


@settings(max_examples=50)
@given(scenarios(TABLE))
def test_default_shape(scenario: Scenario) -> None:
    assert 2 <= scenario.threads <= 4
    assert all(3 <= len(calls) <= 6 for calls in scenario.parallel)
    assert len(scenario.prefix) <= 2
    assert len(scenario.suffix) <= 2
    for call in [*scenario.prefix, *scenario.suffix, *(c for t in scenario.parallel for c in t)]:
        assert call.name in TABLE
        if call.name == "add":
            key, value = call.args
            assert key in ("k0", "k1")
            assert 0 <= value <= 3
        else:
            assert call.args == ()


@settings(max_examples=20)
@given(
    scenarios(
        TABLE,
        threads=3,
        ops_per_thread=(1, 1),
        prefix=0,
        suffix=(1, 1),
        prefix_operations={"size": None},
    )
)
def test_custom_shape(scenario: Scenario) -> None:
    assert scenario.threads == 3
    assert all(len(calls) == 1 for calls in scenario.parallel)
    assert scenario.prefix == ()
    assert len(scenario.suffix) == 1


@settings(max_examples=10)
@given(scenarios(TABLE, prefix=(2, 2), prefix_operations={"size": None}))
def test_prefix_operations(scenario: Scenario) -> None:
    assert [c.name for c in scenario.prefix] == ["size", "size"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one operation"):
        scenarios({})
    with pytest.raises(ValueError, match="threads"):
        scenarios(TABLE, threads=0)
    with pytest.raises(ValueError, match="ops_per_thread"):
        scenarios(TABLE, ops_per_thread=(3, 2))


def test_table_and_repr_round_trip() -> None:
    scenario = fixed_scenario(
        [[Call("add", ("k0", 1)), Call("size")], [Call("size")]],
        prefix=[Call("add", ("k1", 2))],
        suffix=[Call("size")],
    )
    assert scenario.size == 5
    assert eval(repr(scenario)) == scenario
    assert scenario.table().splitlines() == [
        "prefix: add('k1', 2)",
        "thread 0        thread 1",
        "--------        --------",
        "add('k0', 1)    size()",
        "size()",
        "suffix: size()",
    ]
