"""Each consultation's fixed TokenChallenge (RFC 9577 §2.1), as docs/architecture.md fixes it.

``issuer_name`` is the issuer's host (and port), ``redemption_context`` is
SHA-256("inspraak/v1/redemption-context:" || cid), ``origin_info`` the participation host
(and port). The spent-token set, not a fresh challenge, stops replays.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tokens import TOKEN_TYPE_BLIND_RSA, TokenChallenge

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = [
    "REDEMPTION_CONTEXT_PREFIX",
    "challenge_for",
    "consultation_challenge",
    "host_of",
    "issuer_name_for",
    "origin_for",
    "redemption_context",
]

REDEMPTION_CONTEXT_PREFIX = b"inspraak/v1/redemption-context:"
"""Domain separation for the redemption context (docs/architecture.md)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_of(url: str) -> str:
    """The host of ``url`` (IDNA, lower case), with its port unless it is the scheme's default."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError("URL without a host")
    host = parts.hostname.encode("idna").decode("ascii").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host


def issuer_name_for(settings: Settings) -> str:
    """TokenChallenge ``issuer_name``: the host (and port) of ``settings.issuer_url``."""
    return host_of(settings.issuer_url)


def origin_for(settings: Settings) -> str:
    """TokenChallenge ``origin_info``: the host (and port) of ``settings.public_url``."""
    return host_of(settings.public_url)


def redemption_context(cid: str) -> bytes:
    """SHA-256(``inspraak/v1/redemption-context:`` || cid): 32 bytes, fixed per consultation."""
    return hashlib.sha256(REDEMPTION_CONTEXT_PREFIX + cid.encode("utf-8")).digest()


@functools.lru_cache(maxsize=1024)
def consultation_challenge(issuer_name: str, origin: str, cid: str) -> TokenChallenge:
    """The consultation's TokenChallenge (RFC 9577 §2.1, token type 0x0002); the same
    immutable value for the same names, so it is made once (a join asks for it each time).

    Raises:
        UnicodeEncodeError: a name is not ASCII (hosts are, after IDNA).
    """
    return TokenChallenge(
        token_type=TOKEN_TYPE_BLIND_RSA,
        issuer_name=issuer_name.encode("ascii"),
        redemption_context=redemption_context(cid),
        origin_info=origin.encode("ascii"),
    )


def challenge_for(settings: Settings, cid: str) -> TokenChallenge:
    """The consultation's TokenChallenge with names taken from the settings."""
    return consultation_challenge(issuer_name_for(settings), origin_for(settings), cid)
