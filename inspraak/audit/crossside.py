"""The join over both sides: any value that occurs in the issuer store and in the
participation store links them.

Every key-name segment, hash field and value, member, stream value and JSON scalar of
each side becomes an *atom*. Random-looking atoms (hex, base64) are decoded and compared
by every 8-byte window, so a shared prefix of a hash, token or nonce is found even when
the two sides encode it differently; other atoms are compared whole, and by the windows of
whatever bytes they may encode as well (a hex prefix of decimal digits only, a short
base64 prefix without the mix of a random string). The issuer side's
windows are held as one sorted array of 64-bit numbers (8 bytes per window), so the join
fits in memory at a national scale. Public things that
legitimately appear on both sides are allow-listed (see :func:`public_atoms`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from inspraak.audit.detect import decode_base64, decode_hex, decode_opaque, mask_identifiers
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
    "window_codes",
    "windows",
]

WINDOW = 8
"""Shared byte runs of this length or longer count as a link (a 64-bit collision is noise)."""

_SPLIT = re.compile(r"[:{}]")
_SCHEMA_WORD = re.compile(r"[a-z][a-z_-]*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PUBLIC_KEY_FIELDS = ("public", "spki", "token_key", "key_id", "pk")
_NONE = np.empty(0, dtype=np.uint64)
_BATCH = 4096


@dataclass(frozen=True, slots=True)
class Atom:
    """One comparable value and where it was found."""

    text: str
    raw: bytes | None
    """Decoded bytes when the atom is random-looking (hex/base64/binary), else ``None``."""
    key: str
    where: str
    readings: tuple[bytes, ...] = ()
    """For a text atom: the bytes it may encode all the same, each at least :data:`WINDOW`
    long. Hex whose digits are all decimal reads as a number (one 8-byte prefix of a hash
    in ~1,800), base64 without digits as a word (one random 16-character string in ~15):
    such texts are joined by the windows of these bytes too."""

    @property
    def runs(self) -> tuple[bytes, ...]:
        """The bytes compared by their windows: the decoded value, else the readings."""
        return (self.raw,) if self.raw is not None else self.readings


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
    return Atom(text, None, key, where, _readings(text))


def _readings(text: str) -> tuple[bytes, ...]:
    """The bytes a text that does not look random may still encode (see ``Atom.readings``)."""
    decoded = (decode_hex(text), decode_base64(text))
    return tuple(raw for raw in decoded if raw is not None and len(raw) >= WINDOW)


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


def window_codes(raws: Sequence[bytes]) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
    """Every :data:`WINDOW`-byte run of each of ``raws`` as a 64-bit number (little-endian),
    and for each the position in ``raws`` it comes from; in order, in one numpy pass."""
    lengths = np.fromiter(map(len, raws), dtype=np.intp, count=len(raws))
    counts = np.maximum(lengths - WINDOW + 1, 0)
    total = int(counts.sum())
    if not total:
        return _NONE, np.empty(0, dtype=np.intp)
    buffer = np.frombuffer(b"".join(raws), dtype=np.uint8)
    every = np.ascontiguousarray(sliding_window_view(buffer, WINDOW)).view("<u8").ravel()
    which = np.repeat(np.arange(len(raws)), counts)
    first = np.cumsum(counts) - counts
    starts = np.cumsum(lengths) - lengths
    positions = np.repeat(starts - first, counts) + np.arange(total)
    return every[positions].astype(np.uint64, copy=False), which


def _codes(grams: Iterable[bytes]) -> NDArray[np.uint64]:
    joined = b"".join(grams)
    return np.frombuffer(joined, dtype="<u8").astype(np.uint64) if joined else _NONE


def _contains(index: NDArray[np.uint64], codes: NDArray[np.uint64]) -> NDArray[np.bool_]:
    """``codes`` found in the sorted ``index``."""
    if not len(index) or not len(codes):
        return np.zeros(len(codes), dtype=np.bool_)
    at = np.minimum(np.searchsorted(index, codes), len(index) - 1)
    return np.asarray(index[at] == codes)


def _atom_windows(batch: Sequence[Atom]) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
    """The windows of every atom's runs (:attr:`Atom.runs`), and the atom each comes from."""
    runs = [run for atom in batch for run in atom.runs]
    of = np.repeat(np.arange(len(batch)), [len(atom.runs) for atom in batch])
    found, which = window_codes(runs)
    return found, of[which]


def _batches(items: Iterable[Atom], size: int = _BATCH) -> Iterator[list[Atom]]:
    batch: list[Atom] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _WindowIndex:
    """The issuer side's byte windows, sorted and unique, each with the first issuer key
    that holds it: 12 bytes per window instead of a dict entry per window.

    At a national scale the issuer store holds millions of hashes; a dict from every window
    to its atom took several GB.
    """

    def __init__(self, atoms: Iterable[Atom], allowed: NDArray[np.uint64]) -> None:
        self.keys: list[str] = []
        codes: list[NDArray[np.uint64]] = []
        owners: list[NDArray[np.uint32]] = []
        for batch in _batches(atoms):
            found, which = _atom_windows(batch)
            keep = ~_contains(allowed, found)
            codes.append(found[keep])
            owners.append((which[keep] + len(self.keys)).astype(np.uint32))
            self.keys.extend(a.key for a in batch)
        every = np.concatenate(codes) if codes else _NONE
        self.codes, first = np.unique(every, return_index=True)  # first: issuer order
        self.owners = np.concatenate(owners)[first] if owners else np.empty(0, np.uint32)

    def links(self, batch: Sequence[Atom]) -> list[str | None]:
        """For each atom of ``batch``: the issuer key sharing its first linked window."""
        found, which = _atom_windows(batch)
        hit = np.flatnonzero(_contains(self.codes, found))
        out: list[str | None] = [None] * len(batch)
        for position in hit[::-1].tolist():  # backwards, so each atom keeps its first hit
            owner = self.owners[np.searchsorted(self.codes, found[position])]
            out[int(which[position])] = self.keys[int(owner)]
        return out


def check_shared_values(
    issuer: StoreSnapshot,
    participation: StoreSnapshot,
    *,
    public_urls: Iterable[str] = (),
) -> list[Finding]:
    """Join the two stores over every atom; report each linked pair of keys once."""
    allowed_texts, allowed_windows = public_atoms(issuer, participation, public_urls=public_urls)
    whole: dict[str, str] = {}

    def issuer_opaque() -> Iterator[Atom]:  # fills ``whole`` as the index reads it
        for entry in issuer.entries:
            for atom in atoms(entry):
                if atom.text in allowed_texts:
                    continue
                whole.setdefault(atom.text, atom.key)
                if atom.runs:
                    yield atom

    index = _WindowIndex(issuer_opaque(), np.sort(_codes(allowed_windows)))
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def report(atom: Atom, issuer_key: str, how: str) -> None:
        if (issuer_key, atom.key) in seen:
            return
        seen.add((issuer_key, atom.key))
        findings.append(
            Finding.of(
                "cross.shared-value",
                Location(participation.label, mask_identifiers(atom.key), atom.where),
                f"{how} as issuer store key {mask_identifiers(issuer_key)} "
                "(which of its parts is not shown: the report would link them)",
            )
        )

    candidates = (a for e in participation.entries for a in atoms(e) if a.text not in allowed_texts)
    for batch in _batches(candidates):
        opaque = [a for a in batch if a.text not in whole and a.runs]
        by_window = dict(zip(map(id, opaque), index.links(opaque), strict=True))
        for atom in batch:
            if atom.text in whole:
                report(atom, whole[atom.text], "the same value")
            elif (key := by_window.get(id(atom))) is not None:
                report(atom, key, f"a shared run of ≥ {WINDOW} bytes")
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
