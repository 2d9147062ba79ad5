"""atomics.testing's public API: the top level, the docs' API summary, deprecated aliases,
and what happens without Hypothesis."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import atomics.testing

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def render(name: str, obj: Any) -> str:
    """``name(params)`` as the docs write it: no annotations, defaults by repr, ``*``."""
    if not callable(obj) or (isinstance(obj, type) and issubclass(obj, BaseException)):
        return name
    parts: list[str] = []
    star = False
    for param in inspect.signature(obj).parameters.values():
        if param.kind is param.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if param.kind is param.VAR_POSITIONAL:
            parts.append(f"*{param.name}")
            star = True
            continue
        if param.kind is param.VAR_KEYWORD:
            parts.append(f"**{param.name}")
            continue
        default = "" if param.default is param.empty else f"={param.default!r}"
        parts.append(f"{param.name}{default}")
    return f"{name}({', '.join(parts)})"


def summary_rows() -> dict[str, str]:
    """The API summary's first-column code spans, by name (``module.name`` for submodules)."""
    text = DOCS.read_text()
    section = text[text.index("## API summary") :]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        match = re.match(r"\| `([^`]+)` \|", line)
        if match:
            span = match.group(1)
            rows[span.split("(")[0]] = span
    return rows


def resolve(dotted: str) -> Any:
    """A name of the tables: ``name`` at the top level, ``module.name``, or a submodule."""
    try:
        return importlib.import_module(f"atomics.testing.{dotted}")
    except ImportError:
        pass
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(f"atomics.testing.{module}".rstrip(".")), name)


def test_the_top_level_is_small_and_documented() -> None:
    exported = set(atomics.testing.__all__)
    assert 10 <= len(exported) <= 16
    rows = summary_rows()
    top = {name for name in rows if "." not in name and not inspect.ismodule(resolve(name))}
    assert exported == top, "docs/testing.md API summary"
    for name in exported:
        getattr(atomics.testing, name)  # every public name imports (SETTINGS needs Hypothesis)


def test_every_signature_in_the_summary_matches_the_code() -> None:
    wrong = []
    for name, span in summary_rows().items():
        obj = resolve(name)  # every name in the tables exists
        if "(" not in span:
            continue
        expected = render(name, obj)
        if span != expected:
            wrong.append(f"docs: {span}\ncode: {expected}")
    assert not wrong, "\n\n".join(wrong)


@pytest.mark.parametrize(
    ("old", "home"),
    [
        ("rounds", "atomics.testing.bulk"),
        ("CONTROL_SECONDS", "atomics.testing.bulk"),
        ("Verdict", "atomics.testing.checker"),
        ("check_history", "atomics.testing.checker"),
        ("Raised", "atomics.testing.history"),
        ("OpRecord", "atomics.testing.history"),
        ("format_report", "atomics.testing.linearizability"),
        ("forced_switching", "atomics.testing.runner"),
        ("small_keys", "atomics.testing.scenario"),
        ("HarnessStats", "atomics.testing.stats"),
    ],
)
def test_moved_names_still_work_with_a_deprecation_warning(old: str, home: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"import it from {home}"):
        value = getattr(atomics.testing, old)
    assert value is getattr(importlib.import_module(home), old)


def test_the_old_module_level_stats_still_reads_the_totals() -> None:
    from atomics.testing import stats

    with pytest.warns(DeprecationWarning, match="recording"):
        invocations = stats.invocations  # type: ignore[attr-defined]
    assert invocations == stats.process_totals().invocations


def test_a_mistyped_option_fails_before_anything_runs() -> None:
    from atomics.testing.controls import CounterModel, LockedCounter

    scenario = atomics.testing.fixed_scenario([[atomics.testing.Call("increment")]])
    with pytest.raises(TypeError, match="invocation"):
        atomics.testing.assert_linearizable(  # type: ignore[call-arg]
            scenario, LockedCounter, CounterModel, invocation=5
        )


def test_without_hypothesis_the_error_says_what_to_install() -> None:
    script = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import atomics.testing as t\n"
        "for use in (lambda: t.SETTINGS, lambda: t.scenarios({'get': None}),\n"
        "            lambda: t.find_violation({'get': None}, object, object)):\n"
        "    try:\n"
        "        use()\n"
        "    except ImportError as error:\n"
        "        print(error)\n"
        "t.bulk_stress(lambda s, t_, i: None, threads=2, operations=10)\n"  # the rest works
        "print('bulk ok')\n"
    )
    with warnings.catch_warnings():
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.splitlines()
    assert out == [
        "atomics.testing.SETTINGS needs Hypothesis: pip install 'ft-atomics[test]'",
        "atomics.testing.scenarios() needs Hypothesis: pip install 'ft-atomics[test]'",
        "atomics.testing.find_violation() needs Hypothesis: pip install 'ft-atomics[test]'",
        "bulk ok",
    ]


def test_fixed_scenario_takes_names_and_tuples_and_refuses_the_rest() -> None:
    from atomics.testing import Call, fixed_scenario

    s = fixed_scenario([["get", ("add", (1,))]], prefix=[Call("add", (2,))])
    assert s.parallel == ((Call("get"), Call("add", (1,))),) and s.prefix == (Call("add", (2,)),)
    with pytest.raises(TypeError, match=r"parallel\[0\]"):
        fixed_scenario([[("add", 1)]])  # args must be a tuple
    with pytest.raises(TypeError, match="parallel must be a list"):
        fixed_scenario("get")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "error", "match"),
    [
        ({"invocations": "5"}, TypeError, "invocations must be an int"),
        ({"invocations": 0}, ValueError, "invocations must be at least 1"),
        ({"time_budget": -1}, ValueError, "time_budget must be a positive"),
        ({"block_grace": float("nan")}, ValueError, "block_grace must be a positive"),
        ({"timeout": "soon"}, TypeError, "timeout must be a number"),
        ({"unblock": 5}, TypeError, "unblock must be a callable"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    option: dict[str, Any], error: type[Exception], match: str
) -> None:
    from atomics.testing import Call, check_scenario, fixed_scenario
    from atomics.testing.controls import CounterModel, LockedCounter

    with pytest.raises(error, match=match):
        check_scenario(fixed_scenario([[Call("increment")]]), LockedCounter, CounterModel, **option)
