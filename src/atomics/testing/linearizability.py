"""Run a scenario many times on real threads and check every history against a model.

The entry point inside a Hypothesis test is :func:`assert_linearizable`::

    @settings(atomics.testing.SETTINGS)
    @given(scenario=scenarios({"add": st.tuples(st.integers(0, 3)), "get": None}))
    def test_counter(scenario):
        assert_linearizable(scenario, factory=MyCounter, model=CounterModel)

Each scenario runs ``invocations`` times (or until ``time_budget`` seconds pass), since one
run rarely hits the bad interleaving. The first history that is not linearizable -- or that
the checker could not decide within its step budget -- fails the test with a report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atomics import runtime
from atomics.testing.checker import (
    DEFAULT_STEP_BUDGET,
    CheckResult,
    Transitions,
    Verdict,
    check_history,
)
from atomics.testing.history import OpRecord
from atomics.testing.runner import (
    DEFAULT_BLOCK_GRACE,
    Blocked,
    HarnessTimeout,
    WorkerPool,
    forced_switching,
    resolve_blocked,
    run_invocation,
    shared_pool,
)
from atomics.testing.scenario import Scenario

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
from atomics.testing.stats import stats

__all__ = [
    "DEFAULT_INVOCATIONS",
    "LinearizabilityError",
    "ScenarioResult",
    "assert_linearizable",
    "check_scenario",
    "find_violation",
    "format_report",
]

DEFAULT_INVOCATIONS = 100  # per scenario; docs/testing.md says how this was chosen
DEFAULT_TIME_BUDGET = 1.0  # seconds per scenario at most, whichever limit comes first


@dataclass
class ScenarioResult:
    """What :func:`check_scenario` found: counts, and the first failing history if any.

    ``blocked_invocations`` counts the invocations that ended with blocking calls that never
    returned, as the model allows (not failures); ``blocked`` describes the first of them,
    or the failing one when the model did not allow it (a lost wake-up).
    """

    scenario: Scenario
    invocations: int = 0
    histories_checked: int = 0
    seconds: float = 0.0
    failure: CheckResult | None = None
    failing_history: list[OpRecord] = field(default_factory=list)
    blocked_invocations: int = 0
    blocked: Blocked | None = None

    @property
    def ok(self) -> bool:
        """True when every history run was linearizable."""
        return self.failure is None


class LinearizabilityError(AssertionError):
    """A history was not linearizable (or could not be decided). The message is the report."""

    def __init__(self, report: str, result: ScenarioResult) -> None:
        super().__init__(report)
        self.result = result


def _overlapping(history: list[OpRecord]) -> int:
    """How many operations overlapped in time an operation of another thread."""
    count = 0
    for op in history:
        for other in history:
            if (
                other.thread != op.thread
                and other.call_ns < op.return_ns
                and op.call_ns < other.return_ns
            ):
                count += 1
                break
    return count


def check_scenario(
    scenario: Scenario,
    factory: Callable[[], Any],
    model: Callable[[], Any],
    *,
    invocations: int = DEFAULT_INVOCATIONS,
    time_budget: float = DEFAULT_TIME_BUDGET,
    step_budget: int = DEFAULT_STEP_BUDGET,
    pool: WorkerPool | None = None,
    timeout: float = 30.0,
    block_grace: float = DEFAULT_BLOCK_GRACE,
    unblock: Callable[[Any], object] | None = None,
) -> ScenarioResult:
    """Run ``scenario`` against fresh ``factory()`` objects; check each history on ``model()``.

    Stops at the first failing history, after ``invocations`` runs, or once ``time_budget``
    seconds have passed (at least one invocation always runs). ``pool`` defaults to the
    process-wide :func:`~atomics.testing.runner.shared_pool`; ``timeout`` bounds each
    invocation (a hang raises :class:`~atomics.testing.runner.HarnessTimeout` with every
    thread's stack). Call from the main thread.

    Blocking operations (the model's ``blocking`` attribute names them; docs/testing.md):
    an invocation whose remaining threads sit in blocking calls for ``block_grace`` seconds
    ends there. If the model says every such call would block, it is counted in
    ``blocked_invocations``, not a failure; else it is a failure (a lost wake-up).
    ``unblock(obj)`` frees the blocked calls so that the pool can go on; without it the pool
    is retired and the scenario stops after that invocation.
    """
    _check_options(
        scenario, factory, model, invocations, time_budget, step_budget, timeout, block_grace
    )
    if unblock is not None and not callable(unblock):
        raise TypeError(f"unblock must be a callable or None, got {unblock!r}")
    pool = pool if pool is not None else shared_pool(max(1, scenario.threads), timeout)
    result = ScenarioResult(scenario)
    stats.scenarios += 1
    began = time.perf_counter()
    deadline = began + time_budget
    seen: set[tuple[Any, ...]] = set()
    transitions: Transitions = {}  # model steps, shared by every history of this scenario
    blocking = _declared_blocking(model)

    def check(history: list[OpRecord]) -> CheckResult:
        return check_history(history, model, step_budget=step_budget, transitions=transitions)

    with forced_switching():
        for _ in range(invocations):
            try:
                history = run_invocation(
                    scenario, factory, pool, blocking=blocking, block_grace=block_grace
                )
                if pool.holding:
                    history = resolve_blocked(pool, history, lambda h: check(h).ok, unblock=unblock)
            except HarnessTimeout as exc:  # fail with the scenario, and every stack
                raise HarnessTimeout(
                    f"scenario:\n{_indent(scenario.table())}\n  {scenario!r}\n{exc}"
                ) from None
            pending = tuple(op for op in history if op.pending) if blocking else ()
            result.invocations += 1
            stats.invocations += 1
            stats.operations += len(history)
            # Identical outcomes in an identical real-time order need checking only once.
            signature = _signature(history)
            checked = None
            if signature not in seen:
                seen.add(signature)
                checked = check(history)
                result.histories_checked += 1
                stats.histories_checked += 1
                stats.checked_operations += len(history)
                stats.overlapping_operations += _overlapping(history)
                if not checked.ok:
                    stats.failures += 1
                    result.failure, result.failing_history = checked, history
                    if pending:
                        result.blocked = _blocked(scenario, history, pending, pool, ())
                    break
            if pending:
                result.blocked_invocations += 1
                if result.blocked is None:
                    order = tuple(checked.order) if checked is not None else ()
                    result.blocked = _blocked(scenario, history, pending, pool, order)
                if pool.broken:
                    break  # the blocked workers could not be freed: no pool to go on with
            if time.perf_counter() > deadline:
                break
    result.seconds = time.perf_counter() - began
    return result


def _declared_blocking(model: Callable[[], Any]) -> frozenset[str]:
    """The model's ``blocking`` operation names: read on the class when ``model`` is one (no
    instance made), else on a fresh instance."""
    names = getattr(model, "blocking", None)
    if names is None and not isinstance(model, type):
        names = getattr(model(), "blocking", None)
    return frozenset(names or ())


def _blocked(
    scenario: Scenario,
    history: list[OpRecord],
    pending: tuple[OpRecord, ...],
    pool: WorkerPool,
    order: tuple[OpRecord, ...],
) -> Blocked:
    return Blocked(
        pending, tuple(history), pool.blocked_stacks, not pool.broken, scenario.threads, order
    )


def _check_options(
    scenario: Scenario,
    factory: Callable[[], Any],
    model: Callable[[], Any],
    invocations: int,
    time_budget: float,
    step_budget: int,
    timeout: float,
    block_grace: float,
) -> None:
    """TypeError/ValueError naming the argument, before anything runs."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    for name, value in (("factory", factory), ("model", model)):
        if not callable(value):
            raise TypeError(f"{name} must be callable (a class or a function), got {value!r}")
    for name, count in (("invocations", invocations), ("step_budget", step_budget)):
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError(f"{name} must be an int, got {count!r}")
        if count < 1:
            raise ValueError(f"{name} must be at least 1, got {count!r}")
    for name, seconds in (
        ("time_budget", time_budget),
        ("timeout", timeout),
        ("block_grace", block_grace),
    ):
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise TypeError(f"{name} must be a number of seconds, got {seconds!r}")
        if not seconds > 0 or seconds == float("inf"):
            raise ValueError(
                f"{name} must be a positive, finite number of seconds, got {seconds!r}"
            )


def _signature(history: list[OpRecord]) -> tuple[Any, ...]:
    outcomes = tuple((op.thread, op.index, repr(op.outcome)) for op in history)
    precedes = tuple(
        (a.thread, a.index, b.thread, b.index)
        for a in history
        for b in history
        if a.thread != b.thread and a.return_ns < b.call_ns
    )
    return outcomes, precedes


def assert_linearizable(
    scenario: Scenario,
    factory: Callable[[], Any],
    model: Callable[[], Any],
    *,
    invocations: int = DEFAULT_INVOCATIONS,
    time_budget: float = DEFAULT_TIME_BUDGET,
    step_budget: int = DEFAULT_STEP_BUDGET,
    pool: WorkerPool | None = None,
    timeout: float = 30.0,
    block_grace: float = DEFAULT_BLOCK_GRACE,
    unblock: Callable[[Any], object] | None = None,
) -> ScenarioResult:
    """Like :func:`check_scenario`, but raise :class:`LinearizabilityError` on failure.

    Made to be called inside a Hypothesis ``@given`` test, which then shrinks the scenario.

    >>> import threading
    >>> from atomics.testing.controls import LockedCounter, CounterModel
    >>> from atomics.testing.scenario import fixed_scenario
    >>> from atomics.testing.history import Call
    >>> s = fixed_scenario([[Call("increment")] * 2] * 2, suffix=[Call("get")])
    >>> assert_linearizable(s, LockedCounter, CounterModel, invocations=20).ok
    True
    """
    result = check_scenario(
        scenario,
        factory,
        model,
        invocations=invocations,
        time_budget=time_budget,
        step_budget=step_budget,
        pool=pool,
        timeout=timeout,
        block_grace=block_grace,
        unblock=unblock,
    )
    if not result.ok:
        raise LinearizabilityError(format_report(result), result)
    return result


def find_violation(
    operations: Mapping[str, SearchStrategy[tuple[Any, ...]] | None],
    factory: Callable[[], Any],
    model: Callable[[], Any],
    *,
    max_examples: int = 50,
    attempts: int = 1,
    time_budget: float | None = None,
    threads: int | tuple[int, int] = (2, 4),
    ops_per_thread: int | tuple[int, int] = (3, 6),
    invocations: int = DEFAULT_INVOCATIONS,
    step_budget: int = DEFAULT_STEP_BUDGET,
    timeout: float = 30.0,
    block_grace: float = DEFAULT_BLOCK_GRACE,
    unblock: Callable[[Any], object] | None = None,
    scenario_options: Mapping[str, Any] | None = None,
) -> LinearizabilityError | None:
    """Run a ``@given`` linearizability test over ``operations`` as a user's test would
    (Hypothesis generation only, no shrinking, no example database); return the first
    :class:`LinearizabilityError`, or None if every history was linearizable.

    Made for negative controls: ``assert find_violation(OPS, BrokenThing, Model)`` says the
    test *can* fail. ``attempts`` repeats the whole run until a violation is found;
    ``time_budget`` (seconds) instead repeats it until one is found or the budget is spent
    (at least one run). Prefer ``time_budget`` in a test suite: a fixed, small number of
    attempts flakes when a busy machine runs the threads together less often, while a search
    with a budget of tens of seconds ends as soon as it finds the violation, usually at
    once. ``threads`` and ``ops_per_thread`` go to :func:`~atomics.testing.scenarios`;
    ``invocations``, ``step_budget``, ``timeout``, ``block_grace`` and ``unblock`` to
    :func:`assert_linearizable`
    (``scenario_options``, a mapping for :func:`~atomics.testing.scenarios`, is deprecated).
    Needs Hypothesis.

    >>> from atomics.testing.controls import CounterModel, LockedCounter
    >>> find_violation({"increment": None, "get": None}, LockedCounter, CounterModel,
    ...                max_examples=3, invocations=5) is None
    True
    """
    from atomics.testing.scenario import needs_hypothesis

    needs_hypothesis("atomics.testing.find_violation()")
    from hypothesis import Phase, given, settings
    from hypothesis.errors import Flaky

    from atomics.testing import SETTINGS
    from atomics.testing.scenario import scenarios

    found: list[LinearizabilityError] = []
    deadline = None if time_budget is None else time.monotonic() + time_budget
    drawn: dict[str, Any] = {"threads": threads, "ops_per_thread": ops_per_thread}
    if scenario_options is not None:
        import warnings

        warnings.warn(
            "find_violation(scenario_options=...) is deprecated: pass threads= and "
            "ops_per_thread= (or draw your own scenarios)",
            DeprecationWarning,
            stacklevel=2,
        )
        drawn.update(scenario_options)

    @settings(SETTINGS, max_examples=max_examples, phases=[Phase.generate], database=None)
    @given(scenarios(operations, **drawn))
    def probe(scenario: Scenario) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            return  # the budget is spent: the run's remaining examples end at once
        try:
            assert_linearizable(
                scenario,
                factory,
                model,
                invocations=invocations,
                step_budget=step_budget,
                timeout=timeout,
                block_grace=block_grace,
                unblock=unblock,
            )
        except LinearizabilityError as exc:
            found.append(exc)
            raise

    runs = 0
    while True:
        try:
            probe()
        except (LinearizabilityError, Flaky):
            if found:
                return found[0]
            raise
        runs += 1
        if deadline is None and runs >= attempts:
            return None
        if deadline is not None and time.monotonic() >= deadline:
            return None


def format_report(result: ScenarioResult) -> str:
    """The failure report: interpreter, scenario table, timed history, longest linearizable
    prefix, the operations the model contradicted, and how to reproduce."""
    failure = result.failure
    if failure is None:
        return f"linearizable: {result.invocations} invocations, {result.histories_checked} checked"
    history = sorted(result.failing_history, key=lambda op: op.call_ns)
    origin = history[0].call_ns if history else 0

    def label(op: OpRecord) -> str:
        if op.thread < 0:
            return "prefix"
        if op.thread >= result.scenario.threads:
            return "suffix"
        return f"T{op.thread}"

    lost_wakeup = any(op.pending for op, _ in failure.stuck_at)
    lines = [
        f"{failure.verdict.value.upper()}: a history of this scenario has no valid sequential"
        " order"
        + (
            " (calls stayed blocked that the model says could proceed: a lost wake-up)"
            if lost_wakeup
            else ""
        ),
        f"  found at invocation {result.invocations} ({result.seconds:.2f}s, "
        f"{result.histories_checked} distinct histories checked, {failure.steps} checker steps)",
        f"  interpreter: {runtime.describe()}, {runtime.cpu_count()} CPUs",
    ]
    if failure.verdict is Verdict.UNKNOWN:
        lines.append("  the checker ran out of steps: raise step_budget; UNKNOWN never passes")
    if failure.partition is not None:
        lines.append(f"  checked separately: the operations on key {failure.partition!r}")
    lines += [
        "",
        "Scenario:",
        _indent(result.scenario.table()),
        "",
        "History (times in us from the first call):",
    ]
    for op in history:
        start = (op.call_ns - origin) / 1000
        end = "never" if op.pending else f"{(op.return_ns - origin) / 1000:9.1f}"
        lines.append(f"  {start:9.1f} .. {end:>9}  {label(op):>6}[{op.index}] {op}")
    lines += ["", f"Longest linearizable prefix ({len(failure.longest_prefix)} operations):"]
    lines += [f"  {label(op)}[{op.index}] {op}" for op in failure.longest_prefix] or ["  (none)"]
    if failure.stuck_at and lost_wakeup:
        lines += [
            "",
            "After any order of the completed operations, calls stayed blocked that could proceed:",
        ]
        lines += [
            f"  {label(op)}[{op.index}] {op.call} never returned; the model says {expected!r}"
            for op, expected in failure.stuck_at
        ]
    elif failure.stuck_at:
        lines += ["", "After it, every candidate contradicts the model:"]
        lines += [
            f"  {label(op)}[{op.index}] {op.call} returned {op.outcome!r};"
            f" the model says {expected!r}"
            for op, expected in failure.stuck_at
        ]
    if lost_wakeup and result.blocked is not None:
        lines += ["", "Stacks of all threads, the calls still blocked:", result.blocked.stacks]
    lines += [
        "",
        "Reproduce: Hypothesis prints the falsifying example and, with print_blob=True (set by",
        "atomics.testing.SETTINGS), a @reproduce_failure(...) line; or pin this scenario with",
        f"  @example(scenario={result.scenario!r})",
    ]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
