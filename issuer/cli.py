"""``inspraak issuer ...``: set a consultation's policy, rotate its key, upload its panel.

The panel file is read once in memory and turned into keyed hashes; it is never copied.
Each command builds the settings like the rest of the CLI and talks to the issuer store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer

__all__ = ["app"]

T = TypeVar("T")

app = typer.Typer(
    name="issuer",
    help="Token issuer administration: policies, signing keys, invited panels.",
    no_args_is_help=True,
    add_completion=False,
)


def _run(work: Callable[..., Awaitable[T]]) -> T:
    """Run ``work(admin)`` against the issuer store of the configured deployment."""
    from inspraak.cli import load_settings, store_for
    from inspraak.clock import SYSTEM_CLOCK
    from inspraak.logging import configure_logging
    from inspraak.store import open_store
    from issuer.identifiers import pepper_bytes
    from issuer.keys import KeyManager, derive_kek
    from issuer.services import ConsultationAdmin

    settings = load_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)  # stderr
    if settings.key_encryption_key is None:
        raise typer.BadParameter("INSPRAAK_KEY_ENCRYPTION_KEY is not set")
    kek = derive_kek(settings.key_encryption_key.get_secret_value())

    async def main(url: str) -> T:
        async with open_store(url, cluster=settings.redis_cluster) as store:
            keys = KeyManager(store=store, kek=kek)
            admin = ConsultationAdmin(
                store=store, keys=keys, clock=SYSTEM_CLOCK, pepper=pepper_bytes(settings)
            )
            return await work(admin)

    with store_for(settings) as ready:
        url = ready.issuer_redis_url or ready.redis_url
        assert url is not None
        return asyncio.run(main(url))


def _fail(exc: Exception) -> typer.Exit:
    from issuer.errors import IssuerError

    if isinstance(exc, IssuerError):
        nl, en = exc.texts()
        typer.echo(f"{nl}\n{en}" + (f" ({exc.detail})" if exc.detail else ""), err=True)
    else:
        typer.echo(str(exc), err=True)
    return typer.Exit(1)


@app.command("policy")
def set_policy(
    consultation: Annotated[str, typer.Argument(help="Consultation id (slug).")],
    *,
    closes_at: Annotated[str, typer.Option(help="Closing day, YYYY-MM-DD.")],
    scheme: Annotated[list[str], typer.Option(help="Allowed scheme (repeatable).")] = ["digid"],  # noqa: B006
    min_level: Annotated[
        list[str], typer.Option(help="scheme=level, e.g. digid=midden (repeatable).")
    ] = ["digid=midden"],  # noqa: B006
    panel: Annotated[bool, typer.Option(help="Only invited people may join.")] = False,
    tokens_per_person: Annotated[int, typer.Option(min=1, max=100)] = 1,
    min_age: Annotated[int | None, typer.Option(help="BRP condition.")] = None,
    max_age: Annotated[int | None, typer.Option(help="BRP condition.")] = None,
    municipality: Annotated[
        list[str] | None, typer.Option(help="BRP condition: CBS code (repeatable).")
    ] = None,
) -> None:
    """Create or replace a consultation's eligibility policy (its first key is made too)."""
    from pydantic import ValidationError

    from issuer.errors import IssuerError
    from issuer.policy import BrpConditions, Policy

    try:
        levels = dict(item.split("=", 1) for item in min_level)
        brp = None
        if min_age is not None or max_age is not None or municipality:
            brp = BrpConditions(
                min_age=min_age, max_age=max_age, municipalities=tuple(municipality or ())
            )
        policy = Policy(
            schemes=tuple(scheme),  # type: ignore[arg-type]
            min_level=levels,  # type: ignore[arg-type]
            panel=panel,
            brp=brp,
            tokens_per_person=tokens_per_person,
            closes_at=date.fromisoformat(closes_at),
        )
        state = _run(lambda admin: admin.put_policy(consultation, policy))
    except (ValueError, ValidationError, IssuerError) as exc:
        raise _fail(exc) from None
    typer.echo(
        json.dumps(
            {
                "consultation": state.cid,
                "policy": state.policy.model_dump(mode="json"),
                "current_key_id": state.current_key_id,
            },
            indent=2,
        )
    )


@app.command("rotate")
def rotate(
    consultation: Annotated[str, typer.Argument()],
    not_before: Annotated[
        str | None, typer.Option(help="First day it signs (default today).")
    ] = None,
) -> None:
    """Add a new signing key; older keys stay listed until the consultation closes."""
    from issuer.errors import IssuerError

    try:
        day = date.fromisoformat(not_before) if not_before else None
        key = _run(lambda admin: admin.rotate(consultation, not_before=day))
    except (ValueError, IssuerError) as exc:
        raise _fail(exc) from None
    typer.echo(f"key {key.key_id} signs from {key.not_before.isoformat()}")


@app.command("panel")
def upload_panel(
    consultation: Annotated[str, typer.Argument()],
    csv_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    scheme: Annotated[
        str, typer.Option(help="digid (BSNs) or eherkenning (KvK numbers).")
    ] = "digid",
) -> None:
    """Replace the invited panel with the identifiers in a CSV (first column)."""
    from issuer.errors import IssuerError

    if scheme not in ("digid", "eherkenning"):
        raise typer.BadParameter("scheme must be digid or eherkenning")
    text = csv_file.read_text(encoding="utf-8-sig")
    try:
        size = _run(lambda admin: admin.replace_panel_from_csv(consultation, text, scheme=scheme))
    except IssuerError as exc:
        raise _fail(exc) from None
    typer.echo(f"panel of {consultation}: {size} invited (keyed hashes only; the file is not kept)")


@app.command("show")
def show(consultation: Annotated[str, typer.Argument()]) -> None:
    """Print a consultation's policy, keys and panel size."""
    from issuer.errors import IssuerError

    try:
        state = _run(lambda admin: admin.state(consultation))
    except IssuerError as exc:
        raise _fail(exc) from None
    typer.echo(
        json.dumps(
            {
                "consultation": state.cid,
                "policy": state.policy.model_dump(mode="json"),
                "keys": [
                    {
                        "key_id": k.key_id,
                        "not_before": k.not_before.isoformat(),
                        "current": k.key_id == state.current_key_id,
                    }
                    for k in state.keys
                ],
                "panel_size": state.panel_size,
            },
            indent=2,
        )
    )
