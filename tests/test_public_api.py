"""The public API of docs/stability.md, pinned: every name listed there imports, one version
everywhere, the deprecated names still work (and warn), and README links work off-repository.

PUBLIC_API is the list as of the newest release. Removing a name from a module fails
``test_public_name``; adding one to an ``__all__`` fails ``test_all_is_listed`` until it is
added here (and to CHANGELOG.md under Added): the list is kept on purpose, not copied.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# docs/stability.md, "What is public", 1.: module -> its __all__ as of 0.2.0
PUBLIC_API: dict[str, tuple[str, ...]] = {
    "atomics": (
        "ANY", "DELETE", "MISSING", "AtomicBoolean", "AtomicInteger", "AtomicReference",
        "AtomicsError", "AtomicsTypeError", "AtomicsValueError", "BoundedQueue", "Conflict",
        "CounterHandle", "Cursor", "Insight", "KnowledgeBase", "KnowledgeBaseClosed", "Lag",
        "QueueLike", "ReentrantCallError", "ShardedDict", "ShutDown", "StorageUnavailable",
        "StripedCounter", "Subscription", "SubscriptionOverflow", "WorldEntry", "WorldEvent",
        "WrongThreadError", "errors", "free_threading_active", "gil_disabled_build",
        "gil_enabled", "runtime",
    ),
    "atomics.errors": (
        "AtomicsError", "AtomicsTypeError", "AtomicsValueError", "ReentrantCallError",
        "WrongThreadError",
    ),
    "atomics.runtime": (
        "RuntimeInfo", "cpu_count", "describe", "free_threading_active", "gil_disabled_build",
        "gil_enabled", "runtime_info",
    ),
    "atomics.atomic_integer": ("AtomicInteger",),
    "atomics.atomic_boolean": ("AtomicBoolean",),
    "atomics.atomic_reference": ("AtomicReference",),
    "atomics.striped_counter": ("CounterHandle", "StripedCounter"),
    "atomics.sharded_dict": (
        "DELETE", "MISSING", "DeleteType", "LockedEntry", "MissingType", "ShardedDict",
    ),
    "atomics.protocols": ("QueueLike",),
    "atomics.bounded_queue": ("BoundedQueue", "Empty", "Full", "ShutDown"),
    "atomics.contention": (
        "ENVIRONMENT_VARIABLE", "BoundedQueueStatistics", "ContentionStatistics",
        "LockStatistics", "ShardedDictStatistics", "StripedCounterStatistics",
        "tracking_default",
    ),
    "atomics.kb": (
        "ANY", "AnyType", "Conflict", "Cursor", "Insight", "KnowledgeBase", "KnowledgeBaseClosed",
        "Lag", "StorageUnavailable", "Subscription", "SubscriptionOverflow", "World",
        "WorldEntry", "WorldEvent", "reducers",
    ),
    "atomics.kb.storage": (
        "ChangeListener", "ExportRecord", "MemoryStorage", "Storage", "TopicHeader",
        "TopicState", "WorldRecord",
    ),
    "atomics.knowledge_base": (
        "ANY", "FORMAT", "FORMAT_VERSION", "MAX_JSON_DEPTH", "OVERFLOW_POLICIES", "Conflict",
        "Cursor", "Insight", "KnowledgeBase", "KnowledgeBaseClosed", "Lag", "Subscription",
        "SubscriptionOverflow", "World", "WorldEntry", "WorldEvent", "reducers",
    ),
    "atomics.kb_storage": (
        "ChangeListener", "Draft", "Insight", "MemoryStorage", "NewInsight", "Storage",
        "TopicLog", "TopicState", "WorldEntry", "has_explicit_id",
    ),
    "atomics.testing": (
        "SETTINGS", "Call", "HarnessError", "HarnessTimeout", "LinearizabilityError", "Scenario",
        "WorkerPool", "WouldBlock", "assert_linearizable", "bulk_stress", "check_scenario",
        "find_violation", "fixed_scenario", "mpmc_stress", "scenarios", "watching",
    ),
    "atomics.testing.bulk": (
        "CONTROL_SECONDS", "BulkResult", "bulk_stress", "overlap_fraction", "rounds",
    ),
    "atomics.testing.checker": (
        "CheckResult", "Transitions", "Verdict", "check_history", "model_key",
        "partition_history",
    ),
    "atomics.testing.controls": (
        "BoundedQueueModel", "CheckThenActBoundedQueue", "CheckThenActMap", "CounterModel",
        "LockedBoundedQueue", "LockedCounter", "LockedMap", "MapModel", "RacyCounter",
        "operation_tables",
    ),
    "atomics.testing.history": (
        "NEVER_NS", "PENDING", "Call", "OpRecord", "Raised", "WouldBlock", "freeze",
        "outcome_of", "would_block",
    ),
    "atomics.testing.linearizability": (
        "DEFAULT_INVOCATIONS", "LinearizabilityError", "ScenarioResult", "assert_linearizable",
        "check_scenario", "find_violation", "format_report",
    ),
    "atomics.testing.lockcheck": (
        "CheckedLock", "CheckedRLock", "Finding", "LockOrderChecker", "LockOrderError",
        "active_checker", "watching",
    ),
    "atomics.testing.queues": ("MPMCResult", "mpmc_stress"),
    "atomics.testing.runner": (
        "DEFAULT_BLOCK_GRACE", "Blocked", "HarnessError", "HarnessTimeout", "WorkerPool",
        "dump_all_stacks", "forced_switching", "resolve_blocked", "run_invocation",
        "shared_pool",
    ),
    "atomics.testing.scenario": ("Scenario", "scenarios", "small_keys", "small_values"),
    "atomics.testing.stats": ("HarnessStats", "process_totals", "recording"),
}  # fmt: skip

# CHANGELOG.md 0.2.0, Deprecated: former top-level names of atomics.testing -> their home
# (removed in 0.3.0; delete these lines then, and list them under Removed)
DEPRECATED_TESTING: dict[str, str] = {
    "CONTROL_SECONDS": "atomics.testing.bulk",
    "BulkResult": "atomics.testing.bulk",
    "overlap_fraction": "atomics.testing.bulk",
    "rounds": "atomics.testing.bulk",
    "CheckResult": "atomics.testing.checker",
    "Verdict": "atomics.testing.checker",
    "check_history": "atomics.testing.checker",
    "OpRecord": "atomics.testing.history",
    "Raised": "atomics.testing.history",
    "ScenarioResult": "atomics.testing.linearizability",
    "format_report": "atomics.testing.linearizability",
    "MPMCResult": "atomics.testing.queues",
    "forced_switching": "atomics.testing.runner",
    "small_keys": "atomics.testing.scenario",
    "small_values": "atomics.testing.scenario",
    "HarnessStats": "atomics.testing.stats",
}

PUBLIC_NAMES = [(module, name) for module, names in PUBLIC_API.items() for name in names]


def _own_docstring(obj: Any) -> str:
    """The docstring written for ``obj``, or "" (a dataclass or NamedTuple without one gets a
    generated ``Name(field, ...)`` docstring, which does not count)."""
    doc = obj.__doc__ or ""
    name = getattr(obj, "__name__", "")
    if inspect.isclass(obj) and name and doc.startswith(f"{name}("):
        return ""
    return doc.strip()


@pytest.mark.parametrize(
    ("module", "name"), PUBLIC_NAMES, ids=[f"{m}:{n}" for m, n in PUBLIC_NAMES]
)
def test_public_name(module: str, name: str) -> None:
    mod = importlib.import_module(module)
    assert name in mod.__all__, f"{module}.{name} is public (docs/stability.md) but not in __all__"
    obj = getattr(mod, name)  # AttributeError: a public name disappeared
    # a type alias (checker.Transitions = dict[...]) carries dict's docstring, and on 3.10
    # inspect.isclass() is True for it: documented where it is defined, not on the object
    is_alias = isinstance(obj, types.GenericAlias)
    if (inspect.isclass(obj) or inspect.isroutine(obj)) and not is_alias:
        assert _own_docstring(obj), f"{module}.{name} has no docstring"


@pytest.mark.parametrize("module", list(PUBLIC_API))
def test_all_is_listed(module: str) -> None:
    exported = importlib.import_module(module).__all__
    assert len(set(exported)) == len(exported), f"{module}.__all__ has duplicates"
    unlisted = sorted(set(exported) - set(PUBLIC_API[module]))
    assert not unlisted, (
        f"{module}.__all__ has names not in PUBLIC_API: {unlisted}; a new public name goes "
        "into PUBLIC_API (tests/test_public_api.py) and CHANGELOG.md (Added)"
    )


def test_version_is_single_sourced() -> None:
    import atomics

    assert re.fullmatch(r"\d+\.\d+\.\d+", atomics.__version__), atomics.__version__
    installed = importlib.metadata.version("ft-atomics")
    assert installed == atomics.__version__, (
        f"installed metadata says {installed}, atomics.__version__ {atomics.__version__}: "
        "reinstall the package (scripts/ensure-venv rebuilds a venv when pyproject changes)"
    )
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^dynamic = \["version"\]', project, re.MULTILINE), "version not dynamic"
    assert not re.search(r"^version\s*=", project, re.MULTILINE), "a second version in pyproject"
    assert '[tool.hatch.version]\npath = "src/atomics/__init__.py"' in pyproject


def test_changelog_newest_release_is_the_version() -> None:
    import atomics

    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", changelog, re.M)
    assert headings[0] == ("Unreleased", ""), "CHANGELOG.md starts with ## [Unreleased]"
    version, date = headings[1]
    assert version == atomics.__version__, f"newest CHANGELOG release {version}"
    assert date, f"the {version} heading has no date"


@pytest.mark.parametrize("name", list(DEPRECATED_TESTING))
def test_deprecated_testing_name_still_works(name: str) -> None:
    import atomics.testing

    home = DEPRECATED_TESTING[name]
    with pytest.warns(DeprecationWarning, match=re.escape(f"import it from {home}")):
        old = getattr(atomics.testing, name)
    assert old is getattr(importlib.import_module(home), name)
    assert name not in atomics.testing.__all__


def test_deprecated_homes_list_the_names() -> None:
    missing = {
        n for n, h in DEPRECATED_TESTING.items() if n not in importlib.import_module(h).__all__
    }
    assert not missing, f"the warning sends users to a module whose __all__ lacks: {missing}"


def test_deprecated_stats_totals_still_work() -> None:
    from atomics.testing import stats

    with pytest.warns(DeprecationWarning, match="recording"):
        invocations = stats.invocations
    assert isinstance(invocations, int)
    with pytest.warns(DeprecationWarning, match="recording"):
        assert isinstance(stats.overlap, float)


def test_an_unknown_testing_name_does_not_warn() -> None:
    import atomics.testing

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            atomics.testing.no_such_name  # noqa: B018


# README.md is also the package index's project page, where a relative link points nowhere.
_LINK = re.compile(
    r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)"  # [text](target), ![alt](target)
    r"|^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$"  # [label]: target
    r"|<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)",  # HTML
    re.MULTILINE | re.IGNORECASE,
)


def relative_links(markdown: str) -> list[str]:
    """The link targets in ``markdown`` (outside code) that are not absolute URLs.

    >>> relative_links("[a](docs/x.md) [b](https://example.org) `[c](d.md)`")
    ['docs/x.md']
    >>> relative_links("[a](#usage)\\n[ref]: ../y.md\\n<img src='p.png'>")
    ['#usage', '../y.md', 'p.png']
    """
    text = re.sub(r"^(```|~~~).*?^\1", "", markdown, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = ["".join(match) for match in _LINK.findall(text)]
    return [t for t in targets if not re.match(r"(https?|mailto):", t, re.IGNORECASE)]


def test_readme_links_work_on_the_package_index() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert relative_links(readme) == [], (
        "README.md is the package index page too: name repository files as `path` (they ship "
        "in the sdist) or link an absolute URL"
    )


def test_readme_names_the_project_documents() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for document in ("CHANGELOG.md", "CONTRIBUTING.md", "docs/stability.md", "LICENSE"):
        assert f"`{document}`" in readme, document
        assert (ROOT / document).is_file(), document
