"""Signing keys: encrypted at rest under the KEK, rotated with not-before, old keys listed."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import tokens
from issuer.keys import derive_kek, sealing_aad
from issuer.store import keys_key, ledger_key
from tests.issuer.conftest import OTHER_BSN, TODAY, Issuer, challenge_for, verify_with_cryptography


def _all_store_bytes(store: Any) -> bytes:
    """Every key and value in the store, concatenated (hashes, sets and strings)."""
    chunks: list[bytes] = []
    for key in store.scan_iter():
        chunks.append(key)
        kind = store.type(key)
        if kind == b"string":
            chunks.append(store.get(key) or b"")
        elif kind == b"hash":
            for field, value in store.hgetall(key).items():
                chunks += [field, value]
        elif kind == b"set":
            chunks += list(store.smembers(key))
    return b"\n".join(chunks)


def test_private_key_is_stored_only_sealed_under_the_kek(
    issuer: Issuer, sync_store: redis.Redis
) -> None:
    issuer.put_policy("klimaat")
    ((raw_key_id, raw),) = sync_store.hgetall(keys_key("klimaat")).items()
    key_id = raw_key_id.decode() if isinstance(raw_key_id, bytes) else raw_key_id
    record = json.loads(raw)
    sealed = base64.urlsafe_b64decode(record["sealed"])
    assert issuer.settings.key_encryption_key is not None
    kek = derive_kek(issuer.settings.key_encryption_key.get_secret_value())
    der = AESGCM(kek).decrypt(sealed[:12], sealed[12:], sealing_aad("klimaat", key_id))
    private_key = serialization.load_der_private_key(der, password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size == 2048
    # The unsealed key is the one published.
    (published,) = issuer.public_keys("klimaat")
    assert published.public_numbers() == private_key.public_key().public_numbers()
    # Nothing in the store holds the key in the clear: no PEM, no DER, no private exponent.
    everything = _all_store_bytes(sync_store)
    numbers = private_key.private_numbers()
    assert b"PRIVATE KEY" not in everything
    assert der not in everything and base64.b64encode(der)[:64] not in everything
    for secret in (numbers.d, numbers.p, numbers.q):
        assert secret.to_bytes((secret.bit_length() + 7) // 8, "big") not in everything
        assert str(secret).encode()[:40] not in everything
    # Another KEK, or the record moved to another consultation, does not unseal it.
    with pytest.raises(InvalidTag):
        AESGCM(derive_kek("another key-encryption key")).decrypt(
            sealed[:12], sealed[12:], sealing_aad("klimaat", key_id)
        )
    with pytest.raises(InvalidTag):
        AESGCM(kek).decrypt(sealed[:12], sealed[12:], sealing_aad("andere", key_id))


def test_rotation_keeps_old_tokens_verifiable_and_signs_with_the_new_key(issuer: Issuer) -> None:
    issuer.put_policy("klimaat", tokens_per_person=2)
    issuer.login()
    (old_key,) = issuer.public_keys("klimaat")
    old_token = issuer.obtain_token("klimaat", old_key)
    response = issuer.client.post(
        "/api/admin/consultations/klimaat/keys", headers=issuer.admin_headers
    )
    assert response.status_code == 200
    assert [k["current"] for k in response.json()["keys"]] == [True, False]
    new_key, listed_old = issuer.public_keys("klimaat")  # newest first
    assert listed_old.public_numbers() == old_key.public_numbers()
    challenge = challenge_for(issuer.settings, "klimaat")
    tokens.verify_token(old_token, listed_old, challenge=challenge)
    # A request made for the old key is refused (422): issuance signs with the current key only.
    request, _ = issuer.token_request("klimaat", old_key)
    assert issuer.post_token_request("klimaat", request.to_bytes()).status_code == 422
    new_token = issuer.obtain_token("klimaat", new_key)
    tokens.verify_token(new_token, new_key, challenge=challenge)
    verify_with_cryptography(new_token, new_key)
    with pytest.raises(tokens.UnknownKey):
        tokens.verify_token(new_token, old_key, challenge=challenge)


def test_rotation_with_a_future_not_before_takes_effect_on_that_day(issuer: Issuer) -> None:
    issuer.put_policy("klimaat")
    (old_key,) = issuer.public_keys("klimaat")
    tomorrow = TODAY + timedelta(days=1)
    response = issuer.client.post(
        "/api/admin/consultations/klimaat/keys",
        json={"not_before": tomorrow.isoformat()},
        headers=issuer.admin_headers,
    )
    assert response.status_code == 200
    directory = issuer.client.get("/c/klimaat/.well-known/private-token-issuer-directory").json()
    assert len(directory["token-keys"]) == 2
    assert directory["token-keys"][0]["not-before"] > directory["token-keys"][1]["not-before"]
    future_key = issuer.public_keys("klimaat")[0]
    issuer.login()
    issuer.obtain_token("klimaat", old_key)  # today: the old key still signs
    issuer.clock.advance(86_400)
    issuer.login(identifier=OTHER_BSN)
    request, _ = issuer.token_request("klimaat", old_key)
    assert issuer.post_token_request("klimaat", request.to_bytes()).status_code == 422
    token = issuer.obtain_token("klimaat", future_key)
    verify_with_cryptography(token, future_key)


def test_a_fresh_process_unseals_the_stored_key(issuer: Issuer, issuer_settings: object) -> None:
    """Signers are cached per process; another app instance unseals from the store."""
    from fastapi.testclient import TestClient

    from issuer import create_app

    issuer.put_policy("klimaat")
    (public_key,) = issuer.public_keys("klimaat")
    second = Issuer(
        client=TestClient(create_app(issuer.settings, clock=issuer.clock)),
        settings=issuer.settings,
        clock=issuer.clock,
    )
    with second.client:
        second.login()
        token = second.obtain_token("klimaat", public_key)
    verify_with_cryptography(token, public_key)


def test_a_wrong_kek_fails_closed_and_records_nothing(
    issuer: Issuer, sync_store: redis.Redis
) -> None:
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from issuer import create_app

    issuer.put_policy("klimaat")
    (public_key,) = issuer.public_keys("klimaat")
    wrong = issuer.settings.model_copy(
        update={"key_encryption_key": SecretStr("a different key-encryption key, 32+ chars")}
    )
    other = Issuer(
        client=TestClient(create_app(wrong, clock=issuer.clock)),
        settings=issuer.settings,
        clock=issuer.clock,
    )
    with other.client:
        other.login()
        request, _ = other.token_request("klimaat", public_key)
        response = other.post_token_request("klimaat", request.to_bytes())
    assert response.status_code == 503
    assert sync_store.hlen(ledger_key("klimaat")) == 0
