"""Issuance and redemption recipes, RFC 9578 §6: the A.2 vectors end to end, and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import tokens
from tests.tokens.helpers import ScriptedRng, flip, rfc9474_key, rfc9578_key
from tests.vectors import load_vectors

TYPE2 = load_vectors("rfc9578_type2.json")
CHALLENGE = tokens.TokenChallenge(
    tokens.TOKEN_TYPE_BLIND_RSA, b"127.0.0.1:8000", bytes(range(32)), b"127.0.0.1:8000"
)


def h(v: dict[str, Any], key: str) -> bytes:
    return bytes.fromhex(v[key])


def vector_request(v: dict[str, Any]) -> tuple[tokens.TokenRequest, tokens.TokenRequestState]:
    """create_token_request with the vector's nonce, salt and blind replayed through the Rng."""
    public_key = rfc9578_key(v).public_key()
    rng = ScriptedRng([h(v, "nonce"), h(v, "salt")], [int(v["blind"], 16) - 1])
    challenge = tokens.TokenChallenge.from_bytes(h(v, "token_challenge"))
    request, state = tokens.create_token_request(public_key, challenge, rng=rng)
    assert rng.exhausted()
    return request, state


@pytest.mark.parametrize("v", TYPE2, ids=lambda v: v["nonce"][:16])
def test_rfc9578_issuance_end_to_end(v: dict[str, Any]) -> None:
    key = rfc9578_key(v)
    request, state = vector_request(v)
    assert request.to_bytes() == h(v, "token_request")
    response = tokens.issue_token_response(tokens.BlindSigner(key), request)
    assert response.to_bytes() == h(v, "token_response")
    assert tokens.issue_token_response(key, request) == response
    token = tokens.finalize_token(state, response)
    assert token.to_bytes() == h(v, "token")
    challenge = tokens.TokenChallenge.from_bytes(h(v, "token_challenge"))
    tokens.verify_token(token, key.public_key(), challenge=challenge)
    # The authenticator is an ordinary RSASSA-PSS signature (SHA-384, MGF1-SHA-384, salt 48).
    key.public_key().verify(
        token.authenticator,
        token.authenticator_input(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
        hashes.SHA384(),
    )


@pytest.mark.parametrize("v", TYPE2, ids=lambda v: v["nonce"][:16])
def test_rfc9578_vector_with_a_flipped_byte_raises(v: dict[str, Any]) -> None:
    key = rfc9578_key(v)
    _, state = vector_request(v)
    challenge = tokens.TokenChallenge.from_bytes(h(v, "token_challenge"))
    with pytest.raises(tokens.InvalidSignature):
        tokens.finalize_token(state, tokens.TokenResponse(flip(h(v, "token_response"), 9)))
    with pytest.raises(tokens.InvalidSignature):
        tokens.verify_token(
            tokens.Token.from_bytes(flip(h(v, "token"), 200)), key.public_key(), challenge=challenge
        )
    with pytest.raises(tokens.InvalidSignature):  # a changed nonce
        tokens.verify_token(
            tokens.Token.from_bytes(flip(h(v, "token"), 2)), key.public_key(), challenge=challenge
        )
    with pytest.raises(tokens.ChallengeMismatch):
        tokens.verify_token(
            tokens.Token.from_bytes(flip(h(v, "token"), 40)), key.public_key(), challenge=challenge
        )
    with pytest.raises(tokens.UnknownKey):
        tokens.verify_token(
            tokens.Token.from_bytes(flip(h(v, "token"), 70)), key.public_key(), challenge=challenge
        )
    with pytest.raises(tokens.UnknownKey):
        tokens.issue_token_response(
            key, tokens.TokenRequest.from_bytes(flip(h(v, "token_request"), 2))
        )


def test_issue_and_redeem_with_a_fresh_key(
    private_key: rsa.RSAPrivateKey, signer: tokens.BlindSigner
) -> None:
    public_key = private_key.public_key()
    request, state = tokens.create_token_request(public_key, CHALLENGE)
    wire = tokens.TokenRequest.from_bytes(request.to_bytes())
    response = tokens.TokenResponse.from_bytes(tokens.issue_token_response(signer, wire).to_bytes())
    token = tokens.finalize_token(state, response)
    header = tokens.format_authorization(token)
    redeemed = tokens.parse_authorization(header)
    tokens.verify_token(redeemed, public_key, challenge=CHALLENGE)
    # Unlinkability at the byte level: a second request for the same challenge shares nothing.
    request2, _ = tokens.create_token_request(public_key, CHALLENGE)
    assert request2.blinded_msg != request.blinded_msg
    assert request.blinded_msg not in token.to_bytes()


def test_verify_token_refuses_other_keys_and_challenges(
    private_key: rsa.RSAPrivateKey, other_private_key: rsa.RSAPrivateKey, signer: tokens.BlindSigner
) -> None:
    public_key = private_key.public_key()
    request, state = tokens.create_token_request(public_key, CHALLENGE)
    token = tokens.finalize_token(state, tokens.issue_token_response(signer, request))
    with pytest.raises(tokens.UnknownKey):
        tokens.verify_token(token, other_private_key.public_key(), challenge=CHALLENGE)
    other_challenge = tokens.TokenChallenge(2, b"127.0.0.1:8000", bytes(32), b"127.0.0.1:8000")
    with pytest.raises(tokens.ChallengeMismatch):
        tokens.verify_token(token, public_key, challenge=other_challenge)
    type1 = tokens.TokenChallenge(1, b"i", b"", b"")
    with pytest.raises(tokens.UnsupportedTokenType):
        tokens.verify_token(token, public_key, challenge=type1)
    with pytest.raises(tokens.UnsupportedTokenType):
        tokens.create_token_request(public_key, type1)


def test_issuer_refuses_requests_for_another_key(
    private_key: rsa.RSAPrivateKey, other_private_key: rsa.RSAPrivateKey
) -> None:
    request, _ = tokens.create_token_request(other_private_key.public_key(), CHALLENGE)
    own = tokens.truncated_token_key_id(tokens.token_key_id(private_key.public_key()))
    # Fresh keys share a truncated id 1 time in 256: pin the request to a different one.
    request = tokens.TokenRequest(2, own ^ 0x01, request.blinded_msg)
    with pytest.raises(tokens.UnknownKey):
        tokens.issue_token_response(private_key, request)


def test_issuer_refuses_blinded_messages_not_below_n(signer: tokens.BlindSigner) -> None:
    key_id = tokens.token_key_id(signer.public_key)
    request = tokens.TokenRequest(2, tokens.truncated_token_key_id(key_id), b"\xff" * 256)
    with pytest.raises(tokens.MessageTooLong):
        tokens.issue_token_response(signer, request)


def test_token_type_2_needs_a_2048_bit_key() -> None:
    big = rfc9474_key(load_vectors("rfc9474.json")[0])  # 4096 bits
    with pytest.raises(tokens.InvalidKey):
        tokens.create_token_request(big.public_key(), CHALLENGE)
    with pytest.raises(tokens.InvalidKey):
        tokens.issue_token_response(big, tokens.TokenRequest(2, 0, bytes(256)))
    token = tokens.Token.from_bytes(h(TYPE2[0], "token"))
    with pytest.raises(tokens.InvalidKey):
        tokens.verify_token(token, big.public_key(), challenge=CHALLENGE)


def test_request_state_keeps_its_secrets_out_of_repr() -> None:
    _, state = vector_request(TYPE2[0])
    text = repr(state)
    assert state.inv.hex() not in text
    assert TYPE2[0]["nonce"] not in text
