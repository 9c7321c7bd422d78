"""``inspraak demo``: everything on one origin with a sample consultation that has a report.

The sample consultation is created on both sides the way an organiser would (issuer policy
and key, participation consultation and seed statements), then a few hundred synthetic
votes from synthetic participants are added so that the report is not empty. Seeding is
idempotent: a second start finds the consultation and keeps the data.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import structlog

from inspraak.clock import SYSTEM_CLOCK, Clock
from inspraak.store import open_store

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = [
    "SAMPLE_CONSULTATION",
    "SAMPLE_STATEMENTS",
    "TEST_BSNS",
    "demo_settings",
    "run_demo",
    "seed_demo",
]

log = structlog.get_logger(__name__)

SAMPLE_CONSULTATION = "groen-in-de-wijk"
TEST_BSNS = ("999990019", "999990020", "999990032", "999990044")
"""Test BSNs of the 9999xxxxx range that pass the 11-proef (development IdP only)."""

SAMPLE_STATEMENTS = (
    "Er moeten meer bomen komen in onze straat.",
    "Parkeerplaatsen mogen plaatsmaken voor groen.",
    "De gemeente moet geveltuinen gratis aanleggen.",
    "Speelplekken voor kinderen zijn belangrijker dan bloemperken.",
    "Bewoners moeten zelf een stuk groen kunnen onderhouden.",
    "Groen is duur; het geld kan beter naar andere zaken.",
    "Tegels in tuinen moeten zoveel mogelijk weg.",
    "Ik wil een moestuin in de wijk waar iedereen mag komen.",
    "De auto moet in de wijk altijd voor de deur kunnen staan.",
    "Meer groen maakt de wijk koeler in de zomer.",
    "Bankjes in het groen maken de wijk gezelliger.",
    "De gemeente moet eerst de bestaande parken beter onderhouden.",
)

_DESCRIPTION = (
    "De gemeente wil de wijk groener maken. Wat vindt u belangrijk?\n\n"
    "Geef bij elke stelling aan of u het **eens** of **oneens** bent, of sla hem over. "
    "U kunt ook zelf een stelling toevoegen.\n\n"
    "*Dit is een voorbeeldraadpleging: de stemmen die u al ziet zijn nagemaakt.*"
)


@dataclass(frozen=True)
class _Camp:
    """A synthetic opinion camp: how likely it agrees with each statement."""

    size: int
    agree: tuple[float, ...]


_CAMPS = (
    _Camp(90, (0.9, 0.8, 0.8, 0.5, 0.8, 0.1, 0.8, 0.7, 0.2, 0.9, 0.8, 0.5)),
    _Camp(60, (0.4, 0.1, 0.2, 0.6, 0.4, 0.8, 0.2, 0.3, 0.9, 0.5, 0.6, 0.9)),
)


def _host(url: str) -> str:
    return urlsplit(url).netloc


def demo_settings(settings: Settings, *, port: int) -> Settings:
    """Point every public URL of the demo at http://127.0.0.1:<port>."""
    origin = f"http://127.0.0.1:{port}"
    issuer = settings.issuer.model_copy(update={"allowed_origins": (origin,)})
    return settings.model_copy(
        update={"public_url": origin, "issuer_url": f"{origin}/issuer", "issuer": issuer}
    )


async def _seed_issuer(settings: Settings, *, clock: Clock) -> None:
    from issuer.identifiers import pepper_bytes
    from issuer.keys import KeyManager, derive_kek
    from issuer.policy import Policy
    from issuer.services import ConsultationAdmin

    assert settings.key_encryption_key is not None  # dev secrets are filled in
    url = settings.issuer_redis_url or settings.redis_url
    assert url is not None
    async with open_store(url, cluster=settings.redis_cluster) as store:
        admin = ConsultationAdmin(
            store=store,
            keys=KeyManager(
                store=store, kek=derive_kek(settings.key_encryption_key.get_secret_value())
            ),
            clock=clock,
            pepper=pepper_bytes(settings),
        )
        if SAMPLE_CONSULTATION in await admin.consultation_ids():
            return
        policy = Policy(
            schemes=("digid", "eherkenning"),
            min_level={"digid": "midden", "eherkenning": "loa3"},
            # The issuer stops at 00:00 of closes_at; participants vote through day 90.
            closes_at=(clock.now() + timedelta(days=91)).date(),
        )
        await admin.put_policy(SAMPLE_CONSULTATION, policy)


async def _seed_participation(settings: Settings, *, clock: Clock, seed: int) -> bool:
    from participation.errors import UnknownConsultation
    from participation.ratelimit import RateLimiter
    from participation.schemas import ConsultationCreate
    from participation.services import (
        ConsultationService,
        ParticipantService,
        StatementService,
        VoteService,
    )
    from tokens import SYSTEM_RNG
    from verifier import consultation_challenge, origin_for

    assert settings.redis_url is not None
    rand = random.Random(seed)  # synthetic demo votes only, not security relevant
    async with open_store(settings.redis_url, cluster=settings.redis_cluster) as store:
        consultations = ConsultationService(
            store=store,
            clock=clock,
            settings=settings,
            challenge=lambda c: consultation_challenge(
                _host(c.issuer_url), origin_for(settings), c.id
            ),
        )
        try:
            await consultations.get(SAMPLE_CONSULTATION)
            return False
        except UnknownConsultation:
            pass
        today = clock.now().date()
        consultation = await consultations.create(
            ConsultationCreate(
                id=SAMPLE_CONSULTATION,
                title="Meer groen in de wijk",
                question="Hoe maken we onze wijk groener?",
                description=_DESCRIPTION,
                languages=["nl", "en"],
                opens_at=today - timedelta(days=1),
                closes_at=today + timedelta(days=90),
                moderation="strict",
                allow_statements=True,
            ),
            organisation="gemeente-voorbeeld",
        )
        limiter = RateLimiter(store=store, clock=clock, secret=SYSTEM_RNG.token_bytes(32))
        statements = StatementService(store=store, clock=clock, settings=settings, limiter=limiter)
        sids = await statements.seed(consultation, SAMPLE_STATEMENTS)
        participants = ParticipantService(
            store=store, clock=clock, settings=settings, rng=SYSTEM_RNG
        )
        votes = VoteService(store=store, clock=clock, settings=settings, limiter=limiter)
        for camp in _CAMPS:
            for _ in range(camp.size):
                pid = await participants.create(SAMPLE_CONSULTATION)
                for sid, agree in zip(sids, camp.agree, strict=True):
                    if rand.random() < 0.25:
                        continue  # not everyone sees every statement
                    roll = rand.random()
                    choice = (
                        "agree" if roll < agree else "pass" if roll < agree + 0.1 else "disagree"
                    )
                    await votes.vote(SAMPLE_CONSULTATION, pid, sid, choice)
        return True


async def _analyse_once(settings: Settings, *, clock: Clock) -> None:
    from analysis.worker import AnalysisWorker

    assert settings.redis_url is not None
    async with open_store(settings.redis_url, cluster=settings.redis_cluster) as store:
        await AnalysisWorker(store=store, settings=settings, clock=clock).run_once()


async def seed_demo(settings: Settings, *, clock: Clock = SYSTEM_CLOCK, seed: int = 0) -> bool:
    """Create the sample consultation on both sides; False when it already existed."""
    await _seed_issuer(settings, clock=clock)
    created = await _seed_participation(settings, clock=clock, seed=seed)
    if created:
        await _analyse_once(settings, clock=clock)
        log.info("demo_seeded", cid=SAMPLE_CONSULTATION)
    return created


def run_demo(settings: Settings, *, port: int = 8000) -> None:
    """Seed, then serve everything (with the analysis worker) until Ctrl-C."""
    import uvicorn
    from rich.console import Console

    from inspraak.logging import configure_logging
    from inspraak.serve import build_all

    settings = demo_settings(settings, port=port)
    configure_logging(log_format="console", level="WARNING")
    created = asyncio.run(seed_demo(settings))
    console = Console(stderr=True)
    console.print(
        ("Sample consultation created." if created else "Existing demo data kept.")
        + f"\n\n[bold]Open {settings.public_url}/[/]  (Ctrl-C stops everything)\n"
        + f"Log in with the development DigiD and a test BSN: {', '.join(TEST_BSNS)}\n"
        + "Organiser pages: "
        + f"{settings.public_url}/organiser (create a key with `inspraak admin create-key`)\n"
    )
    uvicorn.run(
        build_all(settings),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_config=None,
        server_header=False,
    )
