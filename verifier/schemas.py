"""JSON bodies of the verifier service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RedeemRequest", "RedeemResult"]


class RedeemRequest(BaseModel):
    """A redemption: the consultation, and the token unless it is in ``Authorization``."""

    model_config = ConfigDict(extra="forbid")

    consultation: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", examples=["fietspaden-2026"])
    token: str | None = Field(
        default=None,
        max_length=1024,
        description="The Token (RFC 9577 §2.2), base64url; or send Authorization: PrivateToken.",
    )


class RedeemResult(BaseModel):
    ok: bool = True
