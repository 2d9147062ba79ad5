"""The figure specs of ``benchmarks/plots.py`` (``make plots``) against the committed results
and the committed PNGs.  The specs are checked without matplotlib; drawing is tested only
where matplotlib is installed (the ``bench`` extra: not in the test environments)."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import plots  # noqa: E402

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def test_figure_names_are_unique_file_names() -> None:
    names = [f.name for f in plots.FIGURES]
    assert len(names) == len(set(names))
    for name in names:
        assert name.replace("-", "").isalnum() and name == name.lower(), name


@pytest.mark.parametrize("fig", plots.FIGURES, ids=lambda f: f.name)
def test_every_spec_names_results_that_exist_or_is_pending(fig: plots.Figure) -> None:
    """Every series of a figure finds its cells in the results it names; a figure whose
    results file is absent must say why (``pending``)."""
    for panel in fig.panels:
        assert panel.series, f"{fig.name}: panel {panel.title!r} has no series"
        for build in panel.builds():
            assert build in plots.BUILDS, (fig.name, build)
    missing, errors = plots.problems(fig, plots.folder_of(fig))
    assert not errors
    if missing:
        assert fig.pending, f"{fig.name}: results missing and the spec is not pending: {missing}"


def test_every_png_in_docs_img_comes_from_a_spec() -> None:
    specs = {f"{f.name}.png" for f in plots.FIGURES}
    found = {p.name for p in plots.IMG.glob("*.png")} if plots.IMG.is_dir() else set()
    orphans = found - specs
    assert not orphans, f"PNGs no spec draws (remove them or add a spec): {sorted(orphans)}"
    for name in found:
        assert (plots.IMG / name).stat().st_size <= plots.MAX_PNG_BYTES, name


def test_a_ready_figure_has_its_png() -> None:
    """A figure whose results exist was drawn and committed (make plots)."""
    ready = [f for f in plots.FIGURES if not plots.problems(f, plots.folder_of(f))[0]]
    absent = [f.name for f in ready if not (plots.IMG / f"{f.name}.png").exists()]
    assert not absent, f"run make plots: no PNG for {absent}"


def test_the_gil_enabled_free_threaded_build_is_neither_experiment() -> None:
    def prov(disabled_build: bool, enabled: bool) -> dict[str, object]:
        return {"provenance": {"gil_disabled_build": disabled_build, "gil_enabled": enabled}}

    assert plots.build_of(prov(True, False)) == "free-threaded"
    assert plots.build_of(prov(False, True)) == "gil"
    assert plots.build_of(prov(True, True)) is None


def test_results_from_runs_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        plots.main(["--results", str(plots.RUNS), "--list"])
    assert "not runs/" in capsys.readouterr().err


def test_a_missing_results_file_is_skipped_with_a_notice(tmp_path: pathlib.Path) -> None:
    """--list on an empty folder: every figure is missing, none is an error."""
    for fig in plots.FIGURES:
        missing, errors = plots.problems(fig, tmp_path)
        assert missing
        assert not errors


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed (bench extra)")
def test_drawing_is_deterministic_and_small(tmp_path: pathlib.Path) -> None:
    """One figure drawn twice from a copy of its results: identical bytes, under the limit."""
    fig = next(f for f in plots.FIGURES if f.name == "counters-free-threaded")
    results = tmp_path / "results"
    results.mkdir()
    for path in plots.REFERENCE.glob("counters-*.json"):
        shutil.copy(path, results)
    first = plots.draw(fig, results, tmp_path / "a").read_bytes()
    second = plots.draw(fig, results, tmp_path / "b").read_bytes()
    assert first == second
    assert first.startswith(b"\x89PNG") and len(first) <= plots.MAX_PNG_BYTES
    assert b"Software" not in first and b"matplotlib" not in first.lower()
    # and it comes from the data: another median makes another figure
    path = next(results.glob("counters-3.13*.json"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["cells"][0]["median"] *= 2
    path.write_text(json.dumps(data), encoding="utf-8")
    assert plots.draw(fig, results, tmp_path / "c").read_bytes() != first


def test_every_rule_of_the_guide_has_a_figure_and_a_command() -> None:
    """docs/lock_granularity.md: each rule cites its figure and the command that reproduces
    it (issue 17); the figure must be one that make plots draws."""
    text = (ROOT / "docs" / "lock_granularity.md").read_text(encoding="utf-8")
    rules = re.split(r"^### ", text.split("## The rules", 1)[1].split("\n## ", 1)[0], flags=re.M)
    drawn = {f"img/{fig.name}.png" for fig in plots.FIGURES}
    missing = []
    for rule in rules[1:]:
        title = rule.splitlines()[0]
        figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", rule)
        if not figures or not set(figures) <= drawn:
            missing.append(f"{title}: figures {figures}")
        if "Reproduce" not in rule or "make bench" not in rule:
            missing.append(f"{title}: no command")
    assert len(rules) > 6 and not missing, missing


def test_bench_scaling_refuses_bad_knobs_before_running_anything(tmp_path: pathlib.Path) -> None:
    """scripts/bench-scaling: an unknown BENCH_ONLY name or a BENCH_SECONDS that is not a
    positive number is a usage error (exit 2) before anything runs (found by a review: an
    unknown name ran nothing and exited 0; BENCH_SECONDS=0 ended in a traceback)."""
    import subprocess

    script = str(ROOT / "scripts" / "bench-scaling")
    out = tmp_path / "out"
    for env in ({"BENCH_ONLY": "nonexistent"}, {"BENCH_SECONDS": "0"}, {"BENCH_SECONDS": "nan"}):
        run = subprocess.run(
            [script],
            env={**os.environ, "BENCH_OUT": str(out), **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 2, (env, run.stderr)
        assert not out.exists(), env
    shown = subprocess.run([script, "--help"], check=False, capture_output=True, timeout=60)
    assert shown.returncode == 0 and b"BENCH_ONLY" in shown.stdout
