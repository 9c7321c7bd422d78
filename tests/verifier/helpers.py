"""Test helpers: tokens made the way a browser makes them, signed with a key from the test."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import rsa

from tokens import (
    Token,
    TokenChallenge,
    create_token_request,
    finalize_token,
    issue_token_response,
)

__all__ = ["b64url", "flip", "make_token"]


def make_token(private_key: rsa.RSAPrivateKey, challenge: TokenChallenge) -> Token:
    """Client blinds, issuer blind-signs, client finalizes (RFC 9578 §6.1-6.3)."""
    request, state = create_token_request(private_key.public_key(), challenge)
    return finalize_token(state, issue_token_response(private_key, request))


def flip(data: bytes, index: int) -> bytes:
    """``data`` with one bit of byte ``index`` flipped."""
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")
