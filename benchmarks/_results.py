"""Shared benchmark plumbing: the one results format, provenance, and thread timing.

Every ``benchmarks/bench_*.py`` records its figures as *cells*: one measured quantity
(``metric``, with its ``unit`` and whether higher is better) for one configuration (``key``:
variant, threads, ...), holding every repetition (``samples``) and their summary (median, min,
max, standard deviation, quartiles and IQR).  A run's file adds the provenance: UTC date,
commit and whether the tree was dirty, CPU model and counts, interpreter and GIL state, the
exact command and the environment variables that change what a benchmark does.

Each run writes a *new* file, ``benchmarks/results/runs/<bench>-<date>-<commit>-<interp>.json``
(opened with exclusive create: nothing is ever overwritten; runs are not committed).  The
reference results that the docs cite live in ``benchmarks/results/reference/`` and change
only through ``benchmarks/promote.py`` (``make bench-promote``).  The format is described in
``benchmarks/README.md``; ``FORMAT`` and ``FORMAT_VERSION`` name it inside each file.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pathlib
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

FORMAT = "atomics-bench"
FORMAT_VERSION = 1
ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = pathlib.Path(__file__).resolve().parent / "results"
REFERENCE = RESULTS / "reference"
# Environment variables that change what a benchmark measures: recorded with each run.
RECORDED_ENV = (
    "BENCH_SECONDS",
    "BENCH_THREADS",
    "BENCH_REPEATS",
    "BENCH_KEY_SPACES",
    "BENCH_ITEMS",
    "BENCH_WORDS",
    "PYTHON_GIL",
    "PYTHONHASHSEED",
    "OPENBLAS_CORETYPE",
)

Key = Mapping[str, Any]
# A benchmark name and an interpreter tag become parts of file names: nothing else allowed.
NAME = re.compile(r"[a-z0-9_]+")
TAG = re.compile(r"[0-9]+(\.[0-9]+)*[a-z0-9]*t?(-gil)?")


def runs_dir() -> pathlib.Path:
    """Where new run files go: ``$ATOMICS_BENCH_RUNS`` or ``benchmarks/results/runs``."""
    override = os.environ.get("ATOMICS_BENCH_RUNS")
    return pathlib.Path(override) if override else RESULTS / "runs"


def _positive_ints(name: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(f"{name}: comma-separated positive integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"{name}: comma-separated positive integers, got {text!r}")
    return values


def thread_counts(default: Sequence[int]) -> tuple[int, ...]:
    """The thread counts to measure: ``$BENCH_THREADS`` (``"1,2,4,8,16"``; sorted, each
    once) or ``default``.  ``make bench-scaling`` sets it up to the machine's core count.

    >>> thread_counts((1, 2, 4, 8))
    (1, 2, 4, 8)
    """
    text = os.environ.get("BENCH_THREADS")
    if not text:
        return tuple(default)
    return tuple(sorted(set(_positive_ints("BENCH_THREADS", text))))


def repeats(default: int) -> int:
    """Repetitions of every measurement: ``$BENCH_REPEATS`` or ``default`` (a budget knob:
    fewer repetitions, a coarser spread)."""
    text = os.environ.get("BENCH_REPEATS")
    if not text:
        return default
    (value,) = _positive_ints("BENCH_REPEATS", text)
    return value


def int_list(name: str, default: Sequence[int]) -> tuple[int, ...]:
    """``$name`` as comma-separated positive integers, or ``default``."""
    text = os.environ.get(name)
    return _positive_ints(name, text) if text else tuple(default)


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """The summary kept beside a cell's samples.

    >>> s = summarize([1.0, 2.0, 3.0, 4.0])
    >>> (s["repetitions"], s["median"], s["min"], s["max"], s["iqr"])
    (4, 2.5, 1.0, 4.0, 1.5)
    >>> summarize([5.0])["stdev"] is None
    True
    >>> summarize([])["median"] is None  # nothing to measure (a control never caught)
    True
    """
    values = [float(v) for v in samples]
    if not values:
        fields = ("median", "min", "max", "mean", "stdev", "q1", "q3", "iqr")
        return {"repetitions": 0, **dict.fromkeys(fields)}
    if not all(math.isfinite(v) for v in values):
        raise ValueError("samples: NaN and infinities are not measurements")
    n = len(values)
    if n >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        stdev: float | None = statistics.stdev(values)
    else:
        q1 = q3 = values[0]
        stdev = None
    return {
        "repetitions": n,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
        "stdev": stdev,
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
    }


def cell(
    key: Key,
    metric: str,
    samples: Sequence[float],
    *,
    unit: str,
    higher_is_better: bool = True,
    info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One measured quantity for one configuration, with every repetition and its summary.

    ``key`` identifies the configuration (JSON scalars only); ``info`` carries facts that are
    not measurements (counts, verdicts).
    """
    values = list(samples)  # once: a generator would be empty the second time
    for name, value in key.items():
        if not isinstance(name, str):
            raise TypeError(f"key: names must be str, got {name!r}")
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise TypeError(f"key[{name!r}]: JSON scalars only, got {type(value).__name__}")
    out: dict[str, Any] = {
        "key": dict(key),
        "metric": metric,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "samples": [float(v) for v in values],
        **summarize(values),
    }
    if info:
        out["info"] = dict(info)
    try:  # fail now, not at save() after the whole benchmark has run
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cell {dict(key)}: not storable as JSON ({exc})") from None
    return out


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def interpreter_tag() -> str:
    """``3.13.15t`` for a free-threaded build running without the GIL, ``3.11.7`` for a GIL
    build, ``3.13.15t-gil`` for a free-threaded build whose GIL was enabled (``PYTHON_GIL=1``
    or an extension): a different experiment, so a different name."""
    from atomics import runtime

    tag = platform.python_version()
    if runtime.gil_disabled_build():
        tag += "t-gil" if runtime.gil_enabled() else "t"
    return tag


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Where, when, on what and by which command a run was made."""
    import atomics
    from atomics import runtime

    info = runtime.runtime_info()
    # Untracked files count: a benchmark or module not in the commit makes the run dirty.
    status = _git("status", "--porcelain", "--untracked-files=normal")
    package = pathlib.Path(atomics.__file__).resolve().parent
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = info.cpu_count
    command = [sys.executable, *(sys.argv if argv is None else argv)]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
        "cpu_model": cpu_model(),
        "cpu_count": info.cpu_count,
        "cpus_usable": usable,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "implementation": info.implementation,
        "python_version": info.version,
        "interpreter": interpreter_tag(),
        "sys_version": sys.version,
        "executable": info.executable,
        "gil_disabled_build": info.gil_disabled_build,
        "gil_enabled": info.gil_enabled,
        "description": info.description,
        "command": shlex.join(command),
        "cwd": os.getcwd(),
        "atomics_path": str(package),
        # Whether the measured package is this checkout's src/atomics (commit and dirty
        # describe this checkout, so they describe the measured code only when True).
        "atomics_from_checkout": package == ROOT / "src" / "atomics",
        "env": {name: os.environ[name] for name in RECORDED_ENV if name in os.environ},
    }


def run_file_name(name: str, prov: Mapping[str, Any]) -> str:
    """``<bench>-<YYYYmmddTHHMMSSZ>-<commit12>[-dirty]-<interpreter>.json``."""
    stamp = datetime.datetime.fromisoformat(prov["date"]).strftime("%Y%m%dT%H%M%SZ")
    commit = (prov["commit"] or "nocommit")[:12] + ("-dirty" if prov["dirty"] else "")
    return f"{name}-{stamp}-{commit}-{prov['interpreter']}.json"


def save(
    name: str,
    cells: Iterable[Mapping[str, Any]],
    *,
    parameters: Mapping[str, Any] | None = None,
    derived: Mapping[str, Any] | None = None,
    argv: Sequence[str] | None = None,
) -> pathlib.Path:
    """Write one run of benchmark ``name`` to a new file under :func:`runs_dir`.

    ``parameters``: what the run was asked to do (sizes, repetitions); ``derived``: figures
    computed from the cells' medians (ratios) for the console and the reader.  Never replaces
    a file: a name already taken gets a ``-2``, ``-3``, ... suffix.
    """
    if not NAME.fullmatch(name):
        raise ValueError(f"name: lowercase letters, digits and _ only, got {name!r}")
    cells = list(cells)
    if not cells:
        raise ValueError("cells: a run without cells records nothing")
    seen = set()
    for c in cells:
        ident = (c["metric"], json.dumps(c["key"], sort_keys=True))
        if ident in seen:
            raise ValueError(f"cells: two cells with metric {c['metric']!r} and key {c['key']}")
        seen.add(ident)
    prov = provenance(argv)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "benchmark": name,
        "provenance": prov,
        "parameters": dict(parameters or {}),
        "cells": cells,
        "derived": dict(derived or {}),
    }
    text = json.dumps(payload, indent=1, allow_nan=False) + "\n"
    folder = runs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    base = run_file_name(name, prov)
    # Written whole to a temporary file, then linked to its name: a run killed while saving
    # leaves no truncated run file, and os.link never replaces an existing file.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".saving-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        for attempt in range(1, 1000):
            stem = base[: -len(".json")]
            out = folder / (base if attempt == 1 else f"{stem}-{attempt}.json")
            try:
                os.link(tmp, out)
            except FileExistsError:
                continue
            print(f"results: {out}")
            return out
    finally:
        os.unlink(tmp)
    raise FileExistsError(f"no free run file name for {base} in {folder}")


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a results file and check that it is in this format."""
    try:
        data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not an {FORMAT} results file")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: format version {data.get('format_version')}, expected {FORMAT_VERSION}"
        )
    name, prov = data.get("benchmark"), data.get("provenance")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"{path}: bad benchmark name {name!r}")
    if not isinstance(prov, dict) or not TAG.fullmatch(str(prov.get("interpreter"))):
        raise ValueError(f"{path}: bad or missing provenance.interpreter")
    if not isinstance(data.get("cells"), list) or not data["cells"]:
        raise ValueError(f"{path}: no cells")
    return data


def index(data: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(metric, canonical key JSON) -> cell`` for a loaded results file."""
    return {(c["metric"], json.dumps(c["key"], sort_keys=True)): c for c in data["cells"]}


def time_threads(threads: int, prepare: Callable[[int], Callable[[], object]]) -> float:
    """Wall seconds for ``threads`` threads to run their bodies from a common start.

    ``prepare(t)`` runs in thread t before the start (so what it makes belongs to that
    thread) and returns the body to time.
    """
    start = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        body = prepare(t)
        start.wait()
        body()

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began


def rate_threads(
    threads: int, prepare: Callable[[int], Callable[[], int]], seconds: float
) -> float:
    """Aggregate operations per second of ``threads`` threads running for ``seconds``.

    ``prepare(t)`` runs in thread t before the common start (so what it makes belongs to
    that thread) and returns a step: it does a batch of operations and returns how many.
    Each thread repeats its step until the time is up; its last batch counts in full, and
    the rate divides by the time until the last thread stopped.
    """
    start = threading.Barrier(threads + 1)
    stop = threading.Event()
    done = [0] * threads

    def work(t: int) -> None:
        step = prepare(t)
        start.wait()
        count = 0
        while not stop.is_set():
            count += step()
        done[t] = count

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    stop.wait(seconds)  # a measurement window, not synchronisation: the threads poll `stop`
    stop.set()
    for worker in workers:
        worker.join()
    return sum(done) / (time.perf_counter() - began)
