"""The privacy officer's audit: read-only checks of a live deployment, and the linkage game."""

from inspraak.audit.config_checks import ConfigValue, check_config, read_env_file, settings_values
from inspraak.audit.engine import AuditOptions, audit_deployment, run_audit, snapshot_stores
from inspraak.audit.findings import CHECKS, AuditReport, Check, Finding, Location, Severity
from inspraak.audit.linkage import (
    STRATEGIES,
    LinkageResult,
    LinkageWorld,
    chance_bound,
    play,
    render_linkage,
    world_from_snapshots,
)
from inspraak.audit.render import OutputFormat, render
from inspraak.audit.snapshot import (
    ALLOWED_COMMANDS,
    ReadOnlyStore,
    StoreSnapshot,
    WriteAttempted,
    take_snapshot,
)

__all__ = [
    "ALLOWED_COMMANDS",
    "CHECKS",
    "STRATEGIES",
    "AuditOptions",
    "AuditReport",
    "Check",
    "ConfigValue",
    "Finding",
    "LinkageResult",
    "LinkageWorld",
    "Location",
    "OutputFormat",
    "ReadOnlyStore",
    "Severity",
    "StoreSnapshot",
    "WriteAttempted",
    "audit_deployment",
    "chance_bound",
    "check_config",
    "play",
    "read_env_file",
    "render",
    "render_linkage",
    "run_audit",
    "settings_values",
    "snapshot_stores",
    "take_snapshot",
    "world_from_snapshots",
]
