"""Wire structures of Privacy Pass: TokenChallenge (RFC 9577 §2.1) and, for token type
0x0002 (Blind RSA, 2048-bit), TokenRequest, TokenResponse and Token (RFC 9578 §6).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import Final, Self

from .errors import DecodeError, UnsupportedTokenType

__all__ = [
    "NK",
    "NONCE_LEN",
    "TOKEN_TYPE_BLIND_RSA",
    "Token",
    "TokenChallenge",
    "TokenRequest",
    "TokenResponse",
]

# RFC 9578 §8.2.2: token type 0x0002, Blind RSA (2048-bit), Nk = 256.
TOKEN_TYPE_BLIND_RSA: Final = 0x0002
NK: Final = 256
NONCE_LEN: Final = 32
_DIGEST_LEN: Final = 32
_U16_MAX: Final = 0xFFFF
# RFC 9577 §2.1: redemption_context is empty or 32 bytes.
_REDEMPTION_CONTEXT_LENS: Final = (0, 32)


class _Reader:
    """Reads TLS-presentation-language fields (RFC 8446 §3) and raises DecodeError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError("input is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack(">H", self.take(2))[0]
        return value

    def done(self) -> None:
        if self.pos != len(self.data):
            raise DecodeError("input has trailing bytes")


def _check_token_type(token_type: int) -> None:
    if token_type != TOKEN_TYPE_BLIND_RSA:
        raise UnsupportedTokenType(f"token type {token_type:#06x} is not supported")


def _check_len(name: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise DecodeError(f"{name} must be {size} bytes")


@dataclass(frozen=True, slots=True)
class TokenChallenge:
    """RFC 9577 §2.1 TokenChallenge (any token type; this library issues only 0x0002)."""

    token_type: int
    issuer_name: bytes
    redemption_context: bytes
    origin_info: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.token_type <= _U16_MAX:
            raise DecodeError("token_type must fit in 16 bits")
        if not 1 <= len(self.issuer_name) <= _U16_MAX:
            raise DecodeError("issuer_name must be 1 to 65535 bytes")
        if len(self.redemption_context) not in _REDEMPTION_CONTEXT_LENS:
            raise DecodeError("redemption_context must be empty or 32 bytes")
        if len(self.origin_info) > _U16_MAX:
            raise DecodeError("origin_info must be at most 65535 bytes")

    def to_bytes(self) -> bytes:
        return (
            struct.pack(">HH", self.token_type, len(self.issuer_name))
            + self.issuer_name
            + bytes([len(self.redemption_context)])
            + self.redemption_context
            + struct.pack(">H", len(self.origin_info))
            + self.origin_info
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse exactly one TokenChallenge.

        Raises:
            DecodeError: truncated, trailing bytes, or a field out of its range.
        """
        reader = _Reader(data)
        token_type = reader.u16()
        issuer_name = reader.take(reader.u16())
        redemption_context = reader.take(reader.u8())
        origin_info = reader.take(reader.u16())
        reader.done()
        return cls(token_type, issuer_name, redemption_context, origin_info)

    def digest(self) -> bytes:
        """RFC 9578 §6.1 challenge_digest = SHA-256(TokenChallenge)."""
        return hashlib.sha256(self.to_bytes()).digest()


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """RFC 9578 §6.1 TokenRequest for token type 0x0002 (259 bytes)."""

    token_type: int
    truncated_token_key_id: int
    blinded_msg: bytes

    def __post_init__(self) -> None:
        _check_token_type(self.token_type)
        if not 0 <= self.truncated_token_key_id <= 0xFF:
            raise DecodeError("truncated_token_key_id must fit in 8 bits")
        _check_len("blinded_msg", self.blinded_msg, NK)

    def to_bytes(self) -> bytes:
        return struct.pack(">HB", self.token_type, self.truncated_token_key_id) + self.blinded_msg

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse exactly one 259-byte TokenRequest.

        Raises:
            UnsupportedTokenType: a token type other than 0x0002.
            DecodeError: any other malformed input.
        """
        reader = _Reader(data)
        token_type = reader.u16()
        _check_token_type(token_type)
        request = cls(token_type, reader.u8(), reader.take(NK))
        reader.done()
        return request


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """RFC 9578 §6.2 TokenResponse for token type 0x0002: the blind signature (256 bytes)."""

    blind_sig: bytes

    def __post_init__(self) -> None:
        _check_len("blind_sig", self.blind_sig, NK)

    def to_bytes(self) -> bytes:
        return self.blind_sig

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse a TokenResponse.

        Raises:
            DecodeError: not exactly 256 bytes.
        """
        return cls(bytes(data))


@dataclass(frozen=True, slots=True)
class Token:
    """RFC 9577 §2.2 / RFC 9578 §6.3 Token for token type 0x0002 (354 bytes).

    ``repr`` leaves out nonce and authenticator: a token must never reach a log.
    """

    token_type: int
    nonce: bytes = field(repr=False)
    challenge_digest: bytes
    token_key_id: bytes
    authenticator: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_token_type(self.token_type)
        _check_len("nonce", self.nonce, NONCE_LEN)
        _check_len("challenge_digest", self.challenge_digest, _DIGEST_LEN)
        _check_len("token_key_id", self.token_key_id, _DIGEST_LEN)
        _check_len("authenticator", self.authenticator, NK)

    def authenticator_input(self) -> bytes:
        """RFC 9577 §2.2: token_type || nonce || challenge_digest || token_key_id (98 bytes)."""
        return (
            struct.pack(">H", self.token_type)
            + self.nonce
            + self.challenge_digest
            + self.token_key_id
        )

    def to_bytes(self) -> bytes:
        return self.authenticator_input() + self.authenticator

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse exactly one 354-byte Token.

        Raises:
            UnsupportedTokenType: a token type other than 0x0002.
            DecodeError: any other malformed input.
        """
        reader = _Reader(data)
        token_type = reader.u16()
        _check_token_type(token_type)
        token = cls(
            token_type,
            reader.take(NONCE_LEN),
            reader.take(_DIGEST_LEN),
            reader.take(_DIGEST_LEN),
            reader.take(NK),
        )
        reader.done()
        return token
