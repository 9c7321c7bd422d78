"""The verifier service's routes: ``POST /redeem`` and ``GET /healthz``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import redis.exceptions
from fastapi import APIRouter, Header, Request

from verifier.auth import refusal
from verifier.deps import RedeemerDep
from verifier.errors import (
    PROBLEM_JSON,
    ProblemResponse,
    StoreUnavailable,
    VerifierError,
    problem_for,
)
from verifier.redeem import Redeemer
from verifier.schemas import RedeemRequest, RedeemResult
from verifier.services import redeem_presented

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["answer_redeem", "router"]

router = APIRouter(tags=["verifier"])

_PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}


@router.post(
    "/redeem",
    response_model=RedeemResult,
    responses={
        401: {**_PROBLEM, "description": "Token refused (one answer for every reason)."},
        503: {**_PROBLEM, "description": "Store or issuer unreachable; the token is not spent."},
    },
)
async def redeem(
    body: RedeemRequest,
    redeemer: RedeemerDep,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> RedeemResult:
    """Redeem a PrivateToken for a consultation, once (RFC 9577 §2.2, RFC 9578 §6.4)."""
    return await answer_redeem(body, redeemer, request.state.settings, authorization)


async def answer_redeem(
    body: RedeemRequest, redeemer: Redeemer, settings: Settings, authorization: str | None
) -> RedeemResult:
    """What :func:`redeem` does; ``verifier.hotpath`` serves the route with it too."""
    try:
        await redeem_presented(
            redeemer, body.consultation, token_b64=body.token, authorization=authorization
        )
    except VerifierError as exc:
        max_age = settings.verifier.challenge_max_age
        raise await refusal(redeemer, body.consultation, exc, max_age=max_age) from None
    return RedeemResult()


@router.get("/healthz", responses={503: _PROBLEM})
async def healthz(request: Request) -> dict[str, bool]:
    """The service is up and its store answers."""
    try:
        await request.state.store.ping()
    except (redis.exceptions.RedisError, OSError):
        raise ProblemResponse(problem_for(StoreUnavailable())) from None
    return {"ok": True}
