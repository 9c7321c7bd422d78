"""The names of the cookies (and the one local-storage entry) a citizen's browser can hold.

The issuer and the participation service each set their own cookies; the privacy
statement (``/privacy``) lists them all, so their names live here, where the
participation side can read the issuer's without importing it. A browser test checks
that every cookie set along the whole citizen path is one of these.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BROWSER_TOKENS",
    "ISSUER_SESSION",
    "LANGUAGE",
    "ORGANISER_SESSION",
    "PARTICIPANT_SESSION_PREFIX",
    "SAML_BINDING_PREFIX",
]

SAML_BINDING_PREFIX: Final = "inspraak_saml_"
"""Issuer, during a login: ties the SAML answer to the browser that asked (a MAC of the
request id), gone when the login ends or the request expires."""

ISSUER_SESSION: Final = "inspraak_issuer"
"""Issuer, after a login: scheme, keyed hash and level, signed; ends when idle."""

PARTICIPANT_SESSION_PREFIX: Final = "inspraak_p_"
"""Participation, one per consultation (``inspraak_p_<cid>``): the anonymous participant
session, until the consultation closes."""

LANGUAGE: Final = "inspraak_lang"
"""Participation, only after the visitor picks a language: ``nl`` or ``en``."""

ORGANISER_SESSION: Final = "inspraak_organiser"
"""Participation, organiser pages only: the organiser's API key (httpOnly)."""

BROWSER_TOKENS: Final = "inspraak.tokens.v1"
"""Local storage, set by ``participation/static/js/consultation.mjs``: the unused tokens
for the other open consultations ("log in once"), in this browser only, until used."""
