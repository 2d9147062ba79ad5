"""Saving and loading: the versioned JSON document (format version 1), written atomically.

``save`` writes to a temporary file in the target's directory, fsyncs it, renames it over
the target and fsyncs the directory: a crash mid-save leaves the previous file intact.
Content JSON cannot hold fails with ``TypeError`` naming where, before anything is written.
``load`` checks every field and names the first malformed place as a JSON path
(``$.topics["t"].insights[3][0]``).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from atomics.errors import AtomicsValueError
from atomics.kb.records import DELETED, Insight, WorldEntry, is_automatic_id
from atomics.kb.storage.base import TopicState
from atomics.kb.values import check_json

__all__ = ["FORMAT", "FORMAT_VERSION", "document", "parse", "read", "write_atomically"]

FORMAT = "atomics.KnowledgeBase"
FORMAT_VERSION = 1


def document(
    topics: Mapping[str, TopicState],
    world: Mapping[str, WorldEntry],
    retain_per_topic: int | None,
) -> dict[str, Any]:
    """The version-1 document of an export (TypeError naming the place JSON cannot hold)."""
    rows_by_topic = {}
    for name, state in topics.items():
        rows = []
        for insight in state.insights:
            where = f"insight {insight.id!r} (topic {name!r}, seq {insight.seq})"
            check_json(insight.content, f"{where} content")
            meta = None if insight.meta is None else dict(insight.meta)
            check_json(meta, f"{where} meta")
            rows.append(
                [
                    insight.seq,
                    insight.id,
                    insight.agent_id,
                    insight.content,
                    meta,
                    insight.timestamp,
                ]
            )
        rows_by_topic[name] = {"next_seq": state.next_seq, "insights": rows}
    entries = {}
    for key, entry in world.items():
        deleted = entry.value is DELETED
        if not deleted:
            check_json(entry.value, f"world key {key!r}")
        entries[key] = {
            "value": None if deleted else entry.value,
            "deleted": deleted,
            "version": entry.version,
            "agent_id": entry.agent_id,
            "timestamp": entry.timestamp,
        }
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "retain_per_topic": retain_per_topic,
        "topics": rows_by_topic,
        "world": entries,
    }


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path``: temporary file, fsync, rename, fsync of the directory."""
    target = pathlib.Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        directory = os.open(target.parent or ".", os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def read(
    path: str | os.PathLike[str],
) -> tuple[int | None, dict[str, TopicState], dict[str, WorldEntry]]:
    """(retain_per_topic, topics, world) from a file written by ``save``; ValueError if it
    is not one, of an unknown format version, or malformed anywhere."""
    try:
        loaded = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, too deep
        raise AtomicsValueError(f"{path}: not a KnowledgeBase file ({error})") from None
    if not isinstance(loaded, dict) or loaded.get("format") != FORMAT:
        raise AtomicsValueError(f"{path}: not a KnowledgeBase file")
    version = loaded.get("version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise AtomicsValueError(
            f"{path}: format version {loaded.get('version')!r}, this library reads {FORMAT_VERSION}"
        )
    return parse(loaded, str(path))


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_number(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]


def parse(
    document: Mapping[str, Any], path: str
) -> tuple[int | None, dict[str, TopicState], dict[str, WorldEntry]]:
    """(retain_per_topic, topics, world) from a version-1 document, or a ValueError naming
    the first malformed place as a JSON path (``$.topics["t"].insights[3][0]``)."""

    def bad(at: str, what: str) -> AtomicsValueError:
        return AtomicsValueError(f"{path}: malformed KnowledgeBase file: {at}: {what}")

    for field in ("retain_per_topic", "topics", "world"):
        if field not in document:
            raise bad("$", f"no {field!r} field")
    retain = document["retain_per_topic"]
    if retain is not None and not (_is_int(retain) and 1 <= retain <= sys.maxsize):
        raise bad(
            "$.retain_per_topic", f"must be null or an int in [1, sys.maxsize], got {retain!r}"
        )
    if not isinstance(document["topics"], dict):
        raise bad("$.topics", f"must be an object, got {type(document['topics']).__name__}")
    if not isinstance(document["world"], dict):
        raise bad("$.world", f"must be an object, got {type(document['world']).__name__}")
    ids: dict[str, str] = {}  # every insight id -> where it is: ids are unique
    topics: dict[str, TopicState] = {}
    for name, data in document["topics"].items():
        at = f"$.topics[{json.dumps(name)}]"
        if not name:
            raise bad(at, "a topic name must not be empty")
        if not isinstance(data, dict) or set(data) != {"next_seq", "insights"}:
            raise bad(at, 'must be an object with exactly "next_seq" and "insights"')
        next_seq, rows = data["next_seq"], data["insights"]
        if not (_is_int(next_seq) and next_seq >= 0):
            raise bad(f"{at}.next_seq", f"must be an int >= 0, got {next_seq!r}")
        if not isinstance(rows, list):
            raise bad(f"{at}.insights", "must be an array")
        if len(rows) > next_seq or (retain is not None and len(rows) > retain):
            raise bad(f"{at}.insights", f"{len(rows)} insights, more than next_seq or retained")
        if retain is None and len(rows) != next_seq:
            raise bad(
                f"{at}.insights", f"{len(rows)} insights without retention, next_seq {next_seq}"
            )
        first = next_seq - len(rows)  # the retained insights are the last ones, gap-free
        insights = []
        for index, row in enumerate(rows):
            where = f"{at}.insights[{index}]"
            if not isinstance(row, list) or len(row) != 6:
                raise bad(where, "must be [seq, id, agent_id, content, meta, timestamp]")
            seq, id_, agent, content, meta, stamp = row
            if seq != first + index or not _is_int(seq):
                raise bad(
                    f"{where}[0]",
                    f"seq must be {first + index} (gap-free, ending at "
                    f"next_seq - 1 = {next_seq - 1}), got {seq!r}",
                )
            if not isinstance(id_, str) or not id_:
                raise bad(f"{where}[1]", f"id must be a non-empty str, got {id_!r}")
            if id_ in ids:
                raise bad(f"{where}[1]", f"id {id_!r} also at {ids[id_]}")
            if id_ != f"{name}#{seq}" and is_automatic_id(id_):
                raise bad(f"{where}[1]", f"explicit id {id_!r} has the automatic form")
            ids[id_] = where
            if not isinstance(agent, str) or not agent:
                raise bad(f"{where}[2]", f"agent_id must be a non-empty str, got {agent!r}")
            if meta is not None and not isinstance(meta, dict):
                raise bad(f"{where}[4]", f"meta must be an object or null, got {meta!r}")
            if not _is_number(stamp):
                raise bad(f"{where}[5]", f"timestamp must be a number, got {stamp!r}")
            for index_, value in ((3, content), (4, meta)):
                try:
                    check_json(value, f"{where}[{index_}]")  # NaN, Infinity: save refuses them
                except TypeError as error:
                    raise bad(f"{where}[{index_}]", str(error)) from None
            insights.append(Insight(name, seq, id_, agent, content, meta, stamp))
        topics[name] = TopicState(next_seq, insights)
    world: dict[str, WorldEntry] = {}
    fields = {"value", "deleted", "version", "agent_id", "timestamp"}
    for key, data in document["world"].items():
        at = f"$.world[{json.dumps(key)}]"
        if not key:
            raise bad(at, "a key must not be empty")
        if not isinstance(data, dict) or set(data) != fields:
            raise bad(at, f"must be an object with exactly {sorted(fields)}")
        if type(data["deleted"]) is not bool:
            raise bad(f"{at}.deleted", f"must be true or false, got {data['deleted']!r}")
        if data["deleted"] and data["value"] is not None:
            raise bad(f"{at}.value", "must be null for a deleted key")
        if not (_is_int(data["version"]) and data["version"] >= 1):
            raise bad(f"{at}.version", f"must be an int >= 1, got {data['version']!r}")
        if not isinstance(data["agent_id"], str) or not data["agent_id"]:
            raise bad(f"{at}.agent_id", f"must be a non-empty str, got {data['agent_id']!r}")
        if not _is_number(data["timestamp"]):
            raise bad(f"{at}.timestamp", f"must be a number, got {data['timestamp']!r}")
        try:
            check_json(data["value"], f"{at}.value")
        except TypeError as error:
            raise bad(f"{at}.value", str(error)) from None
        world[key] = WorldEntry(
            DELETED if data["deleted"] else data["value"],
            data["version"],
            data["agent_id"],
            data["timestamp"],
        )
    return retain, topics, world
