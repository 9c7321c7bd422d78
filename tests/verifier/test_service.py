"""The stand-alone verifier service: ``POST /redeem``, ``GET /healthz``, its OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from inspraak.store import EmbeddedStore
from tokens import (
    IssuerDirectory,
    TokenKey,
    encode_public_key,
    format_authorization,
    parse_www_authenticate,
)
from verifier import StaticKeySource, challenge_for, create_app

from .conftest import CID
from .helpers import b64url, make_token


@pytest.fixture
def client(
    settings: Settings, clock: FixedClock, key_source: StaticKeySource
) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock, key_source=key_source)) as client:
        yield client


@pytest.fixture
def token_b64(signing_key: rsa.RSAPrivateKey, settings: Settings) -> str:
    return b64url(make_token(signing_key, challenge_for(settings, CID)).to_bytes())


def test_redeem_from_json_once(client: TestClient, token_b64: str, settings: Settings) -> None:
    first = client.post("/redeem", json={"consultation": CID, "token": token_b64})
    assert first.status_code == 200
    assert first.json() == {"ok": True}
    second = client.post("/redeem", json={"consultation": CID, "token": token_b64})
    assert second.status_code == 401
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["status"] == 401
    [offered] = parse_www_authenticate(second.headers["www-authenticate"])
    assert offered.challenge == challenge_for(settings, CID)


def test_redeem_from_authorization_header(
    client: TestClient, signing_key: rsa.RSAPrivateKey, settings: Settings
) -> None:
    token = make_token(signing_key, challenge_for(settings, CID))
    headers = {"Authorization": format_authorization(token)}
    assert client.post("/redeem", json={"consultation": CID}, headers=headers).status_code == 200
    assert client.post("/redeem", json={"consultation": CID}, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "token",
    ["", "!!!!", "AAAA", "A", b64url(b"\x00\x02" + bytes(352)), b64url(bytes(354)) + "==="],
    ids=["empty", "not-base64", "short", "one-char", "zero-token", "bad-padding"],
)
def test_malformed_tokens_get_the_one_refusal(
    client: TestClient, token: str, token_b64: str
) -> None:
    refused = client.post("/redeem", json={"consultation": CID, "token": token})
    client.post("/redeem", json={"consultation": CID, "token": token_b64})
    spent = client.post("/redeem", json={"consultation": CID, "token": token_b64})
    assert refused.status_code == 401
    assert refused.json() == spent.json()
    assert refused.headers["www-authenticate"] == spent.headers["www-authenticate"]


def test_missing_token_is_refused(client: TestClient) -> None:
    assert client.post("/redeem", json={"consultation": CID}).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"consultation": "Not An Id"},
        {"consultation": CID, "token": "x" * 2000},
        {"consultation": CID, "extra": 1},
    ],
    ids=["empty", "bad-id", "too-long", "unknown-field"],
)
def test_invalid_requests_are_422(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/redeem", json=body).status_code == 422


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True}


def test_store_down_is_503_for_redeem_and_healthz(
    settings: Settings,
    clock: FixedClock,
    key_source: StaticKeySource,
    tmp_path: Path,
    token_b64: str,
) -> None:
    embedded = EmbeddedStore(tmp_path / "store", persist=False)
    down = settings.model_copy(update={"redis_url": embedded.start()})
    with TestClient(create_app(down, clock=clock, key_source=key_source)) as client:
        embedded.kill()
        assert client.get("/healthz").status_code == 503
        response = client.post("/redeem", json={"consultation": CID, "token": token_b64})
    assert response.status_code == 503
    assert "opnieuw" in response.json()["detail"]


def test_openapi_has_stable_operation_ids(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["paths"]["/redeem"]["post"]["operationId"] == "verifier-redeem"
    assert document["paths"]["/healthz"]["get"]["operationId"] == "verifier-healthz"
    assert "401" in document["paths"]["/redeem"]["post"]["responses"]


def test_keys_file_configures_the_default_key_source(
    settings: Settings,
    clock: FixedClock,
    signing_key: rsa.RSAPrivateKey,
    tmp_path: Path,
    token_b64: str,
) -> None:
    directory = IssuerDirectory(
        "https://issuer.example/t", [TokenKey(2, encode_public_key(signing_key.public_key()))]
    )
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({CID: json.loads(directory.to_json())}))
    configured = settings.model_copy(
        update={"verifier": settings.verifier.model_copy(update={"keys_file": path})}
    )
    with TestClient(create_app(configured, clock=clock)) as client:
        ok = client.post("/redeem", json={"consultation": CID, "token": token_b64})
    assert ok.status_code == 200


def test_request_log_has_no_token_and_no_address(
    client: TestClient, token_b64: str, json_logs: StringIO
) -> None:
    stream = json_logs
    client.post(
        "/redeem",
        json={"consultation": CID, "token": token_b64},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    client.post("/redeem", json={"consultation": CID, "token": token_b64})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    assert token_b64[:40] not in text and token_b64.rstrip("=")[-40:] not in text
    assert "203.0.113.9" not in text and "testclient" not in text
    events = [line["event"] for line in lines]
    assert events.count("token_redeemed") == 1
    assert events.count("token_refused") == 1
    assert events.count("request") == 2
    assert {line["route"] for line in lines if line["event"] == "request"} == {"/redeem"}
