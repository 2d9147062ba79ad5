"""Scenarios (Lincheck's shape) and the Hypothesis strategy that draws them.

A :class:`Scenario` is an optional sequential prefix, then T threads of k operations run in
parallel, then an optional sequential suffix. Operations are drawn from a user's table --
a mapping from method name to a strategy for its argument tuple -- on the main thread only
(Hypothesis is never called from a worker thread). Defaults are small on purpose: 2-4
threads, 3-6 operations each, and small key and value domains, so that threads collide.

Hypothesis is imported only by :func:`scenarios`; the rest of the harness needs nothing
outside the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atomics.testing.history import Call

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["Scenario", "scenarios", "small_keys", "small_values"]


@dataclass(frozen=True)
class Scenario:
    """Operations to run: ``prefix`` alone, ``parallel[t]`` on thread t, then ``suffix`` alone.

    Its ``repr`` is valid Python, so a failing scenario can be pasted into
    ``@hypothesis.example(scenario=...)`` to pin it.

    >>> s = Scenario(parallel=((Call("add", (1,)),), (Call("get"),)))
    >>> print(s.table())
    thread 0    thread 1
    --------    --------
    add(1)      get()
    """

    parallel: tuple[tuple[Call, ...], ...]
    prefix: tuple[Call, ...] = ()
    suffix: tuple[Call, ...] = ()

    @property
    def threads(self) -> int:
        """The number of parallel threads."""
        return len(self.parallel)

    @property
    def size(self) -> int:
        """The total number of operations."""
        return len(self.prefix) + sum(map(len, self.parallel)) + len(self.suffix)

    def table(self) -> str:
        """The scenario as a per-thread table (prefix above, suffix below)."""
        lines: list[str] = []
        if self.prefix:
            lines.append("prefix: " + "; ".join(map(str, self.prefix)))
        columns = [[str(call) for call in calls] for calls in self.parallel]
        headers = [f"thread {t}" for t in range(len(columns))]
        widths = [
            max([len(h)] + [len(c) for c in col]) + 4
            for h, col in zip(headers, columns, strict=True)
        ]
        lines.append("".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
        lines.append(
            "".join(("-" * len(h)).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
        )
        for row in range(max(map(len, columns), default=0)):
            cells = [col[row] if row < len(col) else "" for col in columns]
            lines.append("".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if self.suffix:
            lines.append("suffix: " + "; ".join(map(str, self.suffix)))
        return "\n".join(lines)


def needs_hypothesis(what: str) -> None:
    """Raise an ``ImportError`` saying that ``what`` needs Hypothesis, and how to install
    it, when Hypothesis cannot be imported."""
    try:
        import hypothesis  # noqa: F401
    except ImportError as error:
        raise ImportError(f"{what} needs Hypothesis: pip install 'ft-atomics[test]'") from error


def small_keys(n: int = 3) -> SearchStrategy[str]:
    """Keys from a domain of ``n`` ("k0", "k1", ...): small, so that threads collide."""
    needs_hypothesis("atomics.testing.scenario.small_keys()")
    from hypothesis import strategies as st

    return st.sampled_from([f"k{i}" for i in range(n)])


def small_values(n: int = 4) -> SearchStrategy[int]:
    """Integers 0..n-1: small, so that equal values (and ABA patterns) occur."""
    needs_hypothesis("atomics.testing.scenario.small_values()")
    from hypothesis import strategies as st

    return st.integers(min_value=0, max_value=n - 1)


def _as_range(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    low, high = (value, value) if isinstance(value, int) else value
    if low < 0 or high < low:
        raise ValueError(f"{name} must be a count or a (min, max) range, got {value!r}")
    return low, high


def scenarios(
    operations: Mapping[str, SearchStrategy[tuple[Any, ...]] | None],
    *,
    threads: int | tuple[int, int] = (2, 4),
    ops_per_thread: int | tuple[int, int] = (3, 6),
    prefix: int | tuple[int, int] = (0, 2),
    suffix: int | tuple[int, int] = (0, 2),
    prefix_operations: Mapping[str, SearchStrategy[tuple[Any, ...]] | None] | None = None,
    suffix_operations: Mapping[str, SearchStrategy[tuple[Any, ...]] | None] | None = None,
) -> SearchStrategy[Scenario]:
    """A Hypothesis strategy for :class:`Scenario` objects over an operation table.

    ``operations`` maps each method name to a strategy for its positional arguments (a
    tuple), or ``None`` for a method without arguments. ``threads``, ``ops_per_thread``,
    ``prefix`` and ``suffix`` are counts or inclusive (min, max) ranges. The prefix draws
    from ``prefix_operations`` when given (for example only inserts), the suffix from
    ``suffix_operations`` (for example a read that is only exact when no write is in
    flight), else both from ``operations``. Hypothesis shrinks toward fewer threads and
    operations, and toward the first operation in the table.

    >>> from hypothesis import strategies as st
    >>> strategy = scenarios({"add": st.tuples(st.integers(0, 3)), "get": None})
    """
    needs_hypothesis("atomics.testing.scenarios()")
    from hypothesis import strategies as st

    if not operations:
        raise ValueError("operations must name at least one operation")
    t_low, t_high = _as_range(threads, "threads")
    if t_low < 1:
        raise ValueError("threads must be at least 1")
    k_range = _as_range(ops_per_thread, "ops_per_thread")
    p_range = _as_range(prefix, "prefix")
    s_range = _as_range(suffix, "suffix")

    def calls_from(table: Mapping[str, SearchStrategy[tuple[Any, ...]] | None]) -> Any:
        options = [
            st.builds(Call, st.just(name), args if args is not None else st.just(()))
            for name, args in table.items()
        ]
        return st.one_of(options)

    call = calls_from(operations)
    prefix_call = calls_from(prefix_operations) if prefix_operations else call
    suffix_call = calls_from(suffix_operations) if suffix_operations else call

    def sequence(of: Any, size: tuple[int, int]) -> Any:
        return st.lists(of, min_size=size[0], max_size=size[1]).map(tuple)

    parallel = st.lists(sequence(call, k_range), min_size=t_low, max_size=t_high).map(tuple)
    return st.builds(
        Scenario,
        parallel=parallel,
        prefix=sequence(prefix_call, p_range),
        suffix=sequence(suffix_call, s_range),
    )


def fixed_scenario(
    parallel: Sequence[Sequence[Call | str | tuple[str, tuple[Any, ...]]]],
    prefix: Sequence[Call | str | tuple[str, tuple[Any, ...]]] = (),
    suffix: Sequence[Call | str | tuple[str, tuple[Any, ...]]] = (),
) -> Scenario:
    """A :class:`Scenario` from lists (for hand-written scenarios and tests). Each
    operation is a :class:`Call`, a method name, or a ``(name, args)`` tuple.

    >>> fixed_scenario([["get", ("add", (1,))]]).parallel
    ((Call('get', ()), Call('add', (1,))),)
    """

    def calls(ops: Sequence[Any], where: str) -> tuple[Call, ...]:
        if isinstance(ops, (str, Call)):
            raise TypeError(f"{where} must be a list of operations, got {ops!r}")
        return tuple(_as_call(op, where) for op in ops)

    if isinstance(parallel, (str, Call)):
        raise TypeError(f"parallel must be a list of per-thread lists, got {parallel!r}")
    return Scenario(
        tuple(calls(ops, f"parallel[{t}]") for t, ops in enumerate(parallel)),
        calls(prefix, "prefix"),
        calls(suffix, "suffix"),
    )


def _as_call(op: Any, where: str) -> Call:
    if isinstance(op, Call):
        return op
    if isinstance(op, str):
        return Call(op)
    if (
        isinstance(op, tuple)
        and len(op) == 2
        and isinstance(op[0], str)
        and isinstance(op[1], tuple)
    ):
        return Call(op[0], op[1])
    raise TypeError(
        f"an operation in {where} must be a Call, a method name or a (name, args) tuple, got {op!r}"
    )
