"""The join over both sides: any value that occurs in the issuer store and in the
participation store links them.

Every key-name segment, hash field and value, member, stream value and JSON scalar of
each side becomes an *atom*. Random-looking atoms (hex, base64) are decoded and compared
by every 8-byte window, so a shared prefix of a hash, token or nonce is found even when
the two sides encode it differently; other atoms are compared whole. Public things that
legitimately appear on both sides are allow-listed (see :func:`public_atoms`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from inspraak.audit.detect import decode_opaque, mask_identifiers
from inspraak.audit.findings import Finding, Location, Severity
from inspraak.audit.snapshot import Entry, Part, StoreSnapshot
from inspraak.audit.store_checks import consultation_ids

__all__ = [
    "WINDOW",
    "Atom",
    "atoms",
    "check_shared_store",
    "check_shared_values",
    "part_atoms",
    "public_atoms",
    "windows",
]

WINDOW = 8
"""Shared byte runs of this length or longer count as a link (a 64-bit collision is noise)."""

_SPLIT = re.compile(r"[:{}]")
_SCHEMA_WORD = re.compile(r"[a-z][a-z_-]*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PUBLIC_KEY_FIELDS = ("public", "spki", "token_key", "key_id", "pk")


@dataclass(frozen=True, slots=True)
class Atom:
    """One comparable value and where it was found."""

    text: str
    raw: bytes | None
    """Decoded bytes when the atom is random-looking (hex/base64/binary), else ``None``."""
    key: str
    where: str


def _atom(value: bytes, key: str, where: str) -> Atom | None:
    try:
        text = value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Atom(value.hex(), value, key, where) if len(value) >= WINDOW else None
    raw = decode_opaque(text)
    if raw is not None and len(raw) >= WINDOW:
        return Atom(text, raw, key, where)
    if len(text) < WINDOW or _SCHEMA_WORD.fullmatch(text) or _DAY.fullmatch(text):
        return None  # schema words, enumerations and day-resolution dates are not ids
    return Atom(text, None, key, where)


def atoms(entry: Entry) -> Iterator[Atom]:
    """Every atom of one key: name segments, fields, values, members, JSON scalars."""
    for segment in _SPLIT.split(entry.key):
        if (atom := _atom(segment.encode(), entry.key, "key name")) is not None:
            yield atom
    for part in entry.values():
        yield from part_atoms(entry, part)


def part_atoms(entry: Entry, part: Part) -> Iterator[Atom]:
    """The atoms of one part: its value, or each JSON scalar inside it."""
    if part.kind in {"score", "entry-id"}:
        return
    scalars = list(part.scalars()) if part.text is not None else []
    if not scalars:
        if (atom := _atom(part.data, entry.key, part.where)) is not None:
            yield atom
        return
    for scalar in scalars:
        if (atom := _atom(scalar.encode(), entry.key, part.where)) is not None:
            yield atom


def windows(raw: bytes) -> Iterator[bytes]:
    """Every :data:`WINDOW`-byte run of ``raw``."""
    for start in range(len(raw) - WINDOW + 1):
        yield raw[start : start + WINDOW]


def _host(url: str) -> str:
    return urlsplit(url).netloc


def public_atoms(
    issuer: StoreSnapshot, participation: StoreSnapshot, *, public_urls: Iterable[str] = ()
) -> tuple[set[str], set[bytes]]:
    """What may appear on both sides: ``(texts, byte windows)``.

    - consultation ids and their redemption contexts (public, docs/architecture.md);
    - the issuer's key ids and public keys (published in the issuer directory);
    - the public URLs and their hosts (the TokenChallenge names them);
    - the texts of the public consultation record ``{c:<cid>}:consultation`` (title, dates:
      shown on the landing page); random-looking values there are allowed only when they
      are published keys.
    """
    texts: set[str] = set()
    raw: set[bytes] = set()
    cids = consultation_ids(issuer) | consultation_ids(participation)
    texts |= cids
    for cid in cids:
        context = hashlib.sha256(b"inspraak/v1/redemption-context:" + cid.encode()).digest()
        raw.update(windows(context))
    for url in public_urls:
        texts |= {url, _host(url), url.rstrip("/")}
    published: list[str] = []
    for entry in issuer.entries:
        if entry.key.endswith(":keys"):
            for part in entry.parts:
                if part.kind == "field":
                    published.append(part.text or "")
                elif part.kind == "value":
                    published.extend(_public_scalars(part.data))
    for value in published:
        texts.add(value)
        decoded = decode_opaque(_pem_body(value) if "BEGIN" in value else value)
        if decoded is not None:
            raw.update(windows(decoded))
    for entry in participation.entries:
        if entry.key.endswith(":consultation"):  # its texts; random-looking values must
            texts |= {a.text for a in atoms(entry) if a.raw is None}  # be published keys
    return texts, raw


def _pem_body(text: str) -> str:
    return "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))


def _public_scalars(data: bytes) -> Iterator[str]:
    """Scalars under public-key-like names inside a JSON key record."""
    try:
        record = json.loads(data)
    except ValueError:
        return
    if isinstance(record, dict):
        for name, value in record.items():
            if any(f in name.lower() for f in _PUBLIC_KEY_FIELDS) and "private" not in name:
                yield str(value).strip()


def check_shared_values(
    issuer: StoreSnapshot,
    participation: StoreSnapshot,
    *,
    public_urls: Iterable[str] = (),
) -> list[Finding]:
    """Join the two stores over every atom; report each linked pair of keys once."""
    allowed_texts, allowed_windows = public_atoms(issuer, participation, public_urls=public_urls)
    whole: dict[str, Atom] = {}
    grams: dict[bytes, Atom] = {}
    for entry in issuer.entries:
        for atom in atoms(entry):
            if atom.text in allowed_texts:
                continue
            whole.setdefault(atom.text, atom)
            if atom.raw is not None:
                for gram in windows(atom.raw):
                    if gram not in allowed_windows:
                        grams.setdefault(gram, atom)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for entry in participation.entries:
        for atom in atoms(entry):
            if atom.text in allowed_texts:
                continue
            match = whole.get(atom.text)
            how = "the same value"
            if match is None and atom.raw is not None:
                shared = (g for g in windows(atom.raw) if g not in allowed_windows)
                match = next((grams[g] for g in shared if g in grams), None)
                how = f"a shared run of ≥ {WINDOW} bytes"
            if match is None or (match.key, atom.key) in seen:
                continue
            seen.add((match.key, atom.key))
            findings.append(
                Finding.of(
                    "cross.shared-value",
                    Location(participation.label, mask_identifiers(atom.key), atom.where),
                    f"{how} as issuer store key {mask_identifiers(match.key)} "
                    "(which of its parts is not shown: the report would link them)",
                )
            )
    return findings


def check_shared_store(
    issuer: StoreSnapshot, participation: StoreSnapshot, *, demo: bool = False
) -> list[Finding]:
    """One server for both sides: its AOF and replication stream interleave their writes."""
    same_url = issuer.url and issuer.url.split("/")[2:3] == participation.url.split("/")[2:3]
    same_server = None not in issuer.server and issuer.server == participation.server
    if not (same_url or same_server):
        return []
    return [
        Finding.of(
            "cross.shared-store",
            Location("deployment", issuer.url or None),
            "both sides use one server: its append-only file records issuance and joins "
            "in one order" + (" (expected in the demo)" if demo else ""),
            severity=Severity.info if demo else None,
        )
    ]
