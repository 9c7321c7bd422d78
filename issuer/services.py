"""Consultation administration on the issuer: policies, key creation and rotation, panels.

Used by the admin API and by ``inspraak issuer`` on the command line alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import structlog
from pydantic import ValidationError

from inspraak.clock import Clock
from inspraak.store import Store
from issuer.errors import IssuerUnavailable, UnknownConsultation
from issuer.keys import IssuerKey, KeyManager, current_key
from issuer.levels import Scheme
from issuer.panel import panel_hashes
from issuer.policy import Policy
from issuer.store import CONSULTATIONS_KEY, lua_script, panel_key, policy_key

__all__ = ["ConsultationAdmin", "ConsultationState"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ConsultationState:
    """A consultation as the admin sees it: policy, keys (newest first), panel size."""

    cid: str
    policy: Policy
    keys: list[IssuerKey]
    current_key_id: str | None
    panel_size: int


class ConsultationAdmin:
    """Creates and changes consultations on the issuer."""

    def __init__(self, *, store: Store, keys: KeyManager, clock: Clock, pepper: bytes) -> None:
        self._store = store
        self._keys = keys
        self._clock = clock
        self._pepper = pepper

    async def consultation_ids(self) -> list[str]:
        members = await self._store.smembers(CONSULTATIONS_KEY)
        return sorted(m.decode() if isinstance(m, bytes) else m for m in members)

    async def policy(self, cid: str) -> Policy:
        raw = await self._store.get(policy_key(cid))
        if raw is None:
            raise UnknownConsultation()
        try:
            return Policy.model_validate_json(raw)
        except ValidationError as exc:
            raise IssuerUnavailable() from exc

    async def put_policy(self, cid: str, policy: Policy) -> ConsultationState:
        """Create or replace the policy; the first key is made when there is none yet."""
        await self._store.set(policy_key(cid), policy.model_dump_json())
        await self._store.sadd(CONSULTATIONS_KEY, cid)
        if not await self._keys.keys(cid):
            await self._keys.create(cid, not_before=self._clock.now().date())
            log.info("issuer_key_created", cid=cid)
        log.info("policy_set", cid=cid)
        return await self.state(cid)

    async def rotate(self, cid: str, *, not_before: date | None = None) -> IssuerKey:
        """A new key, used for issuance from ``not_before`` (default today)."""
        await self.policy(cid)
        key = await self._keys.create(cid, not_before=not_before or self._clock.now().date())
        log.info("issuer_key_rotated", cid=cid, seq=key.seq)
        return key

    async def replace_panel(self, cid: str, hashes: set[str]) -> int:
        """Replace the invited panel with ``hashes`` in one step; returns its size."""
        await self.policy(cid)
        size = await self._store.eval(
            lua_script("replace_panel"), 1, panel_key(cid), *sorted(hashes)
        )
        log.info("panel_replaced", cid=cid, size=int(size))
        return int(size)

    async def replace_panel_from_csv(self, cid: str, text: str, *, scheme: Scheme) -> int:
        """Replace the panel with the identifiers in a CSV; only keyed hashes are stored."""
        await self.policy(cid)
        return await self.replace_panel(cid, panel_hashes(text, scheme=scheme, pepper=self._pepper))

    async def clear_panel(self, cid: str) -> None:
        await self.policy(cid)
        await self._store.delete(panel_key(cid))
        log.info("panel_cleared", cid=cid)

    async def state(self, cid: str) -> ConsultationState:
        policy = await self.policy(cid)
        keys = await self._keys.keys(cid)
        current = current_key(keys, self._clock.now().date())
        size = await self._store.scard(panel_key(cid))
        return ConsultationState(
            cid=cid,
            policy=policy,
            keys=keys,
            current_key_id=current.key_id if current else None,
            panel_size=int(size),
        )
