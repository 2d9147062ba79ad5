"""The knowledge base's exceptions."""

from __future__ import annotations

from atomics.errors import AtomicsError

__all__ = ["Conflict", "KnowledgeBaseClosed", "StorageUnavailable", "SubscriptionOverflow"]


class Conflict(AtomicsError):
    """A compare-and-set found another version. ``current_version`` is ``None`` when the
    key does not exist (never written, or deleted)."""

    def __init__(self, key: str, expected_version: int | None, current_version: int | None):
        super().__init__(
            f"world key {key!r}: expected version {expected_version}, "
            f"current version {current_version}"
        )
        self.key = key
        self.expected_version = expected_version
        self.current_version = current_version

    def __reduce__(self) -> tuple[object, ...]:  # picklable (a worker process may raise it)
        return (Conflict, (self.key, self.expected_version, self.current_version))


class KnowledgeBaseClosed(AtomicsError, RuntimeError):
    """A write to a KnowledgeBase after ``close()``."""


class SubscriptionOverflow(AtomicsError, RuntimeError):
    """An ``overflow="error"`` subscription fell behind by more than its ``maxsize``."""


class StorageUnavailable(AtomicsError, ConnectionError):
    """A knowledge base's server could not be reached: at connect, or for longer than its
    ``retry_timeout`` mid-run. The message names the URL, never its password. A write that
    raised it may or may not have been applied (its reply was lost): retrying it with the
    same explicit id is safe."""
