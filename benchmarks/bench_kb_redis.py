"""Benchmark: the KnowledgeBase on Redis (``KnowledgeBase.connect``) against bare redis-py.

Starts its own throwaway ``redis-server`` (``LocalRedis``, no append-only file) and stops it
at the end. The writers are *processes* (multiprocessing, "spawn"): a pool of worker
processes made once, each measurement run by the first N of them, every one setting up its
own client (its own ``redis.Redis`` or ``KnowledgeBase.connect`` on the measurement's
namespace) before a common start (a ``multiprocessing.Barrier``), then running its loop for
SECONDS by its own clock. Aggregate throughput = every process's operations / (the last
finish - the first start), on the system-wide monotonic clock.

1. Baselines, with the same redis-py client (``decode_responses=True``, as the storage):
   ``XADD`` of an insight-sized entry to one shared stream, one command per call (1/2/4
   processes), and ``XADD`` pipelined in batches of 64 (1 process).
2. ``kb.add_insight`` (1/2/4 processes, automatic ids, 4 shared topics) and with an explicit
   ``insight_id`` unique per add (1 process).
3. ``kb.world.merge`` with the "sum" reducer on 4 shared keys (1/2/4 processes).
4. ``kb.add_insights`` in batches of 64 (1 process): insights/s.
5. Subscriber latency: one writer process adds LATENCY_EVENTS insights at LATENCY_RATE/s;
   a ``kb.subscribe`` of another KnowledgeBase in this process takes them; latency = the
   time.time() at receipt - ``insight.timestamp`` (time.time() at the add, same machine).

Every variant runs in the same run, interleaved repetition by repetition (a fresh namespace
each, dropped after); medians of REPEATS with the IQR. Ratios, same run: add_insight(1) /
XADD(1), add_insights-64 / pipelined XADD-64, and add_insight's 1->2 process scaling over
XADD's: as ratios of the medians, and as the median of the ratios within each repetition
(the two sides measured one after the other: other work on the machine hits both).
On 2 cores the 4-process columns (with the server a fifth busy process) measure
oversubscription, not scaling.

Usage: python benchmarks/bench_kb_redis.py   (BENCH_SECONDS: the window, default 0.5)
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import _results
from atomics import KnowledgeBase, runtime

REPEATS = 9
SECONDS = float(os.environ.get("BENCH_SECONDS", "0.5"))
PROCESS_COUNTS = (1, 2, 4)
BATCH = 64
TOPICS = 4
KEYS = 4
LATENCY_EVENTS = 600
LATENCY_RATE = 500.0  # insights/s from the one writer
BARRIER_TIMEOUT = 120.0

# (name, process counts): the throughput variants (the table's rows)
VARIANTS: list[tuple[str, tuple[int, ...]]] = [
    ("XADD", PROCESS_COUNTS),
    (f"XADD pipelined x{BATCH}", (1,)),
    ("add_insight", PROCESS_COUNTS),
    ("add_insight, explicit ids", (1,)),
    ("world.merge (sum)", PROCESS_COUNTS),
    (f"add_insights x{BATCH}", (1,)),
]
# The order each repetition runs them: each pair that a target compares side by side, so
# that a burst of other work on the machine hits both (the paired ratios below).
SCHEDULE: list[tuple[str, int]] = [
    *((v, n) for n in PROCESS_COUNTS for v in ("XADD", "add_insight")),
    (f"XADD pipelined x{BATCH}", 1),
    (f"add_insights x{BATCH}", 1),
    ("add_insight, explicit ids", 1),
    *(("world.merge (sum)", n) for n in PROCESS_COUNTS),
]
assert sorted(SCHEDULE) == sorted((v, n) for v, counts in VARIANTS for n in counts)
UNITS = {
    "XADD": "entries",
    f"XADD pipelined x{BATCH}": "entries",
    "add_insight": "insights",
    "add_insight, explicit ids": "insights",
    "world.merge (sum)": "merges",
    f"add_insights x{BATCH}": "insights",
}


# --- the worker processes ------------------------------------------------------------------------
def _payload(agent: str, n: int) -> str:
    """An entry as big as an insight's stored ``d`` field ([agent, content, meta, time])."""
    return f'["{agent}",{n},null,{time.time()!r}]'


def _prepare(
    variant: str, index: int, url: str, namespace: str
) -> tuple[Callable[[], int], Callable[[], Any]]:
    """(step, finish) of one worker: step does a batch of operations and returns how many;
    finish closes the client and returns facts to check (after the clock stopped)."""
    agent = f"agent-{index}"
    if variant.startswith("XADD"):
        import redis

        client = redis.Redis.from_url(url, decode_responses=True)
        client.ping()  # connected before the start
        stream = "{" + namespace + "}:x"
        made = [0]
        if variant == "XADD":

            def step() -> int:
                n = made[0]
                client.xadd(stream, {"d": _payload(agent, n)})
                made[0] = n + 1
                return 1

        else:
            pipe = client.pipeline(transaction=False)

            def step() -> int:
                n = made[0]
                for i in range(n, n + BATCH):
                    pipe.xadd(stream, {"d": _payload(agent, i)})
                pipe.execute()
                made[0] = n + BATCH
                return BATCH

        def close_client() -> Any:
            client.close()
            return None

        return step, close_client

    kb = KnowledgeBase.connect(url, namespace=namespace)
    topics = [f"topic-{n % TOPICS}" for n in range(index, index + TOPICS)]
    counter = [0]
    if variant == "add_insight":

        def step() -> int:
            n = counter[0]
            kb.add_insight(agent, n, topic=topics[n % TOPICS])
            counter[0] = n + 1
            return 1

    elif variant == "add_insight, explicit ids":

        def step() -> int:
            n = counter[0]
            kb.add_insight(agent, n, topic=topics[n % TOPICS], insight_id=f"{agent}/step-{n}")
            counter[0] = n + 1
            return 1

    elif variant == "world.merge (sum)":
        kb.world.register_reducer("n*", "sum")
        keys = [f"n{k}" for k in range(KEYS)]

        def step() -> int:
            n = counter[0]
            kb.world.merge(keys[n % KEYS], 1, agent_id=agent)
            counter[0] = n + 1
            return 1

    elif variant == f"add_insights x{BATCH}":
        contents = list(range(BATCH))

        def step() -> int:
            n = counter[0]
            kb.add_insights(agent, contents, topic=topics[n % TOPICS])
            counter[0] = n + 1
            return BATCH

    else:
        raise ValueError(f"unknown variant {variant!r}")

    def finish() -> Any:
        kb.close()
        return None

    return step, finish


def _measure(
    variant: str, procs: int, index: int, url: str, namespace: str, seconds: float, barrier: Any
) -> dict[str, float]:
    gc.collect()  # every measurement starts from the same heap
    try:
        step, finish = _prepare(variant, index, url, namespace)
    except BaseException:
        barrier.abort()  # the others must not wait for a worker that failed
        raise
    barrier.wait(BARRIER_TIMEOUT)
    began = time.monotonic()
    deadline = began + seconds
    count = 0
    while True:
        count += step()
        ended = time.monotonic()
        if ended >= deadline:
            break
    finish()
    return {"count": count, "began": began, "ended": ended}


def _write_paced(
    index: int, url: str, namespace: str, events: int, rate: float
) -> dict[str, float]:
    """The latency test's writer: ``events`` insights at ``rate``/s, on a fixed schedule."""
    kb = KnowledgeBase.connect(url, namespace=namespace)
    pace = threading.Event()  # never set: its wait() paces the schedule, it syncs nothing
    began = time.monotonic()
    for n in range(events):
        delay = began + n / rate - time.monotonic()
        if delay > 0:
            pace.wait(delay)
        kb.add_insight(f"agent-{index}", n, topic="latency")
    ended = time.monotonic()
    kb.close()
    return {"count": events, "began": began, "ended": ended}


def _worker(index: int, url: str, barriers: dict[int, Any], conn: Connection) -> None:
    """A worker process: runs the tasks the parent sends until it sends None."""
    while True:
        task = conn.recv()
        if task is None:
            return
        kind, args = task
        try:
            if kind == "measure":
                variant, procs, namespace, seconds = args
                result = _measure(variant, procs, index, url, namespace, seconds, barriers[procs])
            else:
                result = _write_paced(index, url, *args)
            conn.send(("ok", result))
        except BaseException:
            conn.send(("error", traceback.format_exc()))


class Pool:
    """MAX(PROCESS_COUNTS) worker processes ("spawn"), made once for the whole run."""

    def __init__(self, url: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.barriers = {n: ctx.Barrier(n) for n in PROCESS_COUNTS}
        self.conns: list[Connection] = []
        self.procs = []
        for index in range(max(PROCESS_COUNTS)):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(index, url, self.barriers, child), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def run(self, kind: str, count: int, args: tuple[Any, ...]) -> list[dict[str, float]]:
        for conn in self.conns[:count]:
            conn.send((kind, args))
        results: list[dict[str, float]] = []
        errors: list[str] = []
        for conn in self.conns[:count]:
            status, value = conn.recv()
            (results if status == "ok" else errors).append(value)
        if errors:
            raise RuntimeError("a worker failed:\n" + "\n".join(errors))
        return results

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):  # a worker that died already
                conn.send(None)
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join()


# --- the parent ----------------------------------------------------------------------------------
class Namespaces:
    def __init__(self, url: str) -> None:
        self.url = url
        self.n = 0

    def fresh(self) -> str:
        self.n += 1
        return f"bench-{os.getpid()}-{self.n}"

    def drop(self, namespace: str) -> None:
        from atomics.kb.storage.redis_storage import drop_namespace

        drop_namespace(self.url, namespace)


def check(variant: str, url: str, namespace: str, total: int) -> None:
    """What the measurement stored is what its workers counted (read after the clock)."""
    if variant.startswith("XADD"):
        import redis

        client = redis.Redis.from_url(url, decode_responses=True)
        stored = client.xlen("{" + namespace + "}:x")
        client.close()
    else:
        kb = KnowledgeBase.connect(url, namespace=namespace)
        try:
            if variant.startswith("world"):
                entries = [kb.world.get(f"n{k}") for k in range(KEYS)]
                stored = sum(entry.value for entry in entries if entry is not None)
            else:
                stored = kb.entry_count
        finally:
            kb.close()
    if stored != total:
        raise AssertionError(f"{variant}: the workers counted {total}, the server holds {stored}")


def throughput(pool: Pool, spaces: Namespaces, variant: str, procs: int) -> float:
    namespace = spaces.fresh()
    try:
        results = pool.run("measure", procs, (variant, procs, namespace, SECONDS))
        total = sum(int(r["count"]) for r in results)
        wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
        check(variant, spaces.url, namespace, total)
    finally:
        spaces.drop(namespace)
    return total / wall


def latency(pool: Pool, spaces: Namespaces) -> list[float]:
    """Receipt - insight.timestamp (s) of each insight of one paced writer process."""
    namespace = spaces.fresh()
    kb = KnowledgeBase.connect(spaces.url, namespace=namespace)
    try:
        sub = kb.subscribe(topics=["latency"], maxsize=LATENCY_EVENTS + 16)
        for conn in pool.conns[:1]:
            conn.send(("latency", (namespace, LATENCY_EVENTS, LATENCY_RATE)))
        out: list[float] = []
        while len(out) < LATENCY_EVENTS:
            insight = sub.get(timeout=30)
            out.append(time.time() - insight.timestamp)
        status, value = pool.conns[0].recv()
        if status != "ok":
            raise RuntimeError("the latency writer failed:\n" + value)
        sub.close()
    finally:
        kb.close()
        spaces.drop(namespace)
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def spread(samples: list[float]) -> float:
    """Half the IQR as a fraction of the median (the docs' ±N%)."""
    s = _results.summarize(samples)
    return s["iqr"] / 2 / s["median"] if s["median"] else 0.0


def main() -> None:
    from atomics.kb.storage.local_redis import LocalRedis

    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {SECONDS} s per measurement, "
        f"median of {REPEATS}; writers are processes (spawn)"
    )
    load_before = os.getloadavg()  # other work on the machine shows up as spread: noted
    server = LocalRedis()  # no append-only file
    pool: Pool | None = None
    try:
        server.start()
        spaces = Namespaces(server.url)
        pool = Pool(server.url)
        began = time.monotonic()
        rates: dict[tuple[str, int], list[float]] = {}
        lat_p50: list[float] = []
        lat_p99: list[float] = []
        lat_all: list[float] = []
        for rep in range(REPEATS):
            for variant, procs in SCHEDULE:
                rates.setdefault((variant, procs), []).append(
                    throughput(pool, spaces, variant, procs)
                )
            samples = latency(pool, spaces)
            lat_p50.append(statistics.median(samples))
            lat_p99.append(percentile(samples, 0.99))
            lat_all.extend(samples)
            print(f"  repetition {rep + 1}/{REPEATS} done ({time.monotonic() - began:.0f} s)")
            sys.stdout.flush()
        server_info = server_version(server.url)
    finally:
        if pool is not None:
            pool.close()
        server.stop()

    med = {k: statistics.median(v) for k, v in rates.items()}
    cells: list[dict[str, Any]] = []
    print("\nthroughput: aggregate K ops/s, median ±half-IQR% (x own 1 process)")
    header = "".join(f"{f'{n} proc':>22}" for n in PROCESS_COUNTS)
    print(f"  {'':28}{header}")
    for variant, counts in VARIANTS:
        line = ""
        for n in PROCESS_COUNTS:
            if n not in counts:
                line += f"{'':>22}"
                continue
            rate = med[(variant, n)]
            line += (
                f"{rate / 1e3:9.1f} ±{spread(rates[(variant, n)]) * 100:3.0f}%"
                f" ({rate / med[(variant, 1)]:4.2f}x)"
            )
            cells.append(
                _results.cell(
                    {"test": "throughput", "variant": variant, "processes": n},
                    "ops_per_second",
                    rates[(variant, n)],
                    unit=f"{UNITS[variant]}/s",
                )
            )
        print(f"  {variant:28}{line}")
    print(
        f"\nsubscriber latency (receipt - insight.timestamp), one writer process at "
        f"{LATENCY_RATE:.0f}/s, {LATENCY_EVENTS} events per repetition:"
    )
    print(
        f"  p50 {statistics.median(lat_p50) * 1e3:.3f} ms ±{spread(lat_p50) * 100:.0f}%, "
        f"p99 {statistics.median(lat_p99) * 1e3:.3f} ms ±{spread(lat_p99) * 100:.0f}% "
        f"(medians over repetitions; pooled {len(lat_all)} events: "
        f"p50 {percentile(lat_all, 0.5) * 1e3:.3f} ms, "
        f"p99 {percentile(lat_all, 0.99) * 1e3:.3f} ms, max {max(lat_all) * 1e3:.3f} ms)"
    )
    key = {"test": "subscriber latency", "variant": "add_insight -> subscribe", "writers": 1}
    for metric, values in (("median_latency_s", lat_p50), ("p99_latency_s", lat_p99)):
        cells.append(
            _results.cell(
                key,
                metric,
                values,
                unit="s",
                higher_is_better=False,
                info={"events": len(lat_all), "rate_per_s": LATENCY_RATE},
            )
        )

    def paired(a: tuple[str, int], b: tuple[str, int]) -> list[float]:
        """a / b within each repetition (measured one after the other)."""
        return [x / y for x, y in zip(rates[a], rates[b], strict=True)]

    xadd1, add1 = ("XADD", 1), ("add_insight", 1)
    pipe64, batch64 = (f"XADD pipelined x{BATCH}", 1), (f"add_insights x{BATCH}", 1)
    scale_pairs = [
        (a2 / a1) / (x2 / x1)
        for a1, a2, x1, x2 in zip(
            rates[add1], rates[("add_insight", 2)], rates[xadd1], rates[("XADD", 2)], strict=True
        )
    ]
    paired_ratios = {
        "add_insight_vs_xadd_1p": paired(add1, xadd1),
        "add_insights64_vs_xadd_pipelined64": paired(batch64, pipe64),
        "add_insight_scaling_vs_xadd_scaling_1to2p": scale_pairs,
    }
    scale_kb = med[("add_insight", 2)] / med[("add_insight", 1)]
    scale_xadd = med[("XADD", 2)] / med[("XADD", 1)]
    derived: dict[str, Any] = {
        "add_insight_vs_xadd_1p": med[("add_insight", 1)] / med[("XADD", 1)],
        "add_insights64_vs_xadd_pipelined64": med[(f"add_insights x{BATCH}", 1)]
        / med[(f"XADD pipelined x{BATCH}", 1)],
        "add_insight_scaling_1to2p": scale_kb,
        "xadd_scaling_1to2p": scale_xadd,
        "add_insight_scaling_vs_xadd_scaling_1to2p": scale_kb / scale_xadd,
        "explicit_ids_vs_auto_1p": med[("add_insight, explicit ids", 1)] / med[("add_insight", 1)],
        "merge_vs_add_insight_1p": med[("world.merge (sum)", 1)] / med[("add_insight", 1)],
        **{
            f"{name}_paired_median": statistics.median(values)
            for name, values in paired_ratios.items()
        },
        **{
            f"{name}_paired_samples": [round(v, 4) for v in values]
            for name, values in paired_ratios.items()
        },
        "latency_p50_s": statistics.median(lat_p50),
        "latency_p99_s": statistics.median(lat_p99),
    }
    targets = {
        "add_insight_vs_xadd_1p": 0.6,
        "add_insights64_vs_xadd_pipelined64": 0.5,
        "add_insight_scaling_vs_xadd_scaling_1to2p": 0.8,
    }
    print("\nratios (same run) vs targets: of the medians; median of the per-repetition ratios")
    for name, target in targets.items():
        pair = derived[f"{name}_paired_median"]
        verdict = "met" if min(derived[name], pair) >= target else "MISSED"
        if (derived[name] >= target) != (pair >= target):
            verdict = "borderline"
        print(
            f"  {name:44} {derived[name]:5.2f}; {pair:5.2f}"
            f" ±{spread(paired_ratios[name]) * 100:.0f}%  (target >= {target}: {verdict})"
        )
    print(
        f"  (add_insight 1->2 processes {scale_kb:.2f}x, XADD 1->2 processes {scale_xadd:.2f}x;"
        f" explicit ids / automatic {derived['explicit_ids_vs_auto_1p']:.2f};"
        f" merge / add_insight {derived['merge_vs_add_insight_1p']:.2f})"
    )
    sys.stdout.flush()
    _results.save(
        "kb_redis",
        cells,
        parameters={
            "seconds": SECONDS,
            "repeats": REPEATS,
            "process_counts": PROCESS_COUNTS,
            "batch": BATCH,
            "topics": TOPICS,
            "merge_keys": KEYS,
            "latency_events": LATENCY_EVENTS,
            "latency_rate_per_s": LATENCY_RATE,
            "start_method": "spawn",
            "redis_server": server_info,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "targets": targets,
        },
        derived=derived,
    )


def server_version(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return str(client.info("server").get("redis_version"))
    finally:
        client.close()


if __name__ == "__main__":
    main()
