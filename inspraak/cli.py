"""The ``inspraak`` command: demo, serve, analyze, audit and admin.

Each command builds the one :class:`~inspraak.settings.Settings` from the environment
and hands it to the package that does the work; heavy imports happen inside commands so
that ``inspraak --help`` stays fast.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from inspraak.secrets import ensure_dev_secrets
from inspraak.settings import Settings
from inspraak.store import EmbeddedStore

__all__ = ["app", "main"]

app = typer.Typer(
    name="inspraak",
    help="Inspraak: anonymous, bot-resistant participation in government consultations.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
DOCKER_SECRETS = Path("/run/secrets")
"""Mounted secrets (``inspraak_pepper``, ``inspraak_key_encryption_key``) are read from here."""


class Service(StrEnum):
    issuer = "issuer"
    verifier = "verifier"
    participation = "participation"
    analysis = "analysis"
    devidp = "devidp"
    all = "all"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with dev secrets filled in when in dev mode."""
    secrets_dir = DOCKER_SECRETS if DOCKER_SECRETS.is_dir() else None
    settings = Settings(_secrets_dir=secrets_dir, **overrides)  # type: ignore[call-arg]
    return ensure_dev_secrets(settings)


@contextmanager
def store_for(settings: Settings) -> Iterator[Settings]:
    """Yield settings whose store URLs are set, starting the embedded store when needed."""
    if settings.redis_url is not None:
        yield settings
        return
    with EmbeddedStore(settings.store_dir, appendfsync=settings.appendfsync) as store:
        console.print(f"[green]Embedded Valkey store started[/] (data in {settings.store_dir})")
        yield settings.model_copy(update={"redis_url": store.url})
    console.print("Embedded store stopped cleanly.")


def wait_for_interrupt() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its data.")] = Path(
        "inspraak-data"
    ),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8000,
) -> None:
    """Run everything on http://127.0.0.1:8000 with the embedded store and a sample consultation."""
    settings = load_settings(dev_mode=True, data_dir=data_dir, log_format="console")
    with store_for(settings) as ready:
        try:
            from inspraak.demo import run_demo
        except ImportError:
            console.print(
                "The store is running. The issuer, participation and analysis services "
                "are being built; they will appear here. Press Ctrl-C to stop."
            )
            wait_for_interrupt()
            return
        run_demo(ready, port=port)


@app.command()
def serve(
    service: Annotated[Service, typer.Argument(help="Which service to run.")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run one service (or all of them in one process) with uvicorn."""
    from inspraak.serve import serve_service

    settings = load_settings()
    with store_for(settings) as ready:
        serve_service(ready, service.value, host=host, port=port, workers=workers)


@app.command()
def analyze(
    path: Annotated[Path, typer.Argument(help="A Polis export folder or a votes CSV.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Report JSON file.")] = None,
    svg: Annotated[Path | None, typer.Option(help="Also write the opinion map as SVG.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the stochastic stages.")] = 0,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Progress bar on stderr (default: on a terminal, for runs over half a second).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Analyse a Polis export: groups, representative and consensus statements."""
    from analysis.cli import analyze_command

    analyze_command(path, output=output, svg=svg, seed=seed, progress=progress)


@app.command()
def audit(  # noqa: PLR0917 (typer options)
    issuer_redis_url: Annotated[
        str | None, typer.Option(help="Issuer store (default: from the settings).")
    ] = None,
    participation_redis_url: Annotated[
        str | None, typer.Option(help="Participation store (default: from the settings).")
    ] = None,
    log_file: Annotated[
        list[Path] | None, typer.Option(help="A log file to scan (repeatable).")
    ] = None,
    export: Annotated[
        list[Path] | None, typer.Option(help="An export file or folder to scan (repeatable).")
    ] = None,
    config_env_file: Annotated[
        Path | None, typer.Option(help="The deployment's env file (INSPRAAK_* lines).")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="terminal, json or md.")
    ] = "terminal",
    linkage_game: Annotated[
        bool, typer.Option("--linkage-game", help="Also play the linkage game.")
    ] = False,
    demo: Annotated[
        bool, typer.Option(help="A demo deployment: dev mode and one store are expected.")
    ] = False,
) -> None:
    """Check a live deployment for identifiers and linkable data (read-only)."""
    from inspraak.audit.cli import run_audit_command

    code = run_audit_command(
        issuer_url=issuer_redis_url,
        participation_url=participation_redis_url,
        log_files=log_file or [],
        exports=export or [],
        env_file=config_env_file,
        output_format=output_format,
        linkage_game=linkage_game,
        demo=demo,
    )
    raise typer.Exit(code)


def _add_package_commands() -> None:
    """``inspraak issuer ...`` and ``inspraak admin ...`` live in their packages."""
    from issuer.cli import app as issuer_app
    from participation.cli import admin_app

    app.add_typer(issuer_app, name="issuer")
    app.add_typer(admin_app, name="admin")


_add_package_commands()


def main() -> None:
    app()
