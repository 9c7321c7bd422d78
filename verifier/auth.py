"""The ``PrivateToken`` authentication scheme (RFC 9577 §2) as a FastAPI dependency.

Without a token the route answers 401 with ``WWW-Authenticate: PrivateToken challenge=...,
token-key=...`` (one challenge per current key of the consultation); with a refused token
the same 401, fresh header included, and one problem body; with a valid unspent token the
route runs and receives a :class:`~verifier.redeem.Redemption`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.openapi.models import HTTPBase as HTTPBaseModel
from fastapi.responses import JSONResponse
from fastapi.security.base import SecurityBase

from tokens import ChallengeParams, DecodeError, format_www_authenticate, parse_authorization
from verifier.errors import (
    PROBLEM_JSON,
    Malformed,
    ProblemResponse,
    RedemptionError,
    VerifierError,
    problem_for,
)
from verifier.redeem import Redeemer, Redemption

__all__ = [
    "ClosesAt",
    "PrivateTokenAuth",
    "RedeemerGetter",
    "install_error_handlers",
    "redeemer_from_state",
    "refusal",
    "www_authenticate",
]

RedeemerGetter = Callable[[Request], Redeemer]
ClosesAt = Callable[[Request, str], Awaitable[datetime | None]]


def redeemer_from_state(request: Request) -> Redeemer:
    """The default: the :class:`Redeemer` the app's lifespan put in its state as ``redeemer``."""
    redeemer: Redeemer = request.state.redeemer
    return redeemer


async def www_authenticate(redeemer: Redeemer, cid: str, *, max_age: int | None) -> str | None:
    """The ``WWW-Authenticate`` value for ``cid``: one challenge per current key, or None.

    Raises:
        KeysUnavailable: the key source could not answer.
    """
    challenge = redeemer.challenge(cid)
    keys = await redeemer.current_keys(cid)
    if not keys:
        return None
    return format_www_authenticate(
        ChallengeParams(challenge, key.token_key, max_age) for key in keys
    )


class PrivateTokenAuth(SecurityBase):
    """``Depends(PrivateTokenAuth())`` protects a route whose path holds the consultation id.

    ``cid_param`` names that path parameter; ``redeemer`` finds the :class:`Redeemer`
    (default: ``request.state.redeemer``); ``closes_at``, if given, tells when the
    consultation closes so that late tokens are refused and not spent.
    """

    def __init__(
        self,
        *,
        cid_param: str = "cid",
        redeemer: RedeemerGetter = redeemer_from_state,
        closes_at: ClosesAt | None = None,
        max_age: int | None = None,
    ) -> None:
        self.cid_param = cid_param
        self.get_redeemer = redeemer
        self.closes_at = closes_at
        self.max_age = max_age
        # Shown in the OpenAPI document as an HTTP authentication scheme.
        self.model = HTTPBaseModel(scheme="PrivateToken", description="RFC 9577 Privacy Pass")
        self.scheme_name = "PrivateToken"

    async def __call__(self, request: Request) -> Redemption:
        redeemer = self.get_redeemer(request)
        cid = request.path_params[self.cid_param]
        try:
            closes_at = None if self.closes_at is None else await self.closes_at(request, cid)
            header = request.headers.get("authorization")
            if header is None or not header.lstrip().lower().startswith("privatetoken"):
                raise Malformed
            try:
                token = parse_authorization(header)
            except DecodeError as exc:
                raise Malformed from exc
            return await redeemer.redeem(cid, token, closes_at=closes_at)
        except VerifierError as exc:
            raise await refusal(redeemer, cid, exc, max_age=self.max_age) from None


async def refusal(
    redeemer: Redeemer, cid: str, error: VerifierError, *, max_age: int | None
) -> ProblemResponse:
    """The outward answer to ``error``: a refused token gets a fresh challenge header."""
    if not isinstance(error, RedemptionError):
        return ProblemResponse(problem_for(error))
    try:
        header = await www_authenticate(redeemer, cid, max_age=max_age)
    except VerifierError as exc:
        return ProblemResponse(problem_for(exc))
    headers = {"WWW-Authenticate": header} if header is not None else None
    return ProblemResponse(problem_for(error), headers=headers)


async def _problem_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemResponse)
    return JSONResponse(
        exc.problem, status_code=exc.status_code, headers=exc.headers, media_type=PROBLEM_JSON
    )


def install_error_handlers(app: FastAPI) -> None:
    """Render :class:`ProblemResponse` as ``application/problem+json`` (RFC 9457)."""
    app.add_exception_handler(ProblemResponse, _problem_response)
