"""The suite :mod:`atomics.testing.suites.stress_agent_workload`, which ships with the package
(``python -m atomics stress`` and ``make stress`` run it there; ``pytest stress`` here)."""

from atomics.testing.suites.stress_agent_workload import *  # noqa: F403
