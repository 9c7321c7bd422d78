"""A read-only snapshot of one store: every key, its type, TTL and contents.

The audit reaches the store only through :class:`ReadOnlyStore`, which sends nothing but
SCAN, TYPE, TTL, GET, HGETALL, SMEMBERS, ZRANGE, XRANGE, LRANGE, OBJECT ENCODING and
CONFIG GET; any other command raises before it leaves the process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import redis

from inspraak.audit.detect import decode_opaque, mask_identifiers

__all__ = [
    "ALLOWED_COMMANDS",
    "ISSUER_PREFIX",
    "Entry",
    "Part",
    "ReadOnlyStore",
    "StoreSnapshot",
    "WriteAttempted",
    "take_snapshot",
]

ALLOWED_COMMANDS = frozenset(
    {
        "SCAN",
        "TYPE",
        "TTL",
        "GET",
        "HGETALL",
        "SMEMBERS",
        "ZRANGE",
        "XRANGE",
        "LRANGE",
        "OBJECT ENCODING",
        "CONFIG GET",
    }
)
"""The only commands the audit sends (all read-only)."""

PartKind = Literal["key", "field", "value", "member", "score", "entry-id"]


class WriteAttempted(RuntimeError):
    """A command outside :data:`ALLOWED_COMMANDS` was about to be sent."""


class ReadOnlyStore:
    """A synchronous client that refuses every command not in :data:`ALLOWED_COMMANDS`."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    @staticmethod
    def _check(args: tuple[Any, ...]) -> None:
        name = str(args[0]).upper()
        if name in {"OBJECT", "CONFIG"}:
            name = f"{name} {str(args[1]).upper()}"
        if name not in ALLOWED_COMMANDS:
            raise WriteAttempted(f"the audit does not send {name}")

    def command(self, *args: Any) -> Any:
        self._check(args)
        execute: Any = self._client.execute_command
        return execute(*args)

    def batch(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Several commands in one round trip (no transaction); errors come back as values."""
        for args in commands:
            self._check(args)
        pipeline: Any = self._client.pipeline(transaction=False)
        for args in commands:
            pipeline.execute_command(*args)
        return list(pipeline.execute(raise_on_error=False))

    def keys(self, count: int = 1000) -> Iterator[bytes]:
        cursor: int | bytes = 0
        while True:
            cursor, batch = self.command("SCAN", cursor, "COUNT", count)
            yield from batch
            if int(cursor) == 0:
                return

    def config(self, name: str) -> str | None:
        try:
            reply = self.command("CONFIG", "GET", name)
        except redis.ResponseError:
            return None
        if isinstance(reply, dict):
            value = reply.get(name.encode()) or reply.get(name)
        else:
            pairs = dict(zip(reply[::2], reply[1::2], strict=True))
            value = pairs.get(name.encode()) or pairs.get(name)
        if isinstance(value, bytes):
            return value.decode()
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a key: its name, a hash field or value, a member, a score, a stream id."""

    kind: PartKind
    where: str
    """Human-readable place inside the key (``field status``, ``entry 3-0 field p``)."""
    data: bytes
    name: str = ""
    """The hash or stream field name this value belongs to ('' when none)."""

    @property
    def text(self) -> str | None:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def scalars(self) -> Iterator[str]:
        """The text, or every scalar inside it when it is a JSON object or array."""
        text = self.text
        if text is None:
            return
        if text[:1] in "{[":
            try:
                document = json.loads(text)
            except ValueError:
                yield text
                return
            yield from _json_scalars(document)
            return
        yield text


def _json_scalars(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _json_scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_scalars(item)
    elif isinstance(value, bool) or value is None:
        return
    else:
        yield str(value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One key with its type, TTL (-1: none), internal encoding and parts in store order."""

    key: str
    type: str
    ttl: int
    encoding: str | None
    parts: tuple[Part, ...]

    def values(self) -> Iterator[Part]:
        return (p for p in self.parts if p.kind != "key")


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    """Everything in one store (one side), read once."""

    side: Literal["issuer", "participation"]
    url: str
    entries: tuple[Entry, ...]
    server: tuple[str | None, str | None]
    """``(dir, port)`` from CONFIG GET: equal on both sides means one server."""

    @property
    def label(self) -> str:
        return f"{self.side} store"

    def get(self, key: str) -> Entry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


def _pairs(reply: Any) -> list[tuple[Any, Any]]:
    """Pairs from a RESP2 flat list, a RESP3 map, or a list of pairs."""
    if isinstance(reply, dict):
        return list(reply.items())
    if reply and isinstance(reply[0], list | tuple):
        return [(a, b) for a, b in reply]
    return list(zip(reply[::2], reply[1::2], strict=True))


def _label(kind: str, name: bytes, index: int) -> str:
    """How a hash field or member is named in a report: as is, unless it is an identifier
    or random-looking (a pseudonym), which is named by position and shape only."""
    text = _decode(name)
    if mask_identifiers(text) != text:
        return f"{kind} #{index} ({mask_identifiers(text)})"
    if text.isdigit() and len(text) in {8, 9}:
        return f"{kind} #{index} ({len(text)}-digit number)"
    if decode_opaque(text) is not None or len(name) > 40:
        return f"{kind} #{index} ({len(name)}-byte opaque value)"
    return f"{kind} {text}"


_CONTENT: dict[str, tuple[Any, ...]] = {
    "string": ("GET",),
    "hash": ("HGETALL",),
    "set": ("SMEMBERS",),
    "zset": ("ZRANGE", 0, -1, "WITHSCORES"),
    "list": ("LRANGE", 0, -1),
    "stream": ("XRANGE", "-", "+"),
}
"""The one read command per key type (with its arguments after the key)."""


def _text(reply: Any) -> str | None:
    if isinstance(reply, bytes):
        return reply.decode()
    return reply if isinstance(reply, str) else None


def _parts(raw_key: bytes, kind: str, reply: Any) -> list[Part]:
    """The parts of one key from the reply of its content command."""
    parts: list[Part] = [Part("key", "key name", raw_key)]
    if kind == "string":
        parts.append(Part("value", "value", reply or b""))
    elif kind == "hash":
        for index, (field, value) in enumerate(_pairs(reply)):
            name, label = _decode(field), _label("field", field, index)
            parts.append(Part("field", label, field, name))
            parts.append(Part("value", label, value, name))
    elif kind == "set":
        for index, member in enumerate(sorted(reply)):
            parts.append(Part("member", _label("member", member, index), member))
    elif kind == "zset":
        for index, (member, score) in enumerate(_pairs(reply)):
            label = _label("member", member, index)
            parts.append(Part("member", label, member))
            parts.append(Part("score", f"score of {label}", str(score).encode()))
    elif kind == "list":
        for index, item in enumerate(reply):
            parts.append(Part("value", f"item {index}", item))
    elif kind == "stream":
        for entry_id, fields in reply:
            eid = _decode(entry_id)
            parts.append(Part("entry-id", f"entry {eid}", entry_id))
            for field, value in _pairs(fields):
                name = _decode(field)
                parts.append(Part("value", f"entry {eid} field {name}", value, name))
    return parts


def _read_batch(store: ReadOnlyStore, raw_keys: list[bytes]) -> list[Entry]:
    """Read a batch of keys in two pipelined round trips (metadata, then content)."""
    meta = store.batch(
        [("TYPE", k) for k in raw_keys]
        + [("TTL", k) for k in raw_keys]
        + [("OBJECT", "ENCODING", k) for k in raw_keys]
    )
    n = len(raw_keys)
    kinds = [_text(meta[i]) or "none" for i in range(n)]
    present = [(k, kind, i) for i, (k, kind) in enumerate(zip(raw_keys, kinds, strict=True))
               if kind in _CONTENT]  # fmt: skip
    content = store.batch([(_CONTENT[kind][0], k, *_CONTENT[kind][1:]) for k, kind, _ in present])
    entries: list[Entry] = []
    for (raw_key, kind, i), reply in zip(present, content, strict=True):
        if isinstance(reply, Exception):  # the key changed type or vanished meanwhile
            continue
        ttl = meta[n + i]
        encoding = meta[2 * n + i]
        entries.append(
            Entry(
                _decode(raw_key),
                kind,
                int(ttl) if not isinstance(ttl, Exception) else -1,
                None if isinstance(encoding, Exception) else _text(encoding),
                tuple(_parts(raw_key, kind, reply)),
            )
        )
    return entries


_BATCH = 500
ISSUER_PREFIX = b"iss:"
"""Issuer keys start with this (docs/architecture.md); everything else is participation side."""


def take_snapshot(
    client: redis.Redis, *, side: Literal["issuer", "participation"], url: str = ""
) -> StoreSnapshot:
    """Read every key of one side through :class:`ReadOnlyStore`.

    When both sides share a server, the issuer side is the ``iss:`` keys and the
    participation side everything else.
    """
    store = ReadOnlyStore(client)
    issuer = side == "issuer"
    wanted = sorted(k for k in set(store.keys()) if k.startswith(ISSUER_PREFIX) == issuer)
    entries = [
        e for i in range(0, len(wanted), _BATCH) for e in _read_batch(store, wanted[i : i + _BATCH])
    ]
    server = (store.config("dir"), store.config("port"))
    return StoreSnapshot(side, url, tuple(entries), server)
