"""Verifier settings: the ``verifier`` section of :class:`inspraak.settings.Settings`."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["VerifierSettings"]


class VerifierSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_VERIFIER__<FIELD>``."""

    key_cache_seconds: int = 300
    """How long issuer directory keys are cached before they are fetched again."""
