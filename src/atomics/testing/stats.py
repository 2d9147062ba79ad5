"""Running totals of everything the harness ran in this process (for the stress summary)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HarnessStats", "stats"]


@dataclass
class HarnessStats:
    """Running totals for this process (main thread only): the stress summary reads them."""

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

    def reset(self) -> None:
        """Zero every total."""
        fresh = HarnessStats()
        self.__dict__.update(fresh.__dict__)


stats = HarnessStats()
