"""``pytest stress`` in a checkout: the shipped suites (:mod:`atomics.testing.suites`), each
test with its share of ``STRESS_SECONDS`` (default 60) per suite, as the stress command
gives it. Those modules are the only copy: each ``test_*.py`` here imports one."""

from atomics.testing.suites.fixtures import stress_seconds  # noqa: F401
