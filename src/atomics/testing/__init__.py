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
* :mod:`~atomics.testing.controls` -- deliberately broken objects and their correct twins;
* :mod:`~atomics.testing.lockcheck` -- lock-order checking: potential deadlocks reported the
  first time their order is seen (:func:`watching`);
* :mod:`~atomics.testing.stats` -- what the harness ran (:func:`~atomics.testing.stats.recording`);
* :mod:`~atomics.testing.pytest_plugin` -- the pytest plugin (options ``--atomics-*``,
  markers, fixtures), loaded by pytest when the package is installed.

The top level holds the names a test needs; everything else lives in its submodule. Names
that were at the top level before 0.2 still work there for one release, with a
``DeprecationWarning`` naming their new home. Hypothesis (``pip install 'ft-atomics[test]'``)
is needed by :data:`SETTINGS`, :func:`scenarios` and :func:`find_violation` only: without it
they raise ``ImportError`` saying so, and the rest works.

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

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from atomics.testing.bulk import bulk_stress
from atomics.testing.history import Call, WouldBlock
from atomics.testing.linearizability import (
    LinearizabilityError,
    assert_linearizable,
    check_scenario,
    find_violation,
)
from atomics.testing.lockcheck import watching
from atomics.testing.queues import mpmc_stress
from atomics.testing.runner import HarnessError, HarnessTimeout, WorkerPool
from atomics.testing.scenario import Scenario, fixed_scenario, scenarios

if TYPE_CHECKING:
    # What the module __getattr__ below gives at run time, with its real types: SETTINGS
    # (built on first use) and the names deprecated here (their homes' objects, which warn
    # at run time). Type checkers see no __getattr__, so any other name is an error there.
    from hypothesis import settings

    from atomics.testing.bulk import CONTROL_SECONDS as CONTROL_SECONDS
    from atomics.testing.bulk import BulkResult as BulkResult
    from atomics.testing.bulk import overlap_fraction as overlap_fraction
    from atomics.testing.bulk import rounds as rounds
    from atomics.testing.checker import CheckResult as CheckResult
    from atomics.testing.checker import Verdict as Verdict
    from atomics.testing.checker import check_history as check_history
    from atomics.testing.history import OpRecord as OpRecord
    from atomics.testing.history import Raised as Raised
    from atomics.testing.linearizability import ScenarioResult as ScenarioResult
    from atomics.testing.linearizability import format_report as format_report
    from atomics.testing.queues import MPMCResult as MPMCResult
    from atomics.testing.runner import forced_switching as forced_switching
    from atomics.testing.scenario import small_keys as small_keys
    from atomics.testing.scenario import small_values as small_values
    from atomics.testing.stats import HarnessStats as HarnessStats

    SETTINGS: settings

__all__ = [
    "SETTINGS",
    "Call",
    "HarnessError",
    "HarnessTimeout",
    "LinearizabilityError",
    "Scenario",
    "WorkerPool",
    "WouldBlock",
    "assert_linearizable",
    "bulk_stress",
    "check_scenario",
    "find_violation",
    "fixed_scenario",
    "mpmc_stress",
    "scenarios",
    "watching",
]

# Top-level names before 0.2 -> the submodule that holds them now (deprecated here).
_MOVED = {
    "CONTROL_SECONDS": "atomics.testing.bulk",
    "BulkResult": "atomics.testing.bulk",
    "overlap_fraction": "atomics.testing.bulk",
    "rounds": "atomics.testing.bulk",
    "CheckResult": "atomics.testing.checker",
    "Verdict": "atomics.testing.checker",
    "check_history": "atomics.testing.checker",
    "OpRecord": "atomics.testing.history",
    "Raised": "atomics.testing.history",
    "ScenarioResult": "atomics.testing.linearizability",
    "format_report": "atomics.testing.linearizability",
    "MPMCResult": "atomics.testing.queues",
    "forced_switching": "atomics.testing.runner",
    "small_keys": "atomics.testing.scenario",
    "small_values": "atomics.testing.scenario",
    "HarnessStats": "atomics.testing.stats",
}


def _settings() -> Any:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError as error:
        raise ImportError(
            "atomics.testing.SETTINGS needs Hypothesis: pip install 'ft-atomics[test]'"
        ) from error
    return settings(
        max_examples=50,
        deadline=None,  # one example runs hundreds of invocations
        print_blob=True,  # a failure prints @reproduce_failure(...)
        suppress_health_check=[HealthCheck.too_slow],
    )


def _module_getattr(name: str) -> Any:
    if name == "SETTINGS":  # needs Hypothesis: built on first use
        value = globals()["SETTINGS"] = _settings()
        return value
    home = _MOVED.get(name)
    if home is not None:
        warnings.warn(
            f"atomics.testing.{name} is deprecated: import it from {home}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if not TYPE_CHECKING:  # hidden from type checkers: they know the names above, precisely
    __getattr__ = _module_getattr
