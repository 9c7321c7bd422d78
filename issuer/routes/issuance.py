"""RFC 9578 issuance endpoints, per consultation, plus a batch and an eligibility overview."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

import tokens
from issuer.deps import IssuanceDep, SessionRequiredDep, require_session
from issuer.errors import (
    PROBLEM_MEDIA_TYPE,
    IssuerError,
    MalformedTokenRequest,
    UnsupportedMediaType,
    problem,
    status_of,
)
from issuer.issuance import IssuanceService
from issuer.policy import BrpFacts
from issuer.schemas import (
    BatchItemIn,
    BatchItemOut,
    EligibilityEntryOut,
    EligibilityOut,
    LoginOptionOut,
    LoginOptionsOut,
)
from issuer.session import IssuerSession, write_session

__all__ = [
    "DIRECTORY_MEDIA_TYPE",
    "MAX_BATCH",
    "TOKEN_REQUEST_MEDIA_TYPE",
    "TOKEN_RESPONSE_MEDIA_TYPE",
    "answer_token_request",
    "router",
]

DIRECTORY_MEDIA_TYPE = tokens.MEDIA_TYPE_ISSUER_DIRECTORY  # RFC 9578 §4
TOKEN_REQUEST_MEDIA_TYPE = "application/private-token-request"  # noqa: S105  RFC 9578 §5.1
TOKEN_RESPONSE_MEDIA_TYPE = "application/private-token-response"  # noqa: S105  RFC 9578 §5.2
MAX_BODY = 4096
MAX_BATCH = 64
DIRECTORY_MAX_AGE = 300

router = APIRouter(tags=["issuance"])

_PROBLEMS: dict[int | str, dict[str, object]] = {
    status: {"description": text, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for status, text in (
        (401, "Not logged in"),
        (403, "Not eligible (see `reason`)"),
        (404, "Unknown consultation"),
        (409, "Already issued"),
        (410, "Consultation closed"),
        (415, "Wrong media type"),
        (422, "Malformed token request"),
        (503, "Temporarily unavailable (Retry-After)"),
    )
}


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def brp_facts(session: IssuerSession) -> BrpFacts | None:
    """The BRP facts the login put in the session, if any (DigiD with a BRP source)."""
    if session.age is None or session.municipality is None:
        return None
    return BrpFacts(age=session.age, municipality=session.municipality)


@router.get(
    "/c/{cid}/.well-known/private-token-issuer-directory",
    responses={200: {"content": {DIRECTORY_MEDIA_TYPE: {}}}, 404: _PROBLEMS[404]},
)
async def issuer_directory(cid: str, request: Request, issuance: IssuanceDep) -> Response:
    """RFC 9578 §4 issuer directory: the consultation's keys, newest first."""
    consultation = await issuance.load(cid, None)
    closed = issuance.today() >= consultation.policy.closes_at
    directory = tokens.IssuerDirectory(
        issuer_request_uri=issuance.request_uri(cid),
        token_keys=[
            tokens.TokenKey(tokens.TOKEN_TYPE_BLIND_RSA, key.token_key, key.not_before_timestamp)
            for key in ([] if closed else consultation.keys)
        ],
    )
    body = directory.to_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={DIRECTORY_MAX_AGE}", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=DIRECTORY_MEDIA_TYPE, headers=headers)


@router.get("/c/{cid}/login-options", responses={404: _PROBLEMS[404]})
async def login_options(cid: str, issuance: IssuanceDep) -> LoginOptionsOut:
    """Public: which login schemes (and minimum levels) this consultation accepts."""
    policy = (await issuance.load(cid, None)).policy
    return LoginOptionsOut(
        schemes=[
            LoginOptionOut(scheme=scheme, min_level=policy.min_level[scheme])
            for scheme in policy.schemes
        ]
    )


@router.post(
    "/c/{cid}/token-request",
    responses={
        200: {"content": {TOKEN_RESPONSE_MEDIA_TYPE: {}}},
        **_PROBLEMS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                TOKEN_REQUEST_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def token_request(cid: str, request: Request, issuance: IssuanceDep) -> Response:
    """RFC 9578 §5: one TokenRequest in, one TokenResponse out."""
    return await answer_token_request(cid, request, issuance)


async def answer_token_request(cid: str, request: Request, issuance: IssuanceService) -> Response:
    """The answer of :func:`token_request`; ``issuer.hotpath`` serves the route with it too."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != TOKEN_REQUEST_MEDIA_TYPE:
        raise UnsupportedMediaType()
    session = require_session(request)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise MalformedTokenRequest()
    token_response = await issuance.issue(cid, session, body, brp_facts=brp_facts(session))
    response = Response(token_response, media_type=TOKEN_RESPONSE_MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    write_session(request, response, session)
    return response


@router.post("/token-requests", responses={401: _PROBLEMS[401], 422: _PROBLEMS[422]})
async def token_requests(
    items: Annotated[list[BatchItemIn], Body(max_length=MAX_BATCH)],
    request: Request,
    response: Response,
    session: SessionRequiredDep,
    issuance: IssuanceDep,
) -> list[BatchItemOut]:
    """Several TokenRequests in one call, one per consultation: each succeeds or fails alone."""
    decoded: list[tuple[str, bytes | None]] = []
    for item in items:
        try:
            decoded.append((item.consultation, _b64decode(item.token_request)))
        except (binascii.Error, ValueError):
            decoded.append((item.consultation, None))
    outcomes = await issuance.issue_many(session, decoded, brp_facts=brp_facts(session))
    results = [
        BatchItemOut(consultation=cid, status=status_of(outcome), problem=problem(outcome))
        if isinstance(outcome, IssuerError)
        else BatchItemOut(consultation=cid, status=200, token_response=_b64encode(outcome))
        for (cid, _), outcome in zip(decoded, outcomes, strict=True)
    ]
    response.headers["Cache-Control"] = "no-store"
    write_session(request, response, session)
    return results


@router.get("/api/consultations/eligibility", responses={401: _PROBLEMS[401]})
async def eligibility(
    request: Request, response: Response, session: SessionRequiredDep, issuance: IssuanceDep
) -> EligibilityOut:
    """Which open consultations the current session may still get a token for."""
    entries = await issuance.eligibility(session, brp_facts=brp_facts(session))
    response.headers["Cache-Control"] = "no-store"
    write_session(request, response, session)
    return EligibilityOut(
        scheme=session.scheme,
        level=session.level,
        consultations=[
            EligibilityEntryOut(
                consultation=e.consultation,
                eligible=e.eligible,
                reason=e.reason,
                remaining=e.remaining,
            )
            for e in entries
        ],
    )
