"""Errors of the SAML service provider, and the status each one gets.

``SamlError``
 ├── ``UnknownScheme``        404: not ``digid`` or ``eherkenning``
 ├── ``BadLoginRequest``      400: a bad ``consultation`` or ``next`` on the login URL
 ├── ``NoLevelForScheme``     403: the consultation does not accept this scheme
 ├── ``MalformedMessage``     400: not parseable, DTD/entities (XXE, entity expansion)
 ├── ``InvalidResponse``      400: signature, audience, destination, time, issuer, replay,
 │                                 unsolicited, wrong sector, failed 11-proef ...
 ├── ``LevelTooLow``          403: authenticated below the consultation's minimum
 ├── ``Cancelled``            200: the person cancelled at the IdP (AuthnFailed)
 ├── ``IdpUnavailable``       502: metadata or artifact resolution could not be reached
 └── ``StoreUnavailable``     503: the issuer store failed; nothing was half-written

The reason for an ``InvalidResponse`` goes to the log as a code only; the page tells the
person, in B1 Dutch and English, that the login could not be completed.
"""

from __future__ import annotations

__all__ = [
    "STATUS",
    "BadLoginRequest",
    "Cancelled",
    "IdpUnavailable",
    "InvalidResponse",
    "LevelTooLow",
    "MalformedMessage",
    "NoLevelForScheme",
    "SamlError",
    "StoreUnavailable",
    "UnknownScheme",
]


class SamlError(Exception):
    """Base class; ``reason`` is a short code for the log (never an identifier)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownScheme(SamlError):
    pass


class BadLoginRequest(SamlError):
    pass


class NoLevelForScheme(SamlError):
    pass


class MalformedMessage(SamlError):
    pass


class InvalidResponse(SamlError):
    pass


class LevelTooLow(SamlError):
    pass


class Cancelled(SamlError):
    pass


class IdpUnavailable(SamlError):
    pass


class StoreUnavailable(SamlError):
    pass


STATUS: dict[type[SamlError], int] = {
    UnknownScheme: 404,
    BadLoginRequest: 400,
    NoLevelForScheme: 403,
    MalformedMessage: 400,
    InvalidResponse: 400,
    LevelTooLow: 403,
    Cancelled: 200,
    IdpUnavailable: 502,
    StoreUnavailable: 503,
}
