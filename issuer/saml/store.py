"""SAML store keys (docs/architecture.md): outstanding requests, replay cache, artifacts.

Every change touches one key, so no Lua script is needed: a request id is taken with
GETDEL (one use), an assertion id is recorded with SET NX until its NotOnOrAfter.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspraak.store import Store

__all__ = [
    "PendingRequest",
    "artifact_key",
    "assertion_key",
    "record_assertion",
    "remember_request",
    "request_key",
    "take_request",
]

# SAML IDs are xs:ID (NCName); we accept the safe subset and refuse the rest before use.
_SAFE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
_SAFE_HANDLE = re.compile(r"^[0-9a-f]{40}$")


def _checked_id(value: str) -> str:
    if not _SAFE_ID.fullmatch(value):
        raise ValueError("not a usable SAML ID")
    return value


def request_key(request_id: str) -> str:
    """``iss:saml:request:<id>``: an AuthnRequest we sent and have not seen answered."""
    return f"iss:saml:request:{_checked_id(request_id)}"


def assertion_key(assertion_id: str) -> str:
    """``iss:saml:assertion:<id>``: an assertion already used, kept until its NotOnOrAfter."""
    return f"iss:saml:assertion:{_checked_id(assertion_id)}"


def artifact_key(message_handle_hex: str) -> str:
    """``iss:saml:artifact:<handle>``: dev IdP only, a Response waiting for ArtifactResolve."""
    if not _SAFE_HANDLE.fullmatch(message_handle_hex):
        raise ValueError("not an artifact message handle")
    return f"iss:saml:artifact:{message_handle_hex}"


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """What we remember about an AuthnRequest until its Response arrives."""

    scheme: str
    minimum_level: str
    next_path: str


async def remember_request(
    store: Store, request_id: str, pending: PendingRequest, *, ttl_seconds: int
) -> None:
    """Record an outstanding AuthnRequest for ``ttl_seconds``."""
    await store.set(request_key(request_id), json.dumps(asdict(pending)), ex=ttl_seconds)


async def take_request(store: Store, request_id: str) -> PendingRequest | None:
    """Remove and return the outstanding request, or None if unknown, expired or used."""
    raw = await store.getdel(request_key(request_id))
    if raw is None:
        return None
    data = json.loads(raw)
    return PendingRequest(data["scheme"], data["minimum_level"], data["next_path"])


async def record_assertion(store: Store, assertion_id: str, *, ttl_ms: int) -> bool:
    """Mark an assertion id used; False if it was used before (a replay)."""
    done = await store.set(assertion_key(assertion_id), "1", nx=True, px=max(ttl_ms, 1))
    return bool(done)
