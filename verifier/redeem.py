"""Redeem a Token for a consultation (RFC 9578 §6.4, RFC 9577 §2.2) and spend it once.

Checks run in this order: consultation open, parse, key id among the consultation's
current keys, then type, challenge digest and RSA-PSS signature (``tokens.verify_token``),
and last the one atomic spend in the store. Each failure raises its own
:mod:`verifier.errors` exception; the log gets only its reason code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from inspraak.metrics import note
from tokens import (
    TOKEN_TYPE_BLIND_RSA,
    ChallengeMismatch,
    DecodeError,
    InvalidKey,
    InvalidSignature,
    Token,
    TokenChallenge,
    UnknownKey,
    verify_token,
)
from verifier.challenge import challenge_for
from verifier.errors import (
    AlreadySpent,
    BadSignature,
    ConsultationClosed,
    GuardChanged,
    Malformed,
    VerifierError,
    WrongChallenge,
    WrongKey,
)
from verifier.interfaces import KeySource
from verifier.keys import VerificationKey
from verifier.store import Attempts, Guard, Record, SpentTokens

if TYPE_CHECKING:
    # Types only (see verifier/keys.py on the import cycle).
    from inspraak.clock import Clock
    from inspraak.settings import Settings
    from inspraak.store import Store

__all__ = ["Redeemer", "Redemption"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Redemption:
    """A successful redemption. It holds nothing of the token: no bytes, nonce or hash."""

    cid: str
    token_key_id: bytes
    """The consultation key the token was signed with (public, shared by all its tokens)."""


class Redeemer:
    """Redeems tokens against one store and one key source.

    Each outcome is logged (``token_redeemed``, ``token_refused`` with its reason) unless
    ``log_outcomes`` is False: a caller that logs its own event per redemption (participation's
    join) then does not pay for two.
    """

    def __init__(
        self,
        *,
        store: Store,
        key_source: KeySource,
        clock: Clock,
        settings: Settings,
        log_outcomes: bool = True,
    ) -> None:
        self._spent = SpentTokens(store)
        self._log_outcomes = log_outcomes
        self.key_source = key_source
        self._clock = clock
        self._settings = settings
        self._skew = timedelta(seconds=settings.verifier.clock_skew_seconds)
        self._grace = timedelta(seconds=settings.verifier.spent_grace_seconds)

    def challenge(self, cid: str) -> TokenChallenge:
        """The consultation's challenge as this service issues it (from the settings)."""
        return challenge_for(self._settings, cid)

    async def current_keys(self, cid: str) -> list[VerificationKey]:
        """The consultation's keys that are valid now (for ``WWW-Authenticate``).

        Raises:
            KeysUnavailable: the key source could not answer.
        """
        now = self._clock.now()
        return [key for key in await self.key_source.keys(cid) if key.is_current(now)]

    async def redeem(
        self,
        cid: str,
        token: bytes | Token,
        *,
        challenge: TokenChallenge | None = None,
        closes_at: datetime | None = None,
        record: Record | None = None,
        guard: Guard | None = None,
        attempts: Attempts | None = None,
    ) -> Redemption:
        """Verify ``token`` for ``cid`` and mark it spent; succeeds once per token.

        ``challenge`` defaults to :meth:`challenge`; ``closes_at`` (the consultation's close,
        if the caller knows it) refuses late redemptions and bounds the spent set's life.
        ``record``, ``guard`` and ``attempts`` go to the same atomic step as the spend
        (:meth:`verifier.store.SpentTokens.spend`): the record is written only with the
        spend, a guard that does not hold or a full attempt counter stops everything.

        Raises:
            ConsultationClosed: ``closes_at`` has passed (checked before the token).
            Malformed, WrongKey, BadSignature, WrongChallenge, AlreadySpent: refused.
            GuardChanged, TooManyAttempts: nothing written (only with a guard or attempts).
            StoreUnavailable, KeysUnavailable: undecided; the token is not spent.
        """
        try:
            redemption = await self._redeem(
                cid,
                token,
                challenge=challenge,
                closes_at=closes_at,
                record=record,
                guard=guard,
                attempts=attempts,
            )
        except VerifierError as exc:
            if self._log_outcomes and not isinstance(exc, GuardChanged):
                log.info("token_refused", cid=cid, reason=exc.reason)
            if isinstance(exc, AlreadySpent):
                note("double_spend")
            raise
        if self._log_outcomes:
            log.info("token_redeemed", cid=cid)
        note("token_redeemed")
        return redemption

    async def _redeem(
        self,
        cid: str,
        token: bytes | Token,
        *,
        challenge: TokenChallenge | None,
        closes_at: datetime | None,
        record: Record | None,
        guard: Guard | None,
        attempts: Attempts | None,
    ) -> Redemption:
        now = self._clock.now()
        if closes_at is not None and now >= closes_at:
            raise ConsultationClosed
        token = _parse(token)
        keys = await self.key_source.keys(cid)
        key = _current_key(keys, token.token_key_id, now, self._skew)
        try:
            verify_token(token, key.public_key, challenge=challenge or self.challenge(cid))
        except DecodeError as exc:  # UnsupportedTokenType, for the challenge's type
            raise Malformed from exc
        except (UnknownKey, InvalidKey) as exc:
            raise WrongKey from exc
        except ChallengeMismatch as exc:
            raise WrongChallenge from exc
        except InvalidSignature as exc:
            raise BadSignature from exc
        expire_at = _spent_expiry(keys, closes_at)
        if expire_at is not None:
            expire_at += self._grace
        spent = await self._spent.spend(
            cid,
            token.to_bytes(),
            expire_at=expire_at,
            record=record,
            guard=guard,
            attempts=attempts,
        )
        if not spent:
            raise AlreadySpent
        return Redemption(cid=cid, token_key_id=key.token_key_id)


def _parse(token: bytes | Token) -> Token:
    if isinstance(token, Token):
        return token
    try:
        parsed = Token.from_bytes(token)
    except DecodeError as exc:
        raise Malformed from exc
    if parsed.token_type != TOKEN_TYPE_BLIND_RSA:
        raise Malformed
    return parsed


def _current_key(
    keys: Sequence[VerificationKey], token_key_id: bytes, now: datetime, skew: timedelta
) -> VerificationKey:
    for key in keys:
        if key.token_key_id == token_key_id:
            if key.is_current(now, skew=skew):
                return key
            raise WrongKey
    raise WrongKey


def _spent_expiry(keys: Sequence[VerificationKey], closes_at: datetime | None) -> datetime | None:
    """When the spent set may go: the close, or when the last key retires; else never."""
    if closes_at is not None:
        return closes_at
    ends = [key.not_after for key in keys]
    if ends and all(end is not None for end in ends):
        return max(end for end in ends if end is not None)
    return None
