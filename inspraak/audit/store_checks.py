"""Checks over one store snapshot: identifiers, tokens, timestamps, keys, small groups.

Which part of the store a key belongs to follows docs/architecture.md: issuer keys start
with ``iss:``; participation keys carry the ``{c:<cid>}`` hash tag; ``report`` and
``priorities`` are the analysis output.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from inspraak.audit.detect import (
    find_identifiers,
    find_iso_datetimes,
    has_kvk_context,
    is_epoch_number,
    is_keyed_hash,
    mask_identifiers,
    token_shape,
)
from inspraak.audit.findings import Finding, Location, Severity
from inspraak.audit.snapshot import Entry, Part, StoreSnapshot

__all__ = [
    "FREE_TEXT_FIELDS",
    "TRANSIENT_TTL_SECONDS",
    "check_issuer_store",
    "check_keys",
    "check_participation_store",
    "check_small_groups",
    "check_timestamps",
    "consultation_ids",
]

FREE_TEXT_FIELDS = frozenset({"text", "title", "description", "question", "reason", "body"})
"""Fields holding text typed by people: an identifier there is content to moderate."""

TRANSIENT_TTL_SECONDS = 3600
"""A fine timestamp in a key expiring within this many seconds is reported as info only."""

_TAG = re.compile(r"\{c:([a-z0-9][a-z0-9-]{0,62})\}")
_STAFF = re.compile(r"^apikey:|:audit$")
"""Organiser API keys and the moderation trail: named staff, not participants."""
_ANALYSIS_SUFFIXES = (":report", ":priorities")
_GROUP_SIZE_FIELDS = (
    "size", "n", "count", "n_members", "member_count", "n_participants",
    "participant_count", "participants", "members",
)  # fmt: skip


def consultation_ids(snapshot: StoreSnapshot) -> set[str]:
    """Every consultation id named in a hash tag of this store."""
    return {m.group(1) for e in snapshot.entries for m in _TAG.finditer(e.key)}


def _location(snapshot: StoreSnapshot, entry: Entry, part: Part | None = None) -> Location:
    return Location(
        snapshot.label, mask_identifiers(entry.key), None if part is None else part.where
    )


def _is_free_text(entry: Entry, part: Part) -> bool:
    if part.name in FREE_TEXT_FIELDS or _STAFF.search(entry.key):
        return True
    return entry.key.endswith(":consultation") and part.kind == "value"


def _identifier_findings(
    snapshot: StoreSnapshot, entry: Entry, part: Part, *, check: str, text_check: str | None
) -> Iterator[Finding]:
    kvk_context = has_kvk_context(entry.key) or has_kvk_context(part.name)
    for scalar in part.scalars():
        kinds = sorted(set(find_identifiers(scalar, kvk_context=kvk_context)))
        if not kinds:
            continue
        free = text_check is not None and _is_free_text(entry, part)
        yield Finding.of(
            text_check if free and text_check else check,
            _location(snapshot, entry, part),
            f"{', '.join(kinds)}-shaped value in the {part.kind}",
        )
        return


def _token_findings(
    snapshot: StoreSnapshot, entry: Entry, part: Part, *, check: str
) -> Iterator[Finding]:
    shape = token_shape(part.data)
    if shape is None:
        shape = next((s for v in part.scalars() if (s := token_shape(v))), None)
    if shape is not None:
        yield Finding.of(check, _location(snapshot, entry, part), shape)


def check_participation_store(snapshot: StoreSnapshot) -> list[Finding]:
    """Identifiers and token bytes anywhere on the participation side, report keys included."""
    findings: list[Finding] = []
    for entry in snapshot.entries:
        analysis = entry.key.endswith(_ANALYSIS_SUFFIXES)
        for part in entry.parts:
            findings += _identifier_findings(
                snapshot,
                entry,
                part,
                check="analysis.identifier" if analysis else "participation.identifier",
                text_check=None if analysis else "participation.identifier-in-text",
            )
            findings += _token_findings(snapshot, entry, part, check="participation.token-bytes")
    return findings


def _subject_parts(entry: Entry) -> Iterator[Part]:
    """Parts that must be keyed hashes: ledger fields and panel members."""
    if entry.key.endswith(":ledger"):
        yield from (p for p in entry.parts if p.kind == "field")
    elif entry.key.endswith(":panel"):
        yield from (p for p in entry.parts if p.kind == "member")


def check_issuer_store(snapshot: StoreSnapshot) -> list[Finding]:
    """Plain identifiers, unhashed subjects, token bytes and a visible issuance order."""
    findings: list[Finding] = []
    for entry in snapshot.entries:
        panel = entry.key.endswith(":panel")
        for part in entry.parts:
            kvk_context = panel and part.kind == "member"
            text = part.text or ""
            kinds = sorted(set(find_identifiers(text, kvk_context=kvk_context)))
            if kinds:
                findings.append(
                    Finding.of(
                        "issuer.plain-identifier",
                        _location(snapshot, entry, part),
                        f"{', '.join(kinds)}-shaped value instead of a keyed hash",
                    )
                )
            findings += _token_findings(snapshot, entry, part, check="issuer.token-bytes")
        for part in _subject_parts(entry):
            if not is_keyed_hash(part.text or ""):
                findings.append(
                    Finding.of(
                        "issuer.subject-format",
                        _location(snapshot, entry, part),
                        "not an HMAC-SHA256 output (64 hex or 43 base64url characters)",
                    )
                )
        fields = sum(1 for p in entry.parts if p.kind == "field")
        if entry.key.endswith(":ledger") and entry.encoding == "listpack" and fields > 1:
            findings.append(
                Finding.of(
                    "issuer.ledger-order",
                    _location(snapshot, entry),
                    f"listpack encoding returns the {fields} subjects in issuance order; "
                    "set hash-max-listpack-entries 0 on the issuer store",
                )
            )
    return findings


def _fine(moment: float, resolution: int) -> bool:
    return int(moment) % resolution != 0 or moment != int(moment)


def _timestamp_severity(snapshot: StoreSnapshot, entry: Entry) -> tuple[Severity, str]:
    if entry.key.startswith("iss:saml:") and entry.ttl > 0:
        return Severity.info, " (SAML replay state, expires)"
    if 0 < entry.ttl <= TRANSIENT_TTL_SECONDS:
        return Severity.info, f" (key expires within {entry.ttl} s)"
    return Severity.high, ""


def check_timestamps(snapshot: StoreSnapshot, *, resolution: int) -> list[Finding]:
    """Epoch numbers, ISO date-times and stream ids finer than ``resolution`` seconds."""
    findings: list[Finding] = []
    for entry in snapshot.entries:
        severity, note = _timestamp_severity(snapshot, entry)
        reported = False
        for part in entry.values():
            if part.kind == "entry-id":
                millis = (part.text or "0-0").split("-")[0]
                if is_epoch_number(millis) and len(millis) >= 12:
                    findings.append(
                        Finding.of(
                            "store.wallclock-stream-id",
                            _location(snapshot, entry, part),
                            "stream entry id is a wall-clock millisecond time; "
                            "use <seq>-0 ids from a counter",
                        )
                    )
                    break
                continue
            if reported:
                continue
            for scalar in part.scalars():
                epoch = is_epoch_number(scalar.strip())
                fine = epoch is not None and _fine(epoch[0], resolution)
                if not fine:
                    fine = any(_fine(m.timestamp(), resolution) for m in find_iso_datetimes(scalar))
                if fine:
                    findings.append(
                        Finding.of(
                            "store.fine-timestamp",
                            _location(snapshot, entry, part),
                            f"time finer than {resolution} s{note}",
                            severity=severity,
                        )
                    )
                    reported = True
                    break
    return findings


# -- keys ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KeyRecord:
    bits: int | None
    not_before: date | None
    not_after: date | None
    plaintext: bool


def _parse_day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        if value < 100_000:  # days since the epoch
            return date(1970, 1, 1) + timedelta(days=int(value))
        return datetime.fromtimestamp(seconds, UTC).date()
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def _der(data: bytes, at: int) -> tuple[int, int, int]:
    """``(tag, start, end)`` of the DER element at ``at`` (X.690 §8.1)."""
    tag, length = data[at], data[at + 1]
    start = at + 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    return tag, start, start + length


def _spki_modulus_bits(spki: bytes) -> int | None:
    """Bits of n in an RSA SubjectPublicKeyInfo, whatever its algorithm OID (RFC 5280 §4.1)."""
    try:
        _, start, _ = _der(spki, 0)  # SubjectPublicKeyInfo
        _, _, after_algorithm = _der(spki, start)  # AlgorithmIdentifier
        tag, bits_start, _ = _der(spki, after_algorithm)  # BIT STRING
        if tag != 0x03:
            return None
        _, body, _ = _der(spki, bits_start + 1)  # RSAPublicKey SEQUENCE
        tag, n_start, n_end = _der(spki, body)  # INTEGER n
    except IndexError:
        return None
    return int.from_bytes(spki[n_start:n_end], "big").bit_length() if tag == 0x02 else None


def _public_key_bits(value: Any) -> int | None:
    if isinstance(value, int):
        return value.bit_length()
    text = str(value).strip()
    if "BEGIN" in text:
        text = "".join(line for line in text.splitlines() if not line.startswith("-----"))
    body = text.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        return None
    return _spki_modulus_bits(raw)


def _first(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in record and record[name] not in (None, ""):
            return record[name]
    return None


def _key_record(raw: bytes) -> _KeyRecord | None:
    plaintext = b"PRIVATE KEY-----" in raw and b"ENCRYPTED" not in raw
    try:
        record = json.loads(raw)
    except ValueError:
        return _KeyRecord(None, None, None, plaintext) if plaintext else None
    if not isinstance(record, dict):
        return None
    bits_value = _first(record, "bits", "key_bits", "modulus_bits", "size")
    bits = int(bits_value) if str(bits_value).isdigit() else None
    if bits is None:
        public = _first(record, "token_key", "public_key", "spki", "pk", "public")
        bits = _public_key_bits(public) if public is not None else None
    private = _first(record, "private_key", "private_key_pem", "sk", "d")
    if isinstance(private, str) and "PRIVATE KEY-----" in private and "ENCRYPTED" not in private:
        plaintext = True
    return _KeyRecord(
        bits,
        _parse_day(_first(record, "not_before", "notBefore", "valid_from")),
        _parse_day(_first(record, "not_after", "notAfter", "expires", "valid_until")),
        plaintext,
    )


def _closes_at(snapshot: StoreSnapshot, cid: str) -> date | None:
    entry = snapshot.get(f"iss:{{c:{cid}}}:policy")
    if entry is None:
        return None
    for part in entry.values():
        try:
            policy = json.loads(part.data)
        except ValueError:
            return None
        if isinstance(policy, dict):
            return _parse_day(_first(policy, "closes_at", "closes", "close_day"))
    return None


def check_keys(
    snapshot: StoreSnapshot,
    *,
    today: date,
    min_bits: int = 2048,
    max_age_days: int = 365,
    max_keys: int = 3,
) -> list[Finding]:
    """Size, expiry, rotation and after-close validity of every ``iss:{c:<cid>}:keys`` record,
    and the number of keys per consultation (each key splits the anonymity set).

    Tolerant: a record in a format this audit does not know gives a ``keys.unreadable`` note.
    """
    findings: list[Finding] = []
    for entry in snapshot.entries:
        match = re.fullmatch(r"iss:\{c:([^}]+)\}:keys", entry.key)
        if match is None:
            continue
        count = sum(1 for p in entry.parts if p.kind == "field")
        if count > max_keys:
            findings.append(
                Finding.of(
                    "keys.many",
                    _location(snapshot, entry),
                    f"{count} keys (> {max_keys}): tokens of different keys are told apart",
                )
            )
        closes = _closes_at(snapshot, match.group(1))
        for part in entry.parts:
            if part.kind != "value":
                continue
            where = _location(snapshot, entry, part)
            record = _key_record(part.data)
            if record is None:
                findings.append(Finding.of("keys.unreadable", where, "key record not understood"))
                continue
            if record.plaintext:
                findings.append(Finding.of("keys.plaintext", where, "unencrypted private key"))
            if record.bits is not None and record.bits < min_bits:
                findings.append(
                    Finding.of("keys.size", where, f"{record.bits}-bit key (< {min_bits})")
                )
            end = record.not_after or closes
            if end is None:
                findings.append(Finding.of("keys.no-expiry", where, "no not_after, no close day"))
            if record.not_before and (today - record.not_before).days > max_age_days:
                age = (today - record.not_before).days
                findings.append(
                    Finding.of("keys.rotation-overdue", where, f"{age} days old (> {max_age_days})")
                )
            if closes is not None and closes < today and (end is None or end > closes):
                findings.append(
                    Finding.of(
                        "keys.accepted-after-close",
                        where,
                        f"consultation closed on {closes}, key valid until {end or 'forever'}",
                    )
                )
    return findings


# -- small groups ----------------------------------------------------------------------


def _group_sizes(document: Any, in_groups: bool = False) -> Iterator[int]:
    if isinstance(document, dict):
        if in_groups:
            for name in _GROUP_SIZE_FIELDS:
                value = document.get(name)
                if isinstance(value, int) and not isinstance(value, bool):
                    yield value
                    break
                if isinstance(value, list):
                    yield len(value)
                    break
        for name, value in document.items():
            yield from _group_sizes(value, "group" in str(name).lower())
    elif isinstance(document, list):
        for item in document:
            yield from _group_sizes(item, in_groups)


def check_small_groups(snapshot: StoreSnapshot, *, min_group_size: int) -> list[Finding]:
    """A stored report (``{c:<cid>}:report``) listing a group smaller than k."""
    findings: list[Finding] = []
    for entry in snapshot.entries:
        if not entry.key.endswith(":report"):
            continue
        for part in entry.values():
            try:
                document = json.loads(part.data)
            except ValueError:
                continue
            small = sorted({s for s in _group_sizes(document) if 0 < s < min_group_size})
            if small:
                findings.append(
                    Finding.of(
                        "report.small-group",
                        _location(snapshot, entry, part),
                        f"group sizes {small} below the minimum of {min_group_size}",
                    )
                )
    return findings
