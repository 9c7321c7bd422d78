"""Store key builders for the participation side: the only place key names are made.

Every key of one consultation carries the hash tag ``{c:<cid>}`` so that every Lua script
touches one Valkey/Redis Cluster slot (docs/architecture.md). The tag and the spent-token
set, which the stand-alone verifier writes too, come from ``inspraak.keyspace``.
"""

from __future__ import annotations

from inspraak.keyspace import spent_key, tag

__all__ = [
    "CONSULTATIONS_KEY",
    "api_key_key",
    "audit_key",
    "client_rate_key",
    "consultation_key",
    "counter_key",
    "participant_key",
    "participant_votes_key",
    "priorities_key",
    "queue_key",
    "rate_key",
    "report_key",
    "spent_key",
    "statement_key",
    "statement_texts_key",
    "statements_key",
    "tag",
    "visible_key",
    "votes_stream_key",
]

CONSULTATIONS_KEY = "consultations"
"""Zset of every consultation id (score: opening day), open and closed."""


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


def visible_key(cid: str) -> str:
    """Set of the statement ids participants may see and vote on (status ``approved``)."""
    return f"{tag(cid)}:visible"


def queue_key(cid: str) -> str:
    """Zset of statement ids waiting for a moderator's review (score: sid)."""
    return f"{tag(cid)}:queue"


def statement_texts_key(cid: str) -> str:
    """Hash SHA-256(normalised text) -> sid, for exact-duplicate detection."""
    return f"{tag(cid)}:statement-texts"


def audit_key(cid: str) -> str:
    """List of moderator actions (JSON), oldest first."""
    return f"{tag(cid)}:audit"


def rate_key(cid: str, kind: str, pid: str, window: int) -> str:
    """Expiring counter of one participant's actions of one kind in one time window."""
    return f"{tag(cid)}:rate:{kind}:{pid}:{window}"


def client_rate_key(cid: str, client_hash: str, window: int) -> str:
    """Expiring counter of one client's join attempts in one consultation, keyed by a keyed
    hash of its address (the consultation's hash tag: the join's spend script counts it)."""
    return f"{tag(cid)}:join:{client_hash}:{window}"


def api_key_key(key_hash: str) -> str:
    """Hash of one organiser API key (name, organisation, role), by SHA-256 of the key."""
    return f"apikey:{key_hash}"
