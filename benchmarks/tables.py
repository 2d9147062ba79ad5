"""Generate the docs' benchmark tables from the reference results, or check them.

Every benchmark table in ``docs/*.md`` sits between two markers::

    <!-- bench-table: counters/free-threaded -->
    ... generated: do not edit by hand ...
    <!-- /bench-table -->

The name before the slash picks a table below (``TABLES``); what follows it picks which
reference results it shows (``free-threaded``, ``gil`` or ``all``).  The tables are made only
from ``benchmarks/results/reference/*.json`` (see ``promote.py``); each states the files it
came from and their provenance, and shows every median with its spread (``±N%``: half the
interquartile range of the repetitions, as a percentage of their median; robust to the one
outlier a busy machine produces, where a standard deviation is not).

Markers are parsed strictly, line by line: a line mentioning ``bench-table`` must be exactly
an opening or a closing marker, blocks cannot nest, and every block must be closed; anything
else is an error naming the file and line (a broken marker must never make a table vanish or
a hand edit pass unnoticed). Blocks live in ``docs/*.md`` and ``README.md``.

Usage:
    python benchmarks/tables.py          # rewrite the blocks (make bench-tables)
    python benchmarks/tables.py --check  # exit 1 and show the difference if any block is stale
                                         # (exit 2: unreadable references or broken markers)
"""

from __future__ import annotations

import argparse
import difflib
import json
import pathlib
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

import losses  # benchmarks/losses.py, beside this script

HERE = pathlib.Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"
README = HERE.parent / "README.md"
REFERENCE = HERE / "results" / "reference"
FORMAT, FORMAT_VERSION = "atomics-bench", 1  # as benchmarks/_results.py writes them
OPEN = re.compile(r"<!-- bench-table: (?P<name>[\w-]+)/(?P<which>[\w-]+) -->")
CLOSE = "<!-- /bench-table -->"

Ref = dict[str, Any]  # one loaded reference results file (with "_file": its name)


# -- reading the reference results ------------------------------------------------------


def references(folder: pathlib.Path = REFERENCE) -> dict[str, list[Ref]]:
    """benchmark name -> its reference results, free-threaded builds first."""
    out: dict[str, list[Ref]] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".pyperf.json"):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not readable JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not an {FORMAT} results file")
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: format version {data.get('format_version')}, "
                             f"this script reads {FORMAT_VERSION}")  # fmt: skip
        data["_file"] = path.name
        out.setdefault(data["benchmark"], []).append(data)
    for refs in out.values():
        refs.sort(key=lambda r: (not r["provenance"]["gil_disabled_build"], r["_file"]))
    return out


def select(refs: list[Ref], which: str) -> list[Ref]:
    if which == "all":
        return refs
    if which not in ("free-threaded", "gil"):
        raise ValueError(f"unknown selector {which!r} (free-threaded, gil, all)")
    # By what ran, not by the build: a free-threaded build with its GIL enabled is "gil".
    want_gil = which == "gil"
    return [r for r in refs if r["provenance"]["gil_enabled"] == want_gil]


def find(ref: Ref, metric: str, **key: Any) -> dict[str, Any] | None:
    """The cell of ``metric`` whose key is exactly ``key`` (as JSON: True is not 1)."""
    want = json.dumps(key, sort_keys=True)
    for c in ref["cells"]:
        if c["metric"] == metric and json.dumps(c["key"], sort_keys=True) == want:
            return c
    return None


def values(ref: Ref, metric: str, field: str) -> list[Any]:
    """The distinct values of key ``field`` in ``ref``'s ``metric`` cells, in run order."""
    seen: list[Any] = []
    for c in ref["cells"]:
        if c["metric"] == metric and c["key"].get(field) not in seen:
            seen.append(c["key"][field])
    return seen


# -- formatting -------------------------------------------------------------------------


def interp(ref: Ref) -> str:
    p = ref["provenance"]
    return f"{p['interpreter']} ({'GIL disabled' if not p['gil_enabled'] else 'GIL'})"


def source_line(refs: Iterable[Ref]) -> str:
    parts = []
    for r in refs:
        p = r["provenance"]
        commit = (p["commit"] or "no commit")[:10] + (", dirty tree" if p["dirty"] else "")
        parts.append(
            f"`{r['_file']}`: {p['description']}; {p['cpu_model']}, {p['cpu_count']} CPUs; "
            f"{p['date'][:10]}; commit {commit}"
        )
    return "Source: " + "; ".join(parts) + "."


def spread(c: dict[str, Any]) -> str:
    """`` ±N%``: half the interquartile range over the median (empty for one repetition)."""
    if (c.get("repetitions") or 0) < 2 or not c.get("median"):
        return ""
    return f" ±{50 * c['iqr'] / abs(c['median']):.0f}%"


def num(x: float) -> str:
    """Two significant decimals for small figures, none for large ones."""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fig(c: dict[str, Any] | None, scale: float = 1.0) -> str:
    """``median ±spread`` of a cell in units of ``scale``; ``-`` when absent."""
    if c is None or not c.get("samples"):
        return "-"
    return f"{num(c['median'] / scale)}{spread(c)}"


def ratio(c: dict[str, Any] | None, base: dict[str, Any] | None) -> str:
    if c is None or base is None or not c.get("samples") or not base.get("samples"):
        return ""
    return f" ({c['median'] / base['median']:.2f}x)"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# -- the tables -------------------------------------------------------------------------

COUNTER_LABELS = {
    "locked +=": "`with lock: box.value += 1` (shared)",
    "AtomicInteger": "`AtomicInteger.increment_and_get` (shared)",
    "StripedCounter.increment": "`StripedCounter.increment` (shared)",
    "StripedCounter handle": "`StripedCounter` handle (per thread)",
    "private AtomicInteger": "private `AtomicInteger` per thread (nothing shared)",
}


def t_counters(refs: list[Ref]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        metric = "increments_per_second"
        threads = values(ref, metric, "threads")
        rows = []
        for variant in values(ref, metric, "variant"):
            if variant in INPLACE_OPS:
                continue  # their own table: counters-inplace
            cells = [find(ref, metric, variant=variant, threads=t) for t in threads]
            base = find(ref, metric, variant=variant, threads=1)
            two = find(ref, metric, variant=variant, threads=2)
            label = COUNTER_LABELS.get(variant, variant)
            rows.append([label, *(fig(c, 1e6) for c in cells), ratio(two, base).strip(" ()")])
        cost = ref["derived"].get("atomic_integer_vs_locked_1t")
        out += [f"{interp(ref)}, M increments/s:", ""]
        out += table(["variant", *(f"{t}T" for t in threads), "2T / 1T"], rows)
        if cost is not None:
            out += ["", f"AtomicInteger 1-thread rate / locked `+=` 1-thread rate: {cost:.2f}x."]
        out.append("")
    return out


INPLACE_OPS = {
    f"AtomicInteger {op}": op
    for op in ("+=", "-=", "*=", "//=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=")
}


def paired_ratio(
    ref: Ref, variant: str, threads: int, c: dict[str, Any] | None, base: dict[str, Any] | None
) -> str:
    """`` (0.85x [0.80-0.90])`` from the run's paired ratios; the ratio of medians in runs
    made before the pairing."""
    r = find(ref, "rate_vs_locked", variant=variant, threads=threads)
    if r is None or not r.get("samples"):
        return ratio(c, base)
    return f" ({r['median']:.2f}x [{r['q1']:.2f}-{r['q3']:.2f}])"


def t_counters_inplace(refs: list[Ref]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        metric = "increments_per_second"
        present = [v for v in values(ref, metric, "variant") if v in INPLACE_OPS]
        paired = any(c["metric"] == "rate_vs_locked" for c in ref["cells"])
        how = (
            "median of the rates paired with locked `+=`, round by round [quartiles]"
            if paired
            else "rate / locked `+=` rate, same run"
        )
        out += [f"{interp(ref)}, M operations/s and ({how}):", ""]
        if not present:
            out += ["(not measured in this run)", ""]
            continue
        threads = [t for t in (1, 2) if find(ref, metric, variant=present[0], threads=t)]
        base = {t: find(ref, metric, variant="locked +=", threads=t) for t in threads}
        rows = [[COUNTER_LABELS["locked +="], *(fig(base[t], 1e6) for t in threads)]]
        for variant in present:
            cells = [find(ref, metric, variant=variant, threads=t) for t in threads]
            rows.append(
                [
                    # a | inside a table cell must be escaped, even in a code span
                    f"`counter {INPLACE_OPS[variant]} n`".replace("|", "\\|"),
                    *(
                        fig(c, 1e6) + paired_ratio(ref, variant, t, c, base[t])
                        for c, t in zip(cells, threads, strict=True)
                    ),
                ]
            )
        out += table(["operation", *(f"{t}T" for t in threads)], rows)
        out.append("")
    return out


def t_sharded_dict(refs: list[Ref]) -> list[str]:
    out: list[str] = []
    metric = "ops_per_second"
    for ref in refs:
        threads = values(ref, metric, "threads")
        rows = []
        for keys in values(ref, metric, "keys"):
            for workload in values(ref, metric, "workload"):
                label = f"{workload}, {keys:,} keys"
                variants = [
                    c["key"]["variant"]
                    for c in ref["cells"]
                    if c["metric"] == metric
                    and c["key"]["keys"] == keys
                    and c["key"]["workload"] == workload
                    and c["key"]["threads"] == 1
                ]
                for variant in variants:
                    k = {"keys": keys, "workload": workload, "variant": variant}
                    base = find(ref, metric, **k, threads=1)
                    cells = []
                    for t in threads:
                        c = find(ref, metric, **k, threads=t)
                        cells.append(fig(c, 1e6) + (ratio(c, base) if t == 2 else ""))
                    rows.append([label, variant, *cells])
                    label = ""
        out += [f"{interp(ref)}, M ops/s (2 threads: x the variant's own 1-thread rate):", ""]
        out += table(
            ["workload, keys", "variant", *(f"{t} thread{'s' * (t > 1)}" for t in threads)], rows
        )
        out.append("")
    return out


def t_dict_cliff(refs: list[Ref]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        rows = [
            [c["key"]["case"], fig(c, 1e6)]
            for c in ref["cells"]
            if c["metric"] == "gets_per_second"
        ]
        out += [f"{interp(ref)}, one reader thread:", ""]
        out += table(["case", "M gets/s"], rows)
        out.append("")
    return out


def t_bounded_queue(refs: list[Ref]) -> list[str]:
    out: list[str] = []
    metric = "items_per_second"
    for ref in refs:
        pairs = values(ref, metric, "pairs")
        rows = []
        batch = ref["parameters"].get("batch", "?")
        for items in values(ref, metric, "items"):
            for batched in values(ref, metric, "batched"):
                label = f"{items}, " + (f"batches of {batch}" if batched else "single")
                variants = values(ref, metric, "variant")
                for variant in variants:
                    k = {"items": items, "batched": batched, "variant": variant}
                    if find(ref, metric, **k, pairs=pairs[0]) is None:
                        continue
                    cells = []
                    for p in pairs:
                        c = find(ref, metric, **k, pairs=p)
                        base = find(ref, metric, items=items, batched=batched,
                                    variant="queue.Queue", pairs=p)  # fmt: skip
                        cells.append(fig(c, 1e6) + ("" if c is base else ratio(c, base)))
                    name = variant
                    if batched and variant in ("queue.Queue", "ft_utils StdConcurrentQueue"):
                        name += f" ({batch} single calls)"
                    rows.append([label, name, *cells])
                    label = ""
        out += [f"{interp(ref)}, M items/s (x `queue.Queue` in the same cell):", ""]
        out += table(["items, size", "variant", *(f"{p}P{p}C" for p in pairs)], rows)
        out.append("")
    return out


def t_knowledge_base_add(refs: list[Ref]) -> list[str]:
    metric = "insights_per_second"
    rows = []
    threads: list[Any] = []
    for ref in refs:
        threads = values(ref, metric, "threads")
        label = interp(ref)
        for variant in values(ref, metric, "variant"):
            base = find(ref, metric, test="add", variant=variant, threads=1)
            cells = []
            for t in threads:
                c = find(ref, metric, test="add", variant=variant, threads=t)
                article = find(ref, metric, test="add", variant="article (one lock)", threads=t)
                if variant != "article (one lock)":  # (x own 1 thread, x the article's)
                    own, vs = ratio(c, base).strip(" ()"), ratio(c, article).strip(" ()")
                    cells.append(f"{fig(c, 1e3)} ({own}, {vs})")
                else:
                    cells.append(fig(c, 1e3) + (ratio(c, base) if t > 1 else ""))
            rows.append([label, variant, *cells])
            label = ""
    head = ["interpreter", "variant", *(f"{t} thread{'s' * (t > 1)}" for t in threads)]
    return [
        "K insights/s (KnowledgeBase rows: x own 1 thread, x the article's base at the same",
        "thread count; the article's rows: x its own 1 thread):",
        "",
        *table(head, rows),
        "",
    ]


def t_knowledge_base_latency(refs: list[Ref]) -> list[str]:
    rows = []
    writers: list[Any] = []
    for ref in refs:
        writers = values(ref, "median_latency_s", "writers")
        label = interp(ref)
        for variant in values(ref, "median_latency_s", "variant"):
            cells = []
            for w in writers:
                k = {"test": "read latency", "variant": variant, "writers": w}
                med = find(ref, "median_latency_s", **k)
                p99 = find(ref, "p99_latency_s", **k)
                cells.append(f"{fig(med, 1e-6)} / {fig(p99, 1e-6)}")
            rows.append([label, variant, *cells])
            label = ""
    head = ["interpreter", "variant", *(f"{w} writer{'s' * (w > 1)}" for w in writers)]
    return [
        "`insights(topic, since=cursor)` latency, median / p99 in us (each: the median over",
        "repetitions of that repetition's figure):",
        "",
        *table(head, rows),
        "",
    ]


def t_kb_redis(refs: list[Ref]) -> list[str]:
    metric = "ops_per_second"
    out: list[str] = []
    for ref in refs:
        procs = ref["parameters"]["process_counts"]
        rows = []
        for variant in values(ref, metric, "variant"):
            base = find(ref, metric, test="throughput", variant=variant, processes=1)
            cells = []
            for p in procs:
                c = find(ref, metric, test="throughput", variant=variant, processes=p)
                cells.append(fig(c, 1e3) + (ratio(c, base) if c is not None and p > 1 else ""))
            rows.append([variant, *cells])
        k = {"test": "subscriber latency", "variant": "add_insight -> subscribe", "writers": 1}
        med = find(ref, "median_latency_s", **k)
        p99 = find(ref, "p99_latency_s", **k)
        d = ref["derived"]
        out += [
            f"{interp(ref)}, K operations/s (insights/s for batches), x own 1 process:",
            "",
            *table(["variant", *(f"{p} process{'es' * (p > 1)}" for p in procs)], rows),
            "",
            f"Subscriber latency (another process writing 500 insights/s): p50 "
            f"{fig(med, 1e-3)} ms, p99 {fig(p99, 1e-3)} ms. Same-run ratios (targets): "
            f"add_insight / XADD at 1 process {d['add_insight_vs_xadd_1p']:.2f} (>= 0.6); "
            f"add_insights x64 / pipelined XADD x64 "
            f"{d['add_insights64_vs_xadd_pipelined64']:.2f} (>= 0.5); add_insight's 1 -> 2 "
            f"process scaling / XADD's {d['add_insight_scaling_vs_xadd_scaling_1to2p']:.2f} "
            "(>= 0.8).",
            "",
        ]
    return out


def t_harness_detection(refs: list[Ref]) -> list[str]:
    rows: dict[tuple[str, str], list[str]] = {}
    for ref in refs:
        for c in ref["cells"]:
            key = (c["key"]["control"], c["key"]["object"])
            info = c.get("info", {})
            if c["key"]["kind"] == "broken":
                count = f"caught {info.get('caught')}/{info.get('runs')}"
                time = (
                    f"{fig(c)} s to detection (max {num(c['max'])} s)" if c.get("samples") else "-"
                )
            else:
                count = f"passed {info.get('passed')}/{info.get('runs')}"
                time = f"{fig(c)} s per run"
            rows.setdefault(key, [*key]).extend([count, time])
    head = ["control", "object"]
    for ref in refs:
        head += [interp(ref), "median time"]
    return [*table(head, list(rows.values())), ""]


def t_checker(refs: list[Ref]) -> list[str]:
    rows: dict[str, list[str]] = {}
    for ref in refs:
        for c in ref["cells"]:
            case = c["key"]["case"]
            info = c.get("info", {})
            row = rows.setdefault(case, [case, str(info.get("verdict")), str(info.get("steps"))])
            row.append(f"{fig(c, 1e-3)} ms (max {num(c['max'] / 1e-3)})")
    head = ["4 threads x 6 operations", "verdict", "steps"]
    head += [f"{interp(ref)} median (max)" for ref in refs]
    timers = "; ".join(
        f"{r['provenance']['interpreter']}: {r['parameters'].get('timer')}" for r in refs
    )
    return [*table(head, list(rows.values())), "", f"Timer: {timers}.", ""]


def t_agent_workload(refs: list[Ref]) -> list[str]:
    metric = "iterations_per_second"
    rows = []
    counts: list[Any] = []
    for ref in refs:
        counts = values(ref, metric, "threads")
        base = find(ref, metric, threads=1)
        cells = []
        for t in counts:
            c = find(ref, metric, threads=t)
            cells.append(fig(c, 1e6) + ratio(c, base))
        rows.append([interp(ref), *cells])
    head = ["interpreter", *(f"{t} thread{'s' * (t > 1)}" for t in counts)]
    return [
        "M iterations/s of the demo's CPU-bound agents (x one thread):",
        "",
        *table(head, rows),
        "",
    ]


def t_intern_memory(refs: list[Ref]) -> list[str]:
    header = ["interpreter", "variant", "bytes/string held", "after release", "immortal"]
    rows = []
    for ref in refs:
        for variant in values(ref, "bytes_per_string_held", "variant"):
            held = find(ref, "bytes_per_string_held", variant=variant)
            left = find(ref, "bytes_per_string_after_release", variant=variant)
            immortal = (held or {}).get("info", {}).get("immortal")
            rows.append(
                [interp(ref), f"`{variant}`", fig(held), fig(left), "yes" if immortal else "no"]
            )
    return [*table(header, rows), ""]


def t_peers(refs: list[Ref]) -> list[str]:
    """This library beside the stdlib compositions and installable peers, one run per
    interpreter: M ops/s at each thread count and the last count / the first."""
    out: list[str] = []
    for ref in refs:
        metric = "ops_per_second"
        counts = values(ref, metric, "threads")
        peers = ref["parameters"].get("peers", {})
        header = ["family", "variant", *[f"{t}T" for t in counts], f"{counts[-1]}T / {counts[0]}T"]
        rows = []
        for family in values(ref, metric, "family"):
            for variant in [
                c["key"]["variant"]
                for c in ref["cells"]
                if c["metric"] == metric
                and c["key"]["family"] == family
                and c["key"]["threads"] == counts[0]
            ]:
                cells = [
                    find(ref, metric, family=family, variant=variant, threads=t) for t in counts
                ]
                rows.append([family, variant, *[fig(c, 1e6) for c in cells],
                             ratio(cells[-1], cells[0]).strip(" ()")])  # fmt: skip
        out += [f"{interp(ref)}, M operations/s (median; ±: half the interquartile range):", ""]
        out += table(header, rows)
        missing = {name: why for name, why in peers.items() if not why.startswith("version")}
        present = {name: why for name, why in peers.items() if why.startswith("version")}
        if present:
            out.append("")
            out.append(
                "Peers installed: " + ", ".join(f"{n} {v[8:]}" for n, v in present.items()) + "."
            )
        if missing:
            out.append("")
            out.append(
                "Not measured: " + "; ".join(f"{n} ({why})" for n, why in missing.items()) + "."
            )
        out.append("")
    return out


TABLES: dict[str, tuple[str, Callable[[list[Ref]], list[str]]]] = {
    # table name -> (benchmark whose reference results it shows, generator)
    "counters": ("counters", t_counters),
    "counters-inplace": ("inplace", t_counters_inplace),
    "sharded_dict": ("sharded_dict", t_sharded_dict),
    "dict_cliff": ("dict_cliff", t_dict_cliff),
    "bounded_queue": ("bounded_queue", t_bounded_queue),
    "knowledge_base-add": ("knowledge_base", t_knowledge_base_add),
    "knowledge_base-latency": ("knowledge_base", t_knowledge_base_latency),
    "kb_redis": ("kb_redis", t_kb_redis),
    "harness_detection": ("harness_detection", t_harness_detection),
    "checker": ("checker", t_checker),
    "agent_workload": ("agent_workload", t_agent_workload),
    "intern_memory": ("intern_memory", t_intern_memory),
    "peers": ("peers", t_peers),
    # every benchmark at once: rendered by benchmarks/losses.py (see render)
    "losses": ("*", lambda refs: []),
}


def render(name: str, which: str, refs_by_bench: dict[str, list[Ref]]) -> str:
    """The body of one block: the table(s) and the source line."""
    if name == "losses":  # every benchmark at once: benchmarks/losses.py
        chosen = {b: select(r, which) for b, r in refs_by_bench.items()}
        used = list(losses.files(chosen))
        lines = [
            "<!-- generated by `make bench-tables` from benchmarks/results/reference/: "
            "do not edit by hand -->",
            "",
            *losses.losses_table(chosen),
            source_line(used),
            "",
        ]
        return "\n".join(lines) + "\n"
    if name not in TABLES:
        raise ValueError(f"unknown bench-table {name!r}; known: {', '.join(TABLES)}")
    bench, generate = TABLES[name]
    refs = select(refs_by_bench.get(bench, []), which)
    if not refs:
        raise ValueError(f"bench-table {name}/{which}: no reference results for {bench!r}")
    lines = [
        "<!-- generated by `make bench-tables` from benchmarks/results/reference/: "
        "do not edit by hand -->",
        "",
        *generate(refs),
        source_line(refs),
        "",
    ]
    return "\n".join(lines) + "\n"


class MarkerError(ValueError):
    """A bench-table marker that is malformed, unclosed, nested or stray."""


def blocks(text: str, where: str = "<text>") -> list[tuple[int, int, str, str]]:
    """``(open line, close line, name, which)`` of each block, 0-based; strict (see above)."""
    found = []
    opened: tuple[int, str, str] | None = None
    for number, line in enumerate(text.splitlines()):
        if "<!--" not in line or "bench-table" not in line:
            continue  # prose may mention `make bench-tables`; markers are HTML comments
        if line.startswith("<!-- generated by `make bench-tables`"):
            continue  # the first line of a generated body
        stripped = line.strip()
        m = OPEN.fullmatch(stripped)
        if m:
            if opened is not None:
                raise MarkerError(f"{where}:{number + 1}: a block opens inside the block "
                                  f"opened on line {opened[0] + 1}")  # fmt: skip
            opened = (number, m.group("name"), m.group("which"))
        elif stripped == CLOSE:
            if opened is None:
                raise MarkerError(f"{where}:{number + 1}: a closing marker with no block open")
            found.append((opened[0], number, opened[1], opened[2]))
            opened = None
        else:
            raise MarkerError(
                f"{where}:{number + 1}: a line mentioning bench-table that is not a marker: "
                f"{stripped!r} (markers: '<!-- bench-table: NAME/WHICH -->' and '{CLOSE}')"
            )
    if opened is not None:
        raise MarkerError(f"{where}:{opened[0] + 1}: block {opened[1]}/{opened[2]} is never closed")
    return found


def regenerate(text: str, refs_by_bench: dict[str, list[Ref]], where: str = "<text>") -> str:
    """``text`` with every block's body replaced by the freshly generated table."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out: list[str] = []
    last = 0
    for open_line, close_line, name, which in blocks(text, where):
        out += lines[last : open_line + 1]
        body = render(name, which, refs_by_bench)
        out += [line + newline for line in body.split("\n")[:-1]]
        last = close_line
    out += lines[last:]
    return "".join(out)


def doc_files(docs: pathlib.Path = DOCS) -> list[pathlib.Path]:
    files = sorted(docs.glob("*.md"))
    readme = docs.parent / "README.md"
    return [*files, readme] if readme.exists() else files


def expected_docs(
    docs: pathlib.Path = DOCS, reference: pathlib.Path = REFERENCE
) -> dict[pathlib.Path, tuple[str, str]]:
    """Every doc with at least one block -> (its text now, its text with fresh tables)."""
    refs = references(reference)
    out = {}
    for path in doc_files(docs):
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        if blocks(text, str(path)):
            out[path] = (text, regenerate(text, refs, str(path)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check, do not write")
    args = parser.parse_args(argv)
    try:
        docs = expected_docs()
    except (OSError, ValueError) as exc:
        print(f"tables: {exc}", file=sys.stderr)
        return 2
    if not docs:
        print(f"tables: no bench-table blocks found under {DOCS}", file=sys.stderr)
        return 2
    stale = 0
    for path, (now, fresh) in docs.items():
        if now == fresh:
            continue
        stale += 1
        if args.check:
            sys.stdout.writelines(
                difflib.unified_diff(
                    now.splitlines(True),
                    fresh.splitlines(True),
                    f"{path} (as committed)",
                    f"{path} (generated)",
                )
            )
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(fresh)
            print(f"regenerated tables in {path}")
    if args.check and stale:
        print(f"\n{stale} doc(s) differ from the reference results: run `make bench-tables`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
