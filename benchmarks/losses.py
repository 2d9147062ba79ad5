"""Where a structure of this package loses to the plain alternative, from the reference results.

Issue 17: no benchmark row of this package may sit below the stdlib composition a user would
otherwise write without an explanation and a winning variant in the guide. This module finds
every such cell in ``benchmarks/results/reference/`` -- each ``(ours, naive)`` pair of
``PAIRS`` compared in every configuration where both were measured (same benchmark, same run,
same key apart from the variant) -- and groups them by pair and interpreter. Every pair that
loses anywhere must have an entry in ``EXPLAINED`` (the measured cause and the variant that
wins): ``losses_table`` raises for a losing pair without one, so ``make bench-tables`` and
``tests/test_benchmarks.py`` fail until it is explained. ``benchmarks/tables.py`` renders the
result into ``docs/lock_granularity.md`` (``bench-table: losses/all``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Ref = dict[str, Any]

# benchmark -> ((ours, naive), ...): the variant of this package and what a user writes instead
PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "counters": (
        ("AtomicInteger", "locked +="),
        ("StripedCounter.increment", "locked +="),
        ("StripedCounter handle", "locked +="),
    ),
    "sharded_dict": (
        ("ShardedDict", "dict + Lock"),
        ("ShardedDict", "dict + Lock, no .get"),
        ("ShardedDict handles", "dict + Lock"),
        ("ShardedDict handles", "dict + Lock, no .get"),
        ("handles, interned keys", "dict + Lock, interned"),
    ),
    "dict_cliff": (),  # one reader, no lock: compared below by case
    "bounded_queue": (("BoundedQueue (one lock)", "queue.Queue"),),
    "knowledge_base": (
        ("KnowledgeBase", "article (one lock)"),
        ("KnowledgeBase, own topics", "article (one lock)"),
        ("KnowledgeBase, explicit ids, own topics", "article (one lock)"),
        ("KnowledgeBase, interned ids, own topics", "article (one lock)"),
    ),
    "word_count": (
        ("increment", "dict + Lock"),
        ("increment_many", "dict + Lock"),
        ("increment_many", "Counter + Lock, batches"),
        ("increment, interned", "dict + Lock, interned"),
        ("increment_many, interned", "dict + Lock, interned"),
    ),
    "kb_redis": (
        ("add_insight", "XADD"),
        ("world.merge (sum)", "XADD"),
        ("add_insights x64", "XADD pipelined x64"),
    ),
    "peers": (
        ("AtomicInteger.increment_and_get", "locked += (stdlib)"),
        ("AtomicInteger +=", "locked += (stdlib)"),
        ("StripedCounter.increment (shared)", "locked += (stdlib)"),
        ("set: ShardedDict", "set: dict + Lock (stdlib)"),
        ("increment: ShardedDict.increment", "increment: dict + Lock (stdlib)"),
        ("increment: ShardedDict.increment_many (x64)", "increment: dict + Lock (stdlib)"),
    ),
}

# dict_cliff: ShardedDict case -> the plain-dict case it is the counterpart of
CLIFF_PAIRS = (
    ("ShardedDict, small-int keys (immortal)", "dict made by the reader, same key objects"),
    (
        "ShardedDict, keys made by live main (also in its list), same objects",
        "dict made by live main thread, same key objects",
    ),
    (
        "ShardedDict, keys made by exited thread, distinct lookups",
        "dict made by an exited thread, its key objects",
    ),
    (
        "ShardedDict made by live main, keys referenced by it only, distinct lookups",
        "dict made by live main, keys referenced by the dict only, distinct lookups",
    ),
    (
        "ShardedDict made by live main, keys referenced by it only, distinct lookups",
        "same dict, d[k] instead of d.get(k)",
    ),
)

# (benchmark, ours) -> (measured cause, what wins). Causes measured in the issue-17 work
# (docs/lock_granularity.md, "Where this library loses").
PRICE = (
    "the price of a Python-level operation: a method call, the stripe choice "
    "(`hash(k) % stripes`), the re-entry check and `with` on a lock, against one inline "
    "locked dict operation (one thread, write-heavy, 1,000 keys, 3.13t: 1.66 vs 4.21 M "
    "sets/s in the same run, rule 3)"
)
EXPLAINED: dict[tuple[str, str], tuple[str, str]] = {
    ("counters", "AtomicInteger"): (
        "one method call around the same locked `+=` (3.13t 1 thread: equal within noise); "
        "from 2 threads both serialise on one lock and one shared object",
        "`StripedCounter` handles (rule 1), or thread-private counts merged at the end",
    ),
    ("counters", "StripedCounter.increment"): (
        "calls on one shared object write its reference count from every thread (3.13t)",
        "`StripedCounter.handle()` per thread (rule 1)",
    ),
    ("counters", "StripedCounter handle"): (
        "a method call against an inline `+=` on one thread; only noise otherwise",
        "the handle already is the variant that scales",
    ),
    ("sharded_dict", "ShardedDict"): (
        PRICE + "; on 3.13t a call on the shared map also writes the reference counts of "
        "5 shared objects (2 for dict + Lock)",
        "handles; batches (`update`, `increment_many`, rule 5); thread-private maps merged at "
        "the end (rule 4); with 2 cores a single inline lock stays ahead for plain stores",
    ),
    ("sharded_dict", "ShardedDict handles"): (
        PRICE,
        "batches (rule 5) or thread-private maps (rule 4); striping pays only when a plain "
        "store is not all you need (compound operations) or with more cores",
    ),
    ("sharded_dict", "handles, interned keys"): (
        PRICE,
        "batches (rule 5); thread-private data merged at the end (rule 4)",
    ),
    ("dict_cliff", "ShardedDict"): (
        "a Python-level `get` (method call, stripe choice, `in` then `[]`) against one "
        "C-level lookup, by one reader thread with no lock to take",
        "for read-only data, a plain dict read with `d[k]`/`in` (atomic per operation); "
        "ShardedDict for data that is written while read",
    ),
    ("bounded_queue", "BoundedQueue (one lock)"): (
        "noise around an even result",
        "`put_many`/`get_many` batches (rule 5)",
    ),
    ("knowledge_base", "KnowledgeBase"): (
        "more work per insight in Python: every argument validated, an id, a gap-free "
        "per-topic sequence number, the world model's and subscribers' hooks",
        "writers on their own topics; `add_insights` batches; from 2 threads on 3.13t the "
        "default already wins (rule 7)",
    ),
    ("knowledge_base", "KnowledgeBase, own topics"): (
        "the same per-insight work (1 thread, or the GIL build)",
        "`add_insights` batches; more threads on a free-threaded build",
    ),
    ("knowledge_base", "KnowledgeBase, explicit ids, own topics"): (
        "the per-insight work plus validating each id and checking it for duplicates",
        "default ids where the caller does not need its own; `add_insights` batches",
    ),
    ("knowledge_base", "KnowledgeBase (median latency)"): (
        "on the GIL build a reader copies a small topic in one C-level call under the "
        "article's lock; ours walks a cursor in Python (3.13t: ours is 11-135x faster)",
        "nothing needed: the cursor read wins as topics grow, and on every free-threaded run",
    ),
    ("knowledge_base", "KnowledgeBase (p99 latency)"): (
        "as the median latency, at 8 writers on the GIL build",
        "as the median latency",
    ),
    ("knowledge_base", "KnowledgeBase, interned ids, own topics"): (
        "as explicit ids, plus `sys.intern` per id",
        "default ids; `add_insights` batches",
    ),
    ("word_count", "increment"): (
        PRICE + ", once per word",
        "`increment_many` per chunk, or a thread-private `Counter` merged at the end",
    ),
    ("word_count", "increment_many"): (
        "on one thread (and on the GIL build) one lock around a plain dict has nothing to "
        "wait for, and the batch's C-level passes (count, group by stripe, check, update) "
        "cost more than one inline read-modify-write per word",
        "a thread-private `Counter` merged at the end; `increment_many` is the variant that "
        "keeps its rate as threads are added on 3.13t",
    ),
    ("word_count", "increment, interned"): (
        PRICE + ", once per word",
        "`increment_many` per chunk",
    ),
    ("word_count", "increment_many, interned"): (
        "as `increment_many` above",
        "a thread-private `Counter` merged at the end",
    ),
    ("kb_redis", "add_insight"): (
        "one server-side script per insight (two stream appends, the tips, the reply "
        "record: about 8x a bare XADD's server time) plus a record built in Python",
        "`add_insights` batches (one round trip for many)",
    ),
    ("kb_redis", "world.merge (sum)"): (
        "a compare-and-set script on the server per merge",
        "merge fewer, larger values; batch the insights instead",
    ),
    ("kb_redis", "add_insights x64"): (
        "the same script work per insight, one round trip per batch",
        "larger batches",
    ),
    ("peers", "AtomicInteger.increment_and_get"): (
        "one method call around the same locked `+=`",
        "`StripedCounter` handles (rule 1)",
    ),
    ("peers", "AtomicInteger +="): (
        "the in-place protocol (`__iadd__`, a Python call) around the same locked `+=`",
        "`StripedCounter` handles (rule 1)",
    ),
    ("peers", "StripedCounter.increment (shared)"): (
        "calls on one shared object write its reference count from every thread (3.13t)",
        "`StripedCounter.handle()` per thread (rule 1)",
    ),
    ("peers", "set: ShardedDict"): (PRICE, "handles, batches (rule 5)"),
    ("peers", "increment: ShardedDict.increment"): (PRICE, "batches (rule 5)"),
    ("peers", "increment: ShardedDict.increment_many (x64)"): (
        "64 distinct keys per batch: the batch's C-level passes cost more than 64 inline "
        "increments under one lock",
        "larger batches with repeated keys; thread-private `Counter` merged at the end",
    ),
}


def _groups(ref: Ref) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(metric, key without its variant) -> variant -> cell."""
    out: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for c in ref["cells"]:
        key = dict(c["key"])
        variant = key.pop("variant", None)
        if variant is None or not c.get("samples"):
            continue
        if not c["metric"].endswith(("per_second", "latency_s")):
            continue  # e.g. bench_peers' probe_scaling: not a measure of the variant
        out.setdefault((c["metric"], json.dumps(key, sort_keys=True)), {})[variant] = c
    return out


def _ratio(ours: dict[str, Any], naive: dict[str, Any]) -> float:
    """ours / naive as "x the naive speed": below 1 is a loss (latencies inverted)."""
    if ours["higher_is_better"]:
        return float(ours["median"] / naive["median"])
    return float(naive["median"] / ours["median"])


def _where(key_json: str) -> str:
    key = json.loads(key_json)
    return ", ".join(f"{k} {v}" for k, v in key.items() if k != "test") or "-"


def find_losses(refs_by_bench: dict[str, list[Ref]]) -> list[dict[str, Any]]:
    """Every losing (ours, naive) comparison: one dict per pair, interpreter and metric."""
    found: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for bench, pairs in PAIRS.items():
        for ref in refs_by_bench.get(bench, []):
            interp = ref["provenance"]["interpreter"]
            if bench == "dict_cliff":
                cases = {c["key"].get("case"): c for c in ref["cells"] if c.get("samples")}
                comparisons = [
                    ("gets_per_second", "{}", "ShardedDict", naive, cases[o], cases[n])
                    for o, n in CLIFF_PAIRS
                    if o in cases and n in cases
                    for naive in (n,)
                ]
            else:
                comparisons = [
                    (metric, key, ours, naive, cells[ours], cells[naive])
                    for (metric, key), cells in _groups(ref).items()
                    for ours, naive in pairs
                    if ours in cells and naive in cells
                ]
            for metric, key, ours, naive, co, cn in comparisons:
                r = _ratio(co, cn)
                slot = found.setdefault(
                    (bench, interp, ours, naive, metric),
                    {"bench": bench, "interp": interp, "ours": ours, "naive": naive,
                     "metric": metric, "cells": 0, "lost": [], "file": ref["_file"]},
                )  # fmt: skip
                slot["cells"] += 1
                if r < 1:
                    slot["lost"].append((r, _where(key) if bench != "dict_cliff" else naive))
    return [v for v in found.values() if v["lost"]]


def losses_table(refs_by_bench: dict[str, list[Ref]]) -> list[str]:
    """The guide's table: every losing pair, per interpreter how many of its cells lose and
    by how much, then each pair's measured cause and what wins, once. Raises ``ValueError``
    for a losing pair that ``EXPLAINED`` does not explain."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    missing = []
    for loss in find_losses(refs_by_bench):
        ours = loss["ours"]
        if not loss["metric"].endswith("per_second"):
            ours = f"{ours} ({loss['metric'].removesuffix('_s').replace('_', ' ')})"
        if (loss["bench"], ours) not in EXPLAINED:
            missing.append(f"{loss['bench']}: {ours} < {loss['naive']}")
            continue
        naive = "plain dict, same case" if loss["bench"] == "dict_cliff" else loss["naive"]
        ratios = sorted(r for r, _ in loss["lost"])
        span = f"{ratios[0]:.2f}x" if len(ratios) == 1 else f"{ratios[0]:.2f}-{ratios[-1]:.2f}x"
        worst = min(loss["lost"])[1]
        where = "" if loss["bench"] == "dict_cliff" else f"; worst at {worst}"
        if loss["bench"] == "dict_cliff":  # one cell per case: name the case
            text = f'{loss["interp"]}: {span} vs "{loss["naive"]}"'
        else:
            text = f"{loss['interp']}: {len(ratios)} of {loss['cells']} cells, {span}{where}"
        grouped.setdefault((loss["bench"], ours, naive), []).append(text)
    if missing:
        raise ValueError(
            "benchmarks/losses.py: losing pairs without an explanation in EXPLAINED: "
            + "; ".join(sorted(set(missing)))
        )
    if not grouped:
        return ["No benchmark cell of this package loses to its plain alternative.", ""]
    notes: dict[tuple[str, str], int] = {}
    rows = []
    for (bench, ours, naive), where in grouped.items():
        number = notes.setdefault((bench, ours), len(notes) + 1)
        rows.append(f"| {bench} | {ours} | {naive} | {'<br>'.join(where)} | [{number}] |")
    out = [
        "| benchmark | ours | plain alternative | cells where ours is slower (ours / plain) "
        "| why, what wins |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    for (bench, ours), number in notes.items():
        cause, wins = EXPLAINED[(bench, ours)]
        out.append(f"{number}. {bench}, {ours}: {cause}. **Wins:** {wins}.")
    return [*out, ""]


def files(refs_by_bench: dict[str, list[Ref]]) -> Iterable[Ref]:
    """The reference results the table reads (for its source line)."""
    for bench in PAIRS:
        yield from refs_by_bench.get(bench, [])
