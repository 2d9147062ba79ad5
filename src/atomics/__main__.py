"""The command line: ``python -m atomics {info,demo,stress}`` (see ``--help``).

Results go to stdout; messages, errors and hints to stderr. Exit status: 0 success, 1 a
check failed or the command could not finish, 2 a usage error (or a missing extra), 130
interrupted, 141 stdout closed early (``| head``: quietly, as if killed by SIGPIPE, the
status a shell reports for that) -- the ``EXIT_STATUS`` text below, which ``--help`` prints.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
import threading
from collections.abc import Sequence

import atomics
from atomics import demo, runtime

PROG = "python -m atomics"

DESCRIPTION = (
    "atomics (distribution ft-atomics): thread-safe primitives for free-threaded CPython. "
    "This command prints the runtime facts, runs the Research Swarm demo, or runs the "
    "stress suites that ship with the package."
)
INFO_SUMMARY = "print the runtime facts: interpreter, build, live GIL state, CPUs"
DEMO_SUMMARY = "run the Research Swarm demo at 1, 2, 4, ... threads and print its table"
DEMO_DESCRIPTION = (
    f"{DEMO_SUMMARY[0].upper()}{DEMO_SUMMARY[1:]}: agents add insights to a KnowledgeBase, "
    "compared with the knowledge base of the article the demo answers, the one that promised "
    "threading.AtomicInteger (see 'The demo' in docs/knowledge_base.md); the table shows "
    "duplicates and lost updates. With --backend redis://...: the agents run in 1, 2, ... "
    "processes sharing one knowledge base on that Redis server."
)
STRESS_SUMMARY = (
    "run the stress suites that ship with the package, with progress and a summary table"
)
STRESS_DESCRIPTION = (
    f"{STRESS_SUMMARY[0].upper()}{STRESS_SUMMARY[1:]}. Each test prints a line when it "
    "starts (with its time budget) and when it ends; the table lists per test the "
    "operations, histories checked, failures and overlap. Needs pytest and Hypothesis: "
    "pip install 'ft-atomics[test]'."
)
EXIT_STATUS = """\
exit status:
  0    success
  1    a check failed (a stress test failed; the demo's knowledge base lost an update)
       or the command could not finish (the Redis server could not be reached)
  2    usage error: bad arguments, no tests found, or a missing extra
       (stress needs pytest and Hypothesis: pip install 'ft-atomics[test]';
       demo --backend needs the redis client: pip install 'ft-atomics[redis]')
  130  interrupted
  141  stdout closed before the output was written (e.g. piped to head): no message

Results go to stdout; progress, messages, errors and hints go to stderr."""


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


MAX_COUNT = 4096
"""The most threads or processes a count may ask for (more is a usage error)."""
MAX_INT = 10**9
"""The most --agents, --steps or --work may be (more is a usage error, not an overflow)."""
MAX_SECONDS = 10**6
"""The most --seconds or --connect-timeout may be (about 11.6 days)."""


def _thread_list(text: str, what: str = "thread") -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of ints: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{what} counts must be at least 1")
    if max(counts) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{what} counts must be at most {MAX_COUNT}: {text!r}")
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
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SECONDS}: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    if value > MAX_INT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_INT:,}: {text!r}")
    return value


def _fill(text: str) -> str:
    return textwrap.fill(text, 79)


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=_thread_list,
        default=None,
        help="thread counts, comma-separated (default: 1, 2, 4, ... up to the CPU count; "
        "with --backend: threads per process, default 1)",
    )
    parser.add_argument(
        "--backend",
        type=_backend,
        default=None,
        metavar="URL",
        help="where the knowledge base lives: memory (default: in this process, compared with "
        "the article's, see above) or a Redis URL, redis://host:port/db (agents in several "
        "processes, one fresh namespace per run, dropped after it)",
    )
    parser.add_argument(
        "--processes",
        type=_process_list,
        default=None,
        help="with --backend: process counts, comma-separated "
        "(default: 1, 2, 4, ... up to the CPU count)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="with --backend: give up if the server cannot be reached in this time (default 5)",
    )
    parser.add_argument("--agents", type=_positive_int, default=8, help="agents (default 8)")
    parser.add_argument(
        "--steps", type=_positive_int, default=20, help="steps per agent (default 20)"
    )
    parser.add_argument(
        "--work",
        type=_positive_int,
        default=150_000,
        help="reasoning iterations per step (default 150,000)",
    )


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The program's parser and each command's (errors come from the parser of the command
    whose arguments are wrong)."""
    formatter = argparse.RawDescriptionHelpFormatter  # keeps the exit-status table's lines
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_fill(DESCRIPTION),
        epilog=EXIT_STATUS,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"atomics {atomics.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info_parser = commands.add_parser(
        "info",
        help=INFO_SUMMARY,
        description=_fill(f"{INFO_SUMMARY[0].upper()}{INFO_SUMMARY[1:]}."),
        epilog=EXIT_STATUS,
        formatter_class=formatter,
    )
    demo_parser = commands.add_parser(
        "demo",
        help=DEMO_SUMMARY,
        description=_fill(DEMO_DESCRIPTION),
        epilog=EXIT_STATUS,
        formatter_class=formatter,
    )
    _demo_arguments(demo_parser)
    stress_parser = commands.add_parser(
        "stress",
        help=STRESS_SUMMARY,
        description=_fill(STRESS_DESCRIPTION),
        epilog=EXIT_STATUS,
        formatter_class=formatter,
    )
    stress_parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="test files or folders to run instead of the shipped suites (atomics.testing.suites)",
    )
    stress_parser.add_argument(
        "--seconds",
        type=_seconds,
        default=None,
        help="each suite's time budget, shared by its tests: a test repeats rounds of fixed "
        "work until its share is spent, but always runs at least one round, so a run can take "
        "longer (sets STRESS_SECONDS; default: $STRESS_SECONDS, else 60)",
    )
    stress_parser.add_argument(
        "--list", action="store_true", help="list the tests that would run, and run none"
    )
    return parser, {"info": info_parser, "demo": demo_parser, "stress": stress_parser}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status (0 success, 1 a
    check failed or the command could not finish, 2 usage, 130 interrupted, 141 stdout
    closed early).

    Thread-safety: meant for the main thread of a process (it may set a SIGTERM handler
    there, and ``stress`` sets ``STRESS_SECONDS`` in the environment)."""
    parser, commands = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        misplaced = _unknown_program_options(argv)
        if misplaced:  # argparse would ask for COMMAND, or blame the command's parser
            parser.error(f"unrecognized arguments: {' '.join(misplaced)}")
        args, extra = parser.parse_known_args(argv)
        if extra:  # argparse would report them from the program's parser
            commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command == "demo" and args.backend is None and args.processes is not None:
            commands["demo"].error(
                "--processes needs --backend URL (agents in processes share a Redis server)"
            )
    except SystemExit as exit_:  # --help, --version: 0; a usage error: 2 (argparse's)
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        status = _run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit (where it is a traceback)
    except BrokenPipeError:  # stdout piped to a reader that stopped reading (| head)
        _discard_stdout()
        return 141
    return status


def _unknown_program_options(argv: Sequence[str]) -> list[str]:
    """The options before the command that the program's parser does not know (none if
    --help or --version is among them: argparse answers those first)."""
    options: list[str] = []
    for token in argv:
        if not token.startswith("-") or token == "--":
            break
        options.append(token)
    known = [t for t in options if t == "-h" or (len(t) > 2 and _is_prefix(t))]
    return [] if known else options


def _is_prefix(token: str) -> bool:
    return "--help".startswith(token) or "--version".startswith(token)


def _discard_stdout() -> None:
    """Point stdout's file descriptor at devnull: what is still buffered for the closed pipe
    is dropped at exit instead of raising BrokenPipeError again (the recipe in the docs of
    the signal module, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (a captured stdout): nothing to drop
        pass


def _run(args: argparse.Namespace) -> int:
    if args.command == "info":
        return _info()
    if args.command == "stress":
        from atomics.testing.cli import run_stress

        return run_stress(args.paths, args.seconds, list_only=args.list, prog=f"{PROG} stress")
    return _demo(PROG, args)


def _demo(prog: str, args: argparse.Namespace) -> int:
    """The demo, in this process or across processes: its failures one line on stderr and
    an exit status; Ctrl-C (or SIGTERM) the line "interrupted" and 130."""
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
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _discard_stdout()
        print(f"\n{prog} demo: interrupted", file=sys.stderr)
        return 130
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through every finally: see _demo()


if __name__ == "__main__":
    sys.exit(main())
