"""Linearizability checker: Wing & Gong's search with Lowe's memoisation.

A history is *linearizable* with respect to a sequential model when its operations can be
put in one total order that (a) respects real time -- if ``a`` returned before ``b`` was
called, ``a`` comes first -- and (b) replayed one by one on the model, gives every
operation the outcome it really had.

The search (Wing & Gong 1993) builds that order one operation at a time, depth first. At
each step a candidate is the next unlinearized operation of some thread whose call precedes
every unlinearized operation's return (nothing still pending finished before it started).
Lowe (2017) made this practical by remembering the configurations already explored and
found to fail: a configuration is (how many operations of each thread are linearized,
the model's state), so the model's state must be hashable -- :func:`atomics.testing.history.freeze`
derives a key from a plain object's attributes. With T threads of k operations there are at
most (k+1)^T progress vectors, times the model states reachable.

Partitioning (Horn & Kroening's P-compositionality): when the model declares, through a
``partition_key(name, args)`` static method, that operations on different keys touch
disjoint parts of its state and so commute, the history is split by key and each part
checked on its own fresh model. An operation whose key is ``None`` (``len``, ``clear``)
touches everything, and the history is then checked whole.

A step budget bounds the search. Running out gives :data:`Verdict.UNKNOWN`, which callers
treat as a failure: a limit never counts as a pass.

Blocking operations: a model's method raises :class:`~atomics.testing.history.WouldBlock`
where the real call would wait. A completed call is then linearized only at a point where
its model does not block (a WouldBlock outcome there means "not here", like any outcome that
does not match). A *pending* call -- a blocking call that never returned
(:attr:`OpRecord.pending`) -- is never linearized: the history is linearizable only if some
order of the completed operations leaves a model in which every pending call would block.
If in every such order one of them could proceed, the object failed to wake it (a lost
wake-up), and the verdict is NOT_LINEARIZABLE with those calls in ``stuck_at``.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from atomics.testing.history import PENDING, Call, OpRecord, Raised, freeze, outcome_of, would_block

__all__ = [
    "CheckResult",
    "Transitions",
    "Verdict",
    "check_history",
    "model_key",
    "partition_history",
]

DEFAULT_STEP_BUDGET = 200_000

# (model state key, call) -> (outcome, model after the call, its state key)
Transitions = dict[tuple[Hashable, Call], tuple[Any, Any, Hashable]]


class Verdict(enum.Enum):
    """The checker's answer. Only LINEARIZABLE is a pass."""

    LINEARIZABLE = "linearizable"
    NOT_LINEARIZABLE = "not linearizable"
    UNKNOWN = "unknown (step budget exhausted)"


@dataclass
class CheckResult:
    """A verdict, with what the search learned.

    ``order`` is a witness order when LINEARIZABLE, and ``blocked`` the pending operations
    (blocking calls that never returned) that the model, after that order, says would block;
    otherwise ``longest_prefix`` is the longest sequence of operations the search could
    linearize, and ``stuck_at`` the operations that were candidates after it but whose
    outcomes the model contradicted -- or, when ``longest_prefix`` holds every completed
    operation, the pending operations the model says could have proceeded.
    """

    verdict: Verdict
    steps: int
    order: list[OpRecord] = field(default_factory=list)
    longest_prefix: list[OpRecord] = field(default_factory=list)
    stuck_at: list[tuple[OpRecord, Any]] = field(default_factory=list)  # (op, model outcome)
    partition: Hashable = None
    blocked: list[OpRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True only for LINEARIZABLE."""
        return self.verdict is Verdict.LINEARIZABLE


def model_key(model: Any) -> Hashable:
    """The memo key of a model's state: ``model.state_key()`` if defined, else frozen attributes.

    >>> class Counter:
    ...     def __init__(self) -> None:
    ...         self.value = 0
    >>> model_key(Counter())
    ('Counter', ('dict', (('value', 0),)))
    """
    state_key = getattr(model, "state_key", None)
    if state_key is not None:
        return state_key()  # type: ignore[no-any-return]
    return freeze(model)


def apply_to_model(model: Any, call: Call) -> tuple[Any, Any]:
    """Replay ``call`` on a copy of ``model``: (outcome, new model). ``model`` is unchanged."""
    new = copy.deepcopy(model)
    method = getattr(new, call.name, None)
    if method is None:
        raise AttributeError(f"the model {type(model).__name__} has no operation {call.name!r}")
    return outcome_of(method, *call.args), new


def _step(
    transitions: Transitions, model: Any, key: Hashable, call: Call
) -> tuple[Any, Any, Hashable]:
    """``call`` replayed on ``model`` (whose state key is ``key``), through the memo."""
    memo_key = (key, call)
    step = transitions.get(memo_key)
    if step is None:
        outcome, new_model = apply_to_model(model, call)
        step = transitions[memo_key] = (outcome, new_model, model_key(new_model))
    return step


def outcomes_match(actual: Any, expected: Any) -> bool:
    """Compare a recorded outcome with the model's: exceptions by type and args, values by ==."""
    if isinstance(actual, Raised) or isinstance(expected, Raised):
        return bool(actual == expected)
    try:
        return bool(actual == expected)
    except Exception:  # an __eq__ that raises is a mismatch, not a checker crash
        return False


def partition_history(
    history: Sequence[OpRecord], key_of: Callable[[str, tuple[Any, ...]], Hashable] | None
) -> dict[Hashable, list[OpRecord]]:
    """Split ``history`` by ``key_of(name, args)``; one part (key None) if any key is None.

    >>> ops = [OpRecord(0, i, Call("get", (k,)), i, i + 1, None) for i, k in enumerate("aba")]
    >>> sorted((k, len(v)) for k, v in partition_history(ops, lambda n, a: a[0]).items())
    [('a', 2), ('b', 1)]
    """
    if key_of is None:
        return {None: list(history)}
    parts: dict[Hashable, list[OpRecord]] = {}
    for op in history:
        key = key_of(op.call.name, op.call.args)
        if key is None:
            return {None: list(history)}
        parts.setdefault(key, []).append(op)
    return parts


def check_history(
    history: Sequence[OpRecord],
    model_factory: Callable[[], Any],
    *,
    step_budget: int = DEFAULT_STEP_BUDGET,
    partition: bool = True,
    transitions: Transitions | None = None,
) -> CheckResult:
    """Decide whether ``history`` is linearizable with respect to ``model_factory()``.

    ``model_factory`` makes a fresh sequential model: a plain object whose methods have the
    operations' names, mutate it, and return (or raise) what the real object should. With
    ``partition`` and a model that defines ``partition_key``, each key's operations are
    checked separately; the first part that fails decides. ``step_budget`` is shared by all
    parts. Each step replays one operation on a model copy.

    ``transitions`` is a memo of model steps, (state key, call) -> (outcome, new model,
    new key). Pass the same dict when checking many histories of one scenario against one
    model: replaying a call on a state is deterministic, so each step is computed once for
    them all. The model must then not depend on anything but its state and the call.

    >>> class Register:
    ...     def __init__(self) -> None:
    ...         self.value = 0
    ...     def set(self, v: int) -> None:
    ...         self.value = v
    ...     def get(self) -> int:
    ...         return self.value
    >>> h = [OpRecord(0, 0, Call("set", (1,)), 0, 10, None),
    ...      OpRecord(1, 0, Call("get"), 5, 6, 0)]        # overlaps the set: may see 0
    >>> check_history(h, Register).verdict
    <Verdict.LINEARIZABLE: 'linearizable'>
    >>> h[1] = OpRecord(1, 0, Call("get"), 11, 12, 0)     # after the set returned: must see 1
    >>> check_history(h, Register).verdict
    <Verdict.NOT_LINEARIZABLE: 'not linearizable'>
    """
    if step_budget < 1:
        raise ValueError(f"step_budget must be at least 1, got {step_budget!r}")
    probe = model_factory()
    key_of = getattr(probe, "partition_key", None) if partition else None
    parts = partition_history(history, key_of)
    memo: Transitions = transitions if transitions is not None else {}
    steps_used = 0
    combined_order: list[OpRecord] = []
    combined_blocked: list[OpRecord] = []
    for key, part in parts.items():
        result = _search(part, model_factory, step_budget - steps_used, memo)
        steps_used += result.steps
        result.steps = steps_used
        result.partition = key
        if not result.ok:
            return result
        combined_order.extend(result.order)
        combined_blocked.extend(result.blocked)
    return CheckResult(
        Verdict.LINEARIZABLE, steps_used, order=combined_order, blocked=combined_blocked
    )


def _search(
    history: Sequence[OpRecord],
    model_factory: Callable[[], Any],
    budget: int,
    transitions: Transitions,
) -> CheckResult:
    # Blocking calls that never returned are not linearized: they must block at the end.
    pending = [op for op in history if op.outcome is PENDING]
    if pending:
        history = [op for op in history if op.outcome is not PENDING]
    # Per-thread operation lists, each in program order (which is also time order).
    by_thread: dict[int, list[OpRecord]] = {}
    for op in sorted(history, key=lambda o: (o.thread, o.index)):
        by_thread.setdefault(op.thread, []).append(op)
    threads = list(by_thread.values())
    total = len(history)

    def could_proceed(model: Any, key: Hashable) -> list[tuple[OpRecord, Any]]:
        """The pending operations that ``model`` says would not block (with its outcome)."""
        proceeding = []
        for op in pending:
            outcome = _step(transitions, model, key, op.call)[0]
            if not would_block(outcome):
                proceeding.append((op, outcome))
        return proceeding

    if total == 0:
        if not pending:
            return CheckResult(Verdict.LINEARIZABLE, 0)
        start_model = model_factory()
        proceeding = could_proceed(start_model, model_key(start_model))
        if proceeding:
            return CheckResult(Verdict.NOT_LINEARIZABLE, 1, stuck_at=proceeding)
        return CheckResult(Verdict.LINEARIZABLE, 1, blocked=pending)

    failed: set[tuple[tuple[int, ...], Hashable]] = set()  # Lowe's memo of dead configurations

    start_model = model_factory()
    start_key = model_key(start_model)
    progress = [0] * len(threads)
    order: list[OpRecord] = []  # the linearization being built
    order_threads: list[int] = []  # the thread slot of each entry of ``order``
    best: list[OpRecord] = []
    best_stuck: list[tuple[OpRecord, Any]] = []
    steps = 0

    # Explicit DFS stack: (model, key, candidate list, next candidate position).
    def candidates() -> list[int]:
        pending = [ops[progress[t]] for t, ops in enumerate(threads) if progress[t] < len(ops)]
        earliest_return = min(op.return_ns for op in pending)
        # A thread's next operation may go next if it was called no later than the earliest
        # return among pending operations (equal timestamps count as overlapping).
        return [
            t
            for t, ops in enumerate(threads)
            if progress[t] < len(ops) and ops[progress[t]].call_ns <= earliest_return
        ]

    stack: list[tuple[Any, Hashable, list[int], int]] = [(start_model, start_key, candidates(), 0)]
    stuck_here: list[tuple[OpRecord, Any]] = []
    while stack:
        model, key, cands, pos = stack[-1]
        if pos == len(cands):
            # Every candidate failed: remember this configuration, and undo the last step.
            failed.add((tuple(progress), key))
            if len(order) >= len(best) and stuck_here:
                best, best_stuck = list(order), stuck_here
            stuck_here = []
            stack.pop()
            if order:
                order.pop()
                progress[order_threads.pop()] -= 1
            continue
        stack[-1] = (model, key, cands, pos + 1)
        t = cands[pos]
        op = threads[t][progress[t]]
        if steps >= budget:
            return CheckResult(
                Verdict.UNKNOWN, steps, longest_prefix=best or list(order), stuck_at=best_stuck
            )
        steps += 1
        memo_key = (key, op.call)
        if memo_key not in transitions:
            outcome, new_model = apply_to_model(model, op.call)
            transitions[memo_key] = (outcome, new_model, model_key(new_model))
        outcome, new_model, new_key = transitions[memo_key]
        if not outcomes_match(op.outcome, outcome):
            stuck_here.append((op, outcome))  # a WouldBlock outcome: "not here" as well
            continue
        progress[t] += 1
        if (tuple(progress), new_key) in failed:
            progress[t] -= 1
            continue
        order.append(op)
        order_threads.append(t)
        if len(order) == total:
            if not pending:
                return CheckResult(Verdict.LINEARIZABLE, steps, order=list(order))
            proceeding = could_proceed(new_model, new_key)
            if not proceeding:
                return CheckResult(Verdict.LINEARIZABLE, steps, order=list(order), blocked=pending)
            # A pending call could proceed after this order: try another order.
            failed.add((tuple(progress), new_key))
            best, best_stuck = list(order), proceeding
            order.pop()
            order_threads.pop()
            progress[t] -= 1
            continue
        stuck_here = []
        stack.append((new_model, new_key, candidates(), 0))
    return CheckResult(Verdict.NOT_LINEARIZABLE, steps, longest_prefix=best, stuck_at=best_stuck)
