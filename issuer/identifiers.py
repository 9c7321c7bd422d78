"""Identifiers the issuer sees for a moment: BSN and KvK number checks, and the subject key.

The BSN or KvK number is turned into ``subject_key = HMAC-SHA256(pepper, scheme ":" id)``
right after the SAML Response is validated; only that key goes on (session, ledger).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["is_valid_bsn", "is_valid_kvk", "pepper_bytes", "subject_key"]

_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_valid_bsn(bsn: str) -> bool:
    """The BSN 11-proef: nine ASCII digits, weights 9..2 and -1, sum divisible by 11, not 0."""
    if len(bsn) != 9 or not bsn.isascii() or not bsn.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(bsn, _BSN_WEIGHTS, strict=True))
    return total % 11 == 0 and total != 0


def is_valid_kvk(kvk: str) -> bool:
    """The shape of a KvK number: eight ASCII digits (the KvK uses no check digit)."""
    return len(kvk) == 8 and kvk.isascii() and kvk.isdigit()


def subject_key(pepper: bytes, scheme: str, identifier: str) -> str:
    """HMAC-SHA256(pepper, scheme ":" identifier) as lowercase hex (docs/architecture.md)."""
    message = f"{scheme}:{identifier}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


def pepper_bytes(settings: Settings) -> bytes:
    """The pepper from settings as the HMAC key (its UTF-8 text); raises if it is unset."""
    if settings.pepper is None:
        raise ValueError("settings.pepper is unset: call ensure_dev_secrets() in dev mode")
    return settings.pepper.get_secret_value().encode("utf-8")
