"""The IdP side as configuration: read SAML metadata from a file or URL, the same way for all.

DigiD preprod/production, an eHerkenning broker, any standard SAML 2.0 IdP and the
development IdP are all configured by their metadata (SAML 2.0 Metadata, OASIS
saml-metadata-2.0-os §2.4.3): entity id, SingleSignOnService, ArtifactResolutionService
and signing certificates. An optional certificate makes the metadata signature mandatory.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from issuer.saml.errors import IdpUnavailable

__all__ = ["IdpInfo", "IdpMetadataSource", "parse_idp_metadata"]

_NS = {"md": C.NS_MD, "ds": C.NS_DS}
_MAX_METADATA_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class IdpInfo:
    """What the SP needs to know about one IdP."""

    entity_id: str
    sso_url: str
    sso_binding: str
    """``C.BINDING_HTTP_REDIRECT`` when offered, else ``C.BINDING_HTTP_POST``."""
    signing_certs: tuple[str, ...]
    """Base64 DER bodies of the IdP's signing certificates."""
    artifact_resolution: dict[int, str]
    """ArtifactResolutionService index → SOAP endpoint."""


def _text(node: etree._Element) -> str:
    return "".join((node.text or "").split())


def parse_idp_metadata(
    xml: bytes, *, metadata_cert: str | None = None, extra_certs: tuple[str, ...] = ()
) -> IdpInfo:
    """Parse IdP metadata (DTDs and entities refused); raises ``ValueError`` if unusable."""
    try:
        root = OneLogin_Saml2_XML.to_etree(xml)
    except Exception as exc:  # defusedxml-style refusals and syntax errors alike
        raise ValueError(f"IdP metadata is not acceptable XML: {type(exc).__name__}") from exc
    if metadata_cert is not None and not OneLogin_Saml2_Utils.validate_metadata_sign(
        root, metadata_cert
    ):
        raise ValueError("IdP metadata signature is missing or invalid")
    entities = root.xpath("//md:EntityDescriptor[md:IDPSSODescriptor]", namespaces=_NS)
    if len(entities) != 1:
        raise ValueError("IdP metadata must describe exactly one IdP")
    entity = entities[0]
    idp = entity.find("md:IDPSSODescriptor", _NS)
    sso: dict[str, str] = {
        node.get("Binding"): node.get("Location")
        for node in idp.findall("md:SingleSignOnService", _NS)
    }
    binding = C.BINDING_HTTP_REDIRECT if C.BINDING_HTTP_REDIRECT in sso else C.BINDING_HTTP_POST
    if binding not in sso:
        raise ValueError("IdP metadata offers no SingleSignOnService by Redirect or POST")
    certs = tuple(
        _text(node)
        for kd in idp.findall("md:KeyDescriptor", _NS)
        if kd.get("use") in (None, "signing")
        for node in kd.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS)
    ) + tuple(OneLogin_Saml2_Utils.format_cert(c, heads=False) for c in extra_certs)
    if not certs:
        raise ValueError("IdP metadata has no signing certificate")
    ars = {
        int(node.get("index", "0")): node.get("Location")
        for node in idp.findall("md:ArtifactResolutionService", _NS)
        if node.get("Binding") == C.BINDING_SOAP
    }
    return IdpInfo(
        entity_id=entity.get("entityID"),
        sso_url=sso[binding],
        sso_binding=binding,
        signing_certs=certs,
        artifact_resolution=ars,
    )


class IdpMetadataSource:
    """Loads one IdP's metadata on first use and again after ``refresh_seconds``."""

    def __init__(
        self,
        location: str,
        *,
        refresh_seconds: int,
        metadata_cert_file: Path | None = None,
        extra_cert_file: Path | None = None,
        allow_http: bool = False,
    ) -> None:
        if location.startswith("http://") and not allow_http:
            raise ValueError("IdP metadata URLs must use https outside dev mode")
        self.location = location
        self.refresh_seconds = refresh_seconds
        self._metadata_cert = (
            metadata_cert_file.read_text(encoding="ascii") if metadata_cert_file else None
        )
        self._extra = (extra_cert_file.read_text(encoding="ascii"),) if extra_cert_file else ()
        self._cached: IdpInfo | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def _read(self) -> bytes:
        if self.location.startswith(("https://", "http://")):
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.get(self.location)
                response.raise_for_status()
                return response.content[:_MAX_METADATA_BYTES]
        return await asyncio.to_thread(Path(self.location).read_bytes)

    async def get(self) -> IdpInfo:
        """The IdP's metadata, refreshed when stale; raises :class:`IdpUnavailable`."""
        # time.monotonic measures cache age only; no message validity depends on it.
        if self._cached and time.monotonic() - self._loaded_at < self.refresh_seconds:
            return self._cached
        async with self._lock:
            if self._cached and time.monotonic() - self._loaded_at < self.refresh_seconds:
                return self._cached
            try:
                info = parse_idp_metadata(
                    await self._read(), metadata_cert=self._metadata_cert, extra_certs=self._extra
                )
            except (OSError, httpx.HTTPError, ValueError) as exc:
                if self._cached is not None:
                    return self._cached  # keep the last good metadata if a refresh fails
                raise IdpUnavailable("idp_metadata_unavailable") from exc
            self._cached, self._loaded_at = info, time.monotonic()
            return info
