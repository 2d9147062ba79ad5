"""The long stress suites, shipped with the package: ``python -m atomics stress`` runs them
from any installed copy (pytest and Hypothesis needed: ``pip install 'ft-atomics[test]'``),
and ``stress/`` in a checkout runs the same modules.

One module per suite, ``stress_*.py``, so that a plain ``pytest`` run (``test_*.py``) never
collects them; the stress command collects them with ``-o python_files=stress_*.py``. Each
suite has a time budget, ``STRESS_SECONDS`` (``--seconds``; default 60), shared evenly by
its tests: the ``stress_seconds`` fixture of this folder's ``conftest.py`` gives a test its
share (:func:`share_of`), and the stress command prints that share when the test starts. A
test spends its share in rounds (:func:`atomics.testing.bulk.rounds`), always at least one,
and some finish a minimum amount of work (the queue suite moves 10^6 items).

Thread-safety: :func:`suite_seconds` and :func:`share_of` only read; the suites are meant
for one pytest process at a time.

>>> share_of(60.0, "stress_counters.py", ["stress_counters.py"] * 4 + ["stress_x.py"])
15.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["DEFAULT_SECONDS", "share_of", "suite_seconds"]

DEFAULT_SECONDS = 60.0


def suite_seconds() -> float:
    """Each suite's time budget: ``$STRESS_SECONDS``, else :data:`DEFAULT_SECONDS`; raises
    ValueError naming ``STRESS_SECONDS`` if it is not a positive, finite number."""
    text = os.environ.get("STRESS_SECONDS", str(DEFAULT_SECONDS))
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"STRESS_SECONDS must be a number of seconds, got {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise ValueError(f"STRESS_SECONDS must be positive and finite, got {text!r}")
    return seconds


def share_of(seconds: float, suite: object, suites: Sequence[object]) -> float:
    """A test's share of its suite's budget ``seconds``: ``suites`` lists the suite (module
    path) of every test that runs, ``suite`` this test's."""
    return seconds / max(1, sum(1 for other in suites if other == suite))
