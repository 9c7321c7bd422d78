"""base64url (RFC 4648 §5) as Privacy Pass uses it: written with padding, read with or without."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from .errors import DecodeError

__all__ = ["b64url_decode", "b64url_encode"]

_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def b64url_encode(data: bytes) -> str:
    """base64url with padding (RFC 9577 §2.1 and §2.2 examples pad)."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url: only the URL-safe alphabet, padding optional but correct if present.

    Raises:
        DecodeError: anything else.
    """
    if not _B64URL.fullmatch(text):
        raise DecodeError("value is not base64url")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1 or (text != stripped and len(text) % 4):
        raise DecodeError("value is not base64url: bad length or padding")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise DecodeError("value is not base64url") from None
