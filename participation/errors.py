"""Exceptions of the participation service and the one table mapping them to HTTP.

Hierarchy::

    ParticipationError
    ├── UnknownConsultation, UnknownStatement, NoReport        (404)
    ├── ConsultationExists, DuplicateStatement, ConsultationClosed,
    │   ConsultationNotOpen                                     (409)
    ├── StatementsNotAllowed, WrongOrganisation, RoleNotAllowed (403)
    ├── InvalidInput, InvalidStatement                          (422)
    ├── SessionRequired, SessionInvalid (> SessionExpired), ApiKeyRequired (401)
    ├── TokenRefused                                             (401 + PrivateToken challenge)
    ├── RateLimited                                              (429 + Retry-After)
    └── StoreUnavailable                                         (503 + Retry-After)

API answers are ``application/problem+json`` (RFC 9457) carrying a B1 Dutch and an
English message; no message holds an identifier, token or nonce.
"""

from __future__ import annotations

from typing import Any, ClassVar

import redis.exceptions
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

__all__ = [
    "STATUS",
    "ApiKeyRequired",
    "ConsultationClosed",
    "ConsultationExists",
    "ConsultationNotOpen",
    "DuplicateStatement",
    "InvalidInput",
    "InvalidStatement",
    "NoReport",
    "ParticipationError",
    "RateLimited",
    "RoleNotAllowed",
    "SessionExpired",
    "SessionInvalid",
    "SessionRequired",
    "StatementsNotAllowed",
    "StoreUnavailable",
    "TokenRefused",
    "UnknownConsultation",
    "UnknownStatement",
    "WrongOrganisation",
    "install_error_handlers",
    "problem",
]

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
STORE_RETRY_AFTER_SECONDS = 5


class ParticipationError(Exception):
    """Base class: a machine code and a message in B1 Dutch and in English."""

    code: ClassVar[str] = "error"
    nl: ClassVar[str] = "Er ging iets mis."
    en: ClassVar[str] = "Something went wrong."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.en)
        self.detail = detail


class UnknownConsultation(ParticipationError):
    code = "unknown_consultation"
    nl = "Deze raadpleging bestaat niet."
    en = "This consultation does not exist."


class UnknownStatement(ParticipationError):
    code = "unknown_statement"
    nl = "Deze stelling bestaat niet of is niet zichtbaar."
    en = "This statement does not exist or is not visible."


class NoReport(ParticipationError):
    code = "no_report"
    nl = "Er is nog geen uitslag. Kom later terug."
    en = "There is no report yet. Please come back later."


class ConsultationExists(ParticipationError):
    code = "consultation_exists"
    nl = "Er bestaat al een raadpleging met deze naam (id)."
    en = "A consultation with this id already exists."


class DuplicateStatement(ParticipationError):
    code = "duplicate_statement"
    nl = "Deze stelling staat er al. Stem op de stelling die er al is."
    en = "This statement already exists. Please vote on the existing one."

    def __init__(self, statement: int) -> None:
        super().__init__(f"duplicate of statement {statement}")
        self.statement = statement


class ConsultationClosed(ParticipationError):
    code = "consultation_closed"
    nl = "Deze raadpleging is gesloten. U kunt niet meer meedoen."
    en = "This consultation is closed. You can no longer take part."


class ConsultationNotOpen(ParticipationError):
    code = "consultation_not_open"
    nl = "Deze raadpleging is nog niet begonnen."
    en = "This consultation has not started yet."


class StatementsNotAllowed(ParticipationError):
    code = "statements_not_allowed"
    nl = "Bij deze raadpleging kunt u geen eigen stellingen toevoegen."
    en = "This consultation does not accept statements from participants."


class WrongOrganisation(ParticipationError):
    code = "wrong_organisation"
    nl = "Deze raadpleging hoort bij een andere organisatie."
    en = "This consultation belongs to another organisation."


class RoleNotAllowed(ParticipationError):
    code = "role_not_allowed"
    nl = "Uw sleutel mag dit niet doen."
    en = "Your API key is not allowed to do this."


class InvalidInput(ParticipationError):
    code = "invalid_input"
    nl = "Wat u stuurde klopt niet. Kijk de velden na."
    en = "The request is not valid. Please check the fields."

    def __init__(self, detail: str | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.errors = errors or []


class InvalidStatement(ParticipationError):
    code = "invalid_statement"
    nl = "Uw stelling is te kort of te lang. Kijk hieronder hoeveel tekens mogen."
    en = "Your statement is too short or too long. See below how many characters are allowed."

    def __init__(self, *, min_chars: int, max_chars: int) -> None:
        super().__init__(f"between {min_chars} and {max_chars} characters")
        self.min_chars = min_chars
        self.max_chars = max_chars


class SessionRequired(ParticipationError):
    code = "session_required"
    nl = "Doe eerst mee aan deze raadpleging."
    en = "Please join this consultation first."


class SessionInvalid(ParticipationError):
    code = "session_invalid"
    nl = "Uw deelname is verlopen of hoort bij een andere raadpleging. Doe opnieuw mee."
    en = "Your session has expired or belongs to another consultation. Please join again."


class SessionExpired(SessionInvalid):
    """The session's consultation closed (unless its closing day was moved later)."""


class ApiKeyRequired(ParticipationError):
    code = "api_key_required"
    nl = "Log in met een geldige API-sleutel van uw organisatie."
    en = "Please use a valid API key of your organisation."


class TokenRefused(ParticipationError):
    """No token, or one the verifier refused: one outward answer for every reason."""

    code = "token_refused"
    nl = "Uw toegangsbewijs is niet geldig of al gebruikt. Log opnieuw in om mee te doen."
    en = "Your access token is not valid or was already used. Please log in again to join."

    def __init__(self, www_authenticate: str | None = None) -> None:
        super().__init__()
        self.www_authenticate = www_authenticate


class RateLimited(ParticipationError):
    code = "rate_limited"
    nl = "U doet dit te vaak achter elkaar. Wacht even en probeer het dan opnieuw."
    en = "Too many requests in a short time. Please wait a moment and try again."

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = max(1, retry_after)


class StoreUnavailable(ParticipationError):
    code = "store_unavailable"
    nl = "De dienst is even niet bereikbaar. Probeer het over een paar seconden opnieuw."
    en = "The service is briefly unavailable. Please try again in a few seconds."


STATUS: dict[type[ParticipationError], int] = {
    UnknownConsultation: 404,
    UnknownStatement: 404,
    NoReport: 404,
    ConsultationExists: 409,
    DuplicateStatement: 409,
    ConsultationClosed: 409,
    ConsultationNotOpen: 409,
    StatementsNotAllowed: 403,
    WrongOrganisation: 403,
    RoleNotAllowed: 403,
    InvalidInput: 422,
    InvalidStatement: 422,
    SessionRequired: 401,
    SessionInvalid: 401,
    ApiKeyRequired: 401,
    TokenRefused: 401,  # RFC 9577 §2: 401 + a PrivateToken challenge
    RateLimited: 429,  # + Retry-After (RFC 9110 §10.2.3)
    StoreUnavailable: 503,  # + Retry-After
}
"""Every status a client of the participation API can get from a domain error."""


def problem(
    error: ParticipationError, status: int, *, extra: dict[str, Any] | None = None
) -> JSONResponse:
    """An RFC 9457 problem document with the Dutch message first and the English one beside."""
    body: dict[str, Any] = {
        "type": f"urn:inspraak:problem:{error.code}",
        "title": error.nl,
        "status": status,
        "detail": error.nl,
        "detail_en": error.en,
        "code": error.code,
    }
    body.update(extra or {})
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, StoreUnavailable):
        headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
    elif isinstance(error, TokenRefused) and error.www_authenticate:
        headers["WWW-Authenticate"] = error.www_authenticate
    elif isinstance(error, ApiKeyRequired):
        headers["WWW-Authenticate"] = 'Bearer realm="inspraak-admin"'
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _status_of(error: ParticipationError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _domain_error(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ParticipationError):  # pragma: no cover - registered per class
        raise exc
    extra: dict[str, Any] = {}
    if isinstance(exc, DuplicateStatement):
        extra["statement"] = exc.statement
    if isinstance(exc, InvalidInput) and exc.errors:
        extra["errors"] = exc.errors
    if isinstance(exc, RateLimited):
        extra["retry_after"] = exc.retry_after
    if isinstance(exc, InvalidStatement):
        extra["min_chars"], extra["max_chars"] = exc.min_chars, exc.max_chars
    return problem(exc, _status_of(exc), extra=extra)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    # Only the location and the kind of problem go back: never the submitted value.
    cleaned = [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "type": e.get("type", ""),
            "msg": e.get("msg", ""),
        }
        for e in errors
    ]
    return problem(InvalidInput(), 422, extra={"errors": cleaned})


async def _store_error(_request: Request, exc: Exception) -> Response:
    log.error("store_unavailable", error=type(exc).__name__)
    return problem(StoreUnavailable(), 503)


STORE_REFUSALS = ("NOREPLICAS", "MISCONF", "OOM", "READONLY", "LOADING", "MASTERDOWN", "TRYAGAIN")
"""Error replies with which a store refuses writes for now: answered 503, not 500."""


async def _store_reply_error(request: Request, exc: Exception) -> Response:
    if str(exc).upper().startswith(STORE_REFUSALS):
        return await _store_error(request, exc)
    raise exc


class _NotFound(ParticipationError):
    code = "not_found"
    nl = "Deze pagina of dit adres bestaat niet."
    en = "This address does not exist."


class _MethodNotAllowed(ParticipationError):
    code = "method_not_allowed"
    nl = "Deze handeling kan hier niet."
    en = "This method is not allowed here."


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    error: ParticipationError
    if status == 404:
        error = _NotFound()
    elif status == 405:
        error = _MethodNotAllowed()
    else:
        error = ParticipationError()
    response = problem(error, status)
    # Keep the router's own headers: 405 carries Allow (RFC 9110 §15.5.6).
    for name, value in (getattr(exc, "headers", None) or {}).items():
        response.headers[name] = value
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Register the table above, validation errors, HTTP errors and store failures."""
    app.add_exception_handler(ParticipationError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(redis.exceptions.ConnectionError, _store_error)
    app.add_exception_handler(redis.exceptions.TimeoutError, _store_error)
    app.add_exception_handler(redis.exceptions.BusyLoadingError, _store_error)
    app.add_exception_handler(redis.exceptions.ReadOnlyError, _store_error)
    app.add_exception_handler(redis.exceptions.ClusterDownError, _store_error)
    app.add_exception_handler(redis.exceptions.ResponseError, _store_reply_error)
