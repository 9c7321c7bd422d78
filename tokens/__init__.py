"""Privacy Pass and RSA blind signatures (RFC 9474, 9577, 9578): the pure protocol core.

Safe recipes live here; the raw RFC 9474 steps with caller-chosen randomness are in
``tokens.hazmat``, which services never import.
"""

from ._directory import MEDIA_TYPE_ISSUER_DIRECTORY, IssuerDirectory, TokenKey
from ._headers import (
    ChallengeParams,
    format_authorization,
    format_www_authenticate,
    parse_authorization,
    parse_www_authenticate,
)
from ._keys import decode_public_key, encode_public_key, token_key_id, truncated_token_key_id
from ._protocol import (
    TokenRequestState,
    create_token_request,
    finalize_token,
    issue_token_response,
    verify_token,
)
from ._rng import SYSTEM_RNG, Rng
from ._variant import (
    RSABSSA_SHA384_PSS_DETERMINISTIC,
    RSABSSA_SHA384_PSS_RANDOMIZED,
    RSABSSA_SHA384_PSSZERO_DETERMINISTIC,
    RSABSSA_SHA384_PSSZERO_RANDOMIZED,
    Variant,
)
from ._wire import TOKEN_TYPE_BLIND_RSA, Token, TokenChallenge, TokenRequest, TokenResponse
from .blindrsa import (
    BlindSigner,
    blind,
    blind_sign,
    finalize,
    generate_private_key,
    prepare,
    verify,
)
from .errors import (
    ChallengeMismatch,
    DecodeError,
    InvalidKey,
    InvalidSignature,
    MessageTooLong,
    TokenError,
    UnknownKey,
    UnsupportedTokenType,
)

__all__ = [
    "MEDIA_TYPE_ISSUER_DIRECTORY",
    "RSABSSA_SHA384_PSSZERO_DETERMINISTIC",
    "RSABSSA_SHA384_PSSZERO_RANDOMIZED",
    "RSABSSA_SHA384_PSS_DETERMINISTIC",
    "RSABSSA_SHA384_PSS_RANDOMIZED",
    "SYSTEM_RNG",
    "TOKEN_TYPE_BLIND_RSA",
    "BlindSigner",
    "ChallengeMismatch",
    "ChallengeParams",
    "DecodeError",
    "InvalidKey",
    "InvalidSignature",
    "IssuerDirectory",
    "MessageTooLong",
    "Rng",
    "Token",
    "TokenChallenge",
    "TokenError",
    "TokenKey",
    "TokenRequest",
    "TokenRequestState",
    "TokenResponse",
    "UnknownKey",
    "UnsupportedTokenType",
    "Variant",
    "blind",
    "blind_sign",
    "create_token_request",
    "decode_public_key",
    "encode_public_key",
    "finalize",
    "finalize_token",
    "format_authorization",
    "format_www_authenticate",
    "generate_private_key",
    "issue_token_response",
    "parse_authorization",
    "parse_www_authenticate",
    "prepare",
    "token_key_id",
    "truncated_token_key_id",
    "verify",
    "verify_token",
]
