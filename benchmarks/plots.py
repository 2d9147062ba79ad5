"""Draw the lock-granularity figures (PNG) from committed results: ``make plots``.

Every figure is declared once, in ``FIGURES`` below: its name (the PNG's file name), its title,
and its panels; each panel names a benchmark, which build ran it (``free-threaded`` or
``gil``), the metric, the fixed part of the cells' keys and one series per line (or bar).  To
add a figure, add a ``Figure`` to that table; ``tests/test_plots.py`` checks every spec
against the results it names (and that every PNG in ``docs/img/`` comes from a spec).

The data come only from a folder of results in the format of ``_results.py``: by default the
reference results (``benchmarks/results/reference``, which change only by promotion), never
from ``benchmarks/results/runs``.  Within that folder a panel's file is found by its benchmark
name and by what ran it (the provenance's ``gil_disabled_build`` and ``gil_enabled``), not by
the interpreter's version, so the same specs draw a many-core machine's results
(``make bench-scaling`` writes them under ``benchmarks/results/scaling/<machine>/``).

Each figure shows the median of the repetitions with error bars from the first to the third
quartile (the interquartile range; ``--spread minmax``: from the smallest to the largest), and
states, under the axes, for every results file it used: the interpreter and its GIL state, the
CPU model and core count, the date of the run, its commit and the file.  Thread counts beyond
the core count (oversubscription, not scaling) are shaded.  A figure whose results file does
not exist (a spec marked ``pending``, or a folder that lacks that benchmark) is skipped with a
notice.  The output is deterministic (fixed size and resolution, no timestamp or software
version in the PNG): drawing again from the same results with the same matplotlib changes no
file.

Usage:
    python benchmarks/plots.py                      # every figure into docs/img/
    python benchmarks/plots.py NAME ...             # only these figures
    python benchmarks/plots.py --results DIR --out DIR   # another machine's results
    python benchmarks/plots.py --list               # the figures, their files, pending ones
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import pathlib
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
REFERENCE = RESULTS / "reference"
RUNS = RESULTS / "runs"
IMG = ROOT / "docs" / "img"
FORMAT, FORMAT_VERSION = "atomics-bench", 1  # as benchmarks/_results.py writes them
BUILDS = ("free-threaded", "gil")
MAX_PNG_BYTES = 150_000
DPI = 100

# -- the figure specs ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Series:
    """One line (or bar): the cells whose key contains ``key`` (besides the panel's ``where``),
    from ``build``'s results (default: the panel's).  ``optional``: absent cells are no error
    (a variant a benchmark offers only in some workloads)."""

    label: str
    key: Mapping[str, Any]
    build: str | None = None
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class Panel:
    """One set of axes.  ``x``: the key field on the x axis (thread counts: log2 scale), or
    None for horizontal bars, one per series.  ``threads_per_x``: threads per unit of x (2 for
    producer/consumer pairs), to place the core-count mark."""

    title: str
    benchmark: str
    metric: str
    series: tuple[Series, ...]
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    build: str = "free-threaded"
    x: str | None = "threads"
    xlabel: str = "threads"
    threads_per_x: int = 1
    scale: float = 1e6
    ylabel: str = "M ops/s"
    log: bool = False  # value axis on a log scale

    def builds(self) -> list[str]:
        out = []
        for s in self.series:
            b = s.build or self.build
            if b not in out:
                out.append(b)
        return out


@dataclasses.dataclass(frozen=True)
class Figure:
    """A PNG ``<name>.png``: a title and a grid of panels (``cols`` per row).  ``pending``:
    why its results may not exist yet (the figure is then skipped with a notice; the test
    accepts the missing file).  ``results``: a folder under ``benchmarks/results`` to draw
    from instead of the reference results (e.g. ``scaling/16cpu-lent``)."""

    name: str
    title: str
    panels: tuple[Panel, ...]
    cols: int = 3
    pending: str | None = None
    results: str | None = None
    label_width: float = 0.0  # inches left of bar panels for their labels


def _counter_series(build: str | None = None, suffix: str = "") -> tuple[Series, ...]:
    return (
        Series(f"with lock: v += 1 (shared){suffix}", {"variant": "locked +="}, build),
        Series(f"AtomicInteger (shared){suffix}", {"variant": "AtomicInteger"}, build),
        Series(
            f"StripedCounter.increment (shared){suffix}",
            {"variant": "StripedCounter.increment"},
            build,
        ),
        Series(
            f"StripedCounter handle (per thread){suffix}",
            {"variant": "StripedCounter handle"},
            build,
        ),
        Series(
            f"private AtomicInteger (nothing shared){suffix}",
            {"variant": "private AtomicInteger"},
            build,
        ),
    )


def _counters(build: str) -> Panel:
    return Panel(
        "counter increments",
        "counters",
        "increments_per_second",
        _counter_series(),
        build=build,
        ylabel="M increments/s (all threads)",
    )


MAP_SERIES = (
    Series("ShardedDict (shared object)", {"variant": "ShardedDict"}),
    Series("ShardedDict handles (per thread)", {"variant": "ShardedDict handles"}),
    Series("dict + one Lock", {"variant": "dict + Lock"}),
    Series("dict + one Lock, in and [] (no .get)", {"variant": "dict + Lock, no .get"}),
    Series("plain dict (no lock; single ops only)", {"variant": "plain dict"}, optional=True),
    Series("private ShardedDict per thread (nothing shared)", {"variant": "private ShardedDict"}),
)


def _maps(workload: str, keys: int, build: str = "free-threaded") -> Panel:
    return Panel(
        f"{workload}, {keys:,} keys",
        "sharded_dict",
        "ops_per_second",
        MAP_SERIES,
        where={"keys": keys, "workload": workload},
        build=build,
        ylabel="M ops/s (all threads)",
    )


CLIFF_SERIES = (
    Series("dict made by the reader itself", {"case": "dict made by the reader, same key objects"}),
    Series(
        "dict + keys made by a live thread,\nd.get(k) with equal, new key objects",
        {"case": "dict made by live main, keys referenced by the dict only, distinct lookups"},
    ),
    Series(
        "same dict, d[k] instead of d.get(k)",
        {"case": "same dict, d[k] instead of d.get(k)"},
    ),
    Series(
        "same dict, k in d instead of d.get(k)",
        {"case": "same dict, k in d instead of d.get(k)"},
    ),
    Series(
        "ShardedDict, same case",
        {"case": "ShardedDict made by live main, keys referenced by it only, distinct lookups"},
    ),
    Series(
        "dict made by a live thread,\nlooked up with its own key objects",
        {"case": "dict made by live main thread, same key objects"},
    ),
    Series(
        "dict made by a thread that exited",
        {"case": "dict made by an exited thread, its key objects"},
    ),
    Series(
        "ShardedDict, keys also held by their\nlive creator, new key objects",
        {"case": "ShardedDict, keys made by live main (also in its list), distinct lookups"},
    ),
    Series(
        "ShardedDict, keys made by an exited thread",
        {"case": "ShardedDict, keys made by exited thread, distinct lookups"},
    ),
    Series(
        "ShardedDict, small-int keys (immortal)",
        {"case": "ShardedDict, small-int keys (immortal)"},
    ),
)


def _cliff(build: str) -> Panel:
    return Panel(
        "CPython 3.13t (free-threaded)" if build == "free-threaded" else "GIL build",
        "dict_cliff",
        "gets_per_second",
        CLIFF_SERIES,
        build=build,
        x=None,
        ylabel="M gets/s, one reader thread (log scale)",
        log=True,
    )


QUEUE_SERIES = (
    Series("BoundedQueue (one lock)", {"variant": "BoundedQueue (one lock)"}),
    Series("two-lock queue", {"variant": "two-lock queue"}),
    Series("queue.Queue (64 single calls per batch)", {"variant": "queue.Queue"}),
)


def _queue(batched: bool, build: str) -> Panel:
    return Panel(
        ("batches of 64" if batched else "single items")
        + (", free-threaded" if build == "free-threaded" else ", GIL build"),
        "bounded_queue",
        "items_per_second",
        QUEUE_SERIES,
        where={"items": "unique ints", "batched": batched},
        build=build,
        x="pairs",
        xlabel="producer/consumer pairs (threads = 2 x pairs)",
        threads_per_x=2,
        ylabel="M items/s moved",
    )


KB_SERIES = (
    Series("KnowledgeBase", {"variant": "KnowledgeBase"}),
    Series("KnowledgeBase, own topics", {"variant": "KnowledgeBase, own topics"}),
    Series("article's one-lock base", {"variant": "article (one lock)"}),
)

WORD_COUNT_SERIES = (
    Series("ShardedDict.increment per word", {"variant": "increment"}),
    Series("ShardedDict.increment_many (batches)", {"variant": "increment_many"}),
    Series("thread-private Counter, merged at the end", {"variant": "private Counter, merged"}),
    Series("dict + one Lock, per word", {"variant": "dict + Lock"}),
    Series("Counter + one Lock, batches", {"variant": "Counter + Lock, batches"}),
)


def _word_count(text: str) -> Panel:
    return Panel(
        f"{text} text",
        "word_count",
        "words_per_second",
        WORD_COUNT_SERIES,
        where={"text": text},
        ylabel="M words/s, all threads (log scale)",
        log=True,  # the variants differ by up to two orders of magnitude
    )


def _both(label: str, key: Mapping[str, Any]) -> tuple[Series, Series]:
    """The same cells from the free-threaded and the GIL build (drawn solid and dashed, in
    one colour: the GIL series must follow its free-threaded one)."""
    return Series(f"{label}, free-threaded", key), Series(f"{label}, GIL", key, "gil")


FIGURES: tuple[Figure, ...] = (
    Figure(
        "counters-free-threaded",
        "Counters on free-threaded CPython: one shared object vs per-thread handles",
        (_counters("free-threaded"),),
        cols=1,
    ),
    Figure(
        "counters-gil",
        "Counters on a GIL build: no parallelism, nothing collapses",
        (_counters("gil"),),
        cols=1,
    ),
    Figure(
        "maps-gil",
        "Maps on a GIL build: a call inside a contended lock makes a convoy (d.get vs in and [])",
        tuple(
            _maps(w, k, build="gil")
            for k in (1_000, 100_000)
            for w in ("read-heavy", "increment-heavy")
        ),
        cols=2,
    ),
    Figure(
        "maps-free-threaded",
        "ShardedDict vs dict + Lock vs plain dict on free-threaded CPython (shared map vs handles)",
        tuple(
            _maps(w, k)
            for k in (1_000, 100_000)
            for w in ("read-heavy", "write-heavy", "increment-heavy")
        ),
    ),
    Figure(
        "dict-cliff",
        "The cross-thread dict cliff: whose objects a lookup touches decides its cost",
        (_cliff("free-threaded"), _cliff("gil")),
        cols=2,
        label_width=3.2,
    ),
    Figure(
        "queues",
        "Bounded queues: BoundedQueue vs queue.Queue vs a two-lock queue, single items and batches",
        tuple(_queue(b, build) for build in BUILDS for b in (False, True)),
        cols=2,
    ),
    Figure(
        "knowledge-base",
        "KnowledgeBase vs the article's one-lock base (free-threaded)",
        (
            Panel(
                "add throughput",
                "knowledge_base",
                "insights_per_second",
                KB_SERIES,
                where={"test": "add"},
                ylabel="insights added/s (thousands, all threads)",
                scale=1e3,
            ),
            Panel(
                "read latency while writers add",
                "knowledge_base",
                "median_latency_s",
                (KB_SERIES[0], KB_SERIES[2]),
                where={"test": "read latency"},
                x="writers",
                xlabel="writer threads (+1 reader)",
                scale=1e-6,
                ylabel="median read latency, us (log scale)",
                log=True,
            ),
        ),
        cols=2,
    ),
    Figure(
        "word-count",
        "Word count into one shared map: per-key increments vs batches vs private Counters",
        (_word_count("zipf"), _word_count("distinct")),
        cols=2,
    ),
    Figure(
        "free-threaded-vs-gil",
        "The same operations on free-threaded CPython (solid) and a GIL build (dashed)",
        (
            Panel(
                "counter increments",
                "counters",
                "increments_per_second",
                (
                    *_both("with lock: v += 1", {"variant": "locked +="}),
                    Series(
                        "StripedCounter handle, free-threaded", {"variant": "StripedCounter handle"}
                    ),
                    Series(
                        "StripedCounter handle, GIL", {"variant": "StripedCounter handle"}, "gil"
                    ),
                ),
                ylabel="M increments/s (all threads)",
            ),
            Panel(
                "map sets (write-heavy, 1,000 keys)",
                "sharded_dict",
                "ops_per_second",
                (
                    *_both("dict + one Lock", {"variant": "dict + Lock"}),
                    Series(
                        "ShardedDict handles, free-threaded", {"variant": "ShardedDict handles"}
                    ),
                    Series("ShardedDict handles, GIL", {"variant": "ShardedDict handles"}, "gil"),
                ),
                where={"keys": 1_000, "workload": "write-heavy"},
                ylabel="M sets/s (all threads)",
            ),
        ),
        cols=2,
    ),
)

# -- finding the results --------------------------------------------------------------------


def build_of(data: Mapping[str, Any]) -> str | None:
    """``free-threaded`` (a free-threaded build running without the GIL), ``gil`` (a GIL
    build), or None (a free-threaded build whose GIL was enabled: neither experiment)."""
    p = data["provenance"]
    if p.get("gil_disabled_build"):
        return None if p.get("gil_enabled") else "free-threaded"
    return "gil"


def load(path: pathlib.Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not an {FORMAT} results file")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: format version {data.get('format_version')}")
    data["_path"] = path
    return data


def find_results(folder: pathlib.Path, benchmark: str, build: str) -> dict[str, Any] | None:
    """The results of ``benchmark`` run by ``build`` in ``folder``; the newest run when the
    folder holds several (e.g. references of two GIL versions)."""
    found = []
    for path in sorted(folder.glob(f"{benchmark}-*.json")):
        if path.name.endswith(".pyperf.json"):
            continue
        data = load(path)
        if data.get("benchmark") == benchmark and build_of(data) == build:
            found.append(data)
    if not found:
        return None
    return max(found, key=lambda d: (d["provenance"]["date"], d["_path"].name))


def folder_of(fig: Figure, override: pathlib.Path | None = None) -> pathlib.Path:
    if override is not None:
        return override
    return RESULTS / fig.results if fig.results else REFERENCE


def sources(fig: Figure, folder: pathlib.Path) -> dict[tuple[str, str], dict[str, Any] | None]:
    """(benchmark, build) -> its results (None when absent) for every panel of ``fig``."""
    out: dict[tuple[str, str], dict[str, Any] | None] = {}
    for panel in fig.panels:
        for build in panel.builds():
            if (panel.benchmark, build) not in out:
                out[(panel.benchmark, build)] = find_results(folder, panel.benchmark, build)
    return out


def matches(key: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    # As JSON: True is not 1.
    return all(
        name in key and json.dumps(key[name]) == json.dumps(value) for name, value in want.items()
    )


def series_cells(data: Mapping[str, Any], panel: Panel, series: Series) -> list[dict[str, Any]]:
    """The measured cells of one series, ordered by x (one cell for a bar panel)."""
    want = {**panel.where, **series.key}
    cells = [
        c
        for c in data["cells"]
        if c["metric"] == panel.metric and matches(c["key"], want) and c.get("samples")
    ]
    if panel.x is not None:
        cells = [c for c in cells if isinstance(c["key"].get(panel.x), (int, float))]
        cells.sort(key=lambda c: c["key"][panel.x])
    return cells


def problems(fig: Figure, folder: pathlib.Path) -> tuple[list[str], list[str]]:
    """(missing results files, spec errors) of ``fig`` against the results in ``folder``: a
    series with no cells, a bar series matching several cells, a line with repeated x."""
    missing, errors = [], []
    found = sources(fig, folder)
    for (benchmark, build), data in found.items():
        if data is None:
            missing.append(f"{benchmark} ({build}) in {folder}")
    for panel in fig.panels:
        for s in panel.series:
            data = found[(panel.benchmark, s.build or panel.build)]
            if data is None:
                continue
            cells = series_cells(data, panel, s)
            what = f"{fig.name}: panel {panel.title!r}, series {s.label!r}"
            if not cells and not s.optional:
                errors.append(f"{what}: no {panel.metric} cells in {data['_path'].name}")
            if panel.x is None and len(cells) > 1:
                errors.append(f"{what}: {len(cells)} cells match (a bar needs one)")
            xs = [c["key"].get(panel.x) for c in cells] if panel.x else []
            if len(set(xs)) != len(xs):
                errors.append(f"{what}: several cells per {panel.x} (key too loose)")
    return missing, errors


def trim(fig: Figure, folder: pathlib.Path) -> Figure | None:
    """``fig`` without the series that have no cells in ``folder``'s results, and without the
    panels left empty: for results of a smaller run (``make bench-scaling`` measures fewer key
    spaces, for one).  None when nothing is left."""
    found = sources(fig, folder)
    panels = []
    for panel in fig.panels:
        kept = tuple(
            s
            for s in panel.series
            if (data := found[(panel.benchmark, s.build or panel.build)]) is not None
            and series_cells(data, panel, s)
        )
        if kept:
            panels.append(dataclasses.replace(panel, series=kept))
    return dataclasses.replace(fig, panels=tuple(panels)) if panels else None


# -- drawing --------------------------------------------------------------------------------

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def spread_of(c: Mapping[str, Any], how: str) -> tuple[float, float]:
    lo, hi = (c["q1"], c["q3"]) if how == "iqr" else (c["min"], c["max"])
    return max(c["median"] - lo, 0.0), max(hi - c["median"], 0.0)


def provenance_line(data: Mapping[str, Any], build: str) -> str:
    p = data["provenance"]
    commit = (p.get("commit") or "no commit")[:10] + (" (dirty tree)" if p.get("dirty") else "")
    try:
        where = data["_path"].resolve().relative_to(ROOT)
    except ValueError:
        where = data["_path"].name
    reps = sorted({c.get("repetitions", 0) for c in data["cells"] if c.get("samples")})
    runs = f"{reps[0]}" if len(reps) == 1 else f"{reps[0]}-{reps[-1]}"
    gil = "GIL disabled" if not p.get("gil_enabled") else "GIL enabled"
    return (
        f"{build}: CPython {p['python_version']}{'t' if p.get('gil_disabled_build') else ''}, "
        f"{gil}; {p['cpu_model']}, {p['cpu_count']} cores; run {p['date'][:10]}, "
        f"commit {commit}; {runs} repetitions; {where}"
    )


def draw(fig: Figure, folder: pathlib.Path, out: pathlib.Path, spread: str = "iqr") -> pathlib.Path:
    """Draw ``fig`` from the results in ``folder`` into ``out/<name>.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    found = sources(fig, folder)
    datas = {k: v for k, v in found.items() if v is not None}
    cols = min(fig.cols, len(fig.panels))
    rows = math.ceil(len(fig.panels) / cols)
    bars = all(p.x is None for p in fig.panels)
    labels: list[str] = []  # every series label, for one colour each and one legend
    for panel in fig.panels:
        for s in panel.series:
            if s.label not in labels:
                labels.append(s.label)
    panel_w = {1: 6.5, 2: 4.2}.get(cols, 3.6)
    panel_h = 0.34 * max(len(p.series) for p in fig.panels) + 0.6 if bars else 2.9
    footer = [provenance_line(d, b) for (_, b), d in sorted(datas.items(), key=lambda kv: kv[0])]
    spread_text = (
        "interquartile range (first to third quartile)"
        if spread == "iqr"
        else "smallest to largest repetition"
    )
    footer.insert(
        0,
        f"{'Bars' if bars else 'Points'}: median of the repetitions; error bars: {spread_text}."
        + ("" if bars else " Shaded: more threads than cores (oversubscription, not scaling)."),
    )
    legend_cols = 1 if bars else (3 if cols > 1 else 2)
    legend_rows = 0 if bars else math.ceil(len(labels) / legend_cols)
    left = fig.label_width + 0.75 if bars else 0.75
    gap_w = 0.35 if bars else 0.7
    width = left + cols * panel_w + (cols - 1) * gap_w + 0.25
    chars = int(width * 17)
    footer = [
        part
        for line in footer
        for part in textwrap.wrap(line, chars, subsequent_indent="    ", break_on_hyphens=False)
    ]
    top = 0.95
    xlabel_h = 0.55
    legend_h = legend_rows * 0.24 + (0.15 if legend_rows else 0)
    footer_h = len(footer) * 0.17 + 0.12
    gap_h = 0.75
    height = top + rows * panel_h + (rows - 1) * gap_h + xlabel_h + legend_h + footer_h
    figure = plt.figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(
        left=left / width,
        right=1 - 0.25 / width,
        top=1 - top / height,
        bottom=(xlabel_h + legend_h + footer_h) / height,
        wspace=gap_w / panel_w,
        hspace=gap_h / panel_h,
    )
    figure.suptitle(fig.title, x=0.5, y=1 - 0.12 / height, va="top", fontsize=11.5, weight="bold")
    figure.text(
        0.5,
        1 - 0.40 / height,
        "higher is better"
        if not any(p.metric.endswith("latency_s") for p in fig.panels)
        else "throughput: higher is better; latency: lower is better",
        ha="center",
        va="top",
        fontsize=9,
        color="#444444",
    )
    for i, line in enumerate(footer):
        figure.text(
            0.01,
            (footer_h - 0.1 - i * 0.17) / height,
            line,
            ha="left",
            va="top",
            fontsize=7.2,
            color="#333333",
        )
    handles: dict[str, Any] = {}
    shared_bar_limits: list[float] = []
    axes_list = []
    for n, panel in enumerate(fig.panels):
        ax = figure.add_subplot(rows, cols, n + 1)
        axes_list.append(ax)
        ax.set_title(panel.title, fontsize=9.5)
        ax.tick_params(labelsize=8)
        ax.grid(True, axis="y" if panel.x else "x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if panel.x is None:
            _bars(ax, panel, found, spread, shared_bar_limits, first=n % cols == 0)
            continue
        xs_all: list[float] = []
        cores: int | None = None
        for s in panel.series:
            build = s.build or panel.build
            data = found[(panel.benchmark, build)]
            if data is None:
                continue
            cells = series_cells(data, panel, s)
            if not cells:
                continue
            cores = cores or int(data["provenance"]["cpu_count"])
            xs = [float(c["key"][panel.x]) for c in cells]
            ys = [c["median"] / panel.scale for c in cells]
            errs = [spread_of(c, spread) for c in cells]
            lo = [e[0] / panel.scale for e in errs]
            hi = [e[1] / panel.scale for e in errs]
            k = labels.index(s.label)
            dashed = build == "gil" and any((t.build or panel.build) != "gil" for t in panel.series)
            h = ax.errorbar(
                xs,
                ys,
                yerr=[lo, hi],
                color=COLORS[k % len(COLORS)] if not dashed else COLORS[(k - 1) % len(COLORS)],
                marker=MARKERS[k % len(MARKERS)],
                markersize=4.5,
                linewidth=1.6,
                linestyle="--" if dashed else "-",
                capsize=3,
                elinewidth=1.0,
            )
            handles.setdefault(s.label, h)
            xs_all.extend(xs)
        if not xs_all:
            ax.text(0.5, 0.5, "no results", transform=ax.transAxes, ha="center")
            continue
        ticks = sorted(set(xs_all))
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(ticks) / 1.3, max(ticks) * 1.3)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel(panel.xlabel, fontsize=8.5)
        if panel.log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.08)
        if n % cols == 0 or not bars:
            ax.set_ylabel(panel.ylabel, fontsize=8.5)
        if cores is not None:
            edge = cores / panel.threads_per_x
            if edge < max(ticks):
                ax.axvspan(edge, max(ticks) * 1.3, color="#eeeeee", zorder=0)
                ax.axvline(edge, color="#888888", linestyle=":", linewidth=1.2, zorder=1)
                ax.text(
                    edge * 1.04,
                    0.97,
                    f"{cores} cores",
                    transform=ax.get_xaxis_transform(),
                    ha="left",
                    va="top",
                    fontsize=7.5,
                    color="#555555",
                )
    if shared_bar_limits:
        lo, hi = min(shared_bar_limits), max(shared_bar_limits)
        for ax in axes_list:
            ax.set_xlim(lo / 1.6, hi * 1.6)
    if handles:
        figure.legend(
            [handles[label] for label in labels if label in handles],
            [label for label in labels if label in handles],
            loc="upper center",
            bbox_to_anchor=(0.5, (legend_h + footer_h) / height),
            ncol=legend_cols,
            fontsize=8,
            frameon=False,
            handlelength=2.6,
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    new = small_png(buffer.getvalue(), {"Title": fig.title, "Source": "benchmarks/plots.py"})
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{fig.name}.png"
    if not (path.exists() and path.read_bytes() == new):  # unchanged: leave it (and its mtime)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(new)
        tmp.replace(path)
    return path


def small_png(png: bytes, text: Mapping[str, str]) -> bytes:
    """``png`` with at most 256 colours (a figure has a few flat colours and their
    antialiasing: the difference does not show, the file shrinks 3-4x), compressed as far as
    PNG goes, carrying only ``text`` as metadata (no software version, no timestamp)."""
    from PIL import Image, PngImagePlugin

    image = (
        Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    )
    info = PngImagePlugin.PngInfo()
    for name, value in text.items():
        info.add_text(name, value)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, pnginfo=info)
    return out.getvalue()


def _bars(
    ax: Any,
    panel: Panel,
    found: Mapping[tuple[str, str], dict[str, Any] | None],
    spread: str,
    limits: list[float],
    *,
    first: bool,
) -> None:
    names, medians, los, his = [], [], [], []
    for s in panel.series:
        data = found[(panel.benchmark, s.build or panel.build)]
        cells = series_cells(data, panel, s) if data is not None else []
        names.append(s.label)
        if not cells:
            medians.append(float("nan"))
            los.append(0.0)
            his.append(0.0)
            continue
        c = cells[0]
        lo, hi = spread_of(c, spread)
        medians.append(c["median"] / panel.scale)
        los.append(lo / panel.scale)
        his.append(hi / panel.scale)
        limits.extend([(c["median"] - lo) / panel.scale, (c["median"] + hi) / panel.scale])
    ys = list(range(len(names)))
    ax.barh(
        ys,
        medians,
        xerr=[los, his],
        color=[COLORS[i % len(COLORS)] for i in ys],
        height=0.65,
        capsize=3,
        error_kw={"elinewidth": 1.0},
    )
    for y, m, hi in zip(ys, medians, his, strict=True):
        if not math.isnan(m):  # the value, right of its error bar
            ax.text(
                (m + hi) * 1.08 if panel.log else m + hi, y, f" {m:.3g}", va="center", fontsize=7.5
            )
    ax.set_yticks(ys)
    ax.set_yticklabels(names if first else [""] * len(names), fontsize=8)
    ax.invert_yaxis()
    if panel.log:
        ax.set_xscale("log")
    ax.set_xlabel(panel.ylabel, fontsize=8.5)


# -- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="figures to draw (default: all)")
    parser.add_argument("--results", type=pathlib.Path, help="results folder (default: reference)")
    parser.add_argument("--out", type=pathlib.Path, default=IMG, help="PNG folder (docs/img)")
    parser.add_argument("--spread", choices=("iqr", "minmax"), default="iqr")
    parser.add_argument("--list", action="store_true", help="list the figures and their files")
    args = parser.parse_args(argv)
    known = {f.name for f in FIGURES}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if args.results is not None:
        results = args.results.resolve()
        if results == RUNS.resolve() or RUNS.resolve() in results.parents:
            parser.error("--results: figures come from reference or scaling results, not runs/")
        if not results.is_dir():
            parser.error(f"--results: {args.results} is not a folder")
    figures = [f for f in FIGURES if not args.names or f.name in args.names]
    if args.list:
        for f in figures:
            folder = folder_of(f, args.results)
            missing, errors = problems(f, folder)
            state = "pending" if f.pending and missing else ("MISSING" if missing else "ready")
            print(f"{f.name}.png: {state}; {', '.join(sorted({p.benchmark for p in f.panels}))}")
            for line in missing + errors:
                print(f"    {line}")
        return 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("plots: matplotlib is not installed (it is in the bench extra); no figure drawn")
        return 1
    status = 0
    for spec in figures:
        f = spec
        folder = folder_of(f, args.results)
        missing, errors = problems(f, folder)
        if args.results is not None and errors and not missing:
            # Another run's results: draw what it measured (the reference must match exactly).
            trimmed = trim(f, folder)
            if trimmed is None:
                print(f"plots: skipped {f.name}.png: none of its cells in {folder}")
                continue
            print(f"plots: {f.name}.png: {len(errors)} series absent from {folder}: left out")
            f, errors = trimmed, []
        if errors:
            for line in errors:
                print(f"plots: ERROR {line}", file=sys.stderr)
            status = 1
            continue
        if missing:
            why = f" (pending: {f.pending})" if f.pending else ""
            print(f"plots: skipped {f.name}.png: no results for {'; '.join(missing)}{why}")
            continue
        path = draw(f, folder, args.out, args.spread)
        size = path.stat().st_size
        try:
            shown: pathlib.Path | str = path.relative_to(ROOT)
        except ValueError:
            shown = path
        print(f"plots: {shown} ({size // 1024} KB)")
        if size > MAX_PNG_BYTES:
            print(f"plots: ERROR {shown} is over {MAX_PNG_BYTES // 1000} KB", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
