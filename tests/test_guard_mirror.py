"""The re-entry guard's flag as the hot paths read it: a module global per reading module,
bound to an immortal bool and kept equal to ``ACTIVE[0]`` by ``atomics._guard.mirror``
(docs/guarantees.md has the rule; atomics/_guard.py why a global and not ``ACTIVE[0]``)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

from atomics import _guard

READERS = (
    "atomics.atomic_boolean",
    "atomics.atomic_integer",
    "atomics.atomic_reference",
    "atomics.bounded_queue",
    "atomics.sharded_dict",
    "atomics.striped_counter",
    "atomics.kb.knowledge_base",
)


def test_every_reader_mirrors_the_flag() -> None:
    for name in READERS:
        module = importlib.import_module(name)
        assert module._GUARD_ON is _guard.ACTIVE[0], name
        assert not hasattr(module, "ACTIVE"), f"{name} reads the shared list again"


def test_a_namespace_registered_now_gets_the_current_value() -> None:
    namespace: dict[str, object] = {}
    _guard.mirror(namespace, "FLAG")
    assert namespace["FLAG"] is _guard.ACTIVE[0]


def test_activation_sets_every_mirror_before_user_code_runs() -> None:
    # A fresh interpreter: the guard starts inactive there, whatever this process ran.
    code = textwrap.dedent(
        """
        import importlib
        from atomics import _guard, ShardedDict, StripedCounter
        from atomics.errors import ReentrantCallError
        readers = READERS
        assert _guard.ACTIVE[0] is False and _guard.GUARDED is False
        for name in readers:
            assert importlib.import_module(name)._GUARD_ON is False, name
        ns = {}
        _guard.mirror(ns, "FLAG")
        seen = []
        counter = StripedCounter()

        def user(current):  # runs under a stripe lock: user code
            seen.append([importlib.import_module(n)._GUARD_ON for n in readers] + [ns["FLAG"]])
            try:
                counter.increment()
            except ReentrantCallError:
                seen.append("refused")
            return 1

        ShardedDict().compute("k", user)
        assert seen[0] == [True] * (len(readers) + 1), seen
        assert seen[1] == "refused", seen
        assert _guard.ACTIVE[0] is True and _guard.GUARDED is True
        print("ok")
        """
    ).replace("READERS", repr(READERS))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
