"""Small dependencies of the issuer routes: lifespan state, the session, admin auth."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request

from issuer.errors import AdminAuthRequired, NoSession
from issuer.issuance import IssuanceService
from issuer.services import ConsultationAdmin
from issuer.session import IssuerSession, read_session

__all__ = [
    "AdminDep",
    "IssuanceDep",
    "SessionRequiredDep",
    "require_admin",
    "require_session",
]


async def _issuance(request: Request) -> IssuanceService:
    service: IssuanceService = request.state.issuance
    return service


async def _admin(request: Request) -> ConsultationAdmin:
    service: ConsultationAdmin = request.state.admin
    return service


def require_session(request: Request) -> IssuerSession:
    """The issuer session; raises NoSession (401) when there is none or it expired."""
    session = read_session(request)
    if session is None:
        raise NoSession()
    return session


async def require_admin(request: Request) -> None:
    """Check ``Authorization: Bearer <issuer admin API key>`` against its stored digest."""
    expected: bytes | None = request.state.admin_key_digest
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if expected is None or scheme.lower() != "bearer" or not given:
        raise AdminAuthRequired()
    digest = hashlib.sha256(given.strip().encode("utf-8")).digest()
    if not hmac.compare_digest(digest, expected):
        raise AdminAuthRequired()


IssuanceDep = Annotated[IssuanceService, Depends(_issuance)]
AdminDep = Annotated[ConsultationAdmin, Depends(_admin)]
SessionRequiredDep = Annotated[IssuerSession, Depends(require_session)]
