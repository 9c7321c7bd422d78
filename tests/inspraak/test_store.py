"""The embedded store is a real Valkey server with AOF, and keeps data across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from inspraak.store import _CONNECTIONS, EmbeddedStore, WaitingPool, connect, open_store


def test_embedded_store_persists_with_aof_across_restart(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path, appendfsync="always") as store:
        client = connect(store.url)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("bind")["bind"].startswith("127.0.0.1")
        # The ledger's order must not be insertion order (issuer.ledger-order).
        client.hset("ledger", mapping={f"{i:064x}": 1 for i in range(3)})
        assert client.object("encoding", "ledger") == b"hashtable"
        client.set("vote", "1")
        store.kill()  # no clean shutdown: only the AOF can bring it back
    assert (tmp_path / "aof").is_dir()
    with EmbeddedStore(tmp_path) as store:
        assert connect(store.url).get("vote") == b"1"


def test_test_store_is_flushed_per_test(sync_store) -> None:  # type: ignore[no-untyped-def]
    assert sync_store.dbsize() == 0
    sync_store.set("left-over", "x")


ARGUMENTS = [
    ("SET", "k", "v"),
    ("EVALSHA", "a" * 40, 2, "{c:x}:a", b"{c:x}:b", 0.1, 1e20, -0.0, 2**70, "één"),
    ("CONFIG GET", "appendonly"),
    (b"CONFIG GET", b"bind"),
    (b"GET", memoryview(b"k")),
    ("HSET", "h", "f", bytearray(b"x")),
]


@pytest.mark.parametrize("args", ARGUMENTS, ids=lambda a: str(a[0]))
def test_services_pack_commands_as_redis_py_does(args: tuple[Any, ...]) -> None:
    ours = _CONNECTIONS["redis"]().pack_command(*args)
    theirs = redis.asyncio.Connection().pack_command(*args)
    assert b"".join(ours) == b"".join(theirs)


def test_what_redis_py_refuses_is_still_refused() -> None:
    for value in (True, None):
        with pytest.raises(redis.DataError):
            _CONNECTIONS["redis"]().pack_command("SET", "k", value)


@pytest.mark.anyio
async def test_service_client_speaks_to_the_store(redis_url: str) -> None:
    async with open_store(redis_url) as store:
        assert await store.set("k", "één") is True
        assert await store.get("k") == "één".encode()
        assert await store.config_get("appendonly") == {"appendonly": "yes"}
        script = store.register_script("return {KEYS[1], ARGV[1], ARGV[2]}")
        assert await script(keys=["{c:x}:a"], args=[0.5, 7]) == [b"{c:x}:a", b"0.5", b"7"]
    assert {_CONNECTIONS[s].__mro__[2] for s in ("redis", "rediss", "unix")} == {
        redis.asyncio.Connection,
        redis.asyncio.SSLConnection,
        redis.asyncio.UnixDomainSocketConnection,
    }


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _pool(redis_url: str, size: int, wait: float) -> WaitingPool:
    return WaitingPool.from_url(
        redis_url, max_connections=size, timeout=wait, connection_class=_CONNECTIONS["redis"]
    )


@pytest.mark.anyio
async def test_commands_past_the_pool_size_wait_for_a_connection(redis_url: str) -> None:
    store = redis.asyncio.Redis.from_pool(_pool(redis_url, 4, 10))
    try:
        # 24 commands that each hold a connection for 0.2 s, on 4 connections: they queue.
        results = await asyncio.gather(*(store.blpop(["nothing"], timeout=0.2) for _ in range(24)))
        assert results == [None] * 24
        clients = await store.client_list()
        assert len([c for c in clients if c["cmd"] != "client|list"]) <= 4
        assert await store.ping() is True  # every slot came back
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_command_that_waits_too_long_fails_cleanly(redis_url: str) -> None:
    store = redis.asyncio.Redis.from_pool(_pool(redis_url, 1, 0.1))
    try:
        holding = asyncio.ensure_future(store.blpop(["nothing"], timeout=0.5))
        await asyncio.sleep(0.05)
        with pytest.raises(redis.ConnectionError, match="No connection available"):
            await store.ping()
        assert await holding is None
        assert await store.ping() is True  # the slot of the failed wait was not lost
    finally:
        await store.aclose()
