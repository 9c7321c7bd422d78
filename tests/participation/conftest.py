"""Fixtures for the participation API: a real app on the real embedded store, a fixed clock,
a token key made in the test, and helpers that mint real Privacy Pass tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from inspraak.store import open_store
from participation import create_app
from participation.services import ApiKeyService
from tokens import (
    SYSTEM_RNG,
    create_token_request,
    finalize_token,
    format_authorization,
    generate_private_key,
    issue_token_response,
)
from verifier import StaticKeySource, VerificationKey, challenge_for

CLIENT_ADDRESS = "203.0.113.77"
"""A documentation address (RFC 5737) planted as the client; it must never be stored or logged."""
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def token_key() -> rsa.RSAPrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def other_token_key() -> rsa.RSAPrivateKey:
    return generate_private_key()


def make_token(key: rsa.RSAPrivateKey, settings: Settings, cid: str) -> str:
    """A real token for ``cid``: blinded, blind-signed and finalized (RFC 9578 §6)."""
    request, state = create_token_request(key.public_key(), challenge_for(settings, cid))
    token = finalize_token(state, issue_token_response(key, request))
    return format_authorization(token)


@dataclass
class World:
    """One running participation app and the things a test needs around it."""

    client: TestClient
    settings: Settings
    clock: FixedClock
    store: redis.Redis
    token_key: rsa.RSAPrivateKey
    keys: dict[str, str] = field(default_factory=dict)

    def api_key(
        self,
        *,
        role: str = "organiser",
        organisation: str = "Gemeente Utrecht",
        name: str = "Moderator Marit",
    ) -> str:
        cache = f"{role}/{organisation}/{name}"
        if cache not in self.keys:
            self.keys[cache] = asyncio.run(
                _create_key(self.settings, name=name, organisation=organisation, role=role)
            )
        return self.keys[cache]

    def admin(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key(**kwargs)}"}

    def create(self, cid: str = "stadspark", **overrides: Any) -> dict[str, Any]:
        body = {
            "id": cid,
            "title": "Het nieuwe stadspark",
            "description": "Wat vindt **u** van het park?",
            "question": "Hoe moet het park worden?",
            "languages": ["nl", "en"],
            "opens_at": "2026-03-01",
            "closes_at": "2026-03-31",
            "moderation": "strict",
            "allow_statements": True,
        }
        body.update(overrides)
        response = self.client.post("/api/admin/consultations", json=body, headers=self.admin())
        assert response.status_code == 201, response.text
        return dict(response.json())

    def seed(self, cid: str, texts: list[str]) -> list[int]:
        response = self.client.post(
            f"/api/admin/c/{cid}/statements", json={"statements": texts}, headers=self.admin()
        )
        assert response.status_code == 201, response.text
        return list(response.json()["ids"])

    def token(self, cid: str, key: rsa.RSAPrivateKey | None = None) -> str:
        return make_token(key or self.token_key, self.settings, cid)

    def join(self, cid: str) -> dict[str, str]:
        """Join with a fresh token; the Bearer header of the new participant session."""
        response = self.client.post(
            f"/api/c/{cid}/join", headers={"Authorization": self.token(cid)}
        )
        assert response.status_code == 200, response.text
        self.client.cookies.clear()  # each participant speaks only through its own header
        return {"Authorization": f"Bearer {response.json()['session']}"}

    def vote(self, cid: str, session: dict[str, str], sid: int, vote: str) -> Any:
        return self.client.post(
            f"/api/c/{cid}/votes", json={"statement": sid, "vote": vote}, headers=session
        )

    def all_store_bytes(self) -> bytes:
        """Every key and value in the store, concatenated (for privacy checks)."""
        out = bytearray()
        for key in self.store.scan_iter(count=1000):
            out += key
            kind = self.store.type(key)
            if kind == b"string":
                out += self.store.get(key) or b""
            elif kind == b"hash":
                for k, v in self.store.hgetall(key).items():
                    out += k + v
            elif kind == b"set":
                out += b"".join(self.store.smembers(key))
            elif kind == b"zset":
                out += b"".join(self.store.zrange(key, 0, -1))
            elif kind == b"list":
                out += b"".join(self.store.lrange(key, 0, -1))
            elif kind == b"stream":
                for entry_id, fields in self.store.xrange(key):
                    out += entry_id + b"".join(k + v for k, v in fields.items())
        return bytes(out)


async def _create_key(settings: Settings, *, name: str, organisation: str, role: str) -> str:
    assert settings.redis_url is not None
    async with open_store(settings.redis_url) as store:
        service = ApiKeyService(
            store=store, clock=FixedClock(NOW), settings=settings, rng=SYSTEM_RNG
        )
        return await service.create(name=name, organisation=organisation, role=role)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def build_world(
    settings: Settings,
    clock: FixedClock,
    sync_store: redis.Redis,
    token_key: rsa.RSAPrivateKey,
) -> Iterator[World]:
    source = StaticKeySource(shared=[VerificationKey.from_public_key(token_key.public_key())])
    app = create_app(settings, clock=clock, key_source=source)
    with TestClient(app, client=(CLIENT_ADDRESS, 50000)) as client:
        yield World(
            client=client, settings=settings, clock=clock, store=sync_store, token_key=token_key
        )


@pytest.fixture
def world(
    settings: Settings, clock: FixedClock, sync_store: redis.Redis, token_key: rsa.RSAPrivateKey
) -> Iterator[World]:
    yield from build_world(settings, clock, sync_store, token_key)
