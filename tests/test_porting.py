"""The porting cookbook (docs/porting.md, issue 17 item 3): each racy pattern's fix loses
nothing, and its naive code is caught losing on the free-threaded build.

Each pattern's ```python fence defines ``naive(threads=2, n=...)`` and one or more
``fixed*(threads=2, n=...)`` functions, each returning how many updates went wrong, and a
``test_fixed()`` that runs the fixes at a cheap size (tests/test_docs_examples.py runs every
fence once too). Here, per pattern:

* the fix: ``test_fixed()`` several times -- nothing lost on any build;
* the negative control: ``naive()`` repeated until it loses something, within
  ``NAIVE_BUDGET`` seconds, on a free-threaded build with the GIL off. A run in which the two
  threads happened not to overlap (a busy machine) loses nothing, hence a search within a
  budget, never a fixed count of runs. On a GIL build the search is skipped, saying why,
  except for the patterns in ``LOSES_WITH_THE_GIL``: the GIL switches threads every few
  milliseconds, so most windows are seldom hit in a run (the figures the page gives), and a
  test that waited for them would be slow or flaky.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from atomics import runtime
from test_docs_examples import ROOT, Fence, parse

PAGE = "docs/porting.md"
NAIVE_BUDGET = 25.0  # seconds of searching for the naive code's loss (usually one run)
FIX_RUNS = 3  # test_fixed() runs per pattern

# The page's patterns, by heading (a heading renamed or a pattern dropped fails here).
PATTERNS = [
    "`d[k] += 1` on a shared dict",
    "Check-then-set on a dict",
    "`if not q.full(): q.put(x)` and `if not q.empty(): q.get()`",
    "A shared list used as a queue",
    "Read-decide-write of shared state (the agent swarm)",
    "Lazy initialisation",
    "Counters read while written",  # two fences: an int attribute, two counters that add up
    "A cache filled by many threads",
]


def _pattern_fences() -> list[tuple[str, Fence]]:
    """(heading, fence) for each fence of the page that defines ``naive``, in page order."""
    text = (ROOT / PAGE).read_text(encoding="utf-8")
    headings = [
        (number, line[3:].strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.startswith("## ")
    ]
    found = []
    for fence in parse(text, PAGE):
        if "def naive(" not in fence.code:
            continue
        heading = [title for number, title in headings if number < fence.line][-1]
        found.append((heading, fence))
    return found


FENCES = _pattern_fences()
IDS = [f"{fence.id} {heading}" for heading, fence in FENCES]


def _load(fence: Fence) -> dict[str, Any]:
    """The fence's names, run as test_docs_examples runs it (line numbers kept), without
    calling its test functions."""
    namespace: dict[str, Any] = {"__name__": "__porting_example__"}
    exec(compile("\n" * fence.line + fence.code, fence.path, "exec"), namespace)
    return namespace


def test_every_pattern_has_a_tested_example() -> None:
    headings = [heading for heading, _ in FENCES]
    assert sorted(set(headings)) == sorted(PATTERNS), headings
    assert len(FENCES) == len(PATTERNS) + 1  # the counters section has two examples
    for _, fence in FENCES:
        assert fence.skip is None, f"{fence.id}: a pattern's example must run"
        names = _load(fence)
        fixes = [name for name in names if name.startswith("fixed") and callable(names[name])]
        assert callable(names.get("naive")) and fixes and callable(names.get("test_fixed"))


@pytest.mark.parametrize(("heading", "fence"), FENCES, ids=IDS)
def test_the_fix_loses_nothing(heading: str, fence: Fence) -> None:
    test_fixed: Callable[[], None] = _load(fence)["test_fixed"]
    for _ in range(FIX_RUNS):
        test_fixed()


# Patterns whose naive code loses on GIL builds too, in most runs (measured on 3.10-3.13: a
# check and an act that span a lock acquisition or a long constructor, where the GIL
# switches threads): their search runs on every build.
LOSES_WITH_THE_GIL = {
    "`if not q.full(): q.put(x)` and `if not q.empty(): q.get()`",
    "Lazy initialisation",
    "A cache filled by many threads",
}


@pytest.mark.parametrize(("heading", "fence"), FENCES, ids=IDS)
def test_the_naive_code_loses(heading: str, fence: Fence) -> None:
    if not runtime.free_threading_active() and heading not in LOSES_WITH_THE_GIL:
        pytest.skip(
            "with the GIL a thread is switched out every few ms: this naive code's window is "
            "seldom hit (in at most 1 of 10 runs on 3.11.7, docs/porting.md), so it is "
            "searched for on the free-threaded build only"
        )
    # The negative control: a search within the budget (a run on a busy machine, its threads
    # never overlapping, loses nothing; the next one usually does).
    naive: Callable[[], int] = _load(fence)["naive"]
    deadline = time.monotonic() + NAIVE_BUDGET
    runs = 0
    while True:
        lost = naive()
        runs += 1
        if lost > 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{fence.id} ({heading}): the naive code lost nothing in {runs} runs")
