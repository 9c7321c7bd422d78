"""Exceptions of the protocol core. Checks raise one of these; none of them knows HTTP.

::

    TokenError                 base of everything tokens/ raises on bad input or keys
    ├── DecodeError            bytes, header or JSON that is not a well-formed structure
    │   └── UnsupportedTokenType   well-formed, but a token type this library does not do
    ├── UnknownKey             token_key_id / truncated_token_key_id names another key
    ├── InvalidSignature       signature check failed (also: BlindSign fault check, §4.3)
    ├── ChallengeMismatch      the token was made for another TokenChallenge
    ├── InvalidKey             RSA key refused: under 2048 bits, e != 65537, inconsistent
    └── MessageTooLong         RFC 9474 message representative out of range (m >= n)

Parsers raise only ``DecodeError`` (or its subclass) on arbitrary input.
"""

from __future__ import annotations

__all__ = [
    "ChallengeMismatch",
    "DecodeError",
    "InvalidKey",
    "InvalidSignature",
    "MessageTooLong",
    "TokenError",
    "UnknownKey",
    "UnsupportedTokenType",
]


class TokenError(Exception):
    """Base class of every error the protocol core raises."""


class DecodeError(TokenError):
    """Input is not a well-formed structure (wire bytes, header, base64url, SPKI, JSON)."""


class UnsupportedTokenType(DecodeError):
    """A well-formed structure of a token type other than 0x0002 (RFC 9578 §8.2)."""


class UnknownKey(TokenError):
    """The (truncated) token key id does not name the key at hand."""


class InvalidSignature(TokenError):
    """An RSASSA-PSS signature did not verify, or a blind signature failed its own check."""


class ChallengeMismatch(TokenError):
    """The token's challenge_digest is not SHA-256 of the expected TokenChallenge."""


class InvalidKey(TokenError):
    """An RSA key this library refuses: fewer than 2048 bits, e != 65537, or inconsistent."""


class MessageTooLong(TokenError):
    """RFC 9474 §4.3: the blinded message is not an integer below the modulus n."""
