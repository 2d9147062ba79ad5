"""The suite :mod:`atomics.testing.suites.stress_sharded_dict`, which ships with the package
(``python -m atomics stress`` and ``make stress`` run it there; ``pytest stress`` here)."""

from atomics.testing.suites.stress_sharded_dict import *  # noqa: F403
