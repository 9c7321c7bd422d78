"""Issuance: the policy check, the ledger and the blind signature, in that order.

``(consultation, subject_key)`` is recorded in the ledger by one Lua script before the
signature is returned, and the per-person limit is enforced inside that script; when
signing fails afterwards the reservation is released again (RFC 9578 §5.2 issuance;
docs/architecture.md "Issuer side"). The ledger holds a count per person, nothing else.

A request is checked against the policy and keys the service last read, and the same
script records it only while those are still the stored ones, so a token usually costs
one store round trip. A refusal or a change is decided again on a fresh read: no answer
rests on an old copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import structlog
from pydantic import ValidationError

import tokens
from inspraak.clock import Clock
from inspraak.metrics import note
from inspraak.store import Store
from issuer.errors import (
    AlreadyIssued,
    ConsultationClosed,
    IneligibleReason,
    IssuerError,
    IssuerUnavailable,
    MalformedTokenRequest,
    NotEligible,
    UnknownConsultation,
)
from issuer.keys import IssuerKey, KeyManager, current_key, parse_keys
from issuer.policy import BrpFacts, Policy, check_policy, is_closed
from issuer.session import IssuerSession
from issuer.store import (
    CID_PATTERN,
    CONSULTATIONS_KEY,
    keys_key,
    ledger_key,
    lua_script,
    panel_key,
    policy_key,
)

__all__ = ["Consultation", "EligibilityEntry", "IssuanceService", "Signer"]

log = structlog.get_logger(__name__)

Signer = Callable[[tokens.BlindSigner, tokens.TokenRequest], tokens.TokenResponse]
"""``issue_token_response(signer, token_request) -> TokenResponse`` (RFC 9578 §6.3)."""


@dataclass(frozen=True, slots=True)
class Consultation:
    """What issuance reads of one consultation in one round trip."""

    cid: str
    policy: Policy
    keys: list[IssuerKey]
    in_panel: bool


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """A consultation's policy (as stored, and parsed) and keys, as last read."""

    policy_json: bytes
    policy: Policy
    keys: list[IssuerKey]


@dataclass(frozen=True, slots=True)
class _Admitted:
    """A TokenRequest that passed every check before the ledger, and what signs it."""

    request: tokens.TokenRequest
    key: IssuerKey
    signer: tokens.BlindSigner


class _NoCurrentKey(IssuerUnavailable):
    """No key of the consultation may sign today (503, logged once on a fresh read)."""


# Answers of reserve.lua besides the new count.
_ALREADY_ISSUED = -1
_NOT_IN_PANEL = -2
_CHANGED = -3
# Fresh reads before giving up (503) while the policy or keys keep changing underneath.
_FRESH_ATTEMPTS = 3
# Snapshots kept (one per consultation that exists); the cache starts over beyond this.
_MAX_SNAPSHOTS = 4096


@dataclass(frozen=True, slots=True)
class EligibilityEntry:
    """Whether the current session may still get a token for one open consultation."""

    consultation: str
    eligible: bool
    reason: str | None
    remaining: int


class IssuanceService:
    """Checks a session against a consultation's policy, records it, and signs."""

    def __init__(
        self,
        *,
        store: Store,
        keys: KeyManager,
        clock: Clock,
        issuer_url: str,
        sign: Signer = tokens.issue_token_response,
    ) -> None:
        self._issuer_url = issuer_url.rstrip("/")
        self._store = store
        self._keys = keys
        self._clock = clock
        self._sign_request = sign
        # EVALSHA with a fallback to EVAL: the script text is not sent on every request.
        self._reserve_script = store.register_script(lua_script("reserve"))
        self._release_script = store.register_script(lua_script("release"))
        self._snapshots: dict[str, _Snapshot] = {}

    def request_uri(self, cid: str) -> str:
        """RFC 9578 §4 issuer-request-uri of one consultation."""
        return f"{self._issuer_url}/c/{cid}/token-request"

    def today(self) -> date:
        return self._clock.now().date()

    async def load(self, cid: str, session: IssuerSession | None) -> Consultation:
        """Policy, keys and panel membership of ``cid``; raises UnknownConsultation."""
        consultation, _ = await self._read(cid, session)
        return consultation

    async def _read(
        self, cid: str, session: IssuerSession | None
    ) -> tuple[Consultation, _Snapshot]:
        """One round trip for policy, keys and panel membership; keeps the snapshot."""
        if not CID_PATTERN.fullmatch(cid):
            raise UnknownConsultation()
        pipe = self._store.pipeline(transaction=False)
        pipe.get(policy_key(cid))
        pipe.hgetall(keys_key(cid))
        if session is not None:
            pipe.sismember(panel_key(cid), session.subject_key)
        results = await pipe.execute()
        policy_json: bytes | None = results[0]
        if policy_json is None:
            self._snapshots.pop(cid, None)
            raise UnknownConsultation()
        try:
            policy = Policy.model_validate_json(policy_json)
        except ValidationError as exc:
            log.error("policy_unreadable", cid=cid)
            raise IssuerUnavailable() from exc
        snapshot = _Snapshot(policy_json=policy_json, policy=policy, keys=parse_keys(results[1]))
        if cid not in self._snapshots and len(self._snapshots) >= _MAX_SNAPSHOTS:
            self._snapshots.clear()
        self._snapshots[cid] = snapshot
        in_panel = bool(results[2]) if session is not None else False
        consultation = Consultation(cid=cid, policy=policy, keys=snapshot.keys, in_panel=in_panel)
        return consultation, snapshot

    def check(
        self, consultation: Consultation, session: IssuerSession, brp_facts: BrpFacts | None
    ) -> None:
        """Raise ConsultationClosed or NotEligible when this session may not get a token."""
        if is_closed(consultation.policy, self.today()):
            raise ConsultationClosed()
        check_policy(
            consultation.policy,
            scheme=session.scheme,
            level=session.level,
            in_panel=consultation.in_panel,
            brp_facts=brp_facts,
        )

    def _admit(
        self,
        consultation: Consultation,
        session: IssuerSession,
        body: bytes,
        brp_facts: BrpFacts | None,
    ) -> _Admitted:
        """Every check before the ledger, in the order their answers take precedence.

        Policy, then RFC 9578 §6.2 (token type, truncated key id of the current key, size),
        then RFC 9474 §4.3 (blinded_msg below n).
        """
        self.check(consultation, session, brp_facts)
        key = current_key(consultation.keys, self.today())
        if key is None:
            raise _NoCurrentKey()
        try:
            request = tokens.TokenRequest.from_bytes(body)
        except tokens.DecodeError as exc:
            raise MalformedTokenRequest() from exc
        if request.truncated_token_key_id != key.truncated_token_key_id:
            raise MalformedTokenRequest()
        signer = self._keys.signer(consultation.cid, key)
        if int.from_bytes(request.blinded_msg, "big") >= key.modulus:
            raise MalformedTokenRequest()
        return _Admitted(request=request, key=key, signer=signer)

    async def issue(
        self,
        cid: str,
        session: IssuerSession,
        body: bytes,
        *,
        brp_facts: BrpFacts | None = None,
    ) -> bytes:
        """One TokenResponse for one TokenRequest, or an IssuerError saying why not."""
        if not CID_PATTERN.fullmatch(cid):
            raise UnknownConsultation()
        snapshot = self._snapshots.get(cid)
        if snapshot is not None:
            # Panel membership is left to the ledger script: only a request that passes
            # every other check gets there. Any refusal is decided again on a fresh read.
            cached = Consultation(
                cid=cid, policy=snapshot.policy, keys=snapshot.keys, in_panel=True
            )
            try:
                admitted = self._admit(cached, session, body, brp_facts)
            except IssuerError:
                pass
            else:
                if await self._reserve(cid, snapshot, admitted.key, session.subject_key):
                    return await self._sign(cid, session.subject_key, admitted)
        for _ in range(_FRESH_ATTEMPTS):
            consultation, snapshot = await self._read(cid, session)
            try:
                admitted = self._admit(consultation, session, body, brp_facts)
            except _NoCurrentKey:
                log.error("no_current_key", cid=cid)
                raise
            if await self._reserve(cid, snapshot, admitted.key, session.subject_key):
                return await self._sign(cid, session.subject_key, admitted)
        log.error("policy_keeps_changing", cid=cid)
        raise IssuerUnavailable()

    async def _reserve(
        self, cid: str, snapshot: _Snapshot, key: IssuerKey, subject_key: str
    ) -> bool:
        """Record the issuance; False when the policy or keys are no longer ``snapshot``."""
        policy = snapshot.policy
        answer = int(
            await self._reserve_script(
                keys=[ledger_key(cid), policy_key(cid), keys_key(cid), panel_key(cid)],
                args=[
                    subject_key,
                    policy.tokens_per_person,
                    snapshot.policy_json,
                    len(snapshot.keys),
                    key.key_id,
                    "1" if policy.panel else "0",
                ],
            )
        )
        if answer == _CHANGED:
            return False
        if answer == _ALREADY_ISSUED:
            raise AlreadyIssued()
        if answer == _NOT_IN_PANEL:
            raise NotEligible(IneligibleReason.NOT_IN_PANEL)
        return True

    async def _sign(self, cid: str, subject_key: str, admitted: _Admitted) -> bytes:
        """Sign a reserved request; release the reservation when signing fails."""
        try:
            response = self._sign_request(admitted.signer, admitted.request)
        except (tokens.UnknownKey, tokens.MessageTooLong) as exc:
            await self._release(cid, subject_key)
            raise MalformedTokenRequest() from exc
        except Exception as exc:
            await self._release(cid, subject_key)
            log.error("signing_failed", cid=cid, error=type(exc).__name__)
            raise IssuerUnavailable() from exc
        except BaseException:  # cancelled: nothing may stay half-written
            await self._release(cid, subject_key)
            raise
        log.info("token_issued", cid=cid, key_seq=admitted.key.seq)
        note("token_issued")
        encoded: bytes = response.to_bytes()
        return encoded

    async def _release(self, cid: str, subject_key: str) -> None:
        try:
            await self._release_script(keys=[ledger_key(cid)], args=[subject_key])
        except Exception as exc:
            # The person loses one token; nothing else is left behind.
            log.error("ledger_release_failed", cid=cid, error=type(exc).__name__)

    async def issue_many(
        self,
        session: IssuerSession,
        items: list[tuple[str, bytes | None]],
        *,
        brp_facts: BrpFacts | None = None,
    ) -> list[bytes | IssuerError]:
        """Issue per item; each succeeds or fails on its own (None: an unreadable request)."""
        results: list[bytes | IssuerError] = []
        for cid, body in items:
            try:
                if body is None:
                    raise MalformedTokenRequest()
                results.append(await self.issue(cid, session, body, brp_facts=brp_facts))
            except IssuerError as exc:
                results.append(exc)
        return results

    async def issued(self, cid: str, subject_key: str) -> int:
        count = await self._store.hget(ledger_key(cid), subject_key)
        return int(count or 0)

    async def eligibility(
        self, session: IssuerSession, *, brp_facts: BrpFacts | None = None
    ) -> list[EligibilityEntry]:
        """For every open consultation: may this session still get a token?"""
        members = await self._store.smembers(CONSULTATIONS_KEY)
        cids = sorted(m.decode() if isinstance(m, bytes) else m for m in members)
        entries: list[EligibilityEntry] = []
        for cid in cids:
            try:
                consultation = await self.load(cid, session)
            except UnknownConsultation:
                continue
            if is_closed(consultation.policy, self.today()):
                continue
            limit = consultation.policy.tokens_per_person
            remaining = max(0, limit - await self.issued(cid, session.subject_key))
            reason: str | None = None
            try:
                self.check(consultation, session, brp_facts)
            except NotEligible as exc:
                reason = exc.reason.value
            if reason is None and remaining == 0:
                reason = AlreadyIssued.code
            entries.append(
                EligibilityEntry(
                    consultation=cid,
                    eligible=reason is None,
                    reason=reason,
                    remaining=remaining if reason is None else 0,
                )
            )
        return entries
