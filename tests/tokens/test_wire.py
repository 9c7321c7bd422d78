"""Wire structs: RFC 9578 A.2 (type 0x0002) and RFC 9577 A.1 vectors, and property tests."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given, settings
from hypothesis import strategies as st

import tokens
from tests.tokens.helpers import flip, rfc9578_key
from tests.vectors import load_vectors

TYPE2 = load_vectors("rfc9578_type2.json")
CHALLENGE_TOKEN = load_vectors("rfc9577_challenge_token.json")
STRUCTURED = [v for v in CHALLENGE_TOKEN if v["token_type"] == "0002"]
GREASE = [v for v in CHALLENGE_TOKEN if v["token_type"] != "0002"]


def h(v: dict[str, Any], key: str) -> bytes:
    return bytes.fromhex(v[key])


@pytest.mark.parametrize("v", TYPE2, ids=lambda v: v["nonce"][:16])
def test_rfc9578_structs_parse_and_serialize_exactly(v: dict[str, Any]) -> None:
    challenge = tokens.TokenChallenge.from_bytes(h(v, "token_challenge"))
    request = tokens.TokenRequest.from_bytes(h(v, "token_request"))
    response = tokens.TokenResponse.from_bytes(h(v, "token_response"))
    token = tokens.Token.from_bytes(h(v, "token"))
    assert challenge.to_bytes() == h(v, "token_challenge")
    assert request.to_bytes() == h(v, "token_request")
    assert response.to_bytes() == h(v, "token_response")
    assert token.to_bytes() == h(v, "token")
    assert len(request.to_bytes()) == 259
    assert len(token.to_bytes()) == 354
    assert challenge.token_type == request.token_type == token.token_type == 0x0002
    assert token.nonce == h(v, "nonce")
    assert (
        token.challenge_digest
        == challenge.digest()
        == hashlib.sha256(h(v, "token_challenge")).digest()
    )
    assert token.token_key_id == hashlib.sha256(h(v, "pkS")).digest()
    assert request.truncated_token_key_id == token.token_key_id[-1]
    assert token.authenticator_input() == h(v, "token")[:98]


@pytest.mark.parametrize("v", TYPE2, ids=lambda v: v["nonce"][:16])
def test_rfc9578_structs_with_a_flipped_byte_raise(v: dict[str, Any]) -> None:
    with pytest.raises(tokens.UnsupportedTokenType):
        tokens.TokenRequest.from_bytes(flip(h(v, "token_request"), 1))
    with pytest.raises(tokens.UnsupportedTokenType):
        tokens.Token.from_bytes(flip(h(v, "token"), 1, 0x03))
    with pytest.raises(tokens.DecodeError):
        tokens.TokenChallenge.from_bytes(flip(h(v, "token_challenge"), 3))  # issuer_name length
    with pytest.raises(tokens.DecodeError):
        tokens.TokenResponse.from_bytes(h(v, "token_response")[:-1])


@pytest.mark.parametrize("v", STRUCTURED, ids=lambda v: v["comment"][3:17])
def test_rfc9577_token_authenticator_input(v: dict[str, Any]) -> None:
    """The A.1 inputs, then a real signature under the RFC 9578 key that shares their key id."""
    challenge = tokens.TokenChallenge(
        int(v["token_type"], 16),
        h(v, "issuer_name"),
        h(v, "redemption_context"),
        h(v, "origin_info"),
    )
    assert tokens.TokenChallenge.from_bytes(challenge.to_bytes()) == challenge
    key = rfc9578_key(TYPE2[0])
    authenticator_input = h(v, "token_authenticator_input")
    authenticator = key.sign(
        authenticator_input,
        padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
        hashes.SHA384(),
    )
    token = tokens.Token(
        0x0002, h(v, "nonce"), challenge.digest(), h(v, "token_key_id"), authenticator
    )
    assert token.authenticator_input() == authenticator_input
    assert token.token_key_id == tokens.token_key_id(key.public_key())
    tokens.verify_token(token, key.public_key(), challenge=challenge)


@pytest.mark.parametrize("v", STRUCTURED, ids=lambda v: v["comment"][3:17])
def test_rfc9577_challenge_with_a_flipped_byte_is_another_challenge(v: dict[str, Any]) -> None:
    challenge = tokens.TokenChallenge(
        2, h(v, "issuer_name"), h(v, "redemption_context"), h(v, "origin_info")
    )
    key = rfc9578_key(TYPE2[0])
    authenticator = key.sign(
        h(v, "token_authenticator_input"),
        padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
        hashes.SHA384(),
    )
    token = tokens.Token(2, h(v, "nonce"), challenge.digest(), h(v, "token_key_id"), authenticator)
    flipped = tokens.TokenChallenge(
        2, flip(challenge.issuer_name, 0), challenge.redemption_context, challenge.origin_info
    )
    with pytest.raises(tokens.ChallengeMismatch):
        tokens.verify_token(token, key.public_key(), challenge=flipped)


@pytest.mark.parametrize("v", GREASE, ids=lambda v: v["comment"][3:17])
def test_rfc9577_grease_token_type_is_refused(v: dict[str, Any]) -> None:
    data = h(v, "token_authenticator_input")
    with pytest.raises(tokens.UnsupportedTokenType):
        tokens.Token.from_bytes(data)
    with pytest.raises(tokens.UnsupportedTokenType):
        tokens.TokenRequest.from_bytes(data[:259])


def test_challenge_field_limits() -> None:
    with pytest.raises(tokens.DecodeError):
        tokens.TokenChallenge(2, b"", b"", b"")
    with pytest.raises(tokens.DecodeError):
        tokens.TokenChallenge(2, b"issuer", bytes(16), b"")
    with pytest.raises(tokens.DecodeError):
        tokens.TokenChallenge(0x10000, b"issuer", b"", b"")
    with pytest.raises(tokens.DecodeError):
        tokens.TokenChallenge.from_bytes(b"\x00\x02\x00\x01i\x00\x00\x00\xff")  # trailing byte


# Property tests: round trips, truncation, bit flips, random bytes.

challenges = st.builds(
    tokens.TokenChallenge,
    st.integers(0, 0xFFFF),
    st.binary(min_size=1, max_size=300),
    st.sampled_from([b"", bytes(32)]) | st.binary(min_size=32, max_size=32),
    st.binary(max_size=300),
)
requests = st.builds(
    tokens.TokenRequest, st.just(2), st.integers(0, 255), st.binary(min_size=256, max_size=256)
)
responses = st.builds(tokens.TokenResponse, st.binary(min_size=256, max_size=256))
token_structs = st.builds(
    tokens.Token,
    st.just(2),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=256, max_size=256),
)
STRUCTS = st.one_of(challenges, requests, responses, token_structs)
TYPES = [tokens.TokenChallenge, tokens.TokenRequest, tokens.TokenResponse, tokens.Token]


@settings(max_examples=200, deadline=None)
@given(value=STRUCTS)
def test_round_trip(value: Any) -> None:
    assert type(value).from_bytes(value.to_bytes()) == value


@settings(max_examples=200, deadline=None)
@given(value=STRUCTS, data=st.data())
def test_truncation_raises(value: Any, data: st.DataObject) -> None:
    encoded = value.to_bytes()
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(tokens.DecodeError):
        type(value).from_bytes(encoded[:cut])


@settings(max_examples=200, deadline=None)
@given(value=STRUCTS, data=st.data())
def test_bit_flips_raise_or_round_trip(value: Any, data: st.DataObject) -> None:
    encoded = value.to_bytes()
    flipped = flip(
        encoded, data.draw(st.integers(0, len(encoded) - 1)), 1 << data.draw(st.integers(0, 7))
    )
    try:
        parsed = type(value).from_bytes(flipped)
    except tokens.DecodeError:
        return
    assert parsed.to_bytes() == flipped


@settings(max_examples=200, deadline=None)
@given(
    cls=st.sampled_from(TYPES), data=st.binary(max_size=400) | st.binary(min_size=250, max_size=360)
)
def test_random_bytes_raise_only_decode_error(cls: Any, data: bytes) -> None:
    try:
        parsed = cls.from_bytes(data)
    except tokens.DecodeError:
        return
    assert parsed.to_bytes() == data


def test_token_repr_leaves_out_nonce_and_authenticator() -> None:
    token = tokens.Token.from_bytes(h(TYPE2[0], "token"))
    text = repr(token)
    assert "challenge_digest" in text
    assert "nonce" not in text
    assert "authenticator" not in text
    assert repr(token.nonce)[2:20] not in text
