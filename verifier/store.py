"""The spent-token set in the store: one Lua script, one key per consultation.

``{c:<cid>}:spent`` holds SHA-256(token) hex, never the token; ``SADD`` answering 1 is the
one atomic redemption, so exactly one of many concurrent attempts wins. The key name comes
from :func:`inspraak.keyspace.spent_key` (docs/architecture.md, "Spent tokens"). A caller
may hand over, all keys of the same consultation, a record that the same script writes only
when it spends (participation's participant record), a guard (fields of a hash that must
still hold what the caller read, or nothing is written) and an attempt counter (a sliding
window that refuses over its limit and counts every attempt): participation's join is then
one round trip. Spends started in the same event-loop turn (concurrent redemptions in one
process) go to the store together, as one pipeline of EVALSHA calls: each script still runs
on its own and atomically, only the network round trip is shared.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import redis.exceptions
from redis.commands.core import AsyncScript

from inspraak.keyspace import spent_key, tag
from verifier.errors import GuardChanged, StoreUnavailable, TooManyAttempts

if TYPE_CHECKING:
    # Types only (see verifier/keys.py on the import cycle).
    from inspraak.store import Store

__all__ = ["Attempts", "Guard", "Record", "SpentTokens", "spent_set_key", "token_hash"]

Record = tuple[str, Mapping[str, str]]
"""(key, fields) of a hash written in the same script as the spend, only if it spends."""


@dataclass(frozen=True, slots=True)
class Guard:
    """A hash of the same consultation whose ``fields`` must still hold these values for the
    spend to happen: a caller that works from a cached copy of a record (participation's
    consultation) learns in the same round trip that it changed (:class:`GuardChanged`)."""

    key: str
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Attempts:
    """A sliding-window attempt counter of the same consultation (``rate_limit.lua``'s
    arithmetic): ``keys`` = this window's counter and the previous one's. Over ``limit``
    the spend is refused (:class:`TooManyAttempts`); otherwise the attempt is counted,
    whether the token was spent before or not."""

    keys: tuple[str, str]
    limit: int
    previous_weight_permille: int
    ttl_seconds: int


_SPEND_LUA = (files("verifier") / "lua" / "spend.lua").read_text(encoding="utf-8")


def spent_set_key(cid: str) -> str:
    """The consultation's spent-token set (shared with joins: inspraak.keyspace)."""
    return spent_key(cid)


def token_hash(token_bytes: bytes) -> str:
    """SHA-256 of the serialized Token, hex: the only trace of a token the store keeps."""
    return hashlib.sha256(token_bytes).hexdigest()


_Call = tuple[Sequence[str], Sequence[str | int], "asyncio.Future[Any]"]


class _ScriptBatch:
    """Runs one Lua script for many callers: the calls made in one event-loop turn are sent
    as one pipeline (``EVALSHA`` each, non-transactional), a lone call as it is.

    Every call is its own script run, atomic as ever; the callers share the write and the
    read on the connection instead of taking one each. A call whose caller has gone before
    the turn ends is not sent. A script the store does not know (restarted, flushed) is
    loaded and the call run again; any other error goes to that call's caller only.
    """

    def __init__(self, store: Store, script: AsyncScript) -> None:
        self._store = store
        self._script = script
        # Per event loop (one in a server; tests may use several): the calls of this turn.
        self._pending: dict[asyncio.AbstractEventLoop, list[_Call]] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._flush, loop)
        pending.append((keys, args, future))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        calls = self._pending.pop(loop, [])
        task = asyncio.ensure_future(self._send([c for c in calls if not c[2].done()]))
        self._sending.add(task)  # a reference until it is done
        task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        if len(calls) == 1:
            keys, args, future = calls[0]
            await self._settle(future, self._alone(keys, args))
            return
        pipe = self._store.pipeline(transaction=False)
        for keys, args, _future in calls:
            pipe.evalsha(self._script.sha, len(keys), *keys, *args)
        try:
            results = await pipe.execute(raise_on_error=False)
        except BaseException as exc:
            for _keys, _args, future in calls:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (keys, args, future), result in zip(calls, results, strict=True):
            if isinstance(result, redis.exceptions.NoScriptError):
                await self._settle(future, self._alone(keys, args))
            elif not future.done():
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _alone(self, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        """One call through redis-py's script object (it loads a script the store lost)."""
        return await self._script(keys=list(keys), args=list(args))

    @staticmethod
    async def _settle(future: asyncio.Future[Any], work: Any) -> None:
        try:
            result = await work
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)


class SpentTokens:
    """The spent-token sets of every consultation in one store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._spend = _ScriptBatch(store, store.register_script(_SPEND_LUA))

    async def spend(
        self,
        cid: str,
        token_bytes: bytes,
        *,
        expire_at: datetime | None,
        record: Record | None = None,
        guard: Guard | None = None,
        attempts: Attempts | None = None,
    ) -> bool:
        """Mark the token spent; True if this call did it, False if it was spent before.

        ``record`` (a key with the consultation's hash tag, and its fields) is written by the
        same script, only when this call spends: both happen, or neither. With ``guard``
        nothing happens unless its fields hold; with ``attempts`` nothing happens over the
        limit, and otherwise the attempt is counted in the same step.

        Raises:
            ValueError: ``record`` or ``guard`` is empty, or a key is not of this consultation.
            GuardChanged: the guard did not hold (nothing written).
            TooManyAttempts: the attempt counter is at its limit (nothing written).
            StoreUnavailable: the store did not answer; nothing is known to be written.
        """
        expiry = "" if expire_at is None else str(int(expire_at.timestamp()))
        own = tag(cid) + ":"
        keys = [spent_set_key(cid)]
        pairs: list[str] = []
        records = guards = 0
        limit: list[str | int] = ["", 0, 0]
        if record is not None:
            key, fields = record
            if not fields or not key.startswith(own):
                raise ValueError("a record needs fields and a key of the same consultation")
            keys.append(key)
            pairs += [part for pair in fields.items() for part in pair]
            records = len(fields)
        if guard is not None:
            if not guard.fields or not guard.key.startswith(own):
                raise ValueError("a guard needs fields and a key of the same consultation")
            keys.append(guard.key)
            pairs += [part for pair in guard.fields.items() for part in pair]
            guards = len(guard.fields)
        if attempts is not None:
            if not all(key.startswith(own) for key in attempts.keys):
                raise ValueError("attempt counters must be keys of the same consultation")
            keys += attempts.keys
            limit = [attempts.limit, attempts.previous_weight_permille, attempts.ttl_seconds]
        args = [token_hash(token_bytes), expiry, records, guards, *limit, *pairs]
        try:
            outcome = await self._spend(keys, args)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise StoreUnavailable from exc
        status = int(outcome[0])
        if status == -1:
            raise GuardChanged
        if status == -2:
            raise TooManyAttempts(int(outcome[1]), int(outcome[2]))
        return status == 1

    async def is_spent(self, cid: str, token_bytes: bytes) -> bool:
        """Whether the token was spent (for audits and tests; redemption uses :meth:`spend`)."""
        try:
            found = await self._store.sismember(spent_set_key(cid), token_hash(token_bytes))
        except (redis.exceptions.RedisError, OSError) as exc:
            raise StoreUnavailable from exc
        return bool(found)
