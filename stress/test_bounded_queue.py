"""The suite :mod:`atomics.testing.suites.stress_bounded_queue`, which ships with the package
(``python -m atomics stress`` and ``make stress`` run it there; ``pytest stress`` here)."""

from atomics.testing.suites.stress_bounded_queue import *  # noqa: F403
