"""The suites' fixture (:mod:`atomics.testing.suites.fixtures`) for a plain pytest run."""

from atomics.testing.suites.fixtures import stress_seconds  # noqa: F401
