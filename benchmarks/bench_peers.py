"""Benchmark: this library beside the code a user would otherwise write and beside its peers,
counters and maps, in one run (the peers table of docs/lock_granularity.md).

Counters (each thread increments OPS times one counter shared by all threads, except the
handle, which each thread makes for itself):
* ``locked +=`` (stdlib): ``with lock: box.value += 1``;
* ``AtomicInteger.increment_and_get``, ``AtomicInteger +=`` (``operator.iadd``);
* ``StripedCounter.increment`` on the shared counter, and ``StripedCounter handle``;
* ``ft_utils AtomicInt64.incr`` (C extension), ``threadfactory SyncInt +=`` (pure Python),
  where importable.

Calls: an empty method called on one object shared by all threads and on a thread-private
object -- the floor under any method of a shared object (on 3.13t the caller's load of the
shared object and the call's reference to ``self`` write its reference count).

Maps (one map shared by all threads; each thread cycles through 64 small-int keys of its
own, disjoint up to 4 threads -- immortal objects, so the cross-thread key cliff of
docs/sharded_dict.md stays out of the figures):
* set: ``dict + Lock`` (``with lock: d[k] = v``), ``ShardedDict``, ``ft_utils ConcurrentDict``,
  ``threadfactory ConcurrentDict``;
* increment (``d[k] += 1``, atomically): ``dict + Lock``, ``ShardedDict.increment`` and, where
  the library has it, ``ShardedDict.increment_many`` over batches of 64 keys.

A peer that cannot be imported is reported as missing, with the import error, in the console
and in the results' parameters (``peers``). Every variant runs in the same process,
interleaved round by round; figures are medians of REPEATS rounds (the results keep every
sample). On a machine with N cores, thread counts above N measure oversubscription.

Other processes on the machine take cores away mid-run, and a 2-thread figure then measures
one core. So each measurement (a variant at every thread count) sits between two runs of a
*probe* -- an empty thread-private loop at 1 and 2 threads -- and is retried (up to
MAX_ATTEMPTS) until the probe shows both cores free (>= 0.85 x 2, ``BENCH_PROBE_MIN``
overrides; not on a GIL build, where the probe cannot scale). The probe's scaling is kept
beside each variant (``probe_scaling`` cells), and the console says how many measurements met
the target.

Usage: python benchmarks/bench_peers.py [OPS_PER_THREAD]   (default 100,000)
       BENCH_THREADS=1,2,4 python benchmarks/bench_peers.py (thread counts; default 1,2)
"""

from __future__ import annotations

import importlib
import importlib.metadata
import operator
import os
import statistics
import sys
import threading
from collections.abc import Callable
from typing import Any

import _results
from atomics import AtomicInteger, ShardedDict, StripedCounter, runtime

REPEATS = 7
THREAD_COUNTS = tuple(int(t) for t in os.environ.get("BENCH_THREADS", "1,2").split(","))
KEYS_PER_THREAD = 64
BATCH = 64  # keys per increment_many call
PROBE_N = 300_000  # iterations of the probe's empty loop
PROBE_THREADS = 2
MAX_ATTEMPTS = 4  # a measurement is retried while the probe says cores were busy

Op = Callable[[], object]
Factory = Callable[[], Callable[[int], Op]]  # per measurement -> (thread index -> its op)

PEERS: dict[str, str] = {}  # peer -> "version x" or "missing: <import error>"


def _peer(module: str, distribution: str) -> Any:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # any failure to import makes the peer missing
        PEERS[distribution] = f"missing: {type(exc).__name__}: {exc}"
        return None
    PEERS[distribution] = f"version {importlib.metadata.version(distribution)}"
    return mod


ft_concurrency = _peer("ft_utils.concurrency", "ft_utils")
thread_factory = _peer("thread_factory", "threadfactory")


class Box:
    value = 0


def keys_of(t: int) -> list[int]:
    """Thread t's keys: small ints (immortal, 0..255), disjoint between threads up to 4
    threads (beyond, threads share keys, as they would in a real map)."""
    base = (t * KEYS_PER_THREAD) % 256
    return [base + i for i in range(KEYS_PER_THREAD)]


def cycling(keys: list[int], step: Callable[[int], object]) -> Op:
    """An op applying ``step`` to the next key of ``keys`` (one key per call)."""
    n = len(keys)
    state = [0]

    def op() -> None:
        i = state[0]
        state[0] = (i + 1) % n
        step(keys[i])

    return op


def counter_variants() -> dict[str, Factory]:
    def locked() -> Callable[[int], Op]:
        lock, box = threading.Lock(), Box()

        def increment() -> None:
            with lock:
                box.value += 1

        return lambda t: increment

    def atomic() -> Callable[[int], Op]:
        counter = AtomicInteger()
        return lambda t: counter.increment_and_get

    def atomic_iadd() -> Callable[[int], Op]:
        counter = AtomicInteger()
        return lambda t: lambda: operator.iadd(counter, 1)

    def striped() -> Callable[[int], Op]:
        counter = StripedCounter()
        return lambda t: counter.increment

    def striped_handle() -> Callable[[int], Op]:
        counter = StripedCounter()
        return lambda t: counter.handle().increment  # made in the thread, as it must be

    out: dict[str, Factory] = {
        "locked += (stdlib)": locked,
        "AtomicInteger.increment_and_get": atomic,
        "AtomicInteger +=": atomic_iadd,
        "StripedCounter.increment (shared)": striped,
        "StripedCounter handle": striped_handle,
    }
    if ft_concurrency is not None:

        def ft_atomic() -> Callable[[int], Op]:
            counter = ft_concurrency.AtomicInt64(0)
            return lambda t: counter.incr

        out["ft_utils AtomicInt64.incr"] = ft_atomic
    if thread_factory is not None:

        def tf_sync_int() -> Callable[[int], Op]:
            counter = thread_factory.SyncInt(0)
            return lambda t: lambda: operator.iadd(counter, 1)

        out["threadfactory SyncInt +="] = tf_sync_int
    return out


class Empty:
    __slots__ = ("__weakref__",)

    def nop(self) -> None:
        pass


def call_variants() -> dict[str, Factory]:
    """The floor under every method of a shared object: an empty method, called on one
    object shared by all threads, and on an object of each thread's own."""

    def shared() -> Callable[[int], Op]:
        obj = Empty()
        return lambda t: obj.nop

    def private() -> Callable[[int], Op]:
        return lambda t: Empty().nop

    return {"empty method, shared object": shared, "empty method, private object": private}


def map_variants() -> dict[str, Factory]:
    def dict_lock_set() -> Callable[[int], Op]:
        lock: threading.Lock = threading.Lock()
        d: dict[int, int] = {}

        def step(k: int) -> None:
            with lock:
                d[k] = 1

        return lambda t: cycling(keys_of(t), step)

    def sharded_set() -> Callable[[int], Op]:
        d: ShardedDict[int, int] = ShardedDict()
        return lambda t: cycling(keys_of(t), lambda k: d.__setitem__(k, 1))

    def dict_lock_increment() -> Callable[[int], Op]:
        lock: threading.Lock = threading.Lock()
        d: dict[int, int] = {}

        def step(k: int) -> None:
            with lock:
                d[k] = d.get(k, 0) + 1

        return lambda t: cycling(keys_of(t), step)

    def sharded_increment() -> Callable[[int], Op]:
        d: ShardedDict[int, int] = ShardedDict()
        return lambda t: cycling(keys_of(t), d.increment)

    out: dict[str, Factory] = {
        "set: dict + Lock (stdlib)": dict_lock_set,
        "set: ShardedDict": sharded_set,
        "increment: dict + Lock (stdlib)": dict_lock_increment,
        "increment: ShardedDict.increment": sharded_increment,
    }
    if hasattr(ShardedDict, "increment_many"):

        def sharded_increment_many() -> Callable[[int], Op]:
            d: ShardedDict[int, int] = ShardedDict()

            def make(t: int) -> Op:
                keys = keys_of(t)
                batches = [keys[i : i + BATCH] for i in range(0, len(keys), BATCH)]
                state = [0]
                many = d.increment_many  # type: ignore[attr-defined]

                def op() -> None:  # one call = BATCH increments: counted as BATCH ops
                    i = state[0]
                    state[0] = (i + 1) % len(batches)
                    many(batches[i])

                return op

            return make

        out[f"increment: ShardedDict.increment_many (x{BATCH})"] = sharded_increment_many
    if ft_concurrency is not None:

        def ft_dict_set() -> Callable[[int], Op]:
            d = ft_concurrency.ConcurrentDict()
            return lambda t: cycling(keys_of(t), lambda k: d.__setitem__(k, 1))

        out["set: ft_utils ConcurrentDict"] = ft_dict_set
    if thread_factory is not None:

        def tf_dict_set() -> Callable[[int], Op]:
            d = thread_factory.ConcurrentDict()
            return lambda t: cycling(keys_of(t), lambda k: d.__setitem__(k, 1))

        out["set: threadfactory ConcurrentDict"] = tf_dict_set
    return out


def probe_loop() -> None:
    for _ in range(PROBE_N):
        pass


def probe_scaling() -> float:
    """How many cores this process has right now: the aggregate rate of an empty
    thread-private loop at PROBE_THREADS threads over its rate at 1 (ideal: PROBE_THREADS)."""
    one = _results.time_threads(1, lambda t: probe_loop)
    many = _results.time_threads(PROBE_THREADS, lambda t: probe_loop)
    return PROBE_THREADS * one / many


def probe_target(cpus: int) -> float:
    """The probe scaling a measurement waits for (BENCH_PROBE_MIN, default 0.85 x the
    threads the probe can run in parallel; 0 where threads cannot run in parallel)."""
    if "BENCH_PROBE_MIN" in os.environ:
        return float(os.environ["BENCH_PROBE_MIN"])
    if runtime.gil_enabled() or cpus < 2:
        return 0.0
    return 0.85 * min(PROBE_THREADS, cpus)


def ops_per_call(name: str) -> int:
    return BATCH if "increment_many" in name else 1


def run(threads: int, calls: int, factory: Factory) -> float:
    """Seconds for ``threads`` threads each doing ``calls`` calls of its own op."""
    make = factory()

    def prepare(t: int) -> Callable[[], None]:
        op = make(t)  # made in this thread (a handle must be)

        def body() -> None:
            for _ in range(calls):
                op()

        return body

    return _results.time_threads(threads, prepare)


def main() -> None:
    import warnings

    # threadfactory's ConcurrentDict warns when it is collected (its __del__ disposes it)
    warnings.filterwarnings("ignore", message="Your ConcurrentDictionary has been disposed")
    ops = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {ops:,} operations per thread, "
        f"median of {REPEATS}, threads {THREAD_COUNTS}"
    )
    for peer, state in PEERS.items():
        print(f"  peer {peer}: {state}")
    load_before = os.getloadavg()
    families = {
        "calls": call_variants(),
        "counters": counter_variants(),
        "maps": map_variants(),
    }
    samples: dict[tuple[str, str, int], list[float]] = {}
    wanted = probe_target(info.cpu_count)
    tries = accepted = 0
    for _ in range(REPEATS):
        for family, variants in families.items():
            for name, factory in variants.items():
                per_call = ops_per_call(name)
                calls = max(1, ops // per_call)
                for attempt in range(1, MAX_ATTEMPTS + 1):
                    tries += 1
                    before = probe_scaling()
                    measured = {
                        t: t * calls * per_call / run(t, calls, factory) for t in THREAD_COUNTS
                    }
                    after = probe_scaling()
                    if min(before, after) >= wanted or attempt == MAX_ATTEMPTS:
                        accepted += min(before, after) >= wanted
                        break
                for t, rate in measured.items():
                    samples.setdefault((family, name, t), []).append(rate)
                samples.setdefault(("probe", name, 0), []).append(min(before, after))
    load_after = os.getloadavg()
    rates = {key: statistics.median(values) for key, values in samples.items()}
    header = f"  {'variant':46}" + "".join(f"{t:>8}T" for t in THREAD_COUNTS)
    for family, variants in families.items():
        print(f"\n{family}: aggregate M operations/s (median) and scaling vs 1 thread")
        print(header + ("   scaling" if 1 in THREAD_COUNTS else ""))
        for name in variants:
            row = "".join(f"{rates[(family, name, t)] / 1e6:9.2f}" for t in THREAD_COUNTS)
            if 1 in THREAD_COUNTS:
                base = rates[(family, name, 1)]
                row += "  " + " ".join(
                    f"{rates[(family, name, t)] / base:.2f}x" for t in THREAD_COUNTS if t != 1
                )
            print(f"  {name:46}{row}")
    probes = [x for (family, _, _), xs in samples.items() if family == "probe" for x in xs]
    print(
        f"\nload average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}; "
        f"probe (empty thread-private loop, {PROBE_THREADS} threads / 1) wanted >= {wanted:.2f}: "
        f"{accepted} of {len(probes)} measurements met it ({tries} tries), probe median "
        f"{statistics.median(probes):.2f}x [{min(probes):.2f}-{max(probes):.2f}]"
    )
    _results.save(
        "peers",
        [
            _results.cell(
                {"family": family, "variant": name, "threads": t},
                "ops_per_second",
                samples[(family, name, t)],
                unit="ops/s",
            )
            for family, variants in families.items()
            for name in variants
            for t in THREAD_COUNTS
        ]
        + [
            _results.cell(
                {"family": "probe", "variant": name, "threads": PROBE_THREADS},
                "probe_scaling",
                samples[("probe", name, 0)],
                unit="x",
            )
            for variants in families.values()
            for name in variants
        ],
        parameters={
            "ops_per_thread": ops,
            "repeats": REPEATS,
            "thread_counts": THREAD_COUNTS,
            "keys_per_thread": KEYS_PER_THREAD,
            "batch": BATCH,
            "peers": dict(PEERS),
            "probe_wanted": wanted,
            "probe_met": accepted,
            "max_attempts": MAX_ATTEMPTS,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
    )


if __name__ == "__main__":
    main()
