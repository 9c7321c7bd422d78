"""Why a redemption failed, precisely inside and as one answer outside.

Inside, every check raises its own exception (tests assert the exact type); at the edge
every token failure becomes one 401 answer and only ``reason`` goes to the log, so the
answer is no oracle for which check failed (STYLE.md §5)::

    VerifierError
    ├── RedemptionError            the token is refused (401, one outward answer)
    │   ├── Malformed              not a Token of type 0x0002, or no token at all
    │   ├── WrongKey               key id not among the consultation's current keys
    │   ├── BadSignature           RSA-PSS authenticator does not verify
    │   ├── WrongChallenge         challenge_digest is not this service's challenge
    │   └── AlreadySpent           the token was redeemed before
    ├── ConsultationClosed         the consultation has closed (403; public knowledge,
    │                              checked before the token is looked at)
    ├── GuardChanged               a caller's guarded record no longer holds what it read:
    │                              nothing was written, read it again and retry
    ├── TooManyAttempts            a caller's attempt counter is at its limit (nothing
    │                              written; the caller answers 429)
    └── VerifierUnavailable        we cannot decide, so we refuse (503, fail closed)
        ├── StoreUnavailable       the store did not answer
        └── KeysUnavailable        the issuer directory could not be fetched
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import HTTPException

__all__ = [
    "PROBLEM_JSON",
    "AlreadySpent",
    "BadSignature",
    "ConsultationClosed",
    "GuardChanged",
    "KeysUnavailable",
    "Malformed",
    "ProblemResponse",
    "RedemptionError",
    "StoreUnavailable",
    "TooManyAttempts",
    "VerifierError",
    "VerifierUnavailable",
    "WrongChallenge",
    "WrongKey",
    "problem_for",
]

PROBLEM_JSON = "application/problem+json"
"""RFC 9457 media type of every error body."""


class VerifierError(Exception):
    """Base of every verifier failure; ``reason`` is the only thing logged."""

    reason: ClassVar[str] = "error"


class RedemptionError(VerifierError):
    """The token is refused; outward this is always the same 401 answer."""

    reason = "refused"


class Malformed(RedemptionError):
    reason = "malformed"


class WrongKey(RedemptionError):
    reason = "wrong_key"


class BadSignature(RedemptionError):
    reason = "bad_signature"


class WrongChallenge(RedemptionError):
    reason = "wrong_challenge"


class AlreadySpent(RedemptionError):
    reason = "already_spent"


class ConsultationClosed(VerifierError):
    reason = "consultation_closed"


class GuardChanged(VerifierError):
    """The spend's guard (:class:`verifier.store.Guard`) did not hold; nothing was written."""

    reason = "guard_changed"


class TooManyAttempts(VerifierError):
    """The spend's attempt counter (:class:`verifier.store.Attempts`) is full; nothing was
    written. ``current`` and ``previous`` are the two windows' counts the script saw."""

    reason = "too_many_attempts"

    def __init__(self, current: int, previous: int) -> None:
        super().__init__(current, previous)
        self.current = current
        self.previous = previous


class VerifierUnavailable(VerifierError):
    reason = "unavailable"


class StoreUnavailable(VerifierUnavailable):
    reason = "store_unavailable"


class KeysUnavailable(VerifierUnavailable):
    reason = "keys_unavailable"


RETRY_AFTER_SECONDS = 5
"""Retry-After on 503: the store or the issuer is expected back within seconds."""

_REFUSED = {
    "status": 401,
    "title": "Toegangsbewijs niet geaccepteerd / Access token not accepted",
    "detail": (
        "Uw toegangsbewijs is niet geldig of al gebruikt. Log opnieuw in om een nieuw "
        "bewijs te krijgen. / Your access token is not valid or was already used. "
        "Log in again to get a new one."
    ),
    "type": "urn:inspraak:problem:token-refused",
}
_CLOSED = {
    "status": 403,
    "title": "Raadpleging gesloten / Consultation closed",
    "detail": (
        "Deze raadpleging is gesloten. U kunt niet meer meedoen. / "
        "This consultation has closed. You can no longer take part."
    ),
    "type": "urn:inspraak:problem:consultation-closed",
}
_UNAVAILABLE = {
    "status": 503,
    "title": "Tijdelijk niet beschikbaar / Temporarily unavailable",
    "detail": (
        "We kunnen uw toegangsbewijs nu niet controleren. Probeer het over een paar "
        "minuten opnieuw. Uw bewijs is niet gebruikt. / We cannot check your access token "
        "right now. Please try again in a few minutes. Your token has not been used."
    ),
    "type": "urn:inspraak:problem:verifier-unavailable",
}


def problem_for(error: VerifierError) -> dict[str, Any]:
    """The one outward problem body (RFC 9457) for ``error``: it never names the check."""
    if isinstance(error, ConsultationClosed):
        return dict(_CLOSED)
    if isinstance(error, VerifierUnavailable):
        return dict(_UNAVAILABLE)
    return dict(_REFUSED)


class ProblemResponse(HTTPException):
    """An HTTP error carrying a problem body; rendered as problem+json by
    :func:`verifier.install_error_handlers`, and as ``{"detail": problem}`` without it."""

    def __init__(self, problem: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        if int(problem["status"]) == 503:  # RFC 9110 §10.2.3: tell clients when to retry
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
        super().__init__(status_code=int(problem["status"]), detail=problem, headers=headers)
        self.problem = problem
