"""Checks over log files and exports, line by line.

A log line may be JSON (production) or console text. Identifiers and tokens are found as
in the stores; an access-log line (HTTP method, path, status) that carries any address, or
a JSON line with a client-address field, is reported as ``log.client-address``.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inspraak.audit.detect import find_identifiers, find_iso_datetimes, token_shape
from inspraak.audit.findings import Finding, Location

__all__ = ["ADDRESS_FIELDS", "MAX_PER_CHECK", "check_export", "check_log_file"]

ADDRESS_FIELDS = frozenset(
    {"client", "client_addr", "client_ip", "remote_addr", "remote_ip", "remote",
     "x-forwarded-for", "x_forwarded_for", "forwarded", "peer", "ip"}
)  # fmt: skip
"""JSON log fields that hold a client address (uvicorn, Caddy, nginx JSON formats)."""

MAX_PER_CHECK = 20
"""Per file and check, findings after this many are summed up in one."""

_ACCESS = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S*(?: HTTP/[\d.]+)?")
_ANY_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_DEBUG = re.compile(r"\[\s*debug\s*\]|\bDEBUG\b|\"level\":\s*\"debug\"", re.I)
_BLOB = re.compile(r"[A-Za-z0-9_\-+/]{472,}={0,2}")
_TIME_FIELDS = ("timestamp", "time", "ts", "@timestamp", "asctime")


def _json(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _has_address_field(record: dict[str, Any]) -> bool:
    for name, value in record.items():
        if name.lower() in ADDRESS_FIELDS and value not in (None, "", "-"):
            return True
        if isinstance(value, dict) and _has_address_field(value):
            return True
    return False


def _fine_time(line: str, record: dict[str, Any] | None, resolution: int) -> bool:
    texts = [str(record[f]) for f in _TIME_FIELDS if record and f in record] or [line[:40]]
    for text in texts:
        for moment in find_iso_datetimes(text):
            if int(moment.timestamp()) % resolution or moment.microsecond:
                return True
        if record is not None:
            try:
                if float(text) % resolution:
                    return True
            except ValueError:
                pass
    return False


class _Capped:
    """Collects findings, at most :data:`MAX_PER_CHECK` per check, then one summary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.counts: dict[str, int] = {}

    def add(self, check: str, line: int, detail: str) -> None:
        self.counts[check] = self.counts.get(check, 0) + 1
        if self.counts[check] <= MAX_PER_CHECK:
            self.findings.append(Finding.of(check, Location(str(self.path), line=line), detail))

    def done(self) -> list[Finding]:
        for check, count in self.counts.items():
            if count > MAX_PER_CHECK:
                self.findings.append(
                    Finding.of(
                        check,
                        Location(str(self.path)),
                        f"{count - MAX_PER_CHECK} more lines like the above",
                    )
                )
        return self.findings


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\n")


def check_log_file(path: Path, *, resolution: int) -> list[Finding]:
    """Identifiers, client addresses, debug lines and fine timestamps in one log file."""
    found = _Capped(path)
    debug_seen = fine_seen = False
    for number, line in _lines(path):
        record = _json(line.strip())
        kinds = sorted(set(find_identifiers(line)))
        if kinds:
            found.add("log.identifier", number, f"{', '.join(kinds)}-shaped value")
        elif any(token_shape(m.group()) for m in _BLOB.finditer(line)):
            found.add("log.identifier", number, "token-shaped value")
        access = bool(_ACCESS.search(line)) and bool(_ANY_IPV4.search(line) or "::" in line)
        if access or (record is not None and _has_address_field(record)):
            found.add("log.client-address", number, "request logged with a client address")
        if not debug_seen and _DEBUG.search(line):
            found.add("log.debug", number, "debug-level output (first such line)")
            debug_seen = True
        if not fine_seen and _fine_time(line, record, resolution):
            found.add("log.fine-timestamp", number, f"time finer than {resolution} s (first line)")
            fine_seen = True
    return found.done()


def _small_export_groups(file: Path, min_group_size: int) -> list[Finding]:
    """Groups of a Polis-style CSV with a ``group-id`` column, counted per group."""
    if file.suffix != ".csv":
        return []
    with file.open(encoding="utf-8", errors="replace", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        if "group-id" not in header:
            return []
        column = header.index("group-id")
        sizes = Counter(row[column] for row in rows if len(row) > column and row[column] != "")
    small = sorted(size for size in sizes.values() if size < min_group_size)
    if not small:
        return []
    return [
        Finding.of(
            "export.small-group",
            Location(str(file)),
            f"group sizes {small} below the minimum of {min_group_size}",
        )
    ]


def check_export(path: Path, *, min_group_size: int = 5) -> list[Finding]:
    """Identifiers and tokens in an export file, or in every file of an export folder, and
    groups smaller than ``min_group_size`` in a ``group-id`` column."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    findings: list[Finding] = []
    for file in files:
        findings += _small_export_groups(file, min_group_size)
        found = _Capped(file)
        for number, line in _lines(file):
            kinds = sorted(set(find_identifiers(line)))
            if kinds:
                found.add("export.identifier", number, f"{', '.join(kinds)}-shaped value")
            elif any(token_shape(m.group()) for m in _BLOB.finditer(line)):
                found.add("export.identifier", number, "token-shaped value")
        findings += found.done()
    return findings
