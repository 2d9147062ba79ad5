"""Benchmark: threads counting words into one shared map (issue 17, batch operations).

Each thread counts a text of its own (WORDS words, in chunks of BATCH, stopping early after
SECONDS) into one map shared by all threads; the figure is aggregate words counted per
second (all threads' words / wall time until the last thread finished), at 1, 2 and 4
threads (``BENCH_THREADS="1,2,4,8,16"`` for a many-core run). Each thread makes its own word
strings before the common start, one object per occurrence (as ``text.split()`` would): a
real word counter reads its own text. Variants:

* ``increment``: ``d.increment(w)`` per word on a shared ShardedDict;
* ``increment_many``: ``d.increment_many(chunk)``, one call per chunk of BATCH words;
* ``private Counter, merged``: a thread-private ``collections.Counter`` updated per chunk,
  then one ``d.increment_many(counter)`` into the shared ShardedDict (the merge is timed);
* ``dict + Lock``: ``with lock: d[w] = d.get(w, 0) + 1`` per word;
* ``Counter + Lock, batches``: ``with lock: shared.update(Counter(chunk))`` per chunk.

Texts: ``zipf`` (a vocabulary of VOCABULARY words drawn with Zipf weights 1/rank**ZIPF_S,
each thread its own draw) and ``distinct`` (every word of the run distinct: each thread's
words are unique to it). ``interned`` rows run the same variant on ``sys.intern``-ed words
(immortal on 3.13t: no cross-thread reference counting on the keys).

Every variant runs in the same process, interleaved; median of REPEATS with the spread in
the results file. Usage: python benchmarks/bench_word_count.py (env: BENCH_THREADS,
BENCH_WORDS words per thread, default 100,000; BENCH_SECONDS, the time limit per
measurement, default 0.5; BENCH_REPEATS, default 3).
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import _results
from atomics import ShardedDict, runtime

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
WORDS = int(os.environ.get("BENCH_WORDS", "100000"))  # per thread, per measurement (at most)
SECONDS = float(os.environ.get("BENCH_SECONDS", "0.5"))  # time limit per measurement
THREAD_COUNTS = tuple(int(t) for t in os.environ.get("BENCH_THREADS", "1,2,4").split(","))
BATCH = 1_000
VOCABULARY = 10_000
ZIPF_S = 1.1
TEXTS = ("zipf", "distinct")

Step = Callable[[list[str]], object]  # counts one chunk (BATCH words) of a thread's text
Finish = Callable[[], object]  # runs after the thread's last chunk (timed too)
# Makes the shared map in the main thread; returns (in a worker thread: -> its step and
# finish, the counts when done).
Made = tuple[Callable[[], tuple[Step, Finish]], Callable[[], dict[str, int]]]
Variant = Callable[[], Made]


def _nothing() -> None:
    pass


def v_increment() -> Made:
    d: ShardedDict[str, int] = ShardedDict()

    def per_thread() -> tuple[Step, Finish]:
        def step(chunk: list[str]) -> None:
            increment = d.increment
            for word in chunk:
                increment(word)

        return step, _nothing

    return per_thread, d.snapshot


def v_increment_many() -> Made:
    d: ShardedDict[str, int] = ShardedDict()
    return (lambda: (d.increment_many, _nothing)), d.snapshot


def v_private_counter() -> Made:
    d: ShardedDict[str, int] = ShardedDict()

    def per_thread() -> tuple[Step, Finish]:
        private: Counter[str] = Counter()
        return private.update, lambda: d.increment_many(private)

    return per_thread, d.snapshot


def v_dict_lock() -> Made:
    d: dict[str, int] = {}
    lock = threading.Lock()

    def per_thread() -> tuple[Step, Finish]:
        def step(chunk: list[str]) -> None:
            get = d.get
            for word in chunk:
                with lock:
                    d[word] = get(word, 0) + 1

        return step, _nothing

    return per_thread, d.copy


def v_counter_lock_batches() -> Made:
    shared: Counter[str] = Counter()
    lock = threading.Lock()

    def per_thread() -> tuple[Step, Finish]:
        def step(chunk: list[str]) -> None:
            batch = Counter(chunk)
            with lock:
                shared.update(batch)

        return step, _nothing

    return per_thread, lambda: dict(shared)


VARIANTS: dict[str, tuple[Variant, bool]] = {  # name -> (variant, interned words)
    "increment": (v_increment, False),
    "increment_many": (v_increment_many, False),
    "private Counter, merged": (v_private_counter, False),
    "dict + Lock": (v_dict_lock, False),
    "Counter + Lock, batches": (v_counter_lock_batches, False),
    "increment, interned": (v_increment, True),
    "increment_many, interned": (v_increment_many, True),
    "dict + Lock, interned": (v_dict_lock, True),
}


def zipf_ranks(seed: int) -> list[int]:
    """WORDS vocabulary ranks drawn with Zipf weights (made once per thread slot)."""
    weights = list(itertools.accumulate(1 / (rank**ZIPF_S) for rank in range(1, VOCABULARY + 1)))
    return random.Random(seed).choices(range(VOCABULARY), cum_weights=weights, k=WORDS)


def run(text: str, threads: int, variant: Variant, interned: bool, ranks: list[list[int]]) -> float:
    """Aggregate words per second of ``threads`` threads counting into one fresh map: each
    thread counts its text chunk by chunk until done or SECONDS have passed (a collapsed
    variant would otherwise take minutes), then runs its finish (the merge, if any)."""
    per_thread, _ = variant()
    start = threading.Barrier(threads + 1)
    stop = threading.Event()
    done = [0] * threads
    times: list[float] = []  # each thread's start and end (list.append: atomic)

    def work(t: int) -> None:
        # The words are made here, in the worker thread: one new str per occurrence.
        if text == "zipf":
            words = [f"word{rank}" for rank in ranks[t]]
        else:
            words = [f"t{t}-word{i}" for i in range(WORDS)]
        if interned:
            words = [sys.intern(word) for word in words]
        chunks = [words[i : i + BATCH] for i in range(0, len(words), BATCH)]
        step, finish = per_thread()
        start.wait()
        times.append(time.perf_counter())
        count = 0
        for chunk in chunks:
            if stop.is_set():
                break
            step(chunk)
            count += len(chunk)
        finish()
        times.append(time.perf_counter())
        done[t] = count

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    # The workers time themselves (first start to last end): with the GIL, a worker may run
    # for a switch interval before this thread could even read the clock.
    deadline = time.perf_counter() + SECONDS
    for worker in workers:  # until every thread is done or the time limit has passed
        worker.join(max(0.0, deadline - time.perf_counter()))
    stop.set()  # a time limit, not synchronisation: the threads poll `stop`
    for worker in workers:
        worker.join()
    return sum(done) / (max(times) - min(times))


def check_counts() -> None:
    """Every variant counts right (one small run, before timing anything)."""
    words = [f"w{i % 7}" for i in range(3 * BATCH + 5)]
    for name, (variant, _) in VARIANTS.items():
        per_thread, counts = variant()
        for _ in range(2):
            step, finish = per_thread()
            step(words)
            finish()
        if counts() != {word: 2 * n for word, n in Counter(words).items()}:
            raise SystemExit(f"{name}: wrong counts")


def main() -> None:
    info = runtime.runtime_info()
    print(
        f"{info.description}, {info.cpu_count} CPUs; {WORDS:,} words per thread (or "
        f"{SECONDS} s), chunks of {BATCH:,}; median of {REPEATS}; aggregate M words/s (and x "
        "its own 1 thread)"
    )
    check_counts()
    ranks = [zipf_ranks(seed) for seed in range(max(THREAD_COUNTS))]
    cells: list[dict[str, Any]] = []
    derived: dict[str, Any] = {}
    for text in TEXTS:
        rates: dict[tuple[str, int], list[float]] = {}
        for _ in range(REPEATS):
            for threads in THREAD_COUNTS:
                for name, (variant, interned) in VARIANTS.items():
                    rate = run(text, threads, variant, interned, ranks)
                    rates.setdefault((name, threads), []).append(rate)
        print(f"\n{text} text:")
        for name in VARIANTS:
            median = {t: statistics.median(rates[(name, t)]) for t in THREAD_COUNTS}
            line = "".join(
                f"{median[t] / 1e6:7.3f} ({median[t] / median[THREAD_COUNTS[0]]:4.2f}x)"
                for t in THREAD_COUNTS
            )
            print(f"  {name:26}{line}")
            cells.extend(
                _results.cell(
                    {"text": text, "variant": name, "threads": t},
                    "words_per_second",
                    rates[(name, t)],
                    unit="words/s",
                )
                for t in THREAD_COUNTS
            )
        for t in THREAD_COUNTS:
            ratio = statistics.median(rates[("increment_many", t)]) / statistics.median(
                rates[("increment", t)]
            )
            derived[f"{text}: increment_many / increment, {t} threads"] = round(ratio, 2)
            print(f"  increment_many / increment at {t} threads: {ratio:.2f}x")
        sys.stdout.flush()
    _results.save(
        "word_count",
        cells,
        parameters={
            "words_per_thread": WORDS,
            "seconds_limit": SECONDS,
            "repeats": REPEATS,
            "batch": BATCH,
            "vocabulary": VOCABULARY,
            "zipf_s": ZIPF_S,
            "thread_counts": THREAD_COUNTS,
        },
        derived=derived,
    )


if __name__ == "__main__":
    main()
