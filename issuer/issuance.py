"""Issuance: the policy check, the ledger and the blind signature, in that order.

``(consultation, subject_key)`` is recorded in the ledger by one Lua script before the
signature is returned, and the per-person limit is enforced inside that script; when
signing fails afterwards the reservation is released again (RFC 9578 §5.2 issuance;
docs/architecture.md "Issuer side"). The ledger holds a count per person, nothing else.
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
        self._sign = sign
        # EVALSHA with a fallback to EVAL: the script text is not sent on every request.
        self._reserve_script = store.register_script(lua_script("reserve"))
        self._release_script = store.register_script(lua_script("release"))

    def request_uri(self, cid: str) -> str:
        """RFC 9578 §4 issuer-request-uri of one consultation."""
        return f"{self._issuer_url}/c/{cid}/token-request"

    def today(self) -> date:
        return self._clock.now().date()

    async def load(self, cid: str, session: IssuerSession | None) -> Consultation:
        """Policy, keys and panel membership of ``cid``; raises UnknownConsultation."""
        if not CID_PATTERN.fullmatch(cid):
            raise UnknownConsultation()
        pipe = self._store.pipeline(transaction=False)
        pipe.get(policy_key(cid))
        pipe.hgetall(keys_key(cid))
        if session is not None:
            pipe.sismember(panel_key(cid), session.subject_key)
        results = await pipe.execute()
        if results[0] is None:
            raise UnknownConsultation()
        try:
            policy = Policy.model_validate_json(results[0])
        except ValidationError as exc:
            log.error("policy_unreadable", cid=cid)
            raise IssuerUnavailable() from exc
        in_panel = bool(results[2]) if session is not None else False
        return Consultation(cid=cid, policy=policy, keys=parse_keys(results[1]), in_panel=in_panel)

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

    def _parse(
        self, consultation: Consultation, body: bytes
    ) -> tuple[tokens.TokenRequest, IssuerKey]:
        """RFC 9578 §6.2 checks: token type, truncated key id of the current key, size."""
        key = current_key(consultation.keys, self.today())
        if key is None:
            log.error("no_current_key", cid=consultation.cid)
            raise IssuerUnavailable()
        try:
            request = tokens.TokenRequest.from_bytes(body)
        except tokens.DecodeError as exc:
            raise MalformedTokenRequest() from exc
        if request.truncated_token_key_id != key.truncated_token_key_id:
            raise MalformedTokenRequest()
        return request, key

    async def issue(
        self,
        cid: str,
        session: IssuerSession,
        body: bytes,
        *,
        brp_facts: BrpFacts | None = None,
    ) -> bytes:
        """One TokenResponse for one TokenRequest, or an IssuerError saying why not."""
        consultation = await self.load(cid, session)
        self.check(consultation, session, brp_facts)
        request, key = self._parse(consultation, body)
        signer = self._keys.signer(cid, key)
        if int.from_bytes(request.blinded_msg, "big") >= key.modulus:
            raise MalformedTokenRequest()  # RFC 9474 §4.3: blinded_msg must be below n
        await self._reserve(cid, session.subject_key, consultation.policy.tokens_per_person)
        try:
            response = self._sign(signer, request)
        except (tokens.UnknownKey, tokens.MessageTooLong) as exc:
            await self._release(cid, session.subject_key)
            raise MalformedTokenRequest() from exc
        except Exception as exc:
            await self._release(cid, session.subject_key)
            log.error("signing_failed", cid=cid, error=type(exc).__name__)
            raise IssuerUnavailable() from exc
        except BaseException:  # cancelled: nothing may stay half-written
            await self._release(cid, session.subject_key)
            raise
        log.info("token_issued", cid=cid, key_seq=key.seq)
        note("token_issued")
        encoded: bytes = response.to_bytes()
        return encoded

    async def _reserve(self, cid: str, subject_key: str, limit: int) -> None:
        count = await self._reserve_script(keys=[ledger_key(cid)], args=[subject_key, limit])
        if int(count) < 0:
            raise AlreadyIssued()

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
