"""``python -m atomics demo``: the article's Research Swarm, done right.

The article that promised ``threading.AtomicInteger`` ran "agents" doing pure-Python
CPU-bound reasoning and sharing findings through a knowledge base that is one lock around a
dict of lists plus a counter (:class:`ArticleKnowledgeBase`), and checked the runtime with
``sys.flags.nogil`` -- which does not exist, so it reported False even on a free-threaded
build. Its swarm also shared a ``SwarmState`` of plain dicts without a lock
(:class:`ArticleSwarmState`): agents read-decide-write the best finding and do
``counts["steps"] += 1`` -- and a step that timed out and ran again appended its finding
twice. This demo reports the runtime correctly (``sys._is_gil_enabled()`` and the
``Py_GIL_DISABLED`` build flag), then runs the same swarm, the same retries included, at 1,
2, ... up to ``cpu_count()`` threads on the :class:`~atomics.KnowledgeBase` (insights with
ids, a step counted once by a compare-and-set, the best finding by a compare-and-set loop,
one subscriber summarising live) and on the article's structures as published, printing
wall time, speedup over one thread, insights, duplicates, lost updates and conflicts
detected.

>>> rows = run_agent_scaling([1, 2], iterations=2_000, repeats=1)
>>> [row.threads for row in rows]
[1, 2]
>>> result = run_swarm(KnowledgeBase(), threads=2, agents=3, steps=4, work=100)
>>> result.insights, result.duplicates, result.lost_updates, result.conflicts >= 3
(12, 0, 0, True)
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import secrets
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from atomics import _locks, runtime
from atomics.kb import Conflict, KnowledgeBase

__all__ = [
    "ArticleKnowledgeBase",
    "ArticleSwarmState",
    "BackendError",
    "ScalingRow",
    "SwarmResult",
    "agent_reasoning",
    "main",
    "run_agent_scaling",
    "run_swarm",
    "run_swarm_processes",
    "thread_counts",
]

FIELDS = ("physics", "biology", "chemistry", "economics")


def agent_reasoning(agent_id: int, iterations: int) -> int:
    """One agent's CPU-bound work: pure-Python arithmetic, no I/O, no shared state.

    >>> agent_reasoning(3, 10)
    23
    """
    score = 0
    for step in range(iterations):
        score += (step * agent_id + 7) % 11 // 2
    return score


@dataclass(frozen=True)
class ScalingRow:
    """Measured throughput of ``threads`` agents, each on its own thread."""

    threads: int
    median_seconds: float
    ops_per_second: float
    speedup: float  # aggregate throughput relative to the 1-thread row
    efficiency: float  # speedup / threads
    seconds_samples: tuple[float, ...] = ()  # every repetition's wall time, in run order


def _run_agents(threads: int, iterations: int) -> float:
    """Run ``threads`` agents in parallel from a common start; return the wall time."""
    start_line = threading.Barrier(threads + 1)
    results = [0] * threads  # one slot per thread: no two threads write the same slot

    def agent(index: int) -> None:
        start_line.wait()
        results[index] = agent_reasoning(index + 1, iterations)

    workers = [threading.Thread(target=agent, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start_line.wait()  # every worker is started and waiting: release them together
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began


def run_agent_scaling(
    counts: Sequence[int], *, iterations: int = 2_000_000, repeats: int = 5
) -> list[ScalingRow]:
    """Measure the agent workload at each thread count; medians of ``repeats`` runs.

    ``counts`` must start with 1, the baseline for speedups.
    """
    if not counts or counts[0] != 1:
        raise ValueError("counts must start with 1 (the baseline)")
    _run_agents(max(counts), max(1, iterations // 4))  # warm-up: thread start, CPU clocks
    # Interleave the sizes (1, 2, 4, 1, 2, 4, ...) so that drift in the machine's speed
    # during the run affects every size alike instead of biasing the ratios.
    timings: dict[int, list[float]] = {threads: [] for threads in counts}
    for _ in range(repeats):
        for threads in counts:
            timings[threads].append(_run_agents(threads, iterations))
    rows: list[ScalingRow] = []
    base_rate = iterations / statistics.median(timings[1])
    for threads in counts:
        seconds = statistics.median(timings[threads])
        rate = threads * iterations / seconds
        speedup = rate / base_rate
        rows.append(
            ScalingRow(threads, seconds, rate, speedup, speedup / threads, tuple(timings[threads]))
        )
    return rows


def thread_counts(cpus: int) -> list[int]:
    """Powers of two up to the CPU count, the CPU count itself, and 2x it (oversubscribed).

    >>> thread_counts(2)
    [1, 2, 4]
    >>> thread_counts(6)
    [1, 2, 4, 6, 12]
    """
    counts = []
    n = 1
    while n < cpus:
        counts.append(n)
        n *= 2
    counts += [cpus, 2 * cpus]
    return sorted(set(counts))


class ArticleKnowledgeBase:
    """The article's SharedKnowledgeBase: one lock around a dict of lists, plus a counter.
    Appends are safe; nothing else is offered (no ids, no order, no world model)."""

    def __init__(self) -> None:
        self._lock = _locks.Lock()  # guards _kb and entry_count: every call takes it
        self._kb: dict[str, list[dict[str, Any]]] = {}
        self.entry_count = 0

    def add_insight(self, agent_id: str, content: Any, topic: str = "general") -> None:
        """Append one insight (the article's method)."""
        with self._lock:
            if topic not in self._kb:
                self._kb[topic] = []
            self._kb[topic].append({"agent": agent_id, "content": content, "ts": time.time()})
            self.entry_count += 1

    def insights(self, topic: str) -> list[dict[str, Any]]:
        """A copy of one topic's insights."""
        with self._lock:
            return list(self._kb.get(topic, ()))


class ArticleSwarmState:
    """The article's SwarmState: plain dicts shared by every agent, no lock -- as published.
    Agents read-decide-write ``shared_context`` (the best finding so far) and do
    ``counts["steps"] += 1``: on a free-threaded build both can lose updates."""

    def __init__(self) -> None:
        self.shared_context: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, int] = {"steps": 0}


@dataclass(frozen=True)
class SwarmResult:
    """One swarm run. ``duplicates``: insights stored twice because a step was retried;
    ``lost_updates``: step counts and best findings that concurrent writers overwrote;
    ``conflicts``: concurrent or repeated writes the knowledge base detected and refused or
    retried (the article's structures cannot detect any)."""

    threads: int  # per process
    seconds: float
    insights: int
    duplicates: int
    lost_updates: int
    conflicts: int
    summary: str
    processes: int = 1


def _score(agent: int, step: int, work: int) -> int:
    """A step's finding: the reasoning's result, varied by step (so best findings change)."""
    return (agent_reasoning(agent + 1, work) + 7_919 * step * (agent + 1)) % 10_000


def _kb_step(kb: KnowledgeBase, name: str, field: str, step: int, finding: dict[str, Any]) -> int:
    """One step's writes on a KnowledgeBase (see :func:`run_swarm`); the conflicts it met."""
    conflicts = 0
    kb.add_insight(name, finding, topic=f"research/{field}", insight_id=f"{name}/{step}")
    try:
        kb.world.put(f"done/{name}/{step}", True, agent_id=name, expected_version=None)
        kb.world.merge("steps-done", 1, agent_id=name)
    except Conflict:
        conflicts += 1  # a retried step: counted once already
    while True:  # read, decide, write -- if nobody wrote in between
        entry = kb.world.get(f"best/{field}")
        if entry is not None and entry.value["score"] >= finding["score"]:
            return conflicts
        try:
            kb.world.put(
                f"best/{field}",
                {"agent": name, **finding},
                agent_id=name,
                expected_version=None if entry is None else entry.version,
            )
            return conflicts
        except Conflict:
            conflicts += 1  # another agent wrote first: read again, decide again


def _kb_agent(
    kb: KnowledgeBase,
    a: int,
    *,
    steps: int,
    work: int,
    retry_every: int,
    stop: threading.Event | None = None,
) -> int:
    """Agent ``a``'s ``steps`` steps on a KnowledgeBase, every ``retry_every``-th run twice
    (see :func:`run_swarm`); the conflicts it met. ``stop``: checked before each step (set:
    the agent ends early)."""
    field = FIELDS[a % len(FIELDS)]
    name = f"agent-{a}"
    conflicts = 0
    for step in range(steps):
        if stop is not None and stop.is_set():
            break
        finding = {"step": step, "score": _score(a, step, work)}
        attempts = 2 if (step + 1) % retry_every == 0 else 1  # the retried step
        for _ in range(attempts):
            conflicts += _kb_step(kb, name, field, step, finding)
    return conflicts


def _true_best(agents: int, steps: int, work: int) -> dict[str, int]:
    """Each field's best score, computed alone (what the swarm's best findings must be)."""
    true_best: dict[str, int] = {}
    for a in range(agents):
        field = FIELDS[a % len(FIELDS)]
        for step in range(steps):
            true_best[field] = max(true_best.get(field, -1), _score(a, step, work))
    return true_best


def _kb_checks(kb: KnowledgeBase, *, agents: int, steps: int, work: int) -> tuple[int, int]:
    """(insights stored, lost updates) of a finished swarm on ``kb``: every step counted
    once by the ``steps-done`` merge, and each field's best finding the true best."""
    done = kb.world.get("steps-done")
    lost = agents * steps - (done.value if done else 0)  # each step counted once: none lost
    for field, score in _true_best(agents, steps, work).items():
        entry = kb.world.get(f"best/{field}")
        lost += entry is None or entry.value["score"] < score
    return kb.entry_count, lost


def run_swarm(
    kb: KnowledgeBase | ArticleKnowledgeBase,
    *,
    threads: int,
    agents: int,
    steps: int,
    work: int,
    retry_every: int = 4,
    progress: Any = None,
) -> SwarmResult:
    """Run ``agents`` research agents on ``threads`` threads (agent a on thread a % threads);
    each does ``steps`` steps of ``work`` reasoning iterations. Per step an agent records its
    finding, counts the step, and updates its field's best finding if it beat it. Every
    ``retry_every``-th step "times out" after its writes and is run again -- the same way
    for both knowledge bases (a retry is part of the workload, never staged as a race).

    With a KnowledgeBase: the finding is an insight with an id (a retry returns the stored
    one), the step is counted once (a ``done/<agent>/<step>`` key put with
    ``expected_version=None``: a retry gets ``Conflict``), and the best finding is a
    compare-and-set loop on ``best/<field>`` (a lost race gets ``Conflict`` and decides
    again); one subscriber thread summarises the findings live. With the article's knowledge
    base: its locked append for the finding, and its unlocked ``SwarmState`` dicts for the
    count and the best finding, exactly as published. ``progress(done, total)`` is called
    from the main thread while the swarm runs.
    """
    full = kb if isinstance(kb, KnowledgeBase) else None  # None: the article's base
    state = ArticleSwarmState()
    conflicts = [0] * threads  # one slot per thread: no two threads write the same slot
    if full is not None:
        full.world.register_reducer("steps-done", "sum")
        subscription = full.subscribe(prefix="research/", exclude_agent="summariser")
    seen = [0]

    def summarise() -> None:  # the live subscriber: on its own thread, never a writer's
        for event in subscription:
            if hasattr(event, "content"):
                seen[0] += 1

    def article_step(name: str, field: str, finding: dict[str, Any]) -> None:
        kb.add_insight(name, finding, topic=f"research/{field}")  # the locked append
        best = state.shared_context.get(field)  # read ...
        if best is None or finding["score"] > best["score"]:  # ... decide ...
            state.shared_context[field] = {"agent": name, **finding}  # ... write
        state.counts["steps"] += 1

    def agent(t: int, a: int) -> None:
        if full is not None:
            conflicts[t] += _kb_agent(
                full, a, steps=steps, work=work, retry_every=retry_every, stop=stop
            )
            return
        field = FIELDS[a % len(FIELDS)]
        name = f"agent-{a}"
        for step in range(steps):
            if stop.is_set():
                break
            finding = {"step": step, "score": _score(a, step, work)}
            attempts = 2 if (step + 1) % retry_every == 0 else 1  # the retried step
            for _ in range(attempts):
                article_step(name, field, finding)

    def worker(t: int) -> None:
        try:
            start_line.wait()
        except threading.BrokenBarrierError:  # the main thread was interrupted first
            return
        for a in range(t, agents, threads):
            agent(t, a)

    start_line = threading.Barrier(threads + 1)
    stop = threading.Event()  # set if the main thread is interrupted: the agents end early
    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    reader = threading.Thread(target=summarise) if full is not None else None
    started: list[threading.Thread] = []
    try:
        for thread in [*workers, *([reader] if reader else [])]:
            thread.start()
            started.append(thread)
        start_line.wait()
        began = time.perf_counter()
        for worker_thread in workers:
            while worker_thread.is_alive():
                worker_thread.join(0.25)  # a timeout: Ctrl-C reaches this thread
                if progress is not None:
                    progress(kb.entry_count, agents * steps)
    except BaseException:  # Ctrl-C, a closed stdout: stop the agents before unwinding
        stop.set()
        start_line.abort()
        for thread in started:
            if thread is not reader:
                thread.join()  # each ends after its current step
        if full is not None:
            full.close()  # the subscriber drains, then ends
        if reader is not None and reader in started:
            reader.join()
        raise
    seconds = time.perf_counter() - began
    unique = agents * steps
    if full is not None:
        stored, lost = _kb_checks(full, agents=agents, steps=steps, work=work)
        full.close()  # the subscriber drains, then ends
        assert reader is not None
        reader.join()
        summary = f"subscriber saw {seen[0]} findings"
    else:
        retries = agents * (steps // retry_every)
        stored = kb.entry_count
        lost = (unique + retries) - state.counts["steps"]  # increments that vanished
        for field, score in _true_best(agents, steps, work).items():
            best = state.shared_context.get(field)
            lost += best is None or best["score"] < score
        summary = ""
    return SwarmResult(threads, seconds, stored, stored - unique, lost, sum(conflicts), summary)


# --- the swarm across processes, sharing a KnowledgeBase on Redis ---------------------------
class BackendError(Exception):
    """The demo's shared knowledge base failed: a server that cannot be reached, a bad URL,
    the redis client missing, or an agent process that failed. The message is one line for
    the user; ``status`` the exit status (2: the URL itself is wrong or the redis client is
    missing; 1: anything else)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(" ".join(message.split()))  # one line
        self.status = status


def _connect(url: str, namespace: str, timeout: float) -> KnowledgeBase:
    """``KnowledgeBase.connect`` giving up after ``timeout`` seconds; its failures as
    :class:`BackendError`."""
    try:
        return KnowledgeBase.connect(
            url, namespace=namespace, connect_timeout=timeout, retry_timeout=timeout
        )
    except ImportError as error:  # the redis client: names the extra ft-atomics[redis]
        raise BackendError(str(error), status=2) from None
    except ConnectionError as error:  # StorageUnavailable: names the URL, not its password
        raise BackendError(str(error)) from None
    except ValueError as error:  # a URL the client cannot parse
        raise BackendError(f"bad --backend URL: {error}", status=2) from None
    except Exception as error:  # the server's refusal (e.g. NOAUTH): redis.exceptions.*
        raise BackendError(f"{type(error).__name__}: {error}") from None


def _swarm_process(
    url: str,
    namespace: str,
    index: int,
    shape: tuple[int, int, int, int, int, int],
    go: Any,
    reports: Any,
    timeouts: tuple[float, float, float],
) -> None:
    """One agent process (spawned): connect to the shared knowledge base, start this
    process's agent threads, report ``ready``, run the agents once the parent sets ``go``,
    report ``done`` with the conflicts met (or ``error`` with a one-line reason)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops us
    processes, threads, agents, steps, work, retry_every = shape
    connect_timeout, retry_timeout, start_timeout = timeouts
    try:
        kb = KnowledgeBase.connect(
            url, namespace=namespace, connect_timeout=connect_timeout, retry_timeout=retry_timeout
        )
    except BaseException as error:
        reports.put(("error", index, f"{type(error).__name__}: {error}"))
        return
    try:
        kb.world.register_reducer("steps-done", "sum")
        start = threading.Event()
        aborted = False  # set before start: no agent runs
        conflicts = [0] * threads  # one slot per thread: no two threads write the same slot
        errors: list[str] = []

        def worker(t: int) -> None:
            if not start.wait(start_timeout) or aborted:
                return
            try:
                for a in range(index * threads + t, agents, processes * threads):
                    conflicts[t] += _kb_agent(
                        kb, a, steps=steps, work=work, retry_every=retry_every
                    )
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")

        workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for thread in workers:
            thread.start()
        reports.put(("ready", index, 0))
        if not go.wait(start_timeout):
            aborted = True
        start.set()
        for thread in workers:
            while thread.is_alive():
                thread.join(1.0)
        if aborted:
            reports.put(("error", index, f"no start signal within {start_timeout:g} s"))
        elif errors:
            reports.put(("error", index, errors[0]))
        else:
            reports.put(("done", index, sum(conflicts)))
    except BaseException as error:
        reports.put(("error", index, f"{type(error).__name__}: {error}"))
    finally:
        kb.close()


def _collect(
    reports: Any,
    children: Sequence[Any],
    kind: str,
    timeout: float | None,
    tick: Callable[[], None] | None = None,
) -> list[int]:
    """Each child's ``kind`` report's value, in child order. A child's ``error`` report, a
    child that exited without reporting, or ``timeout`` seconds without every report is a
    :class:`BackendError`. ``tick()`` runs every 0.25 s while waiting."""
    values: dict[int, int] = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    suspects: set[int] = set()  # exited with no report seen: failed if none comes next time
    while len(values) < len(children):
        try:
            what, index, value = reports.get(timeout=0.25)
        except queue.Empty:
            if tick is not None:
                tick()
            pending = [i for i in range(len(children)) if i not in values]
            # a child's reports are in the pipe before it exits: one more empty wait after
            # it exited means it never sent this one
            for i in pending:
                if i in suspects:
                    code = children[i].exitcode
                    raise BackendError(
                        f"agent process {i} exited (code {code}) without reporting {kind}"
                    ) from None
            suspects = {i for i in pending if not children[i].is_alive()}
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"agent processes not {kind} within {timeout:g} s") from None
            continue
        if what == "error":
            raise BackendError(f"agent process {index}: {value}")
        if what == kind:
            values[index] = value
    return [values[i] for i in range(len(children))]


def run_swarm_processes(
    url: str,
    *,
    processes: int,
    threads: int = 1,
    agents: int,
    steps: int,
    work: int,
    retry_every: int = 4,
    connect_timeout: float = 5.0,
    retry_timeout: float = 10.0,
    start_timeout: float = 60.0,
    progress: Any = None,
) -> SwarmResult:
    """:func:`run_swarm` on a KnowledgeBase stored on the Redis server at ``url``, with the
    agents spread over ``processes`` processes (``multiprocessing`` "spawn"), ``threads``
    threads in each (agent a on thread a % (processes x threads)). Every process connects
    with :meth:`KnowledgeBase.connect` to one fresh namespace; the agents' steps are
    :func:`run_swarm`'s (explicit insight ids, so a retry -- here, in another process, or
    the client's own after a lost reply -- stores nothing twice). The parent subscribes
    (the live summariser: it sees the findings of every process), starts the processes
    together, and when all have finished checks the shared knowledge base for lost
    updates and duplicates, as :func:`run_swarm` does. The namespace is dropped at the end,
    whatever happened. Failures -- the server unreachable within ``connect_timeout``
    seconds at the start or ``retry_timeout`` seconds mid-run (the agent processes'
    ``KnowledgeBase.connect`` arguments), a process that fails or does not start within
    ``start_timeout`` -- are :class:`BackendError`. ``progress(done, total)`` as in
    :func:`run_swarm`.
    """
    namespace = f"atomics-demo-{os.getpid()}-{secrets.token_hex(4)}"
    kb = _connect(url, namespace, connect_timeout)
    failed = True
    try:
        result = _run_processes(
            kb,
            url,
            namespace,
            shape=(processes, threads, agents, steps, work, retry_every),
            timeouts=(connect_timeout, retry_timeout, start_timeout),
            progress=progress,
        )
        failed = False
        return result
    except ConnectionError as error:  # StorageUnavailable: the server went away mid-run
        raise BackendError(str(error)) from None
    finally:
        kb.close()
        from atomics.kb.storage.redis_storage import drop_namespace

        try:
            drop_namespace(url, namespace)
        except Exception as error:  # said after a run that worked; else the run's error is
            if not failed:  # the one line the user needs
                print(f"could not drop namespace {namespace!r}: {error}", file=sys.stderr)


def _run_processes(
    kb: KnowledgeBase,
    url: str,
    namespace: str,
    *,
    shape: tuple[int, int, int, int, int, int],
    timeouts: tuple[float, float, float],
    progress: Any,
) -> SwarmResult:
    processes, threads, agents, steps, work, _retry_every = shape
    start_timeout = timeouts[2]
    seen = [0]
    seen_changed = threading.Condition()
    subscription = kb.subscribe(prefix="research/", exclude_agent="summariser")

    def summarise() -> None:  # the live subscriber: every process's findings
        for event in subscription:
            if hasattr(event, "content"):
                with seen_changed:
                    seen[0] += 1
                    seen_changed.notify_all()

    reader = threading.Thread(target=summarise)
    reader.start()
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    go = context.Event()
    children = [
        context.Process(
            target=_swarm_process,
            args=(url, namespace, i, shape, go, reports, timeouts),
            name=f"atomics-demo-agents-{i}",
            daemon=True,
        )
        for i in range(processes)
    ]
    finished = False
    try:
        for child in children:
            child.start()
        _collect(reports, children, "ready", start_timeout)
        go.set()  # every process is connected, its threads waiting: release them together
        began = time.perf_counter()

        def tick() -> None:
            if progress is not None:
                progress(kb.entry_count, agents * steps)

        conflicts = _collect(reports, children, "done", None, tick)
        seconds = time.perf_counter() - began
        finished = True
        stored, lost = _kb_checks(kb, agents=agents, steps=steps, work=work)
        with seen_changed:  # the feed is asynchronous: let the subscriber catch up
            seen_changed.wait_for(lambda: seen[0] >= stored, timeout=10.0)
    finally:
        for child in children:
            if child.pid is None:
                continue  # never started
            if not finished and child.is_alive():
                child.terminate()  # a failed run: the others may be waiting for go
            child.join(5.0)
            if child.is_alive():
                child.kill()
                child.join(5.0)
        reports.close()
        kb.close()  # the subscriber drains, then ends
        reader.join(10.0)
    summary = f"subscriber (in the parent process) saw {seen[0]} findings"
    return SwarmResult(
        threads, seconds, stored, stored - agents * steps, lost, sum(conflicts), summary, processes
    )


def _print_facts(info: runtime.RuntimeInfo) -> None:
    print("atomics demo: the Research Swarm, agents sharing findings through a knowledge base")
    print(f"  interpreter            {info.description}")
    print(f"  executable             {info.executable}")
    print(f"  Py_GIL_DISABLED build  {info.gil_disabled_build}")
    print(f"  sys._is_gil_enabled()  {info.gil_enabled}")
    print(f"  free threading active  {info.free_threading_active}")
    print(f"  CPUs available         {info.cpu_count}")
    nogil = "present" if hasattr(sys.flags, "nogil") else "does not exist"
    print(f"  sys.flags.nogil        {nogil} (the article's check: it printed False everywhere)")


def _default_counts(cpus: int) -> list[int]:
    return [c for c in thread_counts(cpus) if c <= cpus]


def main(
    threads: Sequence[int] | None = None,
    agents: int = 8,
    steps: int = 20,
    work: int = 150_000,
    *,
    backend: str | None = None,
    processes: Sequence[int] | None = None,
    connect_timeout: float = 5.0,
) -> int:
    """Print the runtime facts and the swarm table; return 1 if the KnowledgeBase lost an
    update or stored a duplicate (the article's rows may: that is what they show).

    ``backend``: a Redis URL -- the swarm then runs with its agents in ``processes``
    processes (default 1, 2, ... up to the CPU count) of ``threads`` threads each (default
    1), sharing one knowledge base on that server (see :func:`run_swarm_processes`);
    raises :class:`BackendError` if the server cannot be reached within
    ``connect_timeout`` seconds or a process fails."""
    info = runtime.runtime_info()
    if backend is not None:
        return _main_processes(
            info,
            backend,
            processes=list(processes) if processes else _default_counts(info.cpu_count),
            threads=list(threads) if threads else [1],
            agents=agents,
            steps=steps,
            work=work,
            connect_timeout=connect_timeout,
        )
    _print_facts(info)
    counts = list(threads) if threads else _default_counts(info.cpu_count)
    if 1 not in counts:
        counts = [1, *counts]
    retry_every = 4
    print(
        f"\n  {agents} agents x {steps} steps x {work:,} iterations of reasoning; every "
        f"{retry_every}th step times out and is retried ({agents * (steps // retry_every)} "
        f"retries per run);\n  threads: {', '.join(map(str, counts))}\n"
    )
    interactive = sys.stdout.isatty()  # progress only on a terminal: no \r in a pipe

    def show(label: str, threads: int) -> Any:
        def progress(done: int, total: int) -> None:
            print(f"\r  running {label} on {threads} threads: {done}/{total} insights", end="")
            sys.stdout.flush()

        return progress if interactive else None

    agent_reasoning(1, 4 * work)  # warm-up, so that the first row is not the slow one
    labels = ("KnowledgeBase", "article (as published)")
    results: dict[str, list[SwarmResult]] = {label: [] for label in labels}
    for count in counts:
        for label, make in zip(labels, (KnowledgeBase, ArticleKnowledgeBase), strict=True):
            result = run_swarm(
                make(),
                threads=count,
                agents=agents,
                steps=steps,
                work=work,
                retry_every=retry_every,
                progress=show(label, count),
            )
            results[label].append(result)
            if interactive:
                print("\r" + " " * 79 + "\r", end="")
    print(
        f"  {'knowledge base':22} {'threads':>7} {'seconds':>8} {'speedup':>8} {'insights':>9}"
        f" {'duplicates':>10} {'lost':>5} {'conflicts':>9}"
    )
    bad = False
    for label, rows in results.items():
        base = rows[0].seconds
        for row in rows:
            if label == "KnowledgeBase":
                bad |= row.lost_updates != 0 or row.duplicates != 0
            print(
                f"  {label:22} {row.threads:>7} {row.seconds:>8.2f} {base / row.seconds:>7.2f}x"
                f" {row.insights:>9} {row.duplicates:>10} {row.lost_updates:>5}"
                f" {row.conflicts:>9}"
            )
    print(f"\n  {results['KnowledgeBase'][-1].summary}")
    print(
        "  duplicates: insights stored twice by a retried step; lost: step counts and best"
        "\n  findings overwritten by a concurrent writer; conflicts: writes the knowledge base"
        "\n  caught (a retried step refused, a lost race decided again). The article's dicts"
        "\n  cannot catch any: a pattern that lost nothing in this run shows 0."
    )
    if info.free_threading_active:
        print(
            f"  Free threading is active: speedup should approach min(threads, {info.cpu_count})."
        )
    else:
        print("  The GIL is enabled: threads take turns, so speedup stays near 1x (and the")
        print("  article's unlocked dicts seldom lose updates; run `make demo` on 3.13t).")
    return 1 if bad else 0


def _main_processes(
    info: runtime.RuntimeInfo,
    url: str,
    *,
    processes: list[int],
    threads: list[int],
    agents: int,
    steps: int,
    work: int,
    connect_timeout: float,
) -> int:
    """``main`` with a Redis backend: one row per (processes, threads per process)."""
    try:
        from atomics.kb.storage.redis_storage import safe_url
    except ImportError as error:  # the redis client missing: names ft-atomics[redis]
        raise BackendError(str(error), status=2) from None

    _print_facts(info)
    if 1 not in processes:
        processes = [1, *processes]
    retry_every = 4
    print(
        f"\n  {agents} agents x {steps} steps x {work:,} iterations of reasoning; every "
        f"{retry_every}th step times out and is retried ({agents * (steps // retry_every)} "
        f"retries per run);\n  one KnowledgeBase on Redis at {safe_url(url)} (a fresh "
        f"namespace per run, dropped after it),\n  shared by processes: "
        f"{', '.join(map(str, processes))}; threads per process: "
        f"{', '.join(map(str, threads))}\n"
    )
    interactive = sys.stdout.isatty()

    def show(count: int, per: int) -> Any:
        def progress(done: int, total: int) -> None:
            print(
                f"\r  running on {count} processes x {per} threads: {done}/{total} insights",
                end="",
            )
            sys.stdout.flush()

        return progress if interactive else None

    rows: list[SwarmResult] = []
    for count in processes:
        for per in threads:
            rows.append(
                run_swarm_processes(
                    url,
                    processes=count,
                    threads=per,
                    agents=agents,
                    steps=steps,
                    work=work,
                    retry_every=retry_every,
                    connect_timeout=connect_timeout,
                    progress=show(count, per),
                )
            )
            if interactive:
                print("\r" + " " * 79 + "\r", end="")
    print(
        f"  {'knowledge base':22} {'processes':>9} {'threads':>7} {'seconds':>8} {'speedup':>8}"
        f" {'insights':>9} {'duplicates':>10} {'lost':>5} {'conflicts':>9}"
    )
    base = rows[0].seconds
    bad = False
    for row in rows:
        bad |= row.lost_updates != 0 or row.duplicates != 0
        print(
            f"  {'KnowledgeBase (Redis)':22} {row.processes:>9} {row.threads:>7}"
            f" {row.seconds:>8.2f} {base / row.seconds:>7.2f}x {row.insights:>9}"
            f" {row.duplicates:>10} {row.lost_updates:>5} {row.conflicts:>9}"
        )
    print(f"\n  {rows[-1].summary}")
    print(
        "  threads: per process. duplicates: insights stored twice by a retried step; lost:"
        "\n  step counts and best findings overwritten by a concurrent writer (both counted by"
        "\n  this process from the shared knowledge base after the run); conflicts: writes the"
        "\n  knowledge base caught (a retried step refused, a lost race decided again)."
        "\n  Each process has its own interpreter (and GIL, on a GIL build): speedup should"
        f"\n  approach min(processes x threads, {info.cpu_count}), less the CPU that the"
        "\n  redis-server and the round trips take."
    )
    return 1 if bad else 0
