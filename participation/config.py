"""Participation settings: the ``participation`` section of the Settings."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["ParticipationSettings"]


class ParticipationSettings(BaseModel, frozen=True):
    """Set with ``INSPRAAK_PARTICIPATION__<FIELD>``."""

    votes_per_minute: int = 60
    statements_per_hour: int = 10
    joins_per_hour_per_client: int = 30
    statement_min_chars: int = 10
    statement_max_chars: int = 280
    min_group_size: int = 5
    """Reports and exports never show a group or breakdown smaller than this."""
