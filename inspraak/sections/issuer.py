"""Issuer settings: the ``issuer`` section of :class:`inspraak.settings.Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

__all__ = ["IssuerSettings", "SamlSchemeSettings", "SamlSettings"]


class SamlSchemeSettings(BaseModel, frozen=True):
    """One scheme's IdP (DigiD or eHerkenning), e.g. ``INSPRAAK_ISSUER__SAML__DIGID__<FIELD>``."""

    idp_metadata: str | None = None
    """IdP metadata: a file path or an https URL. Unset in dev mode: the development IdP."""

    idp_metadata_cert_file: Path | None = None
    """If set, the IdP metadata must carry a valid signature by this certificate (PEM)."""

    idp_cert_file: Path | None = None
    """Extra trusted IdP signing certificate (PEM), e.g. during a certificate rollover."""

    sp_entity_id: str | None = None
    """Our entity id at this IdP; unset: ``<issuer_url>/saml/<scheme>/metadata``."""

    attribute_consuming_service_index: int | None = None
    """eHerkenning: the ServiceID index from the service catalogue (DigiD: usually unset)."""

    service_name: str = "Inspraak"
    """Name of the service in our metadata's AttributeConsumingService."""


class SamlSettings(BaseModel, frozen=True):
    """The issuer's SAML service provider: keys, certificates and the two IdPs."""

    sp_key_file: Path | None = None
    """PEM private key for signing AuthnRequests/ArtifactResolves and decrypting (PKIoverheid)."""

    sp_cert_file: Path | None = None
    """PEM certificate of ``sp_key_file``, published in our metadata."""

    tls_client_key_file: Path | None = None
    """PEM private key of the TLS client certificate for artifact resolution (mutual TLS)."""

    tls_client_cert_file: Path | None = None
    """PEM TLS client certificate presented to the IdP's ArtifactResolutionService."""

    tls_ca_file: Path | None = None
    """CA bundle (PEM) that the IdP's artifact TLS server certificate must chain to."""

    request_ttl_seconds: int = Field(default=15 * 60, ge=60)
    """How long an AuthnRequest id waits for its answer."""

    clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    """Tolerance for NotBefore/NotOnOrAfter against our clock."""

    metadata_refresh_seconds: int = Field(default=3600, ge=60)
    """IdP metadata is read again after this long."""

    digid: SamlSchemeSettings = Field(default_factory=SamlSchemeSettings)
    eherkenning: SamlSchemeSettings = Field(default_factory=SamlSchemeSettings)


class IssuerSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_ISSUER__<FIELD>``."""

    session_idle_seconds: int = 15 * 60
    """The issuer session (subject_key and level only) ends after this much idleness."""

    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000",)
    """Participation origins allowed to send credentialed token requests (CORS)."""

    key_bits: int = 2048
    """Size of per-consultation signing keys (RFC 9578 type 2 fixes 2048)."""

    admin_api_key: SecretStr | None = None
    """Bearer key of the issuer admin API; dev mode generates one under data_dir/secrets."""

    saml: SamlSettings = Field(default_factory=SamlSettings)
    """The SAML service provider (issuer/saml)."""

    devidp_url: str | None = None
    """Dev mode: where browsers reach the development IdP; unset: ``<issuer origin>/idp``."""
