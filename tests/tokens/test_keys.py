"""Token keys: the RSASSA-PSS SPKI of RFC 9578 §6.5, token_key_id and its truncation."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

import tokens
from tests.tokens.helpers import flip, rfc9578_key
from tests.vectors import load_vectors

VECTORS = load_vectors("rfc9578_type2.json")
PKS = bytes.fromhex(VECTORS[0]["pkS"])
# RFC 9577 A.1 uses the RFC 9578 A.2 key: its token_key_id is SHA-256 of that pkS.
RFC9577_TOKEN_KEY_ID = bytes.fromhex(
    load_vectors("rfc9577_challenge_token.json")[0]["token_key_id"]
)
# SEQUENCE header (4 bytes) + AlgorithmIdentifier (63 bytes) of the vector SPKI.
ALGORITHM_END = 4 + 63


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def pss_spki_for(public_key: rsa.RSAPublicKey) -> bytes:
    """An id-RSASSA-PSS SPKI built by hand around cryptography's PKCS#1 encoding."""
    pkcs1 = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return _der(0x30, PKS[4:ALGORITHM_END] + _der(0x03, b"\x00" + pkcs1))


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["token_challenge"][:40])
def test_rfc9578_public_key_encoding(v: dict[str, Any]) -> None:
    public_key = rfc9578_key(v).public_key()
    pks = bytes.fromhex(v["pkS"])
    assert tokens.encode_public_key(public_key) == pks
    assert len(pks) == 342
    decoded = tokens.decode_public_key(pks)
    assert decoded.public_numbers() == public_key.public_numbers()
    assert tokens.token_key_id(public_key) == hashlib.sha256(pks).digest() == RFC9577_TOKEN_KEY_ID
    assert tokens.truncated_token_key_id(RFC9577_TOKEN_KEY_ID) == 0x08
    assert bytes.fromhex(v["token_request"])[2] == 0x08


@pytest.mark.parametrize("index", [0, 2, 10, ALGORITHM_END - 1, ALGORITHM_END + 5, len(PKS) - 1])
def test_rfc9578_public_key_with_a_flipped_byte_raises(index: int) -> None:
    """Flips in structure, algorithm and exponent all raise (a flip in n gives another key)."""
    with pytest.raises(tokens.DecodeError):
        tokens.decode_public_key(flip(PKS, index))


def test_encoding_of_a_fresh_key_is_read_by_cryptography(private_key: rsa.RSAPrivateKey) -> None:
    spki = tokens.encode_public_key(private_key.public_key())
    assert len(spki) == 342
    assert spki == pss_spki_for(private_key.public_key())
    independent = serialization.load_der_public_key(spki)
    assert isinstance(independent, rsa.RSAPublicKey)
    assert independent.public_numbers() == private_key.public_key().public_numbers()


def test_decode_refuses_weak_keys_and_other_encodings(private_key: rsa.RSAPrivateKey) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(tokens.DecodeError, match="2048"):
        tokens.decode_public_key(pss_spki_for(small))
    exponent3 = rsa.generate_private_key(public_exponent=3, key_size=2048).public_key()
    with pytest.raises(tokens.DecodeError, match="65537"):
        tokens.decode_public_key(pss_spki_for(exponent3))
    rsa_encryption = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(tokens.DecodeError):
        tokens.decode_public_key(rsa_encryption)
    with pytest.raises(tokens.DecodeError):
        tokens.decode_public_key(PKS + b"\x00")


def test_truncated_token_key_id_needs_32_bytes() -> None:
    with pytest.raises(tokens.DecodeError):
        tokens.truncated_token_key_id(bytes(31))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_decode_random_bytes_raises_only_decode_error(data: bytes) -> None:
    with pytest.raises(tokens.DecodeError):
        tokens.decode_public_key(data)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(PKS) - 1))
def test_decode_truncated_spki_raises(cut: int) -> None:
    with pytest.raises(tokens.DecodeError):
        tokens.decode_public_key(PKS[:cut])


@settings(max_examples=200, deadline=None)
@given(index=st.integers(min_value=0, max_value=len(PKS) - 1), bit=st.integers(0, 7))
def test_decode_bit_flips_raise_or_give_a_canonical_key(index: int, bit: int) -> None:
    flipped = flip(PKS, index, 1 << bit)
    try:
        key = tokens.decode_public_key(flipped)
    except tokens.DecodeError:
        return
    assert tokens.encode_public_key(key) == flipped
