"""WorkerPool, run_invocation and forced_switching."""

from __future__ import annotations

import itertools
import sys
import threading

import pytest

from atomics import runtime
from atomics.testing import Call, HarnessError, HarnessTimeout, WorkerPool
from atomics.testing.history import Raised
from atomics.testing.runner import forced_switching, run_invocation
from atomics.testing.scenario import fixed_scenario


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, int]] = []

    def note(self, value: int) -> int:
        with self.lock:
            self.seen.append((threading.current_thread().name, value))
        return value * 10

    def fail(self) -> None:
        raise KeyError("boom")


def test_pool_runs_each_thread_in_program_order() -> None:
    target = Recorder()
    with WorkerPool(3) as pool:
        records = pool.run(
            target, [[Call("note", (i,)) for i in range(t * 10, t * 10 + 4)] for t in range(3)]
        )
    assert len(records) == 12
    for t in range(3):
        mine = [r for r in records if r.thread == t]
        assert [r.index for r in mine] == [0, 1, 2, 3]
        assert [r.outcome for r in mine] == [v * 10 for v in range(t * 10, t * 10 + 4)]
        assert all(a.return_ns <= b.call_ns for a, b in itertools.pairwise(mine))
        assert all(r.call_ns <= r.return_ns for r in mine)
        names = {name for name, value in target.seen if t * 10 <= value < t * 10 + 4}
        assert len(names) == 1  # one worker thread per scenario thread


def test_pool_is_persistent_across_invocations() -> None:
    with WorkerPool(2) as pool:
        names = set()
        for _ in range(20):
            target = Recorder()
            pool.run(target, [[Call("note", (1,))], [Call("note", (2,))]])
            names |= {name for name, _ in target.seen}
    assert names == {"atomics-worker-0", "atomics-worker-1"}


def test_exceptions_are_recorded_as_outcomes() -> None:
    with WorkerPool(1) as pool:
        (record,) = pool.run(Recorder(), [[Call("fail")]])
    assert record.outcome == Raised(KeyError, ("boom",))


def test_harness_errors_are_reported_not_lost() -> None:
    with WorkerPool(2) as pool, pytest.raises(HarnessError, match=r"worker 1 failed.*no_such"):
        pool.run(Recorder(), [[Call("note", (1,))], [Call("no_such")]])


def test_fewer_scenario_threads_than_workers() -> None:
    with WorkerPool(4) as pool:
        records = pool.run(Recorder(), [[Call("note", (1,))]])
    assert [r.outcome for r in records] == [10]


def test_too_many_scenario_threads() -> None:
    with WorkerPool(1) as pool, pytest.raises(ValueError, match="2 threads"):
        pool.run(Recorder(), [[], []])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="threads"):
        WorkerPool(0)
    with pytest.raises(TypeError, match="threads"):
        WorkerPool(2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        WorkerPool(1, timeout=0)


class Hangs:
    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def wait(self) -> None:
        self.release.wait(60)  # a hang the test ends itself


def test_hang_times_out_with_every_stack() -> None:
    release = threading.Event()
    pool = WorkerPool(2, timeout=0.5)
    try:
        with pytest.raises(HarnessTimeout) as caught:
            pool.run(Hangs(release), [[Call("wait")], []])
        message = str(caught.value)
        assert "did not finish within 0.5s" in message
        assert "atomics-worker" in message or "Thread 0x" in message
        assert "in wait" in message  # the hung frame is in the dump
        assert pool.broken
        with pytest.raises(HarnessError, match="broken"):
            pool.run(Recorder(), [[]])
    finally:
        release.set()
        pool.close()


def test_hang_in_a_scenario_reports_the_scenario() -> None:
    from atomics.testing import check_scenario

    release = threading.Event()
    scenario = fixed_scenario([[Call("wait")], [Call("wait")]])
    try:
        with pytest.raises(HarnessTimeout) as caught:
            check_scenario(scenario, lambda: Hangs(release), Hangs, timeout=0.5)
        message = str(caught.value)
        assert "thread 0    thread 1" in message
        assert repr(scenario) in message
        assert "in wait" in message
    finally:
        release.set()


def test_run_invocation_records_prefix_and_suffix_threads() -> None:
    scenario = fixed_scenario(
        [[Call("note", (1,))], [Call("note", (2,))]],
        prefix=[Call("note", (0,))],
        suffix=[Call("note", (3,))],
    )
    with WorkerPool(2) as pool:
        history = run_invocation(scenario, Recorder, pool)
    by_thread = {r.thread: r.outcome for r in history}
    assert by_thread == {-1: 0, 0: 10, 1: 20, 2: 30}
    prefix, suffix = history[0], history[-1]
    parallel = [r for r in history if r.thread in (0, 1)]
    assert all(prefix.return_ns <= r.call_ns for r in parallel)
    assert all(r.return_ns <= suffix.call_ns for r in parallel)


def test_forced_switching_restores_interval() -> None:
    before = sys.getswitchinterval()
    with forced_switching():
        inside = sys.getswitchinterval()
    assert sys.getswitchinterval() == before
    if runtime.gil_enabled():
        assert inside < before
    else:
        assert inside == before


def test_forced_switching_restores_after_error() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), forced_switching():
        raise RuntimeError
    assert sys.getswitchinterval() == before
