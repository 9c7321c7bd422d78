"""What the audit reports: severities, check ids, locations and findings.

Every check has a stable id (``participation.identifier``, ``cross.shared-value``, ...)
listed in :data:`CHECKS`; the privacy documents cite these ids. A finding never repeats
the value it found (the report would otherwise spread the identifier it warns about).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["CHECKS", "AuditReport", "Check", "Finding", "Location", "Severity"]


class Severity(StrEnum):
    """How bad a finding is; any ``high`` finding makes ``inspraak audit`` exit non-zero."""

    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.high: 3, Severity.medium: 2, Severity.low: 1, Severity.info: 0}


@dataclass(frozen=True, slots=True)
class Check:
    """One audit check: its id, default severity and what it guards against."""

    id: str
    severity: Severity
    title: str


def _checks(*items: Check) -> dict[str, Check]:
    return {c.id: c for c in items}


_H, _M, _L, _I = Severity.high, Severity.medium, Severity.low, Severity.info

CHECKS: dict[str, Check] = _checks(
    Check("participation.identifier", _H, "Identifier in the participation store"),
    Check(
        "participation.identifier-in-text",
        _M,
        "Identifier in free text or staff records (review it)",
    ),
    Check("participation.token-bytes", _H, "Token-shaped bytes in the participation store"),
    Check("analysis.identifier", _H, "Identifier in the analysis output (report keys)"),
    Check("issuer.plain-identifier", _H, "Plain identifier in the issuer store"),
    Check("issuer.subject-format", _M, "Issuer subject that is not a keyed hash"),
    Check("issuer.token-bytes", _H, "Token-shaped bytes in the issuer store"),
    Check("issuer.ledger-order", _M, "Issuance ledger keeps the order of issuance"),
    Check("cross.shared-value", _H, "Value present in both the issuer and participation store"),
    Check("cross.shared-store", _H, "Issuer and participation side share one store server"),
    Check("store.fine-timestamp", _H, "Timestamp finer than the configured resolution"),
    Check("store.wallclock-stream-id", _H, "Stream entry ids carry wall-clock milliseconds"),
    Check("keys.plaintext", _H, "Signing key stored unencrypted"),
    Check("keys.size", _H, "Signing key shorter than 2048 bits"),
    Check("keys.no-expiry", _M, "Signing key without an end date"),
    Check("keys.rotation-overdue", _M, "Signing key older than the rotation period"),
    Check("keys.accepted-after-close", _H, "Key still valid after its consultation closed"),
    Check("keys.many", _M, "More keys for one consultation than rotation needs"),
    Check("keys.unreadable", _I, "Key record in a format the audit does not know"),
    Check("report.small-group", _H, "Report shows a group smaller than the minimum size"),
    Check("config.pepper-missing", _H, "No pepper configured"),
    Check("config.pepper-weak", _H, "Pepper too short, a known default, or low in entropy"),
    Check("config.pepper-reused", _M, "Pepper equals the key-encryption key"),
    Check("config.dev-mode", _H, "Development mode (development IdP) on a live deployment"),
    Check("config.debug-logging", _M, "Debug logging switched on"),
    Check(
        "config.privacy-statement-incomplete",
        _H,
        "Privacy statement without the controller, contact, DPO or retention (art. 13 AVG)",
    ),
    Check("log.identifier", _H, "Identifier in a log file"),
    Check("log.client-address", _H, "Access log carrying client addresses"),
    Check("log.debug", _M, "Debug-level lines in a log file"),
    Check("log.fine-timestamp", _L, "Log lines with timestamps finer than the resolution"),
    Check("export.identifier", _H, "Identifier in an export file"),
    Check("export.small-group", _H, "Export assigns fewer than k participants to a group"),
    Check("audit.unreadable", _M, "A source the audit could not read"),
)
"""Every check the audit runs, by id. The privacy documents cite these ids."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a store key (and part of it), or a file and line."""

    source: str
    """``issuer store``, ``participation store``, ``config``, or a file path."""
    key: str | None = None
    part: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        text = self.source
        if self.key is not None:
            text += f" key {self.key}"
        if self.part is not None:
            text += f" ({self.part})"
        if self.line is not None:
            text += f":{self.line}"
        return text


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: which check, how severe, where, and what (never the value itself)."""

    check: str
    severity: Severity
    location: Location
    detail: str

    @classmethod
    def of(
        cls, check: str, location: Location, detail: str, *, severity: Severity | None = None
    ) -> Finding:
        """A finding of a known check, at the check's default severity unless given."""
        return cls(check, severity or CHECKS[check].severity, location, detail)


@dataclass(slots=True)
class AuditReport:
    """All findings of one run, plus the sources that were read."""

    findings: list[Finding] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def counted(self, minimum: Severity = Severity.low) -> list[Finding]:
        """Findings at or above ``minimum`` (``info`` entries are notes, not problems)."""
        return [f for f in self.findings if f.severity.rank >= minimum.rank]

    @property
    def exit_code(self) -> int:
        """1 when any finding is high, else 0 (for deployment pipelines)."""
        return 1 if self.counted(Severity.high) else 0

    def sorted(self) -> list[Finding]:
        return sorted(
            self.findings,
            key=lambda f: (-f.severity.rank, f.check, f.location.source, str(f.location)),
        )
