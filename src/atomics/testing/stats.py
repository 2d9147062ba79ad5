"""What the harness ran: typed totals, recorded per block with :func:`recording`.

Every scenario run by :func:`~atomics.testing.check_scenario` (and so
:func:`~atomics.testing.assert_linearizable`) and every :func:`~atomics.testing.bulk_stress`
run adds its figures to each active :class:`HarnessStats` recorder: the process-wide one
(:func:`process_totals`) and those of the :func:`recording` blocks around it. The pytest
plugin records each test this way and prints the summary; a script can do the same::

    with recording() as ran:
        ...  # assert_linearizable(...), bulk_stress(...)
    print(ran.invocations, f"{ran.overlap:.0%}")

Recorders are updated by the thread that runs the harness (the main thread: the harness
functions are not meant to be called from several threads at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

__all__ = ["HarnessStats", "process_totals", "recording"]


@dataclass
class HarnessStats:
    """Totals of what the harness ran (see the module docstring).

    >>> HarnessStats().overlap
    0.0
    """

    scenarios: int = 0
    invocations: int = 0
    operations: int = 0
    histories_checked: int = 0
    failures: int = 0
    checked_operations: int = 0  # operations in the histories checked
    overlapping_operations: int = 0  # of those, the ones that overlapped another thread's
    bulk_operations: int = 0  # operations run by bulk_stress
    bulk_overlapping: float = 0.0  # bulk operations times their run's overlap fraction

    @property
    def overlap(self) -> float:
        """Fraction of operations (checked histories and bulk runs) that overlapped another
        thread's; 0.0 when nothing ran."""
        total = self.checked_operations + self.bulk_operations
        if total == 0:
            return 0.0
        return (self.overlapping_operations + self.bulk_overlapping) / total

    @property
    def total_operations(self) -> int:
        """Operations run: in scenarios and in bulk runs."""
        return self.operations + self.bulk_operations

    def reset(self) -> None:
        """Zero every total."""
        for f in fields(self):
            setattr(self, f.name, f.default)


_totals = HarnessStats()
_recorders: list[HarnessStats] = [_totals]


def process_totals() -> HarnessStats:
    """Everything the harness ran in this process so far."""
    return _totals


@contextmanager
def recording() -> Iterator[HarnessStats]:
    """Yield a fresh :class:`HarnessStats` that counts what the harness runs inside the
    block (blocks may nest; each counts everything inside it).

    >>> with recording() as ran:
    ...     pass
    >>> ran.invocations
    0
    """
    recorder = HarnessStats()
    _recorders.append(recorder)
    try:
        yield recorder
    finally:
        _recorders.remove(recorder)


class _Fanout:
    """The harness's own handle on the recorders: ``stats.invocations += 1`` adds 1 to every
    active recorder (reads give the process totals)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(_totals, name)

    def __setattr__(self, name: str, value: Any) -> None:
        delta = value - getattr(_totals, name)
        for recorder in _recorders:
            setattr(recorder, name, getattr(recorder, name) + delta)


stats: Any = _Fanout()  # internal: the harness modules add to it (reading gives the totals)

_TOTALS_NAMES = {f.name for f in fields(HarnessStats)} | {"overlap", "total_operations", "reset"}


if TYPE_CHECKING:
    # The deprecated module-level totals (``_TOTALS_NAMES``, given by __getattr__ below),
    # typed as HarnessStats types them; type checkers see no __getattr__, so any other name
    # is an error there.
    scenarios = _totals.scenarios
    invocations = _totals.invocations
    operations = _totals.operations
    histories_checked = _totals.histories_checked
    failures = _totals.failures
    checked_operations = _totals.checked_operations
    overlapping_operations = _totals.overlapping_operations
    bulk_operations = _totals.bulk_operations
    bulk_overlapping = _totals.bulk_overlapping
    overlap = _totals.overlap
    total_operations = _totals.total_operations
    reset = _totals.reset


def _module_getattr(name: str) -> Any:
    # Before 0.2, ``atomics.testing.stats`` was the process's HarnessStats object; reading
    # its totals through the module still works, deprecated, for one release.
    if name in _TOTALS_NAMES:
        import warnings

        warnings.warn(
            f"atomics.testing.stats.{name}: the module-level totals are deprecated; use "
            "atomics.testing.stats.recording() or process_totals()",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_totals, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if not TYPE_CHECKING:  # hidden from type checkers: they know the names above, precisely
    __getattr__ = _module_getattr
