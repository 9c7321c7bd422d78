"""The development IdP: a small SAML IdP for the demo and the tests (dev mode only).

It publishes metadata at ``/metadata`` (and writes it to ``<data_dir>/devidp/metadata.xml``,
where the SP reads it in dev mode: the same mechanism as for a real IdP), takes signed
AuthnRequests at ``/sso`` (Redirect or POST), shows a login form for a test BSN or KvK
number, a level and a binding, and answers by HTTP-POST or HTTP-Artifact. Artifacts wait
in the store (``iss:saml:artifact:<handle>``, one use, short TTL) for ``/artifact-resolve``.

Mutual TLS: mounted at ``/idp`` in the demo it runs over plain HTTP on the same origin,
so no client certificate is asked. Served over HTTPS (uvicorn ``ssl_cert_reqs=CERT_REQUIRED``
with a CA that signed the SP's TLS client certificate) the SOAP endpoint then only answers
an SP that shows its client certificate, as DigiD's does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote_plus, urlsplit

import structlog
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from pydantic import BaseModel, Field

from inspraak.clock import SYSTEM_CLOCK, Clock
from inspraak.http import RequestLogMiddleware, route_id
from inspraak.store import open_store
from issuer.devidp.messages import (
    ResponseSpec,
    build_artifact_response,
    build_idp_metadata,
    build_response,
)
from issuer.identifiers import is_valid_bsn, is_valid_kvk
from issuer.levels import (
    LEVELS,
    SCHEMES,
    Scheme,
    UnknownLevel,
    get_level,
    level_from_class_ref,
)
from issuer.saml.artifact import make_artifact, parse_artifact, soap_envelope
from issuer.saml.errors import MalformedMessage
from issuer.saml.keys import KeyPair, load_or_create_pair, load_sp_credentials
from issuer.saml.sp import sp_urls
from issuer.saml.store import artifact_key
from tokens import SYSTEM_RNG, Rng

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["ARTIFACT_TTL_SECONDS", "DevIdp", "LoginForm", "create_app", "devidp_base_url"]

log = structlog.get_logger(__name__)

ARTIFACT_TTL_SECONDS = 120
_NS = {"samlp": C.NS_SAMLP, "saml": C.NS_SAML, "soap": C.NS_SOAP, "ds": C.NS_DS}
_ENV = Environment(
    loader=PackageLoader("issuer.devidp", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)


def devidp_base_url(settings: Settings) -> str:
    """Where browsers reach the dev IdP: ``issuer.devidp_url`` or ``<issuer origin>/idp``."""
    if settings.issuer.devidp_url:
        return settings.issuer.devidp_url.rstrip("/")
    parts = urlsplit(settings.issuer_url)
    return f"{parts.scheme}://{parts.netloc}/idp"


class DevIdp:
    """The IdP's keys, names and the SP it serves (our own, from the same settings)."""

    def __init__(self, settings: Settings, *, clock: Clock, rng: Rng) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.base_url = devidp_base_url(settings)
        self.entity_id = f"{self.base_url}/metadata"
        self.keys: KeyPair = load_or_create_pair(
            settings.data_dir / "devidp", "idp", "Inspraak development IdP"
        )
        self.sp_cert = load_sp_credentials(settings).saml.cert_pem
        self.metadata = build_idp_metadata(
            entity_id=self.entity_id,
            base_url=self.base_url,
            key_pem=self.keys.key_pem,
            cert_pem=self.keys.cert_pem,
        )

    def write_metadata(self) -> None:
        path = self.settings.data_dir / "devidp" / "metadata.xml"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(self.metadata)

    def sp_entity_id(self, scheme: str) -> str:
        configured: str | None = getattr(self.settings.issuer.saml, scheme).sp_entity_id
        return configured or sp_urls(self.settings.issuer_url, scheme)["metadata"]

    def scheme_of(self, sp_entity_id: str) -> Scheme:
        for scheme in SCHEMES:
            if self.sp_entity_id(scheme) == sp_entity_id:
                return scheme
        raise MalformedMessage("unknown_sp")

    def read_authn_request(self, xml: bytes) -> dict[str, str]:
        """ID, scheme and requested minimum level of an AuthnRequest."""
        try:
            root = OneLogin_Saml2_XML.to_etree(xml)
        except Exception:
            raise MalformedMessage("authn_request_unparseable") from None
        if root.tag != f"{{{C.NS_SAMLP}}}AuthnRequest" or not root.get("ID"):
            raise MalformedMessage("not_an_authn_request")
        scheme = self.scheme_of((root.findtext("saml:Issuer", "", _NS)).strip())
        refs = root.xpath(
            "samlp:RequestedAuthnContext/saml:AuthnContextClassRef/text()", namespaces=_NS
        )
        try:
            minimum = level_from_class_ref(scheme, refs[0]) if refs else LEVELS[scheme][0]
        except UnknownLevel:
            raise MalformedMessage("unknown_level") from None
        return {"request_id": root.get("ID", ""), "scheme": scheme, "minimum": minimum.name}


class LoginForm(BaseModel):
    """The login form's fields."""

    request_id: str = Field(max_length=128)
    scheme: str = Field(max_length=20)
    minimum: str = Field(max_length=20)
    action: str = Field(max_length=10)
    identifier: str = Field(default="", max_length=20)
    level: str = Field(default="", max_length=20)
    binding: str = Field(default="post", max_length=10)


def _login_page(fields: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template("login.html").render(**fields), status_code=status_code)


def _bad(reason: str) -> HTMLResponse:
    log.info("devidp_refused", reason=reason)
    page = _ENV.get_template("error.html").render(reason=reason)
    return HTMLResponse(page, status_code=400)


def create_app(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, rng: Rng = SYSTEM_RNG
) -> FastAPI:
    """The development IdP as an ASGI app; refuses to exist outside dev mode."""
    if not settings.dev_mode:
        raise RuntimeError("the development IdP runs in dev mode only (INSPRAAK_DEV_MODE=true)")
    store_url = settings.issuer_redis_url or settings.redis_url
    if store_url is None:
        raise ValueError("the development IdP needs a store URL")
    idp = DevIdp(settings, clock=clock, rng=rng)
    idp.write_metadata()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_store(store_url, cluster=settings.redis_cluster) as store:
            yield {"store": store, "devidp": idp}

    app = FastAPI(
        title="Inspraak development IdP",
        lifespan=lifespan,
        generate_unique_id_function=route_id,
        docs_url=None,
        redoc_url=None,
    )

    @app.get("/metadata", tags=["devidp"])
    async def metadata() -> Response:
        """The IdP's signed SAML metadata."""
        return Response(idp.metadata, media_type="application/samlmetadata+xml")

    @app.get("/sso", tags=["devidp"], response_model=None)
    async def sso_redirect(
        request: Request,
        SAMLRequest: Annotated[str, Query(max_length=20_000)],
        Signature: Annotated[str, Query(max_length=2_000)],
        SigAlg: Annotated[str, Query(max_length=200)],
    ) -> HTMLResponse:
        """HTTP-Redirect binding: check the query signature, then show the login form."""
        if SigAlg != C.RSA_SHA256:
            return _bad("sig_alg")
        parts = request.url.query.split("&")
        signed = "&".join(
            p
            for key in ("SAMLRequest=", "RelayState=", "SigAlg=")
            for p in parts
            if p.startswith(key)
        )
        try:
            signature = base64.b64decode(Signature, validate=True)
            xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(SAMLRequest)
        except Exception:  # base64, zlib and text decoding errors alike
            return _bad("encoding")
        if not OneLogin_Saml2_Utils.validate_binary_sign(signed, signature, idp.sp_cert, SigAlg):
            return _bad("signature")
        try:
            fields = idp.read_authn_request(xml if isinstance(xml, bytes) else xml.encode())
        except MalformedMessage as exc:
            return _bad(exc.reason)
        return _show_form(fields)

    @app.post("/sso", tags=["devidp"], response_model=None)
    async def sso_post(
        SAMLRequest: Annotated[str, Form(max_length=100_000)],
    ) -> HTMLResponse:
        """HTTP-POST binding: check the enveloped signature, then show the login form."""
        try:
            xml = base64.b64decode(SAMLRequest, validate=True)
        except (binascii.Error, ValueError):
            return _bad("encoding")
        if not OneLogin_Saml2_Utils.validate_sign(
            xml, idp.sp_cert, xpath="/samlp:AuthnRequest/ds:Signature"
        ):
            return _bad("signature")
        try:
            return _show_form(idp.read_authn_request(xml))
        except MalformedMessage as exc:
            return _bad(exc.reason)

    def _show_form(
        fields: dict[str, str], error: str | None = None, code: int = 200
    ) -> HTMLResponse:
        scheme = fields["scheme"]
        return _login_page(
            {
                **fields,
                "levels": [level.name for level in LEVELS[scheme]],  # type: ignore[index]
                "default_binding": "artifact" if scheme == "digid" else "post",
                "error": error,
                "identifier": fields.get("identifier", ""),
            },
            code,
        )

    @app.post("/login", tags=["devidp"], response_model=None)
    async def login(request: Request, form: Annotated[LoginForm, Form()]) -> Response:
        """Answer the SP: a signed Response (login) or AuthnFailed (cancel)."""
        request_id, scheme, minimum, level = form.request_id, form.scheme, form.minimum, form.level
        action, identifier, binding = form.action, form.identifier, form.binding
        if scheme not in SCHEMES or binding not in ("post", "artifact"):
            return _bad("form")
        fields = {"request_id": request_id, "scheme": scheme, "minimum": minimum}
        cancelled = action == "cancel"
        identifier = identifier.strip()
        if not cancelled:
            valid = is_valid_bsn(identifier) if scheme == "digid" else is_valid_kvk(identifier)
            if not valid:
                error = "bsn" if scheme == "digid" else "kvk"
                return _show_form({**fields, "identifier": ""}, error, 400)
            try:
                level_ref = get_level(scheme, level).class_ref
            except UnknownLevel:
                return _bad("level")
        urls = sp_urls(settings.issuer_url, scheme)
        destination = urls["artifact" if binding == "artifact" else "acs"]
        spec = ResponseSpec(
            scheme=scheme,
            issuer=idp.entity_id,
            destination=destination,
            audience=idp.sp_entity_id(scheme),
            in_response_to=request_id,
            now=clock.now(),
            identifier="" if cancelled else identifier,
            level_ref="" if cancelled else level_ref,
            cancelled=cancelled,
            acting_pseudonym=rng.token_bytes(16).hex(),
            sp_cert_pem=idp.sp_cert,
        )
        response = build_response(spec, key_pem=idp.keys.key_pem, cert_pem=idp.keys.cert_pem)
        xml = etree.tostring(response)
        log.info("devidp_answer", scheme=scheme, binding=binding, cancelled=cancelled)
        if binding == "post":
            page = _ENV.get_template("post.html").render(
                action=destination, saml_response=base64.b64encode(xml).decode("ascii")
            )
            return HTMLResponse(page)
        handle = rng.token_bytes(20)
        await request.state.store.set(artifact_key(handle.hex()), xml, ex=ARTIFACT_TTL_SECONDS)
        samlart = make_artifact(idp.entity_id, 0, handle)
        return RedirectResponse(f"{destination}?SAMLart={quote_plus(samlart)}", status_code=303)

    @app.post("/artifact-resolve", tags=["devidp"], response_model=None)
    async def artifact_resolve(request: Request) -> Response:
        """SOAP ArtifactResolve → ArtifactResponse, each artifact answered once."""
        body = await request.body()
        try:
            envelope = OneLogin_Saml2_XML.to_etree(body)
            found = envelope.xpath("/soap:Envelope/soap:Body/samlp:ArtifactResolve", namespaces=_NS)
            if len(found) != 1:
                raise MalformedMessage("no_artifact_resolve")
            message = OneLogin_Saml2_XML.to_etree(etree.tostring(found[0]))
            if not OneLogin_Saml2_Utils.validate_sign(
                message, idp.sp_cert, xpath="/samlp:ArtifactResolve/ds:Signature"
            ):
                raise MalformedMessage("artifact_resolve_signature")
            idp.scheme_of((message.findtext("saml:Issuer", "", _NS)).strip())
            artifact = parse_artifact((message.findtext("samlp:Artifact", "", _NS)).strip())
        except MalformedMessage as exc:
            log.info("devidp_refused", reason=exc.reason)
            return Response("bad ArtifactResolve", status_code=400, media_type="text/plain")
        except Exception:
            log.info("devidp_refused", reason="artifact_resolve_unparseable")
            return Response("bad ArtifactResolve", status_code=400, media_type="text/plain")
        raw = await request.state.store.getdel(artifact_key(artifact.message_handle.hex()))
        inner = OneLogin_Saml2_XML.to_etree(raw) if raw is not None else None
        answer = build_artifact_response(
            issuer=idp.entity_id,
            in_response_to=message.get("ID", ""),
            now=clock.now(),
            inner=inner,
            key_pem=idp.keys.key_pem,
            cert_pem=idp.keys.cert_pem,
        )
        return Response(soap_envelope(answer), media_type="text/xml")

    app.add_middleware(RequestLogMiddleware, service="devidp")
    return app
