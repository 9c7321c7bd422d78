"""JSON bodies of the issuer's API (admin, batch issuance, eligibility)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from issuer.policy import Policy

__all__ = [
    "BatchItemIn",
    "BatchItemOut",
    "ConsultationOut",
    "EligibilityEntryOut",
    "EligibilityOut",
    "KeyOut",
    "LoginOptionOut",
    "LoginOptionsOut",
    "PanelOut",
    "RotateIn",
]


class KeyOut(BaseModel):
    key_id: str
    truncated_token_key_id: int
    token_key: str
    """base64url of the RFC 9578 §6.5 encoded public key."""
    not_before: date
    current: bool


class ConsultationOut(BaseModel):
    consultation: str
    policy: Policy
    keys: list[KeyOut]
    panel_size: int


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    not_before: date | None = None
    """First day the new key signs; default today."""

    @field_validator("not_before", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        # Lax pydantic would read a number as a Unix time; the schema says an ISO day.
        if value is not None and not isinstance(value, str | date):
            raise ValueError("not_before must be a day, YYYY-MM-DD")
        return value


class PanelOut(BaseModel):
    consultation: str
    panel_size: int


class BatchItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consultation: str = Field(max_length=63)
    token_request: str = Field(max_length=1024)
    """base64url (padding optional) of an RFC 9578 TokenRequest."""


class BatchItemOut(BaseModel):
    consultation: str
    status: int
    token_response: str | None = None
    """base64url of the RFC 9578 TokenResponse, when ``status`` is 200."""
    problem: dict[str, Any] | None = None
    """RFC 9457 problem object (with ``code`` and ``reason``) otherwise."""


class EligibilityEntryOut(BaseModel):
    consultation: str
    eligible: bool
    reason: str | None
    """``wrong_scheme``, ``level_too_low``, ``not_in_panel``, ``brp_condition``,
    ``already_issued``, or null when eligible."""
    remaining: int


class EligibilityOut(BaseModel):
    scheme: str
    level: str
    consultations: list[EligibilityEntryOut]


class LoginOptionOut(BaseModel):
    scheme: str
    min_level: str


class LoginOptionsOut(BaseModel):
    """The public part of a policy: what a login page may offer."""

    schemes: list[LoginOptionOut]
