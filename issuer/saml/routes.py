"""The SAML routes per scheme: login, ACS (POST), artifact, metadata.

``create_saml_router`` needs from the issuer lifespan state: ``store`` (the issuer
store) and ``session_codec`` (:class:`issuer.session.SessionCodec`). It reads the
consultation's minimum level through ``minimum_level(consultation, scheme)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from issuer.saml.artifact import resolve_artifact
from issuer.saml.errors import (
    STATUS,
    BadLoginRequest,
    Cancelled,
    IdpUnavailable,
    InvalidResponse,
    LevelTooLow,
    MalformedMessage,
    NoLevelForScheme,
    SamlError,
    StoreUnavailable,
    UnknownScheme,
)
from issuer.saml.pages import render_page, render_post_form
from issuer.saml.service import MinimumLevelLookup, SamlService
from issuer.saml.sp import sp_urls
from issuer.session import SessionCodec

if TYPE_CHECKING:
    from inspraak.clock import Clock
    from inspraak.settings import Settings
    from inspraak.store import Store
    from issuer.eligibility import BrpSource

__all__ = ["create_saml_router"]

log = structlog.get_logger(__name__)

_PAGE = {
    Cancelled: "cancelled",
    InvalidResponse: "invalid",
    MalformedMessage: "malformed",
    LevelTooLow: "level",
    NoLevelForScheme: "scheme",
    BadLoginRequest: "bad_request",
    UnknownScheme: "not_found",
    IdpUnavailable: "unavailable",
    StoreUnavailable: "unavailable",
}


def _state_store(request: Request) -> Store:
    store: Store = request.state.store
    return store


def _codec(request: Request) -> SessionCodec:
    codec: SessionCodec = request.state.session_codec
    return codec


def _error_page(exc: SamlError, settings: Settings, back: str | None = None) -> HTMLResponse:
    page = next(name for cls, name in _PAGE.items() if isinstance(exc, cls))
    back_url = f"{settings.public_url.rstrip('/')}{back or '/'}"
    return HTMLResponse(render_page(page, back_url=back_url), status_code=STATUS[type(exc)])


def create_saml_router(
    settings: Settings,
    *,
    clock: Clock,
    minimum_level: MinimumLevelLookup,
    brp: BrpSource | None = None,
) -> APIRouter:
    """The router to include in the issuer app (no prefix): ``/saml/{scheme}/...``.

    ``brp`` (optional) is asked at a DigiD login for the facts eligibility conditions use.
    """
    service = SamlService(settings, clock=clock, brp=brp)
    router = APIRouter(tags=["saml"])
    public = settings.public_url.rstrip("/")

    async def _complete(
        request: Request, scheme: str, saml_response: str, received_at: str
    ) -> Response:
        try:
            sp = await service.provider(scheme)
            session, next_path, request_id = await service.finish(
                _state_store(request),
                sp,
                saml_response,
                received_at=received_at,
                cookies=request.cookies,
            )
        except SamlError as exc:
            log.warning("saml_login_refused", scheme=scheme, reason=exc.reason)
            return _error_page(exc, settings)
        redirect = RedirectResponse(f"{public}{next_path}", status_code=303)
        _codec(request).set_cookie(redirect, session)
        service.binding.release(redirect, request_id)
        log.info("saml_login", scheme=session.scheme, assurance=session.level)
        return redirect

    @router.get("/saml/{scheme}/login", response_model=None)
    async def saml_login(
        request: Request,
        scheme: str,
        consultation: str | None = None,
        next: str | None = None,
    ) -> Response:
        """Start a login at the level the consultation's policy asks for."""
        try:
            out = await service.start(
                _state_store(request),
                scheme,
                consultation=consultation,
                next_path=next,
                minimum_level=minimum_level,
            )
        except SamlError as exc:
            log.info("saml_login_not_started", scheme=scheme, reason=exc.reason)
            return _error_page(exc, settings)
        answer: Response
        if out.binding == C.BINDING_HTTP_REDIRECT:
            answer = RedirectResponse(out.url, status_code=303)
        else:
            answer = HTMLResponse(render_post_form(out.url, out.form))
        service.binding.bind(answer, out.request_id)
        return answer

    @router.post("/saml/{scheme}/acs", response_model=None)
    async def saml_acs(
        request: Request, scheme: str, SAMLResponse: Annotated[str, Form(max_length=700_000)]
    ) -> Response:
        """HTTP-POST binding assertion consumer."""
        return await _complete(
            request, scheme, SAMLResponse, sp_urls(settings.issuer_url, scheme)["acs"]
        )

    @router.get("/saml/{scheme}/artifact", response_model=None)
    async def saml_artifact(
        request: Request, scheme: str, SAMLart: Annotated[str, Query(max_length=200)]
    ) -> Response:
        """HTTP-Artifact binding: resolve ``SAMLart`` over SOAP, then validate as for POST."""
        try:
            sp = await service.provider(scheme)
            saml_response = await resolve_artifact(
                SAMLart,
                idp=sp.require_idp(),
                sp_entity_id=sp.entity_id,
                credentials=service.credentials,
                clock=clock,
                allow_http=settings.dev_mode,
            )
        except SamlError as exc:
            log.warning("saml_login_refused", scheme=scheme, reason=exc.reason)
            return _error_page(exc, settings)
        return await _complete(
            request, scheme, saml_response, sp_urls(settings.issuer_url, scheme)["artifact"]
        )

    @router.get("/saml/{scheme}/metadata", response_model=None)
    async def saml_metadata(scheme: str) -> Response:
        """Our signed SP metadata for ``scheme``."""
        try:
            sp = await service.provider(scheme, with_idp=False)
        except SamlError as exc:
            return _error_page(exc, settings)
        return Response(sp.metadata(), media_type="application/samlmetadata+xml")

    return router
