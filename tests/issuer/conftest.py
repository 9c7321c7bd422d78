"""Fixtures for the issuer's issuance tests: a running issuer app, logins, token requests.

Sessions are real cookies made with the issuer's own SessionCodec; token requests are
made with the client side of ``tokens``; the store is the real embedded Valkey.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

import tokens
from inspraak.clock import FixedClock
from inspraak.settings import Settings
from issuer import create_app
from issuer.identifiers import pepper_bytes, subject_key
from issuer.session import COOKIE_NAME, IssuerSession, SessionCodec

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
TODAY = NOW.date()
CLOSES = date(2026, 4, 1)
ADMIN_KEY = "admin-key-for-tests-0123456789abcdef"
BSN = "999990019"  # a test BSN that passes the 11-proef
OTHER_BSN = "999990020"
KVK = "12345678"
ORIGIN = "http://127.0.0.1:8000"


def host_of(url: str) -> bytes:
    return (urlsplit(url).netloc or url).encode()


def challenge_for(settings: Settings, cid: str) -> tokens.TokenChallenge:
    """The consultation's fixed TokenChallenge (docs/architecture.md)."""
    return tokens.TokenChallenge(
        token_type=tokens.TOKEN_TYPE_BLIND_RSA,
        issuer_name=host_of(settings.issuer_url),
        redemption_context=hashlib.sha256(
            b"inspraak/v1/redemption-context:" + cid.encode()
        ).digest(),
        origin_info=host_of(settings.public_url),
    )


def verify_with_cryptography(token: tokens.Token, public_key: rsa.RSAPublicKey) -> None:
    """RSABSSA-SHA384-PSS-Deterministic: plain RSASSA-PSS verify, SHA-384, salt 48."""
    public_key.verify(
        token.authenticator,
        token.authenticator_input(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
        hashes.SHA384(),
    )


def policy_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemes": ["digid"],
        "min_level": {"digid": "midden"},
        "closes_at": CLOSES.isoformat(),
    }
    body.update(overrides)
    return body


@dataclass
class Issuer:
    """A test driver for one issuer app: admin calls, logins and token requests."""

    client: TestClient
    settings: Settings
    clock: FixedClock

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}

    def put_policy(self, cid: str, **overrides: Any) -> dict[str, Any]:
        response = self.client.put(
            f"/api/admin/consultations/{cid}",
            json=policy_body(**overrides),
            headers=self.admin_headers,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def session_cookie(
        self, scheme: str = "digid", identifier: str = BSN, level: str = "midden"
    ) -> str:
        key = subject_key(pepper_bytes(self.settings), scheme, identifier)
        codec = SessionCodec.from_settings(self.settings, clock=self.clock)
        return codec.encode(IssuerSession(scheme=scheme, subject_key=key, level=level))  # type: ignore[arg-type]

    def login(self, scheme: str = "digid", identifier: str = BSN, level: str = "midden") -> None:
        self.client.cookies.clear()
        self.client.cookies.set(COOKIE_NAME, self.session_cookie(scheme, identifier, level))

    def logout(self) -> None:
        self.client.cookies.clear()

    def public_keys(self, cid: str) -> list[rsa.RSAPublicKey]:
        response = self.client.get(f"/c/{cid}/.well-known/private-token-issuer-directory")
        assert response.status_code == 200, response.text
        directory = tokens.IssuerDirectory.from_json(response.content)
        return [tokens.decode_public_key(k.token_key) for k in directory.token_keys]

    def token_request(
        self, cid: str, public_key: rsa.RSAPublicKey | None = None
    ) -> tuple[tokens.TokenRequest, tokens.TokenRequestState]:
        key = public_key or self.public_keys(cid)[0]
        return tokens.create_token_request(key, challenge_for(self.settings, cid))

    def post_token_request(self, cid: str, body: bytes, **headers: str) -> Any:
        return self.client.post(
            f"/c/{cid}/token-request",
            content=body,
            headers={"Content-Type": "application/private-token-request", **headers},
        )

    def obtain_token(self, cid: str, public_key: rsa.RSAPublicKey | None = None) -> tokens.Token:
        request, state = self.token_request(cid, public_key)
        response = self.post_token_request(cid, request.to_bytes())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/private-token-response"
        return tokens.finalize_token(state, tokens.TokenResponse.from_bytes(response.content))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def issuer_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "issuer": settings.issuer.model_copy(
                update={"admin_api_key": SecretStr(ADMIN_KEY), "allowed_origins": (ORIGIN,)}
            )
        }
    )


@pytest.fixture
def issuer_app(issuer_settings: Settings, clock: FixedClock) -> FastAPI:
    return create_app(issuer_settings, clock=clock)


@pytest.fixture
def issuer(issuer_app: FastAPI, issuer_settings: Settings, clock: FixedClock) -> Iterator[Issuer]:
    with TestClient(issuer_app, base_url="http://127.0.0.1:8000") as client:
        yield Issuer(client=client, settings=issuer_settings, clock=clock)


@pytest.fixture
def live_issuer(issuer_app: FastAPI) -> Iterator[str]:
    """The issuer app under uvicorn on a free loopback port; yields its base URL."""
    config = uvicorn.Config(
        issuer_app, host="127.0.0.1", port=0, access_log=False, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
