"""CORS: credentialed requests only from the configured participation origins."""

from __future__ import annotations

import pytest

from tests.issuer.conftest import ORIGIN, Issuer


def test_preflight_from_an_allowed_origin_is_answered(issuer: Issuer) -> None:
    response = issuer.client.options(
        "/c/klimaat/token-request",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://127.0.0.1:8001",  # another port
        "http://127.0.0.1:8000.evil.example",
        "null",
        ORIGIN.replace("http://", "https://"),
    ],
)
def test_other_origins_get_no_cors_headers(issuer: Issuer, origin: str) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    preflight = issuer.client.options(
        "/c/klimaat/token-request",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    request, _ = issuer.token_request("klimaat")
    response = issuer.post_token_request("klimaat", request.to_bytes(), Origin=origin)
    assert not any(h.startswith("access-control-") for h in response.headers)
    assert "Origin" in response.headers["vary"]


def test_simple_request_from_the_allowed_origin_gets_credentials_headers(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    response = issuer.post_token_request("klimaat", request.to_bytes(), Origin=ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"


def test_preflight_asking_for_other_headers_is_refused(issuer: Issuer) -> None:
    response = issuer.client.options(
        "/c/klimaat/token-request",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-forwarded-for",
        },
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
