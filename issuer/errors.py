"""Issuer errors and the one table that maps them to HTTP (RFC 9457 problem+json).

Hierarchy::

    IssuerError
    ├── UnsupportedMediaType        415  body is not application/private-token-request
    ├── MalformedTokenRequest       422  RFC 9578 §6.2: wrong type, unknown key id, size
    ├── InvalidInput                422  an admin upload or a batch item that cannot be read
    ├── NoSession                   401  not logged in (or the session expired)
    ├── AdminAuthRequired           401  no or wrong issuer admin API key
    ├── NotEligible                 403  policy says no; ``reason`` is shown by the page
    ├── UnknownConsultation         404
    ├── AlreadyIssued               409  the ledger holds every token this person may get
    ├── ConsultationClosed          410
    └── IssuerUnavailable           503  store or key unavailable: fail closed, Retry-After

Messages are B1 Dutch plus English and never hold an identifier, token or nonce.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

import redis.exceptions
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "RETRY_AFTER_SECONDS",
    "STATUS",
    "AdminAuthRequired",
    "AlreadyIssued",
    "ConsultationClosed",
    "IneligibleReason",
    "InvalidInput",
    "IssuerError",
    "IssuerUnavailable",
    "MalformedTokenRequest",
    "NoSession",
    "NotEligible",
    "UnknownConsultation",
    "UnsupportedMediaType",
    "install_error_handlers",
    "problem",
    "status_of",
]

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"  # RFC 9457 §3
RETRY_AFTER_SECONDS = 5


class IneligibleReason(StrEnum):
    """Why the policy refuses; the citizen's page shows a text for each."""

    WRONG_SCHEME = "wrong_scheme"
    LEVEL_TOO_LOW = "level_too_low"
    NOT_IN_PANEL = "not_in_panel"
    BRP_CONDITION = "brp_condition"


_REASON_TEXT: dict[IneligibleReason, tuple[str, str]] = {
    IneligibleReason.WRONG_SCHEME: (
        "U kunt voor deze raadpleging niet met deze inlogmethode meedoen.",
        "You cannot take part in this consultation with this login method.",
    ),
    IneligibleReason.LEVEL_TOO_LOW: (
        "Deze raadpleging vraagt een hoger betrouwbaarheidsniveau. Log opnieuw in.",
        "This consultation needs a higher assurance level. Please log in again.",
    ),
    IneligibleReason.NOT_IN_PANEL: (
        "Deze raadpleging is alleen voor uitgenodigde deelnemers.",
        "This consultation is for invited participants only.",
    ),
    IneligibleReason.BRP_CONDITION: (
        "U voldoet niet aan de voorwaarden van deze raadpleging (leeftijd of gemeente).",
        "You do not meet this consultation's conditions (age or municipality).",
    ),
}


class IssuerError(Exception):
    """Base class; each subclass carries a code and a Dutch and English message."""

    code: ClassVar[str] = "issuer_error"
    message_nl: ClassVar[str] = "Er ging iets mis bij de uitgifte."
    message_en: ClassVar[str] = "Something went wrong while issuing."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.code)
        self.detail = detail

    def extra(self) -> dict[str, Any]:
        return {}

    def texts(self) -> tuple[str, str]:
        return self.message_nl, self.message_en


class UnsupportedMediaType(IssuerError):
    code = "unsupported_media_type"
    message_nl = "Het verzoek heeft het verkeerde formaat."
    message_en = "The request has the wrong media type."


class MalformedTokenRequest(IssuerError):
    code = "malformed_token_request"
    message_nl = "Het tokenverzoek klopt niet. Vernieuw de pagina en probeer het opnieuw."
    message_en = "The token request is not valid. Reload the page and try again."


class InvalidInput(IssuerError):
    code = "invalid_input"
    message_nl = "De invoer klopt niet."
    message_en = "The input is not valid."


class NoSession(IssuerError):
    code = "no_session"
    message_nl = "U bent niet (meer) ingelogd. Log opnieuw in."
    message_en = "You are not logged in (any more). Please log in again."


class AdminAuthRequired(IssuerError):
    code = "admin_auth_required"
    message_nl = "Voor deze actie is een geldige beheersleutel nodig."
    message_en = "This action needs a valid admin API key."


class NotEligible(IssuerError):
    code = "not_eligible"

    def __init__(self, reason: IneligibleReason) -> None:
        super().__init__(reason.value)
        self.reason = reason

    def extra(self) -> dict[str, Any]:
        return {"reason": self.reason.value}

    def texts(self) -> tuple[str, str]:
        return _REASON_TEXT[self.reason]


class UnknownConsultation(IssuerError):
    code = "unknown_consultation"
    message_nl = "Deze raadpleging bestaat niet."
    message_en = "This consultation does not exist."


class AlreadyIssued(IssuerError):
    code = "already_issued"
    message_nl = "U heeft voor deze raadpleging al een token gekregen."
    message_en = "You already received a token for this consultation."


class ConsultationClosed(IssuerError):
    code = "consultation_closed"
    message_nl = "Deze raadpleging is gesloten."
    message_en = "This consultation is closed."


class IssuerUnavailable(IssuerError):
    code = "unavailable"
    message_nl = "De dienst is even niet beschikbaar. Probeer het over een paar seconden opnieuw."
    message_en = "The service is briefly unavailable. Please try again in a few seconds."


STATUS: dict[type[IssuerError], int] = {
    UnsupportedMediaType: 415,
    MalformedTokenRequest: 422,  # RFC 9578 §6.2
    InvalidInput: 422,
    NoSession: 401,
    AdminAuthRequired: 401,
    NotEligible: 403,
    UnknownConsultation: 404,
    AlreadyIssued: 409,
    ConsultationClosed: 410,
    IssuerUnavailable: 503,  # with Retry-After; nothing half-written (fail closed)
}
"""Every status a client of the issuer can get, besides 200/204."""


def status_of(error: IssuerError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(error: IssuerError) -> dict[str, Any]:
    """The RFC 9457 problem object for an error (also used per item by the batch endpoint)."""
    message_nl, message_en = error.texts()
    return {
        "type": f"urn:inspraak:issuer:{error.code}",
        "title": message_en,
        "status": status_of(error),
        "code": error.code,
        "message": {"nl": message_nl, "en": message_en},
        **error.extra(),
    }


def _problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


async def _issuer_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IssuerError)
    status = status_of(exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer" if isinstance(exc, AdminAuthRequired) else "Cookie"}
    return _problem_response(status, problem(exc), headers)


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("store_unavailable", error=type(exc).__name__)
    return await _issuer_error(request, IssuerUnavailable())


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = problem(InvalidInput())
    # Locations and messages only: never echo the submitted values back.
    body["errors"] = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()
    ]
    return _problem_response(422, body)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {"type": "about:blank", "title": str(exc.detail), "status": exc.status_code}
    return _problem_response(exc.status_code, body, dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IssuerError, _issuer_error)
    app.add_exception_handler(redis.exceptions.RedisError, _store_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
