"""``inspraak admin ...``: organisation API keys, consultations and seed statements.

Mounted by :mod:`inspraak.cli` as the ``admin`` group. Each command builds the settings
from the environment, connects to the store and calls the same services as the API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from inspraak.clock import SYSTEM_CLOCK
from inspraak.store import Store, open_store
from participation.errors import ParticipationError
from participation.ratelimit import RateLimiter
from participation.schemas import ConsultationCreate
from participation.services import ApiKeyService, ConsultationService, StatementService
from tokens import SYSTEM_RNG
from verifier import consultation_challenge, host_of, origin_for

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["admin_app", "create_consultation", "create_key", "seed_statements"]

admin_app = typer.Typer(
    name="admin",
    help="Organisation API keys, consultations and seed statements.",
    no_args_is_help=True,
)
console = Console(stderr=True)
T = TypeVar("T")


class Role(StrEnum):
    organiser = "organiser"
    moderator = "moderator"


class Moderation(StrEnum):
    strict = "strict"
    permissive = "permissive"


def _run(work: Callable[[Settings, Store], Awaitable[T]]) -> T:
    """Run ``work`` against the configured store (starting the embedded one if needed)."""
    from inspraak.cli import load_settings, store_for

    settings = load_settings()
    with store_for(settings) as ready:
        url = ready.redis_url
        if url is None:  # pragma: no cover - store_for always sets it
            raise typer.Exit(2)

        async def main() -> T:
            async with open_store(url, cluster=ready.redis_cluster) as store:
                return await work(ready, store)

        try:
            return asyncio.run(main())
        except ParticipationError as exc:
            console.print(f"[red]{exc.nl}[/] / {exc.en}")
            raise typer.Exit(1) from None


def _consultations(settings: Settings, store: Store) -> ConsultationService:
    return ConsultationService(
        store=store,
        clock=SYSTEM_CLOCK,
        settings=settings,
        challenge=lambda c: consultation_challenge(
            host_of(c.issuer_url), origin_for(settings), c.id
        ),
    )


@admin_app.command("create-key")
def create_key(
    name: Annotated[str, typer.Option(help="Who holds the key (shown in the audit trail).")],
    organisation: Annotated[str, typer.Option(help="The organisation the key acts for.")],
    role: Annotated[Role, typer.Option(help="organiser: everything; moderator: moderation.")],
) -> None:
    """Create an organisation API key; it is printed once and stored only as a hash."""

    async def work(settings: Settings, store: Store) -> str:
        service = ApiKeyService(store=store, clock=SYSTEM_CLOCK, settings=settings, rng=SYSTEM_RNG)
        return await service.create(name=name, organisation=organisation, role=role.value)

    key = _run(work)
    console.print("API key (shown once, keep it safe):")
    typer.echo(key)


@admin_app.command("create-consultation")
def create_consultation(  # noqa: PLR0917 - typer options
    cid: Annotated[str, typer.Argument(help="Slug: lower-case letters, digits, hyphens.")],
    title: Annotated[str, typer.Option()],
    organisation: Annotated[str, typer.Option()],
    opens: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (UTC).")],
    closes: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (UTC).")],
    question: Annotated[str, typer.Option()] = "",
    description_file: Annotated[
        Path | None, typer.Option(help="Markdown file with the description.")
    ] = None,
    language: Annotated[list[str] | None, typer.Option(help="nl, en (repeatable).")] = None,
    moderation: Annotated[Moderation, typer.Option()] = Moderation.strict,
    participant_statements: Annotated[bool, typer.Option()] = True,
) -> None:
    """Create a consultation for an organisation."""
    try:
        data = ConsultationCreate(
            id=cid,
            title=title,
            question=question,
            description=description_file.read_text("utf-8") if description_file else "",
            languages=language or ["nl"],  # type: ignore[arg-type]
            opens_at=date.fromisoformat(opens),
            closes_at=date.fromisoformat(closes),
            moderation=moderation.value,
            allow_statements=participant_statements,
        )
    except ValueError as exc:
        console.print(f"[red]Ongeldige invoer / invalid input:[/] {exc}")
        raise typer.Exit(1) from None

    async def work(settings: Settings, store: Store) -> None:
        await _consultations(settings, store).create(data, organisation=organisation)

    _run(work)
    console.print(f"Consultation [bold]{cid}[/] created.")


@admin_app.command("seed")
def seed_statements(
    cid: Annotated[str, typer.Argument()],
    statements_file: Annotated[Path, typer.Argument(help="One statement per line.")],
) -> None:
    """Add seed statements (approved at once) from a text file."""
    texts = [line for line in statements_file.read_text("utf-8").splitlines() if line.strip()]

    async def work(settings: Settings, store: Store) -> list[int]:
        consultation = await _consultations(settings, store).get(cid)
        limiter = RateLimiter(store=store, clock=SYSTEM_CLOCK, secret=b"cli")
        service = StatementService(
            store=store, clock=SYSTEM_CLOCK, settings=settings, limiter=limiter
        )
        return await service.seed(consultation, texts)

    ids = _run(work)
    console.print(f"{len(ids)} statements added to [bold]{cid}[/].")
