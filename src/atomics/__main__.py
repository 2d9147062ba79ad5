"""Command line: ``python -m atomics {info,demo,stress}``.

``info`` prints the runtime facts (interpreter, build, live GIL state, CPUs); ``demo`` runs
the Research Swarm at 1..N threads and prints the table (``--backend redis://...``: with its
agents in 1..N processes sharing one knowledge base on that Redis server); ``stress`` runs
the stress/ suites (needs the ``test`` extra) and prints a summary table.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
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


def _thread_list(text: str, what: str = "thread") -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of ints: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{what} counts must be at least 1")
    return counts


def _process_list(text: str) -> list[int]:
    return _thread_list(text, "process")


def _backend(text: str) -> str | None:
    """``memory`` (None: the in-process demo) or a Redis URL."""
    if text == "memory":
        return None
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError(
            f"not 'memory' or a redis://, rediss:// or unix:// URL: {text!r}"
        )
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be positive and finite: {text!r}")
    return value


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
        help="thread counts, comma-separated (default: 1, 2, 4, ... up to the CPU count; "
        "with --backend: threads per process, default 1)",
    )
    demo_parser.add_argument(
        "--backend",
        type=_backend,
        default=None,
        metavar="URL",
        help="where the knowledge base lives: memory (default: in this process, compared with "
        "the article's) or a Redis URL, redis://host:port/db (agents in several processes, "
        "one fresh namespace per run, dropped after it)",
    )
    demo_parser.add_argument(
        "--processes",
        type=_process_list,
        default=None,
        help="with --backend: process counts, comma-separated "
        "(default: 1, 2, 4, ... up to the CPU count)",
    )
    demo_parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="with --backend: give up if the server cannot be reached in this time (default 5)",
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
    if args.backend is None and args.processes is not None:
        parser.error("--processes needs --backend URL (agents in processes share a Redis server)")
    if args.backend is None:
        return demo.main(threads=args.threads, agents=args.agents, steps=args.steps, work=args.work)
    return _demo_on_backend(parser.prog, args)


def _demo_on_backend(prog: str, args: argparse.Namespace) -> int:
    """The demo across processes: its failures one line on stderr and an exit status."""
    handler = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (scripts/with-redis stopping the run) unwinds like Ctrl-C: the agent
        # processes stopped, the run's namespace dropped
        handler = signal.signal(signal.SIGTERM, _terminated)
    try:
        return demo.main(
            threads=args.threads,
            agents=args.agents,
            steps=args.steps,
            work=args.work,
            backend=args.backend,
            processes=args.processes,
            connect_timeout=args.connect_timeout,
        )
    except demo.BackendError as error:
        sys.stdout.flush()
        print(f"{prog} demo: error: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        sys.stdout.flush()
        print(f"\n{prog} demo: interrupted", file=sys.stderr)
        return 130
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through every finally: see _demo_on_backend()


if __name__ == "__main__":
    sys.exit(main())
