"""Pydantic models for the JSON the participation API takes and gives."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

__all__ = [
    "CID_PATTERN",
    "AuditEntry",
    "ConsultationCreate",
    "ConsultationDetail",
    "ConsultationList",
    "ConsultationSummary",
    "ConsultationUpdate",
    "JoinResult",
    "LinkOut",
    "ModerationIn",
    "ModerationResult",
    "NextStatement",
    "Progress",
    "SeedIn",
    "SeedResult",
    "Standing",
    "StatementAdded",
    "StatementAdmin",
    "StatementIn",
    "StatementView",
    "VoteIn",
    "VoteResult",
]

CID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
"""A consultation id is a public slug (docs/architecture.md)."""

Language = Literal["nl", "en", "fy", "pap"]
ModerationMode = Literal["strict", "permissive"]
Status = Literal["upcoming", "open", "closed"]
VoteChoice = Literal["agree", "disagree", "pass"]


def _default_languages() -> list[Language]:
    return ["nl"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsultationCreate(_In):
    """What an organiser gives to create a consultation; dates are whole days (UTC)."""

    id: str = Field(pattern=CID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    """Markdown; rendered without raw HTML and then sanitised."""
    question: str = Field(default="", max_length=500)
    languages: list[Language] = Field(default_factory=_default_languages, min_length=1)
    opens_at: date
    closes_at: date
    """The last day on which participants can vote (it closes at the end of this UTC day)."""
    moderation: ModerationMode = "strict"
    allow_statements: bool = True
    issuer_url: HttpUrl | None = None
    """Where browsers get tokens; defaults to the deployment's issuer."""

    @model_validator(mode="after")
    def _dates_in_order(self) -> ConsultationCreate:
        if self.closes_at < self.opens_at:
            raise ValueError("closes_at must not be before opens_at")
        return self


class ConsultationUpdate(_In):
    """Fields an organiser may change; absent fields stay as they are."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    question: str | None = Field(default=None, max_length=500)
    languages: list[Language] | None = Field(default=None, min_length=1)
    opens_at: date | None = None
    closes_at: date | None = None
    moderation: ModerationMode | None = None
    allow_statements: bool | None = None
    issuer_url: HttpUrl | None = None


class ConsultationSummary(BaseModel):
    id: str
    title: str
    status: Status
    opens_at: date
    closes_at: date
    languages: list[str]
    issuer_url: str
    issuer_directory_url: str
    token_challenge: str | None
    """The consultation's fixed RFC 9577 TokenChallenge, base64url without padding."""


class ConsultationDetail(ConsultationSummary):
    description: str
    description_html: str
    question: str
    moderation: ModerationMode
    allow_statements: bool
    statements: int
    """Visible statements."""


class LinkOut(BaseModel):
    title: str
    url: str
    description: str


class ConsultationList(BaseModel):
    consultations: list[ConsultationSummary]
    other_options: list[LinkOut]


class JoinResult(BaseModel):
    session: str
    consultation: str
    expires_at: date


class VoteIn(_In):
    statement: int = Field(ge=0)
    vote: VoteChoice


class Progress(BaseModel):
    voted: int
    total: int


class VoteResult(BaseModel):
    statement: int
    vote: VoteChoice
    changed: bool
    """False when the same vote was already recorded."""


class StatementIn(_In):
    text: str = Field(min_length=1, max_length=5_000)


class StatementAdded(BaseModel):
    id: int
    status: Literal["pending", "approved"]
    visible: bool


class StatementView(BaseModel):
    id: int
    text: str


class NextStatement(BaseModel):
    statement: StatementView | None
    """None when every visible statement has a vote from this participant."""
    progress: Progress


class SeedIn(_In):
    statements: list[str] = Field(min_length=1, max_length=500)
    is_meta: bool = False


class ModerationIn(_In):
    statements: list[int] = Field(min_length=1, max_length=500)
    action: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _reject_needs_reason(self) -> ModerationIn:
        if self.action == "reject" and not self.reason:
            raise ValueError("a rejection needs a reason")
        if len(set(self.statements)) != len(self.statements):
            raise ValueError("statement ids must be unique")
        return self


class ModerationResult(BaseModel):
    action: Literal["approve", "reject"]
    statements: list[int]
    changed: int


class AuditEntry(BaseModel):
    day: date
    moderator: str
    action: str
    statement: int
    reason: str
    before: str | None = None


class SeedResult(BaseModel):
    ids: list[int]


class StatementAdmin(BaseModel):
    """A statement as organisers and moderators see it (never who wrote it)."""

    id: int
    text: str
    status: Literal["pending", "approved", "rejected"]
    origin: Literal["seed", "participant"]
    is_meta: bool
    created_day: date
    reason: str
    queued: bool


class Standing(BaseModel):
    """Where you stand: your group in the latest analysis (only if it is large enough)."""

    voted: int
    group: int | None
    group_size: int | None
    representative: list[dict[str, Any]]
