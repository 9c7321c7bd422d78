"""Store key names that more than one service writes: the consultation's hash tag and its
spent-token set.

The participation service names all its keys in ``participation.store``; the verifier
spends tokens into the same set, so the two names live here, where the verifier can reach
them without loading the participation service (docs/architecture.md, "Spent tokens").
"""

from __future__ import annotations

__all__ = ["spent_key", "tag"]


def tag(cid: str) -> str:
    """The hash tag every key of one consultation carries: one Valkey/Redis Cluster slot."""
    return "{c:" + cid + "}"


def spent_key(cid: str) -> str:
    """Set of SHA-256 hashes of the consultation's spent tokens (verifier and joins)."""
    return f"{tag(cid)}:spent"
