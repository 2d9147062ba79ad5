"""Command line: ``python -m atomics {info,demo,stress}``.

``info`` prints the runtime facts (interpreter, build, live GIL state, CPUs); ``demo`` runs
the CPU-bound agent workload at 1..N threads and prints the speedups; ``stress`` runs the
stress/ suites (needs the ``test`` extra) and prints a summary table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from atomics import demo, runtime


def _info() -> int:
    info = runtime.runtime_info()
    print(info.description)
    print(f"implementation:        {info.implementation}")
    print(f"version:               {info.version}")
    print(f"executable:            {info.executable}")
    print(f"gil_disabled_build:    {info.gil_disabled_build}")
    print(f"gil_enabled:           {info.gil_enabled}")
    print(f"free_threading_active: {info.free_threading_active}")
    print(f"cpu_count:             {info.cpu_count}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m atomics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="print the runtime facts")
    demo_parser = commands.add_parser("demo", help="agent workload speedups at 1..N threads")
    demo_parser.add_argument(
        "--iterations",
        type=int,
        default=2_000_000,
        help="work per agent (default 2,000,000 loop iterations)",
    )
    demo_parser.add_argument("--repeats", type=int, default=3, help="runs per size (median)")
    demo_parser.add_argument(
        "--max-threads", type=int, default=None, help="largest thread count to run"
    )
    stress_parser = commands.add_parser("stress", help="run the stress/ suites with a summary")
    stress_parser.add_argument("paths", nargs="*", default=["stress"], help="default: stress/")
    stress_parser.add_argument(
        "--seconds", type=float, default=None, help="time budget per suite (sets STRESS_SECONDS)"
    )
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info()
    if args.command == "stress":
        from atomics.testing.cli import run_stress

        return run_stress(args.paths, args.seconds)
    if args.iterations < 1 or args.repeats < 1:
        parser.error("--iterations and --repeats must be at least 1")
    demo.main(iterations=args.iterations, repeats=args.repeats, max_threads=args.max_threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
