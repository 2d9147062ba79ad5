"""The KnowledgeBase on Redis across processes: P processes x T threads on one namespace of
a real redis-server, with explicit and automatic ids (some retried), merges into shared
keys and a ``since={}`` subscriber in every process; and the same with the server killed
(``SIGKILL``) and restarted in the middle, with append-only persistence.

Checked at the end: every process saw every event exactly once, in seq order per topic
and version order per key; seqs are gap-free; no id is duplicated; every acknowledged add
is stored; merged totals are exact. Plus the backend's own edges: namespaces, connect
errors, what is refused before anything is written.

Each check has its control: the same checks catch a backend whose appends are retried
without their token (a duplicate) and a subscriber fed twice.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest

import _kb_procs
import _redis
from atomics import Conflict, KnowledgeBase, ShutDown, StorageUnavailable

PROCESSES, THREADS, ADDS, MERGES = 4, 4, 24, 8


def run_swarm(
    url: str, namespace: str, sizes: tuple[int, int, int, int], fault: Any = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Start the worker processes, let them go together, call ``fault()`` once every
    process is halfway (if given); return their two reports each."""
    context = multiprocessing.get_context("spawn")
    processes = sizes[0]
    start = context.Barrier(processes + 1)  # every worker subscribed, then all go
    halfway = [context.Event() for _ in range(processes)]
    results = context.Queue()
    pool = [
        context.Process(
            target=_kb_procs.worker,
            args=(url, namespace, p, sizes, start, halfway[p], results),
            daemon=True,
        )
        for p in range(processes)
    ]
    for process in pool:
        process.start()
    try:
        start.wait(120)
        if fault is not None:  # as soon as one worker is halfway: the others write on
            assert halfway[0].wait(120), "the first worker never got halfway"
            fault()
        first: list[dict[str, Any]] = []
        second: list[dict[str, Any]] = []
        for _ in range(2 * processes):
            report = results.get(timeout=240)
            assert report.get("error") is None, report
            (first if "acked" in report else second).append(report)
            if len(first) + len(second) == 2 * processes:
                break
        for process in pool:
            process.join(60)
        return first, second
    finally:
        for process in pool:
            if process.is_alive():
                process.kill()


def problems(
    kb: KnowledgeBase, sizes: tuple[int, int, int, int], first: Any, second: Any
) -> list[str]:
    """What is wrong in the stored state and the reports (empty: nothing)."""
    processes, threads, adds, merges = sizes
    found: list[str] = []
    for report in first:
        found.extend(report["errors"])
    stored = kb.insights()
    ids = Counter(i.id for i in stored)
    found += [f"id {i} stored {n} times" for i, n in ids.items() if n > 1]
    by_topic: dict[str, list[int]] = {}
    for insight in stored:
        by_topic.setdefault(insight.topic, []).append(insight.seq)
    for topic, seqs in by_topic.items():
        if seqs != list(range(len(seqs))):
            found.append(f"topic {topic}: seqs not gap-free")
    if len(stored) != processes * threads * adds:
        found.append(f"{len(stored)} insights stored, {processes * threads * adds} added")
    acked = {tuple(a) for report in first for a in report["acked"]}
    have = {(i.topic, i.seq, i.id) for i in stored}
    if acked - have:
        found.append(f"acknowledged but not stored: {sorted(acked - have)[:5]}")
    merged = processes * threads * merges
    total, seen, log = (kb.world.get(k) for k in _kb_procs.KEYS)
    if total is None or total.value != merged or total.version != merged:
        found.append(f"total: {total}, expected {merged}")
    if seen is None or len(seen.value) != merged or seen.version != merged:
        found.append(f"seen: {None if seen is None else len(seen.value)} of {merged}")
    if log is None or len(log.value) != merged or log.version != merged:
        found.append(f"log: {None if log is None else len(log.value)} of {merged}")
    want_events = sorted(have)
    for report in second:
        got = report["insights"]
        if sorted(map(tuple, got)) != want_events:
            found.append(f"process {report['process']}: {len(got)} insight events, not each once")
        for topic in by_topic:
            seqs = [seq for t, seq, _ in got if t == topic]
            if seqs != sorted(seqs):
                found.append(f"process {report['process']}: topic {topic} out of order")
        for key in _kb_procs.KEYS:
            versions = [v for k, v in report["changes"] if k == key]
            if versions != list(range(1, merged + 1)):
                found.append(f"process {report['process']}: key {key} events not 1..{merged}")
        if report["lags"]:
            found.append(f"process {report['process']}: {report['lags']} Lag markers")
    return found


def test_processes_share_one_knowledge_base_exactly() -> None:
    url, namespace = _redis.url(), _redis.namespace("swarm")
    sizes = (PROCESSES, THREADS, ADDS, MERGES)
    first, second = run_swarm(url, namespace, sizes)
    with KnowledgeBase.connect(url, namespace=namespace) as kb:
        assert problems(kb, sizes, first, second) == []


def test_a_server_killed_and_restarted_midway_loses_and_duplicates_nothing() -> None:
    _redis.url()  # (skips, or fails in CI, without a server binary or the client)
    from atomics.kb.storage.local_redis import LocalRedis

    server = LocalRedis(appendonly=True).start()
    sizes = (2, 2, 80, 20)
    stored_at_restart: list[int] = []

    def crash() -> None:
        server.kill()  # SIGKILL: no shutdown, only what appendfsync always wrote
        server.start()
        with KnowledgeBase.connect(server.url, namespace="fault") as kb:
            stored_at_restart.append(kb.entry_count)

    try:
        first, second = run_swarm(server.url, "fault", sizes, fault=crash)
        total = sizes[0] * sizes[1] * sizes[2]
        # in the middle: some adds were stored before the crash, others after the restart
        assert 0 < stored_at_restart[0] < total, (stored_at_restart, total)
        with KnowledgeBase.connect(server.url, namespace="fault") as kb:
            assert problems(kb, sizes, first, second) == []
    finally:
        server.stop()


def test_the_checks_catch_what_they_exist_for() -> None:
    """The control of the two tests above: the same checks, given a swarm's reports with
    an event delivered twice, one missing, one out of order, a merge lost, fail."""
    url, namespace = _redis.url(), _redis.namespace("control")
    sizes = (2, 2, 6, 3)
    first, second = run_swarm(url, namespace, sizes)
    with KnowledgeBase.connect(url, namespace=namespace) as kb:
        assert problems(kb, sizes, first, second) == []
        twice = [dict(second[0], insights=[*second[0]["insights"], second[0]["insights"][0]])]
        missing = [dict(second[0], insights=second[0]["insights"][1:])]
        swapped = list(second[0]["changes"])
        swapped[0], swapped[-1] = swapped[-1], swapped[0]
        out_of_order = [dict(second[0], changes=swapped)]
        unstored = [dict(first[0], acked=[*first[0]["acked"], ("t0", 999, "never")])]
        for bad_first, bad_second in [
            (first, twice),
            (first, missing),
            (first, out_of_order),
            (unstored, second),
        ]:
            assert problems(kb, sizes, bad_first, bad_second) != []
        kb.world.register_reducer("total", "sum")
        kb.world.merge("total", 1, agent_id="extra")
        assert problems(kb, sizes, first, second) != []


# --- a lost reply, connection faults -------------------------------------------------------------
class LostReply:
    """Makes a storage lose the reply of its next write: the server runs the script, then
    the client sees a ConnectionError (as when the connection drops after the request)."""

    def __init__(self, storage: Any, honour_retry: bool = True) -> None:
        import redis

        self.armed = False
        original = storage._script

        def script(name: str, args: list[Any]) -> Any:
            if not honour_retry and name in ("APPEND", "MERGE", "PUT_IF"):  # a retry as new
                at = next(i for i, a in enumerate(args) if str(a).startswith(storage._client))
                args = [*args[: at + 1], "0", *args[at + 2 :]]
            reply = original(name, args)
            if self.armed and name in ("APPEND", "MERGE", "PUT_IF"):
                self.armed = False
                raise redis.exceptions.ConnectionError("the reply was lost")
            return reply

        storage._script = script


def lost_reply_outcome(honour_retry: bool) -> tuple[int, Any, Any]:
    from atomics.kb.storage.redis_storage import RedisStorage

    storage = RedisStorage(_redis.url(), namespace=_redis.namespace("lost"))
    lose = LostReply(storage, honour_retry)
    try:
        lose.armed = True
        storage.append_one("t", "a", "once", None, 0.0)
        lose.armed = True
        storage.merge("n", 1, "sum", "a", 0.0)
        lose.armed = True
        try:
            storage.put_if("k", "v", "a", None, 0.0)  # a retry would find the key: Conflict
        except Conflict as conflict:
            return storage.count(), storage.get("n"), conflict
        return storage.count(), storage.get("n"), storage.get("k")
    finally:
        storage.close()


def test_a_write_whose_reply_was_lost_is_retried_safely() -> None:
    count, n, k = lost_reply_outcome(honour_retry=True)
    assert count == 1  # one insight, not two
    assert n is not None and (n.value, n.version) == (1, 1)  # merged once
    assert k is not None and k.version == 1  # and no Conflict with itself


def test_control_a_retry_without_its_token_applies_twice() -> None:
    count, n, k = lost_reply_outcome(honour_retry=False)
    assert count == 2  # the insight twice
    assert n is not None and (n.value, n.version) == (2, 2)  # merged twice
    assert isinstance(k, Conflict)  # the put_if retried as new found its own first write


def test_an_unreachable_server_is_a_clear_error_in_bounded_time() -> None:
    from atomics.kb.storage.redis_storage import StorageUnavailable

    began = time.monotonic()
    with pytest.raises(StorageUnavailable) as caught:
        KnowledgeBase.connect(
            "redis://agent:s3cret@127.0.0.1:1/0",
            namespace="x",
            connect_timeout=0.5,
            retry_timeout=1.0,
        )
    assert time.monotonic() - began < 10
    message = str(caught.value)
    assert "127.0.0.1:1" in message and "s3cret" not in message and "***" in message
    assert isinstance(caught.value, ConnectionError)


def test_a_server_gone_mid_run_is_a_clear_error_in_bounded_time() -> None:
    _redis.url()
    from atomics.kb.storage.local_redis import LocalRedis
    from atomics.kb.storage.redis_storage import StorageUnavailable

    server = LocalRedis().start()
    try:
        kb = KnowledgeBase.connect(server.url, namespace="gone", retry_timeout=1.0)
        kb.add_insight("a", 1)
        server.stop()
        began = time.monotonic()
        with pytest.raises(StorageUnavailable, match=r"127\.0\.0\.1"):
            kb.add_insight("a", 2)
        with pytest.raises(StorageUnavailable):
            kb.insights()
        assert time.monotonic() - began < 20
        kb.close()
    finally:
        server.stop()


def test_rediss_urls_reach_the_client_as_tls() -> None:
    from atomics.kb.storage.redis_storage import StorageUnavailable

    plain = _redis.url()
    with pytest.raises(StorageUnavailable, match="rediss://"):  # a plain server: TLS fails
        KnowledgeBase.connect(
            plain.replace("redis://", "rediss://"),
            namespace="tls",
            connect_timeout=1.0,
            retry_timeout=1.0,
        )


# --- namespaces, values, the client -------------------------------------------------------------
def test_namespaces_are_apart_and_drop_removes_one_completely() -> None:
    import redis

    url = _redis.url()
    one, two = _redis.namespace("one"), _redis.namespace("two")
    with (
        KnowledgeBase.connect(url, namespace=one) as a,
        KnowledgeBase.connect(url, namespace=two) as b,
    ):
        a.add_insight("x", "a's", topic="t", insight_id="same-id")
        a.world.put("k", 1, agent_id="x")
        sub = a.subscribe(since={})
        b.add_insight("x", "b's", topic="t", insight_id="same-id")
        b.world.put("k", 2, agent_id="x")
        assert [i.content for i in a.insights()] == ["a's"]
        assert [i.content for i in b.insights()] == ["b's"]
        assert a.world.get("k").value == 1 and b.world.get("k").value == 2  # type: ignore[union-attr]
        assert sub.get(timeout=10).content == "a's"
        a._storage.drop()  # type: ignore[attr-defined]
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        assert list(client.scan_iter(match="{" + one + "}:*")) == []
        assert list(client.scan_iter(match="{" + two + "}:*")) != []
    finally:
        client.close()


def test_content_json_cannot_hold_is_refused_before_anything_is_written() -> None:
    with KnowledgeBase.connect(_redis.url(), namespace=_redis.namespace("json")) as kb:
        for bad in [{1, 2}, (1, 2), {1: "x"}, float("nan"), object()]:
            with pytest.raises(TypeError):
                kb.add_insight("a", bad)
            with pytest.raises(TypeError):
                kb.world.put("k", bad, agent_id="a")
        assert kb.entry_count == 0 and kb.world.get("k") is None and kb.topics() == []


def test_a_namespace_keeps_the_retention_it_was_made_with() -> None:
    url, namespace = _redis.url(), _redis.namespace("retain")
    with KnowledgeBase.connect(url, namespace=namespace, retain_per_topic=5):
        pass
    with pytest.raises(ValueError, match="retain_per_topic"):
        KnowledgeBase.connect(url, namespace=namespace)


@pytest.mark.parametrize("namespace", ["", "a b", "x{y}", "*", 5])
def test_a_bad_namespace_is_refused(namespace: Any) -> None:
    with pytest.raises(ValueError, match="namespace"):
        KnowledgeBase.connect("redis://127.0.0.1:1/0", namespace=namespace)


def test_without_the_client_the_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "from atomics import KnowledgeBase\n"
        "try:\n"
        "    KnowledgeBase.connect('redis://127.0.0.1:1/0', namespace='x')\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "pip install 'ft-atomics[redis]'" in out


def test_keys_and_topics_beyond_ascii_sort_and_scan_as_in_memory() -> None:
    names = ["é/1", "é/2", "e/1", "f", "\U0001f600", "\ud800lone", "z"]
    with KnowledgeBase.connect(_redis.url(), namespace=_redis.namespace("utf")) as kb:
        for name in names:
            kb.world.put(name, name, agent_id="a")
            kb.add_insight("a", name, topic=name)
        assert list(kb.world.snapshot()) == sorted(names)
        assert list(kb.world.snapshot("é/")) == ["é/1", "é/2"]
        assert list(kb.world.snapshot("\U0001f600")) == ["\U0001f600"]
        assert kb.topics() == sorted(names)
        assert [i.content for i in kb.insights("\ud800lone")] == ["\ud800lone"]


# --- found by trying it as a new user (each failed before its fix) ------------------------------
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_knowledge_base_used_in_a_forked_child_writes_at_once() -> None:
    # It took retry_timeout + 30 s and raised, though the write was stored: the child had
    # the parent's feed thread (not running there) and its writer ids.
    url = _redis.url()
    with KnowledgeBase.connect(url, namespace=_redis.namespace("fork"), retry_timeout=10) as kb:
        sub = kb.subscribe(since={})
        kb.add_insight("parent", 0)
        context = multiprocessing.get_context("fork")
        child = context.Process(target=_kb_procs.add_in_fork, args=(kb,))
        began = time.monotonic()
        child.start()
        child.join(60)
        # (before the fix: retry_timeout + 30 s, then an error)
        assert child.exitcode == 0 and time.monotonic() - began < 8
        got = [sub.get(timeout=10).content for _ in range(3)]
        assert got == [0, "child", "again"]


def test_a_server_that_stops_answering_is_an_error_within_the_timeouts() -> None:
    # A server that accepts but never answers (stopped, overloaded): connect took 10 s with
    # connect_timeout=1, and close() 45 s.
    _redis.url()
    from atomics.kb.storage.local_redis import LocalRedis

    server = LocalRedis().start()
    assert server.pid is not None
    try:
        kb = KnowledgeBase.connect(server.url, namespace="silent", retry_timeout=1.0)
        sub = kb.subscribe()
        os.kill(server.pid, signal.SIGSTOP)
        began = time.monotonic()
        with pytest.raises(StorageUnavailable):
            kb.add_insight("a", 1)
        kb.close()
        assert time.monotonic() - began < 8
        with pytest.raises(ShutDown):
            sub.get(timeout=1)
        began = time.monotonic()
        with pytest.raises(StorageUnavailable):
            KnowledgeBase.connect(
                server.url, namespace="silent", connect_timeout=1.0, retry_timeout=1.0
            )
        assert time.monotonic() - began < 6  # (it took 10 s with these timeouts)
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.stop()


@pytest.mark.parametrize("name", ["connect_timeout", "retry_timeout"])
def test_a_timeout_too_large_to_wait_is_a_value_error(name: str) -> None:
    # retry_timeout=1e10 was taken; then a write and close() raised OverflowError
    with pytest.raises(ValueError, match=name):
        KnowledgeBase.connect("redis://127.0.0.1:1/0", namespace="x", **{name: 1e10})


def test_reads_past_any_seq_or_count_are_empty_or_all() -> None:
    # since=2**64 and limit/n=2**64 were ResponseErrors from the server
    with KnowledgeBase.connect(_redis.url(), namespace=_redis.namespace("big")) as kb:
        kb.add_insights("a", [0, 1], topic="t")
        assert kb.insights("t", since=2**64) == [] and kb.insights(since={"t": 2**64}) == []
        assert [i.content for i in kb.insights("t", limit=2**64)] == [0, 1]
        assert [i.content for i in kb.latest("t", 2**64)] == [0, 1]


def test_a_password_in_the_query_is_not_shown_either() -> None:
    with pytest.raises(StorageUnavailable) as caught:
        KnowledgeBase.connect(
            "redis://127.0.0.1:1/0?password=s3cret",
            namespace="x",
            connect_timeout=0.5,
            retry_timeout=0.5,
        )
    assert "s3cret" not in str(caught.value) and "password=***" in str(caught.value)


def test_a_database_the_server_lacks_is_a_value_error_naming_the_url() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        KnowledgeBase.connect(_redis.url().rpartition("/")[0] + "/99", namespace="x")
