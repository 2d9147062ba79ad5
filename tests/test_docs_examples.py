"""Every ```python fence in README.md and docs/*.md runs here (issue 16, item 5): an example
that drifts from the code fails the suite, naming its file and line.

How the fences run (the rules for whoever writes docs; also in docs/testing.md, "The examples
in these docs are tested"):

* One pytest test per ```python fence, with the id ``FILE:LINE`` (the line of the opening
  fence, e.g. ``README.md:16``): ``pytest tests/test_docs_examples.py -k README.md:16``.
* Each fence runs ALONE, in a fresh namespace, in a fresh temporary working directory: an
  example must be complete (its imports, and any stand-in class it uses) so that a reader can
  copy it as it stands. Nothing of the docs needs an earlier fence's names.
* A fence whose first non-blank line starts with ``>>> `` is a doctest: the output shown is
  compared (``ELLIPSIS`` on). Any other python fence is executed with ``exec``; then every
  top-level function it defines whose name starts with ``test_`` and that takes no argument
  (a Hypothesis ``@given`` test, for one) is called, as pytest would -- a Hypothesis test
  with at most ``HYPOTHESIS_EXAMPLES`` examples, whatever its settings say.
* A fence must finish within ``FENCE_TIMEOUT`` seconds (pytest-timeout): no example may hang.
* Fences in other languages (```sh, ```text, a bare ```) are not executed.
* A python fence that cannot run here (it needs a Redis server, takes long, or is an excerpt
  or pseudo-code) carries a marker on the line right before its opening fence::

      <!-- docs-test: skip (needs a Redis server on localhost:6379) -->

  The reason in parentheses is mandatory; the fence is reported as skipped with it, so
  ``pytest -rs`` lists every skipped example.
* A fence that needs a Redis server is marked ``<!-- docs-test: redis (why) -->`` instead:
  it runs against the test session's own local server (tests/_redis.py), which stands in
  for ``redis://localhost:6379/0`` in its code; every KnowledgeBase it leaves open is
  closed after it. Without a ``redis-server`` (or the ``redis`` client) it is skipped,
  saying why -- in CI it fails, as every Redis test does.
* ``skip`` and ``redis`` are the only directives. A marker with another directive or
  without a reason, a marker not directly followed by a python fence, and an unclosed
  fence are errors (test_marker_errors).
"""

from __future__ import annotations

import doctest
import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE_TIMEOUT = 120  # seconds per fence; the slowest (a Hypothesis test) takes a few
HYPOTHESIS_EXAMPLES = 5  # per Hypothesis test a fence defines (see _fewer_examples)
DIRECTIVES = frozenset({"skip", "redis"})
REDIS_URL = "redis://localhost:6379/0"  # in a redis fence: the session server's URL instead

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\s`]*)")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:(?P<body>.*?)-->\s*$")
_BODY = re.compile(r"^\s*(?P<directive>[\w-]+)\s*(?:\((?P<reason>.*)\))?\s*$")


class MarkerError(ValueError):
    """A malformed docs-test marker or fence, with its file and line."""


@dataclass(frozen=True)
class Fence:
    """A ```python fence: where it opens, its code (dedented), and its marker if any:
    ``skip`` the reason it is skipped, ``redis`` whether it runs against a Redis server."""

    path: str
    line: int
    code: str
    skip: str | None
    redis: bool = False

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


def parse(text: str, path: str) -> list[Fence]:
    """The python fences of a Markdown text; raises MarkerError for a bad marker or fence."""
    lines = text.splitlines()
    fences: list[Fence] = []
    pending: tuple[int, str, str] | None = None  # a marker waiting: (line, directive, reason)
    i = 0
    while i < len(lines):
        number = i + 1
        marker = _MARKER.match(lines[i])
        if marker is None and lines[i].lstrip().startswith("<!--") and "docs-test" in lines[i]:
            raise MarkerError(f"{path}:{number}: malformed docs-test marker: {lines[i]!r}")
        if pending is not None and (marker is not None or not _OPEN.match(lines[i])):
            raise MarkerError(
                f"{path}:{pending[0]}: a docs-test marker must be on the line right before "
                "a ```python fence"
            )
        if marker is not None:
            body = _BODY.match(marker.group("body"))
            if body is None or body.group("directive") not in DIRECTIVES:
                raise MarkerError(
                    f"{path}:{number}: unknown docs-test marker {marker.group('body').strip()!r}"
                    f" (known: {', '.join(sorted(DIRECTIVES))})"
                )
            reason = (body.group("reason") or "").strip()
            if not reason:
                raise MarkerError(
                    f"{path}:{number}: docs-test marker without a reason: write "
                    f"'<!-- docs-test: {body.group('directive')} (why) -->'"
                )
            pending = (number, body.group("directive"), reason)
            i += 1
            continue
        opening = _OPEN.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening.group("fence"), opening.group("indent")
        end = i + 1
        while end < len(lines) and not re.match(
            rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[end]
        ):
            end += 1
        if end == len(lines):
            raise MarkerError(f"{path}:{number}: fence never closed")
        language = opening.group("info").lower()
        if language in ("python", "py", "python3", "pycon"):
            body_lines = [line[len(indent) :] if line.startswith(indent) else line
                          for line in lines[i + 1 : end]]  # fmt: skip
            code = textwrap.dedent("\n".join(body_lines)) + "\n"
            directive = pending[1] if pending else None
            skip = pending[2] if pending and directive == "skip" else None
            fences.append(Fence(path, number, code, skip, redis=directive == "redis"))
        elif pending is not None:
            raise MarkerError(
                f"{path}:{pending[0]}: a docs-test marker on a ```{language} fence "
                "(only python fences run)"
            )
        pending = None
        i = end + 1
    if pending is not None:
        raise MarkerError(f"{path}:{pending[0]}: a docs-test marker not followed by a fence")
    return fences


def doc_files() -> list[Path]:
    """README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def all_fences() -> list[Fence]:
    fences: list[Fence] = []
    for file in doc_files():
        fences += parse(file.read_text(encoding="utf-8"), str(file.relative_to(ROOT)))
    return fences


def run_fence(fence: Fence) -> dict[str, Any]:
    """Run one fence (doctest or exec, then its test_* functions); AssertionError on failure.
    Returns the namespace it ran in."""
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    if fence.code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(
            fence.code, namespace, fence.id, fence.path, fence.line
        )
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        report: list[str] = []
        result = runner.run(test, out=report.append, clear_globs=False)
        assert result.failed == 0, f"{fence.id}: doctest failed\n" + "".join(report)
        return namespace
    # the fence's lines keep their numbers in a traceback (the code starts on line + 1)
    code = compile("\n" * fence.line + fence.code, fence.path, "exec")
    exec(code, namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value) and _takes_no_argument(value):
            _fewer_examples(value)
            value()
    return namespace


def _fewer_examples(test: Any) -> None:
    """A Hypothesis test from the docs runs HYPOTHESIS_EXAMPLES examples: this test checks
    that the example works as written, not the object it stresses (its own tests do that)."""
    current = getattr(test, "_hypothesis_internal_use_settings", None)
    if current is not None:
        from hypothesis import settings

        test._hypothesis_internal_use_settings = settings(
            current, max_examples=min(current.max_examples, HYPOTHESIS_EXAMPLES)
        )


def _takes_no_argument(function: Any) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in parameters)  # fmt: skip


FENCES = all_fences()


def test_the_docs_have_python_fences() -> None:
    """The collection itself works: the docs' fences are found, most of them run."""
    assert len(FENCES) >= 10, [f.id for f in FENCES]
    assert sum(f.skip is None for f in FENCES) > sum(f.skip is not None for f in FENCES)


@pytest.mark.timeout(FENCE_TIMEOUT)
@pytest.mark.parametrize("fence", FENCES, ids=[f.id for f in FENCES])
def test_fence(fence: Fence, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if fence.skip is not None:
        pytest.skip(f"{fence.id}: {fence.skip}")
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    if fence.redis:
        run_redis_fence(fence)
    else:
        run_fence(fence)


def run_redis_fence(fence: Fence) -> None:
    """Run a ``redis`` fence against the session's server (skipped without one)."""
    import _redis
    from atomics import KnowledgeBase

    assert REDIS_URL in fence.code, f"{fence.id}: a redis fence names {REDIS_URL}"
    local = Fence(fence.path, fence.line, fence.code.replace(REDIS_URL, _redis.url()), None)
    namespace = run_fence(local)
    for value in namespace.values():
        if isinstance(value, KnowledgeBase):
            value.close()


# -- the parser and the runner themselves ---------------------------------------------------

GOOD = """\
# Title

```python
x = 1
```

<!-- docs-test: skip (needs a Redis server) -->
```python
connect()
```

<!-- docs-test: redis (a Redis server) -->
```python
connect()
```

```sh
make test
```

- a list item:

  ```python
  if True:
      y = 2
  ```
"""


def test_parse_finds_python_fences_with_lines_and_reasons() -> None:
    fences = parse(GOOD, "X.md")
    assert [(f.id, f.skip, f.redis) for f in fences] == [
        ("X.md:3", None, False),
        ("X.md:8", "needs a Redis server", False),
        ("X.md:13", None, True),
        ("X.md:23", None, False),
    ]
    assert fences[0].code == "x = 1\n"
    assert fences[3].code == "if True:\n    y = 2\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- docs-test: skip -->\n```python\nx\n```\n", "without a reason"),
        ("<!-- docs-test: skip () -->\n```python\nx\n```\n", "without a reason"),
        ("<!-- docs-test: redis -->\n```python\nx\n```\n", "without a reason"),
        ("<!-- docs-test: skipp (typo) -->\n```python\nx\n```\n", "unknown docs-test marker"),
        ("<!-- docs-test: run (why) -->\n```python\nx\n```\n", "unknown docs-test marker"),
        ("<!-- docs-test skip (no colon) -->\n```python\nx\n```\n", "malformed"),
        ("<!-- docs-test: skip (why) -->\n\n```python\nx\n```\n", "right before"),
        ("<!-- docs-test: skip (why) -->\ntext\n", "right before"),
        ("text\n<!-- docs-test: skip (why) -->\n", "not followed by a fence"),
        ("<!-- docs-test: skip (why) -->\n```sh\nmake\n```\n", "python fences run"),
        (
            "<!-- docs-test: skip (a) -->\n<!-- docs-test: skip (b) -->\n```python\nx\n```\n",
            "right before",
        ),
        ("```python\nx = 1\n", "never closed"),
    ],
)
def test_marker_errors(text: str, message: str) -> None:
    with pytest.raises(MarkerError, match=message) as raised:
        parse(text, "X.md")
    assert "X.md:" in str(raised.value)


def test_run_fence_reports_a_failing_example_with_its_line() -> None:
    fence = parse("intro\n\n```python\nx = 1\nassert x == 2\n```\n", "X.md")[0]
    with pytest.raises(AssertionError) as raised:
        run_fence(fence)
    frames = [(entry.path, entry.lineno + 1) for entry in raised.traceback]
    assert ("X.md", 5) in [(str(path), line) for path, line in frames]


def test_run_fence_checks_doctest_output() -> None:
    good, bad = parse("```python\n>>> 1 + 1\n2\n```\n```python\n>>> 1 + 1\n3\n```\n", "X.md")
    run_fence(good)
    with pytest.raises(AssertionError, match=r"X\.md:5: doctest failed"):
        run_fence(bad)


def test_run_fence_calls_the_test_functions_it_defines() -> None:
    fence = parse(
        "```python\ndef helper(x): raise AssertionError\n"
        "def test_it(): raise AssertionError('called')\n```\n",
        "X.md",
    )[0]
    with pytest.raises(AssertionError, match="called"):
        run_fence(fence)


# -- each class's guarantees on the class itself --------------------------------------------


def _stateful_public_classes() -> list[type]:
    """The public classes (``__all__`` of atomics, atomics.kb, atomics.kb.storage and
    atomics.testing) that have behaviour under threads: not exceptions, not immutable
    records (tuples, frozen dataclasses)."""
    import dataclasses
    import importlib

    found: dict[str, type] = {}
    for name in ("atomics", "atomics.kb", "atomics.kb.storage", "atomics.testing"):
        module = importlib.import_module(name)
        for attribute in module.__all__:
            value = getattr(module, attribute, None)
            if not inspect.isclass(value) or issubclass(value, (BaseException, tuple)):
                continue
            params = getattr(value, "__dataclass_params__", None)
            if dataclasses.is_dataclass(value) and params is not None and params.frozen:
                continue
            found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[key] for key in sorted(found)]


@pytest.mark.parametrize("cls", _stateful_public_classes(), ids=lambda c: c.__qualname__)
def test_class_docstring_states_its_guarantees(cls: type) -> None:
    """What help(cls) and the API reference show: a Guarantees section on the class itself
    (issue 16: class docs pointed to "the module's Guarantees", which a reader of the class
    never sees)."""
    doc = cls.__doc__ or ""
    assert re.search(r"^\s*Guarantees\n\s*-{10}\n", doc, re.MULTILINE), (
        f"{cls.__module__}.{cls.__qualname__}: no 'Guarantees' section in the class docstring"
    )
    assert "module's Guarantees" not in doc and "see the module docstring" not in doc.lower()


# -- a docstring for every public name (what the API reference, make docs, shows) -----------


def _public_modules() -> list[str]:
    """atomics and every submodule without an underscore in its name (as make docs), but the
    stress suites (atomics.testing.suites: test modules run by ``python -m atomics stress``,
    not an API: docs/stability.md)."""
    import pkgutil

    import atomics

    walked = pkgutil.walk_packages(atomics.__path__, "atomics.")
    suites = "atomics.testing.suites"
    names = (m.name for m in walked if "._" not in m.name)
    return ["atomics", *(n for n in names if n != suites and not n.startswith(suites + "."))]


def _undocumented() -> list[str]:
    """Public functions, classes and (non-dunder) methods/properties without a docstring."""
    import importlib

    missing: list[str] = []
    for name in _public_modules():
        module = importlib.import_module(name)
        if not (module.__doc__ or "").strip():
            missing.append(name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n[0] != "_"]
        for attribute in names:
            value = getattr(module, attribute, None)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if getattr(value, "__module__", None) != name:
                continue  # documented where it is defined
            if not (inspect.getdoc(value) or "").strip():
                missing.append(f"{name}.{attribute}")
            if inspect.isclass(value):
                for member, raw in vars(value).items():
                    if member.startswith("_") or not (
                        inspect.isfunction(raw) or isinstance(raw, (property, classmethod))
                    ):
                        continue
                    if not (inspect.getdoc(getattr(value, member)) or "").strip():
                        missing.append(f"{name}.{attribute}.{member}")
    return missing


def test_every_public_name_has_a_docstring() -> None:
    missing = _undocumented()
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)
