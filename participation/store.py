"""Store key builders for the participation side: the only place key names are made.

Every key of one consultation carries the hash tag ``{c:<cid>}`` so that every Lua script
touches one Valkey/Redis Cluster slot (docs/architecture.md).
"""

from __future__ import annotations

__all__ = [
    "CONSULTATIONS_KEY",
    "consultation_key",
    "counter_key",
    "participant_key",
    "participant_votes_key",
    "priorities_key",
    "report_key",
    "spent_key",
    "statement_key",
    "statements_key",
    "tag",
    "votes_stream_key",
]

CONSULTATIONS_KEY = "consultations"
"""Zset of every consultation id (score: opening day), open and closed."""


def tag(cid: str) -> str:
    return "{c:" + cid + "}"


def consultation_key(cid: str) -> str:
    return f"{tag(cid)}:consultation"


def statements_key(cid: str) -> str:
    return f"{tag(cid)}:statements"


def statement_key(cid: str, sid: int) -> str:
    return f"{tag(cid)}:statement:{sid}"


def votes_stream_key(cid: str) -> str:
    return f"{tag(cid)}:votes"


def participant_key(cid: str, pid: str) -> str:
    return f"{tag(cid)}:participant:{pid}"


def participant_votes_key(cid: str, pid: str) -> str:
    """Hash statement id -> latest vote of one participant (the folded vote state)."""
    return f"{tag(cid)}:pvotes:{pid}"


def counter_key(cid: str, name: str) -> str:
    return f"{tag(cid)}:counter:{name}"


def report_key(cid: str) -> str:
    return f"{tag(cid)}:report"


def priorities_key(cid: str) -> str:
    return f"{tag(cid)}:priorities"


def spent_key(cid: str) -> str:
    return f"{tag(cid)}:spent"
