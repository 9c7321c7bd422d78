"""Run every check over a deployment: both stores, the configuration, logs and exports.

:func:`run_audit` works on what has been read (snapshots, config values, paths) and
does no network I/O; :func:`audit_deployment` connects to the stores read-only first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from inspraak.audit.config_checks import ConfigValue, check_config
from inspraak.audit.crossside import check_shared_store, check_shared_values
from inspraak.audit.findings import AuditReport, Finding, Location
from inspraak.audit.log_checks import check_export, check_log_file
from inspraak.audit.snapshot import StoreSnapshot, take_snapshot
from inspraak.audit.store_checks import (
    check_issuer_store,
    check_keys,
    check_participation_store,
    check_small_groups,
    check_timestamps,
)
from inspraak.clock import Clock
from inspraak.settings import Settings
from inspraak.store import connect

__all__ = ["AuditOptions", "audit_deployment", "run_audit", "snapshot_stores"]


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """What the checks compare against; :meth:`from_settings` takes it from the settings."""

    today: date
    resolution_seconds: int = 86_400
    min_group_size: int = 5
    min_key_bits: int = 2048
    max_key_age_days: int = 365
    max_keys_per_consultation: int = 3
    public_urls: tuple[str, ...] = ()
    demo: bool = False
    """A demo deployment: development mode and one shared store are notes, not findings."""

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock, demo: bool = False) -> AuditOptions:
        return cls(
            today=clock.now().date(),
            resolution_seconds=settings.timestamp_resolution_seconds,
            min_group_size=settings.participation.min_group_size,
            min_key_bits=min(settings.issuer.key_bits, 2048),
            public_urls=(settings.public_url, settings.issuer_url),
            demo=demo,
        )


def run_audit(
    *,
    options: AuditOptions,
    issuer: StoreSnapshot | None = None,
    participation: StoreSnapshot | None = None,
    config: Mapping[str, ConfigValue] | None = None,
    log_files: Sequence[Path] = (),
    exports: Sequence[Path] = (),
) -> AuditReport:
    """Every check over whatever was given; a missing source is simply not checked."""
    report = AuditReport()
    resolution = options.resolution_seconds
    for snapshot in (issuer, participation):
        if snapshot is None:
            continue
        report.sources.append(f"{snapshot.label} ({len(snapshot.entries)} keys)")
        report.add(check_timestamps(snapshot, resolution=resolution))
    if issuer is not None:
        report.add(check_issuer_store(issuer))
        report.add(
            check_keys(
                issuer,
                today=options.today,
                min_bits=options.min_key_bits,
                max_age_days=options.max_key_age_days,
                max_keys=options.max_keys_per_consultation,
            )
        )
    if participation is not None:
        report.add(check_participation_store(participation))
        report.add(check_small_groups(participation, min_group_size=options.min_group_size))
    if issuer is not None and participation is not None:
        report.add(check_shared_store(issuer, participation, demo=options.demo))
        report.add(check_shared_values(issuer, participation, public_urls=options.public_urls))
    if config is not None:
        report.sources.append("configuration")
        report.add(check_config(config, demo=options.demo))
    for path in log_files:
        report.sources.append(f"log {path}")
        report.add(_readable(path, lambda p: check_log_file(p, resolution=resolution)))
    for path in exports:
        report.sources.append(f"export {path}")
        report.add(
            _readable(path, lambda p: check_export(p, min_group_size=options.min_group_size))
        )
    return report


def _readable(path: Path, check: Callable[[Path], list[Finding]]) -> list[Finding]:
    try:
        return check(path)
    except OSError as error:
        return [Finding.of("audit.unreadable", Location(str(path)), type(error).__name__)]


def snapshot_stores(
    issuer_url: str | None, participation_url: str | None
) -> tuple[StoreSnapshot | None, StoreSnapshot | None]:
    """Read both sides (read-only); the same URL for both is split by key prefix."""
    snapshots: list[StoreSnapshot | None] = []
    for side, url in (("issuer", issuer_url), ("participation", participation_url)):
        if url is None:
            snapshots.append(None)
            continue
        client = connect(url)
        try:
            snapshots.append(take_snapshot(client, side=side, url=url))  # type: ignore[arg-type]
        finally:
            client.close()
    return snapshots[0], snapshots[1]


def audit_deployment(
    *,
    options: AuditOptions,
    issuer_url: str | None,
    participation_url: str | None,
    config: Mapping[str, ConfigValue] | None = None,
    log_files: Sequence[Path] = (),
    exports: Sequence[Path] = (),
) -> AuditReport:
    """Connect to the stores read-only, snapshot them, and run every check."""
    issuer, participation = snapshot_stores(issuer_url, participation_url)
    return run_audit(
        options=options,
        issuer=issuer,
        participation=participation,
        config=config,
        log_files=log_files,
        exports=exports,
    )
