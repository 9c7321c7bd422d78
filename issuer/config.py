"""Issuer settings: the ``issuer`` section of :class:`inspraak.settings.Settings`."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["IssuerSettings"]


class IssuerSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_ISSUER__<FIELD>``."""

    session_idle_seconds: int = 15 * 60
    """The issuer session (subject_key and level only) ends after this much idleness."""

    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000",)
    """Participation origins allowed to send credentialed token requests (CORS)."""

    key_bits: int = 2048
    """Size of per-consultation signing keys (RFC 9578 type 2 fixes 2048)."""
