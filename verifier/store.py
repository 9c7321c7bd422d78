"""The spent-token set in the store: one Lua script, one key per consultation.

``{c:<cid>}:spent`` holds SHA-256(token) hex, never the token; ``SADD`` answering 1 is the
one atomic redemption, so exactly one of many concurrent attempts wins. The key name comes
from :func:`participation.store.spent_key` (docs/architecture.md, "Spent tokens"). A caller
may hand over a record (a hash of the same consultation) that the same script writes only
when it spends: participation's join keeps its participant record that way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from importlib.resources import files
from typing import TYPE_CHECKING

import redis.exceptions

from verifier.errors import StoreUnavailable

if TYPE_CHECKING:
    # Types only (see verifier/keys.py on the import cycle).
    from inspraak.store import Store

__all__ = ["Record", "SpentTokens", "spent_set_key", "token_hash"]

Record = tuple[str, Mapping[str, str]]
"""(key, fields) of a hash written in the same script as the spend, only if it spends."""

_SPEND_LUA = (files("verifier") / "lua" / "spend.lua").read_text(encoding="utf-8")


def spent_set_key(cid: str) -> str:
    """The consultation's spent-token set (the builder lives in participation/store.py)."""
    # Imported here, not at the top: participation imports verifier, and a top-level
    # import would make ``import verifier`` first run participation/__init__ half-way.
    from participation.store import spent_key

    return spent_key(cid)


def _tag(cid: str) -> str:
    from participation.store import tag  # see spent_set_key on this import

    return tag(cid)


def token_hash(token_bytes: bytes) -> str:
    """SHA-256 of the serialized Token, hex: the only trace of a token the store keeps."""
    return hashlib.sha256(token_bytes).hexdigest()


class SpentTokens:
    """The spent-token sets of every consultation in one store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._spend = store.register_script(_SPEND_LUA)

    async def spend(
        self,
        cid: str,
        token_bytes: bytes,
        *,
        expire_at: datetime | None,
        record: Record | None = None,
    ) -> bool:
        """Mark the token spent; True if this call did it, False if it was spent before.

        ``record`` (a key with the consultation's hash tag, and its fields) is written by the
        same script, only when this call spends: both happen, or neither.

        Raises:
            ValueError: ``record`` is empty or not a key of this consultation.
            StoreUnavailable: the store did not answer; nothing is known to be written.
        """
        expiry = "" if expire_at is None else str(int(expire_at.timestamp()))
        keys = [spent_set_key(cid)]
        args = [token_hash(token_bytes), expiry]
        if record is not None:
            key, fields = record
            if not fields or not key.startswith(_tag(cid) + ":"):
                raise ValueError("a record needs fields and a key of the same consultation")
            keys.append(key)
            args += [part for pair in fields.items() for part in pair]
        try:
            added = await self._spend(keys=keys, args=args)
        except (redis.exceptions.RedisError, OSError) as exc:
            raise StoreUnavailable from exc
        return int(added) == 1

    async def is_spent(self, cid: str, token_bytes: bytes) -> bool:
        """Whether the token was spent (for audits and tests; redemption uses :meth:`spend`)."""
        try:
            found = await self._store.sismember(spent_set_key(cid), token_hash(token_bytes))
        except (redis.exceptions.RedisError, OSError) as exc:
            raise StoreUnavailable from exc
        return bool(found)
