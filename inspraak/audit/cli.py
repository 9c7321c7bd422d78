"""``inspraak audit``: build the inputs from settings and options, run, print, exit status."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from inspraak.audit.config_checks import ConfigValue, read_env_file, settings_values
from inspraak.audit.engine import AuditOptions, run_audit, snapshot_stores
from inspraak.audit.linkage import play, render_linkage, world_from_snapshots
from inspraak.audit.render import OutputFormat, render
from inspraak.clock import SYSTEM_CLOCK, Clock
from inspraak.settings import Settings

__all__ = ["run_audit_command"]

_FORMATS: tuple[OutputFormat, ...] = ("terminal", "json", "md")


def _load_settings(env_file: Path | None) -> tuple[Settings, dict[str, ConfigValue]]:
    """The deployment's settings and the config values to check.

    Settings refuse to load outside dev mode without good secrets; the audit then reads
    them leniently (validation skipped as in dev mode, nothing generated) so that it can
    still find the stores and report the secrets.
    """
    from inspraak.cli import load_settings

    extra = {} if env_file is None else {"_env_file": env_file}
    try:
        settings = load_settings(**extra)
        return settings, settings_values(settings)
    except ValidationError:
        lenient = Settings(dev_mode=True, **extra)  # type: ignore[arg-type]
        values = settings_values(lenient)
        values["dev_mode"] = ConfigValue("false", "settings")  # only non-dev mode refuses
        return lenient, values


def run_audit_command(
    *,
    issuer_url: str | None,
    participation_url: str | None,
    log_files: list[Path],
    exports: list[Path],
    env_file: Path | None,
    output_format: str,
    linkage_game: bool,
    demo: bool,
    clock: Clock = SYSTEM_CLOCK,
) -> int:
    """Run the audit as the CLI does; returns the exit status (1 on any high finding)."""
    if output_format not in _FORMATS:
        typer.echo(f"--format must be one of {', '.join(_FORMATS)}", err=True)
        return 2
    settings, config = _load_settings(env_file)
    if env_file is not None:
        config.update(read_env_file(env_file))
    participation_url = participation_url or settings.redis_url
    issuer_url = issuer_url or settings.issuer_redis_url or participation_url
    if participation_url is None or issuer_url is None:
        typer.echo(
            "Geef de store op met --participation-redis-url of INSPRAAK_REDIS_URL. / "
            "Give the store with --participation-redis-url or INSPRAAK_REDIS_URL.",
            err=True,
        )
        return 2
    options = AuditOptions.from_settings(settings, clock=clock, demo=demo)
    issuer, participation = snapshot_stores(issuer_url, participation_url)
    report = run_audit(
        options=options,
        issuer=issuer,
        participation=participation,
        config=config,
        log_files=log_files,
        exports=exports,
    )
    typer.echo(render(report, output_format))
    code = report.exit_code
    if linkage_game and issuer is not None and participation is not None:
        cids = sorted(
            e.key.removeprefix("iss:{c:").removesuffix("}:ledger")
            for e in issuer.entries
            if e.key.endswith(":ledger")
        )
        for cid in cids:
            results = play(world_from_snapshots(issuer, participation, cid))
            typer.echo(render_linkage(cid, results))
            if any(r.beyond_chance for r in results):
                code = 1
    return code
