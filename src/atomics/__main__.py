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


def _thread_list(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of ints: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("thread counts must be at least 1")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m atomics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="print the runtime facts")
    demo_parser = commands.add_parser(
        "demo", help="the Research Swarm on a KnowledgeBase at 1..N threads"
    )
    demo_parser.add_argument(
        "--threads",
        type=_thread_list,
        default=None,
        help="thread counts, comma-separated (default: 1, 2, 4, ... up to the CPU count)",
    )
    demo_parser.add_argument("--agents", type=int, default=8, help="agents (default 8)")
    demo_parser.add_argument("--steps", type=int, default=20, help="steps per agent (default 20)")
    demo_parser.add_argument(
        "--work", type=int, default=150_000, help="reasoning iterations per step (default 150,000)"
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
    if min(args.agents, args.steps, args.work) < 1:
        parser.error("--agents, --steps and --work must be at least 1")
    return demo.main(threads=args.threads, agents=args.agents, steps=args.steps, work=args.work)


if __name__ == "__main__":
    sys.exit(main())
