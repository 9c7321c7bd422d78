"""Small dependencies: what the lifespan put in the state, the consultation in the path,
the participant session (cookie or ``Authorization: Bearer``) and the organiser API key."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inspraak.clock import Clock
from inspraak.sections.participation import ParticipationSettings
from participation.errors import (
    ApiKeyRequired,
    SessionExpired,
    SessionRequired,
    UnknownConsultation,
)
from participation.schemas import CID_PATTERN
from participation.services import Consultation, Organiser
from participation.sessions import cookie_name
from participation.state import Services

__all__ = [
    "ClockDep",
    "ConsultationDep",
    "OrganiserDep",
    "Participant",
    "ParticipantDep",
    "ServicesDep",
    "authenticate_participant",
    "bearer",
    "get_clock",
    "get_consultation",
    "get_organiser",
    "get_participant",
    "get_services",
    "join_client",
    "require_organiser",
]

_CID = re.compile(CID_PATTERN)


# Dependencies are coroutines even where they do not await: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread hop per request on every hot route.


async def get_services(request: Request) -> Services:
    services: Services = request.state.services
    return services


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.state.clock
    return clock


ServicesDep = Annotated[Services, Depends(get_services)]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def get_consultation(cid: str, services: ServicesDep) -> Consultation:
    """The consultation named in the path; a malformed id is as unknown as a missing one."""
    if not _CID.fullmatch(cid):
        raise UnknownConsultation()
    return await services.consultations.get(cid)


ConsultationDep = Annotated[Consultation, Depends(get_consultation)]


@dataclass(frozen=True)
class Participant:
    cid: str
    pid: str


def bearer(authorization: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer ...`` header, if that is what it holds."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def authenticate_participant(
    cid: str, *, bearer_value: str | None, cookie: str | None, services: Services, clock: Clock
) -> Participant:
    """The participant of a valid session for ``cid`` (Bearer first, then the cookie)."""
    if not _CID.fullmatch(cid):
        raise UnknownConsultation()
    session = bearer_value or cookie
    if not session:
        raise SessionRequired()
    try:
        pid = services.signer.verify(session, cid)
    except SessionExpired:
        # Sessions end when the consultation closed, as it was when they were issued; if
        # the organiser has since moved the closing day later, they go on until then.
        consultation = await services.consultations.get(cid)
        consultation.require_open(clock.now())  # closed: say so, not "join again"
        pid = services.signer.verify(session, cid, ignore_expiry=True)
    return Participant(cid=cid, pid=pid)


async def get_participant(
    cid: str, request: Request, services: ServicesDep, clock: ClockDep
) -> Participant:
    """The participant of a valid session for this consultation (Bearer first, then cookie)."""
    return await authenticate_participant(
        cid,
        bearer_value=bearer(request.headers.get("authorization")),
        cookie=request.cookies.get(cookie_name(cid)),
        services=services,
        clock=clock,
    )


ParticipantDep = Annotated[Participant, Depends(get_participant)]


_API_KEY = HTTPBearer(
    auto_error=False,
    scheme_name="OrganisationApiKey",
    description="An organisation API key (`inspraak admin create-key`): `Bearer isk_...`.",
)


async def get_organiser(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_API_KEY)],
    services: ServicesDep,
) -> Organiser:
    """The holder of the API key in ``Authorization: Bearer isk_...``."""
    if credentials is None:
        raise ApiKeyRequired()
    return await services.api_keys.authenticate(credentials.credentials)


OrganiserDep = Annotated[Organiser, Depends(get_organiser)]


async def require_organiser(organiser: OrganiserDep) -> None:
    """Router-wide guard: any valid organiser or moderator key; routes check the role."""
    del organiser


def join_client(
    peer: tuple[str, int] | None, headers: Mapping[str, str], settings: ParticipationSettings
) -> str | None:
    """The address a join is counted under (hashed, never kept): the peer's, or the one a
    trusted proxy put in ``settings.join_client_header``. A header from any other peer is
    ignored, and so is one that is not a single IP address (the peer's is used)."""
    if peer is None:
        return None
    address = peer[0]
    if settings.join_client_header is None or not settings.trusted_proxies:
        return address
    forwarded = headers.get(settings.join_client_header)
    if forwarded is None:
        return address
    try:
        from_peer = ipaddress.ip_address(address)
        client = ipaddress.ip_address(forwarded.strip())
    except ValueError:
        return address
    if any(from_peer in network for network in settings.trusted_proxies):
        return str(client)
    return address
