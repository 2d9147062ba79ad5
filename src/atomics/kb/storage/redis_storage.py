"""The Redis storage: one knowledge base shared by processes and machines.

Its guarantees (the storage protocol's, across every client of a namespace, and what Redis
cannot give) are in the docstring of :class:`RedisStorage`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from atomics import _locks, _validate
from atomics.errors import AtomicsTypeError, AtomicsValueError
from atomics.kb.errors import Conflict, KnowledgeBaseClosed, StorageUnavailable
from atomics.kb.records import ANY, DELETED, Draft, Insight, WorldChange, WorldEntry
from atomics.kb.reducers import reducers
from atomics.kb.storage import redis_lua
from atomics.kb.storage.base import (
    NAMED_REDUCERS,
    ChangeListener,
    ExportRecord,
    TopicState,
    collect,
    paginate,
)
from atomics.kb.values import check_json
from atomics.sharded_dict import MISSING

try:
    import redis
    import redis.exceptions
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as error:  # pragma: no cover - exercised by test_redis_missing_client
    raise ImportError(
        "the Redis backend of the KnowledgeBase needs the 'redis' client: "
        "pip install 'ft-atomics[redis]'"
    ) from error

__all__ = ["RedisStorage", "StorageUnavailable", "drop_namespace", "safe_url"]

_NETWORK_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
_NAMESPACE = re.compile(r"[^{}\s*?\[\]\\]+")
# Timeouts in seconds: far past any use, and below what the waits they feed accept.
_MAX_TIMEOUT = 10.0**6
_BIG = 2**62  # a limit or count past this is "all" (Redis's integers are 64-bit)


def safe_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs).

    >>> safe_url("redis://user:secret@host:6379/0")
    'redis://user:***@host:6379/0'
    >>> safe_url("redis://[::1]:6379/0?password=secret&db=1")
    'redis://[::1]:6379/0?password=***&db=1'
    """
    parts = urlsplit(url)
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _dump(value: Any, where: str) -> str:
    """``value`` as compact JSON text (TypeError naming ``where`` if JSON cannot hold it
    exactly)."""
    check_json(value, where)
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _id_key(change_id: str) -> tuple[int, int]:
    ms, _, seq = change_id.partition("-")
    return int(ms), int(seq)


def _insight(topic: str, seq: int, insight_id: str | None, data: str) -> Insight:
    """An insight from its stored parts (see redis_lua): ``data`` is the JSON
    ``[agent_id, content, meta, timestamp]``; no ``insight_id``: the automatic one."""
    return Insight(topic, seq, insight_id or f"{topic}#{seq}", *json.loads(data))


def _entry(text: str) -> WorldEntry:
    """A world entry from its stored text (see redis_lua)."""
    version, meta, value = text.split("\n", 2)
    agent_id, timestamp = json.loads(meta)
    return WorldEntry(
        DELETED if value == "" else json.loads(value), int(version), agent_id, timestamp
    )


def _expected(expected_version: Any) -> str:
    if expected_version is ANY:
        return "*"
    if expected_version is None:
        return "-"
    return str(int(expected_version))


def _version(text: str) -> int | None:
    return int(text) if text else None


class RedisStorage:
    """A knowledge base's storage on a Redis server, under ``namespace``. Made by
    :meth:`KnowledgeBase.connect <atomics.KnowledgeBase.connect>`.

    ``url``: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` for TLS
    (passed to the ``redis`` client as given). ``retain_per_topic`` is the namespace's:
    fixed by the first client, a different value later is a ``ValueError``.
    ``connect_timeout``: seconds for each connection attempt; ``retry_timeout``: how long
    an operation keeps retrying (reconnecting) before :class:`StorageUnavailable`;
    ``reply_ttl``: how long a write's reply is kept for a retry; ``feed_maxlen``: the
    change feed's approximate length: a client whose feed thread falls further behind
    than this (stopped for that many changes) misses the trimmed changes' events -- the
    insights stay readable in their logs through a cursor.

    Guarantees
    ----------
    Every write is one server-side script (:mod:`atomics.kb.storage.redis_lua`), atomic on the
    server, so the guarantees of the storage protocol hold across every client of a namespace:

    * **log**: a topic's seq is assigned in the append's script (gap-free, totally ordered); an
      explicit id's check and the append are the same script, so a retry -- after a timeout, a
      reconnect, in another process -- returns the stored insight and appends nothing;
    * **world**: ``put_if``/``delete_if`` compare and store in one script (versions step by
      exactly 1; tombstones keep the version); a named reducer runs in the merge's script, once.
      The script computes on the JSON text where that is exact (ints below 10**15, floats,
      strings, lists, unions of ints and plain strings); any other case it hands back, and
      the client applies the Python reducer as a compare-and-set on the version it read: still
      exactly one application per merge, never lost (a conflict retries the whole merge);
    * **the change feed**: each write's script also appends the change to the namespace's
      ``changes`` stream; every client reads it with a blocking ``XREAD`` on a feed thread,
      reports each change to its listener in stream order (seq order per topic, version order
      per key), then calls ``settle``. A change is in the stream only once its state is
      stored, so an event is never delivered before it is readable;
    * **retries**: each write carries a token; the script keeps its reply for ``reply_ttl``
      seconds, so a write whose reply was lost is sent again and answered from what it did the
      first time (never applied twice). A connection error is retried for ``retry_timeout``
      seconds (reconnecting), then raised as :class:`StorageUnavailable` naming the URL (never
      its password).

    What Redis cannot give, and what holds instead: ``export()`` (and so ``snapshot()`` and
    ``save()``) reads each topic up to the tips read when it began and each world key at its
    own instant, in pages -- not one instant across every topic and key; ``count()`` is one
    instant. Durability is the server's: with ``appendonly yes`` and ``appendfsync always`` an
    acknowledged write survives a crash of the server; with ``appendfsync everysec`` (Redis's
    default) a crash can lose the writes of the last second or so -- acknowledged writes
    included -- and a retried explicit id may then be appended again.

    Values are JSON (never pickle: a shared server must not become a way to run code in every
    client); what JSON cannot hold exactly is a ``TypeError`` before anything is sent.

    Thread-safe: one client's methods may be called from any number of threads.
    """

    json_values = True

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        retain_per_topic: int | None = None,
        connect_timeout: float = 5.0,
        retry_timeout: float = 10.0,
        reply_ttl: float = 600.0,
        feed_maxlen: int = 100_000,
    ) -> None:
        if not isinstance(url, str):
            raise AtomicsTypeError(f"url must be a str, got {type(url).__name__}")
        scheme = urlsplit(url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise AtomicsValueError(
                f"url must start with redis://, rediss:// or unix://, got {safe_url(url)!r}"
            )
        if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
            raise AtomicsValueError(
                "namespace must be a non-empty str without braces, spaces, glob characters "
                f"or backslashes, got {namespace!r}"
            )
        if retain_per_topic is not None:
            _validate.count(retain_per_topic, "retain_per_topic", 1, sys.maxsize)
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("retry_timeout", retry_timeout),
            ("reply_ttl", reply_ttl),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise AtomicsTypeError(f"{name} must be a number, got {type(value).__name__}")
            if not 0 < value <= _MAX_TIMEOUT:
                raise AtomicsValueError(
                    f"{name} must be positive and at most {_MAX_TIMEOUT:.0f} s, got {value!r}"
                )
        _validate.count(feed_maxlen, "feed_maxlen", 1)
        self.url = url
        self.safe_url = safe_url(url)
        self.namespace = namespace
        self.retain_per_topic = retain_per_topic
        self.retry_timeout = float(retry_timeout)
        self._connect_timeout = float(connect_timeout)
        self._p = "{" + namespace + "}:"
        self._ttl = str(int(reply_ttl * 1000))
        self._maxlen = str(feed_maxlen)
        self._retain = "" if retain_per_topic is None else str(retain_per_topic)
        options: dict[str, Any] = {
            "decode_responses": True,
            "encoding_errors": "surrogatepass",
            "socket_connect_timeout": connect_timeout,
            # one reply may take this long (then it is retried, within retry_timeout)
            "socket_timeout": min(max(connect_timeout, 5.0), retry_timeout),
            "retry": Retry(NoBackoff(), 0),  # retried here, with a deadline (see _call)
        }
        self._options = options
        try:
            self._redis = redis.Redis.from_url(url, **options)
        except ValueError as error:
            raise AtomicsValueError(f"url {self.safe_url!r}: {error}") from None
        self._execute: Any = self._redis.execute_command
        self._sources = {
            name: getattr(redis_lua, name)
            for name in ("APPEND", "PUT_IF", "DELETE_IF", "MERGE", "SCAN", "COUNT")
        }
        self._shas = {
            name: hashlib.sha1(source.encode()).hexdigest()
            for name, source in self._sources.items()
        }
        self._client = os.urandom(8).hex()
        self._local = threading.local()  # .n: this thread's write counter; .cid: last change
        # open/close: writes in flight, so that close() lets them finish first
        self._state = _locks.Condition()
        self._in_flight = 0
        self.closed = False
        # the feed thread and what it has reported (under _fed's lock)
        self._fed = _locks.Condition()
        self._feed: threading.Thread | None = None
        self._feed_pos = (0, 0)  # the last change id reported
        self._feed_insights = 0  # insight changes seen (wait() wakes on a change of it)
        self._feed_error: BaseException | None = None
        self._stopping = False
        self._listener: ChangeListener | None = None
        self._note_after = (0, 0)  # changes up to this id are not reported (before watch())
        self.waiters = 0  # threads in wait() (under _fed's lock)
        self._resume_at: tuple[int, int] | None = None  # a forked child's feed: from here
        _ALL.add(self)
        self._check_namespace()

    def _after_fork(self) -> None:
        """In a child made by ``fork``: no feed thread runs here (threads do not survive a
        fork), locks may be held by threads that are gone, and the writer ids are the
        parent's. New ones; the feed resumes, where the parent's was, at its next use."""
        self._client = os.urandom(8).hex()
        self._local = threading.local()
        self._state = _locks.Condition()
        self._in_flight = 0
        self._fed = _locks.Condition()
        if self._feed is not None:
            self._resume_at = self._feed_pos
        self._feed = None
        self.waiters = 0

    def _resume_feed(self) -> None:
        """A forked child: start the feed where the parent's was (its subscriptions go on)."""
        at = self._resume_at
        if at is not None and self._feed is None:
            self._resume_at = None
            self._start_feed(at)

    # --- connection, retries ---------------------------------------------------------------------
    def _unavailable(self, error: BaseException, waited: float) -> StorageUnavailable:
        return StorageUnavailable(
            f"Redis at {self.safe_url} unreachable for {waited:.1f} s "
            f"({type(error).__name__}: {error})"
        )

    def _call(self, fn: Callable[[bool], Any], within: float | None = None) -> Any:
        """``fn(retry)`` -- retry False the first time -- again while the server cannot be
        reached, until ``within`` (default ``retry_timeout``) seconds from now have passed;
        then :class:`StorageUnavailable`. (An attempt under way when the time is up runs to
        its socket timeout, at most ``retry_timeout``.)"""
        limit = self.retry_timeout if within is None else within
        began = time.monotonic()
        retry = False
        pause = 0.01
        while True:
            try:
                return fn(retry)
            except redis.exceptions.ResponseError as error:
                if "LOADING" in str(error) or "BUSY" in str(error):  # restarting: retry
                    failure: BaseException = error
                else:
                    raise
            except _NETWORK_ERRORS as error:
                failure = error
            now = time.monotonic()
            if now - began >= limit:
                raise self._unavailable(failure, now - began) from failure
            retry = True
            time.sleep(min(pause, limit - (now - began)))  # a back-off
            pause = min(pause * 2, 0.5)

    def _script(self, name: str, args: list[Any]) -> Any:
        """EVALSHA of the script ``name`` (loaded first if the server does not have it:
        a new server, or one restarted)."""
        try:
            return self._execute("EVALSHA", self._shas[name], 0, *args)
        except redis.exceptions.NoScriptError:
            self._redis.script_load(self._sources[name])
            return self._execute("EVALSHA", self._shas[name], 0, *args)

    def _read(self, fn: Callable[[], Any]) -> Any:
        return self._call(lambda retry: fn())

    def _check_namespace(self) -> None:
        meta = self._p + "meta"

        def check(retry: bool) -> Any:
            self._redis.hsetnx(meta, "retain", self._retain)
            return self._redis.hget(meta, "retain")

        try:
            stored = self._call(check, within=self._connect_timeout)
        except redis.exceptions.RedisError as error:  # e.g. a db number the server lacks
            raise AtomicsValueError(f"Redis at {self.safe_url}: {error}") from None
        if stored != self._retain:
            raise AtomicsValueError(
                f"namespace {self.namespace!r} keeps "
                f"{'every insight' if not stored else f'the newest {stored} per topic'}; "
                f"this client asked for retain_per_topic={self.retain_per_topic!r}"
            )

    def _token(self) -> str:
        """``<writer>.<n>``: this thread's writer id (random: a new thread that reuses a
        dead one's ident is another writer) and its write count."""
        local = self._local.__dict__
        writer = local.get("writer")
        if writer is None:
            writer = local["writer"] = f"{self._client}.{os.urandom(6).hex()}"
        n = local["n"] = local.get("n", 0) + 1
        return f"{writer}.{n}"

    def _write(self, script: str, args: list[str]) -> Any:
        """Run a write script (its token and retry flag filled in), counted in flight."""
        with self._state:
            if self.closed:
                raise KnowledgeBaseClosed("the storage is closed")
            self._in_flight += 1
        try:
            token_at = args.index("\0token")
            args[token_at] = self._token()

            def attempt(retry: bool) -> Any:
                args[token_at + 1] = "1" if retry else "0"
                return self._script(script, args)

            return self._call(attempt)
        finally:
            with self._state:
                self._in_flight -= 1
                if not self._in_flight:
                    self._state.notify_all()

    def _wrote(self, change_id: str) -> None:
        if change_id:
            self._local.cid = change_id

    # --- log -----------------------------------------------------------------------------------
    def _draft_text(self, draft: Draft, where: str) -> str:
        meta = None if draft.meta is None else dict(draft.meta)
        if draft.id is not None:
            where = f"insight {draft.id!r}"
        check_json(draft.content, f"{where} content".strip())
        if meta is not None:
            check_json(meta, f"{where} meta".strip())
        return json.dumps(
            [draft.agent_id, draft.content, meta, draft.timestamp],
            separators=(",", ":"),
            allow_nan=False,
        )

    def append(self, topic: str, drafts: Sequence[Draft]) -> list[Insight]:
        """Append ``drafts`` with the topic's next seqs in one server-side script: the seqs are
        gap-free across every client of the namespace, and a draft whose explicit id is stored
        already returns the stored insight (whatever its topic) and appends nothing -- checked in
        the same script. A lost reply is retried with the write's token and answered from the
        first run (never appended twice). What JSON cannot hold: ``TypeError`` before anything is
        sent."""
        many = len(drafts) > 1
        args = [self._p, topic, self._retain, "\0token", "0", self._ttl, self._maxlen]
        for i, draft in enumerate(drafts):
            args.append("" if draft.id is None else draft.id)
            args.append(self._draft_text(draft, f"insight {i} of the batch" if many else ""))
        if not drafts:
            return []
        reply = self._write("APPEND", args)
        if isinstance(reply, str):  # every draft appended: '<change id> <first seq>'
            change_id, _, first = reply.partition(" ")
            self._wrote(change_id)
            return [
                self._appended(topic, int(first) + i, draft, args[8 + 2 * i])
                for i, draft in enumerate(drafts)
            ]
        self._wrote(reply[0])
        out = []
        for i, result in enumerate(reply[1:]):
            if isinstance(result, list):  # the stored insight an explicit id names
                seq, stored_topic, data, insight_id = result
                out.append(_insight(stored_topic, int(seq), insight_id, data))
            else:
                out.append(self._appended(topic, int(result), drafts[i], args[8 + 2 * i]))
        return out

    @staticmethod
    def _appended(topic: str, seq: int, draft: Draft, text: str) -> Insight:
        """The insight ``draft`` became: what a read gives back (a JSON copy of content and
        meta; an immutable scalar is its own copy)."""
        insight_id = f"{topic}#{seq}" if draft.id is None else draft.id
        content = draft.content
        if draft.meta is None and (content is None or type(content) in (str, int, float, bool)):
            return Insight(topic, seq, insight_id, draft.agent_id, content, None, draft.timestamp)
        agent_id, content, meta, timestamp = json.loads(text)
        return Insight(topic, seq, insight_id, agent_id, content, meta, timestamp)

    def append_one(
        self,
        topic: str,
        agent_id: str,
        content: Any,
        meta: Any,
        timestamp: float,
        insight_id: str | None = None,
    ) -> Insight:
        """Append one insight: ``append(topic, [Draft(insight_id, ...)])[0]``, the same one
        script (atomic on the server, retried without appending twice)."""
        return self.append(topic, [Draft(insight_id, agent_id, content, meta, timestamp)])[0]

    def _insights(self, topic: str, entries: list[Any]) -> list[Insight]:
        out = []
        for entry_id, fields in entries:
            seq = int(entry_id[2:]) - 1
            out.append(_insight(topic, seq, fields.get("i"), fields["d"]))
        return out

    def read(self, topic: str, after: int, limit: int | None) -> list[Insight]:
        """The topic's insights with seq > ``after``, in seq order, at most ``limit``: one
        ``XRANGE`` of the topic's log (one instant on the server; fresh JSON copies)."""
        if (limit is not None and limit <= 0) or after >= _BIG:
            return []
        limit = None if limit is None else min(limit, _BIG)
        start = "-" if after < 0 else f"(0-{after + 1}"
        log = self._p + "log:" + topic
        return self._insights(topic, self._read(lambda: self._redis.xrange(log, start, "+", limit)))

    def latest(self, topic: str, n: int) -> list[Insight]:
        """The topic's newest ``n`` insights, oldest first: one ``XREVRANGE`` of the topic's
        log (one instant on the server)."""
        if n <= 0:
            return []
        n = min(n, _BIG)
        log = self._p + "log:" + topic
        entries = self._read(lambda: self._redis.xrevrange(log, "+", "-", n))
        return self._insights(topic, entries[::-1])

    def topics(self) -> list[str]:
        """Every topic of the namespace with at least one insight ever (by any client),
        sorted: one read of the namespace's tips."""
        return sorted(self._read(lambda: self._redis.hkeys(self._p + "tips")))

    def tips(self) -> dict[str, int]:
        """topic -> the last seq assigned, by every client of the namespace: one ``HGETALL``
        (one instant on the server)."""
        tips = self._read(lambda: self._redis.hgetall(self._p + "tips"))
        return {topic: int(seq) for topic, seq in tips.items()}

    def count(self) -> int:
        """Insights kept over every topic (after retention), counted by one server-side
        script: exact at one instant."""
        return int(self._read(lambda: self._script("COUNT", [self._p])))

    def wait(self, tips: Mapping[str, int], timeout: float | None) -> bool:
        """Block until ``tips()`` differs from ``tips`` (True), or until ``timeout`` or
        close (False). Woken by the feed thread's blocking read of the change feed."""
        deadline = _validate.deadline(timeout)
        expected = dict(tips)
        self._resume_feed()
        self._start_feed()
        with self._fed:
            self.waiters += 1
        try:
            while True:
                with self._fed:
                    seen = self._feed_insights  # taken before the tips: no change is missed
                if self.tips() != expected:
                    return True
                with self._fed:
                    while self._feed_insights == seen:
                        if self.closed:
                            return False
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            return False
                        self._fed.wait(remaining)
        finally:
            with self._fed:
                self.waiters -= 1

    # --- world ---------------------------------------------------------------------------------
    def get(self, key: str) -> WorldEntry | None:
        """The key's entry, or None if absent or deleted: one ``HGET``. Each write's script
        stores the entry whole, so it is never seen half written."""
        text = self._read(lambda: self._redis.hget(self._p + "world", key))
        if text is None:
            return None
        entry = _entry(text)
        return None if entry.value is DELETED else entry

    def _meta(self, agent_id: str, timestamp: float) -> str:
        return json.dumps([agent_id, timestamp], allow_nan=False)

    def put_if(
        self, key: str, value: Any, agent_id: str, expected_version: Any, timestamp: float
    ) -> WorldEntry:
        """Compare-and-set in one server-side script: store ``value`` as the key's next version
        if its version is ``expected_version`` (``None``: absent or deleted; ``ANY``: no check),
        else raise :class:`~atomics.kb.errors.Conflict` carrying the current version. Atomic on the
        server across every client (versions step by exactly 1); a lost reply is retried with the
        write's token and answered from the first run, never applied twice. A value JSON cannot
        hold: ``TypeError`` before anything is sent."""
        text = _dump(value, "value")
        meta = self._meta(agent_id, timestamp)
        args = [self._p, key, _expected(expected_version), meta, text, "\0token", "0"]
        reply = self._write("PUT_IF", [*args, self._ttl, self._maxlen])
        if reply[0] == "C":
            raise Conflict(key, expected_version, _version(reply[1]))
        self._wrote(reply[2])
        return WorldEntry(json.loads(text), int(reply[1]), agent_id, timestamp)

    def delete_if(
        self, key: str, agent_id: str, expected_version: Any, timestamp: float
    ) -> WorldEntry | None:
        """Delete the key if its version is ``expected_version`` (as for :meth:`put_if`), in one
        server-side script: its tombstone takes the next version (versions never repeat); returns
        the tombstone, or None if the key was absent or already deleted (nothing written). Atomic
        and retried as :meth:`put_if`."""
        meta = self._meta(agent_id, timestamp)
        args = [self._p, key, _expected(expected_version), meta, "\0token", "0"]
        reply = self._write("DELETE_IF", [*args, self._ttl, self._maxlen])
        if reply[0] == "C":
            raise Conflict(key, expected_version, _version(reply[1]))
        if reply[0] == "N":
            return None
        self._wrote(reply[2])
        return WorldEntry(DELETED, int(reply[1]), agent_id, timestamp)

    def merge(
        self, key: str, value: Any, reducer: str, agent_id: str, timestamp: float
    ) -> WorldEntry:
        """Store ``reducers[reducer](current value or MISSING, value)`` as the key's next
        version; ``reducer`` is a named one (another name is ``ValueError``). The merge's script
        applies the reducer on the server, atomically with the write, where it can compute on the
        JSON text exactly; any other case it hands back, and this client applies the Python
        reducer and stores the result as a compare-and-set on the version it read (a conflict
        retries the whole merge). Either way: exactly one application per merge, none lost."""
        if reducer not in NAMED_REDUCERS:
            raise AtomicsValueError(
                f"reducer: unknown name {reducer!r}; known: {sorted(NAMED_REDUCERS)}"
            )
        text = _dump(value, "value")
        meta = self._meta(agent_id, timestamp)
        while True:
            args = [self._p, key, reducer, text, meta, "\0token", "0", self._ttl, self._maxlen]
            reply = self._write("MERGE", args)
            if reply[0] == "OK":
                self._wrote(reply[2])
                return WorldEntry(json.loads(reply[3]), int(reply[1]), agent_id, timestamp)
            # a case the script leaves to Python: the reducer here, stored as a
            # compare-and-set on the version it saw (a conflict: the whole merge again)
            current = MISSING if reply[2] == "" else json.loads(reply[2])
            new = reducers[reducer](current, json.loads(text))
            try:
                return self.put_if(key, new, agent_id, _version(reply[1]), timestamp)
            except Conflict:
                continue

    def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, WorldEntry]]:
        """Live keys (not deleted) starting with ``prefix``, sorted, after the key ``after``, at
        most ``limit`` (``ValueError`` if negative): one server-side script, so one page is one
        instant on the server (the pages of a longer scan are not)."""
        if limit is not None:
            _validate.count(limit, "limit", 0)
            if limit == 0:
                return []
        start = "-" if not prefix else "[" + prefix
        if after is not None and after >= prefix:
            start = "(" + after
        stop: str | bytes = "+"
        if prefix:  # the first byte string after every key starting with prefix
            raw = prefix.encode("utf-8", "surrogatepass")
            stop = b"(" + raw[:-1] + bytes([raw[-1] + 1])  # (UTF-8 never ends in 0xff)
        args = [self._p, start, stop, -1 if limit is None else limit]
        flat = self._read(lambda: self._script("SCAN", args))
        return [(flat[i], _entry(flat[i + 1])) for i in range(0, len(flat), 2)]

    # --- the change feed -----------------------------------------------------------------------
    def _last_change(self) -> tuple[int, int]:
        last = self._read(lambda: self._redis.xrevrange(self._p + "changes", "+", "-", 1))
        return _id_key(last[0][0]) if last else (0, 0)

    def _start_feed(self, at: tuple[int, int] | None = None) -> None:
        with self._fed:
            if self._feed is not None or self.closed:
                return
        start = self._last_change() if at is None else at
        with self._fed:
            if self._feed is not None or self.closed:
                return
            self._feed_pos = start
            self._feed = threading.Thread(
                target=self._feed_loop, name=f"atomics-redis-feed-{self.namespace}", daemon=True
            )
            self._feed.start()

    def _feed_loop(self) -> None:
        """Read the change feed with blocking ``XREAD`` and report each change (in stream
        order) to the listener, then ``settle``; wake ``wait``/``sync``. Reconnects for as
        long as the storage is open."""
        # (a blocking read of up to 10 s, so its socket waits longer: 15 s)
        client = redis.Redis.from_url(self.url, **{**self._options, "socket_timeout": 15})
        changes, wake = self._p + "changes", f"{self._p}wake:{self._client}"
        last = "{}-{}".format(*self._feed_pos)
        pause = 0.01
        while not self._stopping:
            try:
                reply: Any = client.xread({changes: last, wake: "0-0"}, count=1024, block=10_000)
                pause = 0.01
            except (*_NETWORK_ERRORS, redis.exceptions.ResponseError) as error:
                with self._fed:
                    self._feed_error = error
                    if not self._stopping:
                        self._fed.wait(pause)  # back off; close() wakes it
                pause = min(pause * 2, 0.5)
                continue
            batch = [entries for stream, entries in reply or () if stream == changes]
            if not batch:
                continue
            with self._fed:
                listener, note_after = self._listener, self._note_after
            insights = 0
            for change_id, fields in batch[0]:
                last = change_id
                position = _id_key(change_id)
                if fields.get("k") == "i":
                    insights += 1
                    if listener is None or position <= note_after:
                        continue
                    change: Insight | WorldChange = _insight(
                        fields["t"], int(fields["s"]), fields.get("i"), fields["d"]
                    )
                else:
                    if listener is None or position <= note_after:
                        continue
                    change = WorldChange(fields["key"], _entry(fields["e"]))
                with contextlib.suppress(Exception):  # a listener's failure: not the feed's
                    listener.note(change)
            if listener is not None:
                with contextlib.suppress(Exception):
                    listener.settle()
            with self._fed:
                self._feed_pos = _id_key(last)
                self._feed_insights += insights
                self._feed_error = None
                self._fed.notify_all()
        client.close()

    def sync(self, everything: bool = False) -> None:
        """Return once the listener has been told every change this thread wrote (with
        ``everything``: every change stored before the call). No-op with no feed running."""
        self._resume_feed()
        if self._feed is None:
            if everything and self._listener is not None:
                # an on-demand listener (see watch): its feed starts here, from now
                self._start_feed(self._last_change())
            return
        if everything:
            target = self._last_change()
        else:
            cid = self._local.__dict__.get("cid")
            if cid is None:
                return
            target = _id_key(cid)
        waited = self.retry_timeout + 5
        deadline = time.monotonic() + waited
        with self._fed:
            while self._feed_pos < target and self._feed is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    error = self._feed_error or TimeoutError("the change feed did not advance")
                    raise self._unavailable(error, waited)
                self._fed.wait(remaining)

    def watch(self, listener: ChangeListener | None) -> None:
        """Report every change stored from now on to ``listener`` (from the feed thread,
        which holds no lock); ``None``: stop, once every change stored before the call was
        reported. One listener at a time (``ValueError`` while another watches)."""
        if listener is None:
            if self._listener is not None:
                self.sync(everything=True)
            with self._fed:
                self._listener = None
            return
        if self._listener is not None:
            raise AtomicsValueError(
                "storage: already watched (it feeds another KnowledgeBase); one storage "
                "serves one KnowledgeBase"
            )
        if getattr(listener, "on_demand", False) and self._feed is None:
            # only changes after its first sync(everything=True) matter to it (a knowledge
            # base before its first subscription): the feed starts then -- until then no
            # thread of this process reads (and competes with writers for) the feed
            with self._fed:
                self._note_after = (0, 0)
                self._listener = listener
            return
        now = self._last_change()
        with self._fed:
            self._note_after = now
            self._listener = listener
        self._start_feed(now)

    # --- export / import -----------------------------------------------------------------------
    def _key_page(self, offset: int, count: int) -> Any:
        return self._redis.zrange(self._p + "wkeys", "-", "+", bylex=True, offset=offset, num=count)

    def export(self, page_size: int = 1024) -> Iterator[list[ExportRecord]]:
        """Every topic up to the tips read when this is called, then every world key
        (tombstones included) -- read now, in pages of ``page_size`` round trips; each
        topic and each key is consistent, not all of them at one instant (module docstring)."""
        page_size = _validate.count(page_size, "page_size")
        chunk = max(page_size, 1024)
        topics: dict[str, TopicState] = {}
        for topic, tip in sorted(self.tips().items()):
            insights: list[Insight] = []
            after = -1
            while after < tip:
                batch = self.read(topic, after, min(chunk, tip - after))
                if not batch:
                    break
                insights.extend(batch)
                after = batch[-1].seq
            topics[topic] = TopicState(tip + 1, [i for i in insights if i.seq <= tip])
        world: dict[str, WorldEntry] = {}
        offset = 0
        while True:
            keys: list[str] = self._read(functools.partial(self._key_page, offset, chunk))
            if not keys:
                break
            texts = self._read(functools.partial(self._redis.hmget, self._p + "world", keys))
            world.update((k, _entry(t)) for k, t in zip(keys, texts, strict=False) if t is not None)
            offset += len(keys)
        return paginate(topics, world, page_size)

    def import_state(self, pages: Iterable[Iterable[ExportRecord]]) -> None:
        """Load exported pages into this namespace, which must be empty (``ValueError``
        otherwise, or for pages out of order; ``TypeError`` for what JSON cannot hold --
        each before anything is stored). Not atomic: no other client may use the
        namespace until it returns."""
        topics, world = collect(pages)
        if self.tips() or self._read(lambda: self._redis.zcard(self._p + "wkeys")):
            raise AtomicsValueError("import_state() needs an empty storage")
        if self.retain_per_topic is not None:
            retain = self.retain_per_topic
            topics = {
                name: TopicState(state.next_seq, state.insights[-retain:])
                for name, state in topics.items()
            }
        texts: dict[str, list[tuple[Insight, str]]] = {}
        for name, state in topics.items():
            texts[name] = [
                (i, self._draft_text(Draft(i.id, i.agent_id, i.content, i.meta, i.timestamp), ""))
                for i in state.insights
            ]
        entries = {
            key: "\n".join(
                (
                    str(entry.version),
                    self._meta(entry.agent_id, entry.timestamp),
                    "" if entry.value is DELETED else _dump(entry.value, f"world key {key!r}"),
                )
            )
            for key, entry in world.items()
        }

        def load(retry: bool) -> None:
            pipe = self._redis.pipeline(transaction=True)
            for name, state in topics.items():
                log = self._p + "log:" + name
                for insight, data in texts[name]:
                    explicit = insight.id != f"{name}#{insight.seq}"
                    fields = {"d": data, "i": insight.id} if explicit else {"d": data}
                    pipe.xadd(log, fields, id=f"0-{insight.seq + 1}")  # type: ignore[arg-type]
                    if explicit:
                        pipe.hset(self._p + "ids", insight.id, f"{insight.seq}:{name}")
                if state.next_seq:
                    pipe.hset(self._p + "tips", name, str(state.next_seq - 1))
            for key, text in entries.items():
                pipe.hset(self._p + "world", key, text)
                pipe.zadd(self._p + "wkeys", {key: 0})
            pipe.execute()

        with self._state:
            if self.closed:
                raise KnowledgeBaseClosed("the storage is closed")
        self._call(load)

    # --- close, drop ---------------------------------------------------------------------------
    def close(self) -> None:
        """Refuse every later write (``KnowledgeBaseClosed``); let the writes in flight
        finish and the feed report them; stop the feed thread; wake every ``wait``.
        Idempotent. Other clients of the namespace are not affected."""
        with self._state:
            if self.closed:
                return
            self.closed = True
            deadline = time.monotonic() + self.retry_timeout + 5
            while self._in_flight and time.monotonic() < deadline:
                self._state.wait(deadline - time.monotonic())
        feed = self._feed
        if feed is not None:
            reachable = True
            if self._listener is not None:
                try:
                    self.sync(everything=True)
                except StorageUnavailable:  # the server is gone: nothing more to report
                    reachable = False
            with self._fed:
                self._stopping = True
                self._fed.notify_all()  # (a feed backing off from a lost server: now)
            wake = f"{self._p}wake:{self._client}"
            if reachable:
                try:  # wakes the feed's blocking read
                    self._redis.xadd(wake, {"x": "1"})
                except _NETWORK_ERRORS:
                    reachable = False
            # a feed blocked on a server that stopped answering ends by its socket
            # timeout, on its own (a daemon): not waited for here
            feed.join(15 if reachable else 0.5)
            if reachable:
                with contextlib.suppress(*_NETWORK_ERRORS):
                    self._redis.delete(wake)
        with self._fed:
            self._feed = None
            self._fed.notify_all()
        # its connections, not the client: reads after close() still work (they reconnect)
        self._redis.connection_pool.disconnect(inuse_connections=False)

    def drop(self) -> None:
        """Close this client and delete every key of its namespace (for every client of
        it: the namespace is gone)."""
        self.close()
        drop_namespace(self.url, self.namespace)


_ALL: weakref.WeakSet[RedisStorage] = weakref.WeakSet()  # for the fork hook


def _after_fork_in_child() -> None:
    for storage in list(_ALL):
        storage._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def drop_namespace(url: str, namespace: str, *, timeout: float = 10.0) -> int:
    """Delete every key of ``namespace`` on the server at ``url``; the number deleted.
    ``timeout``: seconds for each connect and each reply (``redis`` errors past it)."""
    client = redis.Redis.from_url(
        url,
        decode_responses=True,
        encoding_errors="surrogatepass",
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", "{" + namespace + "}:") + "*"
    deleted = 0
    try:
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += client.unlink(*batch)
                batch = []
        if batch:
            deleted += client.unlink(*batch)
    finally:
        client.close()
    return deleted
