"""RFC 9578 issuance over HTTP against the real store: the happy path and every refusal."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature

import tokens
from tests.issuer.conftest import (
    KVK,
    OTHER_BSN,
    TODAY,
    Issuer,
    challenge_for,
    verify_with_cryptography,
)


def test_token_is_issued_finalized_and_verifies_twice(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    (public_key,) = issuer.public_keys("klimaat")
    token = issuer.obtain_token("klimaat")
    challenge = challenge_for(issuer.settings, "klimaat")
    tokens.verify_token(token, public_key, challenge=challenge)
    verify_with_cryptography(token, public_key)
    # Negative twin: a token whose authenticator is altered fails both checks.
    forged = tokens.Token(
        token.token_type,
        token.nonce,
        token.challenge_digest,
        token.token_key_id,
        bytes([token.authenticator[0] ^ 1]) + token.authenticator[1:],
    )
    with pytest.raises(tokens.InvalidSignature):
        tokens.verify_token(forged, public_key, challenge=challenge)
    with pytest.raises(InvalidSignature):
        verify_with_cryptography(forged, public_key)


def test_second_token_for_the_same_person_is_refused_with_409(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    issuer.obtain_token("klimaat")
    request, _ = issuer.token_request("klimaat")
    response = issuer.post_token_request("klimaat", request.to_bytes())
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "already_issued"
    # Another person still gets one.
    issuer.login(identifier=OTHER_BSN)
    issuer.obtain_token("klimaat")


def test_tokens_per_person_is_configurable(issuer: Issuer) -> None:
    issuer.put_policy("klimaat", tokens_per_person=3)
    issuer.login()
    for _ in range(3):
        issuer.obtain_token("klimaat")
    request, _ = issuer.token_request("klimaat")
    assert issuer.post_token_request("klimaat", request.to_bytes()).status_code == 409


def test_wrong_media_type_is_415(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    response = issuer.client.post(
        "/c/klimaat/token-request",
        content=request.to_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_no_session_is_401(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    request, _ = issuer.token_request("klimaat")
    response = issuer.post_token_request("klimaat", request.to_bytes())
    assert response.status_code == 401
    assert response.json()["message"]["nl"]


def test_expired_session_is_401(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    issuer.clock.advance(issuer.settings.issuer.session_idle_seconds + 1)
    assert issuer.post_token_request("klimaat", request.to_bytes()).status_code == 401


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b"\x00\x01" + b[2:], id="other-token-type"),
        pytest.param(lambda b: b[:2] + bytes([b[2] ^ 0xFF]) + b[3:], id="other-key-id"),
        pytest.param(lambda b: b[:-1], id="short"),
        pytest.param(lambda b: b + b"\x00", id="long"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b[:3] + b"\xff" * 256, id="blinded-msg-above-n"),
    ],
)
def test_malformed_token_request_is_422_and_records_nothing(
    issuer: Issuer, mutate: object, sync_store: object
) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    body = mutate(request.to_bytes())  # type: ignore[operator]
    response = issuer.post_token_request("klimaat", body)
    assert response.status_code == 422
    assert response.json()["code"] == "malformed_token_request"
    # The ledger is untouched: the same person still gets their one token.
    issuer.obtain_token("klimaat")


def test_unknown_consultation_is_404(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    for cid in ("bestaat-niet", "Not_A_Slug"):
        response = issuer.post_token_request(cid, request.to_bytes())
        assert response.status_code == 404
    directory = issuer.client.get("/c/bestaat-niet/.well-known/private-token-issuer-directory")
    assert directory.status_code == 404


def test_closed_consultation_is_410_and_lists_no_keys(issuer: Issuer) -> None:
    issuer.put_policy("klimaat", closes_at=(TODAY + timedelta(days=1)).isoformat())
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    issuer.clock.advance(86_400)  # the closing day has come
    issuer.login()
    response = issuer.post_token_request("klimaat", request.to_bytes())
    assert response.status_code == 410
    assert response.json()["code"] == "consultation_closed"
    directory = issuer.client.get("/c/klimaat/.well-known/private-token-issuer-directory")
    assert directory.json()["token-keys"] == []


@pytest.mark.parametrize(
    ("policy", "login", "reason"),
    [
        ({"schemes": ["eherkenning"], "min_level": {"eherkenning": "loa3"}}, {}, "wrong_scheme"),
        ({"min_level": {"digid": "substantieel"}}, {"level": "midden"}, "level_too_low"),
        ({"panel": True}, {}, "not_in_panel"),
        ({"brp": {"min_age": 18}}, {}, "brp_condition"),
        (
            {"schemes": ["eherkenning"], "min_level": {"eherkenning": "loa3"}},
            {"scheme": "eherkenning", "identifier": KVK, "level": "loa2plus"},
            "level_too_low",
        ),
    ],
)
def test_not_eligible_is_403_with_a_reason(
    issuer: Issuer, policy: dict[str, object], login: dict[str, str], reason: str
) -> None:
    issuer.put_policy("klimaat", **policy)
    issuer.login(**login)
    request, _ = issuer.token_request("klimaat")
    response = issuer.post_token_request("klimaat", request.to_bytes())
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_eligible" and body["reason"] == reason
    assert body["message"]["nl"] and body["message"]["en"]


def test_higher_level_and_eherkenning_are_accepted(issuer: Issuer) -> None:
    issuer.put_policy(
        "ondernemers",
        schemes=["digid", "eherkenning"],
        min_level={"digid": "substantieel", "eherkenning": "loa3"},
    )
    issuer.login(level="hoog")
    issuer.obtain_token("ondernemers")
    issuer.login(scheme="eherkenning", identifier=KVK, level="loa3")
    issuer.obtain_token("ondernemers")


def test_directory_lists_the_key_with_media_type_and_cache_headers(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    response = issuer.client.get("/c/klimaat/.well-known/private-token-issuer-directory")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/private-token-issuer-directory"
    assert "max-age" in response.headers["cache-control"]
    body = response.json()
    assert body["issuer-request-uri"].endswith("/c/klimaat/token-request")
    (entry,) = body["token-keys"]
    assert entry["token-type"] == 2
    key_bytes = base64.urlsafe_b64decode(entry["token-key"])  # padded, RFC 9578 §4
    assert tokens.decode_public_key(key_bytes).key_size == 2048
    again = issuer.client.get(
        "/c/klimaat/.well-known/private-token-issuer-directory",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


def test_session_cookie_is_refreshed_on_issuance(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    response = issuer.post_token_request("klimaat", request.to_bytes())
    assert response.status_code == 200
    assert "inspraak_issuer=" in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert response.headers["cache-control"] == "no-store"


def test_store_failure_is_503_with_retry_after(issuer: Issuer, valkey: object) -> None:
    issuer.put_policy("klimaat")
    issuer.login()
    request, _ = issuer.token_request("klimaat")
    # Make the one store the app uses refuse writes: a real failure of the real server.
    import redis

    admin = redis.Redis.from_url(valkey.url)  # type: ignore[attr-defined]
    admin.config_set("min-replicas-to-write", 1)
    try:
        response = issuer.post_token_request("klimaat", request.to_bytes())
    finally:
        admin.config_set("min-replicas-to-write", 0)
        admin.close()
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["code"] == "unavailable"
    # Nothing was recorded: the person still gets their token afterwards.
    issuer.obtain_token("klimaat")


def test_login_options_are_public_and_follow_the_policy(issuer: Any) -> None:
    issuer.put_policy("opties", schemes=["digid", "eherkenning"],
                      min_level={"digid": "substantieel", "eherkenning": "loa3"})  # fmt: skip
    answer = issuer.client.get("/c/opties/login-options")
    assert answer.status_code == 200
    assert answer.json() == {
        "schemes": [
            {"scheme": "digid", "min_level": "substantieel"},
            {"scheme": "eherkenning", "min_level": "loa3"},
        ]
    }
    assert issuer.client.get("/c/onbekend/login-options").status_code == 404
