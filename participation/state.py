"""What the participation app's lifespan builds once and every request uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspraak.clock import Clock
from inspraak.store import Store
from participation.export import ExportService
from participation.ratelimit import RateLimiter
from participation.services import (
    ApiKeyService,
    ConsultationService,
    JoinService,
    ParticipantService,
    ReportService,
    RoutingService,
    StatementService,
    VoteService,
)
from participation.sessions import SessionSigner
from tokens import Rng
from verifier import Redeemer, consultation_challenge, host_of, origin_for

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["Services", "build_services"]


@dataclass(frozen=True)
class Services:
    settings: Settings
    consultations: ConsultationService
    statements: StatementService
    votes: VoteService
    routing: RoutingService
    participants: ParticipantService
    reports: ReportService
    api_keys: ApiKeyService
    exports: ExportService
    join: JoinService
    limiter: RateLimiter
    signer: SessionSigner


def build_services(
    *,
    settings: Settings,
    store: Store,
    clock: Clock,
    rng: Rng,
    signer: SessionSigner,
    client_secret: bytes,
    redeemer: Redeemer,
) -> Services:
    """Wire every service with its collaborators (keyword-only, no globals)."""
    limiter = RateLimiter(store=store, clock=clock, secret=client_secret)
    statements = StatementService(store=store, clock=clock, settings=settings, limiter=limiter)
    participants = ParticipantService(store=store, clock=clock, settings=settings, rng=rng)
    origin = origin_for(settings)
    consultations = ConsultationService(
        store=store,
        clock=clock,
        settings=settings,
        challenge=lambda c: consultation_challenge(host_of(c.issuer_url), origin, c.id),
    )
    join = JoinService(
        redeemer=redeemer,
        participants=participants,
        consultations=consultations,
        limiter=limiter,
        signer=signer,
        clock=clock,
        settings=settings,
    )
    return Services(
        settings=settings,
        consultations=consultations,
        statements=statements,
        votes=VoteService(store=store, clock=clock, settings=settings, limiter=limiter),
        routing=RoutingService(store=store, rng=rng),
        participants=participants,
        reports=ReportService(store=store, settings=settings),
        api_keys=ApiKeyService(store=store, clock=clock, settings=settings, rng=rng),
        exports=ExportService(store=store, statements=statements, rng=rng),
        join=join,
        limiter=limiter,
        signer=signer,
    )
