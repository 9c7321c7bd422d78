"""A consultation's eligibility policy and the pure check of a session against it.

The policy is stored as JSON under ``iss:{c:<cid>}:policy``. Which schemes may join, the
minimum level per scheme, an optional invited panel, optional BRP conditions, how many
tokens one person may get, and the day the consultation closes.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from issuer.errors import IneligibleReason, NotEligible
from issuer.levels import SCHEMES, Scheme, UnknownLevel, get_level, level_at_least

__all__ = ["BrpConditions", "BrpFacts", "Policy", "check_policy", "is_closed"]


class BrpConditions(BaseModel):
    """Conditions on the person's BRP record (DigiD only): age bounds, municipalities."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_age: int | None = Field(default=None, ge=0, le=150)
    max_age: int | None = Field(default=None, ge=0, le=150)
    municipalities: tuple[str, ...] = ()
    """CBS municipality codes (four digits, e.g. ``0363`` for Amsterdam); empty means any."""

    @model_validator(mode="after")
    def _check(self) -> BrpConditions:
        for code in self.municipalities:
            if len(code) != 4 or not code.isascii() or not code.isdigit():
                raise ValueError("a municipality is a four-digit CBS code")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is above max_age")
        return self


class BrpFacts(BaseModel):
    """What a BRP plug-in tells about one person: only what conditions need."""

    model_config = ConfigDict(frozen=True)

    age: int
    municipality: str


def _default_min_level() -> dict[Scheme, str]:
    return {"digid": "midden"}


class Policy(BaseModel):
    """Who may get tokens for one consultation, and how many."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schemes: tuple[Scheme, ...] = ("digid",)
    min_level: dict[Scheme, str] = Field(default_factory=_default_min_level)
    """Minimum level per allowed scheme (``basis``..``hoog``, ``loa2``..``loa4``)."""
    panel: bool = False
    """Only invited people (their keyed hashes uploaded as the panel) may join."""
    brp: BrpConditions | None = None
    tokens_per_person: int = Field(default=1, ge=1, le=100)
    closes_at: date
    """The day the consultation closes: from 00:00 UTC that day no tokens are issued."""

    @model_validator(mode="after")
    def _check(self) -> Policy:
        if not self.schemes or len(set(self.schemes)) != len(self.schemes):
            raise ValueError("schemes must list each allowed scheme once")
        for scheme in self.schemes:
            if scheme not in self.min_level:
                raise ValueError(f"min_level has no entry for {scheme}")
        for scheme, name in self.min_level.items():
            if scheme not in SCHEMES:
                raise ValueError(f"unknown scheme {scheme}")
            try:
                get_level(scheme, name)
            except UnknownLevel as exc:
                raise ValueError(str(exc)) from None
        if self.brp is not None and "digid" not in self.schemes:
            raise ValueError("BRP conditions need DigiD (a BSN)")
        return self


def is_closed(policy: Policy, today: date) -> bool:
    return today >= policy.closes_at


def check_policy(
    policy: Policy,
    *,
    scheme: str,
    level: str,
    in_panel: bool,
    brp_facts: BrpFacts | None,
) -> None:
    """Raise :class:`NotEligible` with the first reason the session fails the policy."""
    if scheme not in policy.schemes:
        raise NotEligible(IneligibleReason.WRONG_SCHEME)
    try:
        enough = level_at_least(scheme, level, policy.min_level[scheme])
    except UnknownLevel:
        enough = False
    if not enough:
        raise NotEligible(IneligibleReason.LEVEL_TOO_LOW)
    if policy.panel and not in_panel:
        raise NotEligible(IneligibleReason.NOT_IN_PANEL)
    conditions = policy.brp
    if conditions is not None and scheme == "digid":
        if brp_facts is None:
            raise NotEligible(IneligibleReason.BRP_CONDITION)
        if conditions.min_age is not None and brp_facts.age < conditions.min_age:
            raise NotEligible(IneligibleReason.BRP_CONDITION)
        if conditions.max_age is not None and brp_facts.age > conditions.max_age:
            raise NotEligible(IneligibleReason.BRP_CONDITION)
        if conditions.municipalities and brp_facts.municipality not in conditions.municipalities:
            raise NotEligible(IneligibleReason.BRP_CONDITION)
