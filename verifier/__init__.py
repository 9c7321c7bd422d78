"""Token redemption: signature check, double-spend prevention, the RFC 9577 challenge flow.

Use it as a library (:class:`Redeemer`, the :class:`PrivateTokenAuth` FastAPI dependency)
or as a small service (:func:`create_app`, ``inspraak serve verifier``).
"""

from verifier.auth import (
    PrivateTokenAuth,
    install_error_handlers,
    redeemer_from_state,
    refusal,
    www_authenticate,
)
from verifier.challenge import (
    challenge_for,
    consultation_challenge,
    host_of,
    issuer_name_for,
    origin_for,
    redemption_context,
)
from verifier.errors import (
    AlreadySpent,
    BadSignature,
    ConsultationClosed,
    GuardChanged,
    KeysUnavailable,
    Malformed,
    ProblemResponse,
    RedemptionError,
    StoreUnavailable,
    TooManyAttempts,
    VerifierError,
    VerifierUnavailable,
    WrongChallenge,
    WrongKey,
    problem_for,
)
from verifier.interfaces import KeySource
from verifier.keys import (
    DirectoryKeySource,
    StaticKeySource,
    VerificationKey,
    directory_url,
    keys_from_directory,
    open_key_source,
)
from verifier.redeem import Redeemer, Redemption
from verifier.store import Attempts, Guard, SpentTokens, spent_set_key, token_hash

__all__ = [
    "AlreadySpent",
    "Attempts",
    "BadSignature",
    "ConsultationClosed",
    "DirectoryKeySource",
    "Guard",
    "GuardChanged",
    "KeySource",
    "KeysUnavailable",
    "Malformed",
    "PrivateTokenAuth",
    "ProblemResponse",
    "Redeemer",
    "Redemption",
    "RedemptionError",
    "SpentTokens",
    "StaticKeySource",
    "StoreUnavailable",
    "TooManyAttempts",
    "VerificationKey",
    "VerifierError",
    "VerifierUnavailable",
    "WrongChallenge",
    "WrongKey",
    "challenge_for",
    "consultation_challenge",
    "create_app",
    "directory_url",
    "host_of",
    "install_error_handlers",
    "issuer_name_for",
    "keys_from_directory",
    "open_key_source",
    "origin_for",
    "problem_for",
    "redeemer_from_state",
    "redemption_context",
    "refusal",
    "spent_set_key",
    "token_hash",
    "www_authenticate",
]

# Last, after every name above is bound: the app imports inspraak, whose settings import
# participation, which imports those names from this package while it initialises.
from verifier.app import create_app
