"""Robustness: a store that does not answer gives 503 with Retry-After, never a stack trace."""

from __future__ import annotations

import socket

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from inspraak.clock import FixedClock
from inspraak.settings import Settings
from participation import create_app
from verifier import StaticKeySource, VerificationKey


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_store_down_is_503_with_retry_after(
    settings: Settings, clock: FixedClock, token_key: rsa.RSAPrivateKey
) -> None:
    down = settings.model_copy(update={"redis_url": _dead_url()})
    source = StaticKeySource(shared=[VerificationKey.from_public_key(token_key.public_key())])
    with TestClient(create_app(down, clock=clock, key_source=source)) as client:
        for method, path in (
            ("GET", "/api/consultations"),
            ("GET", "/api/c/stadspark"),
            ("POST", "/api/c/stadspark/join"),
        ):
            response = client.request(method, path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["retry-after"] == "5"
            assert response.json()["code"] == "store_unavailable"


def test_unknown_path_and_method_are_problem_json(settings: Settings, clock: FixedClock) -> None:
    with TestClient(create_app(settings, clock=clock, key_source=StaticKeySource())) as client:
        missing = client.get("/api/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        wrong = client.delete("/api/consultations")
        assert wrong.status_code == 405
        assert wrong.json()["detail_en"] == "This method is not allowed here."
