"""atomics.testing: stress objects on real threads and check them for linearizability.

A Hypothesis-driven multithreaded harness, public so that other projects can stress their
own objects on free-threaded builds. Modules:

* :mod:`~atomics.testing.scenario` -- :class:`Scenario` (prefix, T parallel threads, suffix)
  and the :func:`scenarios` strategy over a table of operations;
* :mod:`~atomics.testing.runner` -- a persistent :class:`WorkerPool` with a spin start,
  per-thread recording, timeouts that dump every stack;
* :mod:`~atomics.testing.checker` -- Wing & Gong search with Lowe's memoisation, per-key
  partitioning, a step budget (UNKNOWN fails);
* :mod:`~atomics.testing.linearizability` -- :func:`assert_linearizable` for ``@given``
  tests, and the failure report;
* :mod:`~atomics.testing.bulk` -- :func:`bulk_stress` for invariants over millions of
  operations, with an overlap figure;
* :mod:`~atomics.testing.queues` -- :func:`mpmc_stress`, exactly-once, per-producer order
  and bound checks for any ``queue.Queue``-like object;
* :mod:`~atomics.testing.controls` -- deliberately broken objects and their correct twins.

See docs/testing.md. In ten lines::

    from hypothesis import given, settings, strategies as st
    from atomics.testing import SETTINGS, assert_linearizable, scenarios

    class CounterModel:                       # the sequential specification
        def __init__(self): self.value = 0
        def add(self, n): self.value += n; return self.value
        def get(self): return self.value

    @settings(SETTINGS)
    @given(scenarios({"add": st.tuples(st.integers(1, 3)), "get": None}))
    def test_my_counter(scenario):
        assert_linearizable(scenario, factory=MyCounter, model=CounterModel)
"""

from __future__ import annotations

from typing import Any

from atomics.testing.bulk import (
    CONTROL_SECONDS,
    BulkResult,
    bulk_stress,
    overlap_fraction,
    rounds,
)
from atomics.testing.checker import CheckResult, Verdict, check_history
from atomics.testing.history import Call, OpRecord, Raised
from atomics.testing.linearizability import (
    LinearizabilityError,
    ScenarioResult,
    assert_linearizable,
    check_scenario,
    find_violation,
    format_report,
)
from atomics.testing.queues import MPMCResult, mpmc_stress
from atomics.testing.runner import HarnessError, HarnessTimeout, WorkerPool, forced_switching
from atomics.testing.scenario import Scenario, fixed_scenario, scenarios, small_keys, small_values
from atomics.testing.stats import HarnessStats, stats

__all__ = [
    "CONTROL_SECONDS",
    "SETTINGS",
    "BulkResult",
    "Call",
    "CheckResult",
    "HarnessError",
    "HarnessStats",
    "HarnessTimeout",
    "LinearizabilityError",
    "MPMCResult",
    "OpRecord",
    "Raised",
    "Scenario",
    "ScenarioResult",
    "Verdict",
    "WorkerPool",
    "assert_linearizable",
    "bulk_stress",
    "check_history",
    "check_scenario",
    "find_violation",
    "fixed_scenario",
    "forced_switching",
    "format_report",
    "mpmc_stress",
    "overlap_fraction",
    "rounds",
    "scenarios",
    "small_keys",
    "small_values",
    "stats",
]


def __getattr__(name: str) -> Any:
    # SETTINGS needs Hypothesis; built on first use so that the rest imports without it.
    if name == "SETTINGS":
        from hypothesis import HealthCheck, settings

        value = settings(
            max_examples=50,
            deadline=None,  # one example runs hundreds of invocations
            print_blob=True,  # a failure prints @reproduce_failure(...)
            suppress_health_check=[HealthCheck.too_slow],
        )
        globals()["SETTINGS"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
