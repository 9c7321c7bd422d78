"""SpentTokens against the real store: spends of one event-loop turn share a round trip,
and each still succeeds, fails or is skipped on its own."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis

from inspraak.store import open_store
from verifier import SpentTokens, StoreUnavailable, spent_set_key, token_hash

from .conftest import CID, OTHER_CID

pytestmark = pytest.mark.anyio


async def test_concurrent_spends_share_one_connection_and_each_counts(
    redis_url: str, sync_store: redis.Redis
) -> None:
    tokens = [os.urandom(64) for _ in range(50)]
    async with open_store(redis_url) as store:
        spent = SpentTokens(store)
        first = await asyncio.gather(*(spent.spend(CID, t, expire_at=None) for t in tokens))
        again = await asyncio.gather(*(spent.spend(CID, t, expire_at=None) for t in tokens))
        # Fifty calls at once went out together: the pool never needed a second connection
        # (one each would have opened up to fifty).
        connections = [c for c in sync_store.client_list() if c["cmd"] in ("evalsha", "exec")]
        assert len(connections) == 1, connections
    assert first == [True] * 50
    assert again == [False] * 50
    assert sync_store.smembers(spent_set_key(CID)) == {token_hash(t).encode() for t in tokens}


async def test_one_failing_call_fails_alone(redis_url: str, sync_store: redis.Redis) -> None:
    sync_store.set(spent_set_key(OTHER_CID), "not a set")  # its SADD fails: WRONGTYPE
    async with open_store(redis_url) as store:
        spent = SpentTokens(store)
        results = await asyncio.gather(
            spent.spend(CID, b"a", expire_at=None),
            spent.spend(OTHER_CID, b"b", expire_at=None),
            spent.spend(CID, b"c", expire_at=None),
            return_exceptions=True,
        )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], StoreUnavailable)
    assert sync_store.scard(spent_set_key(CID)) == 2


async def test_a_script_the_store_lost_is_loaded_again(
    redis_url: str, sync_store: redis.Redis
) -> None:
    async with open_store(redis_url) as store:
        spent = SpentTokens(store)
        assert await spent.spend(CID, b"before", expire_at=None)
        sync_store.script_flush()  # as after a restart without the script cache
        results = await asyncio.gather(
            *(spent.spend(CID, bytes([i]), expire_at=None) for i in range(5))
        )
        assert results == [True] * 5
        sync_store.script_flush()
        assert await spent.spend(CID, b"alone", expire_at=None)
    assert sync_store.scard(spent_set_key(CID)) == 7


async def test_a_caller_gone_before_the_turn_ends_spends_nothing(
    redis_url: str, sync_store: redis.Redis
) -> None:
    async with open_store(redis_url) as store:
        spent = SpentTokens(store)
        task = asyncio.ensure_future(spent.spend(CID, b"gone", expire_at=None))
        await asyncio.sleep(0)  # the call is queued for this turn's batch
        task.cancel()
        kept = await spent.spend(CID, b"kept", expire_at=None)
        with pytest.raises(asyncio.CancelledError):
            await task
    assert kept is True
    assert sync_store.smembers(spent_set_key(CID)) == {token_hash(b"kept").encode()}


async def test_a_store_refusing_writes_fails_every_call_of_the_batch(
    redis_url: str, sync_store: redis.Redis
) -> None:
    async with open_store(redis_url) as store:
        spent = SpentTokens(store)
        await spent.spend(CID, b"warm", expire_at=None)  # the script is loaded
        sync_store.config_set("min-replicas-to-write", 1)  # every write: NOREPLICAS
        try:
            results = await asyncio.gather(
                *(spent.spend(CID, bytes([i]), expire_at=None) for i in range(10)),
                return_exceptions=True,
            )
        finally:
            sync_store.config_set("min-replicas-to-write", 0)
        assert all(isinstance(r, StoreUnavailable) for r in results), results
        assert sync_store.smembers(spent_set_key(CID)) == {token_hash(b"warm").encode()}
        # Back to normal: the same tokens spend once.
        assert (
            await asyncio.gather(*(spent.spend(CID, bytes([i]), expire_at=None) for i in range(10)))
            == [True] * 10
        )
