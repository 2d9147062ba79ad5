"""Compare two benchmark results files: a table of ratios with their spread, and which
differences are within noise.

For every cell (same benchmark, metric and key) in both files: each side's median and
relative standard deviation, the ratio B/A of the medians, and a verdict. A difference is
called *significant* when Welch's two-sample t-test rejects "same mean" at the 95% level
(pyperf's ``compare_to`` uses the same test for its own format) *and* the medians differ by
at least ``--threshold`` (default 0: the test alone); otherwise it is "within noise". A cell
with fewer than two samples on either side has no spread: "no spread (cannot tell)".

Two runs made at different times also differ by the machine's drift (here +-20% between
sittings): a significant difference between sittings can be drift. Ratios between variants
*within* one run are what the docs rely on.

Usage:
    python benchmarks/compare.py A.json B.json [--threshold 0.05] [--significant-only]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import _results  # reads files only: needs no installed atomics

# Two-sided 95% critical values of Student's t by degrees of freedom.
_T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
    25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}  # fmt: skip


def t_critical(df: float) -> float:
    """The 95% two-sided critical value for ``df`` degrees of freedom (rounded down: the
    conservative side).

    >>> t_critical(4.7), t_critical(1000)
    (2.776, 1.96)
    """
    whole = max(1, math.floor(df))
    eligible = [d for d in _T95 if d <= whole]
    if whole > 120:
        return 1.96
    return _T95[max(eligible)]


def welch_significant(a: Sequence[float], b: Sequence[float]) -> bool | None:
    """Whether the means of ``a`` and ``b`` differ at the 95% level; None without spread.

    >>> welch_significant([1.0, 1.1, 0.9, 1.0], [2.0, 2.1, 1.9, 2.0])
    True
    >>> welch_significant([1.0, 1.2, 0.8], [1.05, 1.25, 0.85])
    False
    """
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff = statistics.fmean(b) - statistics.fmean(a)
    if va + vb == 0:
        return diff != 0
    t = abs(diff) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (
        (va**2 / (len(a) - 1) if va else 0.0) + (vb**2 / (len(b) - 1) if vb else 0.0)
    )
    return t > t_critical(df)


def relative_spread(c: dict[str, Any]) -> str:
    if c.get("stdev") is None or not c.get("median"):
        return "   -"
    return f"{100 * c['stdev'] / abs(c['median']):3.0f}%"


def compare_cells(
    a: dict[str, Any], b: dict[str, Any], threshold: float
) -> tuple[float | None, str]:
    """(ratio B/A of the medians, verdict) for two cells of the same metric and key.

    The test is on the means; a verdict is given only when the means and the medians move
    the same way (otherwise a few outliers decide it: "within noise").
    """
    if not a.get("samples") or not b.get("samples"):
        side = " and ".join(n for n, c in (("A", a), ("B", b)) if not c.get("samples"))
        return None, f"no samples in {side}"
    ratio = b["median"] / a["median"] if a["median"] else None
    significant = welch_significant(a["samples"], b["samples"])
    if significant is None:
        return ratio, "no spread (cannot tell)"
    mean_up = statistics.fmean(b["samples"]) > statistics.fmean(a["samples"])
    median_up = b["median"] > a["median"]
    small = ratio is not None and abs(ratio - 1) < threshold
    if not significant or small or mean_up != median_up or b["median"] == a["median"]:
        return ratio, "within noise"
    better = median_up == bool(a.get("higher_is_better", True))
    return ratio, "better" if better else "worse"


def describe(data: dict[str, Any]) -> str:
    p = data["provenance"]
    commit = (p["commit"] or "no commit")[:12] + (" (dirty)" if p["dirty"] else "")
    return f"{data['benchmark']}: {p['description']}, {p['cpu_count']} CPUs, {p['date']}, {commit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="the baseline results file")
    parser.add_argument("b", help="the results file compared with it")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.0,
        help="smallest relative change to call significant (0.05 = 5%%; default 0)",
    )
    parser.add_argument("--significant-only", action="store_true")
    args = parser.parse_args(argv)
    try:
        a, b = _results.load(args.a), _results.load(args.b)
    except (OSError, ValueError) as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    if a["benchmark"] != b["benchmark"]:
        print(
            f"compare: different benchmarks ({a['benchmark']} vs {b['benchmark']})",
            file=sys.stderr,
        )
        return 2
    print(f"A: {describe(a)}")
    print(f"B: {describe(b)}")
    if a["provenance"]["interpreter"] != b["provenance"]["interpreter"]:
        print("note: different interpreters: B/A mixes the interpreter and any code change")
    if a.get("parameters") != b.get("parameters"):
        print(f"note: different parameters: A {a.get('parameters')}, B {b.get('parameters')}")
    cells_a, cells_b = _results.index(a), _results.index(b)
    rows = []
    counts: dict[str, int] = {}
    for ident in [*cells_a, *(i for i in cells_b if i not in cells_a)]:
        metric, key = ident
        label = f"{metric} " + ", ".join(f"{k}={v}" for k, v in json.loads(key).items())
        if ident not in cells_a or ident not in cells_b:
            verdict = "only in B" if ident not in cells_a else "only in A"
            counts[verdict] = counts.get(verdict, 0) + 1
            if not args.significant_only:
                rows.append((label, "", "", "", verdict))
            continue
        ca, cb = cells_a[ident], cells_b[ident]
        ratio, verdict = compare_cells(ca, cb, args.threshold)
        counts[verdict] = counts.get(verdict, 0) + 1
        if args.significant_only and verdict not in ("better", "worse"):
            continue
        fmt = "{:.4g}".format
        rows.append(
            (
                label,
                f"{fmt(ca['median']) if ca.get('samples') else '-'} +-{relative_spread(ca)}",
                f"{fmt(cb['median']) if cb.get('samples') else '-'} +-{relative_spread(cb)}",
                "n/a" if ratio is None else f"{ratio:.2f}x",
                verdict,
            )
        )
    width = max([len(r[0]) for r in rows] + [4])
    print(f"\n{'cell':{width}}  {'A median':>16}  {'B median':>16}  {'B/A':>7}  verdict")
    for label, ma, mb, ratio, verdict in rows:
        print(f"{label:{width}}  {ma:>16}  {mb:>16}  {ratio:>7}  {verdict}")
    print("\n" + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
