"""Audit fixtures: a second real Valkey for the issuer side, a signing key, a fixed clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa

from inspraak.audit import AuditOptions
from inspraak.clock import FixedClock
from inspraak.store import EmbeddedStore


@pytest.fixture(scope="session")
def issuer_valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """A second server, so that the two sides are separate stores as in production.

    Configured as privacy_docs/unlinkability.md asks of an issuer store: hashes always in
    hashtable encoding, so that the ledger does not return subjects in issuance order.
    """
    store = EmbeddedStore(
        tmp_path_factory.mktemp("valkey-issuer"),
        appendfsync="everysec",
        persist=False,
        extra_config={"hash-max-listpack-entries": 0},
    )
    store.start()
    yield store
    store.stop()


@pytest.fixture
def valkey_defaults(redis_url: str) -> Iterator[None]:
    """The shared test server with Valkey's default small-hash encoding (listpack, which
    keeps insertion order) for a negative twin; Inspraak's own stores turn it off."""
    client = redis.Redis.from_url(redis_url)
    client.config_set("hash-max-listpack-entries", 128)
    try:
        yield
    finally:
        client.config_set("hash-max-listpack-entries", 0)
        client.close()


@pytest.fixture
def issuer_url(issuer_valkey: EmbeddedStore) -> str:
    client = redis.Redis.from_url(issuer_valkey.url)
    client.flushall()
    client.close()
    return issuer_valkey.url


@pytest.fixture
def issuer_store(issuer_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(issuer_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def pepper() -> bytes:
    return os.urandom(32)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 15, 10, 30, tzinfo=UTC))


@pytest.fixture
def options(clock: FixedClock) -> AuditOptions:
    return AuditOptions(today=clock.now().date(), public_urls=("http://127.0.0.1:8000",))
