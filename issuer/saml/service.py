"""The login steps of the SAML service provider, without HTTP: build the SP for a scheme,
check the ``next`` path, and turn a validated Response into an issuer session.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import structlog
from redis.exceptions import RedisError

from issuer.identifiers import pepper_bytes, subject_key
from issuer.levels import SCHEMES, Scheme, UnknownLevel, get_level, level_at_least
from issuer.saml.binding import BrowserBinding
from issuer.saml.errors import (
    BadLoginRequest,
    Cancelled,
    IdpUnavailable,
    InvalidResponse,
    LevelTooLow,
    NoLevelForScheme,
    StoreUnavailable,
    UnknownScheme,
)
from issuer.saml.idp import IdpMetadataSource
from issuer.saml.keys import SpCredentials, load_sp_credentials
from issuer.saml.sp import AuthnRequestOut, ServiceProvider, VerifiedLogin, sp_urls
from issuer.saml.store import PendingRequest, record_assertion, remember_request, take_request
from issuer.session import IssuerSession

if TYPE_CHECKING:
    from inspraak.clock import Clock
    from inspraak.settings import Settings
    from inspraak.store import Store
    from issuer.eligibility import BrpSource

__all__ = ["MinimumLevelLookup", "SamlService", "dev_idp_metadata_path", "safe_next"]

log = structlog.get_logger(__name__)

MinimumLevelLookup = Callable[[str, str], Awaitable[str | None]]
"""``(consultation, scheme) -> minimum level name`` or None when the scheme is not allowed."""

_CONSULTATION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""A consultation id (docs/architecture.md)."""
_NEXT = re.compile(r"^/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$")


def dev_idp_metadata_path(settings: Settings) -> str:
    """Dev mode: where the development IdP writes its metadata (and the SP reads it)."""
    return str(settings.data_dir / "devidp" / "metadata.xml")


def safe_next(value: str | None) -> str:
    """A relative path on the participation origin; anything else is refused (open redirect)."""
    if value is None or value == "":
        return "/"
    if len(value) > 512 or not _NEXT.fullmatch(value):
        raise BadLoginRequest("bad_next")
    return value


class SamlService:
    """Holds one SP per scheme (built when first needed) and does the login steps."""

    def __init__(self, settings: Settings, *, clock: Clock, brp: BrpSource | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.brp = brp
        self.binding = BrowserBinding(
            pepper_bytes(settings),
            cookie_path=f"{urlsplit(settings.issuer_url).path.rstrip('/')}/saml/",
            secure=not settings.dev_mode,
            ttl_seconds=settings.issuer.saml.request_ttl_seconds,
        )
        self._credentials: SpCredentials | None = None
        self._sources: dict[str, IdpMetadataSource] = {}

    @property
    def credentials(self) -> SpCredentials:
        if self._credentials is None:
            self._credentials = load_sp_credentials(self.settings)
        return self._credentials

    def entity_id(self, scheme: Scheme) -> str:
        configured = getattr(self.settings.issuer.saml, scheme).sp_entity_id
        return configured or sp_urls(self.settings.issuer_url, scheme)["metadata"]

    def _source(self, scheme: Scheme) -> IdpMetadataSource:
        if scheme not in self._sources:
            saml = self.settings.issuer.saml
            scheme_settings = getattr(saml, scheme)
            location = scheme_settings.idp_metadata
            if location is None:
                if not self.settings.dev_mode:
                    raise IdpUnavailable("idp_metadata_not_configured")
                location = dev_idp_metadata_path(self.settings)
            self._sources[scheme] = IdpMetadataSource(
                location,
                refresh_seconds=saml.metadata_refresh_seconds,
                metadata_cert_file=scheme_settings.idp_metadata_cert_file,
                extra_cert_file=scheme_settings.idp_cert_file,
                allow_http=self.settings.dev_mode,
            )
        return self._sources[scheme]

    async def provider(self, scheme: str, *, with_idp: bool = True) -> ServiceProvider:
        """The SP for ``scheme``; raises :class:`UnknownScheme` or :class:`IdpUnavailable`."""
        if scheme not in SCHEMES:
            raise UnknownScheme("unknown_scheme")
        known: Scheme = scheme
        idp = await self._source(known).get() if with_idp else None
        scheme_settings = getattr(self.settings.issuer.saml, known)
        return ServiceProvider(
            scheme=known,
            entity_id=self.entity_id(known),
            issuer_url=self.settings.issuer_url,
            keys=self.credentials.saml,
            idp=idp,
            clock=self.clock,
            clock_skew_seconds=self.settings.issuer.saml.clock_skew_seconds,
            attribute_consuming_service_index=scheme_settings.attribute_consuming_service_index,
            service_name=scheme_settings.service_name,
        )

    async def start(
        self,
        store: Store,
        scheme: str,
        *,
        consultation: str | None,
        next_path: str | None,
        minimum_level: MinimumLevelLookup,
    ) -> AuthnRequestOut:
        """A signed AuthnRequest at the consultation's minimum level, remembered in the store."""
        sp = await self.provider(scheme)
        if consultation is None or not _CONSULTATION.fullmatch(consultation):
            raise BadLoginRequest("bad_consultation")
        checked_next = safe_next(next_path)
        minimum_name = await minimum_level(consultation, scheme)
        if minimum_name is None:
            raise NoLevelForScheme("scheme_not_allowed")
        try:
            minimum = get_level(scheme, minimum_name)
        except UnknownLevel:
            raise NoLevelForScheme("policy_level_unknown") from None
        out = sp.authn_request(minimum)
        try:
            await remember_request(
                store,
                out.request_id,
                PendingRequest(scheme, minimum.name, checked_next),
                ttl_seconds=self.settings.issuer.saml.request_ttl_seconds,
            )
        except RedisError:
            raise StoreUnavailable("store_unavailable") from None
        log.info("saml_authn_request", scheme=scheme, assurance=minimum.name)
        return out

    async def finish(
        self,
        store: Store,
        sp: ServiceProvider,
        saml_response: str,
        *,
        received_at: str,
        cookies: Mapping[str, str],
    ) -> tuple[IssuerSession, str, str]:
        """Validate a Response and turn it into a session; returns it, ``next`` and the
        request id it answered."""
        response = sp.parse_response(saml_response)
        try:
            login = sp.verify(response, received_at=received_at)
        except Cancelled:
            # Forget the request so that it cannot be answered again later.
            request_id = response.get_in_response_to()
            if request_id:
                with contextlib.suppress(ValueError, RedisError):
                    await take_request(store, request_id)
            raise
        session, next_path = await self._accept(store, login, cookies)
        return session, next_path, login.in_response_to

    async def _accept(
        self, store: Store, login: VerifiedLogin, cookies: Mapping[str, str]
    ) -> tuple[IssuerSession, str]:
        ttl_ms = int((login.not_on_or_after - self.clock.now()).total_seconds() * 1000)
        ttl_ms += self.settings.issuer.saml.clock_skew_seconds * 1000
        try:
            first_use = await record_assertion(store, login.assertion_id, ttl_ms=ttl_ms)
            pending = await take_request(store, login.in_response_to)
        except ValueError:
            raise InvalidResponse("unusable_id") from None
        except RedisError:
            raise StoreUnavailable("store_unavailable") from None
        if not first_use:
            raise InvalidResponse("assertion_replayed")
        if pending is None:
            raise InvalidResponse("unsolicited_or_expired")
        if pending.scheme != login.scheme:
            raise InvalidResponse("scheme_mismatch")
        self.binding.check(cookies, login.in_response_to)
        if not level_at_least(login.scheme, login.level.name, pending.minimum_level):
            raise LevelTooLow("level_too_low")
        facts = None
        if login.scheme == "digid" and self.brp is not None:
            # Only the facts policies can ask for; the BSN itself goes no further.
            facts = await self.brp.facts(login.identifier, today=self.clock.now().date())
        session = IssuerSession(
            scheme=login.scheme,
            subject_key=subject_key(pepper_bytes(self.settings), login.scheme, login.identifier),
            level=login.level.name,
            age=facts.age if facts is not None else None,
            municipality=facts.municipality if facts is not None else None,
        )
        return session, pending.next_path
