"""The ``PrivateToken`` HTTP authentication scheme, RFC 9577 §2.1 and §2.2.

``WWW-Authenticate`` may hold several challenges, ours among other schemes; parsing
follows the RFC 9110 §11 grammar, skips other schemes, unknown parameters and token
types, and raises ``DecodeError`` on anything malformed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final

from ._b64 import b64url_decode, b64url_encode
from ._wire import TOKEN_TYPE_BLIND_RSA, Token, TokenChallenge
from .errors import DecodeError

__all__ = [
    "ChallengeParams",
    "format_authorization",
    "format_www_authenticate",
    "parse_authorization",
    "parse_www_authenticate",
]

SCHEME: Final = "PrivateToken"

# RFC 9110 §5.6.2 token, §5.6.4 quoted-string, §11.2 token68; OWS is SP / HTAB.
_TOKEN: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # noqa: S105 (an RFC 9110 token)
_QUOTED: Final = r'"(?:[^"\\]|\\[\t\x20-\x7e])*"'
_PARAM: Final = rf"({_TOKEN})[ \t]*=[ \t]*({_TOKEN}|{_QUOTED})"
_RE_PARAM: Final = re.compile(_PARAM)
_RE_SCHEME_PARAM: Final = re.compile(rf"({_TOKEN})[ \t]+{_PARAM}")
_RE_SCHEME_TOKEN68: Final = re.compile(rf"({_TOKEN})[ \t]+([A-Za-z0-9\-._~+/]+=*)")
_RE_SCHEME: Final = re.compile(_TOKEN)
_RE_FIELD_VALUE: Final = re.compile(r"[\t\x20-\x7e]*")
_RE_MAX_AGE: Final = re.compile(r"[0-9]{1,10}")
# RFC 9577 §2.2 credentials as clients send them: the scheme and one ``token`` auth-param
# (names case-insensitive, RFC 9110 §11.1 and §5.6.6; BWS around "=", §5.6.3), its value a
# token (§5.6.2: no "=", so unpadded) or a quoted-string holding base64url (no escapes).
# A value of this shape is read by this one pattern; any other goes to the list parser,
# which reads these shapes the same way (tests/tokens/test_headers.py holds the two equal).
_RE_ONE_TOKEN: Final = re.compile(
    r'privatetoken[ \t]+token[ \t]*=[ \t]*(?:([A-Za-z0-9_-]+)|"([A-Za-z0-9_-]+=*)")',
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ChallengeParams:
    """One ``PrivateToken`` challenge: the TokenChallenge, the issuer's key, and max-age."""

    challenge: TokenChallenge
    token_key: bytes
    max_age: int | None = None

    def __post_init__(self) -> None:
        if self.max_age is not None and self.max_age < 0:
            raise DecodeError("max-age must not be negative")


@dataclass(slots=True)
class _Challenge:
    scheme: str
    params: dict[str, str]
    token68: str | None = None


def _split_list(value: str) -> list[str]:
    """Split a field value at the commas outside quoted strings (RFC 9110 §5.6.1)."""
    if not _RE_FIELD_VALUE.fullmatch(value):
        raise DecodeError("header holds characters outside visible ASCII")
    items: list[str] = []
    start, in_quotes, escaped = 0, False, False
    for i, char in enumerate(value):
        if escaped:
            escaped = False
        elif in_quotes and char == "\\":
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            items.append(value[start:i])
            start = i + 1
    if in_quotes:
        raise DecodeError("header has an unterminated quoted string")
    items.append(value[start:])
    return [item.strip(" \t") for item in items if item.strip(" \t")]


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _add_param(challenge: _Challenge | None, name: str, value: str) -> None:
    if challenge is None or challenge.token68 is not None:
        raise DecodeError("header has a parameter outside a challenge")
    key = name.lower()
    if key in challenge.params:
        raise DecodeError(f"header repeats the parameter {key}")
    challenge.params[key] = _unquote(value)


def _parse_challenges(value: str) -> list[_Challenge]:
    """RFC 9110 §11.6.1: ``#challenge``, each ``auth-scheme [ 1*SP ( token68 / #auth-param ) ]``."""
    challenges: list[_Challenge] = []
    current: _Challenge | None = None
    for item in _split_list(value):
        if match := _RE_PARAM.fullmatch(item):
            _add_param(current, match[1], match[2])
        elif match := _RE_SCHEME_PARAM.fullmatch(item):
            current = _Challenge(match[1], {})
            challenges.append(current)
            _add_param(current, match[2], match[3])
        elif match := _RE_SCHEME_TOKEN68.fullmatch(item):
            current = _Challenge(match[1], {}, match[2])
            challenges.append(current)
        elif _RE_SCHEME.fullmatch(item):
            current = _Challenge(item, {})
            challenges.append(current)
        else:
            raise DecodeError("header is not a list of authentication challenges")
    return challenges


def _required(challenge: _Challenge, name: str) -> str:
    if challenge.token68 is not None or name not in challenge.params:
        raise DecodeError(f"PrivateToken without the {name} parameter")
    return challenge.params[name]


def format_www_authenticate(challenges: Iterable[ChallengeParams]) -> str:
    """RFC 9577 §2.1: the ``WWW-Authenticate`` value offering each challenge in turn."""
    parts = []
    for params in challenges:
        part = (
            f'{SCHEME} challenge="{b64url_encode(params.challenge.to_bytes())}", '
            f'token-key="{b64url_encode(params.token_key)}"'
        )
        if params.max_age is not None:
            part += f', max-age="{params.max_age}"'
        parts.append(part)
    return ", ".join(parts)


def parse_www_authenticate(
    value: str, *, token_types: Collection[int] = (TOKEN_TYPE_BLIND_RSA,)
) -> list[ChallengeParams]:
    """RFC 9577 §2.1: the ``PrivateToken`` challenges of the listed token types, in order.

    Other schemes, unknown parameters and other token types are skipped.

    Raises:
        DecodeError: the header or one of its PrivateToken challenges is malformed.
    """
    found: list[ChallengeParams] = []
    for challenge in _parse_challenges(value):
        if challenge.scheme.lower() != SCHEME.lower():
            continue
        challenge_bytes = b64url_decode(_required(challenge, "challenge"))
        if len(challenge_bytes) < 2:
            raise DecodeError("PrivateToken challenge is truncated")
        if int.from_bytes(challenge_bytes[:2], "big") not in token_types:
            continue
        token_challenge = TokenChallenge.from_bytes(challenge_bytes)
        token_key = b64url_decode(_required(challenge, "token-key"))
        max_age = challenge.params.get("max-age")
        if max_age is not None and not _RE_MAX_AGE.fullmatch(max_age):
            raise DecodeError("PrivateToken max-age is not a number of seconds")
        found.append(
            ChallengeParams(token_challenge, token_key, None if max_age is None else int(max_age))
        )
    return found


def format_authorization(token: Token) -> str:
    """RFC 9577 §2.2: the ``Authorization`` value presenting the token."""
    return f'{SCHEME} token="{b64url_encode(token.to_bytes())}"'


def parse_authorization(value: str) -> Token:
    """RFC 9577 §2.2: the Token in an ``Authorization: PrivateToken token=...`` value.

    Raises:
        DecodeError: not exactly one PrivateToken credential with a well-formed token
            (UnsupportedTokenType for a token type other than 0x0002).
    """
    if match := _RE_ONE_TOKEN.fullmatch(value):
        return Token.from_bytes(b64url_decode(match[1] or match[2]))
    return _parse_authorization_list(value)


def _parse_authorization_list(value: str) -> Token:
    """:func:`parse_authorization` through the general RFC 9110 §11 list parser."""
    credentials = _parse_challenges(value)
    if len(credentials) != 1 or credentials[0].scheme.lower() != SCHEME.lower():
        raise DecodeError("Authorization is not one PrivateToken credential")
    return Token.from_bytes(b64url_decode(_required(credentials[0], "token")))
