"""``python -m atomics``: --version, plain-text help for the program and each command,
usage errors from the parser of the command at fault, results on stdout and everything else
on stderr, and the documented exit statuses (0 ok, 1 a check failed, 2 usage)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile

import pytest

import atomics

PROG = "python -m atomics"
COMMANDS = ("info", "demo", "stress")
# reStructuredText a terminal would show raw: ``literal``, :role:`target`, `link`_
MARKUP = re.compile(r"``|:[a-z]+:`|`[^`\n]+`_")


def run(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m atomics ARGS`` (or ``python -c CODE``) from outside the checkout, 200
    columns: help lines unwrapped."""
    command = ["-c", code] if code is not None else ["-m", "atomics", *args]
    return subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tempfile.gettempdir(),
        env={**os.environ, "COLUMNS": "200"},
    )


def test_version_prints_the_package_version() -> None:
    done = run("--version")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"atomics {atomics.__version__}\n",
        "",
    )


@pytest.mark.parametrize("command", [(), *((name,) for name in COMMANDS)])
def test_help_is_plain_text_and_documents_the_exit_statuses(command: tuple[str, ...]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert not MARKUP.search(done.stdout), MARKUP.findall(done.stdout)
    assert done.stdout.startswith(f"usage: {' '.join((PROG, *command))} ")
    statuses = done.stdout[done.stdout.index("exit status:") :]
    for status, meaning in (("0", "success"), ("1", "a check failed"), ("2", "usage error")):
        assert re.search(rf"^  {status} +{meaning}", statuses, re.MULTILINE), statuses


def test_each_command_is_described_alike_in_the_program_help_and_its_own() -> None:
    listing = run("--help").stdout
    for name in COMMANDS:
        line = next(line for line in listing.splitlines() if line.split()[:1] == [name])
        summary = line.split(None, 1)[1]
        own = " ".join(run(name, "--help").stdout.split())  # the description, unwrapped
        assert summary[0].upper() + summary[1:] in own, (name, summary)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo", "--steps", "0"), "argument --steps: must be at least 1: '0'"),
        (("demo", "--agents", "many"), "argument --agents: not an integer: 'many'"),
        (("demo", "--processes", "2"), "--processes needs --backend URL"),
        (("demo", "--backend", "http://x"), "argument --backend: not 'memory' or a redis://"),
        (("stress", "--seconds", "0"), "argument --seconds: must be positive and finite"),
        (("stress", "-k", "x"), "unrecognized arguments: -k"),
        (("info", "extra"), "unrecognized arguments: extra"),
        # huge numbers: a usage error, not an OverflowError traceback
        (("demo", "--threads", "9" * 20), "argument --threads: thread counts must be at most"),
        (("demo", "--processes", "9" * 20), "argument --processes: process counts must be at"),
        (("demo", "--work", "9" * 20), "argument --work: must be at most 1,000,000,000"),
        (("demo", "--steps", "9" * 20), "argument --steps: must be at most 1,000,000,000"),
        (("demo", "--connect-timeout", "1e300"), "argument --connect-timeout: must be at most"),
        (("stress", "--seconds", "1e300"), "argument --seconds: must be at most"),
    ],
)
def test_usage_errors_come_from_the_command_parser(args: tuple[str, ...], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"usage: {PROG} {args[0]} "), done.stderr
    assert f"{PROG} {args[0]}: error: {message}" in done.stderr


@pytest.mark.parametrize(
    "args", [("--bogus",), ("--bogus", "info"), ("-x", "demo", "--steps", "1")]
)
def test_an_unknown_option_before_the_command_is_blamed_on_the_program(
    args: tuple[str, ...],
) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"usage: {PROG} [-h]"), done.stderr
    assert f"{PROG}: error: unrecognized arguments: {args[0]}\n" in done.stderr


def test_no_command_is_a_usage_error_of_the_program() -> None:
    done = run()
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"usage: {PROG} ")
    assert f"{PROG}: error: the following arguments are required: COMMAND" in done.stderr


@pytest.mark.parametrize("absent", ["pytest", "hypothesis"])
def test_stress_without_the_test_extra_says_so_on_stderr(absent: str) -> None:
    done = run(
        code=f"import sys; sys.modules[{absent!r}] = None; "  # as if not installed
        "from atomics.__main__ import main; sys.exit(main(['stress']))"
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{PROG} stress: error: " in done.stderr
    assert absent in done.stderr
    assert "pip install 'ft-atomics[test]'" in done.stderr


def test_main_returns_the_status_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    from atomics.__main__ import main

    assert main(["--version"]) == 0
    assert main(["demo", "--steps", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == f"atomics {atomics.__version__}\n"
    assert "error: argument --steps" in err


def test_demo_on_redis_without_the_client_names_the_extra_and_exits_2() -> None:
    done = run(
        code="import sys; sys.modules['redis'] = None; "  # as if not installed
        "from atomics.__main__ import main; "
        "sys.exit(main(['demo', '--backend', 'redis://localhost:1', '--steps', '1']))"
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{PROG} demo: error: ")
    assert "pip install 'ft-atomics[redis]'" in lines[0]


def test_ctrl_c_stops_the_in_memory_demo_with_one_line_and_130() -> None:
    """Its agents are threads: Ctrl-C stops them (each after its current step) instead of a
    traceback and a process that waits for them to finish a long run."""
    code = (
        "import signal, sys; "
        # a runner started in the background may pass SIGINT on ignored: Python then never
        # raises KeyboardInterrupt, so the child restores the handler Python installs
        "signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from atomics.__main__ import main; "
        "sys.exit(main(['demo', '--work', '1000', '--steps', '1000000']))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:  # the header, then the run (hours of it): interrupt it
            if line.strip().startswith("threads:"):
                break
        child.send_signal(signal.SIGINT)
        err = child.communicate(timeout=60)[1]
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [f"{PROG} demo: interrupted"]


@pytest.mark.parametrize(
    "args",
    [
        ("info",),
        ("demo", "--steps", "1", "--work", "10", "--threads", "1"),
        ("stress", "--list"),
    ],
)
def test_a_closed_stdout_ends_the_command_quietly_with_141(args: tuple[str, ...]) -> None:
    """``| head``: a reader gone before the output was written (here: before it started)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "atomics", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            cwd=tempfile.gettempdir(),
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


def test_help_says_what_the_budget_is_and_which_article() -> None:
    stress = " ".join(run("stress", "--help").stdout.split())
    assert "at least one round, so a run can take longer" in stress
    demo = " ".join(run("demo", "--help").stdout.split())
    assert "promised threading.AtomicInteger" in demo
    assert "docs/knowledge_base.md" in demo
    statuses = run("--help").stdout
    assert re.search(r"^  141 +stdout closed", statuses, re.MULTILINE), statuses
