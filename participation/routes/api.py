"""The citizens' JSON API: consultations, join, next statement, votes, statements, report."""

from __future__ import annotations

import base64
import functools
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status

from inspraak.metrics import note
from participation.deps import (
    ClockDep,
    ConsultationDep,
    Participant,
    ParticipantDep,
    ServicesDep,
    join_client,
)
from participation.schemas import (
    ConsultationDetail,
    ConsultationList,
    ConsultationSummary,
    JoinResult,
    LinkOut,
    NextStatement,
    Progress,
    Standing,
    StatementAdded,
    StatementIn,
    StatementView,
    VoteIn,
    VoteResult,
)
from participation.services import Consultation, render_markdown
from participation.sessions import cookie_name
from participation.state import Services

__all__ = ["cast_vote", "join_consultation", "router", "summary_of"]

router = APIRouter(tags=["participation"])


def summary_of(consultation: Consultation, services: Services, now: Any) -> dict[str, Any]:
    """The public listing fields of a consultation, with its TokenChallenge (base64url)."""
    challenge = services.consultations.challenge(consultation).to_bytes()
    return {
        "id": consultation.id,
        "title": consultation.title,
        "status": consultation.status(now),
        "opens_at": consultation.opens_at,
        "closes_at": consultation.closes_at,
        "languages": list(consultation.languages),
        "issuer_url": consultation.issuer_url,
        "issuer_directory_url": consultation.directory_url,
        "token_challenge": base64.urlsafe_b64encode(challenge).decode().rstrip("="),
    }


@router.get("/consultations")
async def list_consultations(services: ServicesDep, clock: ClockDep) -> ConsultationList:
    """Every consultation, open and closed, and links to other ways to take part."""
    now = clock.now()
    consultations = await services.consultations.list_all()
    return ConsultationList(
        consultations=[ConsultationSummary(**summary_of(c, services, now)) for c in consultations],
        other_options=[
            LinkOut(**link.model_dump()) for link in services.settings.participation.other_options
        ],
    )


@router.get("/c/{cid}")
async def get_consultation(
    consultation: ConsultationDep, services: ServicesDep, clock: ClockDep
) -> ConsultationDetail:
    return ConsultationDetail(
        **summary_of(consultation, services, clock.now()),
        description=consultation.description,
        description_html=render_markdown(consultation.description),
        question=consultation.question,
        moderation=consultation.moderation,
        allow_statements=consultation.allow_statements,
        statements=await services.consultations.visible_count(consultation.id),
    )


@router.post(
    "/c/{cid}/join",
    responses={401: {"description": "No valid token: a PrivateToken challenge (RFC 9577)"}},
)
async def join(cid: str, request: Request, response: Response, services: ServicesDep) -> JoinResult:
    """Spend one Privacy Pass token (``Authorization: PrivateToken token=...``) to join."""
    peer = (request.client.host, request.client.port) if request.client else None
    client = join_client(peer, request.headers, services.settings.participation)
    return await join_consultation(
        cid, request.headers.get("authorization"), client, response, services
    )


async def join_consultation(
    cid: str,
    authorization: str | None,
    client: str | None,
    response: Response,
    services: Services,
) -> JoinResult:
    """What :func:`join` does; ``participation.hotpaths`` serves the route with it too."""
    joined = await services.join.join(cid, authorization, client=client)
    secure = services.settings.public_url.startswith("https://")
    before, after = _session_cookie_around(cid, joined.expires, secure)
    response.raw_headers.append((b"set-cookie", before + joined.session.encode("ascii") + after))
    response.headers["Cache-Control"] = "no-store"
    return JoinResult(session=joined.session, consultation=cid, expires_at=joined.expires.date())


_SESSION_PLACEHOLDER = "SESSION"


@functools.lru_cache(maxsize=1024)
def _session_cookie_around(cid: str, expires: datetime, secure: bool) -> tuple[bytes, bytes]:
    """The session cookie's ``Set-Cookie`` value as Starlette's ``set_cookie`` writes it
    (httpOnly, SameSite=Strict, path /, expiring at the close), split around the session.

    Made once per consultation and close: a session is a JWT (base64url and dots), which
    a cookie value holds as it is, so putting it between the two parts gives the same bytes.
    """
    probe = Response()
    probe.set_cookie(
        cookie_name(cid),
        _SESSION_PLACEHOLDER,
        expires=expires,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    before, _, after = probe.headers["set-cookie"].partition(_SESSION_PLACEHOLDER)
    return before.encode("latin-1"), after.encode("latin-1")


@router.get("/c/{cid}/next")
async def next_statement(participant: ParticipantDep, services: ServicesDep) -> NextStatement:
    """An unvoted visible statement (weighted by the latest analysis) and the progress."""
    return await next_for(participant, services)


async def next_for(participant: Participant, services: Services) -> NextStatement:
    """What :func:`next_statement` does; ``participation.hotpaths`` serves the route with it too."""
    statement, voted, total = await services.routing.next(participant.cid, participant.pid)
    return NextStatement(
        statement=StatementView(id=statement.id, text=statement.text) if statement else None,
        progress=Progress(voted=voted, total=total),
    )


@router.post("/c/{cid}/votes")
async def vote(participant: ParticipantDep, body: VoteIn, services: ServicesDep) -> VoteResult:
    """Agree, disagree or pass; a new vote on the same statement replaces the old one."""
    return await cast_vote(participant, body, services)


async def cast_vote(participant: Participant, body: VoteIn, services: Services) -> VoteResult:
    """What :func:`vote` does; ``participation.hotpaths`` serves the route with it too."""
    outcome = await services.votes.vote(participant.cid, participant.pid, body.statement, body.vote)
    note("vote")
    return VoteResult(statement=body.statement, vote=body.vote, changed=outcome.changed)


@router.post("/c/{cid}/statements", status_code=status.HTTP_201_CREATED)
async def add_statement(
    participant: ParticipantDep, body: StatementIn, services: ServicesDep
) -> StatementAdded:
    """A participant's own statement: shown after approval (strict) or at once (permissive)."""
    consultation = await services.consultations.get(participant.cid)
    sid, state = await services.statements.submit(consultation, participant.pid, body.text)
    return StatementAdded(
        id=sid, status="approved" if state == "approved" else "pending", visible=state == "approved"
    )


@router.get("/c/{cid}/report")
async def report(consultation: ConsultationDep, services: ServicesDep) -> dict[str, Any]:
    """The latest analysis (groups smaller than the minimum left out), or 404 "no report yet"."""
    return await services.reports.report(consultation.id)


@router.get("/c/{cid}/me")
async def my_standing(participant: ParticipantDep, services: ServicesDep) -> Standing:
    """Your own place in the latest analysis: your group and what it agrees on, or nothing."""
    return Standing(**await services.reports.standing(participant.cid, participant.pid))
