"""The public surface other parts code against, the error hierarchy, and the system Rng."""

from __future__ import annotations

import tokens
from tokens import errors

# Names issue #2 promised to the issuer, verifier, participation and JS engineers.
PROMISED = {
    "TokenError", "DecodeError", "UnsupportedTokenType", "UnknownKey", "InvalidSignature",
    "ChallengeMismatch", "InvalidKey", "MessageTooLong", "Rng", "SYSTEM_RNG", "Variant",
    "RSABSSA_SHA384_PSS_RANDOMIZED", "RSABSSA_SHA384_PSSZERO_RANDOMIZED",
    "RSABSSA_SHA384_PSS_DETERMINISTIC", "RSABSSA_SHA384_PSSZERO_DETERMINISTIC", "prepare",
    "blind", "blind_sign", "finalize", "verify", "BlindSigner", "generate_private_key",
    "encode_public_key", "decode_public_key", "token_key_id", "truncated_token_key_id",
    "TOKEN_TYPE_BLIND_RSA", "TokenChallenge", "TokenRequest", "TokenResponse", "Token",
    "TokenRequestState", "create_token_request", "finalize_token", "issue_token_response",
    "verify_token", "ChallengeParams", "format_www_authenticate", "parse_www_authenticate",
    "format_authorization", "parse_authorization", "IssuerDirectory", "TokenKey",
}  # fmt: skip


def test_every_promised_name_is_exported() -> None:
    assert not PROMISED - set(tokens.__all__)
    for name in tokens.__all__:
        assert hasattr(tokens, name)


def test_error_hierarchy() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), tokens.TokenError)
    assert issubclass(tokens.UnsupportedTokenType, tokens.DecodeError)
    siblings = [
        tokens.UnknownKey,
        tokens.InvalidSignature,
        tokens.ChallengeMismatch,
        tokens.InvalidKey,
        tokens.MessageTooLong,
    ]
    for error in siblings:
        assert not issubclass(error, tokens.DecodeError)


def test_system_rng() -> None:
    rng: tokens.Rng = tokens.SYSTEM_RNG
    assert len(rng.token_bytes(48)) == 48
    assert rng.token_bytes(32) != rng.token_bytes(32)
    assert {rng.randbelow(3) for _ in range(200)} == {0, 1, 2}
