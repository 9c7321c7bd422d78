"""The HTML pages: landing, consultation (join and vote), report, error pages and the
organiser pages under ``/organiser`` (API key in an httpOnly cookie).

Each route reads the request, calls one service and hands plain data to a template.
Voting and adding a statement also work as plain forms; getting a token needs JavaScript
(``static/js/consultation.mjs``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final, Literal

import redis.exceptions
import structlog
from fastapi import APIRouter, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, RedirectResponse

from analysis import render_svg
from inspraak import cookies
from inspraak.settings import Settings
from participation.deps import ClockDep, ConsultationDep, ServicesDep
from participation.errors import (
    STATUS,
    ApiKeyRequired,
    ConsultationClosed,
    ConsultationNotOpen,
    DuplicateStatement,
    InvalidStatement,
    NoReport,
    ParticipationError,
    RateLimited,
    RoleNotAllowed,
    SessionInvalid,
    StatementsNotAllowed,
    StoreUnavailable,
    UnknownConsultation,
    WrongOrganisation,
)
from participation.routes.admin import export_download
from participation.routes.api import summary_of
from participation.schemas import ConsultationCreate, ConsultationUpdate, VoteChoice
from participation.services import Consultation, Organiser, render_markdown
from participation.sessions import cookie_name
from participation.state import Services
from participation.templating import LANGUAGE_COOKIE_SECONDS, STATIC_DIR, Templates

__all__ = [
    "ERROR_PAGES",
    "ORGANISER_COOKIE",
    "STANDING_AFTER_VOTES",
    "install_page_errors",
    "router",
]

log = structlog.get_logger(__name__)

router = APIRouter(include_in_schema=False)

ORGANISER_COOKIE: Final = cookies.ORGANISER_SESSION
STANDING_AFTER_VOTES: Final = 7
""""Where you stand" is offered after this many votes."""

ERROR_PAGES: Final = {
    "already_issued": 409,
    "not_eligible": 403,
    "level_too_low": 403,
    "consultation_closed": 410,
    "consultation_not_open": 409,
    "rate_limited": 429,
    "digid_cancelled": 400,
    "token_refused": 401,
    "no_javascript": 400,
    "not_allowed": 403,
    "not_found": 404,
    "unavailable": 503,
    "error": 500,
}
"""Error pages a person can reach (``/fout/<code>``) and their status codes."""

_ERROR_OF: Final[dict[type[ParticipationError], str]] = {
    UnknownConsultation: "not_found",
    ConsultationClosed: "consultation_closed",
    ConsultationNotOpen: "consultation_not_open",
    RateLimited: "rate_limited",
    SessionInvalid: "token_refused",
    WrongOrganisation: "not_allowed",
    RoleNotAllowed: "not_allowed",
    StatementsNotAllowed: "not_allowed",
    StoreUnavailable: "unavailable",
}


def _templates(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


def _participant(request: Request, services: Services, cid: str) -> str | None:
    """The participant id of this browser's session for ``cid``, if it has a valid one."""
    session = request.cookies.get(cookie_name(cid))
    if not session:
        return None
    try:
        return services.signer.verify(session, cid)
    except SessionInvalid:
        return None


def _card(consultation: Consultation, services: Services, now: Any) -> dict[str, Any]:
    return {
        **summary_of(consultation, services, now),
        "description_html": render_markdown(consultation.description),
        "question": consultation.question,
        "moderation": consultation.moderation,
        "allow_statements": consultation.allow_statements,
        "organisation": consultation.organisation,
    }


# --- citizens -------------------------------------------------------------------------


@router.get("/")
async def landing(request: Request, services: ServicesDep, clock: ClockDep) -> Response:
    now = clock.now()
    consultations = [_card(c, services, now) for c in await services.consultations.list_all()]
    order = {"open": 0, "upcoming": 1, "closed": 2}
    consultations.sort(key=lambda c: (order[c["status"]], c["closes_at"]))
    return _templates(request).render(
        request,
        "pages/index.html",
        {
            "consultations": consultations,
            "other_options": [
                o.model_dump() for o in services.settings.participation.other_options
            ],
        },
    )


@router.get("/c/{cid}")
async def consultation_page(
    *,
    consultation: ConsultationDep,
    request: Request,
    services: ServicesDep,
    clock: ClockDep,
    added: str | None = None,
    problem: str | None = None,
) -> Response:
    """Before joining: explanation and login; after joining: the next statement."""
    pid = _participant(request, services, consultation.id)
    voting: dict[str, Any] | None = None
    if pid is not None:
        statement, voted, total = await services.routing.next(consultation.id, pid)
        standing = None
        if voted >= STANDING_AFTER_VOTES:
            standing = await services.reports.standing(consultation.id, pid)
        voting = {
            "statement": {"id": statement.id, "text": statement.text} if statement else None,
            "voted": voted,
            "total": total,
            "standing": standing,
        }
    return _templates(request).render(
        request,
        "pages/consultation.html",
        {
            "c": _card(consultation, services, clock.now()),
            "voting": voting,
            "added": added if added in ("pending", "approved") else None,
            "problem": problem if problem in _STATEMENT_PROBLEMS else None,
            "limits": {
                "min": services.settings.participation.statement_min_chars,
                "max": services.settings.participation.statement_max_chars,
            },
            "standing_after": STANDING_AFTER_VOTES,
        },
    )


_STATEMENT_PROBLEMS: Final = ("duplicate", "length", "not_allowed")


@router.post("/c/{cid}/stem")
async def vote_form(
    *,
    consultation: ConsultationDep,
    request: Request,
    services: ServicesDep,
    statement: Annotated[int, Form(ge=0)],
    vote: Annotated[VoteChoice, Form()],
) -> Response:
    """The form behind the agree / disagree / pass buttons (without JavaScript)."""
    pid = _participant(request, services, consultation.id)
    if pid is None:
        return RedirectResponse(f"/c/{consultation.id}", status_code=303)
    await services.votes.vote(consultation.id, pid, statement, vote)
    return RedirectResponse(f"/c/{consultation.id}#stelling", status_code=303)


@router.post("/c/{cid}/stelling")
async def statement_form(
    *,
    consultation: ConsultationDep,
    request: Request,
    services: ServicesDep,
    text: Annotated[str, Form(max_length=2000)],
) -> Response:
    """The "add your own statement" form (without JavaScript)."""
    pid = _participant(request, services, consultation.id)
    if pid is None:
        return RedirectResponse(f"/c/{consultation.id}", status_code=303)
    try:
        _sid, state = await services.statements.submit(consultation, pid, text)
    except DuplicateStatement:
        return RedirectResponse(f"/c/{consultation.id}?problem=duplicate#eigen", status_code=303)
    except InvalidStatement:
        return RedirectResponse(f"/c/{consultation.id}?problem=length#eigen", status_code=303)
    except StatementsNotAllowed:
        return RedirectResponse(f"/c/{consultation.id}?problem=not_allowed#eigen", 303)
    added = "approved" if state == "approved" else "pending"
    return RedirectResponse(f"/c/{consultation.id}?added={added}#eigen", status_code=303)


@router.get("/c/{cid}/report")
async def report_page(
    consultation: ConsultationDep, request: Request, services: ServicesDep, clock: ClockDep
) -> Response:
    """The latest stored report: it stays readable while the analysis worker is down."""
    try:
        report: dict[str, Any] | None = await services.reports.report(consultation.id)
    except NoReport:
        report = None
    svg = None
    if report is not None and report.get("groups"):
        svg = render_svg(_drawable(report), title="Opinion map / Meningenkaart")
    return _templates(request).render(
        request,
        "pages/report.html",
        {"c": _card(consultation, services, clock.now()), "report": report, "svg": svg},
    )


def _drawable(report: dict[str, Any]) -> dict[str, Any]:
    """The public report's anonymous ``points`` in the shape ``render_svg`` draws from."""
    points = [p for p in report.get("points", []) if isinstance(p, list) and len(p) == 3]
    return {
        **report,
        "projections": {str(i): [p[0], p[1]] for i, p in enumerate(points)},
        "participants": {str(i): p[2] for i, p in enumerate(points)},
    }


@router.get("/privacy")
async def privacy_statement(request: Request, services: ServicesDep) -> Response:
    """The privacy statement (art. 13 AVG), linked before login and from every page."""
    return _templates(request).render(
        request, "pages/privacy.html", {"facts": _statement_facts(services.settings)}
    )


@router.get("/toegankelijkheid")
async def accessibility_statement(request: Request, services: ServicesDep) -> Response:
    """What is done for accessibility, and where to report a barrier."""
    return _templates(request).render(
        request, "pages/accessibility.html", {"facts": _statement_facts(services.settings)}
    )


def _statement_facts(settings: Settings) -> dict[str, Any]:
    """What the privacy and accessibility statements say that depends on the deployment:
    the organisation as configured, and the figures the code enforces."""
    organisation = settings.organisation
    issuer = settings.issuer
    return {
        "organisation": organisation.model_dump(),
        "missing": organisation.missing(),
        "min_group_size": settings.participation.min_group_size,
        "time_unit_hours": settings.timestamp_resolution_seconds // 3600,
        "cookies": {
            "saml": cookies.SAML_BINDING_PREFIX,
            "saml_minutes": issuer.saml.request_ttl_seconds // 60,
            "issuer": cookies.ISSUER_SESSION,
            "issuer_minutes": issuer.session_idle_seconds // 60,
            "participant": cookies.PARTICIPANT_SESSION_PREFIX,
            "language": cookies.LANGUAGE,
            "language_days": LANGUAGE_COOKIE_SECONDS // 86_400,
            "tokens": cookies.BROWSER_TOKENS,
        },
    }


@router.get("/fout/{code}")
async def error_page(request: Request, code: str, c: str | None = None) -> Response:
    """Plain-language pages for what can go wrong on the way in (``c``: back to this one)."""
    if code not in ERROR_PAGES:
        code = "not_found"
    back = f"/c/{c}" if c and c.replace("-", "").isalnum() and c.islower() else "/"
    return _templates(request).render(
        request, "errors/problem.html", {"code": code, "back": back}, status_code=ERROR_PAGES[code]
    )


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for it on every page of the origin (also the issuer's and the IdP's)."""
    return FileResponse(
        STATIC_DIR / "img" / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


# --- organisers -----------------------------------------------------------------------


async def _organiser(request: Request, services: Services) -> Organiser | None:
    key = request.cookies.get(ORGANISER_COOKIE)
    if not key:
        return None
    try:
        return await services.api_keys.authenticate(key)
    except ApiKeyRequired:
        return None


def _to_login() -> Response:
    return RedirectResponse("/organiser/login", status_code=303)


@router.get("/organiser/login")
async def organiser_login_page(request: Request, failed: bool = False) -> Response:
    return _templates(request).render(
        request, "organiser/login.html", {"failed": failed}, language=_organiser_lang(request)
    )


def _organiser_lang(request: Request) -> str:
    """Organiser pages are English first; ``?lang=nl`` or the cookie switch them."""
    chosen = request.query_params.get("lang") or request.cookies.get("inspraak_lang")
    return "nl" if chosen == "nl" else "en"


@router.post("/organiser/login")
async def organiser_login(
    request: Request, services: ServicesDep, api_key: Annotated[str, Form(max_length=200)]
) -> Response:
    try:
        organiser = await services.api_keys.authenticate(api_key.strip())
    except ApiKeyRequired:
        log.info("organiser_login_refused")
        return RedirectResponse("/organiser/login?failed=true", status_code=303)
    log.info("organiser_login", role=organiser.role)
    response = RedirectResponse("/organiser", status_code=303)
    response.set_cookie(
        ORGANISER_COOKIE,
        api_key.strip(),
        path="/organiser",
        httponly=True,
        samesite="strict",
        secure=services.settings.public_url.startswith("https://"),
    )
    return response


@router.post("/organiser/logout")
async def organiser_logout() -> Response:
    response = RedirectResponse("/organiser/login", status_code=303)
    response.delete_cookie(ORGANISER_COOKIE, path="/organiser")
    return response


@router.get("/organiser")
async def organiser_home(request: Request, services: ServicesDep, clock: ClockDep) -> Response:
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    now = clock.now()
    rows = []
    for c in await services.consultations.list_all():
        if c.organisation != organiser.organisation:
            continue
        queue = await services.statements.queue(c.id)
        rows.append(
            {
                **_card(c, services, now),
                "visible": await services.consultations.visible_count(c.id),
                "queued": len(queue),
            }
        )
    return _templates(request).render(
        request,
        "organiser/home.html",
        {"organiser": _organiser_view(organiser), "consultations": rows},
        language=_organiser_lang(request),
    )


def _organiser_view(organiser: Organiser) -> dict[str, str]:
    return {"name": organiser.name, "organisation": organiser.organisation, "role": organiser.role}


@router.get("/organiser/new")
async def organiser_new_page(request: Request, services: ServicesDep, clock: ClockDep) -> Response:
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    today = clock.now().date()
    return _templates(request).render(
        request,
        "organiser/edit.html",
        {
            "organiser": _organiser_view(organiser),
            "c": None,
            "form": {"opens_at": today.isoformat(), "closes_at": today.isoformat()},
            "errors": [],
        },
        language=_organiser_lang(request),
    )


def _form_errors(exc: RequestValidationError | ValueError) -> list[str]:
    if isinstance(exc, RequestValidationError):
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors()]
    return [str(exc)]


@router.post("/organiser/new")
async def organiser_create(
    *,
    request: Request,
    services: ServicesDep,
    cid: Annotated[str, Form(max_length=63)],
    title: Annotated[str, Form(max_length=200)],
    opens_at: Annotated[str, Form(max_length=10)],
    closes_at: Annotated[str, Form(max_length=10)],
    description: Annotated[str, Form(max_length=20_000)] = "",
    question: Annotated[str, Form(max_length=500)] = "",
    moderation: Annotated[str, Form(max_length=20)] = "strict",
    allow_statements: Annotated[bool, Form()] = False,
) -> Response:
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    form = {
        "id": cid,
        "title": title,
        "description": description,
        "question": question,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "moderation": moderation,
        "allow_statements": allow_statements,
    }
    try:
        organiser.require_role("organiser")
        data = ConsultationCreate.model_validate(form)
        await services.consultations.create(data, organisation=organiser.organisation)
    except (ValueError, ParticipationError) as exc:
        errors = [exc.en] if isinstance(exc, ParticipationError) else _form_errors(exc)
        return _templates(request).render(
            request,
            "organiser/edit.html",
            {"organiser": _organiser_view(organiser), "c": None, "form": form, "errors": errors},
            status_code=422,
            language=_organiser_lang(request),
        )
    return RedirectResponse(f"/organiser/c/{cid}", status_code=303)


@router.get("/organiser/c/{cid}")
async def organiser_consultation(
    *,
    consultation: ConsultationDep,
    request: Request,
    services: ServicesDep,
    clock: ClockDep,
    done: str | None = None,
) -> Response:
    """Settings, seed statements, the moderation queue, live counts and export links."""
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    organiser.require_owner(consultation)
    queue = await services.statements.queue(consultation.id)
    statements = await services.statements.all(consultation.id)
    counts = {
        "visible": await services.consultations.visible_count(consultation.id),
        "queued": len(queue),
        "statements": len(statements),
    }
    return _templates(request).render(
        request,
        "organiser/consultation.html",
        {
            "organiser": _organiser_view(organiser),
            "c": _card(consultation, services, clock.now()),
            "form": {
                "id": consultation.id,
                "title": consultation.title,
                "description": consultation.description,
                "question": consultation.question,
                "opens_at": consultation.opens_at.isoformat(),
                "closes_at": consultation.closes_at.isoformat(),
                "moderation": consultation.moderation,
                "allow_statements": consultation.allow_statements,
            },
            "queue": [{"id": s.id, "text": s.text, "status": s.status} for s in queue],
            "statements": [
                {"id": s.id, "text": s.text, "status": s.status, "origin": s.origin}
                for s in statements
            ],
            "counts": counts,
            "done": done,
            "errors": [],
        },
        language=_organiser_lang(request),
    )


@router.post("/organiser/c/{cid}")
async def organiser_update(
    *,
    consultation: ConsultationDep,
    request: Request,
    services: ServicesDep,
    title: Annotated[str, Form(max_length=200)],
    opens_at: Annotated[date, Form()],
    closes_at: Annotated[date, Form()],
    description: Annotated[str, Form(max_length=20_000)] = "",
    question: Annotated[str, Form(max_length=500)] = "",
    moderation: Annotated[str, Form(max_length=20)] = "strict",
    allow_statements: Annotated[bool, Form()] = False,
) -> Response:
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    organiser.require_role("organiser")
    data = ConsultationUpdate.model_validate(
        {
            "title": title,
            "description": description,
            "question": question,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "moderation": moderation,
            "allow_statements": allow_statements,
        }
    )
    await services.consultations.update(consultation.id, data, by=organiser)
    return RedirectResponse(f"/organiser/c/{consultation.id}?done=saved", status_code=303)


@router.post("/organiser/c/{cid}/seed")
async def organiser_seed(
    consultation: ConsultationDep,
    request: Request,
    services: ServicesDep,
    statements: Annotated[str, Form(max_length=100_000)],
) -> Response:
    """Seed statements, one per line."""
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    organiser.require_role("organiser")
    organiser.require_owner(consultation)
    texts = [line.strip() for line in statements.splitlines() if line.strip()]
    if texts:
        await services.statements.seed(consultation, texts, is_meta=False)
    return RedirectResponse(f"/organiser/c/{consultation.id}?done=seeded", status_code=303)


@router.post("/organiser/c/{cid}/moderation")
async def organiser_moderate(
    *,
    consultation: ConsultationDep,
    request: Request,
    services: ServicesDep,
    action: Annotated[Literal["approve", "reject"], Form()],
    statement: Annotated[list[int] | None, Form()] = None,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Approve or reject the ticked statements at once."""
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    organiser.require_owner(consultation)
    if statement:
        await services.statements.moderate(
            consultation.id, statement, action, reason=reason, moderator=organiser
        )
    return RedirectResponse(f"/organiser/c/{consultation.id}?done={action}#queue", 303)


@router.get("/organiser/c/{cid}/export.zip")
async def organiser_export(
    consultation: ConsultationDep, request: Request, services: ServicesDep
) -> Response:
    organiser = await _organiser(request, services)
    if organiser is None:
        return _to_login()
    return await export_download(consultation, organiser, services)


# --- errors on pages ------------------------------------------------------------------


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/static/") or path == "/api")


def install_page_errors(app: Any) -> None:
    """Errors on pages render ``errors/problem.html``; the API keeps its problem+json."""
    api_handlers = dict(app.exception_handlers)

    def wrap(kind: type[Exception]) -> None:
        api = api_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not _is_page(request):
                answer: Response = await api(request, exc)
                return answer
            code = "error"
            status = 500
            if isinstance(exc, ParticipationError):
                code = next(
                    (name for cls, name in _ERROR_OF.items() if isinstance(exc, cls)), "error"
                )
                status = next((STATUS[c] for c in type(exc).__mro__ if c in STATUS), 500)
            elif isinstance(exc, StarletteHTTPException) and exc.status_code in (404, 405):
                code = "not_found"
            elif isinstance(exc, RequestValidationError):
                code, status = "error", 422
            elif isinstance(exc, redis.exceptions.RedisError):
                code = "unavailable"
            status = ERROR_PAGES[code] if code != "error" else status
            log.info("page_error", code=code, error=type(exc).__name__)
            organiser = request.url.path.startswith("/organiser")
            return _templates(request).render(
                request,
                "errors/problem.html",
                {"code": code, "back": "/organiser" if organiser else "/"},
                status_code=status,
                language=_organiser_lang(request) if organiser else None,
            )

        app.add_exception_handler(kind, handler)

    for kind in api_handlers:
        if isinstance(kind, type) and kind is not Exception:
            wrap(kind)
