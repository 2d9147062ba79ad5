"""The public API's types as a user's type checker sees them (issue 16, item 4).

Runs ``mypy --strict`` on ``user_program.py`` and compares what mypy reports with that
file's comments, line by line: ``# R: T`` -- mypy must reveal exactly ``T`` there (the
``builtins.`` prefix dropped, so the text does not depend on mypy's version); ``# E: code``
(or ``# E: code, code``) -- mypy must report exactly those error codes there. Any other
note or error, or an expected one missing, fails with the list of differences.

``make lint`` runs this file as a script (``python tests/typing/test_typing.py``: it fails
when mypy is missing there); under pytest the test skips without mypy (the ``test`` extra
has none).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "user_program.py"
SRC = HERE.parent.parent / "src"

_COMMENT = re.compile(r"\S  # ([RE]): (.+?)\s*$")  # an inline comment after code
_REPORT = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<kind>note|error): (?P<text>.*)$")
_REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
_CODE = re.compile(r"\s+\[(?P<code>[a-z0-9-]+)\]$")


def _normalise(type_text: str) -> str:
    """mypy's type text, spelt the same by every mypy since 1.11: no ``builtins.`` prefix,
    ``X | Y`` for ``Union[X, Y]`` and ``X | None`` for ``Optional[X]`` (mypy 2 writes those)."""
    text = type_text.replace("builtins.", "")
    while (match := re.search(r"\b(Union|Optional)\[", text)) is not None:
        depth, parts, start = 0, [], match.end()
        for index in range(match.end(), len(text)):
            char = text[index]
            if char in "[(":
                depth += 1
            elif char in "])" and depth:
                depth -= 1
            elif char == "]":
                parts.append(text[start:index].strip())
                break
            elif char == "," and not depth:
                parts.append(text[start:index].strip())
                start = index + 1
        else:
            return text  # unbalanced: leave it (the comparison then shows it)
        if match[1] == "Optional":
            parts.append("None")
        text = text[: match.start()] + " | ".join(parts) + text[index + 1 :]
    return text


def expected() -> set[tuple[int, str, str]]:
    """``(line, "R" or "E", text)`` for every expectation comment in the program."""
    found = set()
    for number, line in enumerate(PROGRAM.read_text().splitlines(), 1):
        match = _COMMENT.search(line)
        if match is None:
            continue
        kind, text = match.groups()
        if kind == "R":
            found.add((number, "R", _normalise(text)))
        else:
            found.update((number, "E", code.strip()) for code in text.split(","))
    return found


def reported(mypy_output: str) -> set[tuple[int, str, str]]:
    """The same triples from mypy's report (lines about other files are kept, as errors)."""
    found = set()
    for line in mypy_output.splitlines():
        match = _REPORT.match(line)
        if match is None:
            continue
        number, kind, text = int(match["line"]), match["kind"], match["text"]
        if Path(match["path"]).name != PROGRAM.name:
            found.add((0, "E", line))  # the library itself failed to check: always a diff
        elif kind == "note":
            revealed = _REVEALED.match(text)
            if revealed is not None:
                found.add((number, "R", _normalise(revealed["type"])))
            # other notes explain an error on the same line: the error is what counts
        else:
            code = _CODE.search(text)
            found.add((number, "E", code["code"] if code else text))
    return found


def run_mypy() -> str:
    """mypy --strict on the program, against this checkout's ``src`` (no cache, no network)."""
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--cache-dir",
        "/dev/null",
        "--show-error-codes",
        "--no-error-summary",
        "--hide-error-context",
        "--no-pretty",
        "--python-version",
        "3.10",
        str(PROGRAM),
    ]
    env = {"MYPYPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=HERE, env=env, timeout=600
    )
    if done.returncode not in (0, 1) or "Revealed type" not in done.stdout:
        raise RuntimeError(
            f"mypy did not run (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def differences(mypy_output: str) -> list[str]:
    """What mypy reported and the comments did not expect, and the reverse."""
    want, got = expected(), reported(mypy_output)
    lines = [f"line {n}: expected {k}: {t!r}, mypy did not report it" for n, k, t in want - got]
    lines += [f"line {n}: mypy reported {k}: {t!r}, not expected" for n, k, t in got - want]
    return sorted(lines, key=lambda text: int(text.split(":")[0].split()[1]))


def test_user_program_types_as_written() -> None:
    import pytest

    pytest.importorskip("mypy", reason="mypy is in the dev extra (make lint runs this check)")
    problems = differences(run_mypy())
    assert not problems, "mypy's view of the public API changed:\n" + "\n".join(problems)


def test_the_comparison_catches_a_wrong_and_a_missing_expectation() -> None:
    """The checker itself: a revealed type other than the comment's, an unexpected error
    and an expected error mypy did not report are each a difference (a negative control,
    without running mypy)."""
    want = expected()
    line, _, text = min(item for item in want if item[1] == "R")
    fake = [f'{PROGRAM}:{n}: note: Revealed type is "{t}"' for n, k, t in want if k == "R"]
    fake += [f"{PROGRAM}:{n}: error: message  [{t}]" for n, k, t in want if k == "E"]
    assert differences("\n".join(fake)) == []
    fake[0] = f'{PROGRAM}:{line}: note: Revealed type is "Any"'
    fake.append(f"{PROGRAM}:1: error: Something  [misc]")
    first_error = next(i for i, item in enumerate(fake) if ": error:" in item)
    dropped = fake.pop(first_error)
    found = differences("\n".join(fake))
    assert len(found) == 4, found  # R expected and not seen, R 'Any' seen, misc, the drop
    assert any(dropped.split(":")[1] in item and "did not report" in item for item in found)
    assert any(f"line {line}: mypy reported R: 'Any'" in item for item in found), text


def main() -> int:
    problems = differences(run_mypy())
    for problem in problems:
        print(f"{PROGRAM.name}: {problem}", file=sys.stderr)
    if problems:
        print(f"typing check: {len(problems)} difference(s) from the comments", file=sys.stderr)
        return 1
    print(f"typing check: {PROGRAM.name}: all {len(expected())} expectations hold (mypy --strict)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
