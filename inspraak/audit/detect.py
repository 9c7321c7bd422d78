"""Pure detectors: what a BSN, KvK number, e-mail, IP address, token or fine timestamp looks like.

No I/O here. The BSN test is the 11-proef (elfproef); KvK numbers are eight digits and are
only reported in a context that names them, since eight-digit numbers are common.
Token shapes follow RFC 9578 §6 (type 0x0002: 2 + 32 + 32 + 32 + 256 = 354 bytes).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "TOKEN_TYPE_2_LENGTH",
    "IdentifierKind",
    "decode_base64",
    "decode_hex",
    "decode_opaque",
    "find_identifiers",
    "find_iso_datetimes",
    "has_kvk_context",
    "is_bsn",
    "is_epoch_number",
    "is_keyed_hash",
    "mask_identifiers",
    "token_shape",
]

TOKEN_TYPE_2_LENGTH = 354
"""RFC 9578 §6: token_type(2) nonce(32) challenge_digest(32) token_key_id(32) authenticator(256)."""

IdentifierKind = Literal["bsn", "kvk", "email", "ipv4", "ipv6"]

# Standalone digit runs: not glued to letters, digits or a decimal point.
_NINE = re.compile(r"(?<![0-9A-Za-z.])\d{9}(?![0-9A-Za-z.])")
_EIGHT = re.compile(r"(?<![0-9A-Za-z.])\d{8}(?![0-9A-Za-z.])")
_KVK_CONTEXT = re.compile(
    r"(?<![A-Za-z0-9_-])(?:kvk(?:[-_ ]?(?:nr|nummer|number))?|kamer\s*van\s*koophandel|"
    r"legalsubject\w*|handelsregister)(?![A-Za-z0-9_-])",
    re.I,
)
"""A word naming a KvK number; not the letters k-v-k inside a random id."""
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Za-z.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_HEX = re.compile(r"[0-9a-fA-F]+")
_B64 = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")

_EPOCH_S = (1_000_000_000, 4_102_444_800)  # 2001-09-09 (ten digits) .. 2100-01-01
_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_bsn(digits: str) -> bool:
    """Nine digits passing the 11-proef (weights 9..2, -1), not all zero."""
    if len(digits) != 9 or not digits.isdigit() or set(digits) == {"0"}:
        return False
    return sum(int(d) * w for d, w in zip(digits, _BSN_WEIGHTS, strict=True)) % 11 == 0


def _public_ip(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_loopback)


def _ipv6_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of public IPv6 addresses; a separator colon in front (``key:2001:db8::1``)
    is not part of the address."""
    for match in _IPV6.finditer(text):
        start, end = match.span()
        for offset in (0, 1):
            candidate = text[start + offset : end]
            if candidate.count(":") >= 2 and _public_ip(candidate):
                yield start + offset, end
                break


def has_kvk_context(text: str) -> bool:
    """Whether ``text`` names a KvK number (``kvk``, ``KvK-nummer``, ``LegalSubjectID``)."""
    return _KVK_CONTEXT.search(text) is not None


def find_identifiers(text: str, *, kvk_context: bool = False) -> Iterator[IdentifierKind]:
    """Yield the kind of every identifier-shaped substring (loopback addresses excepted).

    ``kvk_context`` says that the surrounding key or field already names a KvK number.
    """
    for match in _NINE.finditer(text):
        if is_bsn(match.group()):
            yield "bsn"
    if kvk_context or _KVK_CONTEXT.search(text):
        for _ in _EIGHT.finditer(text):
            yield "kvk"
    for _ in _EMAIL.finditer(text):
        yield "email"
    for match in _IPV4.finditer(text):
        if _public_ip(match.group()):
            yield "ipv4"
    for _ in _ipv6_spans(text):
        yield "ipv6"


def mask_identifiers(text: str) -> str:
    """``text`` with every identifier-shaped substring replaced by ``<kind>``."""
    text = _EMAIL.sub("<email>", text)
    text = _NINE.sub(lambda m: "<bsn>" if is_bsn(m.group()) else m.group(), text)
    if _KVK_CONTEXT.search(text):
        text = _EIGHT.sub("<kvk>", text)
    text = _IPV4.sub(lambda m: "<ipv4>" if _public_ip(m.group()) else m.group(), text)
    for start, end in reversed(list(_ipv6_spans(text))):
        text = text[:start] + "<ipv6>" + text[end:]
    return text


def is_keyed_hash(text: str) -> bool:
    """An HMAC-SHA256 output as the issuer writes it: 64 hex digits or 43 base64url chars."""
    if len(text) == 64 and _HEX.fullmatch(text):
        return True
    return len(text) == 43 and bool(re.fullmatch(r"[A-Za-z0-9_-]{43}", text))


def decode_opaque(text: str) -> bytes | None:
    """The bytes behind a hex or base64(url) string that looks random, else ``None``.

    Random-looking means: at least 16 characters, and for base64 all three of upper
    case, lower case and digits (two from 32 characters on), so words stay text. About
    one random base64 string of 16 characters in 15 has no digit and is not taken; the
    cross-side join still compares such texts by the bytes they may encode
    (``inspraak.audit.crossside``).
    """
    if len(text) < 16:
        return None
    if not text.isdigit() and (raw := decode_hex(text)) is not None:
        return raw
    if not _B64.fullmatch(text):
        return None
    classes = sum(any(test(c) for c in text) for test in (str.isupper, str.islower, str.isdigit))
    if classes < (2 if len(text) >= 32 else 3):
        return None
    return decode_base64(text)


def decode_hex(text: str) -> bytes | None:
    """``text`` read as hex (an even number of hex digits), or ``None``."""
    return bytes.fromhex(text) if len(text) % 2 == 0 and _HEX.fullmatch(text) else None


def decode_base64(text: str) -> bytes | None:
    """``text`` read as base64 (standard when it holds ``+`` or ``/``, else base64url,
    padding optional), or ``None`` when it is not base64."""
    if not _B64.fullmatch(text):
        return None
    body = text.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    try:
        if "+" in body or "/" in body:
            return base64.b64decode(padded, validate=True)
        return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return None


def token_shape(data: bytes | str) -> str | None:
    """Describe ``data`` if it is, or encodes, an RFC 9578 type-2 token; else ``None``."""
    if isinstance(data, bytes):
        if len(data) == TOKEN_TYPE_2_LENGTH and data[:2] == b"\x00\x02":
            return "raw type-2 token (354 bytes)"
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            return None
    text = data.strip()
    if len(text) in (472, 708):
        raw = decode_opaque(text)
        if raw is not None and len(raw) == TOKEN_TYPE_2_LENGTH:
            return "encoded token-sized blob (354 bytes)"
    return None


def is_epoch_number(text: str) -> tuple[float, int] | None:
    """``(seconds, scale)`` when ``text`` is a number that reads as epoch seconds or ms."""
    try:
        value = float(text)
    except ValueError:
        return None
    low, high = _EPOCH_S
    if low <= value < high:
        return value, 1
    if low * 1000 <= value < high * 1000:
        return value / 1000, 1000
    return None


def find_iso_datetimes(text: str) -> Iterator[datetime]:
    """Every ISO-8601 date-time with a time part inside ``text`` (naive ones read as UTC)."""
    for match in _ISO.finditer(text):
        raw = match.group().replace(" ", "T").replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            continue
        yield moment if moment.tzinfo else moment.replace(tzinfo=UTC)
