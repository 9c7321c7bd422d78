"""Privacy Pass issuance and redemption for token type 0x0002 (RFC 9578 §6, RFC 9577 §2.2).

Client: ``create_token_request`` then ``finalize_token``. Issuer: ``issue_token_response``.
Origin: ``verify_token``. Each check raises; none returns a boolean.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from ._keycheck import check_public_key, modulus_len
from ._keys import token_key_id, truncated_token_key_id
from ._rng import SYSTEM_RNG, Rng
from ._variant import RSABSSA_SHA384_PSS_DETERMINISTIC
from ._wire import (
    NK,
    NONCE_LEN,
    TOKEN_TYPE_BLIND_RSA,
    Token,
    TokenChallenge,
    TokenRequest,
    TokenResponse,
)
from .blindrsa import BlindSigner, blind, finalize, verify
from .errors import ChallengeMismatch, InvalidKey, UnknownKey, UnsupportedTokenType

__all__ = [
    "TokenRequestState",
    "create_token_request",
    "finalize_token",
    "issue_token_response",
    "verify_token",
]

# RFC 9578 §6: token type 0x0002 uses RSABSSA-SHA384-PSS-Deterministic.
_VARIANT = RSABSSA_SHA384_PSS_DETERMINISTIC


def _check_token_key(public_key: rsa.RSAPublicKey) -> None:
    n, _ = check_public_key(public_key)
    if modulus_len(n) != NK:
        raise InvalidKey("token type 0x0002 needs a 2048-bit RSA key")


def _check_challenge_type(challenge: TokenChallenge) -> None:
    if challenge.token_type != TOKEN_TYPE_BLIND_RSA:
        raise UnsupportedTokenType(f"token type {challenge.token_type:#06x} is not supported")


@dataclass(frozen=True, slots=True)
class TokenRequestState:
    """What the client keeps between TokenRequest and TokenResponse. Secret: never log it."""

    public_key: rsa.RSAPublicKey = field(repr=False)
    token_input: bytes = field(repr=False)
    inv: bytes = field(repr=False)


def create_token_request(
    public_key: rsa.RSAPublicKey, challenge: TokenChallenge, *, rng: Rng = SYSTEM_RNG
) -> tuple[TokenRequest, TokenRequestState]:
    """RFC 9578 §6.1 client: a fresh nonce, the token_input, blinded for the issuer.

    Raises:
        InvalidKey: not a 2048-bit RSA key with e = 65537.
        UnsupportedTokenType: the challenge is not for token type 0x0002.
    """
    _check_token_key(public_key)
    _check_challenge_type(challenge)
    nonce = rng.token_bytes(NONCE_LEN)
    key_id = token_key_id(public_key)
    # token_input = concat(0x0002, nonce, challenge_digest, token_key_id)
    token_input = struct.pack(">H", TOKEN_TYPE_BLIND_RSA) + nonce + challenge.digest() + key_id
    # blinded_msg, blind_inv = Blind(pkI, PrepareIdentity(token_input))
    blinded_msg, inv = blind(_VARIANT, public_key, token_input, rng=rng)
    request = TokenRequest(TOKEN_TYPE_BLIND_RSA, truncated_token_key_id(key_id), blinded_msg)
    return request, TokenRequestState(public_key, token_input, inv)


def finalize_token(state: TokenRequestState, response: TokenResponse) -> Token:
    """RFC 9578 §6.3 client: unblind the TokenResponse into a Token (verified on the way).

    Raises:
        InvalidSignature: the issuer's response does not give a valid signature.
    """
    authenticator = finalize(
        _VARIANT, state.public_key, state.token_input, response.blind_sig, state.inv
    )
    return Token.from_bytes(state.token_input + authenticator)


def issue_token_response(
    signer: rsa.RSAPrivateKey | BlindSigner, request: TokenRequest
) -> TokenResponse:
    """RFC 9578 §6.2 issuer: blind-sign a TokenRequest made for this key.

    Build the ``BlindSigner`` once per key; an ``RSAPrivateKey`` is converted on each call.

    Raises:
        InvalidKey: the signing key is not a 2048-bit RSA key with e = 65537.
        UnsupportedTokenType: the request is for another token type.
        UnknownKey: truncated_token_key_id names another key.
        MessageTooLong: blinded_msg is not below n.
        InvalidSignature: the signature failed its own check (a fault; nothing is returned).
    """
    if not isinstance(signer, BlindSigner):
        signer = BlindSigner(signer)
    _check_token_key(signer.public_key)
    if request.token_type != TOKEN_TYPE_BLIND_RSA:
        raise UnsupportedTokenType(f"token type {request.token_type:#06x} is not supported")
    expected = truncated_token_key_id(token_key_id(signer.public_key))
    if request.truncated_token_key_id != expected:
        raise UnknownKey("truncated_token_key_id does not match the signing key")
    return TokenResponse(signer.blind_sign(request.blinded_msg))


def verify_token(token: Token, public_key: rsa.RSAPublicKey, *, challenge: TokenChallenge) -> None:
    """RFC 9578 §6.4 / RFC 9577 §2.2 origin: check type, key, challenge and signature.

    Raises:
        InvalidKey: public_key is not a 2048-bit RSA key with e = 65537.
        UnsupportedTokenType: the token or the challenge is not token type 0x0002.
        UnknownKey: token_key_id names another key.
        ChallengeMismatch: challenge_digest is not SHA-256 of ``challenge``.
        InvalidSignature: the authenticator does not verify.
    """
    _check_token_key(public_key)
    _check_challenge_type(challenge)
    if token.token_type != TOKEN_TYPE_BLIND_RSA:
        raise UnsupportedTokenType(f"token type {token.token_type:#06x} is not supported")
    if not hmac.compare_digest(token.token_key_id, token_key_id(public_key)):
        raise UnknownKey("token_key_id does not match the key")
    if not hmac.compare_digest(token.challenge_digest, challenge.digest()):
        raise ChallengeMismatch("token was made for another TokenChallenge")
    verify(_VARIANT, public_key, token.authenticator_input(), token.authenticator)
