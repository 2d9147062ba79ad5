"""Promote benchmark runs to the reference results that the docs cite.

A run (``benchmarks/results/runs/<bench>-<date>-<commit>-<interp>.json``, written by every
``bench_*.py``) becomes ``benchmarks/results/reference/<bench>-<interp>.json``.  This is the
*only* way a reference result changes: the benchmarks themselves never write there.  An
existing, different reference is replaced only with ``--replace``; then run
``make bench-tables`` so the docs follow.

Usage:
    python benchmarks/promote.py RUN.json [RUN.json ...] [--replace]
    python benchmarks/promote.py --latest [--replace]   # the newest run of each
                                                        # (benchmark, interpreter)
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile

import _results


def reference_path(data: dict[str, object]) -> pathlib.Path:
    prov = data["provenance"]
    assert isinstance(prov, dict)
    return _results.REFERENCE / f"{data['benchmark']}-{prov['interpreter']}.json"


def latest_runs(folder: pathlib.Path) -> list[pathlib.Path]:
    """The newest run file of each (benchmark, interpreter) in ``folder``.

    Raises ValueError if any run file there cannot be read: the newest run might be the
    broken one, and promoting the one before it without a word would be worse.
    """
    newest: dict[tuple[str, str], tuple[tuple[str, int], pathlib.Path]] = {}
    broken = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name.endswith(".pyperf.json"):
            continue
        try:
            data = _results.load(path)
        except ValueError as exc:
            broken.append(str(exc))
            continue
        ident = (data["benchmark"], data["provenance"]["interpreter"])
        # The date has whole seconds: runs saved within one second are ordered by mtime.
        stamp = (data["provenance"]["date"], path.stat().st_mtime_ns)
        if ident not in newest or stamp >= newest[ident][0]:
            newest[ident] = (stamp, path)
    if broken:
        raise ValueError(
            "unreadable run files (remove them, or name the runs to promote):\n  "
            + "\n  ".join(broken)
        )
    return [path for _, path in sorted(newest.values(), key=lambda item: str(item[1]))]


def write_atomically(target: pathlib.Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def promote(runs: list[pathlib.Path], replace: bool) -> int:
    """Plan every promotion first; write nothing unless all of them may go ahead."""
    plan: list[tuple[pathlib.Path | None, pathlib.Path]] = []  # (source or None: remove, dest)
    refused, targets = [], {}
    for run in runs:
        data = _results.load(run)  # ValueError for anything not in the results format
        target = reference_path(data)
        if target in targets:
            print(f"refused: {run} and {targets[target]} are both {target.name}; name one")
            return 1
        targets[target] = run
        native, native_dest = run.with_suffix(".pyperf.json"), target.with_suffix(".pyperf.json")
        pairs: list[tuple[pathlib.Path | None, pathlib.Path]] = [(run, target)]
        if native.exists():
            pairs.append((native, native_dest))
        elif native_dest.exists():
            pairs.append((None, native_dest))  # the old run's pyperf file would be stale
        for source, dest in pairs:
            if source is not None and dest.exists() and dest.read_bytes() == source.read_bytes():
                print(f"unchanged: {dest} (already this run)")
                continue
            if dest.exists() and not replace:
                refused.append(dest)
            plan.append((source, dest))
        prov = data["provenance"]
        if prov.get("dirty"):
            print(f"note: {run.name} was measured on a dirty tree (recorded in the file)")
        if prov.get("atomics_from_checkout") is False:
            print(f"note: {run.name} measured atomics from {prov.get('atomics_path')}")
        for other in sorted(_results.REFERENCE.glob(f"{data['benchmark']}-*.json")):
            if other == target or other.name.endswith(".pyperf.json"):
                continue
            theirs = _results.load(other)["provenance"]
            if (theirs["gil_disabled_build"], theirs["gil_enabled"]) == (
                prov["gil_disabled_build"],
                prov["gil_enabled"],
            ):
                print(
                    f"note: {other.name} is a reference of the same kind of interpreter; the "
                    "docs show both (git rm it if that interpreter is retired)"
                )
    if refused:
        for dest in refused:
            print(f"refused: {dest} exists and differs; pass --replace to replace it")
        return 1
    for source, dest in plan:
        if source is None:
            dest.unlink()
            print(f"removed: {dest} (the promoted run has no pyperf file)")
        else:
            write_atomically(dest, source.read_bytes())
            print(f"promoted: {source} -> {dest}")
    if plan:
        print("now run `make bench-tables` to regenerate the docs' tables")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=pathlib.Path, help="run files to promote")
    parser.add_argument(
        "--latest", action="store_true", help="the newest run of each benchmark/interpreter"
    )
    parser.add_argument(
        "--replace", action="store_true", help="replace existing, different references"
    )
    args = parser.parse_args(argv)
    if not args.runs and not args.latest:
        parser.error("name run files to promote, or pass --latest")
    try:
        runs = list(args.runs)
        if args.latest:
            runs += latest_runs(_results.runs_dir())
            if not runs:
                print(f"promote: no run files in {_results.runs_dir()}", file=sys.stderr)
                return 2
        return promote(runs, args.replace)
    except (OSError, ValueError) as exc:
        print(f"promote: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
