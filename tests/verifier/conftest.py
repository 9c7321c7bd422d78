"""Fixtures for the verifier tests: signing keys made here, the real store, a fixed clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from io import StringIO

import pytest
import structlog
from cryptography.hazmat.primitives.asymmetric import rsa

from inspraak.clock import FixedClock
from inspraak.logging import configure_logging
from inspraak.settings import Settings
from inspraak.store import Store, open_store
from tokens import generate_private_key
from verifier import Redeemer, StaticKeySource, VerificationKey

CID = "fietspaden-2026"
OTHER_CID = "windmolens-noord"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return generate_private_key()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def key_source(signing_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> StaticKeySource:
    """CID is signed with ``signing_key``, OTHER_CID with ``other_key``."""
    return StaticKeySource(
        {
            CID: [VerificationKey.from_public_key(signing_key.public_key())],
            OTHER_CID: [VerificationKey.from_public_key(other_key.public_key())],
        }
    )


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[Store]:
    async with open_store(redis_url) as client:
        yield client


@pytest.fixture
def redeemer(
    store: Store, key_source: StaticKeySource, clock: FixedClock, settings: Settings
) -> Redeemer:
    return Redeemer(store=store, key_source=key_source, clock=clock, settings=settings)


@pytest.fixture
def json_logs() -> Iterator[StringIO]:
    """The production logging pipeline (scrubbed JSON) into a buffer; restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = StringIO()
    configure_logging(log_format="json", level="INFO", stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
