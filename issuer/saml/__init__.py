"""The issuer's SAML service provider for DigiD and eHerkenning (python3-saml + Artifact)."""

from issuer.saml.binding import BrowserBinding
from issuer.saml.errors import (
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
from issuer.saml.idp import IdpInfo, IdpMetadataSource, parse_idp_metadata
from issuer.saml.keys import KeyPair, SpCredentials, load_sp_credentials, make_pair
from issuer.saml.routes import create_saml_router
from issuer.saml.service import MinimumLevelLookup, SamlService, dev_idp_metadata_path
from issuer.saml.sp import ServiceProvider, VerifiedLogin, sp_urls

__all__ = [
    "BadLoginRequest",
    "BrowserBinding",
    "Cancelled",
    "IdpInfo",
    "IdpMetadataSource",
    "IdpUnavailable",
    "InvalidResponse",
    "KeyPair",
    "LevelTooLow",
    "MalformedMessage",
    "MinimumLevelLookup",
    "NoLevelForScheme",
    "SamlError",
    "SamlService",
    "ServiceProvider",
    "SpCredentials",
    "StoreUnavailable",
    "UnknownScheme",
    "VerifiedLogin",
    "create_saml_router",
    "dev_idp_metadata_path",
    "load_sp_credentials",
    "make_pair",
    "parse_idp_metadata",
    "sp_urls",
]
