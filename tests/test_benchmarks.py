"""The benchmark plumbing: results format, runs never overwriting anything, reference results
changing only by promotion, docs tables that cannot drift from the data, the comparison tool.

These test the tooling in ``benchmarks/``, not speed (speed is never asserted in tests).
"""

from __future__ import annotations

import doctest
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import _results  # noqa: E402
import compare  # noqa: E402
import promote  # noqa: E402
import tables  # noqa: E402

PROVENANCE = (
    "date",
    "commit",
    "dirty",
    "cpu_model",
    "cpu_count",
    "implementation",
    "python_version",
    "interpreter",
    "gil_disabled_build",
    "gil_enabled",
    "command",
)
SUMMARY = ("repetitions", "median", "min", "max", "stdev", "q1", "q3", "iqr")


def check_results_file(data: dict[str, Any]) -> None:
    """Spread and provenance as benchmarks/README.md promises them."""
    assert data["format"] == _results.FORMAT
    assert data["format_version"] == _results.FORMAT_VERSION
    for field in PROVENANCE:
        assert field in data["provenance"], field
    assert data["provenance"]["date"]
    assert data["provenance"]["command"]
    assert data["cells"], "a results file without cells"
    for c in data["cells"]:
        for field in (*SUMMARY, "key", "metric", "unit", "higher_is_better", "samples"):
            assert field in c, (field, c.get("key"))
        assert c["repetitions"] == len(c["samples"])
        if c["samples"]:
            assert c["min"] <= c["median"] <= c["max"]
            assert c["q1"] <= c["median"] <= c["q3"]


def tree_digest(folder: pathlib.Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def runs(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    folder = tmp_path / "runs"
    monkeypatch.setenv("ATOMICS_BENCH_RUNS", str(folder))
    return folder


# -- the reference results and the docs ---------------------------------------------------


def test_every_reference_result_carries_spread_and_provenance() -> None:
    files = [p for p in _results.REFERENCE.glob("*.json") if not p.name.endswith(".pyperf.json")]
    assert files, "no reference results"
    for path in files:
        data = _results.load(path)
        check_results_file(data)
        assert path.name == f"{data['benchmark']}-{data['provenance']['interpreter']}.json"


def test_docs_tables_match_the_reference_results() -> None:
    """The docs' benchmark tables are exactly what `make bench-tables` generates."""
    docs = tables.expected_docs()
    stale = [str(path) for path, (now, fresh) in docs.items() if now != fresh]
    assert not stale, f"stale tables (run make bench-tables): {stale}"
    used = {name for now, _ in docs.values() for _, _, name, _ in tables.blocks(now)}
    assert used == set(tables.TABLES), "every table the generator knows appears in the docs"


def copy_docs(tmp_path: pathlib.Path) -> pathlib.Path:
    docs = tmp_path / "docs"
    shutil.copytree(tables.DOCS, docs)
    shutil.copy(tables.README, tmp_path / "README.md")
    assert all(now == fresh for now, fresh in tables.expected_docs(docs).values())
    return docs


def test_a_hand_edited_docs_table_is_caught(tmp_path: pathlib.Path) -> None:
    """The drift check fails when a number inside a generated table is edited by hand."""
    docs = copy_docs(tmp_path)
    path = docs / "counters.md"
    text = path.read_text(encoding="utf-8")
    open_line, close_line, _, _ = tables.blocks(text)[0]
    lines = text.splitlines(keepends=True)
    row = next(i for i in range(open_line, close_line) if "±" in lines[i])
    lines[row] = lines[row].replace("±", "+-", 1)
    path.write_text("".join(lines), encoding="utf-8")
    stale = [p for p, (now, fresh) in tables.expected_docs(docs).items() if now != fresh]
    assert stale == [path]
    assert tables.regenerate(path.read_text(encoding="utf-8"), tables.references()) == text


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        ("drop_close", "never closed|opens inside"),
        ("drop_last_close", "never closed"),
        ("bad_open", "not a marker"),
        ("stray_close", "no block open"),
        ("nested_open", "opens inside"),
    ],
)
def test_a_broken_marker_is_an_error_never_a_silent_pass(
    tmp_path: pathlib.Path, mutation: str, message: str
) -> None:
    """A broken marker must not make a table vanish or let a hand edit pass unnoticed."""
    docs = copy_docs(tmp_path)
    path = docs / "sharded_dict.md"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    spans = tables.blocks("".join(lines))
    first_open, first_close, name, which = spans[0]
    if mutation == "drop_close":
        del lines[first_close]
    elif mutation == "drop_last_close":
        del lines[spans[-1][1]]
    elif mutation == "bad_open":
        lines[first_open] = f"<!-- bench-table: {name}/{which}  -->\n"
    elif mutation == "stray_close":
        lines.insert(0, "<!-- /bench-table -->\n")
    elif mutation == "nested_open":
        lines.insert(first_open + 2, lines[first_open])
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(tables.MarkerError, match=message):
        tables.expected_docs(docs)


def test_an_unknown_table_name_is_an_error() -> None:
    text = "<!-- bench-table: nosuch/all -->\n<!-- /bench-table -->"
    with pytest.raises(ValueError, match="nosuch"):
        tables.regenerate(text, tables.references())


# -- runs ---------------------------------------------------------------------------------


def run_counters(runs: pathlib.Path) -> pathlib.Path:
    before = set(runs.glob("*.json")) if runs.exists() else set()
    env = {**os.environ, "ATOMICS_BENCH_RUNS": str(runs)}
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_counters.py"), "200"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (new,) = set(runs.glob("*.json")) - before
    return new


def test_running_a_benchmark_twice_writes_two_runs_and_no_reference(runs: pathlib.Path) -> None:
    reference = tree_digest(_results.REFERENCE)
    first, second = run_counters(runs), run_counters(runs)
    assert first != second
    assert tree_digest(_results.REFERENCE) == reference, "a benchmark changed a reference result"
    for path in (first, second):
        data = _results.load(path)
        check_results_file(data)
        assert data["benchmark"] == "counters"
        assert data["provenance"]["interpreter"] in path.name
        assert "bench_counters.py 200" in data["provenance"]["command"]
        assert all(c["repetitions"] == 7 for c in data["cells"])


def test_save_never_overwrites_a_run(runs: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = _results.provenance()
    monkeypatch.setattr(_results, "provenance", lambda argv=None: fixed)
    cells = [_results.cell({"variant": "a"}, "ops", [1.0, 2.0, 3.0], unit="ops/s")]
    paths = [_results.save("demo", cells) for _ in range(3)]
    assert len(set(paths)) == 3
    assert paths[1].name.endswith("-2.json") and paths[2].name.endswith("-3.json")


def test_cells_are_validated() -> None:
    with pytest.raises(TypeError, match="key"):
        _results.cell({"variant": ["a"]}, "ops", [1.0], unit="ops/s")
    with pytest.raises(ValueError, match="NaN"):
        _results.cell({"variant": "a"}, "ops", [float("nan")], unit="ops/s")
    with pytest.raises(ValueError, match="infinities"):
        _results.cell({"variant": "a"}, "ops", [1.0, float("inf")], unit="ops/s")
    with pytest.raises(ValueError, match="JSON"):
        _results.cell({"variant": "a"}, "ops", [1.0], unit="ops/s", info={"x": float("nan")})
    gen = _results.cell({"variant": "a"}, "ops", (x for x in (1.0, 2.0)), unit="ops/s")
    assert gen["repetitions"] == 2 and gen["median"] == 1.5
    with pytest.raises(ValueError, match="without cells"):
        _results.save("demo", [])
    c = _results.cell({"variant": "a"}, "ops", [], unit="ops/s")
    assert c["repetitions"] == 0 and c["median"] is None
    with pytest.raises(ValueError, match="two cells"):
        _results.save("demo", [_results.cell({"v": 1}, "m", [1.0], unit="u")] * 2)


# -- promotion ----------------------------------------------------------------------------


@pytest.fixture
def two_runs(
    runs: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    """(a private reference folder, a run, a later run of the same benchmark)."""
    reference = tmp_path / "reference"
    monkeypatch.setattr(_results, "REFERENCE", reference)
    first = _results.save("demo", [_results.cell({"v": 1}, "m", [1.0, 2.0], unit="u")])
    second = _results.save("demo", [_results.cell({"v": 1}, "m", [5.0, 6.0], unit="u")])
    return reference, first, second


def test_promotion_is_explicit_and_refuses_to_replace(
    two_runs: tuple[pathlib.Path, pathlib.Path, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    reference, first, second = two_runs
    assert promote.main([str(first)]) == 0
    (target,) = reference.glob("*.json")
    assert target.read_bytes() == first.read_bytes()
    assert promote.main([str(first)]) == 0  # the same run again: nothing to do
    assert promote.main([str(second)]) == 1  # a different run: refused without --replace
    assert target.read_bytes() == first.read_bytes()
    assert promote.main([str(second), "--replace"]) == 0
    assert target.read_bytes() == second.read_bytes()
    assert promote.main(["--latest"]) == 0  # the newest run is already the reference
    not_results = tmp_path / "x.json"
    not_results.write_text("{}")
    assert promote.main([str(not_results)]) == 2


def test_promotion_refuses_ambiguity_and_broken_runs(
    two_runs: tuple[pathlib.Path, pathlib.Path, pathlib.Path],
) -> None:
    reference, first, second = two_runs
    assert promote.main([str(second), str(first)]) == 1  # two runs for one reference
    assert not reference.exists()
    second.write_text(second.read_text()[:200])  # a truncated (newer) run
    assert promote.main(["--latest"]) == 2  # not: the older run, silently
    assert not reference.exists()
    escape = json.loads(first.read_text())
    escape["benchmark"] = "../../escape"
    first.write_text(json.dumps(escape))
    assert promote.main([str(first)]) == 2
    with pytest.raises(ValueError, match="name"):
        _results.save("../escape", [_results.cell({"v": 1}, "m", [1.0], unit="u")])


def test_a_gil_enabled_run_is_not_a_free_threaded_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from atomics import runtime

    monkeypatch.setattr(runtime, "gil_disabled_build", lambda: True)
    monkeypatch.setattr(runtime, "gil_enabled", lambda: True)
    assert _results.interpreter_tag().endswith("t-gil")
    monkeypatch.setattr(runtime, "gil_enabled", lambda: False)
    assert _results.interpreter_tag().endswith("t")


# -- comparison ---------------------------------------------------------------------------


def test_compare_tells_differences_from_noise(
    runs: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*samples: list[float]) -> pathlib.Path:
        cells = [
            _results.cell({"variant": f"v{i}"}, "ops", values, unit="ops/s")
            for i, values in enumerate(samples)
        ]
        return _results.save("demo", cells)

    a = run([100.0, 102.0, 98.0, 101.0], [100.0, 110.0, 90.0], [10.0, 10.5, 9.5, 10.0])
    b = run([150.0, 151.0, 149.0, 152.0], [104.0, 114.0, 94.0], [5.0, 5.2, 4.8, 5.1])
    assert compare.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("ops variant=")}
    assert "better" in lines["variant=v0"] and "1.50x" in lines["variant=v0"]
    assert "within noise" in lines["variant=v1"]
    assert "worse" in lines["variant=v2"]
    assert compare.main([str(a), str(b), "--threshold", "0.6"]) == 0  # 1.50x and 0.50x: < 60%
    assert capsys.readouterr().out.rstrip().endswith("3 within noise")


@pytest.mark.parametrize("module", [_results, compare])
def test_doctests(module: Any) -> None:
    assert doctest.testmod(module).failed == 0


def _fake_ref(bench: str, rates: dict[str, float]) -> dict[str, Any]:
    cells = [
        _results.cell({"variant": v, "threads": 1}, "ops_per_second", [r, r], unit="ops/s")
        for v, r in rates.items()
    ]
    return {"benchmark": bench, "cells": cells, "_file": f"{bench}-x.json",
            "provenance": {"interpreter": "3.13.15t"}}  # fmt: skip


def test_an_unexplained_loss_fails_the_losses_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/losses.py: a cell where this package is slower than the plain alternative
    needs a measured cause and a winning variant written down, or make bench-tables fails."""
    import losses

    refs = {"counters": [_fake_ref("counters", {"AtomicInteger": 1.0, "locked +=": 2.0})]}
    table = "\n".join(losses.losses_table(refs))
    assert "0.50x" in table and "**Wins:**" in table
    monkeypatch.delitem(losses.EXPLAINED, ("counters", "AtomicInteger"))
    with pytest.raises(ValueError, match="without an explanation"):
        losses.losses_table(refs)
    faster = {"counters": [_fake_ref("counters", {"AtomicInteger": 3.0, "locked +=": 2.0})]}
    assert losses.losses_table(faster)[0].startswith("No benchmark cell")
