"""Verifier settings: the ``verifier`` section of :class:`inspraak.settings.Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["VerifierSettings"]


class VerifierSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_VERIFIER__<FIELD>``."""

    key_cache_seconds: int = 300
    """How long issuer directory keys are cached before they are fetched again."""

    keys_file: Path | None = None
    """Shared key configuration: a JSON file ``{cid: issuer directory}`` used instead of
    fetching each consultation's issuer directory (for verifiers without issuer access)."""

    clock_skew_seconds: int = Field(default=60, ge=0)
    """Tolerance for a key's ``not-before`` set by the issuer's clock."""

    spent_grace_seconds: int = Field(default=86_400, ge=0)
    """The spent-token set outlives the consultation's close by this much."""

    challenge_max_age: int | None = None
    """``max-age`` sent with each ``PrivateToken`` challenge (RFC 9577 §2.1); none by default
    because a consultation's challenge is fixed."""

    directory_timeout_seconds: float = 5.0
    """Timeout of one issuer directory fetch."""
